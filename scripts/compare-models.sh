#!/usr/bin/env bash
# Cross-validates the four model configs on one synthetic cohort through the cluster
# (a coordinator and local workers over ZeroMQ) and compares them with paired tests.
#   scripts/compare-models.sh [CONFIG_DIR] [OUT]    (default: configs/small, runs/compare)
# CONFIG_DIR holds ex1-attnsleep.json, ex2-conformer.json, ex3-msmp.json,
# ex4-msmp-batch32.json; configs/ has the full-size ones (hours on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
configs=${1:-configs/small}
out=${2:-runs/compare}
subjects=${SUBJECTS:-20} folds=${FOLDS:-10} hours=${HOURS:-2} workers=${WORKERS:-2}
swift build -c release --product sleepfold >/dev/null
bin=.build/release/sleepfold
mkdir -p "$out"
[ -d "$out/data" ] || $bin synth --subjects "$subjects" --nights 1 --hours "$hours" --seed 0 --out "$out/data"
runs=()
for name in ex1-attnsleep ex2-conformer ex3-msmp ex4-msmp-batch32; do
  $bin run --data "$out/data" --folds "$folds" --workers "$workers" --config "$configs/$name.json" --out "$out/$name"
  runs+=("$out/$name")
done
$bin compare "${runs[@]}" --out "$out"
