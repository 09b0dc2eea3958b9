#!/usr/bin/env python3
"""Writes Tests/SleepNetTests/Fixtures/conformer-time-block-reference.safetensors:
one small Conformer block whose convolution module runs along time (the token's
features), as Ex2 uses it: tokens are channels of the convolutions, the feature axis
is their length. d_model (time steps) 9, 2 heads, 5 tokens, kernel 3, expansion 2,
batch 3, dropout 0, BatchNorm in training mode.

Computed independently in NumPy (float64) from the block's definition: the
forward pass, and the gradients of L = sum(output * upstream) with respect to the
input and every parameter by central differences of that forward (h = 1e-6,
float64, so the reference shares nothing with SleepNet's backward).

Parameter names are those SleepNet registers under the prefix "blk.".
Run in a throw-away venv outside the repository:
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy
    /tmp/venv/bin/python scripts/make-conformer-time-fixture.py
"""
import json
import pathlib
import struct

import numpy as np

B, T, D, H, K, E = 3, 5, 9, 3, 3, 2   # batch, tokens (channels), d_model (time), heads, kernel, expansion
rng = np.random.default_rng(20261204)
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
# The convolution module along time: the T tokens are its channels.
add("conv.norm.weight", (D,)); add("conv.norm.bias", (D,))
add("conv.pointwise_conv1.weight", (2 * T, T, 1)); add("conv.pointwise_conv1.bias", (2 * T,))
add("conv.depthwise_conv.weight", (T, 1, K)); add("conv.depthwise_conv.bias", (T,))
add("conv.batch_norm.weight", (T,)); add("conv.batch_norm.bias", (T,))
add("conv.pointwise_conv2.weight", (T, T, 1)); add("conv.pointwise_conv2.bias", (T,))
add("norm_final.weight", (D,)); add("norm_final.bias", (D,))
x0 = rng.uniform(-1, 1, size=(B, T, D)).astype(np.float32).astype(np.float64)
upstream = rng.uniform(-1, 1, size=(B, T, D)).astype(np.float32).astype(np.float64)
P = lambda n: params["blk." + n]


def layer_norm(h, n):  # torch.nn.LayerNorm over the last axis: biased variance, eps 1e-5
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
    # (B, T, D) read as (B, channels T, length D): no transpose, the convolutions run along D.
    c = layer_norm(h, "conv.norm")
    y = np.einsum("fc,bcl->bfl", P("conv.pointwise_conv1.weight")[:, :, 0], c) + P("conv.pointwise_conv1.bias")[:, None]
    y = y[:, :T] / (1 + np.exp(-y[:, T:]))                                   # GLU over channels
    pad = (K - 1) // 2
    yp = np.pad(y, ((0, 0), (0, 0), (pad, pad)))
    w = P("conv.depthwise_conv.weight")[:, 0, :]
    z = sum(w[None, :, k, None] * yp[:, :, k:k + D] for k in range(K)) + P("conv.depthwise_conv.bias")[:, None]
    m = z.mean(axis=(0, 2), keepdims=True)                                  # BatchNorm1d over the T channels, training
    v = ((z - m) ** 2).mean(axis=(0, 2), keepdims=True)
    z = (z - m) / np.sqrt(v + 1e-5) * P("conv.batch_norm.weight")[:, None] + P("conv.batch_norm.bias")[:, None]
    return np.einsum("fc,bcl->bfl", P("conv.pointwise_conv2.weight")[:, :, 0], swish(z)) + P("conv.pointwise_conv2.bias")[:, None]


def block(x):
    h1 = x + 0.5 * ffn(x, "ffn1")
    h2 = h1 + mhsa(layer_norm(h1, "norm_mha"))
    h3 = h2 + conv_module(h2)
    h4 = h3 + 0.5 * ffn(h3, "ffn2")
    return layer_norm(h4, "norm_final")


def central_differences(values, h=1e-6):
    """dL/dvalues of L = sum(block(x0) * upstream), perturbing `values` in place."""
    grad = np.zeros_like(values)
    flat, g = values.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + h
        plus = (block(x0) * upstream).sum()
        flat[i] = saved - h
        minus = (block(x0) * upstream).sum()
        flat[i] = saved
        g[i] = (plus - minus) / (2 * h)
    return grad


out = block(x0)
tensors = dict(params, input=x0.copy(), output=out, upstream=upstream)
tensors["grad.input"] = central_differences(x0)
for name in list(params):
    tensors["grad." + name] = central_differences(params[name])

header, blobs, offset = {}, [], 0
for name in sorted(tensors):
    data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
header["__metadata__"] = {"source": "scripts/make-conformer-time-fixture.py"}
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
path = pathlib.Path(__file__).resolve().parent.parent / "Tests/SleepNetTests/Fixtures/conformer-time-block-reference.safetensors"
path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))
print(path, path.stat().st_size, "bytes")
