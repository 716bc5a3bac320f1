#!/usr/bin/python3
# e2e-test: single_port_aiortc
"""E2E (issue 18): in single-port mode every participant's media uses the one
configured UDP port.

The server runs with single_port.json (ice.udp_port 3479 on 127.0.0.1, two
workers). Four aiortc peers each run an echo call (audio and video) at once:
four participants, two workers, so the kernel spreads their addresses over
both workers' sockets and some datagrams are handed from one worker to the
other. Then:

- the server's answers say a=ice-lite and offer exactly one candidate, a
  host candidate on 127.0.0.1:3479;
- every peer gets its audio and video echoed back (so media flowed, on the
  only UDP sockets the server has);
- `ss -uanp` in the test's namespace lists the server's UDP sockets: every
  one bound to 127.0.0.1:3479, one per worker (2), as many with four
  participants connected as before the first joined (no socket per
  participant, as the default mode opens);
- each peer's ICE connection (aioice) nominated a pair whose remote end is
  127.0.0.1:3479.

Run through run_e2e.sh (private network namespace, server started by
with_server.py).
"""

import asyncio
import os
import re
import subprocess
import sys

from aiortc_peer import EchoPeer, configure_logging, use_loopback_only
from partyline_ws import SignalingClient

WS_URL = os.environ.get("PARTYLINE_WS_URL", "ws://127.0.0.1:8088/ws")
PORT = 3479
WORKERS = 2
PEERS = 4
DEADLINE_S = 20.0
MIN_AUDIO_FRAMES = 50
MIN_VIDEO_FRAMES = 15


def server_udp_sockets():
    """(local address, port) of every UDP socket the partyline process holds."""
    output = subprocess.run(["ss", "-uanp"], check=True, capture_output=True, text=True).stdout
    sockets = []
    for line in output.splitlines()[1:]:
        if '"partyline"' not in line:
            continue
        local = line.split()[3]  # State Recv-Q Send-Q Local Peer Process
        address, port = local.rsplit(":", 1)
        sockets.append((address, int(port)))
    return sockets, output


def nominated_remote(peer):
    """The remote (address, port) of the pair aioice nominated, or None."""
    for transceiver in peer.pc.getTransceivers():
        connection = transceiver.receiver.transport.transport._connection  # aioice.Connection
        pair = connection._nominated.get(1)
        if pair is not None:
            return pair.remote_candidate.host, pair.remote_candidate.port
    return None


def answer_candidates(sdp):
    return [line[len("a="):] for line in sdp.splitlines() if line.startswith("a=candidate:")]


async def main():
    before, listing = server_udp_sockets()
    print(f"server UDP sockets before any participant: {before}")
    if len(before) != WORKERS or any(s != ("127.0.0.1", PORT) for s in before):
        print(f"FAIL: expected {WORKERS} sockets on 127.0.0.1:{PORT} (one per worker), ss says:\n{listing}")
        return 1

    clients, peers, responses = [], [], []
    try:
        for i in range(PEERS):
            clients.append(await SignalingClient.connect(WS_URL, name=f"peer{i}"))
            peers.append(EchoPeer(f"peer{i}"))
        responses = await asyncio.gather(*(peer.start(client) for peer, client in zip(peers, clients)))
        for peer, response in zip(peers, responses):
            sdp = response["jsep"]["sdp"]
            candidates = answer_candidates(sdp)
            if "\r\na=ice-lite\r\n" not in sdp and "\na=ice-lite\n" not in sdp:
                print(f"FAIL: {peer.name}'s answer does not say a=ice-lite")
                return 1
            if len(candidates) != 1 or not re.search(rf" 127\.0\.0\.1 {PORT} typ host", candidates[0]):
                print(f"FAIL: {peer.name}'s answer should offer one host candidate on 127.0.0.1:{PORT}: {candidates}")
                return 1
        results = await asyncio.gather(
            *(peer.wait_for_frames(MIN_AUDIO_FRAMES, MIN_VIDEO_FRAMES, DEADLINE_S) for peer in peers))
        for peer, ok in zip(peers, results):
            print(peer.summary())
            if not ok:
                print(f"FAIL: {peer.name} got too few frames back within {DEADLINE_S:.0f} s; errors {peer.errors}")
                return 1

        during, listing = server_udp_sockets()
        print(f"server UDP sockets with {PEERS} participants connected: {during}")
        if sorted(during) != sorted(before):
            print(f"FAIL: the server's UDP sockets changed with participants connected, ss says:\n{listing}")
            return 1
        for peer in peers:
            remote = nominated_remote(peer)
            print(f"{peer.name}: nominated pair's remote end {remote}")
            if remote != ("127.0.0.1", PORT):
                print(f"FAIL: {peer.name}'s media goes to {remote}, not 127.0.0.1:{PORT}")
                return 1
        print(f"PASS: {PEERS} participants' media on the one UDP port {PORT} ({WORKERS} worker sockets)")
        return 0
    finally:
        for peer in peers:
            await peer.close()
        for client in clients:
            await client.close()


if __name__ == "__main__":
    configure_logging()
    use_loopback_only()
    sys.exit(asyncio.run(main()))
