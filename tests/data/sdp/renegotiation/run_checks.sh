#!/bin/sh
# Real-client check of server renegotiation offers (rtp/sdp/sdp_offer.hpp):
# Chromium and aiortc 1.4 must accept every update offer, and their answers
# must pass apply_update_answer(). The ctest test renegotiation_real_clients
# runs it with renegotiation_driver (CMakeLists.txt here).
#
# Usage: run_checks.sh DRIVER PLAYWRIGHT_NODE_MODULES
#   DRIVER: a small program linking partyline_rtp (renegotiation_driver.cpp)
#     that reads on stdin
#     "OFFER\n<sdp>\n.\n"  -> build_answer + start_session, prints "ANSWER\n<sdp>.\n"
#     "UPDATE b,c\n"       -> build_update_offer with publishers b and c (audio
#                             + video each), prints "OFFER\n<sdp>.\n"
#     "APPLY\n<sdp>\n.\n"  -> apply_update_answer, prints "OK <slots>"
#     and prints "ERROR <code> <message>" on failure.
#   PLAYWRIGHT_NODE_MODULES: a node_modules directory with playwright-core.
# Everything runs in a private network namespace with only loopback.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
driver=$1
modules=$2
port=8765
unshare -n -- sh -c "
  ip link set lo up
  python3 -m http.server $port --bind 127.0.0.1 -d '$here' >/dev/null 2>&1 &
  server=\$!
  status=0
  NODE_PATH='$modules' node '$here/check_chromium.js' '$driver' http://127.0.0.1:$port/page.html || status=1
  kill \$server
  /usr/bin/python3 '$here/check_aiortc.py' '$driver' || status=1
  exit \$status
"
