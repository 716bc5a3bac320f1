"""An aiortc (1.4) peer that runs a partyline echo call and counts what comes back.

aiortc is a second, independent WebRTC stack (OpenSSL DTLS, old-style SDP
with candidates inside the offer, no trickle).
"""

import asyncio
import logging
import os
import re
import time

import aioice.ice
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from aiortc.sdp import candidate_from_sdp


def use_loopback_only():
    """aioice skips loopback when gathering; the tests run in a namespace
    where loopback is the only interface, so offer 127.0.0.1 explicitly."""

    def loopback_addresses(use_ipv4=True, use_ipv6=True):
        return ["127.0.0.1"] if use_ipv4 else []

    aioice.ice.get_host_addresses = loopback_addresses


def configure_logging():
    level = os.environ.get("E2E_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")


def corrupt_fingerprints(sdp):
    """Flips the last hex digit of every a=fingerprint value."""

    def flip(match):
        value = match.group(2)
        last = value[-1]
        replacement = "0" if last != "0" else "1"
        return f"{match.group(1)}{value[:-1]}{replacement}"

    corrupted, count = re.subn(r"(a=fingerprint:\S+ )([0-9A-Fa-f:]+)", flip, sdp)
    if count == 0:
        raise AssertionError("offer has no a=fingerprint line to corrupt")
    return corrupted


async def add_server_candidate(pc, candidate):
    """Applies a candidate the server trickled (an `ice_candidate` event's
    `candidate`) to aiortc's PeerConnection; nothing for an end marker."""
    if candidate is None or candidate.get("completed") or not candidate.get("candidate"):
        return  # aiortc 1.4 keeps checking what it has; no end marker needed
    line = candidate["candidate"]
    line = line[2:] if line.startswith("a=") else line
    line = line[len("candidate:"):] if line.startswith("candidate:") else line
    parsed = candidate_from_sdp(line)
    parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
    # aiortc 1.4 applies a candidate only when sdpMid names the m-line
    # owning the transport; with BUNDLE every candidate belongs to it.
    parsed.sdpMid = pc.getTransceivers()[0].mid
    await pc.addIceCandidate(parsed)


class FrameCounter:
    """Counts the audio and video frames of every track a PeerConnection
    receives (`received`, per kind)."""

    def __init__(self, pc):
        self.received = {"audio": 0, "video": 0}
        self._readers = []
        pc.on("track", self._on_track)

    def cancel(self):
        for reader in self._readers:
            reader.cancel()

    def _on_track(self, track):
        self._readers.append(asyncio.ensure_future(self._count_frames(track)))

    async def _count_frames(self, track):
        try:
            while True:
                await track.recv()
                self.received[track.kind] += 1
        except MediaStreamError:
            pass  # the connection closed


class EchoPeer:
    """An RTCPeerConnection sending aiortc's test tones and frames, counting
    the audio and video frames that come back."""

    def __init__(self, name):
        self.name = name
        self.pc = RTCPeerConnection()
        self.frames = FrameCounter(self.pc)
        self.received = self.frames.received
        self.server_states = []
        self.errors = []
        self._pending_candidates = []
        self._answer_applied = False
        self.pc.addTrack(AudioStreamTrack())
        self.pc.addTrack(VideoStreamTrack())

    async def start(self, client, mangle_offer=None, timeout=15.0, exchange=None):
        """Offers, sends `echo`, applies the answer and the server's trickled
        candidates. Returns the echo response. `exchange(offer)`, a coroutine
        returning the answer SDP, replaces the `echo` request (a plugin's
        messages, say); start then returns the answer."""
        client.on_event(self._on_server_event)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = self.pc.localDescription.sdp  # candidates inside: no trickle
        if mangle_offer:
            offer = mangle_offer(offer)
        if exchange is not None:
            response = answer = await exchange(offer)
        else:
            response = await client.request("echo", timeout=timeout, jsep={"type": "offer", "sdp": offer})
            jsep = response.get("jsep") or {}
            if jsep.get("type") != "answer" or not jsep.get("sdp"):
                raise AssertionError(f"{self.name}: echo response has no answer: {response}")
            answer = jsep["sdp"]
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        self._answer_applied = True
        for candidate in self._pending_candidates:
            await self._add_candidate(candidate)
        self._pending_candidates.clear()
        return response

    async def wait_for_frames(self, audio, video, timeout):
        """Polls the counters until both thresholds are passed or the deadline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.received["audio"] >= audio and self.received["video"] >= video:
                return True
            if self.pc.connectionState in ("failed", "closed"):
                return False
            await asyncio.sleep(0.1)
        return False

    async def close(self):
        await self.pc.close()
        self.frames.cancel()

    def summary(self):
        return (f"{self.name}: audio frames {self.received['audio']}, video frames "
                f"{self.received['video']}, ice {self.pc.iceConnectionState}, "
                f"connection {self.pc.connectionState}, server states {self.server_states}")


    def _on_server_event(self, event):
        kind = event.get("event")
        if kind == "webrtc_state":
            self.server_states.append(event.get("state"))
        elif kind == "error":
            self.errors.append(event)
        elif kind == "ice_candidate":
            candidate = event.get("candidate")
            if self._answer_applied:
                asyncio.ensure_future(self._add_candidate(candidate))
            else:
                self._pending_candidates.append(candidate)

    async def _add_candidate(self, candidate):
        await add_server_candidate(self.pc, candidate)
