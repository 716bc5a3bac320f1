#!/usr/bin/python3
# e2e-test: plugin_echotest
"""E2E: the echo test through the echotest plugin (plugins/echotest), with
aiortc: attach, `message` {"request": "start"} with the offer, the answer in
the plugin's event, candidates and states with the handle, audio and video
back, `stats` counting the echoed packets, `stop` closing the PeerConnection
(webrtc_state closed with the handle), then detach; a second call is
detached while its media flows (the sanitizer round catches any media
callback reaching the destroyed handle).

Run through run_e2e.sh (private network namespace, server started by
with_server.py, which loads the build tree's plugins).
"""

import asyncio
import os
import sys

from aiortc_peer import EchoPeer, configure_logging, use_loopback_only
from partyline_ws import SignalingClient

WS_URL = os.environ.get("PARTYLINE_WS_URL", "ws://127.0.0.1:8088/ws")
DEADLINE_S = 20.0
MIN_AUDIO_FRAMES = 100
MIN_VIDEO_FRAMES = 30


def fail(message):
    print(f"FAIL: {message}")
    return 1


async def main():
    client = await SignalingClient.connect(WS_URL, name="aiortc")
    peer = EchoPeer("aiortc")
    try:
        attached = await client.request("attach", plugin="echotest")
        handle = attached["handle"]

        async def through_the_plugin(offer):
            """start with the offer; the answer comes in the plugin's event."""
            since = len(client.events)
            response = await client.request("message", handle=handle, body={"request": "start"},
                                            jsep={"type": "offer", "sdp": offer})
            if "data" in response:
                raise AssertionError(f"start answers with an event, not data: {response}")
            event = await client.wait_for_event(lambda e: e.get("event") == "plugin", 10.0, since)
            if event is None or event.get("data") != {"echotest": "answer"} or event.get("handle") != handle:
                raise AssertionError(f"no answer event from the plugin: {event}")
            return event["jsep"]["sdp"]

        # Candidates and states arrive as the session's events, with the handle.
        await peer.start(client, exchange=through_the_plugin)

        ok = await peer.wait_for_frames(MIN_AUDIO_FRAMES, MIN_VIDEO_FRAMES, DEADLINE_S)
        print(peer.summary())
        if not ok:
            return fail(f"expected >= {MIN_AUDIO_FRAMES} audio and >= {MIN_VIDEO_FRAMES} video frames "
                        f"within {DEADLINE_S:.0f} s; errors {peer.errors}")
        states = [e for e in client.events if e.get("event") == "webrtc_state"]
        if not any(e.get("state") == "secure" and e.get("handle") == handle for e in states):
            return fail(f"no webrtc_state secure with the handle: {states}")
        if any(e.get("event") == "ice_candidate" and e.get("handle") != handle for e in client.events):
            return fail("an ice_candidate event without the handle")
        stats = await client.request("message", handle=handle, body={"request": "stats"})
        echoed = stats.get("data", {}).get("echoed", 0)
        if echoed < MIN_AUDIO_FRAMES + MIN_VIDEO_FRAMES:
            return fail(f"the plugin echoed only {echoed} packets: {stats}")
        print(f"plugin echoed {echoed} packets")

        stopped = await client.request("message", handle=handle, body={"request": "stop"})
        if stopped.get("data") != {"stopped": True}:
            return fail(f"stop: {stopped}")
        closed = await client.wait_for_event(
            lambda e: e.get("event") == "webrtc_state" and e.get("state") == "closed" and e.get("handle") == handle,
            5.0)
        if closed is None:
            return fail("no webrtc_state closed with the handle after stop")
        try:
            await client.request("hangup", handle=handle)
            return fail("hangup after stop succeeded")
        except Exception as error:  # noqa: BLE001 - a RequestError is expected
            if getattr(error, "code", None) != 404:
                return fail(f"hangup after stop: {error}")
        await client.request("detach", handle=handle)

        # A second call, detached while its media still flows: the host must
        # close the PeerConnection before the plugin destroys the handle (an
        # ASan build reports any media callback that reaches it afterwards).
        second = EchoPeer("aiortc-2")
        try:
            handle = (await client.request("attach", plugin="echotest"))["handle"]
            await second.start(client, exchange=through_the_plugin)
            if not await second.wait_for_frames(MIN_AUDIO_FRAMES // 2, MIN_VIDEO_FRAMES // 2, DEADLINE_S):
                return fail(f"second call: no media back: {second.summary()}")
            await client.request("detach", handle=handle)
            await client.request("ping")
            try:
                await client.request("message", handle=handle, body={"request": "stats"})
                return fail("a detached handle still answers")
            except Exception as error:  # noqa: BLE001 - a RequestError is expected
                if getattr(error, "code", None) != 404:
                    return fail(f"message to a detached handle: {error}")
        finally:
            await second.close()
        print("PASS: echo through the echotest plugin")
        return 0
    finally:
        await peer.close()
        await client.close()


if __name__ == "__main__":
    configure_logging()
    use_loopback_only()
    sys.exit(asyncio.run(main()))
