// e2e-test: plugin_tone_chromium
// E2E (issue 10, "a plugin that publishes into a line"): the `tone` test
// plugin (tests/plugins/tone) joins a phone line through plugin API 1.2 and
// publishes a generated sine; a Chromium occupant hears it.
//   1. alice creates a line on the demo page's Phone line view (her own
//      microphone a 440 Hz sine). A second WebSocket session of alice (a
//      member of the line, node `ws`) attaches the tone plugin and sends
//      `join` with the line and 660 Hz: the reply is {"joined": line_id}.
//   2. The page's `occupants` list the plugin's occupant (name "tone",
//      "plugin": "tone"); within 20 s the page receives its audio through an
//      `update` offer (an m-line with a=msid of that occupant's session) and
//      the track sounds 660 Hz (loudest bin of a 4096-point FFT within 40 Hz)
//      with inbound packetsReceived > 100.
//   3. Bad input, while the page listens: join for a line that does not
//      exist (404), for a line the user is not a member of (mallory, 403), a
//      join without line_id and one with a bad frequency (400), a second
//      join on the publishing handle (409), leave outside a line (404). The
//      tone's occupant stays, and the page keeps receiving it (+50 packets,
//      still 660 Hz).
//   4. `stats` and the admin API's plugin query count the packets sent;
//      `leave` answers {"left": line_id}, the page's next `occupants` lacks
//      the plugin's occupant and its stream leaves the page.
//   5. The same handle joins again (the page decodes its audio again), then
//      is detached while it publishes (destroy_handle with its timer running; the
//      AddressSanitizer round catches a tick reaching the freed handle): the
//      page's next `occupants` lacks it and its stream leaves the page.
// Prints the dominant frequency and the packet counts.
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py with the tone plugin's folder in PARTYLINE_PLUGIN_FOLDERS).

import { randomUUID } from 'node:crypto';
import { fakeDevicesIn, openLineView, pitchAnalysisIn, withChromium } from './chromium.mjs';
import { RequestError, SignalingClient } from './werift_signaling.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const WS_URL = process.env.PARTYLINE_WS_URL ?? 'ws://127.0.0.1:8088/ws';
const ADMIN_URL = process.env.PARTYLINE_ADMIN_URL ?? 'http://127.0.0.1:7088/admin/v1';
const STEP_MS = 15000;
const MEDIA_DEADLINE_MS = 20000;
const POLL_MS = 250;
const MIN_AUDIO_PACKETS = 100;
/** The page's own microphone and the plugin's tone: 220 Hz apart (see sfu_chromium). */
const PAGE_HZ = 440;
const TONE_HZ = 660;
const TONE_TOLERANCE_HZ = 40;
/** About a second of the tone (50 packets/s), while the bad input is sent. */
const MIN_PACKETS_DURING_BAD_INPUT = 50;

class Failure extends Error {}

function check(condition, message) {
  if (!condition) throw new Failure(message);
}

// ---------------------------------------------------------------- in the page

/**
 * Runs in the page: records its later `occupants` and `update` events, and
 * defines `pluginOccupantsIn(line)`, the plugins' occupants of a line.
 */
function watchLine() {
  window.pluginOccupantsIn = (line) => (line?.occupants ?? []).filter((occupant) => occupant.plugin !== undefined);
  window.toneWatch = { occupants: [], updates: [] };
  const { client } = window.phoneLine;
  client.on('occupants', (message) => window.toneWatch.occupants.push(message.line));
  client.on('update', (message) => window.toneWatch.updates.push(message.jsep?.sdp ?? ''));
}

/** Runs in the page: what it receives from the publisher whose session is `session`. */
async function readTone(session) {
  const { call } = window.phoneLine;
  const stream = call?.remoteStreams.get(session);
  const figures = {
    stream: Boolean(stream),
    updatesWithIt: window.toneWatch.updates.filter((sdp) => sdp.includes(`a=msid:${session} `)).length,
    audioTracks: 0, audioPackets: 0, pitch: null, inbound: [],
  };
  const video = document.querySelector(`#tiles .tile[data-session="${CSS.escape(session)}"] video`);
  figures.tile = video ? { plays: Boolean(stream) && video.srcObject === stream, paused: video.paused } : null;
  for (const track of stream?.getAudioTracks() ?? []) {
    figures.audioTracks += 1;
    figures.pitch = window.loudestPitch(track);
    figures.track = { muted: track.muted, readyState: track.readyState };
    const receiver = call.pc.getReceivers().find((candidate) => candidate.track === track);
    for (const entry of (await receiver?.getStats())?.values() ?? []) {
      if (entry.type !== 'inbound-rtp' || entry.kind !== 'audio') continue;
      figures.audioPackets += entry.packetsReceived ?? 0;
      // The decoded audio's energy, and what explains a failure.
      figures.inbound.push({ ssrc: entry.ssrc, packetsLost: entry.packetsLost, packetsDiscarded: entry.packetsDiscarded,
        audioLevel: entry.audioLevel, totalAudioEnergy: entry.totalAudioEnergy,
        totalSamplesDuration: entry.totalSamplesDuration, concealedSamples: entry.concealedSamples });
    }
  }
  return figures;
}

// ---------------------------------------------------------------- checks

/** What is still missing for the page to hear the tone (beyond `baselinePackets`). */
function missingTone(figures, minPackets, baselinePackets = 0) {
  const missing = [];
  if (!figures.stream) missing.push('no stream of the tone occupant');
  if (figures.updatesWithIt === 0) missing.push('no update offer carried its stream');
  const packets = figures.audioPackets - baselinePackets;
  if (!(packets > minPackets)) missing.push(`${packets} audio packets (want > ${minPackets})`);
  const hz = figures.pitch?.hz;
  if (hz == null || Math.abs(hz - TONE_HZ) > TONE_TOLERANCE_HZ) {
    missing.push(`loudest frequency ${JSON.stringify(figures.pitch)}, want ${TONE_HZ} +- ${TONE_TOLERANCE_HZ} Hz`);
  }
  return missing;
}

async function expectTone(page, session, step, minPackets, baselinePackets = 0) {
  const started = Date.now();
  let figures;
  let missing;
  for (;;) {
    figures = await page.evaluate(readTone, session);
    missing = missingTone(figures, minPackets, baselinePackets);
    if (missing.length === 0 || Date.now() - started > MEDIA_DEADLINE_MS) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const pitch = figures.pitch ? `${figures.pitch.hz} Hz (${figures.pitch.db} dB)` : 'silence';
  console.log(`${step}: after ${Date.now() - started} ms the page hears the tone at ${pitch}, `
    + `inbound audio packetsReceived ${figures.audioPackets}`
    + `${baselinePackets ? ` (+${figures.audioPackets - baselinePackets})` : ''}, `
    + `on SSRC ${figures.inbound.map((entry) => entry.ssrc).join(', ')}, `
    + `${figures.updatesWithIt} update offer(s) with its stream`);
  check(missing.length === 0, `${step}: not within ${MEDIA_DEADLINE_MS} ms: ${missing.join('; ')}; `
    + `tile ${JSON.stringify(figures.tile)}, track ${JSON.stringify(figures.track)}, `
    + `inbound-rtp ${JSON.stringify(figures.inbound)}`);
  return figures;
}


/** A plugin message; resolves with the response's `data`. */
async function tell(client, handle, body) {
  return (await client.request('message', { handle, body })).data;
}

/** Expects `promise` (a request) to fail with `code`; returns the reason. */
async function expectError(promise, code, what) {
  try {
    const response = await promise;
    throw new Failure(`${what}: expected error ${code}, got success ${JSON.stringify(response)}`);
  } catch (error) {
    if (error instanceof Failure) throw error;
    check(error instanceof RequestError && error.code === code,
      `${what}: expected error ${code}, got ${error.message}`);
    console.log(`${what}: ${error.code} "${error.reason}"`);
    return error.reason;
  }
}

async function adminQuery(path) {
  const response = await fetch(`${ADMIN_URL}/plugins/${path}`, { method: 'POST', body: '{}',
    headers: { 'Content-Type': 'application/json' } });
  const body = await response.json();
  check(response.status === 200, `admin POST plugins/${path}: ${response.status} ${JSON.stringify(body)}`);
  return body.data;
}

/** alice's page in a line of her own, her occupant connected; returns the line id. */
async function createLine(page) {
  await openLineView(page, 'alice', PAGE_URL);
  await page.click('#line-create');
  try {
    await page.waitForFunction(() => {
      const { state, client } = window.phoneLine;
      return state.line?.occupants?.some((occupant) => occupant.session === client?.sessionId
        && occupant.state === 'connected');
    }, null, { timeout: STEP_MS });
  } catch {
    throw new Failure(`alice is not a connected occupant of her line within ${STEP_MS} ms: `
      + `${JSON.stringify(await page.evaluate(() => window.phoneLine.state))}`);
  }
  await page.evaluate(watchLine);
  return page.evaluate(() => window.phoneLine.state.lineId);
}

/** The plugin's occupant, once the page's occupants list one; it must be the tone's. */
async function waitForToneOccupant(page) {
  try {
    await page.waitForFunction(() => pluginOccupantsIn(window.phoneLine.state.line).length > 0, null,
      { timeout: STEP_MS });
  } catch {
    throw new Failure(`no plugin occupant in the page's occupants within ${STEP_MS} ms: `
      + `${JSON.stringify(await page.evaluate(() => window.phoneLine.state.line))}`);
  }
  const occupants = await page.evaluate(() => pluginOccupantsIn(window.phoneLine.state.line));
  console.log(`the page's occupants list ${JSON.stringify(occupants)}`);
  check(occupants.length === 1 && occupants[0].name === 'tone' && occupants[0].plugin === 'tone',
    `expected one plugin occupant named "tone" of plugin "tone": ${JSON.stringify(occupants)}`);
  return occupants[0];
}

/**
 * After `what`: the page's next `occupants` event (past the `seen` first
 * ones) lacks the plugin's occupant, and its stream leaves the page.
 */
async function expectGone(page, seen, session, what) {
  try {
    await page.waitForFunction((count) => window.toneWatch.occupants.length > count, seen, { timeout: STEP_MS });
  } catch {
    throw new Failure(`no occupants event on the page within ${STEP_MS} ms of the tone's ${what}`);
  }
  const next = await page.evaluate((count) => window.toneWatch.occupants[count], seen);
  check(!next.occupants.some((occupant) => occupant.session === session || occupant.plugin !== undefined),
    `the page's next occupants after ${what} still lists the tone: ${JSON.stringify(next)}`);
  console.log(`the page's next occupants after ${what}: ${next.occupants.map((o) => o.name).join(', ')}`);
  try {
    await page.waitForFunction((id) => !window.phoneLine.call.remoteStreams.has(id), session, { timeout: STEP_MS });
  } catch {
    throw new Failure(`the tone's stream did not leave the page within ${STEP_MS} ms of its ${what}`);
  }
}

async function badInput(alice, lineId, toneHandle, clients) {
  const spare = (await alice.request('attach', { plugin: 'tone' })).handle;
  await expectError(tell(alice, spare, { request: 'join', line_id: randomUUID(), frequency: TONE_HZ }), 404,
    'join for a line that does not exist');
  const mallory = await SignalingClient.connect(WS_URL, 'mallory');
  clients.push(mallory);
  const hers = (await mallory.request('attach', { plugin: 'tone' })).handle;
  await expectError(tell(mallory, hers, { request: 'join', line_id: lineId, frequency: TONE_HZ }), 403,
    'join by mallory, not a member of the line');
  await expectError(tell(alice, spare, { request: 'join', frequency: TONE_HZ }), 400, 'join without line_id');
  await expectError(tell(alice, spare, { request: 'join', line_id: lineId, frequency: 'loud' }), 400,
    'join with a frequency that is not a number');
  await expectError(tell(alice, toneHandle, { request: 'join', line_id: lineId, frequency: TONE_HZ }), 409,
    'a second join on the publishing handle');
  await expectError(tell(alice, spare, { request: 'leave' }), 404, 'leave outside a line');
  await mallory.request('detach', { handle: hers });
  await alice.request('detach', { handle: spare });
}

async function run(page, pageErrors, clients) {
  // 1. alice's line; her second session attaches the tone plugin and joins it.
  const lineId = await createLine(page);
  console.log(`alice created line ${lineId} and occupies it`);
  const alice = await SignalingClient.connect(WS_URL, 'alice');
  clients.push(alice);
  check(alice.handshake.user?.user === 'alice', `second session: ${JSON.stringify(alice.handshake.user)}`);
  const attached = await alice.request('attach', { plugin: 'tone' });
  check(attached.plugin === 'tone' && attached.handle, `attach: ${JSON.stringify(attached)}`);
  const handle = attached.handle;
  const joined = await tell(alice, handle, { request: 'join', line_id: lineId, frequency: TONE_HZ });
  check(JSON.stringify(joined) === JSON.stringify({ joined: lineId }), `join replied ${JSON.stringify(joined)}`);

  // 2. The page lists the tone's occupant and hears it.
  const { session } = await waitForToneOccupant(page);
  await expectTone(page, session, 'the tone joined', MIN_AUDIO_PACKETS);

  // 3. Bad input; the page keeps hearing the tone meanwhile.
  const before = await page.evaluate(readTone, session);
  await badInput(alice, lineId, handle, clients);
  await expectTone(page, session, 'after the bad input', MIN_PACKETS_DURING_BAD_INPUT, before.audioPackets);
  check(await page.evaluate((id) => pluginOccupantsIn(window.phoneLine.state.line)
    .some((occupant) => occupant.session === id), session),
    'the tone occupant left the page\'s occupants during the bad input');

  // 4. Counters, then leave.
  const stats = await tell(alice, handle, { request: 'stats' });
  console.log(`tone stats: ${JSON.stringify(stats)}`);
  check(stats.line_id === lineId && stats.sent > MIN_AUDIO_PACKETS && stats.frequency === TONE_HZ,
    `stats: ${JSON.stringify(stats)}`);
  const ofHandle = await adminQuery(`tone/handles/${handle}`);
  const ofPlugin = await adminQuery('tone');
  console.log(`admin query: handle ${JSON.stringify(ofHandle)}; plugin ${JSON.stringify(ofPlugin)}`);
  check(ofHandle.sent >= stats.sent && ofPlugin.publishing === 1 && ofPlugin.sent >= stats.sent,
    'the admin query does not count the packets sent');

  const seen = await page.evaluate(() => window.toneWatch.occupants.length);
  const left = await tell(alice, handle, { request: 'leave' });
  check(JSON.stringify(left) === JSON.stringify({ left: lineId }), `leave replied ${JSON.stringify(left)}`);
  await expectGone(page, seen, session, 'leave');
  const after = await tell(alice, handle, { request: 'stats' });
  console.log(`tone plugin: sent ${after.sent} packets, refused ${after.refused}, `
    + `encode failures ${after.encode_failed}`);
  check(after.line_id === null, `stats after leave: ${JSON.stringify(after)}`);

  // 5. Joined again, then detached while it publishes: the occupant goes too.
  const rejoined = await tell(alice, handle, { request: 'join', line_id: lineId, frequency: TONE_HZ });
  check(JSON.stringify(rejoined) === JSON.stringify({ joined: lineId }),
    `join again replied ${JSON.stringify(rejoined)}`);
  const again = await waitForToneOccupant(page);
  // The same occupant again: the server's offer reuses its m-line with new
  // SSRCs, and the page hears the tone at its pitch again (with the old
  // SSRC, Chromium decoded the packets but played silence).
  await expectTone(page, again.session, 'the tone joined again', MIN_PACKETS_DURING_BAD_INPUT);
  const seenAgain = await page.evaluate(() => window.toneWatch.occupants.length);
  await alice.request('detach', { handle });
  await expectGone(page, seenAgain, again.session, 'detach while publishing');

  const errors = await page.evaluate(() => window.phoneLine.state.errors);
  check(errors.length === 0, `the page reports errors: ${errors.join(' | ')}`);
  check(pageErrors.length === 0, `uncaught errors in the page: ${pageErrors.join(' | ')}`);
}

async function main() {
  const clients = [];
  try {
    return await withChromium(async (page) => {
      const pageErrors = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.addInitScript(fakeDevicesIn, { rgb: [220, 40, 40], hz: PAGE_HZ });
      await page.addInitScript(pitchAnalysisIn);
      try {
        await run(page, pageErrors, clients);
      } catch (error) {
        console.log(`FAIL: ${error instanceof Failure ? error.message : error.stack}`);
        return 1;
      }
      console.log('PASS: the tone plugin published into the line and the Chromium occupant heard it');
      return 0;
    });
  } finally {
    for (const client of clients) client.close();
  }
}

process.exitCode = await main();
