#!/usr/bin/python3
# e2e-test: lines_invitations
"""E2E: invitations on phone lines (docs/protocol.md, "Phone lines":
invite, accept, decline, cancel, block, outgoing_call), with real WebSocket
clients and, where a line is joined, real aiortc offers.

Each scenario asserts the exact call events, in order, on the caller's and
the callee's sessions. Run through run_e2e.sh with lines.json (ring timeout
1.5 s). `lines_invitations.py SCENARIO...` runs only those.
"""

import asyncio
import sys
import time

from lines_helpers import (EVENT_DEADLINE_S, RING_TIMEOUT_S, EventCursor, barrier, check, check_occupant_form,
                           expect_error, guest_id, join_without_media, last_occupants, make_jwt, session_of,
                           wait_occupants)


def identity(name, client=None):
    """An anonymous user as call events show it (lines.json accepts tokens
    too, so its id is in the guests' space), with the session of `client`
    where the event names the party's session (the caller of incoming_call,
    the callee that answered)."""
    party = {"user": guest_id(name), "name": name}
    if client is not None:
        party["session"] = session_of(client)
    return party


async def ring(scenario, caller_name, callee_names):
    """Caller creates a line and invites the callee, whose sessions (one per
    name in callee_names, same user) all ring. Returns (caller, callees,
    line, call_id, caller cursor, callee cursors)."""
    caller = await scenario.connect(caller_name)
    callees = [await scenario.connect(name) for name in callee_names]
    callee_user = guest_id(callee_names[0])
    caller_events = EventCursor(caller)
    callee_events = [EventCursor(callee) for callee in callees]
    line = await caller.request("create_line")
    check(isinstance(line.get("line_id"), str) and line["line_id"] and isinstance(line.get("token"), str)
          and line["token"], f"create_line response lacks line_id/token: {line}")
    invited = await caller.request("invite", line_id=line["line_id"], user=callee_user)
    call_id = invited.get("call_id")
    check(isinstance(call_id, str) and call_id, f"invite response has no call_id: {invited}")
    check(invited.get("delivered") is True, f"invite of a connected user: expected delivered true, got {invited}")
    for events in callee_events:
        await events.expect("incoming_call", call_id=call_id, line_id=line["line_id"], caller=identity(caller_name, caller))
    await caller_events.expect("ringing", call_id=call_id, line_id=line["line_id"], user=callee_user)
    return caller, callees, line, call_id, caller_events, callee_events


async def accept_then_join(scenario):
    caller, (callee,), line, call_id, caller_events, (callee_events,) = await ring(scenario, "alice.aj", ["bob.aj"])
    line_id = line["line_id"]
    await callee.request("accept", call_id=call_id)
    await caller_events.expect("accepted", call_id=call_id, line_id=line_id, user=identity("bob.aj", callee))
    # The accepting session was ringing no more: no `cancelled` for it.
    await barrier(callee)
    await callee_events.expect_quiet()

    caller_peer = scenario.peer(caller, audio=True, video=True)
    callee_peer = scenario.peer(callee, audio=True, video=False)
    await caller_peer.join(line_id, token=None)  # the creator is a member
    await callee_peer.join(line_id, token=None)  # so is the invitee
    both = [session_of(caller), session_of(callee)]
    for client in (caller, callee):
        settled = await wait_occupants(client, line_id, both, timeout=15.0, state="connected")
        by_session = {occupant["session"]: occupant for occupant in settled["occupants"]}
        for occupant in settled["occupants"]:
            check_occupant_form(occupant, client.name)
        alice, bob = by_session[session_of(caller)], by_session[session_of(callee)]
        check((alice["user"], alice["name"]) == (guest_id("alice.aj"), "alice.aj"), f"caller occupant {alice}")
        check((bob["user"], bob["name"]) == (guest_id("bob.aj"), "bob.aj"), f"callee occupant {bob}")
        check(alice["publishing"] == {"audio": True, "video": True}, f"caller publishes audio+video: {alice}")
        check(bob["publishing"] == {"audio": True, "video": False}, f"callee publishes audio only: {bob}")
        check(alice["muted"] == bob["muted"] == {"audio": False, "video": False}, f"nobody muted: {settled}")
        got = (await client.request("get_line", line_id=line_id))["line"]
        check(got == last_occupants(client, line_id),
              f"{client.name}: get_line {got} != last occupants event {last_occupants(client, line_id)}")
    await caller_events.expect_quiet()
    await callee_events.expect_quiet()


async def accept_with_jsep(scenario):
    caller, (callee,), line, call_id, caller_events, (callee_events,) = await ring(scenario, "alice.aw", ["bob.aw"])
    line_id = line["line_id"]
    caller_peer = scenario.peer(caller)
    await caller_peer.join(line_id)
    callee_peer = scenario.peer(callee)
    since = len(callee.events)
    await callee.request("accept", call_id=call_id, jsep=await callee_peer.offer())
    # accept with jsep joins, as join: the answer comes in `accepted` with line_id and jsep.
    await callee_peer.apply_answer(line_id, since)
    await caller_events.expect("accepted", call_id=call_id, line_id=line_id, user=identity("bob.aw", callee))
    both = [session_of(caller), session_of(callee)]
    for client in (caller, callee):
        await wait_occupants(client, line_id, both, timeout=15.0, state="connected")
    await caller_events.expect_quiet()
    await callee_events.expect_quiet()


async def decline(scenario):
    caller, (callee,), line, call_id, caller_events, (callee_events,) = await ring(scenario, "alice.d", ["bob.d"])
    await callee.request("decline", call_id=call_id)  # reason defaults to declined
    await caller_events.expect("declined", call_id=call_id, line_id=line["line_id"], reason="declined",
                               user=identity("bob.d", callee))
    await expect_error(callee.request("accept", call_id=call_id), 404)
    await caller_events.expect_quiet()
    await callee_events.expect_quiet()


async def decline_busy(scenario):
    caller, (callee,), line, call_id, caller_events, (callee_events,) = await ring(scenario, "alice.b", ["bob.b"])
    await callee.request("decline", call_id=call_id, reason="busy")
    event = await caller_events.expect("busy", call_id=call_id, line_id=line["line_id"], user=identity("bob.b", callee))
    check(set(event) == {"event", "call_id", "line_id", "user"},
          f"busy carries exactly event, call_id, line_id, user: {event}")
    await caller_events.expect_quiet()
    await callee_events.expect_quiet()


async def decline_blocked_reason(scenario):
    caller, (callee,), line, call_id, caller_events, (callee_events,) = await ring(scenario, "alice.dr", ["bob.dr"])
    await callee.request("decline", call_id=call_id, reason="blocked")
    await caller_events.expect("declined", call_id=call_id, line_id=line["line_id"], reason="blocked")
    await caller_events.expect_quiet()
    await callee_events.expect_quiet()


async def cancel(scenario):
    caller, (callee,), line, call_id, caller_events, (callee_events,) = await ring(scenario, "alice.c", ["bob.c"])
    await callee_events.expect_quiet(0.05)
    await expect_error(callee.request("cancel", call_id=call_id), 403)  # only the caller may cancel
    await caller.request("cancel", call_id=call_id)
    await caller_events.expect("cancelled", call_id=call_id, line_id=line["line_id"])
    await callee_events.expect("cancelled", call_id=call_id, reason="cancelled", caller=identity("alice.c", caller))
    await expect_error(callee.request("accept", call_id=call_id), 404)
    await expect_error(caller.request("cancel", call_id=call_id), 404)
    await caller_events.expect_quiet()
    await callee_events.expect_quiet()


async def ring_timeout(scenario):
    started = time.monotonic()
    caller, (callee,), line, call_id, caller_events, (callee_events,) = await ring(scenario, "alice.t", ["bob.t"])
    await caller_events.expect("timeout", call_id=call_id, line_id=line["line_id"], timeout=RING_TIMEOUT_S + 3)
    elapsed = time.monotonic() - started
    await callee_events.expect("cancelled", call_id=call_id, reason="timeout")
    check(RING_TIMEOUT_S - 0.2 <= elapsed <= RING_TIMEOUT_S + 2.0,
          f"timeout after {elapsed:.2f} s, ring_timeout_ms is {RING_TIMEOUT_S * 1000:.0f}")
    await expect_error(callee.request("accept", call_id=call_id), 404)
    await caller_events.expect_quiet()
    await callee_events.expect_quiet()


async def offline_user(scenario):
    caller = await scenario.connect("alice.o")
    caller_events = EventCursor(caller)
    line = await caller.request("create_line")
    invited = await caller.request("invite", line_id=line["line_id"], user=guest_id("bob.o"))
    check(invited.get("delivered") is False, f"invite of an offline user: expected delivered false, got {invited}")
    # The doc's invite response shows a call_id; for an undelivered invite
    # no call exists ("nothing else happens"), so it may be left out.
    check("call_id" not in invited or isinstance(invited["call_id"], str), f"invite response: {invited}")
    await caller_events.expect_quiet()
    # Nothing else happens: the user connecting later is not rung either.
    callee = await scenario.connect("bob.o")
    callee_events = EventCursor(callee, start=0)
    await callee_events.expect_quiet()
    await caller_events.expect_quiet(0.05)


async def blocked_caller(scenario):
    caller = await scenario.connect("alice.bl")
    callee = await scenario.connect("bob.bl")
    callee_other = await scenario.connect("bob.bl")  # the block list is the user's, for all sessions
    caller_events, callee_events, other_events = EventCursor(caller), EventCursor(callee), EventCursor(callee_other)
    await callee.request("block", user=guest_id("alice.bl"))
    await callee.request("block", user=guest_id("alice.bl"))  # succeeds when nothing changes
    line = await caller.request("create_line")
    invited = await caller.request("invite", line_id=line["line_id"], user=guest_id("bob.bl"))
    check(invited.get("delivered") is False, f"invite of a user who blocked the caller: delivered false, got {invited}")
    await caller_events.expect("declined", call_id=invited["call_id"], line_id=line["line_id"], reason="blocked")
    await caller_events.expect_quiet()
    await callee_events.expect_quiet(0.05)
    await other_events.expect_quiet(0.05)

    await callee_other.request("unblock", user=guest_id("alice.bl"))
    await callee_other.request("unblock", user=guest_id("alice.bl"))
    again = await caller.request("invite", line_id=line["line_id"], user=guest_id("bob.bl"))
    await caller_events.expect("ringing", call_id=again["call_id"], line_id=line["line_id"], user=guest_id("bob.bl"))
    await callee_events.expect("incoming_call", call_id=again["call_id"])
    await other_events.expect("incoming_call", call_id=again["call_id"])


async def callee_connected_twice(scenario):
    caller, callees, line, call_id, caller_events, callee_events = await ring(
        scenario, "alice.2", ["bob.2", "bob.2"])
    first, second = callees
    await first.request("accept", call_id=call_id)
    await callee_events[1].expect("answered_elsewhere", call_id=call_id)
    await caller_events.expect("accepted", call_id=call_id, line_id=line["line_id"], user=identity("bob.2", first))
    await expect_error(second.request("accept", call_id=call_id), 404)
    await caller_events.expect_quiet()
    await callee_events[0].expect_quiet(0.05)
    await callee_events[1].expect_quiet(0.05)


async def callee_twice_simultaneous_accepts(scenario):
    caller, callees, line, call_id, caller_events, callee_events = await ring(
        scenario, "alice.2s", ["bob.2s", "bob.2s"])
    sent = [await callee.send_request("accept", call_id=call_id) for callee in callees]
    responses = [await asyncio.wait_for(future, EVENT_DEADLINE_S) for _, future in sent]
    outcomes = sorted((response.get("response"), response.get("code")) for response in responses)
    check(outcomes == [("error", 404), ("success", None)],
          f"two accepts at once: expected one success and one 404, got {responses}")
    loser = 0 if responses[0].get("response") == "error" else 1
    await callee_events[loser].expect("answered_elsewhere", call_id=call_id)
    await caller_events.expect("accepted", call_id=call_id, line_id=line["line_id"], user=identity("bob.2s", callees[1 - loser]))
    await caller_events.expect_quiet()
    await callee_events[0].expect_quiet(0.05)
    await callee_events[1].expect_quiet(0.05)


async def callee_twice_decline(scenario):
    caller, callees, line, call_id, caller_events, callee_events = await ring(
        scenario, "alice.2d", ["bob.2d", "bob.2d"])
    await callees[1].request("decline", call_id=call_id, reason="busy")
    await callee_events[0].expect("answered_elsewhere", call_id=call_id)
    await caller_events.expect("busy", call_id=call_id, line_id=line["line_id"])
    await caller_events.expect_quiet()
    await callee_events[1].expect_quiet(0.05)


async def refusals(scenario):
    caller, (callee,), line, call_id, caller_events, (callee_events,) = await ring(scenario, "alice.r", ["bob.r"])
    line_id = line["line_id"]
    stranger = await scenario.connect("carol.r")
    await expect_error(caller.request("invite", line_id=line_id, user=guest_id("bob.r")), 409)  # already ringing there
    await expect_error(stranger.request("invite", line_id=line_id, user=guest_id("dave.r")), 403)  # not a member
    await expect_error(caller.request("invite", line_id="no-such-line", user=guest_id("bob.r")), 404)
    await expect_error(caller.request("accept", call_id=call_id), 403)  # only the callee accepts
    await expect_error(caller.request("decline", call_id=call_id), 403)
    await expect_error(stranger.request("accept", call_id=call_id), 403)
    await expect_error(callee.request("accept", call_id="no-such-call"), 404)
    await expect_error(caller.request("cancel", call_id="no-such-call"), 404)
    # None of that ended the call.
    await caller_events.expect_quiet(0.05)
    await callee_events.expect_quiet(0.05)
    await callee.request("accept", call_id=call_id)
    await caller_events.expect("accepted", call_id=call_id, line_id=line_id, user=identity("bob.r", callee))


async def caller_left(scenario):
    caller, (callee,), line, call_id, caller_events, (callee_events,) = await ring(scenario, "alice.cl", ["bob.cl"])
    await caller.close()
    await callee_events.expect("cancelled", call_id=call_id, reason="caller_left")
    await callee_events.expect_quiet()


async def callee_went_offline(scenario):
    caller, callees, line, call_id, caller_events, callee_events = await ring(
        scenario, "alice.off", ["bob.off", "bob.off"])
    await callees[0].close()
    await barrier(caller)
    await caller_events.expect_quiet(0.2)  # one session still rings
    await callees[1].close()
    await caller_events.expect("declined", call_id=call_id, line_id=line["line_id"], reason="offline")
    await caller_events.expect_quiet()


async def hangup_cancels_ringing(scenario):
    caller, (callee,), line, call_id, caller_events, (callee_events,) = await ring(scenario, "alice.h", ["bob.h"])
    line_id = line["line_id"]
    peer = scenario.peer(caller)
    await peer.join(line_id)
    await wait_occupants(caller, line_id, [session_of(caller)])
    await caller.request("hangup", line_id=line_id)
    await callee_events.expect("cancelled", call_id=call_id, reason="cancelled")
    await caller_events.expect("cancelled", call_id=call_id, line_id=line_id)
    await expect_error(caller.request("hangup", line_id=line_id), 404)  # nothing left to leave
    await caller_events.expect_quiet()
    await callee_events.expect_quiet()


async def outgoing_call(scenario):
    caller = await scenario.connect("alice.oc")
    callee = await scenario.connect("bob.oc")
    caller_events, callee_events = EventCursor(caller), EventCursor(callee)
    caller_peer = scenario.peer(caller)
    since = len(caller.events)
    response = await caller.request("outgoing_call", number=guest_id("bob.oc"), jsep=await caller_peer.offer())
    for field in ("line_id", "token", "call_id"):
        check(isinstance(response.get(field), str) and response[field], f"outgoing_call response lacks {field}: {response}")
    check(response.get("delivered") is True, f"outgoing_call to a connected user: delivered true expected: {response}")
    line_id, call_id = response["line_id"], response["call_id"]
    await caller_peer.apply_answer(line_id, since)
    await caller_events.expect("ringing", call_id=call_id, line_id=line_id, user=guest_id("bob.oc"))
    await callee_events.expect("incoming_call", call_id=call_id, line_id=line_id, caller=identity("alice.oc", caller))
    callee_peer = scenario.peer(callee)
    since = len(callee.events)
    await callee.request("accept", call_id=call_id, jsep=await callee_peer.offer())
    await callee_peer.apply_answer(line_id, since)
    await caller_events.expect("accepted", call_id=call_id, line_id=line_id, user=identity("bob.oc", callee))
    both = [session_of(caller), session_of(callee)]
    for client in (caller, callee):
        await wait_occupants(client, line_id, both, timeout=15.0, state="connected")
    await caller_events.expect_quiet()
    await callee_events.expect_quiet()


async def paired_call(scenario):
    """docs/protocol.md, `paired` and `media_offer`: a one-to-one call for
    clients that never renegotiate. The caller's paired offer is answered
    sendrecv; the callee answers the server's first offer in `accept`. Each
    receives the other's audio and video on its own m-lines, and neither
    gets an `update` offer."""
    caller = await scenario.connect("alice.pc")
    callee = await scenario.connect("bob.pc")
    caller_events, callee_events = EventCursor(caller), EventCursor(callee)
    # Nothing to answer yet: an answer without a media_offer is refused.
    lone = await scenario.connect("carol.pc")
    line = await lone.request("create_line")
    await expect_error(lone.request("join", line_id=line["line_id"], jsep={"type": "answer", "sdp": "v=0"}), 409,
                       mentions="media_offer")
    await expect_error(lone.request("media_offer", audio=False, video=False), 400)

    caller_peer = scenario.peer(caller, audio=True, video=True)
    since = len(caller.events)
    response = await caller.request("outgoing_call", number=guest_id("bob.pc"), jsep=await caller_peer.offer(),
                                    paired=True)
    line_id, call_id = response["line_id"], response["call_id"]
    answer = (await caller_peer.apply_answer(line_id, since))["jsep"]["sdp"]
    check(answer.count("a=sendrecv") == 2 and "a=msid:partyline-peer " in answer,
          f"a paired answer is sendrecv with the server's senders on both m-lines: {answer}")
    await caller_events.expect("ringing", call_id=call_id, line_id=line_id, user=guest_id("bob.pc"))
    await callee_events.expect("incoming_call", call_id=call_id, line_id=line_id, caller=identity("alice.pc", caller))

    offer = (await callee.request("media_offer"))["jsep"]
    check(offer.get("type") == "offer" and offer["sdp"].count("m=") == 2 and offer["sdp"].count("a=sendrecv") == 2
          and "a=setup:actpass" in offer["sdp"], f"media_offer: one sendrecv m-line per kind expected: {offer}")
    await expect_error(callee.request("join", line_id=line_id), 409)  # its PeerConnection awaits the answer
    callee_peer = scenario.peer(callee, audio=True, video=True)
    since = len(callee.events)
    await callee.request("accept", call_id=call_id, jsep=await callee_peer.answer(offer))
    joined = await callee.wait_for_event(lambda e: e.get("event") == "accepted" and e.get("line_id") == line_id,
                                        EVENT_DEADLINE_S, since=since)
    check(joined is not None and "jsep" not in joined, f"the callee's join needs no answer back: {joined}")
    await caller_events.expect("accepted", call_id=call_id, line_id=line_id, user=identity("bob.pc", callee))
    both = [session_of(caller), session_of(callee)]
    for client in (caller, callee):
        await wait_occupants(client, line_id, both, timeout=15.0, state="connected")
    for peer in (caller_peer, callee_peer):
        for kind, count in (("audio", 50), ("video", 10)):
            check(await peer.wait_received(kind, count, 15.0),
                  f"{peer.client.name}: {peer.received[kind]} {kind} frames from the other party, {count} expected")
        print(f"    {peer.client.name} received {peer.received['audio']} audio and {peer.received['video']} video frames")
    for client in (caller, callee):
        updates = [e for e in client.events if e.get("event") == "update"]
        check(not updates, f"{client.name}: a paired session got server offers: {updates}")
    await expect_error(caller_peer.client_update(), 501, mentions="paired")


async def by_email_and_session(scenario):
    """The forms seed 000's hub needs (docs/compat.md): the callee named by
    email, calls named by the caller's session, the parties' sessions in
    the events, block by email."""
    alice = await scenario.connect("alice.em", make_jwt({"sub": "alice.em", "name": "Alice",
                                                         "email": "Alice.Em@example.org"}))
    bob = await scenario.connect("bob.em", make_jwt({"sub": "bob.em", "name": "Bob", "email": "bob.em@example.org"}))
    alice_events, bob_events = EventCursor(alice), EventCursor(bob)
    alice_party = {"user": "alice.em", "name": "Alice", "session": session_of(alice)}
    bob_party = {"user": "bob.em", "name": "Bob", "session": session_of(bob)}
    line_id = (await alice.request("create_line"))["line_id"]

    async def ring():
        invited = await alice.request("invite", line_id=line_id, email="BOB.EM@example.org")  # case ignored
        check(invited.get("delivered") is True and invited.get("sessions") == [session_of(bob)],
              f"invite by email: delivered, ringing on bob's one session expected: {invited}")
        await bob_events.expect("incoming_call", call_id=invited["call_id"], line_id=line_id,
                                caller=dict(alice_party, email="Alice.Em@example.org"))
        await alice_events.expect("ringing", call_id=invited["call_id"], user="bob.em")
        return invited["call_id"]

    call_id = await ring()
    await bob.request("decline", caller_session=session_of(alice), reason="busy")
    await alice_events.expect("busy", call_id=call_id, user=bob_party)
    call_id = await ring()
    await alice.request("cancel", email="bob.em@example.org")
    await alice_events.expect("cancelled", call_id=call_id)
    await bob_events.expect("cancelled", call_id=call_id, reason="cancelled", caller=alice_party)
    call_id = await ring()
    await expect_error(bob.request("accept", call_id=call_id, caller_session=session_of(alice)), 400,
                       mentions="one of them")
    await expect_error(bob.request("accept", caller_session=session_of(bob)), 404)
    await expect_error(alice.request("cancel", email="nobody@example.org"), 404)
    accepted = await bob.request("accept", caller_session=session_of(alice))
    check(accepted.get("call_id") == call_id, f"accept by caller_session answers the ringing call: {accepted}")
    await alice_events.expect("accepted", call_id=call_id, line_id=line_id, user=bob_party)

    # Nobody connected has the address: nothing rings, nobody becomes a member.
    nobody = await alice.request("invite", line_id=line_id, email="nobody@example.org")
    check(set(nobody) - {"response", "transaction", "request"} == {"delivered"} and nobody["delivered"] is False,
          f"invite of an unknown email: only delivered false expected: {nobody}")
    await expect_error(alice.request("invite", line_id=line_id, user="bob.em", email="bob.em@example.org"), 400,
                       mentions="one of them")

    # Joining again the line one occupies, without an offer: the same occupancy.
    first = await join_without_media(bob, line_id)
    again = await bob.request("join", line_id=line_id)
    check(again.get("line_id") == line_id and again.get("media") == "none",
          f"joining the same line again: success with its media expected: {again} (first {first})")
    await bob.request("leave", line_id=line_id)

    # Block and unblock by email.
    await bob.request("block", email="alice.em@EXAMPLE.org")
    blocked = await alice.request("invite", line_id=line_id, email="bob.em@example.org")
    check(blocked.get("delivered") is False, f"a blocked caller rings nothing: {blocked}")
    await alice_events.expect("declined", call_id=blocked["call_id"], reason="blocked")
    await expect_error(bob.request("block", email="nobody@example.org"), 404, mentions="email")
    await bob.request("unblock", email="alice.em@example.org")
    await ring()


SCENARIOS = [accept_then_join, accept_with_jsep, decline, decline_busy, decline_blocked_reason, cancel, ring_timeout,
             offline_user, blocked_caller, callee_connected_twice, callee_twice_simultaneous_accepts,
             callee_twice_decline, refusals, caller_left, callee_went_offline, hangup_cancels_ringing, outgoing_call,
             paired_call, by_email_and_session]

if __name__ == "__main__":
    from lines_helpers import run_scenarios
    sys.exit(run_scenarios(SCENARIOS, "phone-line invitations"))
