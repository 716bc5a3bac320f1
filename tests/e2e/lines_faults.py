#!/usr/bin/python3
# e2e-test: lines_faults
"""E2E: faults in a line (issue 14, "Fault tests" and the probing holes),
with aiortc peers and WebSocket clients.

- ghost_occupant: an occupant whose candidates lead nowhere (its offer
  carries none, it trickles none, and it never applies the answer) while its
  WebSocket stays open. It used to stay `connecting` in `occupants` for ever
  (still listed after 90 s). With `ice.setup_timeout_ms` 3000 (faults.json):
  it gets `webrtc_state` `failed` with the reason "connection set-up timed
  out ..." no earlier than 3 s after its join and within 10 s, and the
  other occupant's `occupants` lose it; the other's media is undisturbed
  and the ghost's session still answers a ping.

- slow_reader: a member that stops reading its socket while another sends
  90 messages of 60 KB into their line: the server closes it with 4007 once
  its queue passes signaling.max_queued_bytes (it queued everything before),
  the reader leaves the line, having received fewer than were sent; the
  sender stays served. Prints the server's RSS before and after.

- connection_exhaustion: 2,000 idle TCP connections from ten other
  loopback addresses (100 of them trickling a byte now and then) while a
  new client connects and is served and an existing one answers; none of
  them is closed (they are within http.max_connections and the
  per-address limit); then 300 from one address: at least 44 are refused
  (http.max_connections_per_address 256), and clients are still served.
  libmicrohttpd's default limit of about 1,020 locked everyone out before.

- user_quotas (faults.json: 3 lines per user, 4 members per line, 2
  invitations ringing per user): a 4th line gets 429, another user still
  creates one; a 5th member by invitation or by token gets 503; a 3rd
  ringing invitation gets 429, and passes once one is cancelled. Each
  reason names its limit.

Run through run_e2e.sh with faults.json (lines.json plus ice.setup_timeout_ms
3000). `lines_faults.py SCENARIO...` runs only those.
"""

import os
import re
import resource
import select
import socket
import sys
import time

from lines_helpers import check, expect_error, guest_id, session_of, user_of, wait_occupants

SETUP_TIMEOUT_S = 3.0


def without_candidates(sdp):
    return "".join(line for line in sdp.splitlines(keepends=True)
                   if not re.match(r"a=(candidate|end-of-candidates)", line))


async def ghost_occupant(scenario):
    alice = await scenario.connect("alice.fault")
    ghost = await scenario.connect("ghost.fault")
    line_id = (await alice.request("create_line"))["line_id"]
    await alice.request("invite", line_id=line_id, user=guest_id("ghost.fault"))  # makes the ghost a member
    peer = scenario.peer(alice)
    await peer.join(line_id)
    await wait_occupants(alice, line_id, [session_of(alice)], state="connected", timeout=15.0)

    ghost_peer = scenario.peer(ghost)
    offer = await ghost_peer.offer(mangle=without_candidates)
    joined_at = time.monotonic()
    await ghost.request("join", line_id=line_id, jsep=offer)  # the answer is never applied
    line = await wait_occupants(alice, line_id, [session_of(alice), session_of(ghost)])
    ghost_entry = next(o for o in line["occupants"] if o["session"] == session_of(ghost))
    check(ghost_entry["state"] == "connecting", f"the ghost should be listed connecting: {ghost_entry}")

    failed = await ghost.wait_until(
        lambda: next((e for e in ghost.events if e.get("event") == "webrtc_state" and e.get("state") == "failed"),
                     None), 10.0 + SETUP_TIMEOUT_S)
    failed_after = time.monotonic() - joined_at
    check(failed is not None, "the ghost got no webrtc_state failed")
    check("connection set-up timed out" in failed.get("reason", ""), f"failed for another reason: {failed}")
    check(failed_after >= SETUP_TIMEOUT_S - 0.5, f"failed {failed_after:.1f} s after the join: before the deadline")
    await wait_occupants(alice, line_id, [session_of(alice)], timeout=5.0)
    removed_after = time.monotonic() - joined_at
    print(f"    ghost: {failed['reason']!r} after {failed_after:.1f} s; gone from alice's occupants after "
          f"{removed_after:.1f} s", flush=True)
    await ghost.request("ping")
    check(not ghost.closed.is_set(), "the ghost's WebSocket was closed; only its PeerConnection failed")
    await wait_occupants(alice, line_id, [session_of(alice)], state="connected")


def server_rss_kib():
    with open(f"/proc/{os.environ['PARTYLINE_SERVER_PID']}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


async def slow_reader(scenario):
    # A member that stops reading its socket while another broadcasts 60 KB
    # messages into their line. The server used to queue everything for it
    # (RSS grew with every message); now, past signaling.max_queued_bytes
    # (1 MiB by default), it closes the connection with 4007 and the reader
    # leaves the line, as on a disconnection.
    alice = await scenario.connect("alice.slow")
    reader = await scenario.connect("reader.slow")
    line_id = (await alice.request("create_line"))["line_id"]
    await alice.request("invite", line_id=line_id, user=guest_id("reader.slow"))
    await alice.request("join", line_id=line_id)
    await reader.request("join", line_id=line_id)
    await wait_occupants(alice, line_id, [session_of(alice), session_of(reader)])
    rss_before = server_rss_kib()
    reader.stop_keepalives()
    reader.socket.transport.pause_reading()
    payload = "x" * 60000
    messages = 90  # within limits.request_burst (100): none is refused with 429
    started = time.monotonic()
    for number in range(messages):
        await alice.request("message", line_id=line_id, data={"n": number, "pad": payload})
    sent_s = time.monotonic() - started
    rss_peak = server_rss_kib()
    # Within 3 s: sooner than the missed-keepalive close (twice the 2 s interval).
    await wait_occupants(alice, line_id, [session_of(alice)], timeout=3.0)
    removed_s = time.monotonic() - started
    reader.socket.transport.resume_reading()
    closed = await reader.wait_until(lambda: True if reader.closed.is_set() else None, 10.0)
    received = sum(1 for e in reader.events if e.get("event") == "message")
    print(f"    {messages} messages of 60 KB sent in {sent_s:.2f} s; the reader left the line after {removed_s:.2f} s, "
          f"having received {received}; its close code {reader.close_code}; server RSS {rss_before} KiB before, "
          f"{rss_peak} KiB after the sends", flush=True)
    check(closed, "the slow reader's connection is still open")
    check(reader.close_code in (4007, 1006), f"closed with {reader.close_code}, expected 4007 (or 1006: the close "
          f"frame could not be delivered to a reader whose buffers were full)")
    check(received < messages, f"the reader received all {received} messages: nothing was held back")
    await alice.request("ping")
    line = await alice.request("get_line", line_id=line_id)
    check([o["session"] for o in line["line"]["occupants"]] == [session_of(alice)],
          f"get_line still lists the reader: {line}")


def open_idle_connections(address, count):
    """`count` TCP connections to the server from `address` (another
    loopback address), left idle."""
    port = int(os.environ.get("PARTYLINE_WS_URL", "ws://127.0.0.1:8088/ws").rsplit(":", 1)[1].split("/")[0])
    sockets = []
    for _ in range(count):
        connection = socket.socket()
        connection.bind((address, 0))
        connection.connect(("127.0.0.1", port))
        sockets.append(connection)
    return sockets


def closed_by_server(sockets, within_s, enough=None):
    """How many of `sockets` the server closed (EOF) within `within_s` (or
    as soon as `enough` were)."""
    deadline = time.monotonic() + within_s
    by_fd = {connection.fileno(): connection for connection in sockets}
    poller = select.poll()  # select() stops at descriptor 1023
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    closed = set()
    while time.monotonic() < deadline and len(closed) < (enough or len(sockets)):
        for fd, _ in poller.poll(100):
            try:
                ended = by_fd[fd].recv(1, socket.MSG_PEEK) == b""
            except OSError:
                ended = True
            if ended:
                closed.add(fd)
                poller.unregister(fd)
    return len(closed)


async def connection_exhaustion(scenario):
    # About 1,020 idle TCP connections (libmicrohttpd's default limit) locked
    # every new client out. With http.max_connections (10000) and the open
    # file limit raised, 2,000 idle or trickling connections from ten other
    # addresses leave room: a new client connects and is served, and an
    # existing session too. One address alone gets at most
    # http.max_connections_per_address (256).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    alice = await scenario.connect("alice.exhaust")
    held = []
    try:
        for n in range(10):
            held += open_idle_connections(f"127.0.0.{n + 2}", 200)
        for connection in held[:100]:  # trickling: a byte of a request line each
            connection.send(b"G")
        started = time.monotonic()
        late = await scenario.connect("late.exhaust")
        await late.request("ping")
        served_s = time.monotonic() - started
        await alice.request("ping")
        for connection in held[:100]:
            connection.send(b"E")
        closed = closed_by_server(held, 1.0)
        print(f"    {len(held)} idle connections from 10 addresses (100 trickling): a new client served in "
              f"{served_s * 1000:.0f} ms; {closed} of them closed by the server meanwhile", flush=True)
        check(closed == 0, f"the server closed {closed} connections that were within every limit")
        crowd = open_idle_connections("127.0.0.20", 300)
        held += crowd
        refused = closed_by_server(crowd, 10.0, enough=300 - 256)
        print(f"    300 connections from one address: {refused} closed by the server at once", flush=True)
        check(refused >= 300 - 256, f"only {refused} of 300 connections from one address were refused (limit 256)")
        await (await scenario.connect("after.exhaust")).request("ping")
    finally:
        for connection in held:
            connection.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def user_quotas(scenario):
    # faults.json: limits.max_lines_per_user 3, max_members_per_line 4,
    # max_pending_invitations_per_user 2. One user created all the server's
    # lines (locking everyone out), and invitations of absent users grew a
    # line's members without bound, before these quotas.
    owner = await scenario.connect("owner.quota")
    created = [await owner.request("create_line") for _ in range(3)]
    lines = [line["line_id"] for line in created]
    error = await expect_error(owner.request("create_line"), 429, mentions="limits.max_lines_per_user")
    print(f"    a 4th line: 429 {error.reason!r}", flush=True)
    other = await scenario.connect("other.quota")
    await other.request("create_line")  # another user's quota is its own
    # Members: the owner and three absent users fill the first line.
    for name in ("m1.quota", "m2.quota", "m3.quota"):
        await owner.request("invite", line_id=lines[0], user=guest_id(name))
    error = await expect_error(owner.request("invite", line_id=lines[0], user=guest_id("m4.quota")), 503,
                               mentions="limits.max_members_per_line")
    print(f"    a 5th member by invitation: 503 {error.reason!r}", flush=True)
    token = created[0]["token"]
    joiner = await scenario.connect("m5.quota")
    await expect_error(joiner.request("join", line_id=lines[0], token=token), 503, mentions="limits.max_members_per_line")
    # Ringing invitations: two at once, the third refused until one ends.
    callees = [await scenario.connect(f"r{n}.quota") for n in range(3)]
    calls = [await owner.request("invite", line_id=lines[1], user=user_of(callee)["user"]) for callee in callees[:2]]
    error = await expect_error(owner.request("invite", line_id=lines[1], user=user_of(callees[2])["user"]), 429,
                               mentions="limits.max_pending_invitations_per_user")
    print(f"    a 3rd ringing invitation: 429 {error.reason!r}", flush=True)
    await owner.request("cancel", call_id=calls[0]["call_id"])
    await owner.request("invite", line_id=lines[1], user=user_of(callees[2])["user"])


SCENARIOS = [ghost_occupant, slow_reader, connection_exhaustion, user_quotas]

if __name__ == "__main__":
    from lines_helpers import run_scenarios
    sys.exit(run_scenarios(SCENARIOS, "faults in a line", timeout_s=60.0))
