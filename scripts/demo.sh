#!/usr/bin/env bash
# Installs what sleepfold needs on Debian/Ubuntu, builds it, and runs the demo:
# a full 5-fold cross-validation of a small AttnSleep on a synthetic cohort,
# with a coordinator and two local worker processes.
set -euo pipefail
cd "$(dirname "$0")/.."

need=(libopenblas-dev libzmq3-dev libssl-dev zlib1g-dev pkg-config)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

swift build -c release --product sleepfold
.build/release/sleepfold run --workers 2 --out runs/demo "$@"
