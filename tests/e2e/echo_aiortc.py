#!/usr/bin/python3
# e2e-test: echo_aiortc
"""E2E: an aiortc peer runs an echo call and gets its audio and video back.

Run through run_e2e.sh (private network namespace, server started by
with_server.py). Needs Debian's python3-aiortc and python3-websockets.
"""

import asyncio
import os
import sys

from aiortc_peer import EchoPeer, configure_logging, use_loopback_only
from partyline_ws import SignalingClient

WS_URL = os.environ.get("PARTYLINE_WS_URL", "ws://127.0.0.1:8088/ws")
DEADLINE_S = 20.0
MIN_AUDIO_FRAMES = 100  # 20 ms frames: 2 s of audio
MIN_VIDEO_FRAMES = 30


async def main():
    client = await SignalingClient.connect(WS_URL, name="aiortc")
    peer = EchoPeer("aiortc")
    try:
        print(f"session {client.handshake['session']}, server {client.handshake.get('server')}")
        await peer.start(client)
        ok = await peer.wait_for_frames(MIN_AUDIO_FRAMES, MIN_VIDEO_FRAMES, DEADLINE_S)
        print(peer.summary())
        if not ok:
            print(f"FAIL: expected >= {MIN_AUDIO_FRAMES} audio and >= {MIN_VIDEO_FRAMES} video "
                  f"frames within {DEADLINE_S:.0f} s; errors {peer.errors}")
            return 1
        secure = await client.wait_for_event(
            lambda e: e.get("event") == "webrtc_state" and e.get("state") == "secure", 1.0)
        if secure is None:
            print(f"FAIL: media flows but the server never sent webrtc_state 'secure' ({peer.server_states})")
            return 1
        await client.request("hangup")
        closed = await client.wait_for_event(
            lambda e: e.get("event") == "webrtc_state" and e.get("state") == "closed", 5.0)
        if closed is None:
            print("FAIL: no webrtc_state 'closed' after hangup")
            return 1
        print("PASS: echo with aiortc")
        return 0
    finally:
        await peer.close()
        await client.close()


if __name__ == "__main__":
    configure_logging()
    use_loopback_only()
    sys.exit(asyncio.run(main()))
