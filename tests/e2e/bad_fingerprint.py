#!/usr/bin/python3
# e2e-test: bad_fingerprint
"""E2E: an offer with a wrong a=fingerprint gets no media and a 495 error,
while a correct client on the same server at the same time gets its echo.

Run through run_e2e.sh (private network namespace, server started by
with_server.py). Needs Debian's python3-aiortc and python3-websockets.
"""

import asyncio
import os
import sys

from aiortc_peer import EchoPeer, configure_logging, corrupt_fingerprints, use_loopback_only
from partyline_ws import SignalingClient

WS_URL = os.environ.get("PARTYLINE_WS_URL", "ws://127.0.0.1:8088/ws")
DEADLINE_S = 20.0
MIN_AUDIO_FRAMES = 100
MIN_VIDEO_FRAMES = 30


def is_dtls_error(event):
    return event.get("event") == "error" and event.get("code") == 495


def is_failed_state(event):
    return event.get("event") == "webrtc_state" and event.get("state") == "failed"


async def main():
    bad_client = await SignalingClient.connect(WS_URL, name="bad")
    good_client = await SignalingClient.connect(WS_URL, name="good")
    bad = EchoPeer("bad")
    good = EchoPeer("good")
    failures = []
    try:
        # Both calls start together: the failing handshake must not disturb the other.
        await asyncio.gather(bad.start(bad_client, mangle_offer=corrupt_fingerprints), good.start(good_client))

        error_event, good_ok = await asyncio.gather(
            bad_client.wait_for_event(is_dtls_error, DEADLINE_S),
            good.wait_for_frames(MIN_AUDIO_FRAMES, MIN_VIDEO_FRAMES, DEADLINE_S))
        failed_event = await bad_client.wait_for_event(is_failed_state, 2.0)

        print(bad.summary())
        print(good.summary())
        print(f"bad client error event: {error_event}")
        print(f"bad client failed state: {failed_event}")
        if error_event is None:
            failures.append(f"no 'error' event with code 495 within {DEADLINE_S:.0f} s "
                            f"(events: {bad_client.events})")
        if failed_event is None:
            failures.append("no webrtc_state 'failed' for the corrupted fingerprint")
        if bad.received["audio"] or bad.received["video"]:
            failures.append(f"the corrupted-fingerprint client received media: {bad.received}")
        if not good_ok:
            failures.append(f"the correct client did not get >= {MIN_AUDIO_FRAMES} audio and "
                            f">= {MIN_VIDEO_FRAMES} video frames within {DEADLINE_S:.0f} s")
        if good_client.closed.is_set():
            failures.append(f"the correct client's socket was closed ({good_client.close_code})")
    finally:
        await asyncio.gather(bad.close(), good.close())
        await asyncio.gather(bad_client.close(), good_client.close())

    for failure in failures:
        print(f"FAIL: {failure}")
    if not failures:
        print("PASS: corrupted fingerprint refused with 495, the other call unaffected")
    return 1 if failures else 0


if __name__ == "__main__":
    configure_logging()
    use_loopback_only()
    sys.exit(asyncio.run(main()))
