#!/usr/bin/python3
# e2e-test: faults_media
"""E2E: participants that fail mid-call (issue 14, "Fault tests"), with
aiortc peers in a line (faults_media.json: keepalive 1 s, ice.setup_timeout_ms
3000). Each scenario measures the server's open descriptors, threads and
RSS (faults_helpers.ServerResources) and checks they come back.

- sigkill_occupant: three occupants with media; the third, a child
  process, is killed with SIGKILL. The other two get `occupants` without it
  within CONSENT_MAX_S (15 s: today its WebSocket's close removes it at
  once; with session resume, consent freshness does, 10 s after its last
  consent answer) and a server `update` offer in which none of its streams
  is still sent (their m-lines `inactive`), which they answer; their media
  keeps flowing (each receives >= 50 audio frames after the removal).
  The /metrics gauges `partyline_sessions`, `partyline_occupants` and
  `partyline_forwarding_legs` are back where they were;
  descriptors and threads equal, RSS within 10 % or 4 MiB of, what they
  were before the victim joined (after a warm-up occupant joined and left:
  the first PeerConnection's end starts GLib's worker thread `gmain`,
  with an eventfd, once for the server's life; its server port free again,
  but in single-port mode, where the port is everyone's).

- dtls_never_completes: an occupant whose ICE connects but which never
  starts its DTLS handshake (aiortc's RTCDtlsTransport.start held for
  ever): `webrtc_state` `connected` (ICE) and then `failed` with "connection
  set-up timed out ... (DTLS handshake unfinished)" no earlier than 3 s
  after its join and within 13 s; it leaves the other occupant's
  `occupants`; /metrics counts it (`partyline_transport_setup_timeouts_total`
  and `partyline_transport_failures_total{layer="dtls"}` one more each, the
  ICE layer none); its session still answers a ping; the server's
  resources are back to what they were with its WebSocket open and no
  PeerConnection.

- sigstop_past_keepalive: a child occupant stopped (SIGSTOP) for longer
  than twice the keepalive interval: the others get `occupants` without it
  within stop_removal_max_s() (15 s; with a resume grace period, the
  keepalive close + the grace + 5 s if that is later) (today the missed keepalive closes its
  WebSocket with 4002 after 2 s and it leaves at once; with resume, the
  session survives the close and consent freshness removes the occupant);
  the server logged closing it with 4002; the others' media keeps flowing.
  Continued (SIGCONT), the client finds its WebSocket closed with 4002,
  connects again, joins the line again and is secure; the others see it.

`faults_media.py SCENARIO...` runs only those.
"""

import asyncio
import os
import signal
import sys
import time

import aiortc.rtcdtlstransport

from faults_helpers import (ChildOccupant, media_line, admin_json, back_to_baseline, m_sections, metric_delta, metrics,
                            run_child_occupant, server_host_port, server_resources, udp_port_is_free)
from lines_helpers import (EVENT_DEADLINE_S, check, last_occupants, run_scenarios, session_of, wait_occupants)

SCRIPT = os.path.abspath(__file__)
SERVER_LOG = os.environ.get("PARTYLINE_SERVER_LOG")
# faults_media.json
KEEPALIVE_INTERVAL_S = 1.0
SETUP_TIMEOUT_S = 3.0
# consent_freshness.py: libnice drops a peer 10 s after its last consent
# response, checks at most 6 s apart; +5 s for the news to reach the line.
CONSENT_MAX_S = 15.0
# A stopped client: the keepalive close (2 intervals, checked 8 times per
# interval, then up to 2 s for the close handshake) or, with session resume
# (issue 14), consent freshness or the end of `signaling.resume_grace_ms`
# after that close, whichever removes it first. The bound is the later of
# the two, so that it holds whichever the server does.
CLOSE_HANDSHAKE_S = 2.0


async def stop_removal_max_s():
    """The bound above, with the server's grace period as /admin/v1/info
    shows its configuration (0 while the setting does not exist)."""
    info = await admin_json("/admin/v1/info")
    grace_s = ((info.get("config") or {}).get("signaling") or {}).get("resume_grace_ms", 0) / 1000
    keepalive_close_s = 2 * KEEPALIVE_INTERVAL_S * 9 / 8 + CLOSE_HANDSHAKE_S
    return max(CONSENT_MAX_S, keepalive_close_s + grace_s + 5.0), grace_s
# /metrics gauges that must be back where they were after a participant left.
GAUGES = ("partyline_sessions", "partyline_occupants", "partyline_forwarding_legs")
MEDIA_FRAMES = 50  # audio frames (20 ms each) that must arrive after a fault


async def updates_answered(peers, timeout=EVENT_DEADLINE_S):
    """Waits until every peer answered every server offer it received."""
    def offers(peer):
        return sum(1 for e in peer.client.events
                   if e.get("event") == "update" and (e.get("jsep") or {}).get("type") == "offer")
    deadline = time.monotonic() + timeout
    while any(peer.updates_answered < offers(peer) for peer in peers):
        check(time.monotonic() < deadline, "server offers still unanswered: " + ", ".join(
            f"{p.client.name} {p.updates_answered} of {offers(p)}" for p in peers))
        await asyncio.sleep(0.05)
    for peer in peers:
        await peer.settle()


async def warm_up(scenario, line_id, token, peers=()):
    """One occupant with media joins and leaves first, so that what the
    server creates once, on its first PeerConnection's end (GLib's worker
    thread `gmain` and its eventfd), is in the baseline, not counted as a
    leak of the participant measured. Returns once the server let go of
    it: its session gone from the admin API, its server port free."""
    client = await scenario.connect("warm-up")
    peer = scenario.peer(client, audio=True)
    since = len(client.events)
    await peer.join(line_id, token=token)
    answer = next(e for e in client.events[since:] if e.get("event") == "accepted" and "jsep" in e)["jsep"]["sdp"]
    secure = await client.wait_for_event(
        lambda e: e.get("event") == "webrtc_state" and e.get("state") == "secure", 15.0)
    check(secure is not None, "the warm-up occupant did not connect")
    if peers:  # it receives the others: their streams come in a server offer
        offer = await client.wait_for_event(lambda e: e.get("event") == "update", EVENT_DEADLINE_S)
        check(offer is not None, "the warm-up occupant got no server offer with the others' streams")
    await updates_answered([peer])
    # No further offer is answered: none is half-answered when it leaves.
    client.off_event(peer._on_event)
    await peer.settle()
    session = session_of(client)
    marks = [len(peer.client.events) for peer in peers]
    await client.request("leave", line_id=line_id)
    await client.close()
    # The others stop receiving it (their offers answered, the legs gone).
    for peer, mark in zip(peers, marks):
        got = await peer.client.wait_until(lambda: update_without(peer.client, mark, session), EVENT_DEADLINE_S)
        check(got is not None, f"{peer.client.name}: no server offer without the warm-up occupant's stream")
    await updates_answered(peers)
    port = server_host_port(answer)
    # In single-port mode (the answer says a=ice-lite, run_e2e.sh
    # --single-port) that port is the one every participant shares: it stays
    # open by design, and only the session must go.
    shared_port = "\na=ice-lite" in answer
    deadline = time.monotonic() + 5.0
    while True:
        listed = [s["session"] for s in (await admin_json("/admin/v1/sessions"))["sessions"]]
        if session not in listed and (shared_port or udp_port_is_free(port)):
            return
        check(time.monotonic() < deadline, f"the warm-up occupant's session or port {port} still held after 5 s")
        await asyncio.sleep(0.05)


async def media_keeps_flowing(peers, what, frames=MEDIA_FRAMES, timeout=10.0):
    before = {peer.client.name: dict(peer.received) for peer in peers}
    for peer in peers:
        wanted = before[peer.client.name]["audio"] + frames
        check(await peer.wait_received("audio", wanted, timeout),
              f"{what}: {peer.client.name} received {peer.received['audio'] - before[peer.client.name]['audio']} "
              f"audio frames in {timeout:g} s, expected {frames}")
    figures = ", ".join(f"{peer.client.name} {before[peer.client.name]['audio']} -> {peer.received['audio']}"
                        for peer in peers)
    print(f"    {what}: audio frames {figures}", flush=True)


def update_without(client, since, session):
    """The first server `update` offer after event `since` in which no
    m-line still sends a stream of `session`."""
    for event in client.events[since:]:
        if event.get("event") != "update" or (event.get("jsep") or {}).get("type") != "offer":
            continue
        sections = m_sections(event["jsep"]["sdp"])
        if not any(s["msid"] == session and s["direction"] != "inactive" and s["port"] != 0 for s in sections):
            return sections
    return None


async def sigkill_occupant(scenario):
    line_id, token, clients, peers = await media_line(scenario, ["alice.kill", "bob.kill"])
    await warm_up(scenario, line_id, token, peers)
    for client in clients:
        await wait_occupants(client, line_id, [session_of(c) for c in clients], state="connected")
    baseline = server_resources()
    gauges_before = {name: value for name, value in (await metrics()).items() if name in GAUGES}
    victim = ChildOccupant(SCRIPT, "victim.kill", line_id, token)
    try:
        victim_session = await victim.wait_secure()
        everyone = [session_of(c) for c in clients] + [victim_session]
        for client in clients:
            await wait_occupants(client, line_id, everyone, timeout=15.0, state="connected")
        # The others receive its stream (a server offer added it).
        for client in clients:
            got = await client.wait_for_event(lambda e: e.get("event") == "update" and any(
                s["msid"] == victim_session and s["direction"] == "sendonly"
                for s in m_sections(e["jsep"]["sdp"])), EVENT_DEADLINE_S)
            check(got is not None, f"{client.name}: no server offer with the victim's streams")
        with_victim = server_resources()
        marks = [len(client.events) for client in clients]
        killed_at = time.monotonic()
        victim.signal(signal.SIGKILL)
        for client in clients:
            await wait_occupants(client, line_id, [session_of(c) for c in clients], timeout=CONSENT_MAX_S)
        removed_s = time.monotonic() - killed_at
        print(f"    the killed occupant left both others' occupants {removed_s:.2f} s after SIGKILL "
              f"(bound {CONSENT_MAX_S:g} s)", flush=True)
        for client, mark in zip(clients, marks):
            sections = await client.wait_until(lambda: update_without(client, mark, victim_session), EVENT_DEADLINE_S)
            check(sections is not None, f"{client.name}: no server update offer without the victim's streams "
                                        f"after its removal; events: {client.events[mark:]}")
            inactive = [s for s in sections if s["direction"] == "inactive" or s["port"] == 0]
            check(len(inactive) >= 2, f"{client.name}: the victim's audio and video m-lines should be inactive: "
                                      f"{sections}")
        for peer in peers:
            await peer.settle()
        await media_keeps_flowing(peers, "after the SIGKILL")
        for client in clients:
            line = last_occupants(client, line_id)
            check(all(o["state"] == "connected" for o in line["occupants"]), f"{client.name}: {line}")
        print(f"    with the victim: {with_victim}", flush=True)
        # With session resume, the killed session itself may outlive its
        # occupancy until the grace period ends.
        _, grace_s = await stop_removal_max_s()
        await back_to_baseline(baseline, "after the killed occupant left", timeout=10.0 + grace_s)
        await updates_answered(peers)
        deadline = time.monotonic() + 5.0 + grace_s
        while True:
            gauges_after = {name: value for name, value in (await metrics()).items() if name in GAUGES}
            if gauges_after == gauges_before or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        print(f"    /metrics gauges before the victim {gauges_before}, after {gauges_after}", flush=True)
        check(gauges_after == gauges_before, f"gauges not back: {gauges_before} -> {gauges_after}")
    finally:
        victim.kill()


STALLED = set()  # ids of RTCDtlsTransports whose start() never runs
_original_dtls_start = aiortc.rtcdtlstransport.RTCDtlsTransport.start


async def _dtls_start(self, remoteParameters):
    if id(self) in STALLED:
        await asyncio.Event().wait()  # never: no ClientHello, no answer to one
    return await _original_dtls_start(self, remoteParameters)


aiortc.rtcdtlstransport.RTCDtlsTransport.start = _dtls_start


async def dtls_never_completes(scenario):
    line_id, token, clients, peers = await media_line(scenario, ["alice.dtls", "bob.dtls"])
    await warm_up(scenario, line_id, token, peers)
    stalled_client = await scenario.connect("stalled.dtls")
    await stalled_client.request("ping")
    baseline = server_resources()  # its WebSocket open, no PeerConnection
    counted_before = await metrics()
    stalled = scenario.peer(stalled_client, audio=True)
    for transceiver in stalled.pc.getTransceivers():
        STALLED.add(id(transceiver.sender.transport))
    joined_at = time.monotonic()
    await stalled.join(line_id, token=token)
    failed = await stalled_client.wait_for_event(
        lambda e: e.get("event") == "webrtc_state" and e.get("state") == "failed", SETUP_TIMEOUT_S + 10.0)
    failed_s = time.monotonic() - joined_at
    states = [e.get("state") for e in stalled_client.events if e.get("event") == "webrtc_state"]
    check(failed is not None, f"the stalled occupant's PeerConnection did not fail; states {states}")
    print(f"    states {states}; {failed.get('reason')!r} {failed_s:.2f} s after the join", flush=True)
    check("connected" in states and states.index("connected") < states.index("failed"),
          f"ICE should have connected before the failure (DTLS is what stalls): states {states}")
    check("secure" not in states, f"the stalled PeerConnection became secure: {states}")
    check("connection set-up timed out" in failed.get("reason", "") and "DTLS handshake unfinished" in failed["reason"],
          f"failed for another reason: {failed}")
    check(failed_s >= SETUP_TIMEOUT_S - 0.5, f"failed {failed_s:.2f} s after the join, before the set-up deadline")
    for client in clients:
        await wait_occupants(client, line_id, [session_of(c) for c in clients], timeout=5.0, state="connected")
    counted = await metrics()
    timeouts = metric_delta(counted_before, counted, "partyline_transport_setup_timeouts_total")
    dtls_failures = metric_delta(counted_before, counted, 'partyline_transport_failures_total{layer="dtls"}')
    ice_failures = metric_delta(counted_before, counted, 'partyline_transport_failures_total{layer="ice"}')
    print(f"    /metrics: setup_timeouts +{timeouts:g}, transport_failures dtls +{dtls_failures:g}, "
          f"ice +{ice_failures:g}", flush=True)
    check(timeouts == 1 and dtls_failures == 1 and ice_failures == 0,
          f"/metrics should count one set-up timeout in the DTLS layer: setup_timeouts +{timeouts:g}, "
          f"dtls +{dtls_failures:g}, ice +{ice_failures:g}")
    await stalled_client.request("ping")
    check(not stalled_client.closed.is_set(), "the stalled client's WebSocket was closed; only its media failed")
    session = await admin_json(f"/admin/v1/sessions/{session_of(stalled_client)}")
    check(session.get("line_id") is None, f"the admin API still has the stalled session in a line: {session}")
    await media_keeps_flowing(peers, "after the DTLS set-up timeout")
    await back_to_baseline(baseline, "after the DTLS set-up timeout")


def server_log_has(*needles):
    """A line of the server's log has every one of `needles`."""
    with open(SERVER_LOG, errors="replace") as log:
        return any(all(needle in line for needle in needles) for line in log)


async def sigstop_past_keepalive(scenario):
    line_id, token, clients, peers = await media_line(scenario, ["alice.stop", "bob.stop"])
    child = ChildOccupant(SCRIPT, "sleeper.stop", line_id, token)
    try:
        sleeper = await child.wait_secure()
        everyone = [session_of(c) for c in clients] + [sleeper]
        for client in clients:
            await wait_occupants(client, line_id, everyone, timeout=15.0, state="connected")
        removal_max_s, grace_s = await stop_removal_max_s()
        stopped_at = time.monotonic()
        child.signal(signal.SIGSTOP)
        for client in clients:
            await wait_occupants(client, line_id, [session_of(c) for c in clients],
                                 timeout=removal_max_s - (time.monotonic() - stopped_at))
        removed_s = time.monotonic() - stopped_at
        print(f"    the stopped occupant left the others' occupants {removed_s:.2f} s after SIGSTOP "
              f"(keepalive close due after {2 * KEEPALIVE_INTERVAL_S:g} s; resume grace {grace_s:g} s; "
              f"bound {removal_max_s:g} s)", flush=True)
        # The server closed it (its log), not the client: it is still stopped.
        closing = (f"session={sleeper[:8]}", "closing the connection (4002")
        logged = await clients[0].wait_until(lambda: True if server_log_has(*closing) else None, 5.0)
        check(logged, f"the server's log has no line with {closing} for the stopped client")
        await media_keeps_flowing(peers, "with the occupant stopped")
        stopped_s = time.monotonic() - stopped_at
        check(stopped_s > 2 * KEEPALIVE_INTERVAL_S, f"stopped only {stopped_s:.1f} s")
        child.signal(signal.SIGCONT)
        report = await child.command("report")
        print(f"    stopped for {stopped_s:.1f} s; continued, the client found: {report}", flush=True)
        check(report["closed"] and report["close_code"] == 4002,
              f"the continued client's WebSocket should have been closed with 4002: {report}")
        again = await child.command("reconnect", timeout=30.0)
        check(again.get("secure") and again.get("session") not in everyone,
              f"the continued client could not connect and join again: {again}")
        for client in clients:
            await wait_occupants(client, line_id, [session_of(c) for c in clients] + [again["session"]],
                                 timeout=15.0, state="connected")
        await media_keeps_flowing(peers, "after the stopped client joined again")
        print(f"    it joined again as {again['session']}", flush=True)
    finally:
        child.kill()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--occupant"]:
        from aiortc_peer import configure_logging, use_loopback_only
        configure_logging()
        use_loopback_only()
        sys.exit(asyncio.run(run_child_occupant(*sys.argv[2:5])))
    sys.exit(run_scenarios([sigkill_occupant, dtls_never_completes, sigstop_past_keepalive],
                           "faults in a line's media", timeout_s=90.0))
