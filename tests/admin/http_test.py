"""Both HTTP listeners of a running server (the signaling port's files and
the admin API) against issue 14, "Reliability and security":

  http_test.py --binary PATH

Checked: HTTP/1.1 requests on one TCP connection are all answered on each
listener, with no `Connection: close` on a 200 (keep-alive); a client that
trickles its request headers one byte per 200 ms is disconnected within
`http.header_timeout_ms` (500 ms here) plus a margin, on each listener,
while a kept-alive client of the same listener is still served; each cut
is counted in /metrics (`partyline_http_header_timeouts_total`, by
listener); `--print-config` shows the key. Needs a network namespace with
only loopback (ctest runs in one: scripts/test). Exits non-zero on the
first failed check.
"""

import argparse
import http.client
import json
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from server_process import ServerProcess, check, fail  # noqa: E402

TOKEN = "http-test-token-31c4a7"
HEADER_TIMEOUT_MS = 500
PACE_S = 0.2
DEADLINE_S = 10.0
MARGIN_S = 1.0  # the checker's tick (50 ms here) and room for a loaded machine


def write_config(folder):
    path = os.path.join(folder, "http.json")
    with open(path, "w") as file:
        json.dump({"http": {"bind": "127.0.0.1", "header_timeout_ms": HEADER_TIMEOUT_MS}}, file)
    return path


def server_env():
    return dict(os.environ, PARTYLINE_HTTP_PORT="0", PARTYLINE_ADMIN_PORT="0", PARTYLINE_ADMIN_TOKEN=TOKEN,
                PARTYLINE_LOG_LEVEL="info", PARTYLINE_WORKERS="1", PARTYLINE_ICE_ADDRESSES="127.0.0.1")


class KeptAliveClient:
    """One HTTP/1.1 connection (http.client) that must stay the same TCP
    connection from request to request."""

    def __init__(self, port, headers):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=DEADLINE_S)
        self.headers = headers
        self.local_address = None

    def get(self, path, label):
        self.connection.request("GET", path, headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        check(response.status == 200, f"{label} GET {path}: {response.status} {body[:200]!r}")
        check(response.getheader("Connection") is None,
              f"{label} GET {path}: 'Connection: {response.getheader('Connection')}' on a 200")
        check(not response.will_close, f"{label} GET {path}: the response ends the connection")
        address = self.connection.sock.getsockname()
        check(self.local_address in (None, address),
              f"{label} GET {path}: on a new TCP connection ({address}, was {self.local_address})")
        self.local_address = address
        return body

    def close(self):
        self.connection.close()


def trickle_until_closed(port, request):
    """Sends `request` one byte per PACE_S, waiting for the server's close
    between bytes (no sleep); the seconds from connect to the close."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S) as connection:
        for sent, byte in enumerate(request):
            try:
                connection.sendall(bytes([byte]))
                readable, _, _ = select.select([connection], [], [], PACE_S)
                if readable and connection.recv(4096) == b"":
                    return time.monotonic() - started
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - started
            if time.monotonic() - started > DEADLINE_S:
                break
    fail(f"port {port}: a client trickling its headers was not disconnected "
         f"({time.monotonic() - started:.1f} s, {sent + 1} of {len(request)} bytes sent)")


def header_timeouts(admin, listener):
    text = admin.get("/metrics", "admin").decode()
    found = re.search(r'^partyline_http_header_timeouts_total\{listener="' + listener + r'"\} (\d+)$', text, re.M)
    check(found is not None, f"/metrics has no header timeouts for {listener}:\n{text[:2000]}")
    return int(found.group(1))


def check_listener(label, port, path, admin):
    """Keep-alive on `port`, then a trickler cut while the kept-alive client
    is still served."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    client = KeptAliveClient(port, headers)
    try:
        for _ in range(3):
            client.get(path, label)
        print(f"ok: {label}: 3 requests on one TCP connection, no 'Connection: close'")

        before = header_timeouts(admin, label)
        request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
                   f"X-Slow: {'a' * 40}\r\n\r\n").encode()
        elapsed = trickle_until_closed(port, request)
        limit = HEADER_TIMEOUT_MS / 1000 + MARGIN_S
        check(HEADER_TIMEOUT_MS / 1000 <= elapsed < limit,
              f"{label}: the trickling client was cut after {elapsed:.3f} s, not in [{HEADER_TIMEOUT_MS / 1000}, {limit})")
        # Idle longer than the header deadline, the kept-alive client is still served.
        client.get(path, label)
        after = header_timeouts(admin, label)
        check(after == before + 1, f"{label}: partyline_http_header_timeouts_total went {before} -> {after}")
        print(f"ok: {label}: a client trickling a byte per {PACE_S * 1000:.0f} ms cut after "
              f"{elapsed * 1000:.0f} ms (deadline {HEADER_TIMEOUT_MS} ms), counted; the kept-alive client "
              "still served")
    finally:
        client.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = write_config(folder)
        printed = subprocess.run([args.binary, "--config", config, "--print-config"], env=server_env(),
                                 capture_output=True, text=True, timeout=30)
        check(printed.returncode == 0, f"--print-config: exit {printed.returncode}: {printed.stderr}")
        shown = json.loads(printed.stdout)["http"].get("header_timeout_ms")
        check(shown == HEADER_TIMEOUT_MS, f"--print-config shows http.header_timeout_ms {shown}")
        print(f"ok: --print-config shows http.header_timeout_ms {shown}")

        server = ServerProcess([args.binary, "--config", config], server_env(), "partyline-http-")
        try:
            admin_port = int(server.wait_for(r"admin API listening on http://127\.0\.0\.1:(\d+)/").group(1))
            signaling_port = int(server.wait_for(r"partyline listening on http://127\.0\.0\.1:(\d+)/").group(1))
            admin = KeptAliveClient(admin_port, {"Authorization": f"Bearer {TOKEN}"})
            try:
                check_listener("signaling", signaling_port, "/", admin)
                check_listener("admin", admin_port, "/admin/v1/info", admin)
            finally:
                admin.close()
            server.stop()
            print("ok: SIGTERM: exit 0")
        except BaseException:
            server.report_failure()
            raise
    print("http: passed")


if __name__ == "__main__":
    main()
