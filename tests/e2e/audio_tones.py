#!/usr/bin/python3
"""Sine tones into aiortc, received audio recorded and measured.

Used by audiobridge_aiortc.py; needs Debian's python3-aiortc and numpy.

- `ToneTrack`: an aiortc audio track of a sine (48 kHz mono, 20 ms frames,
  paced in real time, phase continuous), switchable to silence.
- `PcmRecorder`: every decoded frame of a received track with its arrival
  time and RTP timestamp; `window(seconds)` waits for that much audio to
  arrive and returns it laid out by timestamp (a missing frame is silence).
- `analyse` (tone levels and noise floor), `amplitudes_per_window`,
  `low_runs`, `longest_gap`: the measurements (a Hann-windowed DFT at the
  exact frequency).
- `RtpDropper`: drops a seeded-random share of a PeerConnection's outgoing
  RTP (never RTCP) by wrapping its DTLS transport's send.

`/usr/bin/python3 audio_tones.py` checks the measurements on synthetic PCM
and through an aiortc-to-aiortc call with a lossy sender, without a server.
"""

import asyncio
import fractions
import functools
import math
import random
import time

import numpy
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import is_rtcp
from av import AudioFrame

SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms
FULL_SCALE = 32768.0


def dbfs(amplitude):
    """A sine's peak amplitude (in int16 units) in dB relative to full scale."""
    return 20 * math.log10(max(amplitude, 1e-9) / FULL_SCALE)


class ToneTrack(MediaStreamTrack):
    """A sine at `frequency` Hz, `level_dbfs` peak, as 20 ms mono frames at
    48 kHz, paced by the wall clock as aiortc's own tracks are. `silent`
    makes it send digital silence (the phase keeps running); `switches`
    records (monotonic time, silent) each time that changes."""

    kind = "audio"

    def __init__(self, frequency, level_dbfs=-12.0):
        super().__init__()
        self.frequency = frequency
        self.amplitude = FULL_SCALE * 10 ** (level_dbfs / 20)
        self.silent = False
        self.switches = []
        # (monotonic time, seconds) of each frame more than 5 ms after its
        # time: how long the event loop stalled the track (the frames then go
        # out in a burst, and the far end sees a gap).
        self.late = []
        self._sample = 0
        self._start = None

    def set_silent(self, silent):
        """Switches the tone off (True) or on; returns the monotonic time."""
        self.silent = silent
        now = time.monotonic()
        self.switches.append((now, silent))
        return now

    def most_late(self, since):
        """The most (s) a frame made after `since` (monotonic) came after its time."""
        return max((late for at, late in self.late if at >= since), default=0.0)

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            wait = self._start + self._sample / SAMPLE_RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if wait < -0.005:
                self.late.append((time.monotonic(), -wait))
        n = numpy.arange(self._sample, self._sample + FRAME_SAMPLES)
        if self.silent:
            samples = numpy.zeros(FRAME_SAMPLES, dtype=numpy.int16)
        else:
            samples = numpy.round(self.amplitude * numpy.sin(2 * math.pi * self.frequency * n / SAMPLE_RATE))
            samples = samples.astype(numpy.int16)
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(samples.tobytes())
        frame.pts = self._sample
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._sample += FRAME_SAMPLES
        return frame


class PcmRecorder:
    """Reads a received audio track and keeps every decoded frame as
    (arrival monotonic time, RTP timestamp, mono int16 samples): the first
    channel of aiortc's interleaved stereo."""

    def __init__(self, track):
        self.frames = []
        self.channel_difference = 0  # largest |left - right| seen
        self.window_start = 0  # index in `frames` of the last window's first frame
        self.ended = False
        self._changed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read(track))

    async def _read(self, track):
        try:
            while True:
                frame = await track.recv()
                samples = frame.to_ndarray().reshape(-1)
                channels = len(frame.layout.channels)
                self.frames.append((time.monotonic(), frame.pts, samples[::channels].copy()))
                if channels == 2:
                    difference = int(numpy.max(numpy.abs(samples[0::2].astype(numpy.int32) - samples[1::2])))
                    self.channel_difference = max(self.channel_difference, difference)
                self._changed.set()
        except MediaStreamError:
            pass  # the connection closed
        finally:
            self.ended = True
            self._changed.set()

    def cancel(self):
        self._reader.cancel()

    async def wait_frames(self, count, timeout, since=0):
        """Waits until `count` frames arrived after index `since`; True if they did."""
        deadline = time.monotonic() + timeout
        while len(self.frames) - since < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.ended:
                return False
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                return False
        return True

    async def window(self, seconds, timeout=None):
        """The next `seconds` of audio to arrive (counted in frames), laid out
        by RTP timestamp: a frame that never came is silence. Raises if it
        does not arrive within `timeout` (default 3 x seconds + 5 s)."""
        since = len(self.frames)
        self.window_start = since
        count = int(round(seconds * SAMPLE_RATE / FRAME_SAMPLES))
        if not await self.wait_frames(count, timeout if timeout is not None else 3 * seconds + 5, since):
            raise AssertionError(f"only {len(self.frames) - since} of {count} audio frames arrived "
                                 f"(track ended: {self.ended})")
        return self.pcm(since, since + count)

    def pcm(self, start, end):
        """Frames [start, end) laid out by RTP timestamp (gaps are silence)."""
        frames = self.frames[start:end]
        origin = frames[0][1]
        span = (frames[-1][1] - origin) % 2**32 + len(frames[-1][2])
        out = numpy.zeros(span, dtype=numpy.float64)
        for _, pts, samples in frames:
            offset = (pts - origin) % 2**32
            if offset + len(samples) <= span:  # a frame from before `origin` wraps: skip it
                out[offset:offset + len(samples)] = samples
        return out


@functools.lru_cache(maxsize=8)
def _hann(length):
    return 0.5 - 0.5 * numpy.cos(2 * math.pi * numpy.arange(length) / length)


def _spectrum(pcm):
    """Peak amplitude per rfft bin of the Hann-windowed `pcm`, and the bins' frequencies."""
    window = _hann(len(pcm))
    return 2 * numpy.abs(numpy.fft.rfft(pcm * window)) / window.sum(), numpy.fft.rfftfreq(len(pcm), 1 / SAMPLE_RATE)


def amplitude_at(pcm, frequency, spectrum=None):
    """Peak amplitude of the `frequency` component of `pcm` (Hann-windowed DFT
    at exactly that frequency, so any window length works; read from
    `spectrum`, `_spectrum(pcm)`, when the frequency is one of its bins)."""
    bin_ = frequency * len(pcm) / SAMPLE_RATE
    if spectrum is not None and abs(bin_ - round(bin_)) < 1e-9:
        return float(spectrum[round(bin_)])
    window = _hann(len(pcm))
    n = numpy.arange(len(pcm))
    phasor = numpy.exp(-2j * math.pi * frequency * n / SAMPLE_RATE)
    return 2 * abs(numpy.dot(pcm * window, phasor)) / window.sum()


def analyse(pcm, tones, low=150.0, high=4000.0, guard=40.0):
    """(levels, floor) of `pcm` from one spectrum: {tone: level in dBFS} of
    each of `tones`, and the noise floor: the median level (dBFS, as a
    sine's peak) of the bins between `low` and `high` Hz, leaving out
    `guard` Hz around each tone and its harmonics (neither the tones nor
    their distortion). About 5 ms for 2 s of audio; call it off the event
    loop (in another process) all the same: a stalled loop delays the
    tracks' frames, and the far end hears the gap."""
    spectrum, freqs = _spectrum(pcm)
    levels = {tone: dbfs(amplitude_at(pcm, tone, spectrum)) for tone in tones}
    keep = (freqs >= low) & (freqs <= high)
    for tone in tones:
        for harmonic in range(1, int(high // tone) + 1):
            keep &= numpy.abs(freqs - tone * harmonic) > guard
    return levels, dbfs(float(numpy.median(spectrum[keep])))


def tone_levels(pcm, tones):
    """{tone: level in dBFS} of each component."""
    return analyse(pcm, tones)[0]


def noise_floor_dbfs(pcm, tones):
    return analyse(pcm, tones)[1]


def amplitudes_per_window(pcm, frequency, window_s=0.010):
    """The `frequency` component's amplitude in consecutive windows."""
    length = int(round(window_s * SAMPLE_RATE))
    count = len(pcm) // length
    window = _hann(length)
    n = numpy.arange(length)
    phasor = numpy.exp(-2j * math.pi * frequency * n / SAMPLE_RATE)
    blocks = pcm[:count * length].reshape(count, length) * window
    # The tone keeps its phase across windows; the magnitude does not care.
    return 2 * numpy.abs(blocks @ phasor) / window.sum()


def low_runs(amplitudes, fraction=0.25):
    """[(first window, length)] of the runs of windows below `fraction` of
    the median amplitude."""
    median = float(numpy.median(amplitudes))
    runs, start = [], None
    for index, amplitude in enumerate(list(amplitudes) + [median]):
        if amplitude < fraction * median:
            start = index if start is None else start
        elif start is not None:
            runs.append((start, index - start))
            start = None
    return runs


def longest_gap(amplitudes, fraction=0.25):
    """(longest run of windows below `fraction` of the median amplitude,
    number of such windows, the median)."""
    median = float(numpy.median(amplitudes))
    longest = run = low = 0
    for amplitude in amplitudes:
        if amplitude < fraction * median:
            run += 1
            low += 1
            longest = max(longest, run)
        else:
            run = 0
    return longest, low, median


class RtpDropper:
    """Drops outgoing RTP packets of `pc` (after DTLS is up, on its first
    sender's transport) with probability `share`, decided by a seeded RNG.
    RTCP passes. `dropping` switches it; `sent` and `dropped` count the RTP
    packets offered while it was switched on."""

    def __init__(self, pc, share, seed):
        self.share = share
        self.random = random.Random(seed)
        self.dropping = False
        self.sent = 0
        self.dropped = 0
        self.longest_burst = 0
        self.log = []  # (monotonic time, dropped) of each RTP packet while dropping
        self._burst = 0
        self.seed = seed
        transport = pc.getSenders()[0].transport
        original = transport._send_rtp

        async def send_rtp(data):
            if self.dropping and not is_rtcp(data):
                self.sent += 1
                drop = self.random.random() < self.share
                self.log.append((time.monotonic(), drop))
                if drop:
                    self.dropped += 1
                    self._burst += 1
                    self.longest_burst = max(self.longest_burst, self._burst)
                    return
                self._burst = 0
            await original(data)

        transport._send_rtp = send_rtp  # the instance's attribute shadows the method

    def restart(self, seed=None):
        """Counts, log and RNG from the start again (the same drops in the same
        order for the same seed)."""
        self.random = random.Random(self.seed if seed is None else seed)
        self.sent = self.dropped = self.longest_burst = self._burst = 0
        self.log = []


# -- offline checks ------------------------------------------------------------

def _sine(frequency, seconds, level_dbfs=-12.0, phase=0.0):
    n = numpy.arange(int(seconds * SAMPLE_RATE))
    return FULL_SCALE * 10 ** (level_dbfs / 20) * numpy.sin(2 * math.pi * frequency * n / SAMPLE_RATE + phase)


def _check_synthetic():
    rng = numpy.random.default_rng(1)
    noise = rng.normal(0, 30, 2 * SAMPLE_RATE)  # about -61 dBFS rms
    pcm = _sine(660, 2) + _sine(880, 2, phase=1.0) + noise
    levels = tone_levels(pcm, (440, 660, 880))
    floor = noise_floor_dbfs(pcm, (440, 660, 880))
    print(f"synthetic 660+880: levels {({f: round(v, 1) for f, v in levels.items()})}, floor {floor:.1f} dBFS")
    assert abs(levels[660] + 12) < 0.2 and abs(levels[880] + 12) < 0.2, levels
    assert levels[440] < floor + 6, (levels, floor)
    assert floor < -60, floor

    # 440 beside 660 (the closest pair) in 10 ms windows: no leakage gap.
    pcm = _sine(440, 2) + _sine(660, 2)
    amplitudes = amplitudes_per_window(pcm, 440)
    assert numpy.all(numpy.abs(amplitudes / (FULL_SCALE * 10 ** (-12 / 20)) - 1) < 0.05), amplitudes
    # Silence 60 ms long (6 windows) and 25 ms long: found as 6 (+1 for the
    # windows the edges share) and 2-3 windows.
    cut = pcm.copy()
    cut[48000:48000 + 2880] = _sine(660, 0.06)
    cut[72000 + 240:72000 + 240 + 1200] = 0
    longest, low, _ = longest_gap(amplitudes_per_window(cut, 440))
    print(f"synthetic 60 ms and 25 ms holes in 440 Hz: longest gap {longest} windows, {low} low windows")
    assert 6 <= longest <= 7 and 8 <= low <= 11, (longest, low)


async def _check_aiortc_loopback():
    """One aiortc peer sends 440 Hz to another, dropping 10 % of its RTP.
    aiortc's receiver does not conceal: each lost packet leaves a hole of
    20 ms or more (its jitter buffer skips a few frames after a loss)."""
    from aiortc import RTCPeerConnection

    from aiortc_peer import use_loopback_only
    use_loopback_only()
    sender, receiver = RTCPeerConnection(), RTCPeerConnection()
    tone = ToneTrack(440)
    sender.addTrack(tone)
    received = asyncio.get_running_loop().create_future()
    receiver.on("track", lambda track: received.set_result(PcmRecorder(track)))
    await sender.setLocalDescription(await sender.createOffer())
    await receiver.setRemoteDescription(sender.localDescription)
    await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)
    try:
        recorder = await asyncio.wait_for(received, 10)
        clean = await recorder.window(1.0)
        level = tone_levels(clean, (440,))[440]
        print(f"loopback: 440 Hz received at {level:.1f} dBFS")
        assert abs(level + 12) < 3, level
        dropper = RtpDropper(sender, 0.10, seed=13)
        dropper.dropping = True
        await recorder.window(0.3)  # the packets in flight
        lossy = await recorder.window(3.0)
        dropper.dropping = False
        longest, low, median = longest_gap(amplitudes_per_window(lossy, 440))
        print(f"loopback, 10 % dropped ({dropper.dropped} of {dropper.sent}, longest burst "
              f"{dropper.longest_burst}): longest gap {longest * 10} ms, {low} low 10 ms windows")
        assert dropper.dropped > 0 and longest >= 2 and low >= 2 * dropper.dropped, (longest, low)
    finally:
        await sender.close()
        await receiver.close()


if __name__ == "__main__":
    _check_synthetic()
    asyncio.run(_check_aiortc_loopback())
    print("audio_tones: offline checks passed")
