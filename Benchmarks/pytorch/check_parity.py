"""Checks attnsleep.py against the AttnSleep parity fixture, so the benchmark measures the real network.

Loads the fixture's parameters and buffers into attnsleep.AttnSleep by name, then
compares eval logits, train logits (every dropout p = 0), the weighted loss, every
gradient, the running statistics after the train forward and both Adam steps.
Prints one line per group and exits non-zero on any mismatch.

    python check_parity.py [FIXTURE]   (default: ../../../shared/fixtures/attnsleep-parity/attnsleep-seed0-b8.safetensors)
"""

import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

import attnsleep

DEFAULT_FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               "../../../shared/fixtures/attnsleep-parity/attnsleep-seed0-b8.safetensors")


def read_safetensors(path):
    """All tensors of a safetensors file as torch tensors (F32 and I64 only)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": np.float32, "I64": np.int64}[entry["dtype"]]
        start, end = entry["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[start:end], dtype=dtype).reshape(entry["shape"]).copy())
    return out


def close(a, b, atol, rtol):
    """max |a-b| <= atol + rtol * max |b|, the fixture README's rule."""
    return (a - b).abs().max().item() <= atol + rtol * b.abs().max().item()


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_FIXTURE
    t = read_safetensors(path)
    torch.set_num_threads(1)
    model = attnsleep.AttnSleep()
    state = {k[len("param."):]: v for k, v in t.items() if k.startswith("param.")}
    state.update({k[len("buffer."):]: v for k, v in t.items() if k.startswith("buffer.")})
    missing = set(model.state_dict()) ^ set(state)
    failures = []
    if missing:
        failures.append(f"state_dict names differ: {sorted(missing)}")
    model.load_state_dict(state)
    print(f"parameters: {attnsleep.parameter_count(model)}")

    x, y, w = t["input"], t["labels"], t["class_weights"]
    model.eval()
    with torch.no_grad():
        if not close(model(x), t["logits.eval"], 1e-4, 1e-3):
            failures.append("logits.eval")
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    model.train()
    optimizer = attnsleep.make_optimizer(model)
    criterion = nn.CrossEntropyLoss(weight=w)
    logits = model(x)
    loss = criterion(logits, y)
    if not close(logits, t["logits.train"], 1e-4, 1e-3):
        failures.append("logits.train")
    if not close(loss.detach().reshape(1), t["loss.train"], 1e-4, 1e-3):
        failures.append("loss.train")
    optimizer.zero_grad()
    loss.backward()
    for name, p in model.named_parameters():
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        if not close(g, t["grad." + name], 1e-5, 2e-3):
            failures.append("grad." + name)
    for name, b in model.named_buffers():
        if not close(b.double(), t["buffer_after_train_forward." + name].double(), 1e-5, 1e-3):
            failures.append("buffer_after_train_forward." + name)
    optimizer.step()
    for step in ("step1", "step2"):
        if step == "step2":
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
        for name, p in model.named_parameters():
            if not close(p.detach(), t[f"{step}.{name}"], 1e-5, 1e-3):
                failures.append(f"{step}.{name}")
    print("parity: " + ("OK" if not failures else "FAILED " + ", ".join(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
