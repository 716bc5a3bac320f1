"""HTTPS and WSS on both listeners (docs/admin-api.md, "TLS"), with a
self-signed certificate made at run time by openssl.

  tls_test.py --binary PATH

Checked: a WSS client trusting only that certificate completes the
handshake, `create_line` and `ping`; an HTTPS admin client gets
/admin/v1/info and /metrics with the token, and the signaling port serves
its static files over HTTPS; a plain-HTTP request to each TLS port is
refused (the connection ends, no HTTP answer, within a bounded time) and
the server keeps serving (the same WSS client and the admin API still
answer); a certificate or key file that does not exist, and a key that
does not belong to its certificate, make the server exit non-zero naming
the file; SIGTERM exits 0. Needs a network namespace with only loopback
(ctest runs in one: scripts/test). Exits non-zero on the first failed check.
"""

import argparse
import asyncio
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from partyline_ws import SignalingClient  # noqa: E402
from server_process import ServerProcess, check, fail  # noqa: E402

TOKEN = "tls-test-token-5d81e2"
DEADLINE_S = 10.0


def make_certificate(folder, name):
    """A self-signed ECDSA P-256 certificate for 127.0.0.1 and localhost:
    (certificate path, key path)."""
    certificate = os.path.join(folder, f"{name}.crt")
    key = os.path.join(folder, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", key, "-out", certificate],
                   check=True, capture_output=True, timeout=30)
    return certificate, key


def write_config(folder, name, http_pair, admin_pair):
    path = os.path.join(folder, f"{name}.json")
    config = {
        "http": {"bind": "127.0.0.1", "tls_certificate": http_pair[0], "tls_private_key": http_pair[1]},
        "admin": {"tls_certificate": admin_pair[0], "tls_private_key": admin_pair[1]},
    }
    with open(path, "w") as file:
        json.dump(config, file)
    return path


def server_env(folder):
    return dict(os.environ, PARTYLINE_HTTP_PORT="0", PARTYLINE_ADMIN_PORT="0", PARTYLINE_ADMIN_TOKEN=TOKEN,
                PARTYLINE_PLUGIN_FOLDERS=folder, PARTYLINE_LOG_LEVEL="info", PARTYLINE_WORKERS="1",
                PARTYLINE_ICE_ADDRESSES="127.0.0.1", PARTYLINE_ICE_ALLOWED_NETWORKS="127.0.0.0/8")


class Server(ServerProcess):
    def __init__(self, binary, config, env):
        super().__init__([binary, "--config", config], env, "partyline-tls-")


def https(url, context, token=TOKEN):
    """(status, content type, body text) of a GET; never raises for an HTTP status."""
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE_S, context=context) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


def plain_http_refused(port):
    """Sends a plain-HTTP request to a TLS port and reads until the server
    ends the connection. Returns what came back (never an HTTP answer);
    fails when the server neither answers nor closes within the deadline."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S) as connection:
        connection.sendall(b"GET /admin/v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Authorization: Bearer " + TOKEN.encode() + b"\r\n\r\n")
        received = b""
        try:
            while True:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                received += chunk
        except ConnectionResetError:
            pass
        except socket.timeout:
            fail(f"port {port}: a plain-HTTP request was neither answered nor closed in {DEADLINE_S} s")
    check(not received.startswith(b"HTTP/"), f"port {port} answered plain HTTP: {received[:200]!r}")
    return received, time.monotonic() - started


async def check_admin(admin_base, context):
    status, content_type, text = await asyncio.to_thread(https, admin_base + "/admin/v1/info", context)
    check(status == 200 and content_type.startswith("application/json"), f"info over HTTPS: {status} {text}")
    info = json.loads(text)
    check(info.get("version") and info.get("sessions", 0) >= 1, f"info: {info}")
    status, _, text = await asyncio.to_thread(https, admin_base + "/admin/v1/info", context, None)
    check(status == 401, f"info over HTTPS without the token: {status}")
    status, content_type, text = await asyncio.to_thread(https, admin_base + "/metrics", context)
    check(status == 200 and content_type.startswith("text/plain") and "partyline_sessions" in text,
          f"/metrics over HTTPS: {status} {content_type} {text[:300]}")
    return info


async def scenario(server, signaling_base, websocket_url, admin_base, context):
    client = await SignalingClient.connect(websocket_url, name="alice", ssl=context)
    try:
        created = await client.request("create_line")
        check(created.get("line_id") and created.get("token"), f"create_line: {created}")
        pong = await client.request("ping")
        check(isinstance(pong.get("timestamp"), int), f"ping: {pong}")
        print(f"ok: WSS {websocket_url}: handshake (session {client.handshake['session']}), create_line, ping")

        info = await check_admin(admin_base, context)
        print(f"ok: HTTPS {admin_base}: /admin/v1/info (version {info['version']}, {info['sessions']} session), "
              "401 without the token, /metrics")
        status, content_type, text = await asyncio.to_thread(https, signaling_base + "/", context, None)
        check(status == 200 and content_type.startswith("text/html"), f"GET / over HTTPS: {status} {content_type}")
        print("ok: the web client's files over HTTPS")

        # Certificate checks really run: a context that trusts nothing is refused.
        strict = ssl.create_default_context()
        try:
            await asyncio.to_thread(https, admin_base + "/admin/v1/info", strict)
            fail("an HTTPS client that does not trust the certificate got an answer")
        except urllib.error.URLError as error:
            check(isinstance(error.reason, ssl.SSLCertVerificationError), f"untrusted: {error!r}")
        print("ok: a client that does not trust the certificate is refused by its own check")

        for label, base in (("signaling", signaling_base), ("admin", admin_base)):
            port = int(base.rsplit(":", 1)[1])
            received, took = await asyncio.to_thread(plain_http_refused, port)
            print(f"ok: plain HTTP to the {label} TLS port {port}: closed after {took * 1000:.0f} ms, "
                  f"{len(received)} bytes back (no HTTP answer)")
        try:
            await asyncio.wait_for(SignalingClient.connect(websocket_url.replace("wss://", "ws://"), name="plain"),
                                   DEADLINE_S)
            fail("a ws:// client got a session on the TLS port")
        except asyncio.TimeoutError:
            fail(f"a ws:// client to the TLS port was neither refused nor closed in {DEADLINE_S} s")
        except Exception as error:  # noqa: BLE001: any refusal will do, a hang or a session will not
            print(f"ok: ws:// to the TLS port refused: {type(error).__name__}")

        pong = await client.request("ping")
        check(isinstance(pong.get("timestamp"), int) and not client.closed.is_set(), f"ping afterwards: {pong}")
        await check_admin(admin_base, context)
        print("ok: after the plain-HTTP attempts the WSS client still gets answers, the admin API too")
    finally:
        started = time.monotonic()
        await client.close()
    print(f"ok: WSS close: code {client.close_code} in {(time.monotonic() - started) * 1000:.0f} ms")


def check_refused_start(binary, folder, config, named, label):
    done = subprocess.run([binary, "--config", config], env=server_env(folder), capture_output=True, text=True,
                          timeout=30)
    check(done.returncode != 0, f"{label}: started anyway (exit {done.returncode})")
    for name in named:
        check(name in done.stderr, f"{label}: the error does not name {name}: {done.stderr}")
    check("listening on" not in done.stderr, f"{label}: a listener started: {done.stderr}")
    print(f"ok: {label}: exit {done.returncode}: {done.stderr.strip().splitlines()[-1]}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        pair = make_certificate(folder, "server")
        other = make_certificate(folder, "other")
        context = ssl.create_default_context(cafile=pair[0])

        missing = os.path.join(folder, "missing.crt")
        check_refused_start(args.binary, folder, write_config(folder, "no-cert", (missing, pair[1]), pair),
                            [missing], "a missing http.tls_certificate")
        missing_key = os.path.join(folder, "missing.key")
        check_refused_start(args.binary, folder, write_config(folder, "no-key", pair, (pair[0], missing_key)),
                            [missing_key], "a missing admin.tls_private_key")
        check_refused_start(args.binary, folder, write_config(folder, "mismatch", (pair[0], other[1]), pair),
                            [pair[0], other[1]], "a key that is not the certificate's")

        server = Server(args.binary, write_config(folder, "tls", pair, pair), server_env(folder))
        try:
            admin_base = server.wait_for(r"admin API listening on (https://\S+)/").group(1)
            found = server.wait_for(r"partyline listening on (https://\S+)/ \(WebSocket (wss://\S+)\)")
            signaling_base, websocket_url = found.group(1), found.group(2)
            check(websocket_url == signaling_base.replace("https://", "wss://") + "/ws",
                  f"WebSocket URL {websocket_url} for {signaling_base}")
            asyncio.run(scenario(server, signaling_base, websocket_url, admin_base, context))
            server.stop()
            print("ok: SIGTERM: exit 0")
        except BaseException:
            server.report_failure()
            raise
    print("tls: passed")


if __name__ == "__main__":
    main()
