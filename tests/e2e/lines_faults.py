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

Run through run_e2e.sh with faults.json (lines.json plus ice.setup_timeout_ms
3000). `lines_faults.py SCENARIO...` runs only those.
"""

import os
import re
import sys
import time

from lines_helpers import check, session_of, wait_occupants

SETUP_TIMEOUT_S = 3.0


def without_candidates(sdp):
    return "".join(line for line in sdp.splitlines(keepends=True)
                   if not re.match(r"a=(candidate|end-of-candidates)", line))


async def ghost_occupant(scenario):
    alice = await scenario.connect("alice.fault")
    ghost = await scenario.connect("ghost.fault")
    line_id = (await alice.request("create_line"))["line_id"]
    await alice.request("invite", line_id=line_id, user="ghost.fault")  # makes the ghost a member
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
    await alice.request("invite", line_id=line_id, user="reader.slow")
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


SCENARIOS = [ghost_occupant, slow_reader]

if __name__ == "__main__":
    from lines_helpers import run_scenarios
    sys.exit(run_scenarios(SCENARIOS, "faults in a line", timeout_s=60.0))
