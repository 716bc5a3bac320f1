#!/usr/bin/python3
# e2e-test: faults_server
"""E2E: faults of the server process itself (issue 14, "Fault tests"); run
by run_e2e.sh with --test-stops-server.

1. A second server on the same ports: the same binary started with the
   first one's signaling port (its admin port moved to a free one) exits
   non-zero within SECOND_SERVER_DEADLINE_S with an error on stderr that
   names the port and says it is in use; the same for the admin port (the
   signaling port moved). The first keeps serving meanwhile and after: a
   ping on a WebSocket opened before is answered, a new client connects,
   and its admin API still answers /metrics. (Media has no fixed port:
   libnice takes ephemeral ones, ice.port_min/max are not configurable.)

2. SIGTERM with a call in progress in a line: three aiortc occupants
   receiving each other's audio. Within the stop deadline (2 s; 10 s with
   an AddressSanitizer build) the server has exited (with_server.py checks
   status 0), every client's WebSocket was closed with 1001, and every
   client's DTLS transport was closed by the server's close_notify.
   Before the close, every client got a `hangup` event with reason
   `shutdown` and its line (issue 14). The test prints what each client
   received after the SIGTERM.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time

from faults_helpers import ADMIN_URL, media_line, metrics
from lines_helpers import TestFailure, check, connect, run_scenarios

SERVER_PID = int(os.environ["PARTYLINE_SERVER_PID"])
SHUTDOWN_DEADLINE_S = float(os.environ.get("PARTYLINE_SERVER_STOP_TIMEOUT_S", "2"))
SECOND_SERVER_DEADLINE_S = 10.0 if os.environ.get("PARTYLINE_SERVER_SANITIZED") == "1" else 5.0
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MEDIA_FRAMES = 50


def port_of(url):
    return int(url.rsplit(":", 1)[1].split("/")[0])


HTTP_PORT = port_of(os.environ.get("PARTYLINE_URL", "http://127.0.0.1:8088/").rstrip("/"))
ADMIN_PORT = port_of(ADMIN_URL)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_second_server(http_port, admin_port):
    """The first server's binary with the ports given; returns (exit status
    or None if still running at the deadline, stderr, seconds)."""
    binary = os.readlink(f"/proc/{SERVER_PID}/exe")
    env = dict(os.environ, PARTYLINE_HTTP_PORT=str(http_port), PARTYLINE_ADMIN_PORT=str(admin_port),
               PARTYLINE_WEB_ROOT=os.path.join(REPO, "web"), PARTYLINE_ICE_ADDRESSES="127.0.0.1",
               PARTYLINE_ICE_ALLOWED_NETWORKS="127.0.0.0/8")
    started = time.monotonic()
    process = subprocess.Popen([binary], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, errors="replace")
    try:
        output, _ = process.communicate(timeout=SECOND_SERVER_DEADLINE_S)
        return process.returncode, output, time.monotonic() - started
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        return None, output, time.monotonic() - started


async def first_still_serves(client, what):
    await client.request("ping")
    fresh = await connect(f"fresh.{what}")
    try:
        await fresh.request("ping")
    finally:
        await fresh.close()
    samples = await metrics()
    check("partyline_sessions" in samples or any(name.startswith("partyline_") for name in samples),
          f"{what}: the first server's /metrics answered without partyline samples")


async def second_server(scenario):
    client = await scenario.connect("first.port")
    for name, http_port, admin_port, busy in (("signaling", HTTP_PORT, free_port(), HTTP_PORT),
                                              ("admin", free_port(), ADMIN_PORT, ADMIN_PORT)):
        status, output, elapsed = await asyncio.to_thread(start_second_server, http_port, admin_port)
        last_lines = " | ".join(output.strip().splitlines()[-3:])
        print(f"    second server on the {name} port {busy}: exit status {status} after {elapsed:.2f} s: "
              f"{last_lines}", flush=True)
        check(status is not None, f"a second server on the {name} port {busy} was still running after "
                                  f"{SECOND_SERVER_DEADLINE_S:g} s: {output[-2000:]}")
        check(status != 0, f"a second server on the {name} port {busy} exited with status 0")
        lowered = output.lower()
        check(str(busy) in output and ("in use" in lowered or "eaddrinuse" in lowered),
              f"the second server's error should name port {busy} and say it is in use: {output[-2000:]}")
        check("partyline listening on" not in output, f"the second server said it was listening: {output}")
        await first_still_serves(client, name)


def server_has_exited():
    try:
        with open(f"/proc/{SERVER_PID}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


async def poll(condition, deadline):
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


async def sigterm_in_line(scenario):
    # Two others' audio each: about twice the frames of one.
    _, _, clients, peers = await media_line(scenario, ["alice.term", "bob.term", "carol.term"],
                                            frames=2 * MEDIA_FRAMES)
    for peer in peers:
        await peer.settle()
    marks = [len(client.events) for client in clients]
    started = time.monotonic()
    deadline = started + SHUTDOWN_DEADLINE_S
    os.kill(SERVER_PID, signal.SIGTERM)
    exited = await poll(server_has_exited, deadline)
    closed = await poll(lambda: all(client.closed.is_set() for client in clients), deadline)
    transports = [peer.pc.getTransceivers()[0].sender.transport for peer in peers]
    dtls_closed = await poll(lambda: all(t.state == "closed" for t in transports), deadline)
    elapsed = time.monotonic() - started
    told = {client.name: [e.get("event") + (f" {e.get('state')}" if e.get("state") else "") +
                          (f" {e.get('reason')}" if e.get("reason") else "")
                          for e in client.events[mark:]] for client, mark in zip(clients, marks)}
    print(f"    after SIGTERM: exited {exited}, close codes {[c.close_code for c in clients]}, DTLS "
          f"{[t.state for t in transports]}, {elapsed:.2f} s; events after it: {told}", flush=True)
    failures = []
    if not exited:
        failures.append(f"the server was still running {SHUTDOWN_DEADLINE_S:g} s after SIGTERM")
    if not closed or any(client.close_code != 1001 for client in clients):
        failures.append(f"WebSockets not all closed with 1001: {[c.close_code for c in clients]}")
    if not dtls_closed:
        failures.append(f"DTLS transports not all closed by close_notify: {[t.state for t in transports]}")
    without_hangup = [name for name, events in told.items() if "hangup shutdown" not in events]
    if without_hangup:
        failures.append(f"no hangup event (reason shutdown) before the close for {without_hangup}")
    if failures:
        raise TestFailure("; ".join(failures))


if __name__ == "__main__":
    # In this order: the second scenario stops the server.
    wanted = sys.argv[1:] or ["second_server", "sigterm_in_line"]
    sys.argv[1:] = wanted
    sys.exit(run_scenarios([second_server, sigterm_in_line], "faults of the server process", timeout_s=90.0))
