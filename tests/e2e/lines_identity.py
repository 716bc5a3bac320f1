#!/usr/bin/python3
# e2e-test: lines_identity
"""E2E: identity and access (docs/protocol.md, "Identity" and the access
rules of "Phone lines"): JWTs checked at connect (4001 before any
handshake), the authenticated user in the handshake and in every relayed
message, membership for get_line/join, and messages that never cross into
another line. Guests (`?name=`) and token users are different users even
with the same name: membership, invitations, block lists and messages keep
them apart (lines_sessions.py shows it for sessions per user).

Run through run_e2e.sh with lines.json (auth.jwt_secret set, anonymous
access on). `lines_identity.py SCENARIO...` runs only those.
"""

import hashlib
import hmac
import sys
import time

from lines_helpers import (JWT_SECRET, EventCursor, SignalingClient, anonymous_url, b64url, barrier, check,
                           expect_error, guest_id, is_line_event, join_without_media, make_jwt, session_of,
                           token_url, user_of, wait_occupants)


def message_events(client):
    return EventCursor(client, accept=lambda event: event.get("event") == "message")


def raw_jwt(header_json, claims_json):
    """An HS256 token over JSON text as it is (repeated members included),
    which json.dumps of a dict cannot write."""
    signing_input = f"{b64url(header_json.encode())}.{b64url(claims_json.encode())}"
    signature = hmac.new(JWT_SECRET, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


async def refused_tokens(scenario):
    now = int(time.time())
    cases = {
        "not a JWT": token_url("not-a-token"),
        "empty token": token_url(""),
        "two segments": token_url("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0"),
        "expired": token_url(make_jwt({"sub": "eve", "exp": now - 60})),
        "wrongly signed": token_url(make_jwt({"sub": "eve", "exp": now + 300}, secret=b"another-secret")),
        "not yet valid (nbf)": token_url(make_jwt({"sub": "eve", "nbf": now + 300})),
        "no sub": token_url(make_jwt({"name": "Eve", "exp": now + 300})),
        "alg none": token_url(make_jwt({"sub": "eve"}, header={"alg": "none", "typ": "JWT"}).rsplit(".", 1)[0] + "."),
        "sub over 128 bytes": token_url(make_jwt({"sub": "e" * 129})),
        # The guests' id space is the server's: no token enters it.
        "sub in the guest space": token_url(make_jwt({"sub": "guest:eve"})),
        # What libjwt would let through: a repeated claim (it keeps one of
        # the two), a repeated header member, a `crit` header.
        "sub twice": token_url(raw_jwt('{"alg":"HS256","typ":"JWT"}', '{"sub":"eve","sub":"admin"}')),
        "alg twice": token_url(raw_jwt('{"alg":"HS256","alg":"HS256"}', '{"sub":"eve"}')),
        "crit": token_url(make_jwt({"sub": "eve"}, header={"alg": "HS256", "typ": "JWT", "crit": ["exp"]})),
        # Not listed word for word in the doc; a name outside the allowed
        # alphabet/length is no valid anonymous identity.
        "invalid anonymous name": anonymous_url("eve has spaces!"),
        "anonymous name over 64": anonymous_url("e" * 65),
    }
    # The reasons the doc quotes word for word.
    documented_reasons = {"expired": "token expired", "wrongly signed": "token signature does not verify",
                          "sub in the guest space": "token claim 'sub' may not start with 'guest:': "
                                                    "those user ids are the server's",
                          "sub twice": "token claims repeat a member", "alg twice": "token header repeats a member",
                          "crit": "token header has 'crit': no header extension is supported"}
    problems = []
    for label, url in cases.items():
        code, reason, received = await SignalingClient.expect_refused(url)
        print(f"    {label}: close {code} '{reason}', {len(received)} message(s) before")
        if code != 4001 or received or not reason:
            problems.append(f"{label}: expected close 4001 with a reason and no message before it, "
                            f"got close {code} '{reason}' after {received}")
        elif label in documented_reasons and reason != documented_reasons[label]:
            problems.append(f"{label}: expected reason '{documented_reasons[label]}', got '{reason}'")
    check(not problems, "; ".join(problems))


async def valid_tokens(scenario):
    now = int(time.time())
    token = make_jwt({"sub": "u-alice", "name": "Alice Liddell", "email": "alice@example.org",
                      "exp": now + 300, "nbf": now - 10, "iat": now})
    alice = await scenario.connect("alice-jwt", token=token)
    user = user_of(alice)
    check(user == {"user": "u-alice", "name": "Alice Liddell"},
          f"handshake user should be u-alice / Alice Liddell (no email, not a guest), got {alice.handshake}")
    bare = await scenario.connect("bare-jwt", token=make_jwt({"sub": "u-bare"}))
    user = user_of(bare)
    check((user.get("user"), user.get("name")) == ("u-bare", "u-bare"),
          f"a token without name: name defaults to sub, got {bare.handshake}")
    anonymous = await scenario.connect("anon.carol")
    user = user_of(anonymous)
    check(user == {"user": "guest:anon.carol", "name": "anon.carol", "guest": True},
          f"an anonymous user is a guest, its id in the guests' space, got {anonymous.handshake}")
    for client in (alice, bare, anonymous):
        check(isinstance(client.handshake.get("keepalive_interval"), int) and client.handshake.get("session"),
              f"handshake state fields: {client.handshake}")


async def line_access(scenario):
    alice = await scenario.connect("alice-acc", token=make_jwt({"sub": "u-alice-acc", "name": "Alice"}))
    carol = await scenario.connect("carol.acc")
    line = await alice.request("create_line")
    line_id, token = line["line_id"], line["token"]
    peer = scenario.peer(carol)
    offer = await peer.offer()
    await expect_error(carol.request("join", line_id=line_id, jsep=offer), 403)
    await expect_error(carol.request("join", line_id=line_id, token=token[:-1] + ("A" if token[-1] != "A" else "B"),
                                     jsep=offer), 403)
    await expect_error(carol.request("get_line", line_id=line_id), 403)
    await expect_error(carol.request("join", line_id="0b9c6f0e-0000-4000-8000-000000000000", jsep=offer), 404)
    await expect_error(carol.request("get_line", line_id="0b9c6f0e-0000-4000-8000-000000000000"), 404)
    # The creator is a member without a token; the token makes carol one.
    await alice.request("get_line", line_id=line_id)
    await peer.join(line_id, token=token)
    await wait_occupants(carol, line_id, [session_of(carol)])
    got = await carol.request("get_line", line_id=line_id)
    check(got["line"]["line_id"] == line_id, f"get_line by a member who joined with the token: {got}")


async def two_in_a_line(scenario, alice_token=None, tag="x"):
    """alice (JWT user when alice_token) and bob (anonymous) occupy a new line."""
    alice = await scenario.connect(f"alice.{tag}", token=alice_token)
    bob = await scenario.connect(f"bob.{tag}")
    line = await alice.request("create_line")
    line_id = line["line_id"]
    await scenario.peer(alice).join(line_id)
    await scenario.peer(bob).join(line_id, token=line["token"])
    both = [session_of(alice), session_of(bob)]
    await wait_occupants(alice, line_id, both)
    await wait_occupants(bob, line_id, both)
    return alice, bob, line_id


async def stamped_sender(scenario):
    alice, bob, line_id = await two_in_a_line(
        scenario, alice_token=make_jwt({"sub": "u-alice-msg", "name": "Alice"}), tag="msg")
    alice_messages, bob_messages = message_events(alice), message_events(bob)
    real_sender = {"user": "u-alice-msg", "name": "Alice", "session": session_of(alice)}
    forged = {"user": guest_id("bob.msg"), "name": "bob.msg", "session": session_of(bob)}

    data = {"text": "hi", "from": forged, "user": guest_id("bob.msg")}
    response = await alice.request("message", line_id=line_id, data=data)
    check(response.get("delivered") == 1, f"message to every other occupant (1): {response}")
    event = await bob_messages.expect("message", line_id=line_id, data=data)
    check(event.get("from") == real_sender, f"message 'from' must be the authenticated sender "
                                            f"{real_sender}, got {event.get('from')}")

    # A 'from' at the top level of the request must not be believed either.
    reply = await alice.request_raw({"request": "message", "transaction": "forged-1", "line_id": line_id,
                                     "to": guest_id("bob.msg"), "data": {"n": 2}, "from": forged})
    if reply.get("response") == "success":
        check(reply.get("delivered") == 1, f"message to bob: {reply}")
        event = await bob_messages.expect("message", line_id=line_id, data={"n": 2})
        check(event.get("from") == real_sender, f"top-level 'from' was believed: {event}")
    else:
        print(f"    a request with a top-level 'from' was refused: {reply}")
    await barrier(alice, bob)
    await alice_messages.expect_quiet(0.1)  # the sender gets no copy
    await bob_messages.expect_quiet()


async def no_cross_line_messages(scenario):
    alice, bob, line_id = await two_in_a_line(scenario, tag="xl")
    carol = await scenario.connect("carol.xl")
    other = await carol.request("create_line")
    await scenario.peer(carol).join(other["line_id"])
    await wait_occupants(carol, other["line_id"], [session_of(carol)])
    watched = {client.name: message_events(client) for client in (alice, bob, carol)}

    await expect_error(alice.request("message", line_id=line_id, to=guest_id("carol.xl"), data={"leak": 1}), 404)
    await expect_error(alice.request("message", line_id=line_id, to=guest_id("nobody.xl"), data={"leak": 2}), 404)
    # Naming carol's line is no way in: alice does not occupy it.
    await expect_error(alice.request("message", line_id=other["line_id"], to=guest_id("carol.xl"), data={"leak": 3}),
                       403)
    # A session of a member that does not occupy the line may not send either.
    alice_elsewhere = await scenario.connect("alice.xl")
    await expect_error(alice_elsewhere.request("message", line_id=line_id, data={"leak": 4}), 403)

    response = await alice.request("message", line_id=line_id, to=guest_id("bob.xl"), data={"ok": True})
    check(response.get("delivered") == 1, f"message to bob: {response}")
    await watched["bob.xl"].expect("message", line_id=line_id, data={"ok": True})
    await barrier(alice, bob, carol)
    for cursor in watched.values():
        await cursor.expect_quiet(0.15)


async def handshake_lists_occupied_lines(scenario):
    alice = await scenario.connect("alice.hs")
    line = await alice.request("create_line")
    line_id = line["line_id"]
    await scenario.peer(alice).join(line_id)
    # Settled (connected), so that nothing changes the line while bob connects.
    await wait_occupants(alice, line_id, [session_of(alice)], timeout=15.0, state="connected")
    # bob is offline: delivered false.
    invited = await alice.request("invite", line_id=line_id, user=guest_id("bob.hs"))
    check(invited.get("delivered") is False, f"invite of an offline user: {invited}")

    bob = await scenario.connect("bob.hs")  # now a member of a line with an occupant
    events = EventCursor(bob, accept=is_line_event, start=0)
    first = await events.expect("occupants")
    # Right after the handshake: the line's presence, then its occupants.
    check(bob.events.index(first) == 1, f"presence, then occupants should follow the handshake at once: {bob.events}")
    presence = bob.events[0]
    check(presence.get("event") == "presence" and presence.get("line_id") == line_id
          and presence.get("members") == [
              {"user": "guest:alice.hs", "name": "alice.hs", "guest": True, "online": True, "in_line": True},
              {"user": "guest:bob.hs", "name": "bob.hs", "guest": True, "online": True, "in_line": False}],
          f"bob's presence event after the handshake: {presence}")
    check(first["line"]["line_id"] == line_id and [o["session"] for o in first["line"]["occupants"]]
          == [session_of(alice)], f"bob's occupants event should list alice's session in {line_id}: {first}")
    latest = (await alice.request("get_line", line_id=line_id))["line"]
    check(first["line"] == latest, f"occupants after handshake {first['line']} != get_line {latest}")
    await events.expect_quiet()

    carol = await scenario.connect("carol.hs")  # not a member: nothing
    await EventCursor(carol, accept=is_line_event, start=0).expect_quiet()


# ---------------------------------------------------------------- guests apart

def call_events(client):
    return EventCursor(client, accept=lambda event: event.get("event") in ("incoming_call", "cancelled"))


async def same_name_pair(scenario, name):
    """The token user `name` and the guest `?name=NAME`: (token user, guest)."""
    token_user = await scenario.connect(f"{name}[token]", token=make_jwt({"sub": name}))
    guest = await scenario.connect(name)
    check(user_of(token_user) == {"user": name, "name": name},
          f"the token user {name}: handshake user {user_of(token_user)}")
    check(user_of(guest) == {"user": guest_id(name), "name": name, "guest": True},
          f"the guest {name}: handshake user {user_of(guest)}")
    return token_user, guest


async def guest_membership(scenario):
    """A line created by one is not the other's: get_line and join are 403."""
    token_user, guest = await same_name_pair(scenario, "ida.gm")
    for creator, other in ((token_user, guest), (guest, token_user)):
        line_id = (await creator.request("create_line"))["line_id"]
        await creator.request("get_line", line_id=line_id)  # the creator is a member
        await expect_error(other.request("get_line", line_id=line_id), 403)
        await expect_error(other.request("join", line_id=line_id), 403)
        offer = await scenario.peer(other).offer()
        await expect_error(other.request("join", line_id=line_id, jsep=offer), 403)
        await expect_error(other.request("invite", line_id=line_id, user="someone.gm"), 403)
        print(f"    a line of {creator.name}: get_line, join (with and without jsep), invite 403 for {other.name}")


async def guest_invitations(scenario):
    """Inviting NAME rings only the token user; guest:NAME only the guest."""
    token_user, guest = await same_name_pair(scenario, "ida.gi")
    carol = await scenario.connect("carol.gi")
    line_id = (await carol.request("create_line"))["line_id"]
    watched = {client.name: call_events(client) for client in (token_user, guest)}
    for callee, user in ((token_user, "ida.gi"), (guest, guest_id("ida.gi"))):
        invited = await carol.request("invite", line_id=line_id, user=user)
        check(invited.get("delivered") is True, f"invite {user}: {invited}")
        event = await watched[callee.name].expect("incoming_call", call_id=invited["call_id"], line_id=line_id)
        check(event.get("caller", {}).get("user") == guest_id("carol.gi"), f"incoming_call caller: {event}")
        await callee.request("decline", call_id=invited["call_id"])
        await barrier(token_user, guest)
        for cursor in watched.values():
            await cursor.expect_quiet()  # the other one never rang
    # Invited, each became a member of that line; in another line, inviting
    # the token user makes no member of the guest.
    for member in (token_user, guest):
        await member.request("get_line", line_id=line_id)
    other_line = (await carol.request("create_line"))["line_id"]
    await carol.request("invite", line_id=other_line, user="ida.gi")
    await token_user.request("get_line", line_id=other_line)
    await expect_error(guest.request("get_line", line_id=other_line), 403)


async def guest_block_lists(scenario):
    """A block list is its user's: the token user's does not block for the
    guest of the same name, nor the other way round."""
    token_user, guest = await same_name_pair(scenario, "ida.gb")
    mallory = await scenario.connect("mal.gb")
    line_id = (await mallory.request("create_line"))["line_id"]
    watched = {client.name: call_events(client) for client in (token_user, guest)}
    mallory_calls = EventCursor(mallory)
    for blocker, blocked_user, other, other_user in ((token_user, "ida.gb", guest, guest_id("ida.gb")),
                                                     (guest, guest_id("ida.gb"), token_user, "ida.gb")):
        await blocker.request("block", user=guest_id("mal.gb"))
        refused = await mallory.request("invite", line_id=line_id, user=blocked_user)
        check(refused.get("delivered") is False, f"invite of {blocked_user}, who blocked mallory: {refused}")
        await mallory_calls.expect("declined", call_id=refused["call_id"], line_id=line_id, reason="blocked")
        rung = await mallory.request("invite", line_id=line_id, user=other_user)
        check(rung.get("delivered") is True, f"invite of {other_user}, who did not block mallory: {rung}")
        await mallory_calls.expect("ringing", call_id=rung["call_id"], line_id=line_id, user=other_user)
        await watched[other.name].expect("incoming_call", call_id=rung["call_id"])
        await other.request("decline", call_id=rung["call_id"])
        await mallory_calls.expect("declined", call_id=rung["call_id"], line_id=line_id, reason="declined")
        await blocker.request("unblock", user=guest_id("mal.gb"))
        await barrier(token_user, guest, mallory)
        await watched[blocker.name].expect_quiet()
        await watched[other.name].expect_quiet(0.05)
        print(f"    {blocker.name} blocks mallory: her invite of {blocked_user} is declined 'blocked', "
              f"of {other_user} rings {other.name}")


async def guest_messages(scenario):
    """In one line, `from` tells the two apart and `to` reaches only one;
    occupants and presence show the guest as one."""
    token_user, guest = await same_name_pair(scenario, "ida.gs")
    carol = await scenario.connect("carol.gs", token=make_jwt({"sub": "carol.gs"}))
    line = await token_user.request("create_line")
    line_id = line["line_id"]
    for client in (token_user, guest, carol):
        await join_without_media(client, line_id, token=line["token"])
    everyone = [session_of(client) for client in (token_user, guest, carol)]
    for client in (token_user, guest, carol):
        await wait_occupants(client, line_id, everyone)
    occupants = {o["session"]: o for o in (await carol.request("get_line", line_id=line_id))["line"]["occupants"]}
    check(occupants[session_of(token_user)]["user"] == "ida.gs" and "guest" not in occupants[session_of(token_user)],
          f"the token user's occupant entry: {occupants[session_of(token_user)]}")
    check(occupants[session_of(guest)]["user"] == guest_id("ida.gs") and occupants[session_of(guest)]["guest"] is True,
          f"the guest's occupant entry: {occupants[session_of(guest)]}")
    members = (await carol.request("get_line", line_id=line_id))["members"]
    check([(m["user"], m.get("guest")) for m in members] == [("carol.gs", None), (guest_id("ida.gs"), True),
                                                            ("ida.gs", None)],
          f"members: the guest apart and shown as one: {members}")

    watched = {client.name: message_events(client) for client in (token_user, guest, carol)}
    for sender, expected_user in ((token_user, "ida.gs"), (guest, guest_id("ida.gs"))):
        await sender.request("message", line_id=line_id, to="carol.gs", data={"who": sender.name})
        event = await watched["carol.gs"].expect("message", line_id=line_id, data={"who": sender.name})
        check(event.get("from") == {"user": expected_user, "name": "ida.gs", "session": session_of(sender)},
              f"from of {sender.name}'s message: {event.get('from')}")
    for recipient, user in ((token_user, "ida.gs"), (guest, guest_id("ida.gs"))):
        response = await carol.request("message", line_id=line_id, to=user, data={"to": user})
        check(response.get("delivered") == 1, f"message to {user}: delivered to exactly one session, got {response}")
        await watched[recipient.name].expect("message", line_id=line_id, data={"to": user})
    await barrier(token_user, guest, carol)
    for cursor in watched.values():
        await cursor.expect_quiet(0.15)


SCENARIOS = [refused_tokens, valid_tokens, line_access, stamped_sender, no_cross_line_messages,
             handshake_lists_occupied_lines, guest_membership, guest_invitations, guest_block_lists, guest_messages]

if __name__ == "__main__":
    from lines_helpers import run_scenarios
    sys.exit(run_scenarios(SCENARIOS, "phone-line identity and access"))
