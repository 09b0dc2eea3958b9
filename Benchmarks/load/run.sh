#!/usr/bin/env bash
# The coordinator under load: one real `sleepfold study --bind` coordinator, N simulated
# workers (`sleepfold bench-load-workers`, real DEALER sockets and protocol) in a few
# processes. Measures the coordinator's CPU share and resident memory from /proc, the
# dispatch latency timed by the coordinator (its loop reading a result -> the worker's next
# task handed to the socket: its log's "→ WORKER, X ms after its result" lines) and by the
# workers (result sent -> next task received: the network and their own turn as well), the
# acknowledgement latency (result sent -> its acknowledgement: the journal's fsync), in the
# steady state, and the fsyncs of its journal writer; then the restart of a coordinator on the
# journals of the largest run.
#
#   Benchmarks/load/run.sh [N ...]          (default: 10 100 1000)
#
# Settings (environment): TASK_SECONDS (20), TASK_JITTER (0: every task alike; 0.2: ±20 %), DURATION (s of a run before the coordinator is
# stopped; default 100, or until the study is done), SUBJECTS/FOLDS (125), ARMS (4), SEEDS (10),
# STATE_BYTES (65536), PER_PROCESS (250 workers per process), SLEEPFOLD (.build/release/sleepfold),
# WORK (a scratch directory), COORDINATOR_ENV (VAR=value ... for the coordinator alone, e.g.
# "GLIBC_TUNABLES=glibc.malloc.perturb=165": glibc then writes every block it hands out, so the
# RSS counts memory when it is allocated, not when libzmq first writes into its per-connection
# pipes; README, seventh session). Results: WORK/results.md (and the raw samples beside it).
set -euo pipefail
cd "$(dirname "$0")/../.."
SF=${SLEEPFOLD:-$PWD/.build/release/sleepfold}
TASK_SECONDS=${TASK_SECONDS:-20}
TASK_JITTER=${TASK_JITTER:-0}
DURATION=${DURATION:-100}
SUBJECTS=${SUBJECTS:-125}
FOLDS=${FOLDS:-$SUBJECTS}
ARMS=${ARMS:-4}
SEEDS=${SEEDS:-10}
STATE_BYTES=${STATE_BYTES:-65536}
PER_PROCESS=${PER_PROCESS:-250}
WORK=${WORK:-$(mktemp -d /tmp/sleepfold-load-XXXXXX)}
NS=("$@"); [ ${#NS[@]} -gt 0 ] || NS=(10 100 1000)
TICK=$(getconf CLK_TCK)
mkdir -p "$WORK"
[ -x "$SF" ] || { echo "no sleepfold binary at $SF: swift build -c release" >&2; exit 1; }

# 1 000 workers are 1 000 TCP connections into one process: the coordinator needs a
# descriptor each (README: limits).
need=$(( ${NS[-1]} + 64 ))
[ "$(ulimit -n)" -ge "$need" ] || ulimit -n "$need" || { echo "ulimit -n is $(ulimit -n), need $need" >&2; exit 1; }

# A cohort of tiny nights (0.1 h: 12 epochs) and a study of ARMS x SEEDS x (validation, paper) x FOLDS tasks.
if [ ! -d "$WORK/data" ]; then
  "$SF" synth --subjects "$SUBJECTS" --nights 1 --hours 0.1 --seed 1 --out "$WORK/data" >/dev/null
fi
arms=""
for a in $(seq 1 "$ARMS"); do
  cat > "$WORK/arm$a.json" <<JSON
{"name": "arm$a", "model": {"cnnFirstChannels": 8, "cnnChannels": $((8 + 8 * a)), "afrChannels": 4, "heads": 4, "dFF": 16},
 "training": {"epochs": 2, "batchSize": 16}}
JSON
  arms+="${arms:+, }{\"name\": \"arm$a\", \"config\": \"arm$a.json\"}"
done
seeds=$(seq -s, 0 $((SEEDS - 1)))
cat > "$WORK/study.json" <<JSON
{"name": "load", "data": "data", "folds": $FOLDS, "fold_plan": "seeded", "seeds": [$seeds], "baseline": "arm1",
 "paper_protocol": true, "arms": [$arms]}
JSON
TASKS=$((ARMS * SEEDS * 2 * FOLDS))

percentile() {  # percentile P of the numbers on stdin (nearest rank)
  sort -g | awk -v p="$1" '{v[NR]=$1} END {if (NR == 0) {print "nan"; exit} i=int((p/100)*NR+0.999999); if (i<1) i=1; if (i>NR) i=NR; print v[i]}'
}

results="$WORK/results.md"
[ -f "$results" ] || {
  echo "| workers | tasks | CPU (% of one core) | RSS at start / middle / end of window (MiB) | RSS growth (MiB per 1,000 folds) | dispatch p50 / p99 at the coordinator (ms) | dispatch p50 / p99 at the workers (ms) | ack p50 / p99 (ms) | latencies | window (s) | load avg |"
  echo "|---:|---:|---:|---|---:|---|---|---|---:|---:|---|"
} > "$results"

for N in "${NS[@]}"; do
  out="$WORK/out-$N"; rm -rf "$out"
  port=$(( 20000 + RANDOM % 20000 ))
  log="$WORK/coordinator-$N.log"
  env ${COORDINATOR_ENV:-} "$SF" study "$WORK/study.json" --bind "tcp://127.0.0.1:$port" --out "$out" >"$log" 2>&1 &
  cpid=$!
  until grep -qs "coordinator listening" "$log"; do
    kill -0 "$cpid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.2
  done
  pids=()
  left=$N; p=0
  while [ "$left" -gt 0 ]; do
    n=$(( left < PER_PROCESS ? left : PER_PROCESS ))
    "$SF" bench-load-workers --connect "tcp://127.0.0.1:$port" --workers "$n" --task-seconds "$TASK_SECONDS" --task-jitter "$TASK_JITTER" \
      --data "$WORK/data" --state-bytes "$STATE_BYTES" --id-prefix "sim$p" --give-up-after 10 \
      --summary "$WORK/workers-$N-$p.txt" >"$WORK/workers-$N-$p.log" 2>&1 &
    pids+=($!); left=$((left - n)); p=$((p + 1))
  done
  # Samples, one a second: time, coordinator CPU ticks (utime + stime), VmRSS (kB), folds done.
  samples="$WORK/samples-$N.tsv"; : > "$samples"
  start=$(date +%s.%N); stopped=""
  while kill -0 "$cpid" 2>/dev/null; do
    now=$(date +%s.%N)
    stat=$(cat /proc/$cpid/stat 2>/dev/null) || break
    ticks=$(echo "$stat" | awk '{print $14 + $15}')
    rss=$(awk '/VmRSS/ {print $2}' /proc/$cpid/status 2>/dev/null || echo 0)
    done_=$(grep -c " done by " "$log" || true)
    printf '%s\t%s\t%s\t%s\n' "$now" "$ticks" "$rss" "$done_" >> "$samples"
    if [ -z "$stopped" ] && awk -v a="$now" -v b="$start" -v d="$DURATION" 'BEGIN {exit !(a - b > d)}'; then
      kill -TERM "$cpid"; stopped=$now   # stop after DURATION: running folds finish, no new ones go out
    fi
    sleep 1
  done
  wait "$cpid" || true
  for pid in "${pids[@]}"; do wait "$pid" || true; done

  # Steady state: from the first sample with N folds done (every worker busy since its first
  # task) to the last sample before the stop (or before the last N folds: the tail).
  read -r w0 w1 < <(awk -F'\t' -v n="$N" -v total="$TASKS" -v stop="${stopped:-0}" '
    $4 >= n && s == "" {s = $1}
    s != "" && (stop == 0 || $1 < stop) && $4 <= total - n {e = $1}
    END {print s, e}' "$samples")
  cpu=$(awk -F'\t' -v a="$w0" -v b="$w1" -v tick="$TICK" '$1 == a {t0 = $2} $1 == b {t1 = $2} END {printf "%.1f", 100 * (t1 - t0) / tick / (b - a)}' "$samples")
  rss=$(awk -F'\t' -v a="$w0" -v b="$w1" '$1 >= a && $1 <= b {r[++n] = $3} END {printf "%.0f / %.0f / %.0f", r[1]/1024, r[int((n+1)/2)]/1024, r[n]/1024}' "$samples")
  # Growth of RSS against folds done over the window (the results are not held: flat is the goal).
  growth=$(awk -F'\t' -v a="$w0" -v b="$w1" '$1 == a {r0 = $3; f0 = $4} $1 == b {r1 = $3; f1 = $4}
    END {if (f1 > f0) printf "%.1f", (r1 - r0) / 1024 / (f1 - f0) * 1000; else print "nan"}' "$samples")
  lat="$WORK/latencies-$N.txt"
  cat "$WORK"/workers-"$N"-*.txt | awk -v a="$w0" -v b="$w1" '$1 == "latency" && $2 >= a && $2 <= b {print $3 * 1000}' > "$lat"
  p50=$(percentile 50 < "$lat"); p99=$(percentile 99 < "$lat")
  # The same dispatches timed inside the coordinator, from its log's lines stamped within the
  # window (stamps are whole seconds: the window's edges are rounded down).
  clat="$WORK/coordinator-latencies-$N.txt"
  s0=$(date -u -d "@${w0%.*}" +%Y-%m-%dT%H:%M:%SZ); s1=$(date -u -d "@${w1%.*}" +%Y-%m-%dT%H:%M:%SZ)
  awk -v a="$s0" -v b="$s1" '$1 >= a && $1 <= b && / ms after its result$/ {print $(NF - 4)}' "$out/logs/coordinator.log" > "$clat"
  c50=$(percentile 50 < "$clat"); c99=$(percentile 99 < "$clat")
  # Acknowledgements (protocol 4; none from an older coordinator's workers).
  acks="$WORK/acks-$N.txt"
  cat "$WORK"/workers-"$N"-*.txt | awk -v a="$w0" -v b="$w1" '$1 == "ack" && $2 >= a && $2 <= b {print $3 * 1000}' > "$acks"
  a50=$(percentile 50 < "$acks"); a99=$(percentile 99 < "$acks")
  window=$(awk -v a="$w0" -v b="$w1" 'BEGIN {printf "%.0f", b - a}')
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  printf '| %d | %d | %s | %s | %s | %s / %s | %.2f / %.2f | %s / %s | %d | %s | %s |\n' "$N" "$TASKS" "$cpu" "$rss" "$growth" "$c50" "$c99" "$p50" "$p99" "$a50" "$a99" "$(wc -l < "$lat")" "$window" "$load" >> "$results"
  tail -1 "$results"
  grep -h "journal writer: " "$log" || true   # what the fsyncs cost (the whole run)
  grep -h "dispatch latency " "$log" || true  # the coordinator's own, over the whole run
  grep -h "results read after" "$log" || true   # how long results waited in the loop's turn
done

# Restart on the journals of the last run: the time to read them (the coordinator logs it).
N=${NS[-1]}; out="$WORK/out-$N"
journalled=$(cat "$out"/*/*/journal.jsonl | grep -c '^{"runId"' || true)
t0=$(date +%s.%N)
env ${COORDINATOR_ENV:-} "$SF" study "$WORK/study.json" --bind "tcp://127.0.0.1:$(( 20000 + RANDOM % 20000 ))" --out "$out" >"$WORK/restart.log" 2>&1 &
rpid=$!
until grep -qs "journal: " "$WORK/restart.log"; do kill -0 "$rpid" 2>/dev/null || break; sleep 0.01; done
t1=$(date +%s.%N)
kill -TERM "$rpid" 2>/dev/null || true; wait "$rpid" || true
line=$(grep "journal: " "$WORK/restart.log" || echo "no journal line")
printf '\nrestart on %s journalled results: "%s"; %.2f s from start to that line\n' "$journalled" "$line" \
  "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" | tee -a "$results"
echo "results: $results"
