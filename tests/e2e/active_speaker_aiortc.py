#!/usr/bin/python3
# e2e-test: active_speaker_aiortc
"""E2E: the active speaker and last-N (issue 19, point 5; docs/protocol.md).

Three aiortc occupants of one line, ann, ben and cat (joining in that
order), each publishing a sine (`audio_tones.ToneTrack`, whose level is
switched at run time: loud is -10 dBFS peak, about -13 dBov RMS, near
silent -70 dBFS, about -73 dBov; aiortc computes the RFC 6464 audio level
of every frame and sends it in the ssrc-audio-level header extension) and a
320x240 video of one flat grey of its own (luma 50, 130, 210). The server
runs with `lines.last_n` 1 (active_speaker.json). Each occupant counts the
frames of every track it receives, per track, with their arrival times;
a track is told by its m-line's `a=msid` stream id (the publisher's
session), and a video frame's grey must be its publisher's.

  1  ann loud, ben and cat near silent: within 8 s of the three being
     `connected`, each gets `active_speaker` naming ann's session and user
     (exactly the fields of the doc), and every active_speaker event so far
     names ann.
  2  last_n 1: in a window of 2 s that starts 1 s after the last of those
     events, ben and cat each receive ann's video (>= 10 frames) and not
     one frame of the other quiet one's, whose m-line is negotiated; ann,
     for whom no one else has spoken, receives the first other occupant in
     join order, ben, and not cat.
  3  ann near silent, cat loud: within 8 s each gets `active_speaker`
     naming cat (the first such event after the switch, none naming anyone
     else); then, in the same kind of window, ben and ann receive cat's
     video and not the third one's, and cat receives the previous speaker,
     ann, and not ben.
  4  ben pins ann (`configure` `pin` true): ben receives cat's and ann's
     video; unpinned (`pin` false): cat's only again.
  5  dan joins (audio only, silent): he gets `active_speaker` naming cat
     (within 5 s; cat stays the speaker, so only the join can send it);
     the three got no active_speaker event since the one naming cat.

In every window every occupant receives the audio of both others (>= 50
frames of the 100 sent): last-N is video only. The windows are the only
fixed waits: they watch that frames do NOT arrive; everything else waits
on events or polls counters with deadlines.

aiortc 1.4 offers id 2 for both ssrc-audio-level (audio) and abs-send-time
(video) in one BUNDLE, and the server accepts an ambiguous id on neither
m-line (tests/rtp/sdp_answer_test.cpp): this test gives abs-send-time id 3,
as a browser would keep them apart, and checks that the server's answer
accepts the audio level.

Run through run_e2e.sh (`run_e2e.sh active_speaker_aiortc`) with
tests/e2e/active_speaker.json.
"""

import asyncio
import re
import sys
import time

import numpy
from aiortc import codecs
from aiortc.mediastreams import MediaStreamError, VideoStreamTrack
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters
from av import VideoFrame

from audio_tones import FULL_SCALE, ToneTrack
from lines_helpers import LinePeer, barrier, check, guest_id, run_scenarios, session_of, wait_occupants

LOUD_DBFS = -10.0
QUIET_DBFS = -70.0
# The contract: the switch comes within about 1-2 s; 8 s leaves room for a
# loaded machine.
SPEAKER_DEADLINE_S = 8.0
WINDOW_DELAY_S = 1.0  # after the change, before the window starts
WINDOW_S = 2.0
MIN_VIDEO_FRAMES = 10  # in a window, of a video that flows (30 fps sent)
MIN_AUDIO_FRAMES = 50  # in a window, of an audio track (50 frames/s sent)
LUMA_TOLERANCE = 30
CONNECTED_DEADLINE_S = 15.0
JOINER_DEADLINE_S = 5.0  # a joiner's active_speaker: sent on its join
NEGOTIATED_DEADLINE_S = 10.0

AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


def distinct_extension_ids():
    """abs-send-time gets id 3 on video, so that the audio level's id 2 is
    unambiguous in the BUNDLE (see the docstring)."""
    video = codecs.HEADER_EXTENSIONS["video"]
    for index, extension in enumerate(video):
        if extension.uri == ABS_SEND_TIME_URI:
            video[index] = RTCRtpHeaderExtensionParameters(id=3, uri=ABS_SEND_TIME_URI)
    ids = [extension.id for kind in ("audio", "video") for extension in codecs.HEADER_EXTENSIONS[kind]
           if extension.uri != "urn:ietf:params:rtp-hdrext:sdes:mid"]
    assert len(ids) == len(set(ids)), f"header extension ids still shared: {codecs.HEADER_EXTENSIONS}"


# ---------------------------------------------------------------- media

class LevelTone(ToneTrack):
    """A ToneTrack whose level can be changed while it plays."""

    def __init__(self, frequency, level_dbfs):
        super().__init__(frequency, level_dbfs)
        self.level_dbfs = level_dbfs

    def set_level(self, level_dbfs):
        self.level_dbfs = level_dbfs
        self.amplitude = FULL_SCALE * 10 ** (level_dbfs / 20)


class FlatVideoTrack(VideoStreamTrack):
    """320x240 frames of one grey (luma `luma`) at aiortc's 30 fps: cheap to
    encode, and its publisher can be told from a received frame."""

    def __init__(self, luma):
        super().__init__()
        self.luma = luma

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=320, height=240)  # yuv420p
        frame.planes[0].update(bytes([self.luma]) * frame.planes[0].buffer_size)
        for plane in frame.planes[1:]:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts = pts
        frame.time_base = time_base
        return frame


def sdp_sections(sdp):
    """The m-sections of an SDP, each as its text (from the kind on)."""
    return re.split(r"\r?\nm=", "\n" + sdp)[1:]


def msid_of_mid(sdp, mid):
    """(stream id, track id) of the m-line with this mid, or (None, None)."""
    for block in sdp_sections(sdp):
        if re.search(rf"^a=mid:{re.escape(str(mid))}\s*$", block, re.M):
            match = re.search(r"^a=msid:(\S+) (\S+)", block, re.M)
            return (match.group(1), match.group(2)) if match else (None, None)
    return (None, None)


def mean_luma(frame):
    """The mean of a decoded frame's Y plane (as sent: no range conversion)."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    return float(numpy.mean(frame.to_ndarray()[:frame.height]))


class ReceivedTrack:
    """One remote track: its m-line, its publisher (a=msid stream id) and
    the arrival time of every frame; for video, the mean luma of a frame
    every 0.25 s."""

    def __init__(self, track, kind, mid, stream, track_id):
        self.track = track
        self.kind = kind
        self.mid = mid
        self.stream = stream
        self.track_id = track_id
        self.times = []
        self.lumas = []  # (arrival time, mean luma)

    def frames_between(self, start, end):
        return sum(1 for at in self.times if start <= at < end)

    def lumas_between(self, start, end):
        return [luma for at, luma in self.lumas if start <= at < end]


class TrackCounter:
    """Replaces LinePeer's per-kind FrameCounter (two readers of one track
    would share its frames): reads every received track, per track.
    `received` stays the per-kind total LinePeer keeps."""

    def __init__(self, peer):
        self.pc = peer.pc
        self.pc.remove_listener("track", peer.frames._on_track)
        self.received = peer.received
        self.tracks = []
        self._readers = []
        self.pc.on("track", self._on_track)

    def cancel(self):
        for reader in self._readers:
            reader.cancel()

    def find(self, kind, stream):
        """The received track of `kind` whose m-line's msid names `stream`
        in the current remote description (aiortc fires `track` before it
        sets the offer that brought it, so the msid is read here)."""
        description = self.pc.remoteDescription
        for received in self.tracks:
            if received.stream is None and description is not None and received.mid is not None:
                received.stream, received.track_id = msid_of_mid(description.sdp, received.mid)
        return next((t for t in self.tracks if t.kind == kind and t.stream == stream), None)

    def _on_track(self, track):
        transceiver = next((t for t in self.pc.getTransceivers() if t.receiver.track is track), None)
        received = ReceivedTrack(track, track.kind, transceiver.mid if transceiver else None, None, None)
        self.tracks.append(received)
        self._readers.append(asyncio.ensure_future(self._read(received)))

    async def _read(self, received):
        next_luma = 0.0
        try:
            while True:
                frame = await received.track.recv()
                now = time.monotonic()
                received.times.append(now)
                self.received[received.kind] += 1
                if received.kind == "video" and now >= next_luma:
                    next_luma = now + 0.25
                    received.lumas.append((now, mean_luma(frame)))
        except MediaStreamError:
            pass  # the connection closed


# ---------------------------------------------------------------- occupants

class Occupant:
    """A client in the line with its LinePeer, tone, per-track counter and
    the active_speaker events it got, with their arrival times."""

    def __init__(self, scenario, client, name, level_dbfs, frequency, luma):
        self.client = client
        self.name = name
        self.luma = luma
        self.peer = LinePeer(client, audio=False, video=False)
        scenario.peers.append(self.peer)
        self.tone = LevelTone(frequency, level_dbfs)
        self.peer.pc.addTrack(self.tone)
        self.peer.pc.addTrack(FlatVideoTrack(luma))
        self.peer.publishing = {"audio": True, "video": True}
        self.counter = TrackCounter(self.peer)
        self.peer.frames = self.counter  # LinePeer.close cancels its readers
        self.speakers = []  # (arrival monotonic time, active_speaker event)
        client.on_event(self._on_event)

    @property
    def session(self):
        return session_of(self.client)

    @property
    def user(self):
        return self.client.handshake["user"]["user"]

    def _on_event(self, event):
        if event.get("event") == "active_speaker":
            self.speakers.append((time.monotonic(), event))

    async def next_speaker(self, since, timeout):
        """The first active_speaker event at index >= since of `speakers`
        (waiting up to `timeout`), with its arrival time; None if none came."""
        return await self.client.wait_until(lambda: self.speakers[since] if len(self.speakers) > since else None,
                                            timeout)


def speaker_names(occupants, events):
    by_session = {o.session: o.name for o in occupants}
    return [by_session.get(event.get("session"), event.get("session")) for _, event in events]


def check_speaker_event(occupant, event, line_id, speaker, occupants):
    where = f"{occupant.name}"
    expected = {"event": "active_speaker", "line_id": line_id, "session": speaker.session, "user": speaker.user}
    check(event.get("session") == speaker.session,
          f"{where}: active_speaker should name {speaker.name} ({speaker.session}), names "
          f"{speaker_names(occupants, [(0, event)])[0]}: {event}")
    check(event == expected, f"{where}: active_speaker event should be exactly {expected}, got {event}")


async def wait_speaker(occupants, line_id, speaker, since, started, what, step):
    """Each occupant's first active_speaker event from index since[name] on
    must come within SPEAKER_DEADLINE_S of `started` (the time of `what`)
    and name `speaker`. Returns the latest arrival time."""
    latest = 0.0
    for occupant in occupants:
        remaining = max(0.0, started + SPEAKER_DEADLINE_S - time.monotonic())
        found = await occupant.next_speaker(since[occupant.name], remaining)
        check(found is not None,
              f"{step}: {occupant.name} got no active_speaker event within {SPEAKER_DEADLINE_S:g} s "
              f"(active_speaker events so far: {speaker_names(occupants, occupant.speakers)}; "
              f"audio frames received {occupant.peer.received['audio']}, video {occupant.peer.received['video']})")
        arrived, event = found
        check_speaker_event(occupant, event, line_id, speaker, occupants)
        print(f"    {step}: {occupant.name} got active_speaker {speaker.name} "
              f"{arrived - started:+.2f} s after {what}",
              flush=True)
        latest = max(latest, arrived)
    return latest


async def wait_negotiated(occupants):
    """Each occupant has a received audio and video track of each other one."""
    deadline = time.monotonic() + NEGOTIATED_DEADLINE_S
    while True:
        missing = [f"{o.name} lacks {kind} of {other.name}" for o in occupants for other in occupants
                   if other is not o for kind in ("audio", "video") if o.counter.find(kind, other.session) is None]
        if not missing:
            return
        check(time.monotonic() < deadline,
              f"within {NEGOTIATED_DEADLINE_S:g} s, every occupant should have an m-line per stream of each other "
              f"occupant (a=msid naming it): {'; '.join(missing)}; received tracks (kind, mid, msid stream): "
              f"{ {o.name: [(t.kind, t.mid, t.stream) for t in o.counter.tracks] for o in occupants} }")
        await asyncio.sleep(0.05)


async def check_window(occupants, start, expected_video, step):
    """Waits until the window [start, start + WINDOW_S) is over (a fixed
    wait: it watches that frames do NOT arrive), then checks, per occupant,
    the video it receives (expected_video[name]: the names whose video must
    arrive; every other one's must not) and everyone's audio."""
    end = start + WINDOW_S
    await asyncio.sleep(max(0.0, end - time.monotonic()))
    problems = []
    for occupant in occupants:
        figures = []
        for other in occupants:
            if other is occupant:
                continue
            video = occupant.counter.find("video", other.session)
            audio = occupant.counter.find("audio", other.session)
            video_frames = video.frames_between(start, end)
            audio_frames = audio.frames_between(start, end)
            lumas = video.lumas_between(start, end)
            figures.append(f"{other.name}: video {video_frames} (grey {', '.join(f'{l:.0f}' for l in lumas[:3])}), "
                           f"audio {audio_frames}")
            if other.name in expected_video[occupant.name]:
                if video_frames < MIN_VIDEO_FRAMES:
                    problems.append(f"{occupant.name} should receive {other.name}'s video: {video_frames} frames "
                                    f"in the window (want >= {MIN_VIDEO_FRAMES})")
                wrong = [luma for luma in lumas if abs(luma - other.luma) > LUMA_TOLERANCE]
                if wrong:
                    problems.append(f"{occupant.name}: frames on {other.name}'s video m-line (mid {video.mid}) are "
                                    f"grey {wrong[0]:.0f}, not {other.name}'s {other.luma}")
            elif video_frames != 0:
                problems.append(f"{occupant.name} should receive none of {other.name}'s video (last_n 1): "
                                f"{video_frames} frames in the window")
            if audio_frames < MIN_AUDIO_FRAMES:
                problems.append(f"{occupant.name} should receive {other.name}'s audio (last-N is video only): "
                                f"{audio_frames} frames in the window (want >= {MIN_AUDIO_FRAMES})")
        print(f"    {step}: {occupant.name} received in {WINDOW_S:g} s: {'; '.join(figures)}", flush=True)
    check(not problems, f"{step}: {'; '.join(problems)}")


def check_audio_level_accepted(occupant):
    """The server's answer keeps the audio level on the audio m-line:
    without it aiortc sends no level and no speaker can be found."""
    sdp = occupant.peer.pc.remoteDescription.sdp
    audio = [block for block in sdp_sections(sdp) if block.startswith("audio ")]
    check(audio and any(re.search(rf"^a=extmap:\d+(/\S+)? {re.escape(AUDIO_LEVEL_URI)}\s*$", block, re.M)
                        for block in audio),
          f"{occupant.name}: the server's answer does not accept {AUDIO_LEVEL_URI} on the audio m-line; "
          f"its audio sections: {audio}")


# ---------------------------------------------------------------- scenario

async def speaker_follows_with_last_n(scenario):
    names = ("ann.as", "ben.as", "cat.as")
    levels = (LOUD_DBFS, QUIET_DBFS, QUIET_DBFS)
    frequencies = (440, 660, 880)
    lumas = (50, 130, 210)
    occupants = []
    for name, level, frequency, luma in zip(names, levels, frequencies, lumas):
        client = await scenario.connect(name)
        occupants.append(Occupant(scenario, client, name, level, frequency, luma))
    ann, ben, cat = occupants
    for occupant in occupants:
        check(occupant.user == guest_id(occupant.name), f"{occupant.name}: handshake user {occupant.user}")

    line = await ann.client.request("create_line")
    line_id = line["line_id"]
    for occupant in occupants:  # join order: ann, ben, cat
        await occupant.peer.join(line_id, token=line["token"])
        check_audio_level_accepted(occupant)
    sessions = [o.session for o in occupants]
    for occupant in occupants:
        await wait_occupants(occupant.client, line_id, sessions, timeout=CONNECTED_DEADLINE_S, state="connected")
    connected = time.monotonic()
    print(f"    the three are connected; sessions ann {ann.session}, ben {ben.session}, cat {cat.session}", flush=True)

    # 1: ann is the active speaker.
    since = {o.name: 0 for o in occupants}
    announced = await wait_speaker(occupants, line_id, ann, since, connected, "the three were connected", "step 1")
    await wait_negotiated(occupants)

    # 2: with last_n 1, the quiet ones receive only ann's video; ann the
    # first other occupant in join order.
    await check_window(occupants, announced + WINDOW_DELAY_S,
                       {"ann.as": {"ben.as"}, "ben.as": {"ann.as"}, "cat.as": {"ann.as"}}, "step 2")
    for occupant in occupants:
        names_so_far = speaker_names(occupants, occupant.speakers)
        check(all(name == ann.name for name in names_so_far),
              f"step 2: {occupant.name}: every active_speaker event so far should name ann, got {names_so_far}")

    # 3: ann falls quiet, cat speaks.
    since = {o.name: len(o.speakers) for o in occupants}
    ann.tone.set_level(QUIET_DBFS)
    cat.tone.set_level(LOUD_DBFS)
    switched = time.monotonic()
    announced = await wait_speaker(occupants, line_id, cat, since, switched, "the switch", "step 3")
    await check_window(occupants, announced + WINDOW_DELAY_S,
                       {"ann.as": {"cat.as"}, "ben.as": {"cat.as"}, "cat.as": {"ann.as"}}, "step 3")
    for occupant in occupants:
        names_after = speaker_names(occupants, occupant.speakers[since[occupant.name]:])
        check(names_after == [cat.name],
              f"step 3: {occupant.name}: after the switch exactly one active_speaker event, naming cat, "
              f"should have come; got {names_after}")

    # 4: ben pins ann, then unpins her.
    await ben.client.request("configure", session=ann.session, pin=True)
    await check_window(occupants, time.monotonic() + WINDOW_DELAY_S,
                       {"ann.as": {"cat.as"}, "ben.as": {"cat.as", "ann.as"}, "cat.as": {"ann.as"}}, "step 4 (pin)")
    await ben.client.request("configure", session=ann.session, pin=False)
    await check_window(occupants, time.monotonic() + WINDOW_DELAY_S,
                       {"ann.as": {"cat.as"}, "ben.as": {"cat.as"}, "cat.as": {"ann.as"}}, "step 4 (unpin)")

    # 5: a newcomer to a line that has an active speaker is told who it is.
    dan = await scenario.connect("dan.as")
    joined = time.monotonic()
    await scenario.peer(dan, audio=True, video=False).join(line_id, token=line["token"])
    event = await dan.wait_for_event(lambda e: e.get("event") == "active_speaker", JOINER_DEADLINE_S)
    check(event is not None, f"step 5: dan.as joined a line whose active speaker is cat and got no active_speaker "
                             f"event within {JOINER_DEADLINE_S:g} s")
    expected = {"event": "active_speaker", "line_id": line_id, "session": cat.session, "user": cat.user}
    check(event == expected, f"step 5: dan.as, joining, should get exactly {expected}, got {event}")
    print(f"    step 5: dan.as got active_speaker cat.as {time.monotonic() - joined:.2f} s after sending join",
          flush=True)
    await barrier(*(o.client for o in occupants))
    for occupant in occupants:
        names_after = speaker_names(occupants, occupant.speakers[since[occupant.name]:])
        check(names_after == [cat.name], f"steps 3-5: {occupant.name}: active_speaker events since the switch: "
                                         f"{names_after} (only cat's expected)")
    print(f"    tone frames sent more than 30 ms late: "
          f"{sum(1 for o in occupants for _, late in o.tone.late if late > 0.03)}", flush=True)


SCENARIOS = [speaker_follows_with_last_n]

if __name__ == "__main__":
    distinct_extension_ids()
    sys.exit(run_scenarios(SCENARIOS, "active speaker and last-N", timeout_s=60.0))
