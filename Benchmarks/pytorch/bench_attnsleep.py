"""Throughput of the reference PyTorch AttnSleep on this CPU, in the shape of `sleepfold bench --json`.

Training: one step = train-mode forward (dropout as the reference), weighted
cross-entropy, backward, Adam(amsgrad=True, weight_decay=1e-3) step, at --batch.
Inference: eval mode under no_grad at batch 128 and 512. Each measurement is run
--warmup times, then --repeats times; the median wall time counts. Peak RSS is the
process's ru_maxrss at the end (after inference at batch 512, as sleepfold measures it);
peak_rss_bytes_after_train is the same before inference started.

--precision chooses the inference's number format: fp32 (default); bf16-autocast,
PyTorch's CPU autocast to bfloat16 (convolutions and linear layers in bf16 on
oneDNN, AMX where the CPU has it; the rest fp32), the counterpart of
`sleepfold bench --precision bf16`; or bf16, the whole model and input cast to
bfloat16. Training is always fp32.

With one --threads value the measurement runs in this process; with several
(default 1 and 2) each runs in a fresh child process, so every peak RSS is its own.
Prints one JSON object per thread count.

    python bench_attnsleep.py [--threads 1 2] [--batch 128] [--repeats 5] [--warmup 2] [--precision fp32]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def median_seconds(body, warmup, repeats):
    """Runs body `warmup` times untimed, then `repeats` times; the median wall time in seconds."""
    for _ in range(warmup):
        body()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(threads, batch, repeats, warmup, precision="fp32"):
    """All measurements at one thread count, in this process; a dict of the results."""
    import torch
    import torch.nn as nn

    import attnsleep

    torch.set_num_threads(threads)
    model = attnsleep.build_model(seed=0)
    optimizer = attnsleep.make_optimizer(model)
    parameters = attnsleep.parameter_count(model)
    if parameters != 522_805:
        raise SystemExit(f"attnsleep.py: expected 522805 parameters, found {parameters}")

    generator = torch.Generator().manual_seed(0)
    largest = max(batch, 512)
    x = torch.randn(largest, 1, 3000, generator=generator)
    labels = torch.randint(0, 5, (batch,), generator=generator)
    # Non-uniform class weights so the weighted path is the one measured.
    criterion = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 1.5, 1.0, 1.0, 1.2]))
    x_train = x[:batch].contiguous()

    def train_step():
        optimizer.zero_grad()
        loss = criterion(model(x_train), labels)
        loss.backward()
        optimizer.step()

    model.train()
    step_seconds = median_seconds(train_step, warmup, repeats)
    # Linux reports ru_maxrss in KiB.
    train_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    model.eval()
    evaluated = model
    if precision == "bf16":
        evaluated = attnsleep.build_model(seed=0)
        evaluated.load_state_dict(model.state_dict())
        evaluated = evaluated.to(torch.bfloat16).eval()

    def inference_seconds(b):
        xb = x[:b].contiguous()
        if precision == "bf16":
            xb = xb.to(torch.bfloat16)

        def body():
            with torch.no_grad():
                if precision == "bf16-autocast":
                    with torch.autocast("cpu", dtype=torch.bfloat16):
                        evaluated(xb)
                else:
                    evaluated(xb)

        return median_seconds(body, warmup, repeats)

    infer128 = inference_seconds(128)
    infer512 = inference_seconds(512)
    return {
        "implementation": "pytorch",
        "torch": torch.__version__,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "parameters": parameters,
        "precision": precision,
        "threads": torch.get_num_threads(),
        "batch": batch,
        "repeats": repeats,
        "warmup": warmup,
        "train_samples_per_s": batch / step_seconds,
        "train_step_seconds": step_seconds,
        "infer_samples_per_s": 128 / infer128,
        "infer_samples_per_s_batch512": 512 / infer512,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "peak_rss_bytes_after_train": train_rss,
        "loadavg_after": list(os.getloadavg()),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--precision", choices=["fp32", "bf16-autocast", "bf16"], default="fp32")
    args = parser.parse_args()
    if args.batch < 1 or args.repeats < 1 or args.warmup < 0 or any(t < 1 for t in args.threads):
        parser.error("--batch, --repeats and --threads must be at least 1, --warmup at least 0")

    if len(args.threads) == 1:
        print(json.dumps(measure(args.threads[0], args.batch, args.repeats, args.warmup, args.precision),
                         sort_keys=True), flush=True)
        return
    for threads in args.threads:
        # A fresh process per thread count: its own peak RSS and an OpenMP pool sized from the start.
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        command = [sys.executable, os.path.abspath(__file__), "--threads", str(threads), "--batch", str(args.batch),
                   "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--precision", args.precision]
        subprocess.run(command, env=env, check=True)


if __name__ == "__main__":
    main()
