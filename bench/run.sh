#!/usr/bin/env bash
# Runs the Switchboard benchmarks scenario by scenario — the hub pinned to one core, the load
# generator to another — and prints the results table. See bench/README.md.
#
#   bench/run.sh                        # everything (about 15 minutes)
#   SCENARIOS="messages profile" bench/run.sh
#   SCENARIOS="websessions boshsessions weblatency" bench/run.sh   # the web transports
#   PROSODY=1 bench/run.sh              # also the same load against Debian's prosody
#   SCENARIOS=mail bench/run.sh         # mail arrivals (SMTP gateway) next to IM, ~5 minutes; not in the default set
#   SCENARIOS=sms bench/run.sh          # SMS gateway end to end (XMPP → SMPP), ~4 minutes; not in the default set
#
# Environment: SCENARIOS (connect messages profile presence sessions websessions boshsessions
# weblatency), SERVER_CPU (0), LOAD_CPU (1), NICE (-10), OUT (bench/results/<date>), BUILD (1:
# run tsc first), PROSODY (0), SESSIONS (20000), MESSAGE_STEPS
# (2000,5000,10000,15000,20000,25000,30000,35000,40000), PROFILE_RATE (15000), WEB_SESSIONS
# (10000), BOSH_SESSIONS (5000), BOSH_WAIT (60), LATENCY_PAIRS (200), LATENCY_RATES (1000,2000),
# WEB_PROFILE (0: 1 also takes CPU profiles of the web scenarios' measured windows).
# Scenario mail: SMTP_PORT (15225: the hub's inbound SMTP listener), MAIL_USERS (1000), MAIL_IM_RATE
# (5000 msg/s), MAIL_RATE (200 mails/s next to IM), MAIL_SECONDS (15 per phase), MAIL_ROUNDS (3),
# MAIL_STEPS (100,200,400,800,1200,1600: mails alone), MAIL_CONNECTIONS (8), MAIL_NODE_FLAGS (node
# flags of the hub, e.g. --max-semi-space-size=64), MAIL_PROFILE (1: CPU
# profiles of one more window of each kind after the measurements, in profile-mail/).
# Scenario sms: SMSC_PORT (15226: the SMSC simulator, started by the generator on LOAD_CPU),
# SMS_USERS (1000), SMS_WINDOW (10: the hub's sms.window), SMS_THROUGHPUT (0: the hub's
# sms.throughput, no limit), SMS_STEPS (200,500,1000,2000,3000 SMS/s), SMS_SECONDS (15 per step),
# SMS_WINDOW_DELAY_MS (20: the simulator's answer delay in the window-limited run),
# SMS_WINDOW_STEPS (400,1000 SMS/s), SMS_PROFILE (1: a CPU profile of one more step at 1000 SMS/s,
# in profile-sms/).
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIOS=${SCENARIOS:-"connect messages profile presence sessions websessions boshsessions weblatency"}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-bench/results/$(date -u +%Y%m%d-%H%M%S)}
BUILD=${BUILD:-1}
PROSODY=${PROSODY:-0}
SESSIONS=${SESSIONS:-20000}
MESSAGE_STEPS=${MESSAGE_STEPS:-2000,5000,10000,15000,20000,25000,30000,35000,40000}
PROFILE_RATE=${PROFILE_RATE:-15000}
WEB_SESSIONS=${WEB_SESSIONS:-10000}
BOSH_SESSIONS=${BOSH_SESSIONS:-5000}
BOSH_WAIT=${BOSH_WAIT:-60}
LATENCY_PAIRS=${LATENCY_PAIRS:-200}
LATENCY_RATES=${LATENCY_RATES:-1000,2000}
WEB_PROFILE=${WEB_PROFILE:-0}
SMTP_PORT=${SMTP_PORT:-15225}
MAIL_USERS=${MAIL_USERS:-1000}
MAIL_IM_RATE=${MAIL_IM_RATE:-5000}
MAIL_RATE=${MAIL_RATE:-200}
MAIL_SECONDS=${MAIL_SECONDS:-15}
MAIL_ROUNDS=${MAIL_ROUNDS:-3}
MAIL_STEPS=${MAIL_STEPS:-100,200,400,800,1200,1600}
MAIL_CONNECTIONS=${MAIL_CONNECTIONS:-8}
MAIL_NODE_FLAGS=${MAIL_NODE_FLAGS:-}
MAIL_PROFILE=${MAIL_PROFILE:-1}
SMSC_PORT=${SMSC_PORT:-15226}
SMS_USERS=${SMS_USERS:-1000}
SMS_WINDOW=${SMS_WINDOW:-10}
SMS_THROUGHPUT=${SMS_THROUGHPUT:-0}
SMS_STEPS=${SMS_STEPS:-200,500,1000,2000,3000}
SMS_SECONDS=${SMS_SECONDS:-15}
SMS_WINDOW_DELAY_MS=${SMS_WINDOW_DELAY_MS:-20}
SMS_WINDOW_STEPS=${SMS_WINDOW_STEPS:-400,1000}
SMS_PROFILE=${SMS_PROFILE:-1}
# Both processes run at a higher priority than the rest of the machine (shared with other
# work): 0 to disable.
NICE=${NICE:--10}
PORT=15222
STATS_PORT=15280
HTTP_PORT=15281

mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"

# 20,000 sessions need 20,000+ descriptors in the hub and in the generator.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
FD_LIMIT=$(ulimit -n)
echo "open files limit: $FD_LIMIT (20,000 sessions need more than 20,000 in the hub)" >&2

if [ "$BUILD" = 1 ]; then
  # Other parts of the tree may not compile while being written; tsc still emits, and only the
  # bench's own files must be present.
  npx tsc -p . > "$OUT/tsc.log" 2>&1 || echo "tsc reported errors (see $OUT/tsc.log); continuing with what was emitted" >&2
fi
for f in server load web-load mail-load report profile-summary; do
  [ -f "dist/bench/$f.js" ] || { echo "dist/bench/$f.js is missing: build first (npx tsc -p .)" >&2; exit 1; }
done

SERVER_PID=""
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
trap stop_server EXIT

# start_server <name> [node flags --] [server args]
start_server() {
  local name=$1; shift
  local flags=()
  if [ "${1:-}" = "--node" ]; then shift; while [ "$1" != "--" ]; do flags+=("$1"); shift; done; shift; fi
  stop_server
  nice -n "$NICE" taskset -c "$SERVER_CPU" node --expose-gc "${flags[@]}" dist/bench/server.js --port "$PORT" --stats-port "$STATS_PORT" \
    --http-port "$HTTP_PORT" --bosh-wait "$BOSH_WAIT" "$@" \
    > "$OUT/server-$name.out" 2> "$OUT/server-$name.err" &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    grep -q '^READY' "$OUT/server-$name.out" 2>/dev/null && { echo "hub ($name): $(grep '^READY' "$OUT/server-$name.out")" >&2; return 0; }
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/server-$name.err" >&2; echo "hub failed to start" >&2; exit 1; }
    sleep 0.1
  done
  echo "hub did not get ready in 60 s" >&2
  exit 1
}

# run_generator <script> <scenario> [options]: one generator run, pinned, its results collected.
run_generator() {
  local script=$1; shift
  local tmp="$OUT/.load.tmp"
  if ! nice -n "$NICE" taskset -c "$LOAD_CPU" node "dist/bench/$script" "$@" --port "$PORT" --stats "http://127.0.0.1:$STATS_PORT" > "$tmp"; then
    echo "load generator failed: $script $*" >&2
  fi
  cat "$tmp" >> "$OUT/load.out"
  grep '^RESULT' "$tmp" >> "$RESULTS" || true
  rm -f "$tmp"
}
load() { run_generator load.js "$@"; }
webload() { run_generator web-load.js "$@" --http-port "$HTTP_PORT"; }
mailload() { run_generator mail-load.js "$@" --smtp-port "$SMTP_PORT"; }

# Profile options for a web scenario's measured window when WEB_PROFILE=1.
web_profile() {
  [ "$WEB_PROFILE" = 1 ] || return 0
  mkdir -p "$OUT/profile"
  echo --profile "$OUT/profile/$1.cpuprofile"
}

# How much CPU the rest of the machine takes from a busy process on each core (see README).
noise() {
  nice -n "$NICE" taskset -c "$SERVER_CPU" node dist/bench/load.js noise --seconds 5 --cpu "$SERVER_CPU" >> "$OUT/noise.tmp" &
  nice -n "$NICE" taskset -c "$LOAD_CPU" node dist/bench/load.js noise --seconds 5 --cpu "$LOAD_CPU" >> "$OUT/noise.tmp"
  wait
  grep '^RESULT' "$OUT/noise.tmp" | sed "s/\"scenario\":\"noise\"/\"scenario\":\"noise\",\"when\":\"$1\"/" >> "$RESULTS" || true
  rm -f "$OUT/noise.tmp"
}
noise before

for scenario in $SCENARIOS; do
  case $scenario in
    connect)
      start_server connect-plain --users 5000
      load connect --mech PLAIN --count 3000 --concurrency 50
      start_server connect-scram --users 5000
      load connect --mech SCRAM-SHA-1 --count 5000 --concurrency 50
      start_server connect-tls --users 5000
      load connect --mech SCRAM-SHA-1 --tls --count 5000 --concurrency 50
      ;;
    messages)
      start_server messages --users 1000
      load messages --pairs 500 --steps "$MESSAGE_STEPS" --step-seconds 10
      ;;
    profile)
      # The whole hub run under node --cpu-prof, and a window of just the measured step
      # (without logins, warm-up and tear-down) through the bench server's /profile endpoint.
      rm -rf "$OUT/profile"
      mkdir -p "$OUT/profile"
      start_server profile --node --cpu-prof --cpu-prof-dir "$OUT/profile" -- --users 1000
      load messages --pairs 500 --steps "$PROFILE_RATE" --step-seconds 20 --label switchboard-profiled \
        --profile "$OUT/profile/messages-window.cpuprofile"
      stop_server
      prof=$(ls "$OUT"/profile/CPU.*.cpuprofile | head -1)
      node dist/bench/profile-summary.js "$prof" --top 20 --markdown > "$OUT/profile-summary-whole-run.md"
      node dist/bench/profile-summary.js "$OUT/profile/messages-window.cpuprofile" --top 20 --markdown > "$OUT/profile-summary.md"
      echo "profiles: $prof (whole run), $OUT/profile/messages-window.cpuprofile (measured step); summaries in $OUT/profile-summary*.md" >&2
      ;;
    presence)
      start_server presence --users 1000 --contacts 20
      load presence --users 1000 --contacts 20 --rate 50 --seconds 20
      ;;
    sessions)
      start_server sessions --users "$SESSIONS"
      load sessions --count "$SESSIONS" --procs 2 --concurrency 100
      ;;
    websessions)
      start_server websessions --users "$WEB_SESSIONS"
      webload websessions --count "$WEB_SESSIONS" --concurrency 100 --idle-seconds 10 $(web_profile websessions)
      ;;
    boshsessions)
      start_server boshsessions --users "$BOSH_SESSIONS"
      webload boshsessions --count "$BOSH_SESSIONS" --concurrency 100 --wait "$BOSH_WAIT" $(web_profile boshsessions)
      ;;
    weblatency)
      # Six transport pairs (TCP first and last), each with its own users.
      start_server weblatency --users $((LATENCY_PAIRS * 2 * 6))
      webload weblatency --pairs "$LATENCY_PAIRS" --rates "$LATENCY_RATES" --seconds 20 --wait "$BOSH_WAIT" \
        --modes tcp-tcp,ws-ws,bosh-bosh,tcp-bosh,bosh-tcp,tcp-tcp
      ;;
    mail)
      # IM alone and IM + mails over SMTP, interleaved per round; then mails alone, rising.
      if [ -n "$MAIL_NODE_FLAGS" ]; then
        # shellcheck disable=SC2086 # one or more node flags, split on purpose
        start_server mail --node $MAIL_NODE_FLAGS -- --users "$MAIL_USERS" --smtp-port "$SMTP_PORT"
      else
        start_server mail --users "$MAIL_USERS" --smtp-port "$SMTP_PORT"
      fi
      mail_profile=()
      if [ "$MAIL_PROFILE" = 1 ]; then
        rm -rf "$OUT/profile-mail"
        mkdir -p "$OUT/profile-mail"
        mail_profile=(--profile "$OUT/profile-mail/mail.cpuprofile")
      fi
      mailload mail --users "$MAIL_USERS" --im-rate "$MAIL_IM_RATE" --mail-rate "$MAIL_RATE" --seconds "$MAIL_SECONDS" \
        --rounds "$MAIL_ROUNDS" --mail-steps "$MAIL_STEPS" --connections "$MAIL_CONNECTIONS" "${mail_profile[@]}"
      for part in mixed mail; do
        prof="$OUT/profile-mail/mail-$part.cpuprofile"
        [ -f "$prof" ] && node dist/bench/profile-summary.js "$prof" --top 25 --markdown > "$OUT/profile-summary-mail-$part.md"
      done
      ;;
    sms)
      # The hub first (its SMPP link retries every second), then the generator, which starts the
      # SMSC simulator on LOAD_CPU: rising rates, then the simulator answering after a delay.
      [ -f dist/bench/sms-load.js ] || { echo "dist/bench/sms-load.js is missing: build first (npx tsc -p .)" >&2; exit 1; }
      start_server sms --users "$SMS_USERS" --smsc-port "$SMSC_PORT" --sms-window "$SMS_WINDOW" --sms-throughput "$SMS_THROUGHPUT"
      sms_profile=()
      if [ "$SMS_PROFILE" = 1 ]; then
        rm -rf "$OUT/profile-sms"
        mkdir -p "$OUT/profile-sms"
        sms_profile=(--profile "$OUT/profile-sms/sms.cpuprofile" --profile-rate 1000)
      fi
      run_generator sms-load.js sms --users "$SMS_USERS" --window "$SMS_WINDOW" --steps "$SMS_STEPS" --seconds "$SMS_SECONDS" \
        --window-delay-ms "$SMS_WINDOW_DELAY_MS" --window-steps "$SMS_WINDOW_STEPS" --smsc-port "$SMSC_PORT" --smsc-cpu "$LOAD_CPU" \
        "${sms_profile[@]}"
      prof="$OUT/profile-sms/sms-sms.cpuprofile"
      [ -f "$prof" ] && node dist/bench/profile-summary.js "$prof" --top 25 --markdown > "$OUT/profile-summary-sms.md"
      ;;
    *) echo "unknown scenario $scenario" >&2; exit 2 ;;
  esac
done
stop_server
noise after

if [ "$PROSODY" = 1 ]; then
  bash bench/prosody.sh "$OUT" "$SCENARIOS" || echo "prosody comparison failed (see $OUT/prosody*.log)" >&2
fi

# The profiled run is not a measurement of record.
grep -v '"switchboard-profiled"' "$RESULTS" > "$OUT/results-table.jsonl" || true
node dist/bench/report.js "$OUT/results-table.jsonl" | tee "$OUT/table.md"
if grep -q '"scenario":"mail-' "$OUT/results-table.jsonl"; then
  node dist/bench/mail-load.js report "$OUT/results-table.jsonl" | tee -a "$OUT/table.md"
fi
if grep -q '"scenario":"sms' "$OUT/results-table.jsonl"; then
  node dist/bench/sms-load.js report "$OUT/results-table.jsonl" | tee -a "$OUT/table.md"
fi
[ -f "$OUT/profile-summary.md" ] && { echo; cat "$OUT/profile-summary.md"; }
echo "results in $OUT" >&2
