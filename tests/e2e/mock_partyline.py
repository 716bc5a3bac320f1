#!/usr/bin/python3
"""A stand-in for the partyline server, built on aiortc, to test the tests.

It speaks the echo subset of docs/protocol.md (handshake, keepalive, echo,
ice_trickle, hangup; events ice_candidate, webrtc_state, error) and serves
web/, so the page, the clients and the runner can be checked when the real
server is not at hand:

    tests/e2e/run_e2e.sh --binary tests/e2e/mock_partyline.py

It is not a reference for the server's media path: aiortc decodes and
re-encodes what it echoes, and its error codes are approximations.
"""

import asyncio
import json
import mimetypes
import os
import signal
import sys
import uuid
from http import HTTPStatus

import aioice.ice
import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

PORT = int(os.environ.get("PARTYLINE_HTTP_PORT", "8088"))
WEB_ROOT = os.path.abspath(os.environ.get(
    "PARTYLINE_WEB_ROOT", os.path.join(os.path.dirname(__file__), "..", "..", "web")))
KEEPALIVE_INTERVAL_MS = 30000


def log(message):
    print(f"mock_partyline: {message}", file=sys.stderr, flush=True)


def serve_static(path, _headers):
    """websockets' process_request hook: plain HTTP for everything but /ws."""
    if path.split("?")[0] == "/ws":
        return None
    relative = path.split("?")[0].lstrip("/") or "index.html"
    file_path = os.path.abspath(os.path.join(WEB_ROOT, relative))
    if not file_path.startswith(WEB_ROOT + os.sep) or not os.path.isfile(file_path):
        return HTTPStatus.NOT_FOUND, [("Content-Type", "text/plain")], b"not found\n"
    content_type = mimetypes.guess_type(file_path)[0] or "application/octet-stream"
    if file_path.endswith(".js"):
        content_type = "text/javascript"
    with open(file_path, "rb") as source:
        return HTTPStatus.OK, [("Content-Type", content_type)], source.read()


def split_candidates(sdp):
    """Removes candidate lines from an SDP; returns (sdp, candidate values, first mid)."""
    kept, candidates, first_mid = [], [], None
    for line in sdp.splitlines():
        if line.startswith("a=mid:") and first_mid is None:
            first_mid = line[len("a=mid:"):]
        if line.startswith("a=candidate:"):
            if line[2:] not in candidates:
                candidates.append(line[2:])
            continue
        if line.startswith("a=end-of-candidates"):
            continue
        kept.append(line)
    return "\r\n".join(kept) + "\r\n", candidates, first_mid


class Session:
    def __init__(self, socket):
        self.socket = socket
        self.pc = None
        self.early_candidates = []

    async def send(self, message):
        try:
            await self.socket.send(json.dumps(message))
        except websockets.ConnectionClosed:
            pass

    async def run(self):
        await self.send({"handshake": "state", "session": str(uuid.uuid4()),
                         "keepalive_interval": KEEPALIVE_INTERVAL_MS,
                         "timestamp": int(asyncio.get_running_loop().time() * 1000),
                         "server": {"name": "partyline-mock", "version": "0.0.0"}})
        try:
            async for raw in self.socket:
                await self.handle(raw)
        finally:
            if self.pc:
                await self.pc.close()

    async def handle(self, raw):
        try:
            message = json.loads(raw)
        except ValueError:
            await self.send({"response": "error", "transaction": None, "code": 400, "reason": "malformed JSON"})
            return
        transaction = message.get("transaction")
        if message.get("handshake") == "keepalive":
            await self.send({"handshake": "keepalive", "transaction": transaction})
            return
        name = message.get("request")
        handler = {"echo": self.echo, "ice_trickle": self.ice_trickle, "hangup": self.hangup}.get(name)
        if handler is None:
            await self.reply_error(transaction, name, 404, f"unknown request '{name}'")
            return
        try:
            fields = await handler(message)
        except Exception as error:  # a mock: every failure becomes a response
            await self.reply_error(transaction, name, getattr(error, "code", 500), str(error))
            return
        await self.send(dict(fields or {}, response="success", transaction=transaction, request=name))

    async def reply_error(self, transaction, name, code, reason):
        await self.send({"response": "error", "transaction": transaction, "request": name,
                         "code": code, "reason": reason})

    async def echo(self, message):
        if self.pc is not None:
            raise RequestFailure(409, "an echo call is already running")
        jsep = message.get("jsep") or {}
        if jsep.get("type") != "offer" or not isinstance(jsep.get("sdp"), str):
            raise RequestFailure(400, "field 'jsep' must be an offer")
        pc = RTCPeerConnection()
        self.pc = pc
        pc.on("track", lambda track: pc.addTrack(track))
        self.watch_states(pc)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="offer"))
        for candidate in self.early_candidates:
            await self.add_candidate(candidate)
        await pc.setLocalDescription(await pc.createAnswer())
        answer, candidates, mid = split_candidates(pc.localDescription.sdp)
        asyncio.get_running_loop().call_soon(
            lambda: asyncio.ensure_future(self.trickle(candidates, mid)))
        return {"jsep": {"type": "answer", "sdp": answer}}

    async def trickle(self, candidates, mid):
        for value in candidates:
            await self.send({"event": "ice_candidate",
                             "candidate": {"candidate": value, "sdpMid": mid, "sdpMLineIndex": 0}})
        await self.send({"event": "ice_candidate", "candidate": None})

    def watch_states(self, pc):
        @pc.on("iceconnectionstatechange")
        async def on_ice():
            state = {"checking": "checking", "completed": "connected"}.get(pc.iceConnectionState)
            if state:
                await self.send({"event": "webrtc_state", "state": state})

        @pc.on("connectionstatechange")
        async def on_connection():
            if pc.connectionState == "connected":
                await self.send({"event": "webrtc_state", "state": "secure"})
            elif pc.connectionState == "failed":
                reason = "DTLS: handshake failed or remote certificate does not match a=fingerprint"
                await self.send({"event": "error", "code": 495, "reason": reason})
                await self.send({"event": "webrtc_state", "state": "failed", "reason": reason})

    async def ice_trickle(self, message):
        candidate = message.get("candidate")
        if self.pc is None or self.pc.remoteDescription is None:
            self.early_candidates.append(candidate)
            return {}
        ignored = not await self.add_candidate(candidate)
        return {"ignored": True} if ignored else {}

    async def add_candidate(self, candidate):
        if candidate is None or candidate.get("completed"):
            return True
        value = candidate.get("candidate", "")
        value = value[len("candidate:"):] if value.startswith("candidate:") else value
        parsed = candidate_from_sdp(value)
        if parsed.protocol.lower() != "udp" or not parsed.ip.startswith("127."):
            return False
        parsed.sdpMid = self.pc.getTransceivers()[0].mid
        await self.pc.addIceCandidate(parsed)
        return True

    async def hangup(self, _message):
        if self.pc is None:
            raise RequestFailure(404, "no PeerConnection")
        pc, self.pc = self.pc, None
        await pc.close()
        asyncio.get_running_loop().call_soon(
            lambda: asyncio.ensure_future(self.send({"event": "webrtc_state", "state": "closed"})))
        return {}


class RequestFailure(Exception):
    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code


async def main():
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]
    stop = asyncio.get_running_loop().create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))

    async def handler(socket, _path=None):
        await Session(socket).run()

    async with websockets.serve(handler, "127.0.0.1", PORT, process_request=serve_static):
        log(f"serving {WEB_ROOT}")
        print(f"partyline listening on http://127.0.0.1:{PORT}/", file=sys.stderr, flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
