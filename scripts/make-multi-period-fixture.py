#!/usr/bin/env python3
"""Writes Tests/SleepNetTests/Fixtures/multi-period-per-branch-reference.safetensors:
the multi-period block run on each branch's stretch of a feature sequence, as the
multi-scale multi-period CNN (featureExtractor "msmpPerBranch") uses it. Batch 2,
3 channels, two stretches of 13 and 9 steps, 2 periods, inception kernels [1, 3].

For each sample and stretch: the amplitude spectrum (np.fft.rfft along time,
|X| averaged over channels, DC left out) gives the 2 strongest frequencies f;
the stretch is folded into a (C, ceil(L/p), p) image with p = ceil(L/f) (zero
padded), the 2-D convolutions (same padding) run on it and are averaged, the
result is cropped to L; the results are summed weighted by the softmax of their
amplitudes, plus the stretch itself.

Computed independently in NumPy (float64): the forward pass, and the gradients of
L = sum(output * upstream) with respect to the input and every parameter by
central differences of that forward (h = 1e-6, float64; the input has clear
periods, so no step changes the chosen frequencies).

Parameter names are those SleepNet registers under the prefix "p": stretch s
(1-based) has "p<s>.inception.<m>.{weight,bias}".
Run in a throw-away venv outside the repository:
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy
    /tmp/venv/bin/python scripts/make-multi-period-fixture.py
"""
import json
import pathlib
import struct

import numpy as np

B, C, LENGTHS, PERIODS, KERNELS = 2, 3, (13, 9), 2, (1, 3)
rng = np.random.default_rng(20261205)
params = {}
for s in range(len(LENGTHS)):
    for m, k in enumerate(KERNELS):
        for part, shape in (("weight", (C, C, k, k)), ("bias", (C,))):
            params[f"p{s + 1}.inception.{m}.{part}"] = \
                rng.uniform(-0.5, 0.5, size=shape).astype(np.float32).astype(np.float64)

# Two clear frequencies per stretch (2 and 3 + b cycles), plus a little noise.
x0 = np.zeros((B, C, sum(LENGTHS)))
start = 0
for L in LENGTHS:
    t = np.arange(L)
    for b in range(B):
        for c in range(C):
            x0[b, c, start:start + L] = (3 * np.sin(2 * np.pi * 2 * t / L) + 1.5 * np.cos(2 * np.pi * (3 + b) * t / L)
                                         + rng.uniform(-0.1, 0.1, size=L))
    start += L
x0 = x0.astype(np.float32).astype(np.float64)
upstream = rng.uniform(-1, 1, size=x0.shape).astype(np.float32).astype(np.float64)


def conv2d(img, w, bias):
    """torch.nn.Conv2d(C, F, k, padding=k // 2) on one image (C, H, W)."""
    F, _, k, _ = w.shape
    pad = k // 2
    _, Hh, W = img.shape
    padded = np.pad(img, ((0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((F, Hh, W)) + bias[:, None, None]
    for i in range(k):
        for j in range(k):
            out += np.einsum("fc,chw->fhw", w[:, :, i, j], padded[:, i:i + Hh, j:j + W])
    return out


def multi_period(x, s):
    """One stretch x (C, L) of one sample -> (C, L)."""
    L = x.shape[1]
    amplitudes = np.abs(np.fft.rfft(x, axis=-1)).mean(0)[1:L // 2 + 1]     # f = 1 … L/2
    order = sorted(range(len(amplitudes)), key=lambda i: (-amplitudes[i], i))[:min(PERIODS, max(1, L // 2))]
    a = amplitudes[order]
    weights = np.exp(a - a.max()) / np.exp(a - a.max()).sum()
    out = x.copy()
    for w_i, i in zip(weights, order):
        f = i + 1
        p = -(-L // f)
        rows = -(-L // p)
        img = np.pad(x, ((0, 0), (0, rows * p - L))).reshape(C, rows, p)
        y = sum(conv2d(img, params[f"p{s + 1}.inception.{m}.weight"], params[f"p{s + 1}.inception.{m}.bias"])
                for m in range(len(KERNELS))) / len(KERNELS)
        out += w_i * y.reshape(C, rows * p)[:, :L]
    return out


def block(x):
    out = np.empty_like(x)
    for b in range(B):
        start = 0
        for s, L in enumerate(LENGTHS):
            out[b, :, start:start + L] = multi_period(x[b, :, start:start + L], s)
            start += L
    return out


def central_differences(values, h=1e-6):
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
header["__metadata__"] = {"source": "scripts/make-multi-period-fixture.py"}
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
path = pathlib.Path(__file__).resolve().parent.parent / "Tests/SleepNetTests/Fixtures/multi-period-per-branch-reference.safetensors"
path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))
print(path, path.stat().st_size, "bytes")
