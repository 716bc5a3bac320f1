// e2e-test: lines_mixed_chromium
// E2E (issue 13's acceptance point): a phone line created with
// `"audio": "mixed"` (create_line, docs/protocol.md) sends each occupant ONE
// audio stream, the audio bridge plugin's mix of the other occupants, while
// video is still forwarded by the SFU. Three browser contexts driving
// web/partyline.js on the demo page (tests/e2e/line_page.mjs), each user's
// microphone a sine of its own pitch (600, 900, 1300 Hz) and camera a
// 320x240 canvas of its own colour:
//   alice connects and creates the line with {"request": "create_line",
//   "audio": "mixed"}; bob and carol join with its id and token (what its
//   share link holds). Within 30 s of carol's join, on EVERY page:
//     - occupants: exactly alice, bob and carol, all `connected` (the mixer
//       is not listed);
//     - audio: exactly one inbound-rtp audio entry of the page's
//       PeerConnection (pc.getStats()) has packetsReceived > 100, and its
//       count grew since the previous poll (live); its receiver's track is
//       in a stream (a=msid) whose id is no occupant's session (the mixer's
//       id: the same on the three pages), and no occupant's session stream
//       (LineCall.remoteStreams) holds an audio track;
//     - the spectrum of that one track (average power of 5 snapshots of a
//       8192-point FFT, 5.9 Hz per bin, WebAudio AnalyserNode): at each
//       other user's tone (the loudest bin within 12 Hz of it) more than
//       MIN_TONE_ABOVE_FLOOR_DB (20 dB) above the noise floor (the median
//       bin between 100 Hz and 4 kHz), and at the page's own tone at least
//       MIN_OWN_TONE_MARGIN_DB (20 dB) below the weaker of the two others
//       (its own voice is not in its mix);
//     - video: for each of the two others, a receiver of that occupant's
//       stream (stream id = its session), not inactive, with
//       framesDecoded > 30 and a frame whose middle is nearest to that
//       user's colour.
//   All of it must hold again in a second measurement 2 s after the first
//   (a mix that gains the own voice, or a second audio stream that starts
//   late, fails it). No harness error (refused request or offer) and no
//   uncaught page error.
//
// The tones: every client's sine is full scale, and the bridge sums two of
// them into one 16-bit mix, so the mix may clip; 600, 900 and 1300 Hz are
// chosen so that no intermodulation or harmonic of two of them up to the
// 7th order (|m f1 + n f2|, |m| + |n| <= 7) comes within 100 Hz of the
// third (440, 660, 880 would put 2 x 660 - 880 on 440 and 2 x 660 - 440 on
// 880: a hard-clipped sum of two full-scale sines holds them about 15 dB
// under the tones, in numpy), so energy at a page's own pitch can only be
// its own voice.
//
// Prints per page: each audio receiver's stream, packets and the level (dB)
// at the three tones and of the noise floor; each video receiver's frames
// and colour. Run through run_e2e.sh (private network and PID namespace,
// server started by with_server.py, the build tree's plugins loaded);
// PARTYLINE_URL is the page to open.

import { Failure, harnessErrors, nearestColour, runHarnessTest } from './line_page.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const MEDIA_DEADLINE_MS = 30000;
const CONFIRM_AFTER_MS = 2000;
const POLL_MS = 500;
const MIN_FRAMES_DECODED = 30;
const MIN_AUDIO_PACKETS = 100;
const MIN_TONE_ABOVE_FLOOR_DB = 20;
const MIN_OWN_TONE_MARGIN_DB = 20;
const USERS = ['alice', 'bob', 'carol'];
const COLOURS = { alice: [220, 40, 40], bob: [40, 180, 40], carol: [40, 70, 220] };
const TONES = { alice: 600, bob: 900, carol: 1300 };
/** The spectrum's analysis (see spectrumOf in the page). */
const SPECTRUM = { fftSize: 8192, snapshots: 5, snapshotMs: 100, toneToleranceHz: 12, floorFromHz: 100, floorToHz: 4000 };

// ---------------------------------------------------------------- in the page

/**
 * Runs in the page: every audio inbound-rtp entry of the call's
 * PeerConnection with its receiver (mid, stream id, direction, whether the
 * track is in that stream) and the spectrum of its track (levels at
 * `tones`, noise floor); the audio tracks in occupants' session streams;
 * the video receivers (line_page.mjs's harness.receivers()).
 */
async function readMedia({ tones, spectrum }) {
  const { harness } = window;
  const pc = harness.call?.pc;
  const result = { audio: [], occupantAudio: [], video: [], occupants: harness.occupants() };
  if (!pc) return result;

  // One AnalyserNode per track, kept across polls.
  window.mixAnalysers ??= new WeakMap();
  window.mixAudioContext ??= new AudioContext({ sampleRate: 48000 });
  const context = window.mixAudioContext;
  if (context.state !== 'running') await context.resume().catch(() => {});
  const analyserOf = (track) => {
    let analyser = window.mixAnalysers.get(track);
    if (!analyser) {
      // Chromium feeds a remote track to WebAudio only while a media
      // element plays it: a muted one (nothing in the harness plays it).
      const element = Object.assign(new Audio(), { muted: true, autoplay: true });
      element.srcObject = new MediaStream([track]);
      element.play().catch(() => {});
      window.mixElements ??= [];
      window.mixElements.push(element);
      analyser = new AnalyserNode(context, { fftSize: spectrum.fftSize, smoothingTimeConstant: 0 });
      context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
      window.mixAnalysers.set(track, analyser);
    }
    return analyser;
  };

  const transceivers = pc.getTransceivers();
  for (const entry of (await pc.getStats()).values()) {
    if (entry.type !== 'inbound-rtp' || entry.kind !== 'audio') continue;
    const transceiver = transceivers.find((candidate) => candidate.mid === entry.mid) ?? null;
    const track = transceiver?.receiver.track ?? null;
    const stream = track ? harness.trackSessions.get(track) ?? null : null;
    result.audio.push({
      mid: entry.mid ?? null, ssrc: entry.ssrc, packetsReceived: entry.packetsReceived ?? 0,
      trackIdentifier: entry.trackIdentifier ?? null, stream,
      inStream: stream !== null && (harness.call.remoteStreams.get(stream)?.getTracks().includes(track) ?? false),
      direction: transceiver?.currentDirection ?? null, track,
    });
  }

  // The spectra of all audio tracks with packets, snapshots taken together.
  const measured = result.audio.filter((row) => row.track && row.packetsReceived > 0);
  const analysers = measured.map((row) => analyserOf(row.track));
  const power = analysers.map((analyser) => new Float64Array(analyser.frequencyBinCount));
  const levels = new Float32Array(spectrum.fftSize / 2);
  for (let snapshot = 0; snapshot < spectrum.snapshots; snapshot += 1) {
    if (snapshot > 0) await new Promise((resolve) => setTimeout(resolve, spectrum.snapshotMs));
    analysers.forEach((analyser, index) => {
      analyser.getFloatFrequencyData(levels);
      for (let bin = 0; bin < levels.length; bin += 1) power[index][bin] += 10 ** (levels[bin] / 10) / spectrum.snapshots;
    });
  }
  const hzPerBin = context.sampleRate / spectrum.fftSize;
  const db = (value) => Math.max(-200, 10 * Math.log10(value)); // silence is -Infinity: floor it
  measured.forEach((row, index) => {
    const bins = power[index];
    const around = (hz) => {
      let loudest = 0;
      const from = Math.round((hz - spectrum.toneToleranceHz) / hzPerBin);
      const to = Math.round((hz + spectrum.toneToleranceHz) / hzPerBin);
      for (let bin = from; bin <= to; bin += 1) loudest = Math.max(loudest, bins[bin]);
      return Math.round(db(loudest) * 10) / 10;
    };
    const band = [...bins.slice(Math.round(spectrum.floorFromHz / hzPerBin), Math.round(spectrum.floorToHz / hzPerBin))]
      .sort((a, b) => a - b);
    row.levels = Object.fromEntries(Object.entries(tones).map(([who, hz]) => [who, around(hz)]));
    row.floor = Math.round(db(band[Math.floor(band.length / 2)]) * 10) / 10;
  });
  for (const row of result.audio) delete row.track;

  for (const occupant of result.occupants) {
    const stream = harness.call.remoteStreams.get(occupant.session);
    for (const track of stream?.getAudioTracks() ?? []) {
      result.occupantAudio.push({ session: occupant.session, user: occupant.user, trackId: track.id });
    }
  }
  result.video = (await harness.receivers()).filter((row) => row.kind === 'video');
  return result;
}

// ---------------------------------------------------------------- checks

/**
 * What is missing on `who`'s page for the mixed line to be right, given
 * the sessions of the users and the packets of its audio receivers at the
 * previous poll (by mid).
 */
function missingOn(who, media, sessions, previousPackets) {
  const missing = [];
  const others = USERS.filter((user) => user !== who);
  const occupantSessions = new Set(Object.values(sessions));
  const name = (session) => Object.keys(sessions).find((user) => sessions[user] === session) ?? session;

  const listed = media.occupants.map((occupant) => `${occupant.user}:${occupant.state}`).sort().join(', ');
  const wanted = USERS.map((user) => `${user}:connected`).join(', ');
  const sameSessions = media.occupants.length === USERS.length
    && media.occupants.every((occupant) => sessions[occupant.user] === occupant.session);
  if (listed !== wanted || !sameSessions) missing.push(`${who}'s occupants are ${listed}, not ${wanted}`);

  const live = media.audio.filter((row) => row.packetsReceived > MIN_AUDIO_PACKETS);
  if (live.length !== 1) {
    missing.push(`${who} receives ${live.length} audio streams with > ${MIN_AUDIO_PACKETS} packets, not exactly 1 (`
      + `${media.audio.map((row) => `mid ${row.mid} from ${name(row.stream)}: ${row.packetsReceived}`).join(', ') || 'none'})`);
  }
  for (const row of media.occupantAudio) {
    missing.push(`${who}: the stream of occupant ${row.user} carries an audio track (${row.trackId})`);
  }
  const mix = live.length === 1 ? live[0] : null;
  if (mix) {
    if (!(mix.packetsReceived > (previousPackets[mix.mid] ?? Infinity))) {
      missing.push(`${who}'s mix (mid ${mix.mid}) did not grow since the previous poll (${mix.packetsReceived} packets)`);
    }
    if (mix.stream === null || !mix.inStream) {
      missing.push(`${who}'s mix (mid ${mix.mid}) is in no stream (a=msid)`);
    } else if (occupantSessions.has(mix.stream)) {
      missing.push(`${who}'s one audio stream is the stream of occupant ${name(mix.stream)}, not a mix`);
    }
    if (mix.direction === 'inactive') missing.push(`${who}'s mix (mid ${mix.mid}) is inactive`);
    if (!mix.levels) {
      missing.push(`${who}'s mix has no spectrum`);
    } else {
      for (const other of others) {
        if (!(mix.levels[other] > mix.floor + MIN_TONE_ABOVE_FLOOR_DB)) {
          missing.push(`${who}'s mix: ${other}'s ${TONES[other]} Hz at ${mix.levels[other]} dB, not `
            + `${MIN_TONE_ABOVE_FLOOR_DB} dB above the floor ${mix.floor} dB`);
        }
      }
      const weaker = Math.min(...others.map((other) => mix.levels[other]));
      if (!(mix.levels[who] <= weaker - MIN_OWN_TONE_MARGIN_DB)) {
        missing.push(`${who}'s mix holds its own ${TONES[who]} Hz at ${mix.levels[who]} dB, not `
          + `${MIN_OWN_TONE_MARGIN_DB} dB below the weaker other tone (${weaker} dB)`);
      }
    }
  }

  for (const other of others) {
    const rows = media.video.filter((row) => row.session === sessions[other] && row.inStream && row.direction !== 'inactive');
    const showing = rows.filter((row) => row.framesDecoded > MIN_FRAMES_DECODED && nearestColour(row.colour, COLOURS) === other);
    if (showing.length === 0) {
      missing.push(`${who} <- ${other}'s camera: no receiver of that stream with > ${MIN_FRAMES_DECODED} frames in `
        + `rgb(${COLOURS[other]}) (${rows.map((row) => `mid ${row.mid} ${row.framesDecoded} frames rgb(${row.colour})`)
          .join(', ') || 'no receiver'})`);
    }
  }
  return missing;
}

function printMedia(label, who, media, sessions) {
  const name = (session) => Object.keys(sessions).find((user) => sessions[user] === session)
    ?? (session === null ? 'no stream' : `stream ${session}`);
  for (const row of media.audio) {
    const levels = row.levels
      ? `${USERS.map((user) => `${user} ${TONES[user]} Hz ${row.levels[user]} dB`).join(', ')}, floor ${row.floor} dB`
      : 'no spectrum';
    console.log(`  [${label}] ${who} <- audio mid ${row.mid} (${name(row.stream)}, ${row.direction}): `
      + `packetsReceived ${row.packetsReceived}; ${levels}`);
  }
  for (const row of media.video) {
    console.log(`  [${label}] ${who} <- video mid ${row.mid} (${name(row.session)}, ${row.direction}): `
      + `framesDecoded ${row.framesDecoded}, rgb(${row.colour}) = ${nearestColour(row.colour, COLOURS)}`);
  }
}

/**
 * Polls every page until nothing is missing on any (or the deadline);
 * prints the last figures of each page; fails with what is missing.
 * `previous` (by page, by mid) is the audio packets of the poll before; it
 * resolves with those of its last poll.
 */
async function expectMixed(label, pages, sessions, deadlineMs, previous = Object.fromEntries(USERS.map((who) => [who, {}]))) {
  const started = Date.now();
  for (;;) {
    const readings = Object.fromEntries(await Promise.all(USERS.map(async (who) =>
      [who, await pages[who].evaluate(readMedia, { tones: TONES, spectrum: SPECTRUM })])));
    const missing = USERS.flatMap((who) => missingOn(who, readings[who], sessions, previous[who]));
    for (const who of USERS) {
      previous[who] = Object.fromEntries(readings[who].audio.map((row) => [row.mid, row.packetsReceived]));
    }
    const elapsed = Date.now() - started;
    // Packet counts only grow: a second audio stream past the mark is for good.
    const forGood = USERS.some((who) => readings[who].audio.filter((row) => row.packetsReceived > MIN_AUDIO_PACKETS).length > 1);
    if (missing.length === 0 || elapsed > deadlineMs || forGood) {
      console.log(`figures ${label} (${elapsed} ms):`);
      for (const who of USERS) printMedia(label, who, readings[who], sessions);
      if (missing.length > 0) {
        throw new Failure(`${label}: ${forGood ? `after ${elapsed} ms (for good)` : `not within ${deadlineMs} ms`}: `
          + `${missing.join('; ')}`);
      }
      const mixIds = USERS.map((who) => readings[who].audio.find((row) => row.packetsReceived > MIN_AUDIO_PACKETS).stream);
      if (new Set(mixIds).size !== 1) {
        throw new Failure(`${label}: the pages' mixes come in streams of different ids (one mixer per line): `
          + `${USERS.map((who, index) => `${who} ${mixIds[index]}`).join(', ')}`);
      }
      console.log(`${label}: every page hears one mix of the other two, and sees both other cameras, after `
        + `${elapsed} ms (mix stream ids: ${USERS.map((who, index) => `${who} ${mixIds[index]}`).join(', ')})`);
      return previous;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// ---------------------------------------------------------------- steps

async function run(pages) {
  const { alice } = pages;
  const sessions = {};
  for (const who of USERS) sessions[who] = (await pages[who].evaluate((name) => window.harness.connect(name), who)).session;
  console.log(`sessions: ${USERS.map((who) => `${who} ${sessions[who]}`).join(', ')}`);

  const { lineId, token, audio } = await alice.evaluate(async () => {
    const response = await window.harness.client.request('create_line', { audio: 'mixed' });
    return { lineId: response.line_id, token: response.token, audio: response.audio ?? null };
  });
  console.log(`alice created the line ${lineId} with "audio": "mixed" (the response's audio: ${JSON.stringify(audio)})`);
  await alice.evaluate((id) => window.harness.join(id), lineId);
  for (const who of ['bob', 'carol']) {
    await pages[who].evaluate(({ id, key }) => window.harness.join(id, { token: key }), { id: lineId, key: token });
  }
  console.log('bob and carol joined with the line id and token');

  const packets = await expectMixed('after the three joined', pages, sessions, MEDIA_DEADLINE_MS);
  await new Promise((resolve) => setTimeout(resolve, CONFIRM_AFTER_MS));
  await expectMixed(`${CONFIRM_AFTER_MS} ms later`, pages, sessions, 0, packets); // one measurement

  const errors = await harnessErrors(pages);
  if (errors.length > 0) throw new Failure(`harness errors: ${errors.join(' | ')}`);
}

process.exitCode = await runHarnessTest({
  users: USERS,
  pageUrl: PAGE_URL,
  colours: COLOURS,
  tones: TONES,
  run,
  passMessage: 'a line with "audio": "mixed": each Chromium page hears one mix of the others (not itself) and sees their cameras',
  onFailure: async (pages) => {
    for (const [who, page] of Object.entries(pages)) {
      const state = await page.evaluate(() => ({
        errors: window.harness.errors,
        negotiation: window.harness.events('negotiation').map((entry) => entry.step).join(' '),
        transceivers: window.harness.call?.pc?.getTransceivers()
          .map((t) => `${t.mid}:${t.receiver.track.kind}:${t.currentDirection}`).join(' ') ?? null,
      })).catch((error) => error.message);
      console.log(`${who}'s call: ${JSON.stringify(state)}`);
    }
  },
});
