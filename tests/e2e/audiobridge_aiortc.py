#!/usr/bin/python3
# e2e-test: audiobridge_aiortc
"""E2E: the `audiobridge` plugin (issue 13) mixing three aiortc clients.

Three clients, each its own WebSocket session and plugin handle, join one
room (max_participants 3, talk_hold_ms 500), each sending a sine tone
(440, 660, 880 Hz at -12 dBFS peak, 20 ms frames at 48 kHz) and recording
the one Opus stream it receives (decoded PCM laid out by RTP timestamp,
with arrival times). Joining, each sees the earlier ones in `joined` and
they see it; then each knows each to be talking (the `joined` list's flag,
then `talking` events): from then on all three are mixed. Then, in order (each scenario leaves the three as it found
them, `leave` ends the room), printing figures as it goes:

  mix        each client's 2 s of received audio holds the other two tones
             (each >= 20 dB above the spectrum's noise floor, within 6 dB
             of the level sent) and not its own (>= 20 dB below the others)
  mute       `configure muted:true` on 660: all three get `muted`; within
             5 s the other two mixes lose 660 (>= 20 dB below their other
             tone), keep the other tone, and 660's own mix keeps both;
             unmute brings 660 back the same way
  talking    880's track goes silent, on, silent, on: every client gets,
             for 880's id and nobody else, stopped-talking, talking,
             stopped-talking, talking; each stop >= 0.4 s after the tone
             stopped (hold 500 ms), each start after the tone started
  loss       440 drops 10 % of its outgoing RTP (seeded RNG, RTCP passes)
             for 6 s of received audio: in the other two mixes the 440 Hz
             component, in 10 ms windows, is never below 25 % of its
             median for more than 60 ms
  bad_input  from a fourth session, and on a joined handle, while the
             three stay in: 404 unknown room, 409 join twice, 400 missing
             `request`, wrong field types and out-of-range values (the
             reason names the field), 400 unknown request, 409 create of
             an existing room, 415 video-only and audio+video offers, 503
             room full, 409 configure/leave outside a room; afterwards
             `listparticipants` shows the joined handle unchanged and the
             three mixes hold the expected tones
  leave      `list` and `listparticipants` show the room and the three
             with their displays; 880 leaves: `left` reply, the others get
             `left`, their mixes lose 880 and keep the other tone, a second
             leave is 409; `destroy` sends the other two `destroyed`

What the own-tone margin meets: 880 = 2 x 660 - 440, so the 880 client's
own bin also holds the two-tone mix's third-order intermodulation from the
Opus codings (measured -43 to -52 dBFS, about 30 dB under the tones; with
660 muted it falls below -90): a margin of 20 dB, not more.

Stalls of the test itself. When this process stalls, its three tone
tracks stall together: the bridge gets nothing for a while, then a burst,
and rightly plays a gap in every mix. So the FFTs run in another process
(on the event loop, 3 x 2 s of them stalled the tracks about 200 ms; in a
thread, on a loaded machine, up to 100 ms, through the GIL), and every
measurement notes how late the tracks' frames went out: a level window
during which they were over 30 ms late is measured again (3 windows at
most), so is a loss window (same loss pattern) whose gaps came with such
a stall or with the whole mix silent at once (which a loss of 440's
packets cannot cause), and the talking sequence once when the tracks
stalled longer than the hold. Each retry is printed with its reason; a gap
without a stall fails at once.

`audiobridge_aiortc.py SCENARIO...` runs only those (the three always join
first). Run through run_e2e.sh (the build tree's plugins are loaded).
"""

import asyncio
import sys
import time
import traceback

import numpy

from aiortc_peer import configure_logging, use_loopback_only
from audio_tones import RtpDropper, amplitudes_per_window, analyse, dbfs, longest_gap, low_runs
from partyline_ws import RequestError

from audiobridge_room import (Bridge, EVENT_DEADLINE_S, GAP_FRACTION, HOLD_MS, LEVEL_DBFS, LEVEL_TOLERANCE_DB,
                              LOSS_ATTEMPTS, LOSS_SEED, LOSS_SHARE, LOSS_WINDOW_S,
                              MAX_GAP_MS, PLUGIN, ROOM, SPARE_ROOM, STALL_MS, TONES,
                              TOTAL_TIMEOUT_S, TestFailure, audio_offer, bridge, check,
                              check_mixes, expect_error, holds, off_loop, stalled_ms,
                              start_analysis, wait_until_mix)


async def mix(room):
    ids = {p.display: p.id for p in room.participants}
    print(f"    participants {ids}", flush=True)
    await check_mixes(room.participants, "mix")
    # One stream (checked at set-up); mono content decodes to equal channels.
    print(f"    largest left/right difference received: "
          f"{max(p.recorder.channel_difference for p in room.participants)}", flush=True)


async def mute(room):
    p660 = room.by_tone[660]
    others = [p for p in room.participants if p is not p660]
    for muted in (True, False):
        step = "muted" if muted else "unmuted"
        since = time.monotonic()
        reply = await p660.request({"request": "configure", "muted": muted})
        check(isinstance(reply, dict) and reply.get("audiobridge") == "configured" and reply.get("room") == ROOM
              and reply.get("id") == p660.id and reply.get("muted") is muted and reply.get("display") == p660.display
              and reply.get("gain") == 1, f"configure muted {muted}: {reply}")
        for p in room.participants:
            _, data = await p.wait_event("muted", lambda d: (d.get("participant") or {}).get("id") == p660.id,
                                         since=since)
            check(holds(data, {"room": ROOM, "participant": {"id": p660.id, "display": p660.display,
                                                              "muted": muted}}),
                  f"{p} got {data} after 660's configure muted {muted}")
        listener_checks = []
        for listener in others:
            other = next(q.frequency for q in others if q is not listener)
            present, absent = ([other], [660, listener.frequency]) if muted else ([other, 660], [listener.frequency])
            listener_checks.append(wait_until_mix(room.participants, listener, present, absent, f"660 {step}"))
        await asyncio.gather(*listener_checks)
        if muted:
            # 660's own mix is untouched by its mute.
            await check_mixes(room.participants, "660 muted, its own mix", listeners=[p660])
        listed = await room.creator_request({"request": "listparticipants", "room": ROOM})
        entry = next((e for e in listed.get("participants", []) if e.get("id") == p660.id), None)
        check(entry is not None and entry.get("muted") is muted, f"listparticipants after {step}: {listed}")


async def talking(room):
    """880 silent, on, silent, on; measured again (once) when the tone
    tracks stalled longer than the hold meanwhile (a stalled sender stops
    talking, rightly)."""
    for attempt in (1, 2):
        since = time.monotonic()
        try:
            await talking_sequence(room, since)
            break
        except TestFailure:
            stall = stalled_ms(room.participants, since)
            if attempt == 2 or stall < HOLD_MS - 100:
                raise
            print(f"    the tone tracks stalled {stall:.0f} ms meanwhile: once more", flush=True)
            await talking_again(room, room.by_tone[880])
    await check_mixes(room.participants, "880 talking again")


async def talking_again(room, p):
    """p's tone on, and the bridge hearing it (`listparticipants` says talking)."""
    p.track.set_silent(False)
    deadline = time.monotonic() + EVENT_DEADLINE_S
    while time.monotonic() < deadline:
        listed = await room.creator_request({"request": "listparticipants", "room": ROOM})
        if any(e.get("id") == p.id and e.get("talking") is True for e in listed.get("participants", [])):
            return
        await asyncio.sleep(0.1)  # polling a state that has no event when it is already so
    raise TestFailure(f"{p} not talking again within {EVENT_DEADLINE_S:g} s")


async def talking_sequence(room, since):
    p880 = room.by_tone[880]
    for silent in (True, False, True, False):
        switched = p880.track.set_silent(silent)
        kind = "stopped-talking" if silent else "talking"
        for p in room.participants:
            at, data = await p.wait_event(kind, lambda d: (d.get("participant") or {}).get("id") == p880.id,
                                          since=switched)
            check(data.get("room") == ROOM and data["participant"].get("display") == p880.display,
                  f"{p}: {kind} event {data}")
            delay = at - switched
            if silent:
                check(delay >= (HOLD_MS - 100) / 1000,
                      f"{p}: stopped-talking {delay:.3f} s after the tone stopped, before the {HOLD_MS} ms hold")
            print(f"    880 {'silent' if silent else 'on'}: {p} got {kind} after {delay:.3f} s", flush=True)
    for p in room.participants:
        entries = sorted((entry for kind in ("talking", "stopped-talking") for entry in p.events(kind, since)),
                         key=lambda entry: entry[0])
        ordered = [data["audiobridge"] for at, data in entries if data["participant"].get("id") == p880.id]
        check(ordered == ["stopped-talking", "talking", "stopped-talking", "talking"],
              f"{p}: 880's talking events in order {ordered}")
        strays = [(data["audiobridge"], data["participant"].get("id")) for at, data in entries
                  if data["participant"].get("id") != p880.id]
        check(not strays, f"{p}: talking events for steady talkers meanwhile: {strays}")


async def loss(room):
    """Up to LOSS_ATTEMPTS windows, each with the same seeded loss pattern:
    a window whose gaps came with a stall (the test's own tone frames late,
    or the listener's whole mix silent at once, which a loss of 440's
    packets cannot cause) is measured again; any other gap fails."""
    p440 = room.by_tone[440]
    listeners = [p for p in room.participants if p is not p440]
    for attempt in range(1, LOSS_ATTEMPTS + 1):
        problems, stalls = await loss_window(room, p440, listeners)
        if not problems:
            return
        if not stalls:
            raise TestFailure("; ".join(problems))
        print(f"    attempt {attempt} inconclusive ({'; '.join(stalls)}): measuring again", flush=True)
    raise TestFailure(f"{'; '.join(problems)} (in each of {LOSS_ATTEMPTS} attempts, with a stall)")


async def loss_window(room, p440, listeners):
    """One window of 440's loss: (problems, stalls that may explain them)."""
    dropper = p440.dropper
    dropper.restart(LOSS_SEED)
    started = time.monotonic()
    dropper.dropping = True
    try:
        windows = await asyncio.gather(*(p.recorder.window(LOSS_WINDOW_S) for p in listeners))
    finally:
        dropper.dropping = False
    most_late_ms = stalled_ms(room.participants, started - 0.1)
    print(f"    440 dropped {dropper.dropped} of {dropper.sent} RTP packets "
          f"({100 * dropper.dropped / max(dropper.sent, 1):.1f} %), longest burst {dropper.longest_burst}; "
          f"the tone tracks' frames at most {most_late_ms:.0f} ms late", flush=True)
    check(dropper.sent >= LOSS_WINDOW_S * 40 and dropper.dropped >= dropper.sent * LOSS_SHARE / 2,
          f"the loss shim dropped {dropper.dropped} of {dropper.sent} packets")
    bursts = drop_bursts(dropper.log)
    print(f"    drop bursts of 2 or more (s after the first packet: packets): "
          f"{', '.join(f'{at:.2f}: {n}' for at, n in bursts if n >= 2)}", flush=True)
    problems, stalls = [], []
    if most_late_ms > STALL_MS:
        stalls.append(f"the tone tracks' frames went out up to {most_late_ms:.0f} ms late")
    for listener, pcm in zip(listeners, windows):
        other = next(p.frequency for p in listeners if p is not listener)
        amplitudes = await off_loop(amplitudes_per_window, pcm, 440)
        others = await off_loop(amplitudes_per_window, pcm, other)
        longest, low, median = longest_gap(amplitudes, GAP_FRACTION)
        print(f"    {listener}: 440 Hz over {len(amplitudes) / 100:.2f} s, median {dbfs(median):.1f} dBFS, "
              f"{low} windows of 10 ms below {GAP_FRACTION:.0%} of it, longest gap {longest * 10} ms", flush=True)
        if abs(dbfs(median) - LEVEL_DBFS) > LEVEL_TOLERANCE_DB:
            problems.append(f"{listener}: 440 Hz median {dbfs(median):.1f} dBFS under loss")
        if longest * 10 <= MAX_GAP_MS:
            continue
        problems.append(f"{listener}: 440 Hz disappeared for {longest * 10} ms (> {MAX_GAP_MS} ms)")
        # Each long run: the windows around it in % of the median, when the
        # frame holding it arrived (the clock of the bursts), and whether the
        # other tone went with it.
        frames = listener.recorder.frames
        origin = dropper.log[0][0]
        other_median = float(numpy.median(others))
        for start, length in low_runs(amplitudes, GAP_FRACTION):
            if length * 10 <= MAX_GAP_MS:
                continue
            arrived = frames[min(listener.recorder.window_start + start // 2, len(frames) - 1)][0]
            around = amplitudes[max(0, start - 3):start + length + 3] / median
            other_low = int(numpy.sum(others[start:start + length] < GAP_FRACTION * other_median))
            print(f"      {listener}: {length * 10} ms low, arrived {arrived - origin:.2f} s: "
                  f"{' '.join(f'{100 * a:.0f}' for a in around)} %; {other} Hz low in {other_low} of those windows",
                  flush=True)
            if 2 * other_low >= length:
                stalls.append(f"{listener}'s whole mix went silent for {length * 10} ms")
    return problems, stalls


def drop_bursts(log):
    """[(seconds after the first packet, length)] of the runs of dropped packets in an RtpDropper log."""
    if not log:
        return []
    origin, bursts, start, length = log[0][0], [], None, 0
    for at, dropped in log + [(None, False)]:
        if dropped:
            start = at if length == 0 else start
            length += 1
        elif length:
            bursts.append((start - origin, length))
            length = 0
    return bursts


async def bad_input(room):
    mallory = room.mallory
    handle = (await mallory.request("attach", plugin=PLUGIN))["handle"]

    async def ask(body, jsep=None):
        return await bridge(mallory, handle, body, jsep)

    created = await ask({"request": "create", "room": SPARE_ROOM})
    check(holds(created, {"audiobridge": "created", "room": SPARE_ROOM}), f"create {SPARE_ROOM}: {created}")
    offer = await audio_offer()
    cases = [
        ("join an unknown room", ask({"request": "join", "room": "no-such-room", "display": "m"}, offer), 404, None),
        ("join without a jsep", ask({"request": "join", "room": SPARE_ROOM, "display": "m"}), 400, None),
        ("join, room a number", ask({"request": "join", "room": 5, "display": "m"}, offer), 400, "room"),
        ("join, empty display", ask({"request": "join", "room": SPARE_ROOM, "display": ""}, offer), 400, "display"),
        ("join, muted a string", ask({"request": "join", "room": SPARE_ROOM, "muted": "no"}, offer), 400, "muted"),
        ("no request", ask({"room": ROOM}), 400, None),
        ("request a number", ask({"request": 7}), 400, None),
        ("unknown request", ask({"request": "dance"}), 400, None),
        ("create, bad room id", ask({"request": "create", "room": "no spaces!"}), 400, "room"),
        ("create, max_participants 0", ask({"request": "create", "max_participants": 0}), 400, "max_participants"),
        ("create, talk_threshold 200", ask({"request": "create", "talk_threshold": 200}), 400, "talk_threshold"),
        ("create, talk_hold_ms a string", ask({"request": "create", "talk_hold_ms": "long"}), 400, "talk_hold_ms"),
        ("create an existing room", ask({"request": "create", "room": ROOM}), 409, None),
        ("listparticipants, unknown room", ask({"request": "listparticipants", "room": "no-such-room"}), 404, None),
        ("configure outside a room", ask({"request": "configure", "muted": True}), 409, None),
        ("leave outside a room", ask({"request": "leave"}), 409, None),
        ("join a full room", ask({"request": "join", "room": ROOM, "display": "m"}, offer), 503, None),
        ("video-only offer", ask({"request": "join", "room": SPARE_ROOM, "display": "m"},
                                 await audio_offer(video=True, audio=False)), 415, None),
        ("audio+video offer", ask({"request": "join", "room": SPARE_ROOM, "display": "m"},
                                  await audio_offer(video=True)), 415, None),
    ]
    p440 = room.by_tone[440]
    cases += [
        ("join twice (a joined handle)", p440.request({"request": "join", "room": SPARE_ROOM, "display": "again"},
                                                       await audio_offer()), 409, None),
        ("configure, muted a string", p440.request({"request": "configure", "muted": "yes"}), 400, "muted"),
        ("configure, gain 9", p440.request({"request": "configure", "gain": 9}), 400, "gain"),
        ("configure, gain a string", p440.request({"request": "configure", "gain": "loud"}), 400, "gain"),
    ]
    for what, awaitable, code, mentions in cases:
        error = await expect_error(awaitable, code, mentions)
        print(f"    {what}: {error.code} {error.reason}", flush=True)
    # The spare room stayed empty, the real one holds the three, unchanged.
    rooms = (await ask({"request": "list"})).get("rooms", [])
    spare = next((r for r in rooms if r.get("room") == SPARE_ROOM), None)
    check(spare is not None and spare.get("participants") == 0, f"list after bad joins: {rooms}")
    listed = await ask({"request": "listparticipants", "room": ROOM})
    entries = {e.get("id"): e for e in listed.get("participants", [])}
    check(set(entries) == {p.id for p in room.participants}, f"listparticipants after bad input: {listed}")
    entry = entries[p440.id]
    check(entry.get("muted") is False and entry.get("gain") == 1 and entry.get("display") == p440.display,
          f"440 after rejected configures: {entry}")
    destroyed = await ask({"request": "destroy", "room": SPARE_ROOM})
    check(holds(destroyed, {"audiobridge": "destroyed", "room": SPARE_ROOM}), f"destroy {SPARE_ROOM}: {destroyed}")
    await mallory.request("detach", handle=handle)
    await check_mixes(room.participants, "after bad input")


async def leave(room):
    rooms = (await room.creator_request({"request": "list"})).get("rooms", [])
    entry = next((r for r in rooms if r.get("room") == ROOM), None)
    check(holds(entry, {"room": ROOM, "description": "three tones", "participants": 3, "max_participants": 3}),
          f"list: {rooms}")
    listed = await room.creator_request({"request": "listparticipants", "room": ROOM})
    check(listed.get("audiobridge") == "participants" and listed.get("room") == ROOM, f"listparticipants: {listed}")
    entries = sorted(listed.get("participants", []), key=lambda e: e.get("id"))
    expected = sorted(room.participants, key=lambda p: p.id)
    check([(e.get("id"), e.get("display")) for e in entries] == [(p.id, p.display) for p in expected],
          f"listparticipants: {listed}")
    for e in entries:
        check(e.get("muted") is False and e.get("talking") is True and e.get("gain") == 1,
              f"listparticipants entry {e}")
    print(f"    listparticipants: {entries}", flush=True)

    p880 = room.by_tone[880]
    stay = [p for p in room.participants if p is not p880]
    since = time.monotonic()
    reply = await p880.request({"request": "leave"})
    check(holds(reply, {"audiobridge": "left", "room": ROOM, "id": p880.id}), f"leave: {reply}")
    for p in stay:
        _, data = await p.wait_event("left", lambda d: (d.get("participant") or {}).get("id") == p880.id, since=since)
        expected = {"audiobridge": "left", "room": ROOM, "participant": {"id": p880.id, "display": p880.display}}
        check(holds(data, expected), f"{p}: left event {data}")
    # (880's track is not sent any more: only the others' stalls count.)
    await asyncio.gather(*(wait_until_mix(stay, p, [next(q.frequency for q in stay if q is not p)],
                                          [880, p.frequency], "880 left") for p in stay))
    await expect_error(p880.request({"request": "leave"}), 409)
    since = time.monotonic()
    destroyed = await room.creator_request({"request": "destroy", "room": ROOM})
    check(holds(destroyed, {"audiobridge": "destroyed", "room": ROOM}), f"destroy: {destroyed}")
    for p in stay:
        _, data = await p.wait_event("destroyed", since=since)
        check(holds(data, {"audiobridge": "destroyed", "room": ROOM}), f"{p}: destroyed event {data}")
    await expect_error(room.creator_request({"request": "listparticipants", "room": ROOM}), 404)


SCENARIOS = [mix, mute, talking, loss, bad_input, leave]


async def restore(room):
    """What a failed scenario may have left changed: 660 muted, 880 silent, 440 dropping."""
    for p in room.participants:
        p.track.silent = False
        if p.dropper:
            p.dropper.dropping = False
    try:
        await room.by_tone[660].request({"request": "configure", "muted": False})
    except Exception:  # noqa: BLE001 - best effort
        pass


async def run(chosen):
    room = Bridge()
    failures = []
    analysis = start_analysis()
    try:
        await off_loop(analyse, numpy.zeros(960), TONES)  # started before any measurement
        started = time.monotonic()
        print("  set up: three tones join", flush=True)
        await room.set_up()
        print(f"  ok   set up ({time.monotonic() - started:.1f} s)", flush=True)
        for scenario in chosen:
            started = time.monotonic()
            try:
                await scenario(room)
                errors = room.errors()
                check(not errors, f"aiortc errors: {errors}")
                print(f"  ok   {scenario.__name__} ({time.monotonic() - started:.1f} s)", flush=True)
            except Exception as error:  # noqa: BLE001 - reported, the next scenario runs
                print(f"  FAIL {scenario.__name__}: {error}", flush=True)
                if not isinstance(error, (TestFailure, RequestError)):
                    traceback.print_exc()
                failures.append(scenario.__name__)
                await restore(room)
    finally:
        await room.close()
        analysis.shutdown(cancel_futures=True)
    return failures


def main():
    configure_logging()
    use_loopback_only()
    wanted = sys.argv[1:]
    chosen = [s for s in SCENARIOS if not wanted or s.__name__ in wanted]
    if wanted and len(chosen) != len(set(wanted)):
        print(f"unknown scenario in {wanted}; known: {[s.__name__ for s in SCENARIOS]}")
        return 2

    async def bounded():
        return await asyncio.wait_for(run(chosen), TOTAL_TIMEOUT_S)

    started = time.monotonic()
    try:
        failures = asyncio.run(bounded())
    except Exception as error:  # noqa: BLE001 - set-up failed or time ran out
        print(f"FAIL: audiobridge set up or run: {error!r}")
        traceback.print_exc()
        return 1
    if failures:
        print(f"FAIL: audiobridge: {len(failures)} of {len(chosen)} scenarios failed: {', '.join(failures)}")
        return 1
    print(f"PASS: audiobridge with three aiortc tones ({len(chosen)} scenarios, {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
