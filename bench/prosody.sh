#!/usr/bin/env bash
# The same load against Debian's Prosody (apt-get install prosody), for comparison; called by
# run.sh with PROSODY=1. Each scenario gets a fresh instance (bench/prosody-setup.ts), pinned
# like the hub. Figures come from /proc/<pid> (no heap figure, no forced GC: RSS only).
#
#   bench/prosody.sh OUT "connect messages presence"
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?output directory}
SCENARIOS=${2:-"connect messages presence"}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
NICE=${NICE:--10}
PORT=15222
MESSAGE_STEPS=${MESSAGE_STEPS:-2000,5000,10000,15000,20000,25000,30000,35000,40000}
PROSODY_SESSIONS=${PROSODY_SESSIONS:-0}
RESULTS="$OUT/results.jsonl"
DIR=$(mktemp -d /tmp/prosody-bench-XXXXXX)

command -v prosody > /dev/null || {
  echo "prosody is not installed (apt-get install prosody; see bench/README.md)" >&2
  exit 1
}

PID=""
stop_prosody() {
  [ -n "$PID" ] || return 0
  kill -TERM "$PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=""
}
cleanup() {
  stop_prosody
  cp "$DIR/prosody.log" "$OUT/prosody.log" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

start_prosody() {
  stop_prosody
  node dist/bench/prosody-setup.js --dir "$DIR" --port "$PORT" "$@" >&2
  nice -n "$NICE" taskset -c "$SERVER_CPU" prosody --config "$DIR/prosody.cfg.lua" -F > "$OUT/prosody-stdout.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && { echo "prosody ready (pid $PID)" >&2; return 0; }
    kill -0 "$PID" 2>/dev/null || { echo "prosody failed to start" >&2; cat "$OUT/prosody-stdout.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "prosody did not listen in 10 s" >&2
  exit 1
}

load() {
  local tmp="$OUT/.load.tmp"
  if ! nice -n "$NICE" taskset -c "$LOAD_CPU" node dist/bench/load.js "$@" --port "$PORT" --pid "$PID" --label prosody > "$tmp"; then
    echo "load generator failed against prosody: $*" >&2
  fi
  cat "$tmp" >> "$OUT/load.out"
  grep '^RESULT' "$tmp" >> "$RESULTS" || true
  rm -f "$tmp"
}

prosody_version=$(dpkg-query -W -f '${Version}' prosody 2>/dev/null || echo unknown)
echo "prosody $prosody_version" >&2
for scenario in $SCENARIOS; do
  case $scenario in
    connect)
      start_prosody --users 3000
      load connect --mech PLAIN --count 2000 --concurrency 50
      start_prosody --users 3000
      load connect --mech SCRAM-SHA-1 --count 2000 --concurrency 50
      start_prosody --users 3000
      load connect --mech SCRAM-SHA-1 --tls --count 2000 --concurrency 50
      ;;
    messages)
      start_prosody --users 1000
      load messages --pairs 500 --steps "$MESSAGE_STEPS" --step-seconds 10
      ;;
    presence)
      start_prosody --users 1000 --contacts 20
      load presence --users 1000 --contacts 20 --rate 50 --seconds 20
      ;;
    sessions)
      if [ "$PROSODY_SESSIONS" -gt 0 ]; then
        start_prosody --users "$PROSODY_SESSIONS"
        load sessions --count "$PROSODY_SESSIONS" --procs 2 --concurrency 100
      fi
      ;;
    profile) ;;
  esac
done
