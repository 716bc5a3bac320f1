#!/usr/bin/python3
# e2e-test: shutdown
"""E2E: SIGHUP, SIGUSR1 and SIGUSR2 change nothing; SIGTERM closes every
PeerConnection and the server exits promptly.

An aiortc echo call is running when the server gets SIGHUP, SIGUSR1 and
SIGUSR2 (their default action killed it without a close frame): it still
answers a ping and the call's frames keep coming. Then SIGTERM. Within the
stop deadline of with_server.py (2 s; 10 s for an AddressSanitizer build,
see STOP_TIMEOUT_S there): the server process has exited (with_server.py
--test-stops-server then checks that its status is 0), the WebSocket was
closed with 1001 (going away), and the client's PeerConnection was closed
by the server's DTLS close_notify rather than left to time out.
"""

import asyncio
import os
import signal
import sys
import time

from aiortc_peer import EchoPeer, configure_logging, use_loopback_only
from partyline_ws import SignalingClient

WS_URL = os.environ.get("PARTYLINE_WS_URL", "ws://127.0.0.1:8088/ws")
SERVER_PID = int(os.environ["PARTYLINE_SERVER_PID"])
SHUTDOWN_DEADLINE_S = float(os.environ.get("PARTYLINE_SERVER_STOP_TIMEOUT_S", "2"))


def server_has_exited():
    """True once the server is gone or a zombie waiting for with_server.py."""
    try:
        with open(f"/proc/{SERVER_PID}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
        return state in ("Z", "X")
    except FileNotFoundError:
        return True


async def wait_until(condition, deadline):
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


async def main():
    client = await SignalingClient.connect(WS_URL, name="shutdown")
    peer = EchoPeer("shutdown")
    try:
        await peer.start(client)
        if not await peer.wait_for_frames(50, 10, 20.0):
            print(f"FAIL: the echo call did not start: {peer.summary()}")
            return 1
        for ignored in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
            os.kill(SERVER_PID, ignored)
        await client.request("ping")
        frames_before = dict(peer.received)
        if server_has_exited() or not await peer.wait_for_frames(frames_before["audio"] + 50,
                                                                 frames_before["video"] + 10, 20.0):
            print(f"FAIL: after SIGHUP, SIGUSR1 and SIGUSR2 the call stopped: {peer.summary()}")
            return 1
        print(f"after SIGHUP, SIGUSR1, SIGUSR2: ping answered, frames {frames_before} -> {dict(peer.received)}")
        started = time.monotonic()
        deadline = started + SHUTDOWN_DEADLINE_S
        os.kill(SERVER_PID, signal.SIGTERM)
        exited = await wait_until(server_has_exited, deadline)
        socket_closed = await wait_until(client.closed.is_set, deadline)
        # aiortc 1.4 keeps connectionState "connected" after a close_notify;
        # its DTLS transport's own state shows it.
        dtls = peer.pc.getTransceivers()[0].sender.transport
        pc_closed = await wait_until(lambda: dtls.state == "closed", deadline)
        elapsed = time.monotonic() - started
        print(f"after SIGTERM: exited {exited}, websocket close code {client.close_code}, "
              f"DTLS {dtls.state}, {elapsed:.2f} s")
        failures = []
        if not exited:
            failures.append(f"server still running {SHUTDOWN_DEADLINE_S} s after SIGTERM")
        if not socket_closed or client.close_code != 1001:
            failures.append(f"WebSocket not closed with 1001 (close code {client.close_code})")
        if not pc_closed:
            failures.append(f"DTLS transport still {dtls.state}: no close_notify from the server")
        if failures:
            print("FAIL: " + "; ".join(failures))
            return 1
        print("PASS: SIGTERM closed the call and the server exited")
        return 0
    finally:
        await peer.close()
        await client.close()


if __name__ == "__main__":
    configure_logging()
    use_loopback_only()
    sys.exit(asyncio.run(main()))
