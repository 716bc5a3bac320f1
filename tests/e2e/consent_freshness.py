#!/usr/bin/python3
"""E2E: consent freshness (RFC 7675): a peer that stops answering is gone.

A child process runs an aiortc echo call; once media flows it is frozen
(SIGSTOP), so it answers no more STUN consent checks while its WebSocket
stays open (the config in consent_freshness.json makes the WebSocket idle
timeouts longer than the test). The server must declare the transport failed
for lost consent within 45 s (RFC 7675 allows 30 s plus a check interval),
and keep serving: a new client still gets its echo afterwards.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time

from aiortc_peer import EchoPeer, configure_logging, use_loopback_only
from partyline_ws import SignalingClient

WS_URL = os.environ.get("PARTYLINE_WS_URL", "ws://127.0.0.1:8088/ws")
SERVER_LOG = os.environ.get("PARTYLINE_SERVER_LOG", "")
CONSENT_DEADLINE_S = 45.0
CONSENT_LOST = "consent expired"


async def run_peer_until_killed():
    """The child: an echo call that reports when media flows, then idles."""
    client = await SignalingClient.connect(WS_URL, name="frozen")
    peer = EchoPeer("frozen")
    await peer.start(client)
    if not await peer.wait_for_frames(50, 10, 20.0):
        print(f"NO MEDIA {peer.summary()}", flush=True)
        return 1
    print("MEDIA FLOWING", flush=True)
    await asyncio.sleep(3600)
    return 0


def server_log_has(text):
    with open(SERVER_LOG, errors="replace") as log:
        return any(text in line for line in log)


async def second_call_works():
    client = await SignalingClient.connect(WS_URL, name="after")
    peer = EchoPeer("after")
    try:
        await peer.start(client)
        return await peer.wait_for_frames(50, 10, 20.0)
    finally:
        await peer.close()
        await client.close()


async def main():
    child = subprocess.Popen([sys.executable, __file__, "--peer"], stdout=subprocess.PIPE, text=True)
    try:
        first_line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 30.0)
        if first_line.strip() != "MEDIA FLOWING":
            print(f"FAIL: the call to freeze did not start: {first_line.strip()!r}")
            return 1
        frozen_at = time.monotonic()
        child.send_signal(signal.SIGSTOP)
        while time.monotonic() - frozen_at < CONSENT_DEADLINE_S and not server_log_has(CONSENT_LOST):
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - frozen_at
        if not server_log_has(CONSENT_LOST):
            print(f"FAIL: no '{CONSENT_LOST}' in the server log {elapsed:.0f} s after the peer froze")
            return 1
        print(f"server declared the frozen peer gone after {elapsed:.1f} s")
        if not await second_call_works():
            print("FAIL: a new echo call did not work after the consent failure")
            return 1
        print("PASS: consent freshness")
        return 0
    finally:
        child.kill()
        child.wait()


if __name__ == "__main__":
    configure_logging()
    use_loopback_only()
    if sys.argv[1:] == ["--peer"]:
        sys.exit(asyncio.run(run_peer_until_killed()))
    sys.exit(asyncio.run(main()))
