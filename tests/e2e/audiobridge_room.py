"""The harness of the audiobridge end-to-end test (audiobridge_aiortc.py):
its constants, the checks, the plugin's requests, one aiortc participant
with a tone (Participant), the measurements of what each participant hears
(levels per tone, taken in a separate process so the tone senders never
stall), and the room of three (Bridge). The scenarios are in
audiobridge_aiortc.py; the tone track, recorder and loss shim in
audio_tones.py.
"""

import asyncio
import concurrent.futures
import multiprocessing
import os
import time


from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import VideoStreamTrack

from aiortc_peer import add_server_candidate
from audio_tones import PcmRecorder, RtpDropper, ToneTrack, analyse
from partyline_ws import RequestError, SignalingClient

WS_URL = os.environ.get("PARTYLINE_WS_URL", "ws://127.0.0.1:8088/ws")
SANITIZED = os.environ.get("PARTYLINE_SERVER_SANITIZED") == "1"
PLUGIN = "audiobridge"
ROOM = "e2e-bridge"
SPARE_ROOM = "e2e-bridge.spare"
TONES = (440, 660, 880)
LEVEL_DBFS = -12.0
HOLD_MS = 500
MEDIA_DEADLINE_S = 30.0 if SANITIZED else 20.0  # first audio after the join
EVENT_DEADLINE_S = 10.0
CHANGE_DEADLINE_S = 5.0  # a mute, unmute or leave heard in the mixes
PRESENT_ABOVE_FLOOR_DB = 20.0
LEVEL_TOLERANCE_DB = 6.0
ABSENT_BELOW_DB = 20.0
LOSS_SHARE = 0.10
LOSS_SEED = 13
LOSS_WINDOW_S = 6.0
LOSS_ATTEMPTS = 3  # a window spoilt by a stall is measured again (same loss pattern)
STALL_MS = 30  # the test's own tone frames later than this: the test process stalled
STALL_ATTEMPTS = 3  # a level measurement spoilt by such a stall is made again
GAP_FRACTION = 0.25
MAX_GAP_MS = 60
TOTAL_TIMEOUT_S = 170.0


class TestFailure(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def holds(data, expected):
    """`data` has every field of `expected` with that value (nested objects
    likewise); fields the protocol does not name are let through."""
    if isinstance(expected, dict):
        return isinstance(data, dict) and all(key in data and holds(data[key], value)
                                              for key, value in expected.items())
    if isinstance(expected, bool) or isinstance(data, bool):
        return data is expected  # True is not 1 here
    return data == expected


async def expect_error(awaitable, code, mentions=None):
    """Awaits a request that must fail with `code` (and a reason naming
    `mentions`); returns the RequestError."""
    try:
        response = await awaitable
    except RequestError as error:
        check(error.code == code, f"expected error {code}, got {error.code} ({error.reason})")
        if mentions:
            check(mentions in (error.reason or ""), f"error {code}: the reason should name '{mentions}': "
                                                    f"'{error.reason}'")
        return error
    raise TestFailure(f"expected error {code}, got success {response}")


async def bridge(client, handle, body, jsep=None, timeout=EVENT_DEADLINE_S):
    """A plugin message; returns the response's data (the plugin's reply)."""
    extra = {"jsep": jsep} if jsep is not None else {}
    response = await client.request("message", timeout=timeout, handle=handle, body=body, **extra)
    return response.get("data")


def is_bridge_event(event, handle, kind=None):
    data = event.get("data") or {}
    return (event.get("event") == "plugin" and event.get("plugin") == PLUGIN and event.get("handle") == handle
            and (kind is None or data.get("audiobridge") == kind))


async def audio_offer(video=False, audio=True):
    """An offer from a throwaway aiortc PeerConnection (closed again)."""
    pc = RTCPeerConnection()
    try:
        if audio:
            pc.addTransceiver("audio", direction="sendrecv")
        if video:
            pc.addTrack(VideoStreamTrack())
        await pc.setLocalDescription(await pc.createOffer())
        return {"type": "offer", "sdp": pc.localDescription.sdp}
    finally:
        await pc.close()


class Participant:
    """One client: its own session, handle and PeerConnection sending a tone
    and recording the mix it receives. `log` holds (arrival monotonic time,
    data) of its handle's audiobridge events."""

    def __init__(self, client, handle, frequency):
        self.client = client
        self.handle = handle
        self.frequency = frequency
        self.display = f"tone-{frequency}"
        self.id = None
        self.track = ToneTrack(frequency, LEVEL_DBFS)
        self.pc = RTCPeerConnection()
        self.pc.addTrack(self.track)
        self.dropper = None
        self.recorder = None
        self.tracks = 0
        self.log = []
        self.errors = []
        self._pending_candidates = []
        self._answer_applied = False
        self._got_track = asyncio.Event()
        self.pc.on("track", self._on_track)
        client.on_event(self._on_event)

    @classmethod
    async def connect(cls, frequency):
        client = await SignalingClient.connect(WS_URL, name=f"tone{frequency}")
        attached = await client.request("attach", plugin=PLUGIN)
        return cls(client, attached["handle"], frequency)

    def __str__(self):
        return self.display

    async def request(self, body, jsep=None):
        return await bridge(self.client, self.handle, body, jsep)

    def events(self, kind, since=0.0):
        """(arrival, data) of this handle's `kind` events that arrived at `since` or later."""
        return [(at, data) for at, data in self.log if data.get("audiobridge") == kind and at >= since]

    def talking(self, participant_id):
        """Whether, by this handle's events so far, that participant talks:
        its flag in our `joined` list, then its talking events in order."""
        state = None
        for _, data in self.log:
            kind = data.get("audiobridge")
            if kind == "joined" and data.get("id") == self.id:
                state = next((e.get("talking") for e in data.get("participants", []) if e.get("id") == participant_id),
                             state)
            elif kind in ("talking", "stopped-talking") and (data.get("participant") or {}).get("id") == participant_id:
                state = kind == "talking"
        return state is True

    async def wait_event(self, kind, predicate=lambda data: True, since=0.0, timeout=EVENT_DEADLINE_S):
        """The first (arrival, data) of a `kind` event matching `predicate`
        that arrived at `since` or later."""
        def find():
            return next((entry for entry in self.events(kind, since) if predicate(entry[1])), None)
        found = await self.client.wait_until(find, timeout)
        check(found is not None, f"{self}: no '{kind}' event within {timeout:g} s "
                                 f"(audiobridge events: {[data for _, data in self.log]})")
        return found

    async def join(self, room):
        """join with the offer; the answer comes in the `joined` event.
        Returns that event's data."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = {"type": "offer", "sdp": self.pc.localDescription.sdp}
        started = time.monotonic()
        reply = await self.request({"request": "join", "room": room, "display": self.display}, jsep=offer)
        check(isinstance(reply, dict) and reply.get("audiobridge") == "joining" and reply.get("room") == room
              and isinstance(reply.get("id"), int) and not isinstance(reply.get("id"), bool),
              f"{self}: join reply {reply}")
        self.id = reply["id"]
        event = await self.client.wait_for_event(
            lambda e: is_bridge_event(e, self.handle, "joined") and e["data"].get("id") == self.id, EVENT_DEADLINE_S)
        check(event is not None, f"{self}: no joined event for id {self.id}: {[d for _, d in self.log]}")
        jsep = event.get("jsep") or {}
        check(jsep.get("type") == "answer" and jsep.get("sdp"), f"{self}: joined event without an answer: {event}")
        check(event["data"].get("room") == room, f"{self}: joined event {event['data']}")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="answer"))
        self._answer_applied = True
        for candidate in self._pending_candidates:
            await self._add_candidate(candidate)
        self._pending_candidates.clear()
        print(f"  {self} joined as {self.id} ({time.monotonic() - started:.2f} s to the answer)", flush=True)
        return event["data"]

    async def wait_media(self):
        """Waits for the received track and 25 frames (0.5 s) of it."""
        try:
            await asyncio.wait_for(self._got_track.wait(), MEDIA_DEADLINE_S)
        except asyncio.TimeoutError:
            raise TestFailure(f"{self}: no track within {MEDIA_DEADLINE_S:g} s (ice {self.pc.iceConnectionState}, "
                              f"connection {self.pc.connectionState})") from None
        check(await self.recorder.wait_frames(25, MEDIA_DEADLINE_S),
              f"{self}: {len(self.recorder.frames)} audio frames within {MEDIA_DEADLINE_S:g} s "
              f"(connection {self.pc.connectionState})")

    async def close(self):
        if self.recorder:
            self.recorder.cancel()
        await self.pc.close()
        await self.client.close()

    def _on_track(self, track):
        self.tracks += 1
        if track.kind == "audio" and self.recorder is None:
            self.recorder = PcmRecorder(track)
            self._got_track.set()

    def _on_event(self, event):
        if is_bridge_event(event, self.handle):
            self.log.append((time.monotonic(), event["data"]))
        elif event.get("event") == "ice_candidate" and event.get("handle") == self.handle:
            candidate = event.get("candidate")
            if self._answer_applied:
                asyncio.ensure_future(self._add_candidate(candidate))
            else:
                self._pending_candidates.append(candidate)

    async def _add_candidate(self, candidate):
        try:
            await add_server_candidate(self.pc, candidate)
        except Exception as error:  # noqa: BLE001 - reported by the scenario runner
            self.errors.append(f"candidate {candidate}: {error!r}")


# ------------------------------------------------------------ measurements

_analysis = None  # the process the analysis runs in


def start_analysis():
    """A process for the FFTs, so that they never hold this one's event loop
    (or its GIL): a stalled loop stalls the tone tracks, which the bridge
    rightly plays as a gap."""
    global _analysis
    _analysis = concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return _analysis


async def off_loop(function, *arguments):
    return await asyncio.get_running_loop().run_in_executor(_analysis, function, *arguments)


def describe(levels):
    return ", ".join(f"{frequency} Hz {level:6.1f}" for frequency, level in levels.items())


def stalled_ms(participants, since):
    """How late (ms) the tone tracks' frames went out at worst since `since`:
    how long this process stalled (its frames then go out in a burst, the
    bridge conceals and then skips: a gap that is the test's, not the
    bridge's)."""
    return 1000 * max(p.track.most_late(since) for p in participants)


async def stall_free_windows(everyone, listeners, seconds, what):
    """The next `seconds` of each listener's audio, measured again (at most
    STALL_ATTEMPTS times) while the tone tracks stalled over STALL_MS."""
    for attempt in range(1, STALL_ATTEMPTS + 1):
        started = time.monotonic()
        windows = await asyncio.gather(*(p.recorder.window(seconds) for p in listeners))
        stall = stalled_ms(everyone, started - 0.1)  # frames on their way when the window began count too
        if stall <= STALL_MS or attempt == STALL_ATTEMPTS:
            return windows
        print(f"    {what}: the tone tracks stalled {stall:.0f} ms meanwhile: measuring again", flush=True)


async def measure(participants, seconds=2.0, everyone=None):
    """{participant: (levels {Hz: dBFS}, noise floor dBFS)} over the next
    `seconds` of audio each receives (measured at the same time)."""
    windows = await stall_free_windows(everyone or participants, participants, seconds, "mix")
    return {p: await off_loop(analyse, pcm, TONES) for p, pcm in zip(participants, windows)}


def hears(levels, floor, frequency):
    """Why `frequency` is not clearly present (None when it is)."""
    level = levels[frequency]
    if level < floor + PRESENT_ABOVE_FLOOR_DB:
        return f"{frequency} Hz at {level:.1f} dBFS, less than {PRESENT_ABOVE_FLOOR_DB:g} dB above the floor"
    if abs(level - LEVEL_DBFS) > LEVEL_TOLERANCE_DB:
        return f"{frequency} Hz at {level:.1f} dBFS, not within {LEVEL_TOLERANCE_DB:g} dB of the {LEVEL_DBFS:g} sent"
    return None


def lacks(levels, frequency, present):
    """Why `frequency` is not clearly absent next to the `present` tones."""
    loudest_present = min(levels[f] for f in present)
    if levels[frequency] > loudest_present - ABSENT_BELOW_DB:
        return (f"{frequency} Hz at {levels[frequency]:.1f} dBFS, less than {ABSENT_BELOW_DB:g} dB below "
                f"{loudest_present:.1f}")
    return None


def check_mix(who, levels, floor, present, absent, step):
    problems = [hears(levels, floor, f) for f in present] + [lacks(levels, f, present) for f in absent]
    problems = [p for p in problems if p]
    check(not problems, f"{step}: {who}'s mix: {'; '.join(problems)} ({describe(levels)}, floor {floor:.1f})")


async def check_mixes(participants, step, listeners=None, missing=()):
    """Every listener's (default: every participant's) mix holds the other
    participants' tones but those in `missing`, and neither its own nor
    those in `missing`."""
    measured = await measure(listeners or participants, everyone=participants)
    for p, (levels, floor) in measured.items():
        present = [q.frequency for q in participants if q is not p and q.frequency not in missing]
        absent = [p.frequency] + [f for f in missing if f != p.frequency]
        print(f"    {step}: {p} hears {describe(levels)} dBFS, floor {floor:.1f}", flush=True)
        check_mix(p, levels, floor, present, absent, step)


async def wait_until_mix(everyone, listener, present, absent, step, deadline_s=CHANGE_DEADLINE_S):
    """Measures the listener's mix in consecutive 0.5 s windows until one
    holds `present` and lacks `absent`; returns the seconds it took (from
    the call to the end of that window), then confirms it over 1 s more."""
    started = time.monotonic()
    last = None
    while time.monotonic() - started < deadline_s:
        pcm = await listener.recorder.window(0.5)
        levels, floor = await off_loop(analyse, pcm, TONES)
        last = (levels, floor)
        problems = [hears(levels, floor, f) for f in present] + [lacks(levels, f, present) for f in absent]
        if not any(problems):
            took = time.monotonic() - started
            break
    else:
        raise TestFailure(f"{step}: {listener}'s mix did not change within {deadline_s:g} s "
                          f"(last 0.5 s: {describe(last[0])}, floor {last[1]:.1f})")
    pcm, = await stall_free_windows(everyone, [listener], 1.0, step)
    levels, floor = await off_loop(analyse, pcm, TONES)
    print(f"    {step}: {listener} hears {describe(levels)} dBFS after {took:.2f} s", flush=True)
    check_mix(listener, levels, floor, present, absent, f"{step} (1 s later)")
    return took


# ---------------------------------------------------------------- scenarios

class Bridge:
    """The room and its three participants, plus a fourth session for bad input."""

    def __init__(self):
        self.participants = []
        self.by_tone = {}
        self.mallory = None

    async def set_up(self):
        creator = await SignalingClient.connect(WS_URL, name="creator")
        self.creator = creator
        self.creator_handle = (await creator.request("attach", plugin=PLUGIN))["handle"]
        created = await bridge(creator, self.creator_handle, {
            "request": "create", "room": ROOM, "description": "three tones", "max_participants": 3,
            "talk_threshold": 40, "talk_hold_ms": HOLD_MS})
        check(holds(created, {"audiobridge": "created", "room": ROOM}), f"create: {created}")
        for frequency in TONES:
            p = await Participant.connect(frequency)
            joined_at = time.monotonic()
            joined = await p.join(ROOM)
            # It sees those already in the room; they see it join.
            earlier = self.participants
            listed = joined.get("participants")
            check(isinstance(listed, list) and sorted(e.get("id") for e in listed) == sorted(q.id for q in earlier),
                  f"{p}'s joined event lists {listed}, expected ids {[q.id for q in earlier]}")
            for entry in listed:
                q = next(q for q in earlier if q.id == entry["id"])
                check(entry.get("display") == q.display and entry.get("muted") is False
                      and isinstance(entry.get("talking"), bool), f"{p}'s joined event: entry {entry} for {q}")
            for q in earlier:
                _, data = await q.wait_event("joined", lambda d: (d.get("participant") or {}).get("id") == p.id,
                                             since=joined_at)
                check(holds(data, {"room": ROOM, "participant": {"id": p.id, "display": p.display,
                                                                  "muted": False}}),
                      f"{q} saw {p} join as {data}")
            self.participants.append(p)
            self.by_tone[frequency] = p
        for p in self.participants:
            await p.wait_media()
        # Everyone heard by the bridge: each knows each to be talking (from
        # its `joined` list or a `talking` event since); a talker is mixed.
        for p in self.participants:
            ids = [q.id for q in self.participants]
            heard = await p.client.wait_until(lambda p=p, ids=ids: all(p.talking(i) for i in ids) or None,
                                              MEDIA_DEADLINE_S)
            check(heard, f"{p}: not everyone talking within {MEDIA_DEADLINE_S:g} s "
                         f"(audiobridge events: {[data for _, data in p.log]})")
        for p in self.participants:
            check(p.tracks == 1, f"{p} received {p.tracks} tracks, expected one mixed stream")
            p.dropper = RtpDropper(p.pc, LOSS_SHARE, LOSS_SEED)
        self.mallory = await SignalingClient.connect(WS_URL, name="mallory")

    async def creator_request(self, body):
        return await bridge(self.creator, self.creator_handle, body)

    async def close(self):
        for p in self.participants:
            try:
                await asyncio.wait_for(p.close(), 5)
            except Exception:  # noqa: BLE001 - closing down anyway
                pass
        for client in (self.mallory, getattr(self, "creator", None)):
            if client:
                try:
                    await asyncio.wait_for(client.close(), 5)
                except Exception:  # noqa: BLE001
                    pass

    def errors(self):
        return [f"{p}: {error}" for p in self.participants for error in p.errors]


