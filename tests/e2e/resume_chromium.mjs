// e2e-test: resume_chromium
// E2E (issue 14, session resume): a Chromium occupant's WebSocket is cut
// while media flows both ways. Two Chromium contexts driving
// web/partyline.js (tests/e2e/line_page.mjs), canvas cameras and sine
// microphones of their own; alice's WebSocket goes through a TCP proxy in
// this process that can cut every connection at once (both sides reset, no
// close frame: the server sees 1006, the page too) and refuse new ones.
// `resume.json` sets `signaling.resume_grace_ms` to 5000.
//   1. alice creates a line, both join with media; each decodes the other
//      (video framesDecoded > 30, audio packetsReceived > 100).
//   2. The proxy cuts alice's connection. Her client reconnects by itself
//      (web/partyline.js: 'reconnecting', then 'reconnected' with a
//      handshake state saying `resumed`, the same session id), the server's
//      `resumed` event names her line, and requests work again (`ping`).
//      Meanwhile, sampled every 300 ms from before the cut to 2 s after the
//      resume, the video each page receives from the other keeps being
//      decoded: never more than 1 s without new frames. Every `occupants`
//      event bob got since the cut lists alice, connected.
//   3. The proxy cuts again and refuses new connections: alice's client
//      retries until the grace has passed, then reports the session closed;
//      bob gets `occupants` without alice no earlier than 4 s (the grace,
//      less a margin for the detection) and no later than 12 s after the
//      cut, his PeerConnection still connected.
// Prints the reconnection's steps and times, and the frame counts.
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py); PARTYLINE_URL is the page to open.

import net from 'node:net';

import { check, pollUntil, runHarnessTest } from './line_page.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const GRACE_MS = 5000;  // resume.json
const STEP_MS = 20000;
const MIN_FRAMES_DECODED = 30;
const MIN_AUDIO_PACKETS = 100;
const MAX_STALL_MS = 1000;
const USERS = ['alice', 'bob'];
const COLOURS = { alice: [220, 40, 40], bob: [40, 180, 40] };
const TONES = { alice: 440, bob: 660 };

/**
 * A TCP proxy on loopback to the server: cut() resets every connection
 * through it (both sides, no close frame); while `refusing`, new
 * connections are reset at once.
 */
class CuttableProxy {
  #pairs = new Set();
  refusing = false;
  connections = 0;

  constructor(target) {
    this.target = target;
    this.server = net.createServer((client) => this.#accept(client));
  }

  listen() {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve(this.server.address().port)));
  }

  #accept(client) {
    this.connections += 1;
    if (this.refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    const pair = { client, upstream };
    this.#pairs.add(pair);
    const forget = () => this.#pairs.delete(pair);
    client.on('error', forget).on('close', () => {
      forget();
      upstream.destroy();
    });
    upstream.on('error', forget).on('close', () => {
      forget();
      client.destroy();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  }

  cut() {
    const cut = this.#pairs.size;
    for (const { client, upstream } of this.#pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    this.#pairs.clear();
    return cut;
  }

  close() {
    this.cut();
    this.server.close();
  }
}

// ---------------------------------------------------------------- checks

/** What `who` receives from the other: video frames decoded, audio packets. */
async function received(page, fromSession) {
  const rows = await page.evaluate(() => window.harness.receivers());
  const mine = rows.filter((row) => row.session === fromSession && row.inStream);
  return {
    frames: mine.filter((row) => row.kind === 'video').reduce((sum, row) => sum + row.framesDecoded, 0),
    packets: mine.filter((row) => row.kind === 'audio').reduce((sum, row) => sum + row.packetsReceived, 0),
  };
}

/**
 * Samples the frames each page decodes from the other every 300 ms until
 * `until()` resolves and 2 s more passed; the longest time either went
 * without a new frame.
 */
async function watchFrames(pages, sessions, until) {
  const samples = { alice: [], bob: [] };
  let done = false;
  let doneAt = null;
  let failure = null;
  until().then(() => {
    done = true;
    doneAt = Date.now();
  }, (error) => {
    failure = error;
  });
  for (;;) {
    if (failure) throw failure;
    for (const who of USERS) {
      const other = who === 'alice' ? 'bob' : 'alice';
      samples[who].push({ at: Date.now(), frames: (await received(pages[who], sessions[other])).frames });
    }
    if (done && Date.now() - doneAt > 2000) break;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const stalls = {};
  for (const who of USERS) {
    let longest = 0;
    let lastNew = samples[who][0].at;
    for (let i = 1; i < samples[who].length; i += 1) {
      if (samples[who][i].frames > samples[who][i - 1].frames) lastNew = samples[who][i].at;
      longest = Math.max(longest, samples[who][i].at - lastNew);
    }
    stalls[who] = { longestMs: longest, from: samples[who][0].frames, to: samples[who].at(-1).frames };
  }
  return stalls;
}

function occupantSessions(line) {
  return (line?.occupants ?? []).map((occupant) => `${occupant.session}:${occupant.state}`);
}

// ---------------------------------------------------------------- the test

async function run(pages) {
  const { alice, bob } = pages;
  const page = new URL(PAGE_URL);
  const proxy = new CuttableProxy({ host: page.hostname, port: Number(page.port || 80) });
  const proxyPort = await proxy.listen();
  try {
    await steps(pages, alice, bob, proxy, `ws://127.0.0.1:${proxyPort}/ws`);
  } finally {
    proxy.close();
  }
}

async function steps(pages, alice, bob, proxy, proxyUrl) {
  const sessions = {
    alice: (await alice.evaluate((url) => window.harness.connect('alice', { url, expectClose: true }), proxyUrl)).session,
    bob: (await bob.evaluate(() => window.harness.connect('bob'))).session,
  };
  const aliceHandshake = await alice.evaluate(() => window.harness.client.handshake);
  check(typeof aliceHandshake.resume_token === 'string' && aliceHandshake.resume_grace === GRACE_MS,
    `alice's handshake should carry a resume token and resume_grace ${GRACE_MS}: ${JSON.stringify(aliceHandshake)}`);

  // 1. A call with media both ways.
  const { lineId, token } = await alice.evaluate(() => window.harness.createLine());
  for (const who of USERS) {
    await pages[who].evaluate(({ id, key }) => window.harness.join(id, { token: key }), { id: lineId, key: token });
  }
  for (const who of USERS) {
    const other = who === 'alice' ? 'bob' : 'alice';
    const { value } = await pollUntil(`${who} receives ${other}`, () => received(pages[who], sessions[other]),
      ({ frames, packets }) => [
        ...(frames > MIN_FRAMES_DECODED ? [] : [`${frames} frames`]),
        ...(packets > MIN_AUDIO_PACKETS ? [] : [`${packets} audio packets`]),
      ], { timeoutMs: STEP_MS });
    console.log(`${who} receives ${other}: ${value.frames} frames, ${value.packets} audio packets`);
  }

  // 2. Cut: alice's client resumes, nobody sees her leave, media flows on.
  const bobOccupantsBefore = (await bob.evaluate(() => window.harness.events('occupants'))).length;
  const aliceLogBefore = (await alice.evaluate(() => window.harness.log.length));
  check(proxy.cut() === 1, 'the proxy should have cut exactly alice\'s one connection');
  const resumedWithin = async () => {
    await pollUntil('alice reconnects and resumes', () => alice.evaluate(
      (from) => JSON.parse(JSON.stringify(window.harness.log.slice(from))), aliceLogBefore),
    (log) => (log.some((entry) => entry.event === 'resumed') ? [] : ['no `resumed` event yet']),
    { timeoutMs: GRACE_MS, pollMs: 100 });
  };
  const stalls = await watchFrames(pages, sessions, resumedWithin);
  const log = await alice.evaluate((from) => JSON.parse(JSON.stringify(window.harness.log.slice(from))), aliceLogBefore);
  const steps = log.map((entry) => entry.event);
  console.log(`alice after the cut: ${steps.join(' -> ')}`);
  const reconnecting = log.filter((entry) => entry.event === 'reconnecting');
  const reconnected = log.find((entry) => entry.event === 'reconnected');
  const resumed = log.find((entry) => entry.event === 'resumed');
  check(reconnecting.length >= 1 && reconnecting[0].message.code === 1006,
    `alice's client should report the lost connection (1006) before reconnecting: ${JSON.stringify(reconnecting)}`);
  check(reconnected && reconnected.message.resumed === true && reconnected.message.session === sessions.alice,
    `alice's new handshake should say resumed, same session: ${JSON.stringify(reconnected?.message)}`);
  check(resumed.message.line_id === lineId, `the server's resumed event should name the line: ${JSON.stringify(resumed.message)}`);
  check(steps.indexOf('reconnecting') < steps.indexOf('reconnected') && steps.indexOf('reconnected') < steps.indexOf('resumed'),
    `order: reconnecting, reconnected, resumed (${steps.join(', ')})`);
  const pong = await alice.evaluate(() => window.harness.client.request('ping', {}).then(
    (response) => response.response, (error) => `error ${error.message}`));
  check(pong === 'success', `a request after the resume should succeed: ${pong}`);
  for (const who of USERS) {
    console.log(`${who}: frames ${stalls[who].from} -> ${stalls[who].to}, longest stall ${stalls[who].longestMs} ms`);
    check(stalls[who].to > stalls[who].from && stalls[who].longestMs <= MAX_STALL_MS,
      `${who}'s received video should keep being decoded through the cut (longest stall ${stalls[who].longestMs} ms)`);
  }
  const bobNow = occupantSessions({ occupants: await bob.evaluate(() => window.harness.occupants()) });
  check(bobNow.includes(`${sessions.alice}:connected`), `bob's occupants should list alice, connected: ${bobNow}`);
  const bobSaw = (await bob.evaluate(() => window.harness.events('occupants'))).slice(bobOccupantsBefore);
  for (const event of bobSaw) {
    if (event.message.line?.line_id !== lineId) continue;
    check(occupantSessions(event.message.line).includes(`${sessions.alice}:connected`),
      `bob should never see alice leave or lose her connection: ${JSON.stringify(occupantSessions(event.message.line))}`);
  }
  const lostToResumedMs = Math.round(resumed.at - reconnecting[0].at);
  console.log(`resumed ${lostToResumedMs} ms after the page saw the connection lost, after ${reconnecting.length} attempt(s); `
    + `bob got ${bobSaw.length} occupants event(s) meanwhile, each with alice connected`);

  // 3. Cut and keep her out: her session ends after the grace.
  proxy.refusing = true;
  const secondCutAt = Date.now();
  check(proxy.cut() === 1, 'the proxy should have cut alice\'s resumed connection');
  const { elapsedMs } = await pollUntil('bob sees alice leave', () => bob.evaluate(() => window.harness.occupants()),
    (occupants) => (occupants.some((occupant) => occupant.session === sessions.alice) ? ['alice still listed'] : []),
    { timeoutMs: GRACE_MS + 7000, pollMs: 100 });
  const goneAfterMs = Date.now() - secondCutAt;
  console.log(`bob's occupants lost alice ${goneAfterMs} ms after the second cut (grace ${GRACE_MS} ms); `
    + `${proxy.connections} connection(s) reached the proxy in all`);
  check(goneAfterMs >= GRACE_MS - 1000, `alice should stay listed for the grace (${GRACE_MS} ms), not ${elapsedMs} ms`);
  const bobOccupants = await bob.evaluate(() => window.harness.occupants());
  check(bobOccupants.length === 1 && bobOccupants[0].session === sessions.bob && bobOccupants[0].state === 'connected',
    `bob should be left alone, connected: ${JSON.stringify(bobOccupants)}`);
  await pollUntil('alice\'s client gives up', () => alice.evaluate(() => window.harness.events('close')),
    (closes) => (closes.length === 1 ? [] : [`${closes.length} close events`]), { timeoutMs: 5000 });
  const refusedAttempts = (await alice.evaluate(() => window.harness.events('reconnecting'))).length - reconnecting.length;
  check(refusedAttempts >= 2, `alice's client should have retried with backoff (${refusedAttempts} attempts)`);
  console.log(`alice's client retried ${refusedAttempts} time(s), then reported the session closed`);
}

/** On failure: what alice's client went through. */
async function printLog(pages) {
  if (!pages.alice) return;
  const log = await pages.alice.evaluate(() => JSON.parse(JSON.stringify(window.harness.log)));
  console.log(`alice's events: ${log.map((entry) => `${entry.event}${entry.message?.code ? ` ${entry.message.code}` : ''}`).join(', ')}`);
}

process.exitCode = await runHarnessTest({
  users: USERS, pageUrl: PAGE_URL, colours: COLOURS, tones: TONES, run, onFailure: printLog,
  passMessage: 'a cut WebSocket resumed with media flowing; an unresumed one cleaned up after the grace',
});
