// e2e-test: turn_relay_chromium
// E2E (issue 18, TURN): a participant forced through a real TURN server.
// The test starts Debian's coturn (`turnserver`) itself, inside the test's
// network namespace: UDP only, listening on 127.0.0.1 at a port free there,
// relaying from 127.0.0.1 (`--relay-ip`), `--allow-loopback-peers` (the SFU
// is a loopback peer), long-term credentials of a user and realm of the
// test's own (a fresh password each run), no TLS/DTLS, no CLI, no
// configuration file (`-n`, `-c /dev/null`), its user database, pid file and
// log (`out/turn_relay_chromium.turnserver.log`, or in $PARTYLINE_E2E_OUT)
// beside the server logs; `--verbose`, without which coturn logs nothing
// of its sessions (no ALLOCATE, no usage). It is ready when it answers a
// STUN Binding request (sent again every 100 ms until answered, 5 s at
// most); it is stopped (SIGTERM) at the end.
//
// Two Chromium contexts drive web/partyline.js (tests/e2e/line_page.mjs),
// each with a canvas camera of its own colour and a sine microphone of its
// own pitch:
//   - alice joins directly, with LineCall's default RTCConfiguration;
//   - bob joins with `iceServers: [{ urls: 'turn:127.0.0.1:PORT?transport=udp',
//     username, credential }]` and `iceTransportPolicy: 'relay'`, laid over
//     LineCall's default (bundle and rtcp-mux) by the harness's `join`
//     option `rtcConfiguration`, which sets LineCall's own `rtcConfiguration`
//     (its constructor option, a public field): the library already lets an
//     app choose the configuration, so neither web/ nor the page is changed.
// alice creates the line, bob joins through its token. Then:
//   1. bob's selected candidate pair (getStats: transport ->
//      selectedCandidatePairId -> local-candidate) is `relay` (relayed over
//      UDP, 127.0.0.1, its `url` this coturn's) and every candidate he
//      gathered is a relay one; alice's selected local candidate is not
//      relayed. The server agrees (admin API, GET /admin/v1/sessions/{id}:
//      transport.selected_pair): the remote end of bob's pair is his relay
//      candidate (127.0.0.1, its port, `typ relay`), of alice's her host one.
//   2. Within 20 s of bob's join, alice sees bob's video (> 30 frames, colour
//      within 60 per channel of his and nearest to it) and hears his tone
//      (loudest FFT bin within 40 Hz of it and nearest to it, > 50 audio
//      packets), and bob sees and hears alice the same way.
//   3. bob leaves the line (his PeerConnection closes, so Chromium releases
//      its allocation: a Refresh with lifetime 0, after which coturn writes
//      the session's counters); within 10 s coturn's log shows, for bob's
//      TURN user and realm, an ALLOCATE processed with success, the
//      session's `usage` (bob <-> coturn) and `peer usage` (coturn <-> the
//      server) lines with packets both ways (rp and sp > 0 in each), the
//      peer usage's rp (packets from the server relayed to bob) at least
//      the RTP packets bob's receivers counted just before he left, no line
//      of that session for another user (but the first, credential-less
//      Allocate's 401 `user <>`), and `Local relay addr: 127.0.0.1:P` with
//      P the port of bob's selected relay candidate. Those lines are
//      printed.
// Printed: a timeline (ms since the test started), each page's time to
// connect (join to connectionState "connected", page clock), both selected
// pairs with candidate types, addresses, RTT and bytes.
// PASSES when all of the above hold and no page had an error.
// Against broken setups (tried by hand, not kept): with a wrong password
// for bob it fails at step 1 after 15 s ("bob's selected candidate pair:
// ... ICE gathering complete, gathered no candidate"; coturn logs 401 for
// his user); without `--allow-loopback-peers` coturn refuses bob's
// CREATE_PERMISSION (403 Forbidden IP) and it fails on bob's page error
// "503 ICE: connectivity checks failed".
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py with the default configuration: ICE on 127.0.0.1, remote
// candidates from 127.0.0.0/8 allowed); PARTYLINE_URL is the page to open.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  check, describePath, failOnPageErrors, Failure, missingSeenAndHeard, pollUntil, printConnections, receiversOf,
  runHarnessTest, selectedPairOf, serverSelectedPair,
} from './line_page.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const OUT_DIR = process.env.PARTYLINE_E2E_OUT ?? join(dirname(fileURLToPath(import.meta.url)), 'out');
const TURN_LOG = join(OUT_DIR, 'turn_relay_chromium.turnserver.log');
const TURN_DB = join(OUT_DIR, 'turn_relay_chromium.turndb');
const TURN_PID = join(OUT_DIR, 'turn_relay_chromium.turnserver.pid');
const TURN_READY_MS = 5000;
const STEP_MS = 15000;
const MEDIA_DEADLINE_MS = 20000;
const TURN_LOG_DEADLINE_MS = 10000;
const USERS = ['alice', 'bob'];
const COLOURS = { alice: [220, 40, 40], bob: [40, 180, 40] };
const TONES = { alice: 440, bob: 660 };
/** bob's TURN credentials: a user and realm of the test's own, a fresh password. */
const TURN_USER = 'partyline-e2e-bob';
const TURN_REALM = 'turn-relay.partyline.test';
const TURN_PASSWORD = randomBytes(12).toString('hex');

const started = Date.now();
const timeline = [];
/** Notes a step of the timeline: `label` in the closing summary, `detail` only in its own line. */
function mark(label, detail = '') {
  timeline.push({ at: Date.now() - started, label });
  console.log(`[${String(Date.now() - started).padStart(6)} ms] ${label}${detail ? `: ${detail}` : ''}`);
}

// ---------------------------------------------------------------- coturn

/** A UDP port on 127.0.0.1 that nothing in this namespace holds now. */
async function freeUdpPort() {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', resolve);
  });
  const { port } = socket.address();
  await new Promise((resolve) => socket.close(resolve));
  return port;
}

/**
 * Resolves once a STUN Binding request (RFC 5389: type 0x0001, magic cookie,
 * a random transaction id) to 127.0.0.1:`port` is answered by a Binding
 * success response with that id; sent again every 100 ms, as a STUN client
 * retransmits, until then. Rejects after `timeoutMs` or when `exited`
 * (a promise) resolves first.
 */
async function stunAnswered(port, timeoutMs, exited) {
  const socket = dgram.createSocket('udp4');
  const request = Buffer.alloc(20);
  request.writeUInt16BE(0x0001, 0);
  request.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(request, 8);
  let timer = null;
  let deadline = null;
  try {
    return await Promise.race([
      new Promise((resolve, reject) => {
        // Unanswered requests may bring ICMP port unreachable (ECONNREFUSED): coturn is not bound yet.
        socket.on('error', (error) => { if (error.code !== 'ECONNREFUSED') reject(error); });
        socket.on('message', (message) => {
          if (message.length >= 20 && message.readUInt16BE(0) === 0x0101 && message.subarray(8, 20).equals(request.subarray(8, 20))) {
            resolve();
          }
        });
        const send = () => socket.send(request, port, '127.0.0.1');
        socket.bind(0, '127.0.0.1', () => {
          send();
          timer = setInterval(send, 100);
        });
      }),
      new Promise((resolve, reject) => {
        deadline = setTimeout(() => reject(new Failure(`coturn did not answer a STUN Binding request on 127.0.0.1:${port} `
          + `within ${timeoutMs} ms`)), timeoutMs);
      }),
      exited.then((code) => { throw new Failure(`turnserver exited (${code}) before answering STUN`); }),
    ]);
  } finally {
    clearInterval(timer);
    clearTimeout(deadline);
    socket.close();
  }
}

/**
 * Starts turnserver as described in the header; resolves once it answers
 * STUN with { port, stop }: stop() sends SIGTERM (SIGKILL if it is still
 * there 5 s later), removes its database and pid file and resolves with
 * how it ended.
 */
async function startTurnServer() {
  await mkdir(OUT_DIR, { recursive: true });
  await rm(TURN_LOG, { force: true });
  await rm(TURN_DB, { force: true });
  const port = await freeUdpPort();
  const args = ['-n', '-c', '/dev/null',
    '--listening-ip', '127.0.0.1', '--listening-port', String(port), '--relay-ip', '127.0.0.1',
    '--allow-loopback-peers', '--no-tcp', '--no-tls', '--no-dtls', '--no-cli',
    '--lt-cred-mech', '--user', `${TURN_USER}:${TURN_PASSWORD}`, '--realm', TURN_REALM,
    '--userdb', TURN_DB, '--pidfile', TURN_PID,
    '--log-file', TURN_LOG, '--simple-log', '--no-stdout-log', '--verbose'];
  const child = spawn('turnserver', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? code));
    child.once('error', (error) => resolve(error.message));
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const how = await exited;
    clearTimeout(killer);
    await rm(TURN_DB, { force: true });
    await rm(TURN_PID, { force: true });
    return how;
  };
  try {
    await stunAnswered(port, TURN_READY_MS, exited);
  } catch (error) {
    await stop();
    const log = await readFile(TURN_LOG, 'utf8').catch(() => '');
    throw new Failure(`${error.message}; its stderr: ${stderr.trim() || '-'}; its log's end:\n${log.split('\n').slice(-15).join('\n')}`);
  }
  return { port, stop };
}

/**
 * coturn's log lines about bob's TURN user: those naming the user, and every
 * line of the sessions they belong to ('session NNN: ...').
 */
async function turnLogOfBob() {
  const lines = (await readFile(TURN_LOG, 'utf8').catch(() => '')).split('\n');
  const named = lines.filter((line) => line.includes(`<${TURN_USER}>`));
  const sessions = new Set(named.map((line) => /session (\d+):/.exec(line)?.[1]).filter(Boolean));
  const ofSessions = lines.filter((line) => sessions.has(/session (\d+):/.exec(line)?.[1]));
  // The relay addresses it allocated ('IPv4. Local relay addr: A:P', a line without a session).
  const relayLines = lines.filter((line) => line.includes('Local relay addr:'));
  return { lines: ofSessions, sessions: [...sessions], relayLines };
}

/** The counters of the `peer usage` lines of bob's sessions (between coturn's relay address and the server). */
function peerUsages({ lines }) {
  return lines.filter((line) => line.includes(`<${TURN_USER}>`) && line.includes(': peer usage: ')).map(usageOf)
    .filter(Boolean);
}

/** The counters of a coturn `usage:` or `peer usage:` line: { rp, rb, sp, sb }, or null. */
function usageOf(line) {
  const figures = {};
  for (const name of ['rp', 'rb', 'sp', 'sb']) {
    const match = new RegExp(`[ ,]${name}=(\\d+)`).exec(line);
    if (!match) return null;
    figures[name] = Number(match[1]);
  }
  return figures;
}

/** What the log of bob's sessions lacks: an allocation and relayed traffic both ways. */
function missingInTurnLog({ lines }) {
  const missing = [];
  const mine = (line) => line.includes(`<${TURN_USER}>`) && line.includes(`<${TURN_REALM}>`);
  if (!lines.some((line) => mine(line) && /ALLOCATE processed, success/.test(line))) {
    missing.push(`no successful ALLOCATE for user <${TURN_USER}> realm <${TURN_REALM}>`);
  }
  for (const kind of ['usage', 'peer usage']) {
    const counted = lines.filter((line) => mine(line) && new RegExp(`: ${kind}: `).test(line)).map(usageOf)
      .filter(Boolean);
    if (!counted.some((figures) => figures.rp > 0 && figures.sp > 0)) {
      missing.push(`no '${kind}' line with rp and sp > 0 for <${TURN_USER}> (${counted.map((figures) =>
        JSON.stringify(figures)).join(', ') || 'none'})`);
    }
  }
  // The client's first Allocate carries no credentials (`user <>`, answered 401 with the realm and nonce).
  const strangers = lines.filter((line) => /username=<|user </.test(line) && !line.includes(`<${TURN_USER}>`)
    && !/user <>: .* error 401/.test(line));
  if (strangers.length > 0) missing.push(`lines of bob's sessions name another user: ${strangers.join(' | ')}`);
  return missing;
}

// ---------------------------------------------------------------- checks

/** Milliseconds from the page's join to its connectionState "connected" (page clock), or null. */
async function timeToConnect(page) {
  const log = await page.evaluate(() => [...window.harness.events('join-started'), ...window.harness.events('connection')]);
  const joined = log.find((entry) => entry.event === 'join-started');
  const connected = log.find((entry) => entry.event === 'connection' && entry.state === 'connected');
  return joined && connected ? Math.round(connected.at - joined.at) : null;
}

// ---------------------------------------------------------------- steps

async function run(pages, turn) {
  const { alice, bob } = pages;
  const sessions = {};
  for (const who of USERS) sessions[who] = (await pages[who].evaluate((name) => window.harness.connect(name), who)).session;
  console.log(`sessions: ${JSON.stringify(sessions)}`);
  const { lineId, token } = await alice.evaluate(() => window.harness.createLine());
  await alice.evaluate((id) => window.harness.join(id), lineId);
  mark('alice joined', `line ${lineId}, default RTCConfiguration`);
  const rtcConfiguration = {
    iceServers: [{ urls: `turn:127.0.0.1:${turn.port}?transport=udp`, username: TURN_USER, credential: TURN_PASSWORD }],
    iceTransportPolicy: 'relay',
  };
  const bobJoined = Date.now();
  const response = await bob.evaluate(({ id, options }) => window.harness.join(id, options),
    { id: lineId, options: { token, rtcConfiguration } });
  check(response.media === 'server' || response.media === null, `bob's join: media ${JSON.stringify(response.media)}`);
  mark('bob joined', `iceTransportPolicy relay, ${rtcConfiguration.iceServers[0].urls}`);

  // 1. The paths: bob relayed, alice not.
  const paths = {};
  for (const who of USERS) {
    ({ value: paths[who] } = await pollUntil(`${who}'s selected candidate pair`, async () => {
      await failOnPageErrors(who, pages[who]);
      return selectedPairOf(pages[who]);
    }, (path) => (path.local && path.pair?.state === 'succeeded' ? []
      : [`connection ${path.connection}, pair ${JSON.stringify(path.pair)}, ICE gathering ${path.gathering}, gathered `
        + `${path.gathered.join(', ') || 'no candidate'}`]),
    { timeoutMs: STEP_MS }));
    mark(`${who}'s pair selected`, describePath(paths[who]));
  }
  check(paths.bob.local.candidateType === 'relay',
    `bob's selected local candidate is ${paths.bob.local.candidateType}, not relay: ${describePath(paths.bob)}`);
  check(paths.bob.local.address === '127.0.0.1' && paths.bob.local.relayProtocol === 'udp'
    && paths.bob.local.url === rtcConfiguration.iceServers[0].urls,
  `bob's relay candidate is not this coturn's UDP relay on 127.0.0.1: ${describePath(paths.bob)}`);
  const notRelayed = paths.bob.gathered.filter((line) => !line.startsWith('relay '));
  check(notRelayed.length === 0, `bob gathered candidates other than relay ones: ${notRelayed.join(', ')}`);
  check(paths.alice.local.candidateType !== 'relay', `alice's selected local candidate is relayed: ${describePath(paths.alice)}`);

  // The server's side of the same pairs: bob's remote end is his relay candidate, alice's her host one.
  for (const who of USERS) {
    const { candidateType, port } = paths[who].local;
    const wanted = `127.0.0.1 ${port} typ ${candidateType}`;
    const { value: pair } = await pollUntil(`the server's selected pair for ${who}`, () => serverSelectedPair(sessions[who]),
      (selected) => (selected?.remote?.endsWith(wanted) ? []
        : [`admin API's selected_pair ${JSON.stringify(selected)}, expected its remote end '... ${wanted}'`]),
    { timeoutMs: STEP_MS });
    mark(`the server's pair for ${who}`, `${pair.local} <-> ${pair.remote}`);
  }

  // 2. Each sees and hears the other.
  const { elapsedMs } = await pollUntil('alice and bob seeing and hearing each other', async () => {
    const rows = {};
    for (const who of USERS) {
      await failOnPageErrors(who, pages[who]);
      rows[who] = await receiversOf(pages[who], { pitch: true });
    }
    return rows;
  }, (rows) => [
    ...missingSeenAndHeard('alice', rows.alice, ['bob'], sessions, { colours: COLOURS, tones: TONES }),
    ...missingSeenAndHeard('bob', rows.bob, ['alice'], sessions, { colours: COLOURS, tones: TONES }),
  ], { timeoutMs: Math.max(1000, MEDIA_DEADLINE_MS - (Date.now() - bobJoined)) });
  mark('alice sees and hears bob, bob sees and hears alice', `${elapsedMs} ms of polling`);
  for (const who of USERS) {
    for (const row of await receiversOf(pages[who], { pitch: true })) {
      const from = Object.keys(sessions).find((name) => sessions[name] === row.session) ?? row.session;
      console.log(`  ${who} <- ${from} ${row.kind} mid ${row.mid}: ${row.kind === 'video'
        ? `${row.framesDecoded} frames, rgb(${row.colour}) ${row.frameWidth}x${row.frameHeight}`
        : `${row.packetsReceived} packets, ${row.pitch ? `${row.pitch.hz} Hz ${row.pitch.db} dB` : 'silent'}`}`);
    }
  }
  const connectMs = {};
  for (const who of USERS) connectMs[who] = await timeToConnect(pages[who]);
  const finalPaths = {};
  for (const who of USERS) finalPaths[who] = await selectedPairOf(pages[who]);
  check(finalPaths.bob.local?.candidateType === 'relay', `bob's path changed: ${describePath(finalPaths.bob)}`);

  // 3. bob leaves; coturn's log tells of his allocation and what it relayed.
  const bobReceived = (await receiversOf(bob)).reduce((sum, row) => sum + row.packetsReceived, 0);
  await bob.evaluate(() => window.harness.call.stop({ hangup: false }));
  mark('bob left', `his PeerConnection closed, after receiving ${bobReceived} RTP packets`);
  const relayAddress = `Local relay addr: 127.0.0.1:${finalPaths.bob.local.port}`;
  const { value: turnLog } = await pollUntil('coturn\'s log of bob\'s allocation and relayed traffic', turnLogOfBob,
    (log) => [...missingInTurnLog(log),
      ...(log.relayLines.some((line) => line.trimEnd().endsWith(relayAddress)) ? []
        : [`no '${relayAddress}' (bob's relay candidate) in coturn's log: ${log.relayLines.join(' | ') || 'no relay address'}`]),
      ...peerUsages(log).some((figures) => figures.rp >= bobReceived) ? []
        : [`coturn relayed fewer packets from the server to bob than bob received (${bobReceived}): `
          + `${peerUsages(log).map((figures) => JSON.stringify(figures)).join(', ') || 'no peer usage'}`]],
    { timeoutMs: TURN_LOG_DEADLINE_MS });
  mark('coturn logged bob\'s allocation and usage', `session(s) ${turnLog.sessions.join(', ')}`);
  console.log('coturn about bob:');
  for (const line of [...turnLog.relayLines, ...turnLog.lines]) console.log(`  ${line}`);
  await failOnPageErrors('alice', alice);

  console.log('figures:');
  for (const who of USERS) {
    console.log(`  ${who}: join to connected ${connectMs[who] ?? '?'} ms; ${describePath(finalPaths[who])}`);
  }
  console.log(`  bob's gathered candidates: ${finalPaths.bob.gathered.join(', ')}`);
  console.log(`  alice's gathered candidates: ${finalPaths.alice.gathered.join(', ')}`);
}

async function main() {
  mark('starting coturn');
  let turn;
  try {
    turn = await startTurnServer();
  } catch (error) {
    console.log(`FAIL: ${error instanceof Failure ? error.message : error.stack}`);
    return 1;
  }
  mark('coturn ready', `answers STUN on 127.0.0.1:${turn.port}; log ${TURN_LOG}`);
  try {
    return await runHarnessTest({
      users: USERS, pageUrl: PAGE_URL, colours: COLOURS, tones: TONES,
      run: (pages) => run(pages, turn),
      passMessage: 'a Chromium participant relayed through coturn and a direct one see and hear each other',
      onFailure: async (pages) => {
        await printConnections(pages);
        for (const [who, page] of Object.entries(pages)) {
          console.log(`${who}'s path: ${JSON.stringify(await selectedPairOf(page).catch((e) => e.message))}`);
        }
        const { lines } = await turnLogOfBob();
        console.log(`coturn's log about bob (${lines.length} lines):`);
        for (const line of lines) console.log(`  ${line}`);
      },
    });
  } finally {
    const how = await turn.stop();
    mark('coturn stopped', String(how));
    console.log(`timeline: ${timeline.map((entry) => `${entry.at} ms ${entry.label}`).join('; ')}`);
  }
}

process.exitCode = await main();
