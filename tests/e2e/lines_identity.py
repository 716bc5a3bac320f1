#!/usr/bin/python3
# e2e-test: lines_identity
"""E2E: identity and access (docs/protocol.md, "Identity" and the access
rules of "Phone lines"): JWTs checked at connect (4001 before any
handshake), the authenticated user in the handshake and in every relayed
message, membership for get_line/join, and messages that never cross into
another line.

Run through run_e2e.sh with lines.json (auth.jwt_secret set, anonymous
access on). `lines_identity.py SCENARIO...` runs only those.
"""

import hashlib
import hmac
import sys
import time

from lines_helpers import (JWT_SECRET, EventCursor, SignalingClient, anonymous_url, b64url, barrier, check,
                           expect_error, guest_id, is_line_event, make_jwt, session_of, token_url, user_of,
                           wait_occupants)


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


SCENARIOS = [refused_tokens, valid_tokens, line_access, stamped_sender, no_cross_line_messages,
             handshake_lists_occupied_lines]

if __name__ == "__main__":
    from lines_helpers import run_scenarios
    sys.exit(run_scenarios(SCENARIOS, "phone-line identity and access"))
