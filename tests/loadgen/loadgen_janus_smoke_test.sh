#!/usr/bin/env bash
# The load generator's Janus target against a fresh Janus 1.1 (Debian) from
# bench/janus/, in a network namespace of its own with the veth address
# Janus gathers on:
#   1. 1 publisher + 2 subscribers for 2 s: zero loss, every stream received;
#   2. 2 publishers + 1 subscriber: each publisher also receives the other
#      one on its second (receiving) PeerConnection, zero loss.
# Skipped (exit 77) when janus is not installed, or no network namespace or
# veth can be made.
#
#   loadgen_janus_smoke_test.sh PATH-TO-LOADGEN PATH-TO-REPOSITORY
set -uo pipefail
loadgen="$1"
repo="$2"
address=10.99.0.1  # bench/janus/ listens and gathers there

if ! command -v janus >/dev/null; then echo "janus is not installed: skipped"; exit 77; fi

if [[ "${LOADGEN_JANUS_IN_NAMESPACE:-}" != 1 ]]; then
  if ! unshare -n -- true 2>/dev/null; then echo "cannot make a network namespace here: skipped"; exit 77; fi
  exec unshare -n -- env LOADGEN_JANUS_IN_NAMESPACE=1 bash "$0" "$@"
fi

ip link set lo up
if ! ip link add veth-bench type veth peer name veth-bench-peer 2>/dev/null; then
  echo "cannot create a veth pair here: skipped"; exit 77
fi
ip addr add "$address/24" dev veth-bench
ip link set veth-bench up
ip link set veth-bench-peer up

work="$(mktemp -d)"
janus_pid=""
failures=0
cleanup() {
  if [[ -n "$janus_pid" ]]; then kill -KILL "$janus_pid" 2>/dev/null; wait "$janus_pid" 2>/dev/null; fi
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

start_janus() {
  janus -C "$repo/bench/janus/janus.jcfg" -F "$repo/bench/janus" -L "$work/janus.log" -N >/dev/null 2>&1 &
  janus_pid=$!
  for _ in $(seq 1 100); do
    ss -ltn "sport = :8188" | grep -q LISTEN && return 0
    kill -0 "$janus_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "janus did not start:"; cat "$work/janus.log"
  exit 1
}

stop_janus() {
  kill -TERM "$janus_pid"
  wait "$janus_pid"
  janus_pid=""
}

run() {  # run NAME PUBLISHERS SUBSCRIBERS
  timeout 60 "$loadgen" --target janus --url "ws://$address:8188/" --publishers "$2" --subscribers "$3" \
    --duration 2 --warmup 1 --setup-timeout 15 --server-pid "$janus_pid" --json "$work/$1.json" --max-loss 0 \
    --quiet 2>"$work/$1.log"
  local status=$?
  cat "$work/$1.log"
  return $status
}

# 1. One publisher, two subscribers.
start_janus
run one 1 2
check "janus 1+2: loadgen exits 0" test $? = 0
check "janus 1+2: all 3 up, zero loss, 2 subscribers x 2 streams" json_true "$work/one.json" \
  "r['participants']['ready'] == 3 and r['packets']['lost'] == 0 and r['packets']['expected'] == 2 * r['packets']['sent'] and r['streams']['pairs'] == 4 and r['streams']['missing'] == 0"
check "janus 1+2: the server's CPU per forwarded packet is measured" json_true "$work/one.json" \
  "r['server']['cpu_us_per_forwarded_packet'] is not None"
stop_janus

# 2. Two publishers who receive each other, and a subscriber.
start_janus
run two 2 1
check "janus 2+1: loadgen exits 0" test $? = 0
check "janus 2+1: every publisher stream reaches the 2 others, zero loss" json_true "$work/two.json" \
  "r['participants']['ready'] == 3 and r['packets']['lost'] == 0 and r['packets']['expected'] == 2 * r['packets']['sent'] and r['streams']['pairs'] == 8 and r['streams']['missing'] == 0"
stop_janus

((failures == 0)) || { echo "$failures check(s) failed"; exit 1; }
echo "all checks passed"
