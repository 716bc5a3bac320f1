#!/usr/bin/python3
"""Captures an aiortc offer (audio + video + data channel) for the SDP tests.

Run with Debian's /usr/bin/python3 (python3-aiortc) inside a loopback-only
network namespace. Usage: capture_aiortc.py OUT_DIR
"""
import asyncio
import os
import sys

import aioice.ice
import aiortc
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack


def loopback_only(use_ipv4=True, use_ipv6=True):
    # aioice skips loopback by default; the capture namespace has nothing else.
    return ["127.0.0.1"]


aioice.ice.get_host_addresses = loopback_only


async def main(out_dir):
    pc = RTCPeerConnection()
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(VideoStreamTrack())
    pc.createDataChannel("chat")
    # aiortc gathers all candidates inside setLocalDescription (no trickle).
    await pc.setLocalDescription(await pc.createOffer())
    path = os.path.join(out_dir, f"aiortc{aiortc.__version__}_captured_offer_av_dc.sdp")
    with open(path, "w", newline="") as out:
        out.write(pc.localDescription.sdp)
    print(f"wrote {path}")
    await pc.close()


asyncio.run(main(sys.argv[1]))
