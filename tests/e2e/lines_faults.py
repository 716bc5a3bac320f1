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

Run through run_e2e.sh with faults.json (lines.json plus ice.setup_timeout_ms
3000). `lines_faults.py SCENARIO...` runs only those.
"""

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


SCENARIOS = [ghost_occupant]

if __name__ == "__main__":
    from lines_helpers import run_scenarios
    sys.exit(run_scenarios(SCENARIOS, "faults in a line", timeout_s=60.0))
