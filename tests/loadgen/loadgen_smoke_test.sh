#!/usr/bin/env bash
# The load generator against a fresh partyline on loopback:
#   1. 1 publisher + 3 subscribers for 3 s: zero loss, every subscriber got
#      every publisher stream, the server's CPU per packet was measured;
#   2. a line with room for 2 occupants: the loadgen reports the refused joins
#      (step "join", how many) and exits 1 instead of hanging;
#   3. nothing listening: every participant fails at "connect", exit 1.
#
#   loadgen_smoke_test.sh PATH-TO-LOADGEN PATH-TO-PARTYLINE
#
# Needs loopback only (ctest runs in a private network namespace with lo up).
set -uo pipefail
loadgen="$1"
partyline="$2"
work="$(mktemp -d)"
server_pid=""
failures=0

cleanup() {
  if [[ -n "$server_pid" ]]; then kill -KILL "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

check() {  # check DESCRIPTION CONDITION...
  local description="$1"; shift
  if "$@"; then echo "ok   $description"; else echo "FAIL $description"; failures=$((failures + 1)); fi
}
json_true() {  # json_true FILE PYTHON-EXPRESSION-ON-r
  /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"
}

# Starts partyline on a free port (PARTYLINE_HTTP_PORT=0) with ICE on
# 127.0.0.1; sets server_pid and port. Extra arguments go to partyline.
start_server() {
  PARTYLINE_HTTP_PORT=0 PARTYLINE_ADMIN_PORT=0 PARTYLINE_ICE_ADDRESSES=127.0.0.1 PARTYLINE_ICE_ALLOWED_NETWORKS=127.0.0.0/8 \
    PARTYLINE_LOG_LEVEL=info "$partyline" "$@" >"$work/server.log" 2>&1 &
  server_pid=$!
  port=""
  for _ in $(seq 1 100); do
    port="$(grep -o 'partyline listening on http://[0-9.]*:[0-9]*' "$work/server.log" | grep -o '[0-9]*$' || true)"
    [[ -n "$port" ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "partyline did not start:"; cat "$work/server.log"
  exit 1
}

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid"
  local status=$?
  server_pid=""
  return $status
}

# 1. The smoke run.
start_server
"$loadgen" --url "ws://127.0.0.1:$port/ws" --publishers 1 --subscribers 3 --duration 3 --warmup 1 \
  --setup-timeout 10 --server-pid "$server_pid" --json "$work/run.json" --csv "$work/run.csv" --max-loss 0 \
  --quiet 2>"$work/loadgen.log"
status=$?
cat "$work/loadgen.log"
check "loadgen exits 0" test "$status" = 0
check "all 4 participants up and measured" json_true "$work/run.json" \
  "r['participants']['ready'] == 4 and r['participants']['measured'] == 4 and r['participants']['failed'] == 0"
check "packets were sent and expected by 3 subscribers" json_true "$work/run.json" \
  "r['packets']['sent'] > 0 and r['packets']['expected'] == 3 * r['packets']['sent']"
check "zero loss: received == expected" json_true "$work/run.json" \
  "r['packets']['lost'] == 0 and r['packets']['received'] == r['packets']['expected']"
check "every subscriber received every stream (audio and video)" json_true "$work/run.json" \
  "r['streams']['pairs'] == 6 and r['streams']['missing'] == 0"
check "no duplicates, no packets on an unannounced SSRC" json_true "$work/run.json" \
  "r['packets']['duplicates'] == 0 and r['packets']['wrong_ssrc'] == 0"
check "delay percentiles are measured" json_true "$work/run.json" \
  "0 < r['delay_us']['all']['p50'] <= r['delay_us']['all']['p99']"
check "server CPU per forwarded packet is measured" json_true "$work/run.json" \
  "r['server']['cpu_us_per_forwarded_packet'] is not None and r['server']['peak_rss_kib'] > 0"
check "CSV has a header and one row" test "$(wc -l <"$work/run.csv")" = 2
stop_server
check "partyline exits 0 after the run" test $? = 0

# 2. A server that refuses participants: room for 2 occupants, 4 try.
echo '{"limits": {"max_occupants_per_line": 2}}' >"$work/small.json"
start_server --config "$work/small.json"
timeout 30 "$loadgen" --url "ws://127.0.0.1:$port/ws" --publishers 1 --subscribers 3 --duration 1 --warmup 0 \
  --setup-timeout 10 --json "$work/full.json" --quiet 2>"$work/full.log"
status=$?
cat "$work/full.log"
check "a full line: loadgen exits 1" test "$status" = 1
check "a full line: 2 participants fail at 'join' with 503" json_true "$work/full.json" \
  "r['participants']['failures']['join']['count'] == 2 and '503' in r['participants']['failures']['join']['example']"
check "a full line: the report names the step" grep -q "FAILED at join: 2 participant" "$work/full.log"
stop_server

# 3. Nothing listening: fails at once, never hangs.
timeout 30 "$loadgen" --url "ws://127.0.0.1:9/ws" --publishers 1 --subscribers 2 --duration 1 \
  --setup-timeout 5 --quiet 2>"$work/refused.log"
status=$?
cat "$work/refused.log"
check "nothing listening: loadgen exits 1" test "$status" = 1
check "nothing listening: all 3 fail at 'connect'" grep -q "FAILED at connect: 3 participant" "$work/refused.log"

((failures == 0)) || { echo "$failures check(s) failed"; exit 1; }
echo "all checks passed"
