"""Runs `sleepfold bench --json` and bench_attnsleep.py alternately and prints medians and ratios.

Each round runs, for every thread count, every sleepfold binary and then PyTorch,
one after another, so all see about the same machine load. Every measurement is a
fresh process; the 1-minute load average before it, its wall time and the CPU time
it used (user + sys, from wait4) are recorded, so a starved run (CPU/wall well
under the thread count) can be told apart. Raw results go to --out as JSON lines.

    python side_by_side.py --sleepfold main=PATH [--sleepfold net=PATH ...] \
        [--rounds 3] [--threads 1 2] [--repeats 5] [--out results.jsonl] \
        [--precision bf16 --pytorch-precision bf16-autocast]

--precision bf16 measures sleepfold's inference in bf16 (`bench --precision bf16`) and
PyTorch's in --pytorch-precision (bench_attnsleep.py: bf16-autocast by default, or bf16).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = ("train_samples_per_s", "infer_samples_per_s", "infer_samples_per_s_batch512", "peak_rss_bytes")


def run_json(command, env=None):
    """Runs a command that prints one JSON object; (object, wall seconds, CPU seconds of the child)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} exited with {process.returncode}")
    return json.loads(output.decode().strip().splitlines()[-1]), wall, usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sleepfold", action="append", default=[], metavar="LABEL=PATH",
                        help="a sleepfold binary to measure, with a label for the table")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="side_by_side.jsonl")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                        help="sleepfold's inference number format")
    parser.add_argument("--pytorch-precision", choices=["fp32", "bf16-autocast", "bf16"], default=None,
                        help="PyTorch's inference number format (default: fp32, or bf16-autocast with --precision bf16)")
    parser.add_argument("--summarize", nargs="+", metavar="JSONL",
                        help="only print the table from earlier --out files (rounds pooled)")
    parser.add_argument("--min-cpu-share", type=float, default=0.0, metavar="F",
                        help="with --summarize: keep only runs whose CPU time / wall time >= F * threads "
                             "(drops runs that did not get their cores)")
    args = parser.parse_args()
    if args.summarize:
        rows = [json.loads(line) for path in args.summarize for line in open(path) if line.strip()]
        rows = [r for r in rows if r["cpu_seconds"] / r["wall_seconds"] >= args.min_cpu_share * r["threads"]]
        summarize(rows, sorted({r["threads"] for r in rows}),
                  sorted({r["implementation"] for r in rows if r["implementation"] != "pytorch"}) + ["pytorch"])
        return
    binaries = []
    for item in args.sleepfold:
        label, sep, path = item.partition("=")
        if not sep or not os.access(path, os.X_OK):
            parser.error(f"--sleepfold {item}: expected LABEL=PATH to an executable")
        binaries.append((label, path))
    if not binaries:
        parser.error("give at least one --sleepfold LABEL=PATH")

    pytorch_precision = args.pytorch_precision or ("bf16-autocast" if args.precision == "bf16" else "fp32")
    rows = []
    with open(args.out, "a") as out:
        for round_index in range(args.rounds):
            for threads in args.threads:
                runs = [(f"sleepfold-{label}", [path, "bench", "--threads", str(threads), "--json",
                                                "--repeats", str(args.repeats), "--precision", args.precision], None)
                        for label, path in binaries]
                env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
                runs.append(("pytorch", [sys.executable, os.path.join(HERE, "bench_attnsleep.py"),
                                         "--threads", str(threads), "--repeats", str(args.repeats),
                                         "--precision", pytorch_precision], env))
                for name, command, run_env in runs:
                    load_before = os.getloadavg()[0]
                    result, wall, cpu = run_json(command, run_env)
                    row = {"round": round_index, "implementation": name, "threads": threads,
                           "load1_before": load_before, "load1_after": os.getloadavg()[0],
                           "wall_seconds": wall, "cpu_seconds": cpu,
                           "precision": args.precision if name != "pytorch" else pytorch_precision,
                           "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
                    row.update({k: result[k] for k in KEYS})
                    rows.append(row)
                    out.write(json.dumps(row, sort_keys=True) + "\n")
                    out.flush()
                    print(f"round {round_index} T={threads} {name:>16}: train {row['train_samples_per_s']:7.1f}"
                          f"  infer128 {row['infer_samples_per_s']:7.1f}  infer512 {row['infer_samples_per_s_batch512']:7.1f}"
                          f"  rss {row['peak_rss_bytes'] / 2**20:7.1f} MiB  load {load_before:.2f}"
                          f"  cpu/wall {cpu / wall:.2f}", flush=True)

    summarize(rows, args.threads, [f"sleepfold-{label}" for label, _ in binaries] + ["pytorch"])

def summarize(rows, thread_counts, names):
    """Prints, per thread count, the median and the best over rounds of each implementation and the ratios to PyTorch."""
    for how, pick in (("median", statistics.median), ("best", max)):
        print(f"\n{how} over rounds (samples/s; peak RSS MiB: median) and ratio to PyTorch")
        for threads in thread_counts:
            values = {}
            for name in names:
                mine = [r for r in rows if r["implementation"] == name and r["threads"] == threads]
                if not mine:
                    continue
                values[name] = {k: pick(r[k] for r in mine) for k in KEYS[:3]}
                values[name]["peak_rss_bytes"] = statistics.median(r["peak_rss_bytes"] for r in mine)
                values[name]["load"] = statistics.median(r["load1_before"] for r in mine)
                values[name]["n"] = len(mine)
            torch_v = values.get("pytorch")
            for name, m in values.items():
                ratio = "" if name == "pytorch" or torch_v is None else (
                    f"   x{m['train_samples_per_s'] / torch_v['train_samples_per_s']:.2f} train"
                    f"  x{m['infer_samples_per_s'] / torch_v['infer_samples_per_s']:.2f} infer128"
                    f"  x{m['infer_samples_per_s_batch512'] / torch_v['infer_samples_per_s_batch512']:.2f} infer512")
                print(f"T={threads} {name:>16}: train {m['train_samples_per_s']:7.1f}  infer128 {m['infer_samples_per_s']:7.1f}"
                      f"  infer512 {m['infer_samples_per_s_batch512']:7.1f}  rss {m['peak_rss_bytes'] / 2**20:7.1f}"
                      f"  load {m['load']:.2f}  n={m['n']}{ratio}")


if __name__ == "__main__":
    main()
