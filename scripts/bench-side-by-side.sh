#!/usr/bin/env bash
# Benchmarks configs side by side in one sitting: ROUNDS rounds, each running
# `sleepfold bench --json` on every config in turn (A B C D, A B C D, ...), so a
# machine whose load drifts affects all of them alike; prints one JSON line per
# run (jq or a script turns them into ratios).
#   scripts/bench-side-by-side.sh CONFIG... > bench.jsonl
#   ROUNDS (default 2), REPEATS (default 3), BATCH (default 128), THREADS (default: all cores;
#   1 gives steadier numbers on a loaded machine)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-2} repeats=${REPEATS:-3} batch=${BATCH:-128} threads=${THREADS:-$(nproc)}
bin=${SLEEPFOLD_BIN:-.build/release/sleepfold}
for round in $(seq 1 "$rounds"); do
  for config in "$@"; do
    printf '{"round":%d,"file":"%s","bench":%s}\n' "$round" "$config" \
      "$($bin bench --config "$config" --repeats "$repeats" --batch "$batch" --threads "$threads" --json)"
  done
done
