// e2e-test: sfu_chromium
// E2E (issue 4's acceptance test): the SFU forwards every occupant's media to
// every other occupant, through the demo page in headless Chromium. Four
// browser contexts (four users; as microphone a sine tone and as camera a
// 320x240, 15 fps canvas painted in a colour, each of the user's own, so
// that audio or a tile from the wrong publisher is caught):
//   1. alice creates a line; bob and carol open its share link and join.
//      Within 20 s of carol's join, every page receives BOTH others:
//      inbound video framesDecoded > 30 and inbound audio packetsReceived
//      > 100, each remote tile plays its occupant's stream (its video
//      element has the stream, is not muted, and shows a colour nearer to
//      that user's than to anyone else's), and the audio track of each
//      publisher's stream sounds its tone (the loudest frequency of an FFT
//      of the received track is within TONE_TOLERANCE_HZ of that user's
//      tone);
//   2. dave joins through the link: everyone renegotiates. Within 20 s of his
//      join, on every page, the stream of every other occupant grew by those
//      amounts since just before the join: the three receive dave, dave
//      receives the three, and the streams they had survive the update;
//   3. bob hangs up. On the three other pages: `occupants` without bob (his
//      tile goes), and bob's tracks end there, which means precisely:
//        - bob's stream (id = his session) fired `removetrack` for both
//          tracks: it has no tracks left and left LineCall.remoteStreams,
//        - both of the receiver tracks that carried him are muted, and their
//          transceivers' currentDirection is 'inactive' (the server's offer
//          made his m-lines a=inactive);
//      and the remaining streams still flow (same amounts again).
//
// Figures come from RTCRtpReceiver.getStats() of each receiver whose track
// belongs to a publisher's stream (stream id = the publisher's session id,
// see "update" in docs/protocol.md), so every inbound-rtp entry is known to
// be one publisher's. They are printed per page and publisher, with the CPU
// that the browser and the server used during each step. Screenshots go to
// out/ (or $PARTYLINE_E2E_OUT).
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py); PARTYLINE_URL is the page to open.

import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_FLAGS, CHROMIUM_PATH, fakeDevicesIn, openLineView, pitchAnalysisIn } from './chromium.mjs';
import { cpuSeconds } from './test_util.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const OUT_DIR = process.env.PARTYLINE_E2E_OUT ?? join(dirname(fileURLToPath(import.meta.url)), 'out');
const STEP_MS = 15000;
const MEDIA_DEADLINE_MS = 20000;
const POLL_MS = 250;
const MIN_FRAMES_DECODED = 30;
const MIN_AUDIO_PACKETS = 100;
const USERS = ['alice', 'bob', 'carol', 'dave'];
/**
 * Each user's camera colour (RGB). The colour conversions and VP8 shift them
 * by up to ~40 per channel, so a tile is recognised by the nearest of these.
 */
const COLOURS = { alice: [220, 40, 40], bob: [40, 180, 40], carol: [40, 70, 220], dave: [230, 200, 30] };
/**
 * Each user's microphone tone (Hz). With a 4096-point FFT at 48 kHz the bins
 * are 11.7 Hz apart, and Opus keeps a sine's pitch: the loudest bin lies
 * within one or two bins of the tone. 220 Hz between neighbours leaves no
 * doubt which publisher is heard; the tolerance is well under half of that.
 */
const TONES = { alice: 440, bob: 660, carol: 880, dave: 1100 };
const TONE_TOLERANCE_HZ = 40;

class Failure extends Error {}

// ---------------------------------------------------------------- in the page

/**
 * Runs in the page: per publisher (by user), what its receivers got, what
 * its tile shows, and the pitch of its audio track.
 */
async function readReception() {
  /** The colour in the middle of a video element, [r, g, b]. */
  const middleColour = (video) => {
    if (!video.videoWidth) return null;
    const canvas = Object.assign(document.createElement('canvas'), { width: 32, height: 24 });
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    return [...context.getImageData(16, 12, 1, 1).data.slice(0, 3)];
  };
  const { call, state } = window.phoneLine;
  const pc = call?.pc;
  const users = new Map((state.line?.occupants ?? []).map((occupant) => [occupant.session, occupant.user]));
  const reception = {};
  if (!pc) return reception;
  for (const [session, stream] of call.remoteStreams) {
    const figures = { session, framesDecoded: 0, audioPackets: 0, tracks: stream.getTracks().length, pitch: null };
    for (const track of stream.getTracks()) {
      if (track.kind === 'audio') figures.pitch = window.loudestPitch(track);
      const receiver = pc.getReceivers().find((candidate) => candidate.track === track);
      if (!receiver) continue;
      for (const entry of (await receiver.getStats()).values()) {
        if (entry.type !== 'inbound-rtp' || entry.kind !== track.kind) continue;
        if (entry.kind === 'video') figures.framesDecoded += entry.framesDecoded ?? 0;
        else figures.audioPackets += entry.packetsReceived ?? 0;
      }
    }
    const tile = document.querySelector(`#tiles .tile[data-session="${CSS.escape(session)}"]`);
    const video = tile?.querySelector('video');
    figures.tile = video ? {
      plays: video.srcObject?.id === session,
      size: `${video.videoWidth}x${video.videoHeight}`,
      muted: video.muted,
      colour: middleColour(video),
    } : null;
    reception[users.get(session) ?? `session ${session}`] = figures;
  }
  return reception;
}

/** Runs in the page: keeps the stream and receivers of a publisher to look at after it leaves. */
function rememberPublisher(user) {
  const { call, state } = window.phoneLine;
  const session = state.line.occupants.find((occupant) => occupant.user === user)?.session;
  const stream = call.remoteStreams.get(session);
  if (!stream) return null;
  const removed = [];
  stream.addEventListener('removetrack', (event) => removed.push(event.track.kind));
  const tracks = stream.getTracks();
  window.leavingPublisher = { session, stream, tracks, removed };
  return { session, kinds: tracks.map((track) => track.kind).sort() };
}

/** Runs in the page: how the publisher kept by rememberPublisher looks now. */
function readLeftPublisher() {
  const { session, stream, tracks, removed } = window.leavingPublisher;
  const { call, state } = window.phoneLine;
  const transceivers = call?.pc?.getTransceivers() ?? [];
  return {
    inOccupants: (state.line?.occupants ?? []).some((occupant) => occupant.session === session),
    hasTile: document.querySelector(`#tiles .tile[data-session="${CSS.escape(session)}"]`) !== null,
    inRemoteStreams: call?.remoteStreams.has(session) ?? null,
    tracksLeft: stream.getTracks().length,
    removetrackFired: [...removed].sort(),
    tracks: tracks.map((track) => ({
      kind: track.kind,
      muted: track.muted,
      direction: transceivers.find((transceiver) => transceiver.receiver.track === track)?.currentDirection ?? null,
    })),
  };
}

/** Runs in the page: the state of its connection, to explain a failure. */
async function readConnection() {
  if (!window.phoneLine) return 'the page is not open';
  const { call, state } = window.phoneLine;
  const pc = call?.pc;
  const summary = { errors: state.errors, status: state.status };
  if (!pc) return summary;
  Object.assign(summary, {
    signaling: pc.signalingState, ice: pc.iceConnectionState, gathering: pc.iceGatheringState,
    connection: pc.connectionState,
    transceivers: pc.getTransceivers().map((transceiver) =>
      `${transceiver.mid}:${transceiver.receiver.track.kind}:${transceiver.currentDirection}`).join(' '),
    pairs: [], candidates: [],
  });
  for (const entry of (await pc.getStats()).values()) {
    if (entry.type === 'candidate-pair') {
      summary.pairs.push(`${entry.state} nominated=${entry.nominated} requests=${entry.requestsSent}/`
        + `${entry.requestsReceived} responses=${entry.responsesReceived}/${entry.responsesSent}`);
    } else if (entry.type.endsWith('candidate')) {
      summary.candidates.push(`${entry.type} ${entry.protocol} ${entry.address}:${entry.port}`);
    } else if (entry.type === 'transport') {
      summary.dtls = entry.dtlsState;
    }
  }
  return summary;
}

async function reportCpu(step, since) {
  const now = await cpuSeconds();
  const wall = (now.at - since.at) / 1000;
  const cores = (group) => ((now[group] - since[group]) / wall).toFixed(2);
  console.log(`CPU during ${step} (${wall.toFixed(1)} s): chromium ${cores('chromium')} cores, `
    + `partyline ${cores('partyline')} cores`);
  return now;
}

// ---------------------------------------------------------------- checks

async function joinThroughLink(page, name, shareUrl) {
  await openLineView(page, name, shareUrl);
  await page.click('#line-join');
}

async function expectTiles(page, who, users) {
  try {
    await page.waitForFunction((wanted) => {
      const tiles = [...document.querySelectorAll('#tiles .tile')];
      return JSON.stringify(tiles.map((tile) => tile.dataset.user).sort()) === JSON.stringify([...wanted].sort())
        && tiles.every((tile) => tile.dataset.state === 'connected');
    }, users, { timeout: STEP_MS });
  } catch {
    const tiles = await page.evaluate(() => [...document.querySelectorAll('#tiles .tile')]
      .map((tile) => `${tile.dataset.user}:${tile.dataset.state}`));
    throw new Failure(`${who}: expected connected tiles for ${users.join(', ')} within ${STEP_MS} ms; `
      + `tiles: ${tiles.join(', ')}; errors: ${JSON.stringify(await page.evaluate(() => window.phoneLine.state.errors))}`);
  }
}

/** The user whose camera colour is nearest to `colour`. */
function userByColour(colour) {
  if (!colour) return null;
  const distance = (user) => COLOURS[user].reduce((sum, value, channel) => sum + (value - colour[channel]) ** 2, 0);
  return USERS.reduce((best, user) => (distance(user) < distance(best) ? user : best));
}

/** The user whose tone is nearest to `hz`. */
function userByTone(hz) {
  if (hz == null) return null;
  return USERS.reduce((best, user) => (Math.abs(TONES[user] - hz) < Math.abs(TONES[best] - hz) ? user : best));
}

/** What is still missing for `page` to receive each of `publishers` (beyond `baseline`). */
function missingReception(who, reception, publishers, baseline = {}) {
  const missing = [];
  for (const publisher of publishers) {
    const figures = reception[publisher];
    if (!figures) {
      missing.push(`${who} has no stream from ${publisher}`);
      continue;
    }
    const frames = figures.framesDecoded - (baseline[publisher]?.framesDecoded ?? 0);
    const packets = figures.audioPackets - (baseline[publisher]?.audioPackets ?? 0);
    if (!(frames > MIN_FRAMES_DECODED)) missing.push(`${who} <- ${publisher}: ${frames} video frames decoded`);
    if (!(packets > MIN_AUDIO_PACKETS)) missing.push(`${who} <- ${publisher}: ${packets} audio packets`);
    const tile = figures.tile;
    if (!tile?.plays || tile.muted || tile.size === '0x0' || userByColour(tile.colour) !== publisher) {
      missing.push(`${who}'s tile of ${publisher} does not play it (its colour is ${JSON.stringify(COLOURS[publisher])}): `
        + `${JSON.stringify(tile)}`);
    }
    const hz = figures.pitch?.hz;
    if (hz == null || Math.abs(hz - TONES[publisher]) > TONE_TOLERANCE_HZ || userByTone(hz) !== publisher) {
      missing.push(`${who}'s audio of ${publisher} is not its tone (${TONES[publisher]} Hz): ${JSON.stringify(figures.pitch)}`);
    }
  }
  return missing;
}

/**
 * Polls every page's receivers until each receives every other occupant
 * (`expected[who]` lists the publishers) beyond its baseline.
 */
async function expectReception(step, pages, expected, baselines = {}) {
  const started = Date.now();
  let receptions = {};
  let missing = [];
  for (;;) {
    const entries = await Promise.all(Object.keys(expected)
      .map(async (who) => [who, await pages[who].evaluate(readReception)]));
    receptions = Object.fromEntries(entries);
    missing = Object.entries(expected).flatMap(([who, publishers]) =>
      missingReception(who, receptions[who], publishers, baselines[who]));
    if (missing.length === 0) break;
    if (Date.now() - started > MEDIA_DEADLINE_MS) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const elapsed = Date.now() - started;
  printReception(step, receptions, baselines);
  if (missing.length > 0) {
    throw new Failure(`${step}: not within ${MEDIA_DEADLINE_MS} ms: ${missing.join('; ')}`);
  }
  console.log(`${step}: media from every other occupant on every page after ${elapsed} ms`);
  return receptions;
}

function printReception(step, receptions, baselines) {
  console.log(`figures after ${step} (per receiving page, per publisher${Object.keys(baselines).length ? '; +growth since the baseline' : ''}):`);
  for (const [who, reception] of Object.entries(receptions)) {
    for (const [publisher, figures] of Object.entries(reception)) {
      const base = baselines[who]?.[publisher];
      const growth = (value, name) => (base ? ` (+${value - base[name]})` : '');
      console.log(`  ${who} <- ${publisher}: framesDecoded ${figures.framesDecoded}${growth(figures.framesDecoded, 'framesDecoded')}, `
        + `audio packetsReceived ${figures.audioPackets}${growth(figures.audioPackets, 'audioPackets')} `
        + `${figures.pitch ? `at ${figures.pitch.hz} Hz (${figures.pitch.db} dB) = ${userByTone(figures.pitch.hz)}'s tone` : 'silent'}, `
        + `tile ${figures.tile ? describeTile(figures.tile) : 'none'}`);
    }
  }
}

function describeTile(tile) {
  return `${tile.size} rgb(${tile.colour}) = ${userByColour(tile.colour)}'s colour${tile.plays ? '' : ' (not its stream)'}`;
}

async function screenshots(pages, label) {
  for (const [who, page] of Object.entries(pages)) {
    await page.screenshot({ path: join(OUT_DIR, `sfu_chromium.${label}.${who}.png`), fullPage: true });
  }
}

// ---------------------------------------------------------------- steps

async function run(pages) {
  const { alice, bob, carol, dave } = pages;
  let cpu = await cpuSeconds();

  // 1. alice creates the line; bob and carol join through its link.
  await openLineView(alice, 'alice', PAGE_URL);
  await alice.click('#line-create');
  await alice.waitForSelector('#line-share:not([hidden])', { timeout: STEP_MS });
  const shareUrl = await alice.inputValue('#line-share-url');
  console.log(`alice created the line: ${shareUrl}`);
  await joinThroughLink(bob, 'bob', shareUrl);
  await expectTiles(bob, 'bob', ['alice', 'bob']);
  await joinThroughLink(carol, 'carol', shareUrl);
  const three = { alice, bob, carol };
  await expectReception('alice, bob and carol joined', pages, {
    alice: ['bob', 'carol'], bob: ['alice', 'carol'], carol: ['alice', 'bob'],
  });
  for (const [who, page] of Object.entries(three)) await expectTiles(page, who, ['alice', 'bob', 'carol']);
  cpu = await reportCpu('three occupants joining', cpu);

  // 2. dave joins: everyone renegotiates; the streams they had keep flowing.
  const before = Object.fromEntries(await Promise.all(Object.entries(three)
    .map(async ([who, page]) => [who, await page.evaluate(readReception)])));
  await joinThroughLink(dave, 'dave', shareUrl);
  await expectReception('dave joined', pages, {
    alice: ['bob', 'carol', 'dave'],
    bob: ['alice', 'carol', 'dave'],
    carol: ['alice', 'bob', 'dave'],
    dave: ['alice', 'bob', 'carol'],
  }, before);
  for (const [who, page] of Object.entries(pages)) await expectTiles(page, who, USERS);
  cpu = await reportCpu('dave joining', cpu);
  await screenshots(pages, 'four');

  // 3. bob hangs up: his tile goes and his tracks end on the others' pages.
  const staying = { alice, carol, dave };
  for (const [who, page] of Object.entries(staying)) {
    const kept = await page.evaluate(rememberPublisher, 'bob');
    if (JSON.stringify(kept?.kinds) !== '["audio","video"]') {
      throw new Failure(`${who} should have bob's stream with audio and video before he leaves: ${JSON.stringify(kept)}`);
    }
  }
  const beforeLeave = Object.fromEntries(await Promise.all(Object.entries(staying)
    .map(async ([who, page]) => [who, await page.evaluate(readReception)])));
  await bob.click('#line-hangup');
  await bob.waitForFunction(() => document.querySelectorAll('#tiles .tile').length === 0, null, { timeout: STEP_MS });
  for (const [who, page] of Object.entries(staying)) {
    await expectTiles(page, who, ['alice', 'carol', 'dave']);
    try {
      await page.waitForFunction(() => {
        const left = window.leavingPublisher;
        return left.stream.getTracks().length === 0
          && !window.phoneLine.call.remoteStreams.has(left.session)
          && left.tracks.every((track) => track.muted)
          && window.phoneLine.call.pc.getTransceivers()
            .filter((transceiver) => left.tracks.includes(transceiver.receiver.track))
            .every((transceiver) => transceiver.currentDirection === 'inactive');
      }, null, { timeout: STEP_MS });
    } catch {
      throw new Failure(`${who}: bob's tracks did not end within ${STEP_MS} ms: ${JSON.stringify(await page.evaluate(readLeftPublisher))}`);
    }
    const left = await page.evaluate(readLeftPublisher);
    if (JSON.stringify(left.removetrackFired) !== '["audio","video"]' || left.hasTile || left.inOccupants) {
      throw new Failure(`${who}: after bob left: ${JSON.stringify(left)}`);
    }
    console.log(`${who}: bob left: no tile, removetrack fired for ${left.removetrackFired.join(' and ')}, `
      + `tracks ${left.tracks.map((track) => `${track.kind} muted=${track.muted} ${track.direction}`).join(', ')}`);
  }
  await expectReception('bob left', staying, {
    alice: ['carol', 'dave'], carol: ['alice', 'dave'], dave: ['alice', 'carol'],
  }, beforeLeave);
  await reportCpu('bob leaving', cpu);
  await screenshots(staying, 'after-bob-left');

  for (const [who, page] of Object.entries(pages)) {
    const errors = await page.evaluate(() => window.phoneLine.state.errors);
    if (errors.length > 0) throw new Failure(`${who}'s page reports errors: ${errors.join(' | ')}`);
  }
}

async function main() {
  await mkdir(OUT_DIR, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS,
    timeout: 30000 });
  const pageErrors = [];
  try {
    const pages = {};
    for (const who of USERS) {
      const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
      await context.addInitScript(fakeDevicesIn, { rgb: COLOURS[who], hz: TONES[who] });
      await context.addInitScript(pitchAnalysisIn);
      const page = await context.newPage();
      page.on('console', (message) => console.log(`[${who} ${message.type()}] ${message.text()}`));
      page.on('pageerror', (error) => {
        pageErrors.push(`${who}: ${error.message}`);
        console.log(`[${who} page error] ${error.message}`);
      });
      pages[who] = page;
    }
    try {
      await run(pages);
    } catch (error) {
      for (const [who, page] of Object.entries(pages)) {
        await page.screenshot({ path: join(OUT_DIR, `sfu_chromium.${who}.failed.png`), fullPage: true })
          .catch(() => {});
        console.log(`${who}'s connection: ${JSON.stringify(await page.evaluate(readConnection).catch((e) => e.message))}`);
      }
      console.log(`FAIL: ${error instanceof Failure ? error.message : error.stack}`);
      return 1;
    }
    if (pageErrors.length > 0) {
      console.log(`FAIL: uncaught errors in the pages: ${pageErrors.join(' | ')}`);
      return 1;
    }
    console.log(`PASS: SFU forwarding between four Chromium pages (screenshots in ${OUT_DIR})`);
    return 0;
  } finally {
    await browser.close().catch((error) => console.error('closing Chromium:', error.message));
  }
}

process.exitCode = await main();
