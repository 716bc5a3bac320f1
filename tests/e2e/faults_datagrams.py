#!/usr/bin/python3
# e2e-test: faults_datagrams
"""E2E: garbage, truncated, forged and replayed datagrams sent to a live
participant's server port (issue 14, "Fault tests").

alice and bob are in a line with audio. The test learns alice's server-side
port from the server's answer (its `127.0.0.1 ... typ host` candidate) and
alice's own address from the admin API's selected pair, captures 60 of
alice's SRTP/SRTCP datagrams to the server off loopback (an AF_PACKET
socket), then sends, in two rounds:

1. from a plain UDP socket of its own (a source no ICE check validated);
2. forged from alice's own address and port (a raw socket, IP_HDRINCL: the
   server cannot tell them from hers, so they reach its demultiplexer),

each round: random datagrams (seeded), 1-byte datagrams of every class of
first byte, truncated RTP headers, well-formed RTP and RTCP with unknown
SSRCs (no valid SRTP tag), STUN binding requests with alice's username and
a bad MESSAGE-INTEGRITY, DTLS records of garbage (handshake, application
data, a plaintext fatal alert, a truncated record), and the replayed SRTP.

Expected: during and after each round, alice and bob keep receiving audio
(>= 50 frames each during the 2 s of each round, and >= 50 after it), alice stays `connected` in the line
and her PeerConnection `secure` (no `webrtc_state` change), the server
answers a ping during the flood. Counted (admin API, alice's session,
`transport.receive_drops`; /metrics `partyline_srtp_unprotect_failures_total`):
round 1 changes none of alice's counters (libnice drops data from an
unvalidated source before partyline sees it); round 2 counts every forged
or replayed RTP/RTCP datagram as `srtp_unprotect_failed` (exactly; a replay
and a bad tag are one reason) and every datagram of no known kind as
`unknown_kind` (with the few 1-byte and random ones in STUN's range that
are not STUN, which libnice hands on); STUN with a bad integrity stays in
libnice and the DTLS garbage in GnuTLS, neither counted (the forged
plaintext fatal alert and close_notify included: the transport stays
secure). Prints every figure.
"""

import asyncio
import hashlib
import hmac
import os
import random
import re
import socket
import struct
import sys
import threading
import time

from faults_helpers import admin_json, metric_delta, metrics, server_host_port
from lines_helpers import check, last_occupants, run_scenarios, session_of, wait_occupants

MEDIA_FRAMES = 50
CAPTURED = 60
SEED = 14
# A pause after every 20 datagrams: a round of 1,066 lasts about 2 s, so
# that media is seen flowing during it, and the socket buffers never drop.
PACE_S = 0.04


# ---------------------------------------------------------------- datagrams

def rtp_header(payload_type, sequence, timestamp, ssrc, marker=0):
    return struct.pack("!BBHII", 0x80, (marker << 7) | payload_type, sequence, timestamp, ssrc)


def stun_binding_bad_integrity(username, rng):
    """A binding request with USERNAME and a MESSAGE-INTEGRITY that no
    password makes (random bytes), then a correct FINGERPRINT."""
    transaction = rng.randbytes(12)
    user = username.encode()
    attributes = struct.pack("!HH", 0x0006, len(user)) + user + b"\0" * (-len(user) % 4)
    attributes += struct.pack("!HH", 0x0024, 4) + struct.pack("!I", 0x6E0001FF)  # PRIORITY
    attributes += struct.pack("!HH", 0x0008, 20) + rng.randbytes(20)  # MESSAGE-INTEGRITY
    header = struct.pack("!HHI", 0x0001, len(attributes) + 8, 0x2112A442) + transaction
    crc = __import__("zlib").crc32(header + attributes) ^ 0x5354554E
    return header + attributes + struct.pack("!HHI", 0x8028, 4, crc & 0xFFFFFFFF)


def dtls_record(content_type, epoch, sequence, body):
    return struct.pack("!BHH", content_type, 0xFEFD, epoch) + sequence.to_bytes(6, "big") + \
        struct.pack("!H", len(body)) + body


def garbage_sets(rng, username, replayed):
    """{name: [datagram, ...]} and the kind partyline's demultiplexer gives
    each set (rtp/packet/packet_demux.cpp: 0-3 STUN, 20-63 DTLS, 128-191
    RTP or RTCP, else unknown)."""
    sets = {
        "random": [rng.randbytes(rng.randint(1, 1200)) for _ in range(200)],
        "one_byte": [bytes([value]) for value in range(256)],
        "truncated_rtp": [rtp_header(111, n, 0, rng.getrandbits(32))[:length]
                          for n, length in enumerate(list(range(2, 12)) * 10)],
        "rtp_unknown_ssrc": [rtp_header(111, n, n * 960, 0x0BADF00D) + rng.randbytes(80) for n in range(200)],
        "rtcp_unknown_ssrc": [struct.pack("!BBHI", 0x80, 200, 6, 0x0BADF00D) + rng.randbytes(20) +
                              struct.pack("!I", 0x80000000 | n) + rng.randbytes(10) for n in range(100)],
        "stun_bad_integrity": [stun_binding_bad_integrity(username, rng) for _ in range(50)],
        "dtls_garbage": [dtls_record(22, 0, n, rng.randbytes(60)) for n in range(30)] +
                        [dtls_record(23, 1, 1000 + n, rng.randbytes(80)) for n in range(30)] +
                        [dtls_record(21, 0, 2000 + n, bytes([2, 40])) for n in range(10)] +  # fatal handshake_failure
                        [dtls_record(21, 1, 3000 + n, bytes([1, 0])) for n in range(10)] +  # close_notify, unencrypted
                        [dtls_record(22, 0, 4000 + n, rng.randbytes(60))[:20] for n in range(20)],  # truncated
        "replayed_srtp": list(replayed),
    }
    return sets


def kind_of(datagram):
    first = datagram[0]
    if first <= 3:
        return "stun"
    if 20 <= first <= 63:
        return "dtls"
    if 128 <= first <= 191:
        return "rtcp" if len(datagram) >= 2 and 192 <= datagram[1] <= 223 else ("rtp" if len(datagram) >= 2 else "unknown")
    return "unknown"


# ---------------------------------------------------------------- sockets

def forged_udp(source_port, destination_port, payload):
    """An IPv4/UDP packet from 127.0.0.1:source_port (the kernel fills the
    IP checksum and length; UDP checksum 0: none, allowed over IPv4)."""
    udp = struct.pack("!HHHH", source_port, destination_port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1"))
    return ip + udp


def capture(source_port, destination_port, count, timeout):
    """The payloads of the next `count` UDP datagrams 127.0.0.1:source_port ->
    :destination_port seen on loopback (whatever their kind; SRTP and SRTCP
    once the call runs)."""
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    sniffer.bind(("lo", 0x0800))
    sniffer.settimeout(0.2)
    payloads = []
    deadline = time.monotonic() + timeout
    try:
        while len(payloads) < count and time.monotonic() < deadline:
            try:
                packet, address = sniffer.recvfrom(65535)
            except socket.timeout:
                continue
            if address[2] != socket.PACKET_HOST or packet[9] != socket.IPPROTO_UDP:
                continue
            header = (packet[0] & 0x0F) * 4
            source, destination = struct.unpack("!HH", packet[header:header + 4])
            if source == source_port and destination == destination_port:
                payloads.append(packet[header + 8:])
    finally:
        sniffer.close()
    return payloads


class Sender:
    """Sends datagram sets at a bounded rate (so the receive buffer is not
    what drops them), plainly or forged from another port."""

    def __init__(self, server_port, forged_from=None):
        self.server_port = server_port
        self.forged_from = forged_from
        if forged_from is None:
            self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.socket.bind(("127.0.0.1", 0))
        else:
            self.socket = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)

    def send(self, datagrams):
        for number, datagram in enumerate(datagrams):
            if self.forged_from is None:
                self.socket.sendto(datagram, ("127.0.0.1", self.server_port))
            else:
                self.socket.sendto(forged_udp(self.forged_from, self.server_port, datagram), ("127.0.0.1", 0))
            if number % 20 == 19:
                time.sleep(PACE_S)

    def close(self):
        self.socket.close()


# ---------------------------------------------------------------- the scenario

async def drops_of(session):
    transport = (await admin_json(f"/admin/v1/sessions/{session}")).get("transport") or {}
    return dict(transport.get("receive_drops") or {}), transport.get("state")


def candidate_port(candidate):
    return int(candidate.split()[5])


async def flood(name, sender, sets, alice, peers, line_id, session):
    """Sends every set in a thread while checking the call; returns alice's
    drop counters before and after and the /metrics before and after."""
    drops_before, _ = await drops_of(session)
    metrics_before = await metrics()
    marks = {peer.client.name: dict(peer.received) for peer in peers}
    state_events = len([e for e in alice.events if e.get("event") == "webrtc_state"])
    sending = asyncio.ensure_future(asyncio.to_thread(lambda: [sender.send(d) for d in sets.values()]))
    started = time.monotonic()
    pinged = []
    while not sending.done():
        began = time.monotonic()
        await alice.request("ping")
        pinged.append(time.monotonic() - began)
        await asyncio.wait([sending], timeout=0.05)
    await sending
    sent_s = time.monotonic() - started
    # Media during the flood (about 2 s: 100 audio frames expected, 50
    # required) and after it (50 more).
    after_marks = {peer.client.name: dict(peer.received) for peer in peers}
    for peer in peers:
        during = after_marks[peer.client.name]["audio"] - marks[peer.client.name]["audio"]
        check(during >= MEDIA_FRAMES, f"{name}: {peer.client.name} received {during} audio frames during the "
                                      f"{sent_s:.2f} s flood, expected {MEDIA_FRAMES}")
    for peer in peers:
        check(await peer.wait_received("audio", after_marks[peer.client.name]["audio"] + MEDIA_FRAMES, 10.0),
              f"{name}: {peer.client.name}'s audio stopped after the flood: {peer.received}")
    drops_after, state = await drops_of(session)
    metrics_after = await metrics()
    states = [e for e in alice.events if e.get("event") == "webrtc_state"][state_events:]
    count = sum(len(d) for d in sets.values())
    print(f"    {name}: {count} datagrams in {sent_s:.2f} s; pings during it {len(pinged)}, slowest "
          f"{max(pinged) * 1000:.1f} ms; audio frames (start, end of the flood, later) " +
          ", ".join(f"{n} {marks[n]['audio']}, {after_marks[n]['audio']}, {p.received['audio']}" for n, p in
                    ((peer.client.name, peer) for peer in peers)), flush=True)
    print(f"    {name}: alice's receive_drops {drops_before} -> {drops_after}; transport {state}; "
          f"srtp_unprotect_failures_total +{metric_delta(metrics_before, metrics_after, 'partyline_srtp_unprotect_failures_total'):g}",
          flush=True)
    check(state == "secure", f"{name}: alice's transport is {state}, expected secure")
    check(not states, f"{name}: alice's PeerConnection changed state: {states}")
    check(len(pinged) >= 1, f"{name}: no ping during the flood")
    for client in [alice] + [peer.client for peer in peers]:
        line = last_occupants(client, line_id)
        check(all(o["state"] == "connected" for o in line["occupants"]) and len(line["occupants"]) == 2,
              f"{name}: {client.name}'s occupants changed: {line}")
    delta = {reason: drops_after.get(reason, 0) - drops_before.get(reason, 0) for reason in drops_after}
    return delta, metric_delta(metrics_before, metrics_after, "partyline_srtp_unprotect_failures_total")


async def garbage_datagrams(scenario):
    alice = await scenario.connect("alice.garbage")
    bob = await scenario.connect("bob.garbage")
    line = await alice.request("create_line")
    line_id = line["line_id"]
    alice_peer = scenario.peer(alice, audio=True)
    bob_peer = scenario.peer(bob, audio=True)
    since = len(alice.events)
    await alice_peer.join(line_id)
    answer = next(e for e in alice.events[since:] if e.get("event") == "accepted" and "jsep" in e)["jsep"]["sdp"]
    await bob_peer.join(line_id, token=line["token"])
    sessions = [session_of(alice), session_of(bob)]
    for client in (alice, bob):
        await wait_occupants(client, line_id, sessions, timeout=15.0, state="connected")
    peers = [alice_peer, bob_peer]
    for peer in peers:
        check(await peer.wait_received("audio", MEDIA_FRAMES, 15.0), f"{peer.client.name}: no audio {peer.received}")

    server_port = server_host_port(answer)
    transport = (await admin_json(f"/admin/v1/sessions/{session_of(alice)}"))["transport"]
    selected = transport["selected_pair"]
    check(candidate_port(selected["local"]) == server_port,
          f"the answer's host port {server_port} is not the selected pair's {selected}")
    alice_port = candidate_port(selected["remote"])
    server_ufrag = re.search(r"a=ice-ufrag:(\S+)", answer).group(1)
    client_ufrag = re.search(r"a=ice-ufrag:(\S+)", alice_peer.pc.localDescription.sdp).group(1)
    print(f"    alice: 127.0.0.1:{alice_port} -> server 127.0.0.1:{server_port}", flush=True)

    replayed = await asyncio.to_thread(capture, alice_port, server_port, CAPTURED, 10.0)
    check(len(replayed) == CAPTURED, f"captured only {len(replayed)} of alice's datagrams")
    check(all(kind_of(d) in ("rtp", "rtcp") for d in replayed), "captured something other than SRTP/SRTCP")
    rng = random.Random(SEED)
    sets = garbage_sets(rng, f"{server_ufrag}:{client_ufrag}", replayed)
    kinds = {}
    for datagrams in sets.values():
        for datagram in datagrams:
            kinds[kind_of(datagram)] = kinds.get(kind_of(datagram), 0) + 1
    print(f"    each round: {sum(kinds.values())} datagrams by first byte: {kinds}", flush=True)

    unknown_source = Sender(server_port)
    try:
        delta, unprotect = await flood("from an unknown source", unknown_source, sets, alice, peers, line_id,
                                       session_of(alice))
    finally:
        unknown_source.close()
    check(all(value == 0 for value in delta.values()),
          f"datagrams from an unvalidated source reached alice's transport: {delta}")

    forged = Sender(server_port, forged_from=alice_port)
    try:
        delta, unprotect = await flood("forged from alice's address", forged, sets, alice, peers, line_id,
                                       session_of(alice))
    finally:
        forged.close()
    media = kinds.get("rtp", 0) + kinds.get("rtcp", 0)
    check(delta.get("srtp_unprotect_failed") == media and unprotect == media,
          f"{media} forged or replayed RTP/RTCP datagrams: srtp_unprotect_failed +{delta.get('srtp_unprotect_failed')}"
          f", partyline_srtp_unprotect_failures_total +{unprotect:g}")
    # STUN-class datagrams (first byte 0-3) that are not STUN at all libnice
    # hands on, and partyline counts them as of unknown kind too; real STUN
    # (the bad-integrity requests) stays inside libnice, uncounted.
    unknown, stun = kinds.get("unknown", 0), kinds.get("stun", 0)
    check(unknown <= delta.get("unknown_kind", 0) <= unknown + stun - len(sets["stun_bad_integrity"]),
          f"{unknown} datagrams of no known kind and {stun} in STUN's range: unknown_kind +{delta.get('unknown_kind')}")
    check(delta.get("dtls_before_offer") == 0 and delta.get("media_before_keys") == 0,
          f"drops counted for reasons that do not apply: {delta}")
    # DTLS records of garbage are discarded by GnuTLS (or, not whole, by
    # DtlsTransport::receive) without a counter: only the unchanged state
    # above shows them harmless.
    await alice.request("ping")
    await bob.request("ping")


if __name__ == "__main__":
    sys.exit(run_scenarios([garbage_datagrams], "garbage datagrams to a live port", timeout_s=120.0))
