#!/usr/bin/env bash
# Start sleepfold workers over ssh on the machines of a hosts file; optionally run
# the coordinator here as well. See cluster/hosts/README.md.
#
#   sleepfold-hosts.sh run    HOSTS_FILE COORDINATOR_OPTIONS...  coordinator here + workers there, until done
#   sleepfold-hosts.sh study  HOSTS_FILE STUDY_FILE [STUDY_OPTIONS...]  the same for a study (`sleepfold study`)
#   sleepfold-hosts.sh start  HOSTS_FILE ENDPOINT [WORKER_OPTIONS...]  workers only, detached
#   sleepfold-hosts.sh status HOSTS_FILE
#   sleepfold-hosts.sh stop   HOSTS_FILE
#
# HOSTS_FILE: one host per line (anything ssh accepts: name, user@name, an alias
# of ~/.ssh/config), then optional threads=N (worker threads; default: all cores)
# and data=DIR (the data directory on that host; without it the worker fetches
# recordings from the coordinator). '#' starts a comment. A host listed twice runs
# two workers.
#
# Environment:
#   SSH                   the ssh command, split into words (ssh); e.g. "ssh -o BatchMode=yes"
#   SLEEPFOLD_BIN         sleepfold on the hosts, and here for `run` (sleepfold)
#   SLEEPFOLD_REMOTE_DIR  directory on the hosts for worker logs and pid files (/tmp/sleepfold-workers)
#   SLEEPFOLD_GIVE_UP     seconds a worker waits for a first answer from the coordinator (600)
#   run only:
#   SLEEPFOLD_PORT        the coordinator's TCP port (5555)
#   SLEEPFOLD_BIND        the coordinator's endpoint (tcp://0.0.0.0:PORT; without CURVE keys,
#                         anyone who reaches the port can join: keep it on a trusted network)
#   SLEEPFOLD_CONNECT     the endpoint workers connect to (tcp://THIS_HOST:PORT, THIS_HOST
#                         from `hostname -f`)
#   SLEEPFOLD_WORKER_ARGS extra worker options, split into words (e.g. CURVE keys)
set -euo pipefail

me=$(basename "$0")
die() { echo "$me: $*" >&2; exit 1; }
usage() {
  echo "usage:" >&2
  sed -n '5,9p' "$0" | sed 's/^# *//' >&2
  exit 2
}
# Quotes arguments for the remote shell.
quote() { printf '%q ' "$@"; }

read -r -a ssh_command <<< "${SSH:-ssh}"
[ ${#ssh_command[@]} -gt 0 ] || die "SSH is empty, expected the ssh command"
bin=${SLEEPFOLD_BIN:-sleepfold}
remote_dir=${SLEEPFOLD_REMOTE_DIR:-/tmp/sleepfold-workers}
give_up=${SLEEPFOLD_GIVE_UP:-600}

# Reads the hosts file into hosts[], threads[], data[], ids[] (ids: name-N, N the
# host's position, so that the same host twice gives two workers).
hosts=() threads=() data=() ids=()
read_hosts() {
  local file=$1 number=0 line word host t d
  [ -f "$file" ] || die "$file: no such file, expected a hosts file (one host per line)"
  while IFS= read -r line || [ -n "$line" ]; do
    number=$((number + 1))
    line=${line%%#*}
    read -r -a words <<< "$line"
    [ ${#words[@]} -gt 0 ] || continue
    host=${words[0]} t="" d=""
    case $host in *=*) die "$file:$number: the line starts with '$host', expected a host name first" ;; esac
    for word in "${words[@]:1}"; do
      case $word in
        threads=*)
          t=${word#threads=}
          [[ $t =~ ^[1-9][0-9]*$ ]] || die "$file:$number: threads is '$t', expected a positive integer" ;;
        data=*)
          d=${word#data=}
          [ -n "$d" ] || die "$file:$number: data is empty, expected a directory on $host" ;;
        *) die "$file:$number: '$word' is not an option, expected threads=N or data=DIR" ;;
      esac
    done
    hosts+=("$host") threads+=("$t") data+=("$d")
    local name=${host##*@}
    ids+=("${name//[^A-Za-z0-9._-]/_}-${#hosts[@]}")
  done < "$file"
  [ ${#hosts[@]} -gt 0 ] || die "$file: no hosts, expected one host per line"
}

# Runs a shell command on host $1 (stdin from /dev/null, so ssh does not eat the caller's).
on_host() { "${ssh_command[@]}" "$1" "$2" < /dev/null; }

# Starts the worker of host number $1 detached, connecting to $2, with extra options $3...
start_worker() {
  local i=$1 connect=$2
  shift 2
  local id=${ids[$i]} host=${hosts[$i]}
  local args=("$bin" worker --connect "$connect" --worker-id "$id" --give-up-after "$give_up")
  [ -n "${threads[$i]}" ] && args+=(--threads "${threads[$i]}")
  [ -n "${data[$i]}" ] && args+=(--data "${data[$i]}")
  args+=("$@")
  local log="$remote_dir/worker-$id.log" pid="$remote_dir/worker-$id.pid"
  # nohup and every stream redirected: the worker outlives the ssh session.
  on_host "$host" "mkdir -p $(quote "$remote_dir") && cd / && { nohup $(quote "${args[@]}")> $(quote "$log") 2>&1 < /dev/null & echo \$! > $(quote "$pid"); }" \
    || die "$host: could not start worker $id (ssh failed)"
  echo "$host: worker $id started (log $log)"
}

# Prints "running PID" or "stopped" for the worker of host number $1; with $2 = stop, stops it.
worker_state() {
  local i=$1 action=${2:-status}
  local id=${ids[$i]} pid_file="$remote_dir/worker-${ids[$i]}.pid"
  # The pid counts only while it is still this worker (pids get reused).
  on_host "${hosts[$i]}" "f=$(quote "$pid_file"); p=\$(cat \"\$f\" 2>/dev/null || true)
    if [ -n \"\$p\" ] && ps -p \"\$p\" -o args= 2>/dev/null | grep -q -- $(quote "--worker-id $id --give-up-after"); then
      if [ $(quote "$action") = stop ]; then kill \"\$p\" && rm -f \"\$f\" && echo stopped; else echo \"running \$p\"; fi
    else rm -f \"\$f\"; echo stopped; fi"
}

[ $# -ge 2 ] || usage
command=$1 hosts_file=$2
shift 2
read_hosts "$hosts_file"

case $command in
  start)
    [ $# -ge 1 ] || die "start: missing the coordinator endpoint, expected e.g. tcp://head-node:5555"
    connect=$1
    shift
    for i in "${!hosts[@]}"; do start_worker "$i" "$connect" "$@"; done
    ;;
  status|stop)
    [ $# -eq 0 ] || die "$command: unexpected argument '$1'"
    for i in "${!hosts[@]}"; do echo "${hosts[$i]}: worker ${ids[$i]} $(worker_state "$i" "$command")"; done
    ;;
  run|study)
    port=${SLEEPFOLD_PORT:-5555}
    bind=${SLEEPFOLD_BIND:-tcp://0.0.0.0:$port}
    connect=${SLEEPFOLD_CONNECT:-tcp://$(hostname -f 2>/dev/null || hostname):$port}
    command -v "$bin" >/dev/null || die "SLEEPFOLD_BIN: '$bin' not found here, expected the sleepfold executable"
    if [ "$command" = study ]; then
      [ $# -ge 1 ] || die "study: missing the study file, expected e.g. configs/study-sleep-edf-20.json"
      [ -f "$1" ] || die "study: $1: no such file, expected a study file (JSON)"
      "$bin" study "$@" --bind "$bind" &
    else
      "$bin" coordinator --bind "$bind" "$@" &
    fi
    coordinator=$!
    # shellcheck disable=SC2206  # extra options are split into words on purpose
    extra=(${SLEEPFOLD_WORKER_ARGS:-})
    for i in "${!hosts[@]}"; do start_worker "$i" "$connect" ${extra[@]+"${extra[@]}"}; done
    status=0
    wait "$coordinator" || status=$?
    if [ "$status" -ne 0 ]; then
      echo "$me: the coordinator exited with status $status; stopping the workers" >&2
      for i in "${!hosts[@]}"; do worker_state "$i" stop >/dev/null || true; done
    fi
    # Otherwise the workers leave by themselves: the coordinator told them the run is done.
    exit "$status"
    ;;
  *) usage ;;
esac
