#!/bin/sh
# Captures fresh offers from Chromium and aiortc into tests/data/sdp/.
# Needs: chromium, python3-aiortc, and playwright-core in NODE_PATH
# (e.g. `cd /tmp/sdpcap && npm i playwright-core`, then NODE_PATH=/tmp/sdpcap/node_modules).
# Everything runs in a private network namespace with only loopback.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$(dirname "$here")
exec unshare -n -- sh -c "
  set -eu
  ip link set lo up
  cd '$here'
  python3 -m http.server 8765 --bind 127.0.0.1 >/dev/null 2>&1 &
  server=\$!
  trap 'kill \$server' EXIT
  # Wait until the page server answers before the browser asks for it.
  until /usr/bin/python3 -c \"import urllib.request as u; u.urlopen('http://127.0.0.1:8765/index.html')\" 2>/dev/null; do sleep 0.1; done
  node capture_chromium.js http://127.0.0.1:8765/index.html '$out'
  /usr/bin/python3 capture_aiortc.py '$out'
"
