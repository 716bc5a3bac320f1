// e2e-test: recorder_chromium
// E2E (issue 10, the recorder's acceptance test): the `recorder` plugin
// (plugins/recorder) records a phone line of Chromium occupants, one WebM
// file per publisher. Four browser contexts, each user's microphone a sine
// of its own pitch and its camera a 320x240 canvas of its own colour
// (chromium.mjs, fakeDevicesIn):
//   1. alice creates a line on the demo page's Phone line view; bob and
//      carol join through its link. A second WebSocket session of alice (a
//      member, node `ws`) attaches `recorder` and sends `record` with the
//      line: the reply says recording. Every page's `occupants` lists the
//      recorder ("plugin": "recorder", name "recorder").
//   2. About 4 s in, bob hangs up; about 5 s in, dave joins through the link
//      (his page lists the recorder too); about 11 s in, `stop`. The stop
//      reply lists the files; the `stopped` event follows once they are
//      complete, and alice's `occupants` no longer list the recorder.
//   3. Four files, one per publisher. For each, ffprobe (JSON) shows a VP8
//      and an Opus stream and a duration within 10 % of the time that user
//      published while the recorder recorded, measured from events: from
//      `record`'s reply (or, for dave, the first `occupants` on alice's page
//      showing him connected) to `stop` (or, for bob, the first `occupants`
//      without him). A frame from the middle, decoded and scaled to one
//      pixel by ffmpeg, is that user's colour (within 50 per channel, and
//      nearer to it than to anyone else's), and the dominant frequency of
//      the audio (ffmpeg to 48 kHz mono PCM, Goertzel) is within 40 Hz of
//      that user's tone.
// Prints each file's figures. The files stay in the recorder's folder
// (recorder.json) when the test fails, and are removed when it passes.
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py with --config recorder.json; the recorder is loaded from
// the build tree's plugins/ folder).

import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM_FLAGS, CHROMIUM_PATH, fakeDevicesIn, openLineView } from './chromium.mjs';
import { SignalingClient } from './werift_signaling.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const WS_URL = process.env.PARTYLINE_WS_URL ?? 'ws://127.0.0.1:8088/ws';
const STEP_MS = 15000;
const USERS = ['alice', 'bob', 'carol', 'dave'];
/** Colours and tones as in sfu_chromium: far enough apart that a wrong publisher's file is caught. */
const COLOURS = { alice: [220, 40, 40], bob: [40, 180, 40], carol: [40, 70, 220], dave: [230, 200, 30] };
const TONES = { alice: 440, bob: 660, carol: 880, dave: 1100 };
const TONE_TOLERANCE_HZ = 40;
/** Per channel: VP8 and the colour conversions move a flat colour by up to ~40. */
const COLOUR_TOLERANCE = 50;
const DURATION_TOLERANCE = 0.1;
/** When, after `record`, bob leaves, dave joins and the recording stops (ms). */
const BOB_LEAVES_MS = 4000;
const DAVE_JOINS_MS = 5000;
const STOP_MS = 11000;

const run = promisify(execFile);

class Failure extends Error {}

function check(condition, message) {
  if (!condition) throw new Failure(message);
}

const sleepUntil = (at) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

// ---------------------------------------------------------------- in the page

/** Runs in the page: keeps every later `occupants` event with the time it came. */
function watchOccupants() {
  window.recorderWatch = [];
  window.phoneLine.client.on('occupants', (message) => {
    window.recorderWatch.push({ at: Date.now(), occupants: message.line?.occupants ?? [] });
  });
}

/** Runs in the page: the recorder's entries in its last `occupants`. */
function recorderOccupants() {
  return (window.phoneLine.state.line?.occupants ?? []).filter((occupant) => occupant.plugin === 'recorder');
}

// ---------------------------------------------------------------- the line

async function joinThroughLink(page, name, shareUrl) {
  await openLineView(page, name, shareUrl);
  await page.click('#line-join');
}

/** Waits until `page` is a connected occupant; returns its session. */
async function expectConnected(page, who) {
  try {
    await page.waitForFunction(() => {
      const { state, client } = window.phoneLine;
      return state.line?.occupants?.some((occupant) => occupant.session === client?.sessionId
        && occupant.state === 'connected');
    }, null, { timeout: STEP_MS });
  } catch {
    throw new Failure(`${who} is not a connected occupant within ${STEP_MS} ms: `
      + `${JSON.stringify(await page.evaluate(() => window.phoneLine.state))}`);
  }
  return page.evaluate(() => window.phoneLine.client.sessionId);
}

async function expectRecorderListed(page, who) {
  await page.waitForFunction(() => (window.phoneLine.state.line?.occupants ?? [])
    .some((occupant) => occupant.plugin === 'recorder'), null, { timeout: STEP_MS })
    .catch(() => {});  // the check below says what the page lists
  const listed = await page.evaluate(recorderOccupants);
  check(listed.length === 1 && listed[0].name === 'recorder' && listed[0].user === 'plugin:recorder',
    `${who}'s occupants should list the recorder once: ${JSON.stringify(listed)}`);
  console.log(`${who}'s occupants list the recorder: ${JSON.stringify(listed[0])}`);
}

/** The first `occupants` on a page's watch, at or after `since`, for which `predicate(occupants)` holds. */
async function occupantsEventTime(page, since, predicate, what) {
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    const events = await page.evaluate(() => window.recorderWatch);
    const found = events.find((event) => event.at >= since && predicate(event.occupants));
    if (found) return found.at;
    check(Date.now() < deadline, `no occupants event ${what} within ${STEP_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// ---------------------------------------------------------------- the files

async function probe(path) {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', path]);
  const parsed = JSON.parse(stdout);
  return { codecs: parsed.streams.map((stream) => stream.codec_name).sort(), duration: Number(parsed.format.duration) };
}

async function middleColour(path, duration) {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-ss', String(duration / 2), '-i', path, '-frames:v', '1',
    '-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer' });
  return [...stdout.subarray(0, 3)];
}

/** The strongest frequency (Hz, 2 Hz steps, 200-1500) of 2 s of audio from the middle of the file (Goertzel). */
async function dominantFrequency(path, duration) {
  const rate = 48000;
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-ss', String(Math.max(0, duration / 2 - 1)), '-t', '2',
    '-i', path, '-vn', '-f', 's16le', '-ac', '1', '-ar', String(rate), '-'], { encoding: 'buffer', maxBuffer: 1 << 24 });
  const samples = new Float64Array(stdout.length >> 1);
  for (let i = 0; i < samples.length; i += 1) samples[i] = stdout.readInt16LE(2 * i);
  let best = { hz: null, power: -1 };
  for (let hz = 200; hz <= 1500; hz += 2) {
    const coefficient = 2 * Math.cos((2 * Math.PI * hz) / rate);
    let s1 = 0;
    let s2 = 0;
    for (const sample of samples) {
      const s0 = sample + coefficient * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
    if (power > best.power) best = { hz, power };
  }
  return best.hz;
}

/** The user whose camera colour is nearest to `colour`. */
function userByColour(colour) {
  const distance = (user) => COLOURS[user].reduce((sum, value, channel) => sum + (value - colour[channel]) ** 2, 0);
  return USERS.reduce((best, user) => (distance(user) < distance(best) ? user : best));
}

async function checkFile(file, user, publishedMs) {
  const expected = publishedMs / 1000;
  const { codecs, duration } = await probe(file.path);
  const colour = await middleColour(file.path, duration);
  const hz = await dominantFrequency(file.path, duration);
  console.log(`${user}: ${file.path}: ${codecs.join(' + ')}, ${duration.toFixed(2)} s (published ${expected.toFixed(2)} s `
    + `while recorded), middle frame rgb(${colour}), want rgb(${COLOURS[user]}); audio ${hz} Hz, want ${TONES[user]} Hz`);
  check(JSON.stringify(codecs) === '["opus","vp8"]', `${user}'s file: streams ${codecs}, want opus and vp8`);
  check(Math.abs(duration - expected) <= DURATION_TOLERANCE * expected,
    `${user}'s file lasts ${duration} s, not within ${DURATION_TOLERANCE * 100} % of ${expected.toFixed(2)} s`);
  check(colour.length === 3 && colour.every((value, channel) => Math.abs(value - COLOURS[user][channel]) <= COLOUR_TOLERANCE)
    && userByColour(colour) === user, `${user}'s file shows rgb(${colour}), not rgb(${COLOURS[user]})`);
  check(hz !== null && Math.abs(hz - TONES[user]) <= TONE_TOLERANCE_HZ, `${user}'s file sounds ${hz} Hz, not ${TONES[user]} Hz`);
}

// ---------------------------------------------------------------- steps

async function record(pages, clients) {
  const { alice, bob, carol, dave } = pages;
  await openLineView(alice, 'alice', PAGE_URL);
  await alice.click('#line-create');
  await alice.waitForSelector('#line-share:not([hidden])', { timeout: STEP_MS });
  const shareUrl = await alice.inputValue('#line-share-url');
  const sessions = { alice: await expectConnected(alice, 'alice') };
  await alice.evaluate(watchOccupants);
  const lineId = await alice.evaluate(() => window.phoneLine.state.lineId);
  await joinThroughLink(bob, 'bob', shareUrl);
  await joinThroughLink(carol, 'carol', shareUrl);
  sessions.bob = await expectConnected(bob, 'bob');
  sessions.carol = await expectConnected(carol, 'carol');
  console.log(`line ${lineId}: alice, bob and carol connected`);

  // 1. alice's second session records the line.
  const control = await SignalingClient.connect(WS_URL, 'alice');
  clients.push(control);
  const { handle } = await control.request('attach', { plugin: 'recorder' });
  check(handle, 'attach recorder: no handle');
  const started = (await control.request('message', { handle, body: { request: 'record', line_id: lineId } })).data;
  const recordAt = Date.now();
  check(started.recording === true && started.line_id === lineId, `record replied ${JSON.stringify(started)}`);
  console.log(`recording: ${JSON.stringify(started)}`);
  for (const who of ['alice', 'bob', 'carol']) await expectRecorderListed(pages[who], who);

  // 2. bob leaves, dave joins, stop.
  await sleepUntil(recordAt + BOB_LEAVES_MS);
  await bob.click('#line-hangup');
  const bobLeftAt = await occupantsEventTime(alice, recordAt,
    (occupants) => !occupants.some((occupant) => occupant.session === sessions.bob), 'without bob');
  await sleepUntil(recordAt + DAVE_JOINS_MS);
  await joinThroughLink(dave, 'dave', shareUrl);
  sessions.dave = await expectConnected(dave, 'dave');
  const daveAt = await occupantsEventTime(alice, recordAt,
    (occupants) => occupants.some((occupant) => occupant.session === sessions.dave && occupant.state === 'connected'),
    'with dave connected');
  await expectRecorderListed(dave, 'dave');
  await sleepUntil(recordAt + STOP_MS);
  const stopSentAt = Date.now();
  const stopped = (await control.request('message', { handle, body: { request: 'stop' } })).data;
  const stopAt = (stopSentAt + Date.now()) / 2;
  console.log(`stop replied ${JSON.stringify(stopped)}`);
  check(stopped.recording === false && stopped.line_id === lineId, `stop replied ${JSON.stringify(stopped)}`);
  const event = await control.waitForEvent((e) => e.event === 'plugin' && e.data?.recorder === 'stopped', STEP_MS,
    'the recorder\'s stopped event');
  console.log(`stopped event: ${JSON.stringify(event.data)}`);
  await occupantsEventTime(alice, stopSentAt,
    (occupants) => !occupants.some((occupant) => occupant.plugin === 'recorder'), 'without the recorder after stop');
  const status = (await control.request('message', { handle, body: { request: 'status' } })).data;
  check(status.recording === false, `status after stop: ${JSON.stringify(status)}`);
  await control.request('detach', { handle });

  const published = {
    alice: stopAt - recordAt, bob: bobLeftAt - recordAt, carol: stopAt - recordAt, dave: stopAt - daveAt,
  };
  console.log(`published while recorded (ms): ${JSON.stringify(published)}`);
  return { files: event.data.files, sessions, published };
}

async function checkFiles({ files, sessions, published }) {
  check(files.length === USERS.length, `${files.length} files, want one per publisher: ${JSON.stringify(files)}`);
  for (const user of USERS) {
    const mine = files.filter((file) => file.publisher === sessions[user]);
    check(mine.length === 1, `${user} (${sessions[user]}) has ${mine.length} files: ${JSON.stringify(files)}`);
    const [file] = mine;
    check(file.publisher_name === user && file.audio && file.video && file.complete,
      `${user}'s file entry: ${JSON.stringify(file)}`);
    await checkFile(file, user, published[user]);
  }
}

async function main() {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS,
    timeout: 30000 });
  const clients = [];
  const pageErrors = [];
  let files = [];
  try {
    const pages = {};
    for (const who of USERS) {
      const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
      await context.addInitScript(fakeDevicesIn, { rgb: COLOURS[who], hz: TONES[who] });
      const page = await context.newPage();
      page.on('console', (message) => console.log(`[${who} ${message.type()}] ${message.text()}`));
      page.on('pageerror', (error) => pageErrors.push(`${who}: ${error.message}`));
      pages[who] = page;
    }
    try {
      const recording = await record(pages, clients);
      files = recording.files;
      await checkFiles(recording);
      check(pageErrors.length === 0, `uncaught errors in the pages: ${pageErrors.join(' | ')}`);
    } catch (error) {
      console.log(`FAIL: ${error instanceof Failure ? error.message : error.stack}`);
      if (files.length) console.log(`the files stay: ${files.map((file) => file.path).join(' ')}`);
      return 1;
    }
    for (const file of files) await rm(file.path, { force: true });
    console.log('PASS: the recorder wrote one WebM per publisher, each in its colour and tone, as long as it published');
    return 0;
  } finally {
    for (const client of clients) client.close();
    await browser.close().catch((error) => console.error('closing Chromium:', error.message));
  }
}

process.exitCode = await main();
