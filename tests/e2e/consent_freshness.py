#!/usr/bin/python3
# e2e-test: consent_freshness
"""E2E: consent freshness (RFC 7675): a peer that stops answering is gone.

A watcher joins a line with an aiortc peer; a child process joins the same
line with another and, once the watcher sees it `connected`, is frozen
(SIGSTOP): it answers no more STUN consent checks while its WebSocket stays
open (consent_freshness.json makes the WebSocket idle timeouts longer than
the test). Then (bounds explained at CONSENT_MIN_S):

- the watcher gets `occupants` without the frozen session no earlier than
  CONSENT_MIN_S and no later than CONSENT_MAX_S after the freeze (the line
  drops an occupant whose transport failed);
- the frozen client itself, thawed afterwards, finds `webrtc_state` `failed`
  with a reason naming lost consent among the events the server sent it
  meanwhile (so it was consent, not any other ICE failure);
- the server keeps serving: the watcher stays connected in the line, and a
  new client still gets its echo.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

from aiortc_peer import EchoPeer, configure_logging, use_loopback_only
from lines_helpers import (LinePeer, TestFailure, check, connect, join_until_secure, last_occupants, session_of,
                           wait_occupants)
from partyline_ws import SignalingClient

WS_URL = os.environ.get("PARTYLINE_WS_URL", "ws://127.0.0.1:8088/ws")
# The server's consent freshness is libnice's (NICE_AGENT_OPTION_CONSENT_FRESHNESS;
# partyline has no setting for it), libnice 0.1.21's agent-priv.h:
# consent is lost NICE_AGENT_TIMER_CONSENT_TIMEOUT = 10 s after the last
# consent response, and checks go out every NICE_AGENT_TIMER_CONSENT_DEFAULT
# = 5 s randomised to 0.8-1.2 (RFC 7675 section 5.1), so at most 6 s apart.
# The last response before the freeze came at most one interval before it:
# the loss comes no earlier than 10 - 6 s after the freeze. A server
# dropping the occupant sooner is not waiting for consent.
CONSENT_TIMEOUT_S = 10.0
CHECK_INTERVAL_MAX_S = 6.0
CONSENT_MIN_S = CONSENT_TIMEOUT_S - CHECK_INTERVAL_MAX_S
# And no later than the timeout after the freeze (libnice's consent timer
# fires at the deadline itself), plus 5 s for the failure to reach the
# line's other occupants (the occupants coalescing is 50 ms; 5 s covers a
# loaded ASan build).
CONSENT_MAX_S = CONSENT_TIMEOUT_S + 5.0
CONSENT_REASON = "consent expired"


async def run_frozen_peer(line_id, token):
    """The child: joins the line, says so once secure, then waits (frozen
    meanwhile) for a line on stdin, and prints the server's state events."""
    joined = await join_until_secure("frozen", line_id, token)
    if joined is None:
        return 1
    client, _peer, since = joined
    await asyncio.to_thread(sys.stdin.readline)  # the parent thawed us
    # What the server sent while we were frozen waits in our socket.
    await client.wait_for_event(lambda e: e.get("event") == "webrtc_state" and e.get("state") == "failed",
                                5.0, since=since)
    told = [e for e in client.events[since:] if e.get("event") in ("webrtc_state", "error")]
    print(json.dumps(told), flush=True)
    return 0


async def second_call_works():
    client = await SignalingClient.connect(WS_URL, name="after")
    peer = EchoPeer("after")
    try:
        await peer.start(client)
        return await peer.wait_for_frames(50, 10, 20.0)
    finally:
        await peer.close()
        await client.close()


async def read_line(child, timeout):
    return (await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), timeout)).strip()


async def freeze_and_watch(watcher, child, line_id):
    first_line = await read_line(child, 30.0)
    check(first_line.startswith("SECURE "), f"the call to freeze did not start: {first_line!r}")
    frozen_session = first_line.split()[1]
    await wait_occupants(watcher, line_id, [session_of(watcher), frozen_session], timeout=15.0, state="connected")

    frozen_at = time.monotonic()
    child.send_signal(signal.SIGSTOP)
    try:
        await wait_occupants(watcher, line_id, [session_of(watcher)], timeout=CONSENT_MAX_S)
    except TestFailure as error:
        raise TestFailure(f"the frozen occupant was not dropped within {CONSENT_MAX_S:g} s of the freeze: {error}")
    elapsed = time.monotonic() - frozen_at
    print(f"the line dropped the frozen occupant {elapsed:.1f} s after the freeze "
          f"(expected {CONSENT_MIN_S:g} to {CONSENT_MAX_S:g} s)")
    check(elapsed >= CONSENT_MIN_S,
          f"the frozen occupant was dropped {elapsed:.1f} s after the freeze, before its consent "
          f"can have expired ({CONSENT_MIN_S:g} s at the earliest)")

    child.send_signal(signal.SIGCONT)
    child.stdin.write("report\n")
    child.stdin.flush()
    told = json.loads(await read_line(child, 15.0) or "null")
    print(f"the frozen client was told: {told}")
    states = [e for e in told or [] if e.get("event") == "webrtc_state"]
    check(states and states[0].get("state") == "failed" and CONSENT_REASON in (states[0].get("reason") or ""),
          f"the frozen client's next webrtc_state after secure should be failed for '{CONSENT_REASON}', got {told}")

    # The watcher is untouched: still in the line, connected.
    line = last_occupants(watcher, line_id)
    check([occupant["state"] for occupant in line["occupants"]] == ["connected"],
          f"the watcher should stay connected in the line: {line}")


async def main():
    watcher = await connect("watcher")
    peer = LinePeer(watcher, audio=True)
    child = None
    try:
        line = await watcher.request("create_line")
        line_id = line["line_id"]
        await peer.join(line_id)
        child = subprocess.Popen([sys.executable, __file__, "--peer", line_id, line["token"]],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        await freeze_and_watch(watcher, child, line_id)
        await peer.settle()
        check(not peer.errors, f"the watcher's aiortc could not apply the server's SDP: {peer.errors}")
        check(await second_call_works(), "a new echo call did not work after the consent failure")
        print("PASS: consent freshness")
        return 0
    except (TestFailure, asyncio.TimeoutError) as error:
        print(f"FAIL: {error!r}" if isinstance(error, asyncio.TimeoutError) else f"FAIL: {error}")
        return 1
    finally:
        if child is not None:
            child.kill()
            child.wait()
        await peer.close()
        await watcher.close()


if __name__ == "__main__":
    configure_logging()
    use_loopback_only()
    if sys.argv[1:2] == ["--peer"]:
        sys.exit(asyncio.run(run_frozen_peer(*sys.argv[2:4])))
    sys.exit(asyncio.run(main()))
