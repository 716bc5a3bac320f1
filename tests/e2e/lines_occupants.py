#!/usr/bin/python3
# e2e-test: lines_occupants
"""E2E: the `occupants` event (docs/protocol.md, "Phone lines"). Three
clients with real aiortc offers join a line and leave it in every order;
after each step, every remaining occupant's LAST `occupants` event must equal
what `get_line` returns (compared as JSON), list exactly the sessions in the
line, and show each occupant's user, name, publishing and muted flags.

Run through run_e2e.sh with lines.json. `lines_occupants.py SCENARIO...`
runs only those.
"""

import itertools
import sys

from lines_helpers import (MAX_OCCUPANTS_PER_LINE, EventCursor, barrier, check, check_occupant_form, expect_error,
                           guest_id, last_occupants, session_of, wait_occupants)

SETTLE_S = 15.0  # a join reaches `connected` once its DTLS is done


async def check_line(clients, line_id, expected_flags, step):
    """Every client in `clients` (the occupants, in join order) sees them all
    connected in its last occupants event, and that event equals get_line."""
    sessions = [session_of(client) for client in clients]
    for client in clients:
        await wait_occupants(client, line_id, sessions, timeout=SETTLE_S, state="connected")
    for client in clients:
        got = (await client.request("get_line", line_id=line_id))["line"]
        last = last_occupants(client, line_id)
        check(got == last, f"{step}: {client.name}'s last occupants event {last} != get_line {got}")
        check(got.get("line_id") == line_id and set(got) == {"line_id", "occupants"}, f"{step}: line form {got}")
        by_session = {occupant["session"]: occupant for occupant in got["occupants"]}
        check(len(by_session) == len(got["occupants"]), f"{step}: a session listed twice: {got}")
        for member in clients:
            occupant = by_session[session_of(member)]
            check_occupant_form(occupant, f"{step}/{client.name}")
            check((occupant["user"], occupant["name"]) == (guest_id(member.name), member.name),
                  f"{step}: occupant {occupant} should be user {guest_id(member.name)} and name {member.name}")
            publishing, muted = expected_flags[member.name]
            check(occupant["publishing"] == publishing, f"{step}: {member.name} publishing {occupant}")
            check(occupant["muted"] == muted, f"{step}: {member.name} muted {occupant}")


async def join_and_leave_in_every_order(scenario):
    names = ["ann.o", "ben.o", "cat.o"]
    clients = {name: await scenario.connect(name) for name in names}
    # ann publishes audio and video, the others audio only: publishing must tell.
    media = {"ann.o": (True, True), "ben.o": (True, False), "cat.o": (True, False)}
    unmuted = {"audio": False, "video": False}
    flags = {name: ({"audio": media[name][0], "video": media[name][1]}, unmuted) for name in names}
    for order in itertools.permutations(names):
        creator = clients[names[0]]
        line = await creator.request("create_line")
        line_id = line["line_id"]
        inside, peers = [], {}
        for name in names:  # join in a fixed order; leave in every order
            peers[name] = scenario.peer(clients[name], audio=media[name][0], video=media[name][1])
            await peers[name].join(line_id, token=line["token"])
            inside.append(clients[name])
            await check_line(inside, line_id, flags, f"leave order {order}, after {name} joined")
        for name in order:
            leaver = clients[name]
            before_leave = len(leaver.events)
            await leaver.request("leave", line_id=line_id)
            inside.remove(leaver)
            await expect_error(leaver.request("leave", line_id=line_id), 404)
            await check_line(inside, line_id, flags, f"leave order {order}, after {name} left")
            # The leaver's PeerConnection is closed by the server.
            closed = await leaver.wait_for_event(
                lambda e: e.get("event") == "webrtc_state" and e.get("state") == "closed", 5.0, since=before_leave)
            check(closed is not None, f"{name}: no webrtc_state closed after leave")
            await peers[name].close()
        print(f"    leave order {' '.join(order)}: ok")


async def mute_flags(scenario):
    ann, ben = await scenario.connect("ann.m"), await scenario.connect("ben.m")
    await expect_error(ann.request("mute", audio=True), 404)  # outside a line
    line = await ann.request("create_line")
    line_id = line["line_id"]
    await scenario.peer(ann, audio=True, video=True).join(line_id)
    await scenario.peer(ben, audio=True, video=False).join(line_id, token=line["token"])
    publishing = {"ann.m": {"audio": True, "video": True}, "ben.m": {"audio": True, "video": False}}
    flags = {name: (publishing[name], {"audio": False, "video": False}) for name in publishing}
    await check_line([ann, ben], line_id, flags, "both joined")

    steps = [({"audio": True}, {"audio": True, "video": False}),
             ({"video": True}, {"audio": True, "video": True}),
             ({"audio": False, "video": False}, {"audio": False, "video": False}),
             ({"audio": True, "video": True}, {"audio": True, "video": True})]
    for request, expected in steps:
        cursors = [EventCursor(client, accept=lambda e: e.get("event") == "occupants") for client in (ann, ben)]
        await ann.request("mute", **request)
        flags["ann.m"] = (publishing["ann.m"], expected)
        for cursor in cursors:
            event = await cursor.expect("occupants")
            mine = next(o for o in event["line"]["occupants"] if o["session"] == session_of(ann))
            check(mine["muted"] == expected, f"after mute {request}: {cursor.client.name} sees {mine['muted']}")
        await check_line([ann, ben], line_id, flags, f"after mute {request}")
        await barrier(ann, ben)
        for cursor in cursors:
            await cursor.expect_quiet(0.1)  # one occupants event per change


async def full_line(scenario):
    clients = [await scenario.connect(f"u{index}.full") for index in range(MAX_OCCUPANTS_PER_LINE + 1)]
    line = await clients[0].request("create_line")
    line_id = line["line_id"]
    for client in clients[:-1]:
        await scenario.peer(client).join(line_id, token=line["token"])
    late = clients[-1]
    late_peer = scenario.peer(late)
    await expect_error(late.request("join", line_id=line_id, token=line["token"], jsep=await late_peer.offer()), 503)
    # Refused for want of room, it did not become a member either (it took
    # a place of limits.max_members_per_line before).
    members = (await clients[0].request("get_line", line_id=line_id))["members"]
    check(late.handshake["user"]["user"] not in [member["user"] for member in members],
          f"the refused joiner became a member: {members}")
    await expect_error(late.request("get_line", line_id=line_id), 403)
    sessions = [session_of(client) for client in clients[:-1]]
    for client in clients[:-1]:
        await wait_occupants(client, line_id, sessions)
    # A place frees up: the late one gets in.
    await clients[0].request("leave", line_id=line_id)
    await scenario.peer(late).join(line_id, token=line["token"])
    await wait_occupants(late, line_id, sessions[1:] + [session_of(late)])
    # Already in a line: 409.
    await expect_error(late.request("join", line_id=line_id, jsep=await scenario.peer(late).offer()), 409)


SCENARIOS = [join_and_leave_in_every_order, mute_flags, full_line]

if __name__ == "__main__":
    from lines_helpers import run_scenarios
    sys.exit(run_scenarios(SCENARIOS, "phone-line occupants", timeout_s=170.0))
