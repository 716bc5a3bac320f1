#!/usr/bin/python3
# e2e-test: limits_edges
"""E2E: every limit of docs/configuration.md at its edge (issue 14, "Limits
at their edges"): N of a kind all accepted, the N+1th refused with the
documented code and a reason naming the limit, then the server still
serves (a ping).

Run through run_e2e.sh with limits_edges.json (small limits; no JWT secret,
so an anonymous user's id is its name). `limits_edges.py SCENARIO...` runs
only those. Every scenario has users of its own: limits.user_connects_per_second
is 1 (bursts of 2), so no user connects more than twice in a scenario.

Rates: a bucket refills while a burst is being read, so "N pass, N+1 is
refused" holds only if less than one unit refilled meanwhile. Each burst is
one TCP write, and the refill is bounded by the rate times the time from
the write to the last reply (the server read the burst within that time):
an attempt whose bound reaches one unit proves nothing and is repeated with
new users (3 attempts at most; `inconclusive` below).
"""

import asyncio
import json
import sys
import time

from websockets.frames import Frame, Opcode

from faults_helpers import admin_json
from lines_helpers import anonymous_url, check, expect_error, join_without_media, run_scenarios, user_of
from partyline_ws import SignalingClient

# Must match tests/e2e/limits_edges.json.
MAX_SESSIONS = 12
MAX_LINES = 16
MAX_LINES_PER_USER = 3
MAX_MEMBERS_PER_LINE = 5
MAX_PENDING_INVITATIONS = 2
MAX_BLOCKED = 3
MAX_OCCUPANTS = 3
MAX_SIGNAL_BYTES = 256
MAX_MESSAGE_BYTES = 4096
REQUESTS_PER_SECOND = 1
REQUEST_BURST = 70
KEEPALIVES_PER_SECOND = 5          # bursts of twice as many
USER_CONNECTS_PER_SECOND = 1       # bursts of twice as many
USER_REQUESTS_PER_SECOND = 40      # bursts of twice as many
# Not configurable (signaling/client_session.hpp, call_handler.hpp).
MAX_PENDING_REQUESTS = 64
MAX_EARLY_CANDIDATES = 64
ATTEMPTS = 3


class Inconclusive(Exception):
    """The refill during a burst may have reached one unit: try again."""


async def attempts(function, *args):
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await function(attempt, *args)
        except Inconclusive as why:
            print(f"    attempt {attempt} inconclusive: {why}", flush=True)
    check(False, f"{ATTEMPTS} attempts inconclusive: the server was too slow to read a burst")


def check_refill(rate, elapsed, what):
    if rate * elapsed >= 1:
        raise Inconclusive(f"{what}: {elapsed * 1000:.0f} ms at {rate}/s may refill one")


async def responses(sent, timeout=10.0):
    return [await asyncio.wait_for(future, timeout) for _, future in sent]


def check_limited(response, code, mentions, what):
    check(response.get("response") == "error" and response.get("code") == code
          and mentions in (response.get("reason") or ""),
          f"{what}: expected {code} naming '{mentions}', got {response}")
    print(f"    {what}: {code} {response.get('reason')!r}", flush=True)


async def wait_sessions(count, timeout=10.0):
    """Waits until the server holds `count` sessions (admin API)."""
    deadline = time.monotonic() + timeout
    while (sessions := (await admin_json("/admin/v1/info"))["sessions"]) != count:
        check(time.monotonic() < deadline, f"the server holds {sessions} sessions, not {count}, after {timeout:g} s")
        await asyncio.sleep(0.05)


async def closed_with(client, code, timeout=5.0):
    await client.wait_until(lambda: True if client.closed.is_set() else None, timeout)
    check(client.closed.is_set() and client.close_code == code,
          f"{client.name}: expected close {code}, got {client.close_code} {client.close_reason!r}")


# ---------------------------------------------------------------- sessions and connects

async def max_sessions(scenario):
    # The server's sessions, all users together: the previous scenarios' are gone first.
    await wait_sessions(0)
    clients = [await scenario.connect(f"cap.{n}") for n in range(MAX_SESSIONS)]
    try:
        code, reason, received = await SignalingClient.expect_refused(anonymous_url(f"cap.{MAX_SESSIONS}"), timeout=5.0)
    except asyncio.TimeoutError:
        check(False, f"session {MAX_SESSIONS + 1} was not closed within 5 s (accepted beyond limits.max_sessions?)")
    check(code == 4003 and not received,
          f"session {MAX_SESSIONS + 1}: expected close 4003 before any handshake, got {code} {reason!r} {received}")
    print(f"    session {MAX_SESSIONS + 1}: 4003 {reason!r}", flush=True)
    check("capacity" in reason, f"4003 reason should say capacity: {reason!r}")
    for client in clients:
        await client.request("ping")
    await clients[0].close()
    await wait_sessions(MAX_SESSIONS - 1)
    await (await scenario.connect("cap.again")).request("ping")  # a place again


async def user_connects(scenario):
    async def attempt(number):
        name = f"conn.{number}"
        started = time.monotonic()
        first = await asyncio.gather(*[scenario.connect(name) for _ in range(2 * USER_CONNECTS_PER_SECOND)])
        code, reason, received = await SignalingClient.expect_refused(anonymous_url(name))
        elapsed = time.monotonic() - started
        if code != 4009:
            check_refill(USER_CONNECTS_PER_SECOND, elapsed, "connects")
        check(code == 4009 and not received,
              f"connect {2 * USER_CONNECTS_PER_SECOND + 1}: expected 4009 before any handshake, got {code} {reason!r}")
        check(f"more than {USER_CONNECTS_PER_SECOND} connections per second from this user" in reason,
              f"4009 reason: {reason!r}")
        print(f"    connect {2 * USER_CONNECTS_PER_SECOND + 1} ({elapsed * 1000:.0f} ms after the first): "
              f"4009 {reason!r}", flush=True)
        for client in first:
            await client.request("ping")
        await asyncio.sleep(1.2 / USER_CONNECTS_PER_SECOND)  # one connect refilled
        await (await scenario.connect(name)).request("ping")

    await attempts(attempt)


# ---------------------------------------------------------------- lines

async def max_lines_per_user(scenario):
    owner = await scenario.connect("owner.lpu")
    for _ in range(MAX_LINES_PER_USER):
        await owner.request("create_line")
    error = await expect_error(owner.request("create_line"), 429, mentions="limits.max_lines_per_user")
    print(f"    line {MAX_LINES_PER_USER + 1} of one user: 429 {error.reason!r}", flush=True)
    await (await scenario.connect("other.lpu")).request("create_line")  # another user's quota is its own
    await owner.request("ping")


async def max_occupants(scenario):
    clients = [await scenario.connect(f"occ.{n}") for n in range(MAX_OCCUPANTS + 1)]
    line = await clients[0].request("create_line")
    line_id, token = line["line_id"], line["token"]
    for client in clients[:MAX_OCCUPANTS]:
        await join_without_media(client, line_id, token=token)
    got = (await clients[0].request("get_line", line_id=line_id))["line"]
    check(len(got["occupants"]) == MAX_OCCUPANTS, f"{MAX_OCCUPANTS} occupants expected: {got}")
    error = await expect_error(clients[-1].request("join", line_id=line_id, token=token), 503, mentions="full")
    print(f"    occupant {MAX_OCCUPANTS + 1}: 503 {error.reason!r}", flush=True)
    await clients[1].request("leave", line_id=line_id)
    await join_without_media(clients[-1], line_id, token=token)  # a place again


async def max_members(scenario):
    owner = await scenario.connect("owner.mem")
    line = await owner.request("create_line")
    line_id, token = line["line_id"], line["token"]
    # The owner, two absent users by invitation, two by joining with the token.
    for name in ("inv1.mem", "inv2.mem"):
        await owner.request("invite", line_id=line_id, user=name)
    joiners = [await scenario.connect(f"join{n}.mem") for n in range(3)]
    for joiner in joiners[:2]:
        await join_without_media(joiner, line_id, token=token)
        await joiner.request("leave", line_id=line_id)
    members = (await owner.request("get_line", line_id=line_id))["members"]
    check(len(members) == MAX_MEMBERS_PER_LINE, f"{MAX_MEMBERS_PER_LINE} members expected: {members}")
    error = await expect_error(joiners[2].request("join", line_id=line_id, token=token), 503,
                               mentions="limits.max_members_per_line")
    print(f"    member {MAX_MEMBERS_PER_LINE + 1} by token: 503 {error.reason!r}", flush=True)
    error = await expect_error(owner.request("invite", line_id=line_id, user="inv3.mem"), 503,
                               mentions="limits.max_members_per_line")
    print(f"    member {MAX_MEMBERS_PER_LINE + 1} by invitation: 503 {error.reason!r}", flush=True)
    await join_without_media(joiners[0], line_id, token=token)  # a member already: still joins


async def max_pending_invitations(scenario):
    caller = await scenario.connect("caller.inv")
    callees = [await scenario.connect(f"callee{n}.inv") for n in range(MAX_PENDING_INVITATIONS + 1)]
    line_id = (await caller.request("create_line"))["line_id"]
    calls = [await caller.request("invite", line_id=line_id, user=user_of(callee)["user"])
             for callee in callees[:MAX_PENDING_INVITATIONS]]
    check(all(call.get("delivered", True) for call in calls), f"invitations not delivered: {calls}")
    error = await expect_error(caller.request("invite", line_id=line_id, user=user_of(callees[-1])["user"]), 429,
                               mentions="limits.max_pending_invitations_per_user")
    print(f"    invitation {MAX_PENDING_INVITATIONS + 1} ringing: 429 {error.reason!r}", flush=True)
    await caller.request("cancel", call_id=calls[0]["call_id"])
    await caller.request("invite", line_id=line_id, user=user_of(callees[-1])["user"])  # a place again


async def max_blocked(scenario):
    client = await scenario.connect("blocker.blk")
    for n in range(MAX_BLOCKED):
        await client.request("block", user=f"u{n}.blk")
    error = await expect_error(client.request("block", user=f"u{MAX_BLOCKED}.blk"), 429,
                               mentions="limits.max_blocked_per_user")
    print(f"    block {MAX_BLOCKED + 1}: 429 {error.reason!r}", flush=True)
    await client.request("block", user="u0.blk")  # already blocked: nothing changes, success
    await client.request("unblock", user="u0.blk")
    await client.request("block", user=f"u{MAX_BLOCKED}.blk")  # a place again


async def max_signal_bytes(scenario):
    alice = await scenario.connect("alice.sig")
    bob = await scenario.connect("bob.sig")
    line = await alice.request("create_line")
    line_id = line["line_id"]
    await join_without_media(alice, line_id)
    await join_without_media(bob, line_id, token=line["token"])
    to = bob.handshake["session"]
    data = "x" * (MAX_SIGNAL_BYTES - 2)  # a JSON string: its quotes make it MAX_SIGNAL_BYTES
    await alice.request("signal", line_id=line_id, to_session=to, data=data)
    event = await bob.wait_for_event(lambda e: e.get("event") == "signal", 5.0)
    check(event is not None and event.get("data") == data, f"bob did not get the signal of {MAX_SIGNAL_BYTES} bytes")
    error = await expect_error(alice.request("signal", line_id=line_id, to_session=to, data=data + "x"), 413,
                               mentions=f"at most {MAX_SIGNAL_BYTES}")
    print(f"    signal data of {MAX_SIGNAL_BYTES + 1} bytes: 413 {error.reason!r}", flush=True)
    await alice.request("ping")


# ---------------------------------------------------------------- messages and requests

async def max_message_bytes(scenario):
    client = await scenario.connect("big.msg")
    other = await scenario.connect("other.msg")

    def ping_of(size, transaction):
        text = json.dumps({"request": "ping", "transaction": transaction, "pad": ""})
        text = json.dumps({"request": "ping", "transaction": transaction, "pad": "x" * (size - len(text))})
        check(len(text.encode()) == size, "message size")
        return text

    before = len(client.unmatched)
    await client.send_text(ping_of(MAX_MESSAGE_BYTES, "exact"))
    reply = await client.wait_until(lambda: client.unmatched[before] if len(client.unmatched) > before else None, 5.0)
    check(reply is not None and reply.get("response") == "success",
          f"a message of exactly {MAX_MESSAGE_BYTES} bytes: expected success, got {reply} (close {client.close_code})")
    await client.send_text(ping_of(MAX_MESSAGE_BYTES + 1, "over"))
    await closed_with(client, 1009)
    print(f"    a message of {MAX_MESSAGE_BYTES + 1} bytes: close 1009 {client.close_reason!r}", flush=True)
    await other.request("ping")


async def request_burst(scenario):
    # The session's bucket starts full at REQUEST_BURST and refills at 1/s:
    # a burst read within a second refills less than one request.
    async def attempt(number):
        client = await scenario.connect(f"burst.{number}")
        started = time.monotonic()
        replies = await responses(await client.send_together(*[("ping", {})] * (REQUEST_BURST + 1)))
        elapsed = time.monotonic() - started
        passed = sum(1 for reply in replies if reply.get("response") == "success")
        check(passed >= REQUEST_BURST, f"{passed} of a burst of {REQUEST_BURST} passed")
        if replies[-1].get("response") == "success":
            check_refill(REQUESTS_PER_SECOND, elapsed, "requests")
        check_limited(replies[-1], 429, f"rate limited: more than {REQUESTS_PER_SECOND} requests per second",
                      f"request {REQUEST_BURST + 1} ({elapsed * 1000:.0f} ms)")
        other = await scenario.connect(f"burst.other.{number}")
        await other.request("ping")
        await asyncio.sleep(1.1 / REQUESTS_PER_SECOND)  # one request refilled
        await client.request("ping")

    await attempts(attempt)


async def keepalive_burst(scenario):
    async def attempt(number):
        client = await scenario.connect(f"ka.{number}")
        client.stop_keepalives()  # the burst alone
        burst = 2 * KEEPALIVES_PER_SECOND
        frames = [Frame(Opcode.TEXT, json.dumps({"handshake": "keepalive", "transaction": f"ka-{n}"}).encode())
                  .serialize(mask=True) for n in range(burst + 1)]
        before = len(client.unmatched)
        started = time.monotonic()
        client.socket.transport.write(b"".join(frames))
        replies = await client.wait_until(
            lambda: client.unmatched[before:] if len(client.unmatched) - before >= burst + 1 else None, 5.0)
        elapsed = time.monotonic() - started
        check(replies is not None, f"{len(client.unmatched) - before} of {burst + 1} keepalives answered")
        by_transaction = {reply.get("transaction"): reply for reply in replies}
        acked = [n for n in range(burst) if by_transaction[f"ka-{n}"].get("handshake") == "keepalive"]
        check(len(acked) == burst, f"{len(acked)} of a burst of {burst} keepalives acknowledged: {replies}")
        last = by_transaction[f"ka-{burst}"]
        if last.get("handshake") == "keepalive":
            check_refill(KEEPALIVES_PER_SECOND, elapsed, "keepalives")
        check_limited(last, 429, f"rate limited: more than {KEEPALIVES_PER_SECOND} keepalives per second",
                      f"keepalive {burst + 1} ({elapsed * 1000:.0f} ms)")
        check(last.get("request", "absent") is None, f"a refused keepalive has request null: {last}")
        await client.request("ping")

    await attempts(attempt)


async def user_requests(scenario):
    # Two sessions of one user, each well within its own burst (REQUEST_BURST),
    # together one request beyond the user's (twice USER_REQUESTS_PER_SECOND).
    async def attempt(number):
        name = f"user.req.{number}"
        first, second = [await scenario.connect(name) for _ in range(2)]
        burst = 2 * USER_REQUESTS_PER_SECOND
        half = burst // 2
        started = time.monotonic()
        sent = SignalingClient.send_at_once(*[(first, "ping", {})] * half, *[(second, "ping", {})] * (burst - half + 1))
        replies = await responses(sent)
        elapsed = time.monotonic() - started
        passed = [reply for reply in replies if reply.get("response") == "success"]
        refused = [reply for reply in replies if reply.get("response") != "success"]
        if len(passed) > burst:
            check_refill(USER_REQUESTS_PER_SECOND, elapsed, "user requests")
        check(len(passed) == burst and len(refused) == 1,
              f"{len(passed)} of {burst + 1} requests of one user passed (bucket {burst}): {refused[:2]}")
        check_limited(refused[0], 429, f"more than {USER_REQUESTS_PER_SECOND} requests per second from this user",
                      f"request {burst + 1} of one user ({elapsed * 1000:.0f} ms)")
        other = await scenario.connect(f"user.other.{number}")
        await other.request("ping")  # another user's budget is its own

    await attempts(attempt)


def trickle(port):
    # Outside ice.allowed_remote_networks (127.0.0.0/8 in the e2e namespace):
    # applied, it would be ignored; it changes no ICE state.
    return ("ice_trickle", {"candidate": {"candidate": f"candidate:{port} 1 udp 2122260223 10.9.9.9 {port} typ host",
                                          "sdpMid": "0", "sdpMLineIndex": 0}})


async def early_candidates(scenario):
    client = await scenario.connect("early.cand")
    replies = await responses(await client.send_together(*[trickle(40000 + n) for n in range(MAX_EARLY_CANDIDATES + 1)]))
    passed = sum(1 for reply in replies[:-1] if reply.get("response") == "success")
    check(passed == MAX_EARLY_CANDIDATES, f"{passed} of {MAX_EARLY_CANDIDATES} candidates before the offer queued")
    check_limited(replies[-1], 413, "too many candidates before the offer",
                  f"candidate {MAX_EARLY_CANDIDATES + 1} before the offer")
    await client.request("ping")


async def pending_requests(scenario):
    # Requests answered from another thread: a trickled candidate of a
    # session with a PeerConnection is applied on its media worker, and the
    # answer comes back through the event loop, so candidates read in one
    # pass all await their answers together.
    client = await scenario.connect("pending.req")
    line_id = (await client.request("create_line"))["line_id"]
    await scenario.peer(client).join(line_id)
    replies = await responses(await client.send_together(*[trickle(41000 + n) for n in range(MAX_PENDING_REQUESTS + 1)]))
    passed = sum(1 for reply in replies[:-1] if reply.get("response") == "success")
    check(passed == MAX_PENDING_REQUESTS, f"{passed} of {MAX_PENDING_REQUESTS} pending candidates answered success: "
                                          f"{[r for r in replies[:-1] if r.get('response') != 'success'][:2]}")
    check(client.response_order[-1] != replies[-1]["transaction"],
          "the refused request's 429 should come before the answers of those still pending")
    check_limited(replies[-1], 429, f"more than {MAX_PENDING_REQUESTS} requests awaiting a response",
                  f"request {MAX_PENDING_REQUESTS + 1} while {MAX_PENDING_REQUESTS} pending")
    await client.request("ping")


async def field_lengths(scenario):
    # Not configurable, cheap: transaction 128 bytes, request name 64, a
    # candidate line 1024 (docs/protocol.md).
    client = await scenario.connect("fields.len")
    reply = await client.request_raw({"request": "ping", "transaction": "t" * 128})
    check(reply.get("response") == "success", f"a transaction of 128 bytes: {reply}")
    before = len(client.unmatched)
    await client.send_text(json.dumps({"request": "ping", "transaction": "t" * 129}))
    reply = await client.wait_until(lambda: client.unmatched[before] if len(client.unmatched) > before else None, 5.0)
    check_limited(reply or {}, 413, "transaction", "a transaction of 129 bytes")
    await expect_error(client.request("n" * 64), 404)
    reply = await client.request_raw({"request": "n" * 65, "transaction": "long-name"})
    check_limited(reply, 413, "", "a request name of 65 bytes")
    check(reply.get("request") is None, f"an over-long name is not echoed: {reply}")
    line = "candidate:1 1 udp 2122260223 10.9.9.9 9 typ host "
    await client.request("ice_trickle", candidate={"candidate": line + "x" * (1024 - len(line))})
    await expect_error(client.request("ice_trickle", candidate={"candidate": line + "x" * (1025 - len(line))}), 413,
                       mentions="1024")
    await client.request("ping")


async def max_lines(scenario):
    # Last: it leaves the server at its line limit. The earlier scenarios'
    # lines still exist (lines.idle_timeout_ms is 5 minutes).
    existing = (await admin_json("/admin/v1/info"))["lines"]
    check(existing < MAX_LINES, f"{existing} lines exist already; limits.max_lines is {MAX_LINES}")
    to_create = MAX_LINES - existing
    owners = [await scenario.connect(f"owner{n}.ml") for n in range((to_create + MAX_LINES_PER_USER) // MAX_LINES_PER_USER)]
    for n in range(to_create):
        await owners[n // MAX_LINES_PER_USER].request("create_line")
    check((await admin_json("/admin/v1/info"))["lines"] == MAX_LINES, "the server should hold its maximum of lines")
    error = await expect_error(owners[-1].request("create_line"), 503, mentions=str(MAX_LINES))
    print(f"    line {MAX_LINES + 1} ({existing} from earlier scenarios): 503 {error.reason!r}", flush=True)
    await owners[0].request("ping")


SCENARIOS = [max_sessions, user_connects, max_lines_per_user, max_occupants, max_members, max_pending_invitations,
             max_blocked, max_signal_bytes, max_message_bytes, request_burst, keepalive_burst, user_requests,
             early_candidates, pending_requests, field_lengths, max_lines]

if __name__ == "__main__":
    sys.exit(run_scenarios(SCENARIOS, "limits at their edges"))
