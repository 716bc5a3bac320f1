#!/usr/bin/python3
# e2e-test: lines_sessions
"""E2E: one session per user (docs/protocol.md, "Connection":
`auth.sessions_per_user` "one", `force`, close codes 4005 and 4006), with
real WebSocket clients and aiortc peers in a line.

A second connection of a user takes over: the first is closed with 4005 and
its line occupancy ends; with `force=false` the second is refused with 4006
before any handshake and the first keeps working. Another user in the same
line is never disturbed. A guest (`?name=alice`) and the token user
`alice` are two users, each with its own session.

Run through run_e2e.sh with sessions.json (lines.json's settings plus
`auth.sessions_per_user` "one"). `lines_sessions.py SCENARIO...` runs only
those.
"""

import sys
import time

import websockets

from lines_helpers import (EVENT_DEADLINE_S, SignalingClient, anonymous_url, barrier, check, guest_id, last_occupants,
                           make_jwt, session_of, token_url, wait_occupants)

SETTLE_S = 15.0  # a media join reaches `connected` once its DTLS is done


async def wait_closed(client, code, timeout=EVENT_DEADLINE_S):
    started = time.monotonic()
    closed = await client.wait_until(lambda: True if client.closed.is_set() else None, timeout)
    check(closed, f"{client.name} ({session_of(client)[:8]}): still open {timeout:g} s later; expected close {code}")
    check(client.close_code == code,
          f"{client.name}: expected close code {code}, got {client.close_code} '{client.close_reason}'")
    return time.monotonic() - started


async def still_served(client, line_id, sessions, what):
    """The client answers a ping, is open, and its line lists `sessions`,
    all connected (its last occupants event equal to get_line)."""
    check(not client.closed.is_set(), f"{what}: {client.name} was disconnected ({client.close_code})")
    await client.request("ping")
    if line_id is not None:
        line = await wait_occupants(client, line_id, sessions, timeout=SETTLE_S, state="connected")
        got = (await client.request("get_line", line_id=line_id))["line"]
        check(got == line, f"{what}: {client.name}'s get_line {got} != its last occupants event {line}")


async def line_of_two(scenario, suffix):
    """alice and bob (users named with `suffix`) in one line with media,
    both connected."""
    alice = await scenario.connect(f"alice.{suffix}")
    bob = await scenario.connect(f"bob.{suffix}")
    line = await alice.request("create_line")
    line_id = line["line_id"]
    await scenario.peer(alice, audio=True).join(line_id)
    await scenario.peer(bob, audio=True).join(line_id, token=line["token"])
    for client in (alice, bob):
        await wait_occupants(client, line_id, [session_of(alice), session_of(bob)], timeout=SETTLE_S,
                             state="connected")
    return alice, bob, line_id


async def replaced_by_new_session(scenario):
    alice, bob, line_id = await line_of_two(scenario, "rp")

    # alice connects again (no `force`): the first session is replaced.
    started = time.monotonic()
    second = await scenario.connect("alice.rp")
    closed_after = await wait_closed(alice, 4005)
    check(second.handshake.get("user", {}).get("user") == guest_id("alice.rp"),
          f"second session's handshake {second.handshake}")
    check(session_of(second) != session_of(alice), "the new connection got the old session id")
    await wait_occupants(bob, line_id, [session_of(bob)], timeout=EVENT_DEADLINE_S)
    gone_after = time.monotonic() - started
    print(f"    second connection of alice: the first closed with 4005 '{alice.close_reason}' "
          f"{closed_after * 1000:.0f} ms after the handshake; bob's occupants without her after "
          f"{gone_after * 1000:.0f} ms")
    # The new session's handshake occupants never list the replaced session.
    await barrier(second)
    shown = last_occupants(second, line_id)
    check(shown is not None and session_of(alice) not in [o["session"] for o in shown["occupants"]],
          f"the new session's occupants should list bob only (the old session is gone): {shown}")
    await still_served(bob, line_id, [session_of(bob)], "after alice was replaced")
    await still_served(second, None, None, "the new session")

    # force=true is the same as no force.
    third = await SignalingClient.connect(anonymous_url("alice.rp") + "&force=true", name="alice.rp")
    scenario.clients.append(third)
    await wait_closed(second, 4005)
    await still_served(third, None, None, "force=true")
    await still_served(bob, line_id, [session_of(bob)], "after alice's force=true")


async def force_false_refused(scenario):
    alice, bob, line_id = await line_of_two(scenario, "ff")

    code, reason, received = await SignalingClient.expect_refused(anonymous_url("alice.ff") + "&force=false")
    print(f"    force=false while alice is connected: close {code} '{reason}', {len(received)} message(s) before")
    check(code == 4006 and not received,
          f"force=false: expected close 4006 before any message, got {code} '{reason}' after {received}")
    await barrier(alice, bob)
    await still_served(alice, line_id, [session_of(alice), session_of(bob)], "alice after the refused force=false")
    await still_served(bob, line_id, [session_of(alice), session_of(bob)], "bob after the refused force=false")

    # With `many` force would be ignored; with `one` and no session left,
    # force=false connects.
    await alice.close()
    await wait_occupants(bob, line_id, [session_of(bob)], timeout=EVENT_DEADLINE_S)
    deadline = time.monotonic() + EVENT_DEADLINE_S
    while True:
        try:
            again = await SignalingClient.connect(anonymous_url("alice.ff") + "&force=false", name="alice.ff")
            scenario.clients.append(again)
            break
        except websockets.ConnectionClosed as error:  # refused: the server has not seen the close yet
            check(time.monotonic() < deadline, f"force=false after alice's only session closed: {error!r}")
        await bob.request("ping")
    await still_served(again, None, None, "force=false without a session")
    await still_served(bob, line_id, [session_of(bob)], "bob at the end")


async def guest_and_token_user_apart(scenario):
    """`?name=ida` is the guest guest:ida, not the token user ida: neither
    takes the other's session, neither's force=false is refused for the
    other's, and each still replaces its own."""
    token = make_jwt({"sub": "ida.gt"})
    token_user = await scenario.connect("ida.gt[token]", token=token)
    # A guest of the same name connects beside it, even asking not to take over.
    guest = await SignalingClient.connect(anonymous_url("ida.gt") + "&force=false", name="ida.gt")
    scenario.clients.append(guest)
    check(guest.handshake.get("user") == {"user": guest_id("ida.gt"), "name": "ida.gt", "guest": True},
          f"the guest's handshake user: {guest.handshake.get('user')}")
    # Its handshake came after any close of an older session of its user.
    await still_served(token_user, None, None, "the token user after the guest connected")
    # The token user's own force=false is refused: the slot taken is its own.
    code, reason, received = await SignalingClient.expect_refused(token_url(token) + "&force=false")
    check(code == 4006 and not received,
          f"the token user's force=false: expected close 4006 before any message, got {code} '{reason}' {received}")
    await still_served(guest, None, None, "the guest after the token user's force=false")
    await still_served(token_user, None, None, "the token user after its own force=false")

    # Each replaces only its own older session.
    guest_second = await scenario.connect("ida.gt")
    await wait_closed(guest, 4005)
    await still_served(token_user, None, None, "the token user after the guest's second session")
    token_second = await scenario.connect("ida.gt[token-3]", token=token)
    await wait_closed(token_user, 4005)
    await still_served(guest_second, None, None, "the guest after the token user's second session")
    await still_served(token_second, None, None, "the token user's second session")
    print("    guest:ida.gt and the token user ida.gt: one session each, each replaced only by its own user")


SCENARIOS = [replaced_by_new_session, force_false_refused, guest_and_token_user_apart]

if __name__ == "__main__":
    from lines_helpers import run_scenarios
    sys.exit(run_scenarios(SCENARIOS, "one session per user", timeout_s=60.0))
