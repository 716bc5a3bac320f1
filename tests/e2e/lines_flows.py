#!/usr/bin/python3
# e2e-test: lines_flows
"""E2E: the call flows of docs/protocol.md beyond join-with-media, with real
WebSocket clients and aiortc peers: signaling-only occupants (`join`
without `jsep`, `"media": "none"`) that add media later with an `update`
offer of their own; `signal` relayed to one occupant; `ready`; the
`presence` event and `get_line`'s `members`; glare between a server offer
and a client offer, in both orders; and regression tests of three defects
(`hangup`/`leave` while a `join` negotiates, the `sdpMid` of server
candidates, `invite` to a user who blocked the caller).

Run through run_e2e.sh with flows.json (lines.json's limits plus
`limits.max_signal_bytes` 1024). `lines_flows.py SCENARIO...` runs only
those.
"""

import asyncio
import re
import sys
import time

from aiortc import RTCSessionDescription

from lines_helpers import (EVENT_DEADLINE_S, MAX_OCCUPANTS_PER_LINE, REQUEST_BURST, REQUESTS_PER_SECOND, EventCursor,
                           TestFailure, barrier, check, check_occupant_media_form, expect_error, guest_id,
                           is_presence_event, join_without_media, last_occupants, session_of, wait_occupants)
from partyline_ws import RequestError, SignalingClient
from slow_turn import SlowTurnServer

MAX_SIGNAL_BYTES = 1024  # flows.json
OCCUPANTS_INTERVAL_S = 0.05  # lines.occupants_interval_ms, default
SETTLE_S = 15.0  # a media join reaches `connected` once its DTLS is done
# Audio frames (20 ms each) that prove a stream flows: one second of it.
AUDIO_FRAMES = 50


def occupant_of(line, client):
    return next((o for o in (line or {}).get("occupants", []) if o.get("session") == session_of(client)), None)


def sender(client):
    """An anonymous client as `from` shows it."""
    return {"user": guest_id(client.name), "name": client.name, "session": session_of(client)}


async def wait_entry(client, line_id, subject, predicate, what, timeout=SETTLE_S):
    """Waits until the client's last `occupants` event shows `subject`'s
    entry satisfying predicate; returns that entry."""

    def settled():
        entry = occupant_of(last_occupants(client, line_id), subject)
        return entry if entry is not None and predicate(entry) else None

    entry = await client.wait_until(settled, timeout)
    check(entry is not None, f"{client.name}: within {timeout:g} s, {subject.name}'s occupant entry should be {what}; "
                             f"last occupants event: {last_occupants(client, line_id)}")
    return entry


def first_update_after(client, since, predicate=lambda event: True):
    return next(((index, event) for index, event in enumerate(client.events)
                 if index >= since and event.get("event") == "update" and predicate(event)), (None, None))


# ---------------------------------------------------------------- signaling-only occupants

async def signaling_only(scenario):
    alice, bob, carol, dave = [await scenario.connect(f"{name}.so") for name in ("alice", "bob", "carol", "dave")]
    line = await alice.request("create_line")
    line_id, token = line["line_id"], line["token"]
    alice_peer = scenario.peer(alice, audio=True)
    await alice_peer.join(line_id)

    bob_since = len(bob.events)
    await join_without_media(bob, line_id, token=token)
    both = [session_of(alice), session_of(bob)]
    for client in (alice, bob):
        settled = await wait_occupants(client, line_id, both, timeout=SETTLE_S, state="connected")
        check_occupant_media_form(occupant_of(settled, alice), client.name, "server")
        bob_entry = occupant_of(settled, bob)
        check_occupant_media_form(bob_entry, client.name, "none")
        check(bob_entry["publishing"] == {"audio": False, "video": False},
              f"{client.name}: a signaling-only occupant publishes nothing: {bob_entry}")
        got = (await client.request("get_line", line_id=line_id))["line"]
        check(got == last_occupants(client, line_id), f"{client.name}: get_line {got} != last occupants event")
    await barrier(bob)
    unexpected = [e for e in bob.events[bob_since:] if e.get("event") in ("accepted", "update", "ice_candidate",
                                                                         "webrtc_state")]
    check(not unexpected, f"bob joined without jsep: no accepted/update/ice/webrtc events expected, got {unexpected}")

    # Signaling-only occupants count: the third fills the line.
    await join_without_media(carol, line_id, token=token)
    three = both + [session_of(carol)]
    await wait_occupants(alice, line_id, three, state="connected")
    dave_peer = scenario.peer(dave)
    await expect_error(dave.request("join", line_id=line_id, token=token, jsep=await dave_peer.offer()), 503)
    await expect_error(dave.request("join", line_id=line_id, token=token), 503)
    print(f"    line full at {MAX_OCCUPANTS_PER_LINE} with 2 signaling-only occupants: join with and without jsep 503")

    # Messages reach a signaling-only occupant.
    bob_messages = EventCursor(bob, accept=lambda e: e.get("event") == "message")
    sent = await alice.request("message", line_id=line_id, to=guest_id("bob.so"), data={"text": "to bob"})
    check(sent.get("delivered") == 1, f"message to bob: delivered {sent}")
    event = await bob_messages.expect("message", line_id=line_id, data={"text": "to bob"})
    check(event.get("from") == sender(alice), f"message from alice: {event}")
    sent = await carol.request("message", line_id=line_id, data={"text": "to all"})
    check(sent.get("delivered") == 2, f"carol's message to every other occupant (2): {sent}")
    event = await bob_messages.expect("message", line_id=line_id, data={"text": "to all"})
    check(event.get("from") == sender(carol), f"message from carol: {event}")
    await carol.request("leave", line_id=line_id)
    await wait_occupants(alice, line_id, both)

    # bob adds media with an `update` offer of his own.
    bob_peer = scenario.peer(bob, audio=True)
    alice_since = len(alice.events)
    started = time.monotonic()
    _, response = await bob_peer.client_update()
    answered_s = time.monotonic() - started
    entry = await wait_entry(alice, line_id, bob, lambda o: o.get("media") == "server", "media 'server'")
    check(entry["publishing"]["audio"] is True, f"bob publishes audio after his offer: {entry}")
    await wait_entry(alice, line_id, bob, lambda o: o.get("media") == "server" and o.get("state") == "connected",
                     "media 'server' and connected")
    await wait_entry(bob, line_id, bob, lambda o: o.get("media") == "server" and o.get("state") == "connected",
                     "media 'server' and connected (bob's own view)")
    states = [occupant_of(e["line"], bob).get("state") + "/" + str(occupant_of(e["line"], bob).get("media"))
              for e in alice.events[alice_since:] if e.get("event") == "occupants" and occupant_of(e["line"], bob)]
    print(f"    bob's update offer answered in {answered_s * 1000:.0f} ms; his entry in alice's occupants: {states}")

    # alice gets a server offer carrying bob's stream, and hears him.
    msid = f"a=msid:{session_of(bob)} "
    update = await alice.wait_for_event(
        lambda e: e.get("event") == "update" and msid in (e.get("jsep") or {}).get("sdp", ""),
        EVENT_DEADLINE_S, since=alice_since)
    check(update is not None, f"alice: no server update offer with {msid.strip()} after bob added media")
    heard = await alice_peer.wait_received("audio", AUDIO_FRAMES, 15.0)
    print(f"    alice received {alice_peer.received['audio']} audio frames (bob the only publisher besides her)")
    check(heard, f"alice received only {alice_peer.received['audio']} audio frames of bob within 15 s")
    # And bob, now with media, receives alice's stream through server offers.
    alice_msid = f"a=msid:{session_of(alice)} "
    offer = await bob.wait_for_event(
        lambda e: e.get("event") == "update" and alice_msid in (e.get("jsep") or {}).get("sdp", ""),
        EVENT_DEADLINE_S, since=0)
    check(offer is not None, f"bob: no server update offer with {alice_msid.strip()} after he added media")
    heard = await bob_peer.wait_received("audio", AUDIO_FRAMES, 15.0)
    print(f"    bob received {bob_peer.received['audio']} audio frames of alice")
    check(heard, f"bob received only {bob_peer.received['audio']} audio frames of alice within 15 s")


# ---------------------------------------------------------------- signal

async def signal_relay(scenario):
    alice, bob, carol, dave, eve = [await scenario.connect(f"{name}.sg")
                                    for name in ("alice", "bob", "carol", "dave", "eve")]
    line = await alice.request("create_line")
    line_id, token = line["line_id"], line["token"]
    for client in (alice, bob, carol):
        await join_without_media(client, line_id, token=token)
    other = await dave.request("create_line")
    await join_without_media(dave, other["line_id"])
    await wait_occupants(alice, line_id, [session_of(c) for c in (alice, bob, carol)])
    signals = {c.name: EventCursor(c, accept=lambda e: e.get("event") == "signal") for c in (alice, bob, carol, dave)}

    forged = {"user": "carol.sg", "name": "Carol", "session": session_of(carol)}
    data = {"type": "offer", "sdp": "v=0\r\n", "from": forged}
    response = await alice.request("signal", line_id=line_id, to_session=session_of(bob), data=data)
    extra = set(response) - {"response", "transaction", "request", "to"}
    check(not extra and response.get("to") == sender(bob),
          f"signal: the response should name the recipient {sender(bob)} and nothing else, got {response}")
    event = await signals["bob.sg"].expect("signal", line_id=line_id, data=data)
    check(event.get("from") == sender(alice), f"signal 'from' must be the real sender {sender(alice)}, got {event}")
    # Any JSON value, carried as it is.
    for value in ([1, "two", None], "text", 3.5):
        await alice.request("signal", line_id=line_id, to_session=session_of(carol), data=value)
        await signals["carol.sg"].expect("signal", line_id=line_id, data=value, **{"from": sender(alice)})
    await barrier(alice, bob, carol, dave)
    for name in ("alice.sg", "bob.sg", "carol.sg", "dave.sg"):
        await signals[name].expect_quiet(0.1)  # to exactly the named session

    # 400: missing fields, or to oneself.
    full = {"line_id": line_id, "to_session": session_of(bob), "data": {"x": 1}}
    for missing in ("to_session", "data"):
        fields = {k: v for k, v in full.items() if k != missing}
        await expect_error(alice.request("signal", **fields), 400, mentions=missing)
    # Without line_id: the line the sender occupies (403 when it occupies none).
    await alice.request("signal", to_session=session_of(bob), data={"no": "line_id"})
    await signals["bob.sg"].expect("signal", line_id=line_id, data={"no": "line_id"}, **{"from": sender(alice)})
    await expect_error(eve.request("signal", to_session=session_of(bob), data={}), 403, mentions="not in a line")
    await expect_error(alice.request("signal", line_id=line_id, to_session=session_of(alice), data={}), 400)
    # 403: the sender does not occupy the line (dave is in another, eve in none).
    await expect_error(dave.request("signal", line_id=line_id, to_session=session_of(bob), data={}), 403)
    await expect_error(eve.request("signal", line_id=line_id, to_session=session_of(bob), data={}), 403)
    # 404: the recipient is in another line, or no session at all.
    await expect_error(alice.request("signal", line_id=line_id, to_session=session_of(dave), data={}), 404)
    await expect_error(alice.request("signal", line_id=line_id, to_session=session_of(eve), data={}), 404)
    await expect_error(alice.request("signal", line_id=line_id,
                                     to_session="00000000-0000-4000-8000-000000000000", data={}), 404)
    print("    plugin occupant as to_session (404): not tested, no plugin loaded by this test's server")
    # 413: data over limits.max_signal_bytes serialized.
    fits = "x" * (MAX_SIGNAL_BYTES - 100)
    await alice.request("signal", line_id=line_id, to_session=session_of(bob), data={"blob": fits})
    await signals["bob.sg"].expect("signal", data={"blob": fits})
    await expect_error(alice.request("signal", line_id=line_id, to_session=session_of(bob),
                                     data={"blob": "x" * (MAX_SIGNAL_BYTES + 1)}), 413)
    await barrier(bob, dave)
    for name in ("bob.sg", "dave.sg"):
        await signals[name].expect_quiet(0.1)  # nothing refused was relayed

    # 429: a burst beyond limits.request_burst.
    count = REQUEST_BURST + 60
    started = time.monotonic()
    sent = await carol.send_together(*[("signal", {"line_id": line_id, "to_session": session_of(bob),
                                                   "data": {"n": n}}) for n in range(count)])
    responses = await asyncio.wait_for(asyncio.gather(*[future for _, future in sent]), 15)
    elapsed = time.monotonic() - started
    ok = [n for n, r in enumerate(responses) if r.get("response") == "success"]
    limited = [r for r in responses if r.get("response") == "error" and r.get("code") == 429]
    others = [r for r in responses if r.get("response") != "success" and r.get("code") != 429]
    allowed = REQUEST_BURST + REQUESTS_PER_SECOND * elapsed
    print(f"    {count} signals in one write: {len(ok)} relayed, {len(limited)} got 429 in {elapsed * 1000:.0f} ms; "
          f"reason '{limited[0].get('reason') if limited else None}'")
    check(not others, f"burst: responses other than success or 429: {others[:3]}")
    check(limited, f"burst of {count} signals: none got 429 (burst {REQUEST_BURST})")
    check(REQUEST_BURST - 5 <= len(ok) <= allowed + 1, f"burst: {len(ok)} relayed; the limit allows {allowed:.0f}")
    check(all("rate limited" in (r.get("reason") or "") for r in limited), f"burst: 429 reasons {limited[:2]}")
    for n in ok:  # the relayed ones arrive, in order, and only those
        await signals["bob.sg"].expect("signal", data={"n": n}, **{"from": sender(carol)})
    await barrier(bob)  # carol's bucket is empty: her responses all came, so her relayed signals went out before
    await signals["bob.sg"].expect_quiet(0.1)


# ---------------------------------------------------------------- ready

async def ready(scenario):
    names = ("alice.rd", "bob.rd", "bob.rd", "carol.rd")
    alice, bob, bob_other, carol = [await scenario.connect(name) for name in names]
    alice_events = EventCursor(alice, accept=lambda e: e.get("event") == "ready")
    line = await alice.request("create_line")
    line_id = line["line_id"]
    call = await alice.request("invite", line_id=line_id, user=guest_id("bob.rd"))
    call_id = call["call_id"]
    # Before anyone accepted: 404 (never accepted).
    await expect_error(bob.request("ready", call_id=call_id, ready=True), 404)
    await bob.request("accept", call_id=call_id)

    reason = "camera unavailable"
    await bob.request("ready", call_id=call_id, ready=False, reason=reason)
    event = await alice_events.expect("ready", call_id=call_id, line_id=line_id, ready=False, reason=reason)
    check(event.get("from") == sender(bob), f"ready 'from' should be bob's accepting session {sender(bob)}: {event}")
    await bob.request("ready", call_id=call_id, ready=True)
    event = await alice_events.expect("ready", call_id=call_id, line_id=line_id, ready=True)
    check(event.get("from") == sender(bob) and "reason" not in event, f"ready true without a reason: {event}")
    # Only the session that accepted: not bob's other session, not the caller.
    await expect_error(bob_other.request("ready", call_id=call_id, ready=True), 403)
    await expect_error(alice.request("ready", call_id=call_id, ready=True), 403)
    await expect_error(carol.request("ready", call_id=call_id, ready=True), 403)
    await expect_error(bob.request("ready", call_id="00000000-0000-4000-8000-000000000000", ready=True), 404)
    await barrier(alice)
    await alice_events.expect_quiet()
    # The caller gone: 404.
    await alice.close()
    await check_eventually_404(bob, call_id)


async def check_eventually_404(bob, call_id):
    """After the caller's socket closed, `ready` gets 404 (the server sees
    the close a moment later: the first answers may still be successes)."""
    deadline = time.monotonic() + EVENT_DEADLINE_S
    while True:
        try:
            await bob.request("ready", call_id=call_id, ready=False)
        except RequestError as error:
            check(error.code == 404, f"ready after the caller left: expected 404, got {error.code} ({error.reason})")
            return
        check(time.monotonic() < deadline, "ready still succeeds 5 s after the caller's session closed")
        await bob.request("ping")


# ---------------------------------------------------------------- presence

def member(name, online, in_line):
    """The presence entry of the anonymous client `name`: a guest, whose
    name (and that it is a guest) show while it is online."""
    entry = {"user": guest_id(name), "online": online, "in_line": in_line}
    if online:
        entry["name"] = name
        entry["guest"] = True
    return entry


async def expect_presence(cursors, line_id, members, step):
    """Every cursor's next presence event is exactly `members`."""
    for cursor in cursors:
        event = await cursor.expect("presence", line_id=line_id)
        check(event.get("members") == members,
              f"{step}: {cursor.client.name}'s presence {event.get('members')} != expected {members}")


async def expect_members(clients, line_id, members, step):
    for client in clients:
        got = await client.request("get_line", line_id=line_id)
        check(got.get("members") == members, f"{step}: {client.name}'s get_line members {got.get('members')} "
                                             f"!= {members}")


async def quiet_after(cursors, step):
    """One presence event per change: nothing more once coalescing settles."""
    await barrier(*[cursor.client for cursor in cursors])
    for cursor in cursors:
        extra = await cursor.next(OCCUPANTS_INTERVAL_S * 4 + 0.1)
        check(extra is None, f"{step}: {cursor.client.name} got a further presence event {extra}")


async def presence(scenario):
    alice = await scenario.connect("alice.pr")
    bob = await scenario.connect("bob.pr")
    carol = await scenario.connect("carol.pr")

    def on_line(event):
        return is_presence_event(event) and event.get("line_id") == line_id

    line = await alice.request("create_line")
    line_id = line["line_id"]
    cursors = {c.name: EventCursor(c, accept=on_line) for c in (alice, bob, carol)}
    await join_without_media(alice, line_id)
    alone = [member("alice.pr", True, True)]
    check(await alice.wait_for_event(lambda e: on_line(e) and e.get("members") == alone, EVENT_DEADLINE_S),
          f"alice: no presence {alone} after she joined: {[e for e in alice.events if on_line(e)]}")
    # bob and carol become members by invitation, and decline.
    for invitee in (bob, carol):
        call = await alice.request("invite", line_id=line_id, user=guest_id(invitee.name))
        check(call.get("delivered") is True, f"invite {invitee.name}: {call}")
        await invitee.request("decline", call_id=call["call_id"])
    expected = [member("alice.pr", True, True), member("bob.pr", True, False), member("carol.pr", True, False)]
    await carol.wait_for_event(lambda e: on_line(e) and e.get("members") == expected, EVENT_DEADLINE_S)
    await carol.close()
    base = [member("alice.pr", True, True), member("bob.pr", True, False), member("carol.pr", False, False)]
    # Settle: the invitations made some events; what counts starts here.
    for client in (alice, bob):
        got = await client.wait_for_event(lambda e: on_line(e) and e.get("members") == base, EVENT_DEADLINE_S,
                                          since=cursors[client.name].index)
        check(got is not None, f"{client.name}: no presence {base} after carol disconnected; "
                               f"got {[e.get('members') for e in client.events if on_line(e)]}")
    await expect_members([alice, bob], line_id, base, "carol offline")
    watched = [EventCursor(c, accept=on_line) for c in (alice, bob)]
    await quiet_after(watched, "carol offline")

    # carol connects: presence right after the handshake, then occupants.
    carol = await scenario.connect("carol.pr")
    step = [member("alice.pr", True, True), member("bob.pr", True, False), member("carol.pr", True, False)]
    first = await carol.wait_until(lambda: carol.events[:2] if len(carol.events) >= 2 else None, EVENT_DEADLINE_S)
    check(first is not None and first[0].get("event") == "presence" and first[0].get("line_id") == line_id
          and first[0].get("members") == step,
          f"carol's first event after the handshake should be presence {step}, got {carol.events[:2]}")
    check(first[1].get("event") == "occupants" and first[1]["line"]["line_id"] == line_id
          and [o["session"] for o in first[1]["line"]["occupants"]] == [session_of(alice)],
          f"carol's second event should be occupants listing alice, got {first[1]}")
    await expect_presence(watched, line_id, step, "carol connected")
    carol_cursor = EventCursor(carol, accept=on_line, start=1)
    await expect_members([alice, bob, carol], line_id, step, "carol connected")
    await quiet_after(watched, "carol connected")
    repeats = carol_cursor.pending()
    check(all(e.get("members") == step for e in repeats), f"carol's further presence events differ: {repeats}")
    print(f"    carol's new session: presence + occupants first, then {len(repeats)} more presence event(s) "
          f"for her connecting")
    carol_cursor.index = len(carol.events)
    watched.append(carol_cursor)

    await join_without_media(carol, line_id)
    step = [member("alice.pr", True, True), member("bob.pr", True, False), member("carol.pr", True, True)]
    await expect_presence(watched, line_id, step, "carol joined")
    await expect_members([alice, bob, carol], line_id, step, "carol joined")
    await quiet_after(watched, "carol joined")

    await carol.request("leave", line_id=line_id)
    step = [member("alice.pr", True, True), member("bob.pr", True, False), member("carol.pr", True, False)]
    await expect_presence(watched, line_id, step, "carol left")
    await expect_members([alice, bob, carol], line_id, step, "carol left")
    await quiet_after(watched, "carol left")

    await carol.close()
    watched.pop()
    await expect_presence(watched, line_id, base, "carol disconnected")
    await expect_members([alice, bob], line_id, base, "carol disconnected")
    await quiet_after(watched, "carol disconnected")
    print("    presence: one event per change, get_line members equal, at each of 4 steps")


# ---------------------------------------------------------------- glare

def own_audio(peer):
    """aiortc's transceiver of the peer's own audio track."""
    return next(t for t in peer.pc.getTransceivers() if t.sender.track is not None and t.kind == "audio")


def stop_sending_audio(peer):
    """Sets the peer's own audio transceiver to recvonly (what a client
    offer then says: the publisher stops its audio); returns it."""
    transceiver = own_audio(peer)
    transceiver.direction = "recvonly"
    return transceiver


async def glare_server_offer_first(scenario):
    alice, bob = await scenario.connect("alice.gs"), await scenario.connect("bob.gs")
    line = await alice.request("create_line")
    line_id = line["line_id"]
    alice_peer = scenario.peer(alice, audio=True)
    await alice_peer.join(line_id)
    await wait_occupants(alice, line_id, [session_of(alice)], timeout=SETTLE_S, state="connected")
    alice_peer.hold_updates = True
    since = len(alice.events)
    await scenario.peer(bob, audio=True).join(line_id, token=line["token"])
    server_offer = await alice.wait_for_event(lambda e: e.get("event") == "update", EVENT_DEADLINE_S, since=since)
    check(server_offer is not None, "alice: no server update offer after bob joined")
    check(f"a=msid:{session_of(bob)} " in server_offer["jsep"]["sdp"], "alice's server offer lacks bob's stream")

    # A client offer while the server's awaits its answer: 409, nothing changes.
    transceiver = stop_sending_audio(alice_peer)
    offer = await alice_peer.pc.createOffer()  # not set: aiortc 1.4 cannot roll back
    transceiver.direction = "sendrecv"
    error = await expect_error(alice.request("update", jsep={"type": "offer", "sdp": offer.sdp}), 409)
    print(f"    client offer during the server's: 409 '{error.reason}'")
    await barrier(alice, bob)
    check(occupant_of(last_occupants(bob, line_id), alice)["publishing"]["audio"] is True,
          "the refused offer changed alice's publishing")
    # The client answers the server's offer, then offers again.
    answered = await alice_peer.answer_held()
    check(answered >= 1 and alice_peer.updates_answered == answered and not alice_peer.errors,
          f"alice answered {alice_peer.updates_answered} of {answered} held server offers: {alice_peer.errors}")
    stop_sending_audio(alice_peer)
    _, response = await alice_peer.client_update()
    print(f"    after answering {answered} server offer(s), the re-offer is answered "
          f"({len(response['jsep']['sdp'])} bytes of SDP)")
    entry = await wait_entry(bob, line_id, alice, lambda o: o["publishing"]["audio"] is False, "not publishing audio")
    check(entry["state"] == "connected", f"alice after her re-offer: {entry}")


async def glare_client_offer_first(scenario):
    alice, bob = await scenario.connect("alice.gc"), await scenario.connect("bob.gc")
    line = await alice.request("create_line")
    line_id = line["line_id"]
    alice_peer = scenario.peer(alice, audio=True)
    await alice_peer.join(line_id)
    # alice's offer and bob's leave are written at once, hers first: the
    # server mostly reads both before it has answered her offer, so the
    # leave changes her streams while her offer is out. When it read the
    # leave first, its own offer went out and hers got 409 (the other
    # order of glare); when it answered hers before reading the leave, the
    # change was not "meanwhile". Either way: bob joins again and again.
    for attempt in range(1, 6):
        if await client_offer_then_leave(scenario, alice, alice_peer, bob, line, attempt):
            return
    raise TestFailure("in 5 attempts bob's leave never reached the server while alice's offer was being answered")


async def client_offer_then_leave(scenario, alice, alice_peer, bob, line, attempt):
    """One attempt of glare_client_offer_first: True when the leave came
    while alice's offer was out and everything after it was right."""
    line_id = line["line_id"]
    bob_peer = scenario.peer(bob, audio=True)
    await bob_peer.join(line_id, token=line["token"])
    await wait_occupants(alice, line_id, [session_of(alice), session_of(bob)], timeout=SETTLE_S, state="connected")
    await wait_received_update(alice, alice_peer, session_of(bob))
    # No `occupants` event for an interval: the next one (bob leaving) goes
    # out as soon as the server handles the leave, not coalesced later, so
    # where it lands tells when the leave was handled.
    await EventCursor(alice, accept=lambda e: e.get("event") == "occupants").expect_quiet(OCCUPANTS_INTERVAL_S * 3)
    answered_before = alice_peer.updates_answered
    since = len(alice.events)
    transceiver = own_audio(alice_peer)
    direction = "recvonly" if transceiver.direction == "sendrecv" else "sendrecv"
    async with alice_peer.negotiating:  # a server offer waits until hers is done
        before, transceiver.direction = transceiver.direction, direction
        offer = await alice_peer.pc.createOffer()  # set only once answered: aiortc 1.4 cannot roll back
        transceiver.direction = before
        (transaction, future), (_, left) = SignalingClient.send_at_once(
            (alice, "update", {"jsep": {"type": "offer", "sdp": offer.sdp}}), (bob, "leave", {"line_id": line_id}))
        response = await asyncio.wait_for(future, 10)
        check((await asyncio.wait_for(left, 10)).get("response") == "success", f"bob's leave: {left.result()}")
        if response.get("response") == "success":
            transceiver.direction = direction
            await alice_peer.pc.setLocalDescription(offer)
            await alice_peer.pc.setRemoteDescription(RTCSessionDescription(sdp=response["jsep"]["sdp"], type="answer"))
    await bob_peer.close()
    if response.get("response") != "success":
        check(response.get("code") == 409, f"alice's offer: expected success or 409 (glare), got {response}")
        print(f"    attempt {attempt}: the leave was read first: the server offered, alice's offer got 409")
        await alice_peer.settle()
        return False
    position = alice.response_positions[transaction]
    await wait_occupants(alice, line_id, [session_of(alice)], timeout=EVENT_DEADLINE_S)
    without_bob = next((i for i, e in enumerate(alice.events) if i >= since and e.get("event") == "occupants"
                        and session_of(bob) not in [o["session"] for o in e["line"]["occupants"]]), None)
    update = await alice.wait_for_event(lambda e: e.get("event") == "update", EVENT_DEADLINE_S, since=since)
    check(update is not None, "alice: no server update offer after bob left")
    index = alice.events.index(update)
    meanwhile = without_bob is not None and without_bob < position
    print(f"    attempt {attempt}: after alice's offer, occupants without bob at event {without_bob}, her response "
          f"after event {position}, the server's update at event {index}: the leave came "
          f"{'while her offer was out' if meanwhile else 'after her response'}")
    check(index >= position, f"the server's offer (event {index}) came before the response to alice's own "
                             f"offer (after event {position})")
    await alice_peer.settle()
    check(alice_peer.updates_answered > answered_before,
          f"alice could not answer the server offer that followed her own: {alice_peer.errors}")
    sdp = update["jsep"]["sdp"]
    check("a=inactive" in sdp, f"the server's offer after bob left should mark his m-line inactive:\n{sdp}")
    return meanwhile


async def wait_received_update(client, peer, publisher):
    """Waits until the peer answered a server offer carrying `publisher`'s
    stream (so no server offer is out when the test makes its own)."""
    msid = f"a=msid:{publisher} "
    offer = await client.wait_for_event(
        lambda e: e.get("event") == "update" and msid in (e.get("jsep") or {}).get("sdp", ""), EVENT_DEADLINE_S)
    check(offer is not None, f"{client.name}: no server offer with {msid.strip()}")
    await peer.settle()


# ---------------------------------------------------------------- defects (regressions)

async def leave_while_join_negotiates(scenario):
    alice = await scenario.connect("alice.ln")
    for how in ("hangup", "leave"):
        line = await alice.request("create_line")
        line_id = line["line_id"]
        peer = scenario.peer(alice, audio=True, video=True)
        offer = await peer.offer()
        since = len(alice.events)
        ending = ("hangup", {}) if how == "hangup" else ("leave", {"line_id": line_id})
        (join_tx, join_future), (end_tx, end_future) = await alice.send_together(
            ("join", {"line_id": line_id, "jsep": offer}), ending)
        await asyncio.wait([join_future, end_future], timeout=10)
        check(join_future.done() and end_future.done(),
              f"join + {how} in one write: no response within 10 s to "
              f"{' and '.join(n for n, f in (('the join', join_future), (how, end_future)) if not f.done())}"
              f"{'; ' + how + ': ' + str(end_future.result()) if end_future.done() else ''}")
        join_response, end_response = join_future.result(), end_future.result()
        print(f"    join + {how} in one write: join {join_response.get('code') or 'success'} "
              f"'{join_response.get('reason', '')}', {how} {end_response.get('code') or 'success'}")
        check(join_response.get("response") == "error" and join_response.get("code") == 409,
              f"join while {how} followed: expected 409, got {join_response}")
        check("left before the answer was ready" in (join_response.get("reason") or ""),
              f"join's 409 reason: {join_response}")
        order = [t for t in alice.response_order if t in (join_tx, end_tx)]
        check(order == [join_tx, end_tx], f"the join's 409 should come before the {how}'s response: {order}")
        await barrier(alice)
        accepted = [e for e in alice.events[since:] if e.get("event") == "accepted"]
        check(not accepted, f"no accepted event for a join answered 409: {accepted}")
        got = await alice.request("get_line", line_id=line_id)
        check(got["line"]["occupants"] == [], f"after join + {how}, the line should be empty: {got['line']}")
        await peer.close()
        # The session is free again: a real join works.
        again = scenario.peer(alice, audio=True)
        await again.join(line_id)
        await wait_occupants(alice, line_id, [session_of(alice)], timeout=SETTLE_S, state="connected")
        await alice.request("leave", line_id=line_id)
        await again.close()


def rename_mids(sdp, names):
    """Renames the mids of the offer's m-lines in order (a=mid and the
    BUNDLE group): names[i] for the i-th m-line."""
    mids = re.findall(r"^a=mid:(\S+)\r?$", sdp, flags=re.M)
    check(len(mids) == len(names), f"offer has mids {mids}, expected {len(names)}")
    mapping = dict(zip(mids, names))
    sdp = re.sub(r"^a=mid:(\S+)(\r?)$", lambda m: f"a=mid:{mapping[m.group(1)]}{m.group(2)}", sdp, flags=re.M)
    return re.sub(r"^a=group:BUNDLE (.*?)(\r?)$",
                  lambda m: "a=group:BUNDLE " + " ".join(mapping.get(x, x) for x in m.group(1).split()) + m.group(2),
                  sdp, flags=re.M)


async def candidate_sdp_mid(scenario):
    turn = await SlowTurnServer.start()
    try:
        await candidate_sdp_mid_with(scenario, turn)
    finally:
        turn.close()


async def candidate_sdp_mid_with(scenario, turn):
    alice = await scenario.connect("alice.mid")
    # The relay candidate is trickled only if the answer left before it was
    # gathered; on a loaded machine the answer may come later than the
    # stand-in's reply: then it is in the answer, and the test tries again.
    for attempt in range(1, 4):
        if await trickled_candidates_name_first_mid(scenario, alice, turn, attempt):
            return
    raise TestFailure("in 3 attempts the relay candidate was never trickled (always inside the answer)")


async def trickled_candidates_name_first_mid(scenario, alice, turn, attempt):
    line = await alice.request("create_line")
    line_id = line["line_id"]
    peer = scenario.peer(alice, audio=True, video=True)
    since = len(alice.events)
    fields = {"line_id": line_id, "jsep": await peer.offer(mangle=lambda sdp: rename_mids(sdp, ["a0", "v1"]))}
    check("a=mid:a0" in fields["jsep"]["sdp"] and "a=mid:v1" in fields["jsep"]["sdp"], "mids were not renamed")
    await alice.request("join", **fields)
    accepted = await peer.apply_answer(line_id, since)
    in_answer = re.findall(r"^a=candidate:.*$", accepted["jsep"]["sdp"], flags=re.M)
    answer_mids = re.findall(r"^a=mid:(\S+)\r?$", accepted["jsep"]["sdp"], flags=re.M)
    check(answer_mids == ["a0", "v1"], f"the answer's mids {answer_mids} should be the offer's ['a0', 'v1']")
    await wait_occupants(alice, line_id, [session_of(alice)], timeout=SETTLE_S, state="connected")

    def trickled():
        found = [e["candidate"] for e in alice.events[since:] if e.get("event") == "ice_candidate"]
        real = [c for c in found if c is not None]
        return (found, real) if real or None in found else None

    # A candidate, or the end of them, comes within the stand-in's delay.
    done = await alice.wait_until(trickled, turn.delay_s + EVENT_DEADLINE_S)
    candidates, real = done or ([], [])
    relay_in_answer = any(" typ relay" in line for line in in_answer)
    print(f"    attempt {attempt}: {len(in_answer)} candidate(s) in the answer"
          f"{' (the relay one too)' if relay_in_answer else ''}, {turn.allocations} TURN allocation(s); {len(candidates)} ice_candidate events ({len(real)} with a "
          f"candidate): {sorted({(c.get('sdpMid'), c.get('sdpMLineIndex')) for c in real})}")
    await alice.request("leave", line_id=line_id)
    await peer.close()
    if not real and relay_in_answer:
        return False
    check(real, f"no server ice_candidate event carried a candidate (events: {candidates}), "
                f"and the relay candidate was not in the answer either")
    wrong = [c for c in real if c.get("sdpMid") != "a0" or c.get("sdpMLineIndex") != 0]
    check(not wrong, f"server candidates should carry sdpMid 'a0' and sdpMLineIndex 0: {wrong}")
    return True


async def invite_blocked(scenario):
    alice, bob = await scenario.connect("alice.ib"), await scenario.connect("bob.ib")
    alice_calls = EventCursor(alice)
    bob_calls = EventCursor(bob)
    await bob.request("block", user=guest_id("alice.ib"))
    line = await alice.request("create_line")
    response = await alice.request("invite", line_id=line["line_id"], user=guest_id("bob.ib"))
    print(f"    invite of a user who blocked the caller: {response}")
    check(response.get("delivered") is False, f"invite blocked: expected delivered false, got {response}")
    check(isinstance(response.get("call_id"), str) and response["call_id"], f"invite blocked: no call_id: {response}")
    await alice_calls.expect("declined", call_id=response["call_id"], line_id=line["line_id"], reason="blocked")
    await barrier(alice, bob)
    await alice_calls.expect_quiet()
    await bob_calls.expect_quiet(0.1)


SCENARIOS = [signaling_only, signal_relay, ready, presence, glare_server_offer_first, glare_client_offer_first,
             leave_while_join_negotiates, candidate_sdp_mid, invite_blocked]

if __name__ == "__main__":
    from lines_helpers import run_scenarios
    sys.exit(run_scenarios(SCENARIOS, "phone-line call flows", timeout_s=90.0))
