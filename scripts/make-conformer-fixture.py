#!/usr/bin/env python3
"""Writes Tests/SleepNetTests/Fixtures/conformer-block-reference.safetensors: the
parameters, input and training-mode output of one small Conformer block of the
first Ex2 design, its convolution module along the tokens (conformerConvolution
"tokens"; scripts/make-conformer-time-fixture.py covers Ex2's, along time)
(d_model 8, 2 heads, kernel 3, expansion 2, batch 3, 5 tokens, dropout 0),
computed independently in NumPy (float64) from the block's definition.

Parameter names are those SleepNet registers under the prefix "blk.".
"""
import json
import pathlib
import struct

import numpy as np

B, T, D, H, K, E = 3, 5, 8, 2, 3, 2
rng = np.random.default_rng(20261125)
params = {}


def add(name, shape, scale=0.5):
    # Rounded to float32 first: both sides then start from the same numbers.
    params["blk." + name] = rng.uniform(-scale, scale, size=shape).astype(np.float32).astype(np.float64)


for f in ("ffn1", "ffn2"):
    add(f + ".norm.weight", (D,)); add(f + ".norm.bias", (D,))
    add(f + ".w_1.weight", (E * D, D)); add(f + ".w_1.bias", (E * D,))
    add(f + ".w_2.weight", (D, E * D)); add(f + ".w_2.bias", (D,))
add("norm_mha.weight", (D,)); add("norm_mha.bias", (D,))
for n in ("linear_q", "linear_k", "linear_v", "linear_out"):
    add("self_attn." + n + ".weight", (D, D)); add("self_attn." + n + ".bias", (D,))
add("conv.norm.weight", (D,)); add("conv.norm.bias", (D,))
add("conv.pointwise_conv1.weight", (2 * D, D, 1)); add("conv.pointwise_conv1.bias", (2 * D,))
add("conv.depthwise_conv.weight", (D, 1, K)); add("conv.depthwise_conv.bias", (D,))
add("conv.batch_norm.weight", (D,)); add("conv.batch_norm.bias", (D,))
add("conv.pointwise_conv2.weight", (D, D, 1)); add("conv.pointwise_conv2.bias", (D,))
add("norm_final.weight", (D,)); add("norm_final.bias", (D,))
x = rng.uniform(-1, 1, size=(B, T, D)).astype(np.float32).astype(np.float64)
P = lambda n: params["blk." + n]


def layer_norm(h, n):  # torch.nn.LayerNorm: biased variance, eps 1e-5
    m = h.mean(-1, keepdims=True)
    v = ((h - m) ** 2).mean(-1, keepdims=True)
    return (h - m) / np.sqrt(v + 1e-5) * P(n + ".weight") + P(n + ".bias")


def linear(h, n):
    return h @ P(n + ".weight").T + P(n + ".bias")


def swish(h):
    return h / (1 + np.exp(-h))


def ffn(h, n):
    return linear(swish(linear(layer_norm(h, n + ".norm"), n + ".w_1")), n + ".w_2")


def mhsa(h):
    dk = D // H
    split = lambda a: a.reshape(B, T, H, dk).transpose(0, 2, 1, 3)
    q, k, v = (split(linear(h, "self_attn." + n)) for n in ("linear_q", "linear_k", "linear_v"))
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dk)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    ctx = (p @ v).transpose(0, 2, 1, 3).reshape(B, T, D)
    return linear(ctx, "self_attn.linear_out")


def conv_module(h):
    c = layer_norm(h, "conv.norm").transpose(0, 2, 1)                       # (B, D, T)
    y = np.einsum("fc,bct->bft", P("conv.pointwise_conv1.weight")[:, :, 0], c) + P("conv.pointwise_conv1.bias")[:, None]
    y = y[:, :D] / (1 + np.exp(-y[:, D:]))                                   # GLU over channels
    pad = (K - 1) // 2
    yp = np.pad(y, ((0, 0), (0, 0), (pad, pad)))
    w = P("conv.depthwise_conv.weight")[:, 0, :]
    z = sum(w[None, :, k, None] * yp[:, :, k:k + T] for k in range(K)) + P("conv.depthwise_conv.bias")[:, None]
    m = z.mean(axis=(0, 2), keepdims=True)                                  # BatchNorm1d, training
    v = ((z - m) ** 2).mean(axis=(0, 2), keepdims=True)
    z = (z - m) / np.sqrt(v + 1e-5) * P("conv.batch_norm.weight")[:, None] + P("conv.batch_norm.bias")[:, None]
    z = np.einsum("fc,bct->bft", P("conv.pointwise_conv2.weight")[:, :, 0], swish(z)) + P("conv.pointwise_conv2.bias")[:, None]
    return z.transpose(0, 2, 1)


h1 = x + 0.5 * ffn(x, "ffn1")
h2 = h1 + mhsa(layer_norm(h1, "norm_mha"))
h3 = h2 + conv_module(h2)
h4 = h3 + 0.5 * ffn(h3, "ffn2")
out = layer_norm(h4, "norm_final")

tensors = dict(params, input=x, output=out)
header, blobs, offset = {}, [], 0
for name in sorted(tensors):
    data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
header["__metadata__"] = {"source": "scripts/make-conformer-fixture.py"}
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
path = pathlib.Path(__file__).resolve().parent.parent / "Tests/SleepNetTests/Fixtures/conformer-block-reference.safetensors"
path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))
print(path, path.stat().st_size, "bytes")
