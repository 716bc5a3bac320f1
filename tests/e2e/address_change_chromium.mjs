// e2e-test: address_change_chromium
// E2E (issue 18, "a participant whose address changes"): a NAT rebinding in
// the middle of a call. The server runs in single-port mode
// (single_port.json, in every round): the default mode fails it, because
// libnice keeps its selected pair (measured below), which issue 18's note
// records as not fixed.
//
// The NAT is a UDP relay written here (Node `dgram`, all on 127.0.0.1 in the
// test's network namespace) between bob's page and the server:
//   - its front socket F is what bob's page takes for the server: the page
//     joins with line_page.mjs's `serverCandidatesVia` { 127.0.0.1, F }
//     (harness.relayedClient, a filter on the page's signaling, test code
//     only: no product change). Every UDP IPv4 candidate of the server, in
//     the answers and offers bob's page applies and in trickled
//     `ice_candidate`s, is rewritten to 127.0.0.1:F; other server
//     candidates would be dropped. bob's own candidates are withheld from
//     the server (his SDP's a=candidate lines and trickles), so the server
//     learns bob's address only from his checks, as the relay's, like a
//     client behind a NAT without STUN: otherwise the server's full ICE
//     agent (default mode) could check bob's host candidate directly and
//     find a path around the relay. The page reports each original server
//     candidate to the test (routeServerCandidates), which makes it the
//     relay's target (one UDP target; bob's datagrams before it is known
//     are queued);
//   - its back socket B sends bob's datagrams to that target; what the
//     target sends to B goes to bob from F.
// Mid-call the relay "rebinds": it opens a new back socket B' (a new source
// port), forwards bob's datagrams through it from then on, and closes B, so
// what the server still sends to B goes nowhere (ICMP port unreachable).
// bob's end of the path (his socket, F) does not change: only the server
// sees a new address. alice joins directly.
//
// Steps:
//   1. Through the relay: bob's selected candidate pair (getStats) has the
//      remote end 127.0.0.1:F; the server's (admin API, GET
//      /admin/v1/sessions/{id}: transport.selected_pair) has the remote end
//      127.0.0.1:B. Within 20 s of bob's join alice sees bob (> 30 frames,
//      colour within 60 per channel and nearest) and hears his tone (within
//      40 Hz and nearest, > 50 packets) and bob sees and hears alice.
//   2. The rebinding. Within RECOVERY_MS of it: on both pages the other's
//      video has decoded > 30 frames more than at the rebinding and the
//      audio > 50 packets more, in the right colour and tone; the server's
//      selected pair for bob has the remote end 127.0.0.1:B'; bob got no
//      `webrtc_state` `failed` and neither page's connection failed.
//   3. The relay counted datagrams on B' both ways, RTP/RTCP among them
//      (RFC 7983's first-byte ranges) from the server.
//   4. It holds until HOLD_MS after the rebinding (beyond the server's
//      consent timeout, 10 s in both modes: a server that kept checking B
//      would fail bob's transport by then): every 500 ms no `failed` state
//      and no failed connection; at the end, both pages decode > 30 more
//      frames and > 50 more packets of each other than at the recovery, the
//      server's pair still has B', and the relay saw no datagram of the
//      server's from another address than the target.
// Printed: a timeline (ms since the test started; the relay's own times
// since the rebinding: its first datagram of each kind on B' each way,
// the first check with USE-CANDIDATE), both pages' frames and packets at
// each step, the relay's counters per socket, and the server's log lines
// about bob's session.
// PASSES when all of the above hold and no page had an error.
//
// Measured (Chromium 156, libnice 0.1.21, the server at ddc14ce):
//   - single-port mode passes: the server moves to B' with the first check
//     bob's Chromium sends through B' (its periodic check of the selected
//     pair, USE-CANDIDATE set, 0-2.6 s after the rebinding); media from the
//     server on B' 1-15 ms later; both pages past +30 frames and +50
//     packets 2.0-5.6 s after the rebinding (RECOVERY_MS 10 s; 7 runs); 20-32 s in
//     all. With the relay dropping the server's datagrams on B' it fails at
//     step 2 (no media); with bob's datagrams still sent through B (B' opened
//     but unused) it fails at step 2 (the server's pair stays on B).
//   - the default mode (libnice) FAILS at step 2, 7-8 s after the rebinding:
//     libnice answers bob's nominating check from B', adds the peer-reflexive
//     pair and marks it nominated ("2 nominated, 2 valid"), but keeps the old
//     selected pair (the new one has the same priority: no new-selected-pair
//     signal, so no new DirectUdpPath); the server keeps sending to B, its
//     consent checks go to B, and 10 s after the last consent response
//     ("consent ... timed out! -> FAILED") bob's transport fails ("ICE:
//     connection lost (consent expired)") and he leaves the line. Chromium
//     did its part (its checks through B' carry USE-CANDIDATE and are
//     answered). Seen with G_MESSAGES_DEBUG=libnice NICE_DEBUG=libnice in
//     the server's environment.
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py: ICE on 127.0.0.1, remote candidates from 127.0.0.0/8
// allowed); PARTYLINE_URL is the page to open.

import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import {
  check, describePath, failOnPageErrors, Failure, missingSeenAndHeard, pollUntil, printConnections, receiversOf,
  routeServerCandidates, runHarnessTest, selectedPairOf, serverSelectedPair,
} from './line_page.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const SERVER_LOG = process.env.PARTYLINE_SERVER_LOG ?? null;
const RELAY_ADDRESS = '127.0.0.1';
const STEP_MS = 15000;
const MEDIA_DEADLINE_MS = 20000;
/** From the rebinding to media both ways again on the new path (measured 2.0-5.6 s in single-port mode: header). */
const RECOVERY_MS = 10000;
/** How long after the rebinding the call must hold: past the server's 10 s consent timeout. */
const HOLD_MS = 12000;
const MORE_FRAMES = 30;
const MORE_PACKETS = 50;
/** bob's datagrams queued before the relay knows where the server is. */
const QUEUE_LIMIT = 256;
const USERS = ['alice', 'bob'];
const COLOURS = { alice: [220, 40, 40], bob: [40, 180, 40] };
const TONES = { alice: 440, bob: 660 };

const started = Date.now();
const timeline = [];
/** Notes a step of the timeline: `label` in the closing summary, `detail` only in its own line. */
function mark(label, detail = '') {
  timeline.push({ at: Date.now() - started, label });
  console.log(`[${String(Date.now() - started).padStart(6)} ms] ${label}${detail ? `: ${detail}` : ''}`);
}

// ---------------------------------------------------------------- the relay

/** What a datagram on a WebRTC port is, by its first byte (RFC 7983). */
function kindOf(datagram) {
  const first = datagram[0];
  if (first <= 3) return 'stun';
  if (first >= 20 && first <= 63) return 'dtls';
  if (first >= 128 && first <= 191) return 'rtp';
  return 'other';
}

/** A STUN Binding request carrying USE-CANDIDATE (0x0025): a nomination. */
function nominates(datagram) {
  if (datagram.length < 20 || datagram.readUInt16BE(0) !== 0x0001 || datagram.readUInt32BE(4) !== 0x2112a442) return false;
  for (let at = 20; at + 4 <= datagram.length;) {
    const type = datagram.readUInt16BE(at);
    const length = datagram.readUInt16BE(at + 2);
    if (type === 0x0025) return true;
    at += 4 + length + ((4 - (length % 4)) % 4);
  }
  return false;
}

async function boundSocket() {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, RELAY_ADDRESS, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return socket;
}

/** Counters of one back socket: datagrams per kind each way, with the time (ms since the rebinding) of the first. */
function newCounters(port) {
  const way = () => ({ total: 0, stun: 0, dtls: 0, rtp: 0, other: 0, nominations: 0, first: {} });
  return { port, toServer: way(), fromServer: way(), strays: 0 };
}

class RebindingRelay {
  front = null;
  back = null;
  /** The server's UDP candidate (address, port) bob's page was pointed away from. */
  target = null;
  /** Other UDP targets the page reported (there should be none). */
  conflicts = [];
  /** bob's address as the front socket sees it (and any other it saw). */
  peer = null;
  peers = new Set();
  queue = [];
  queueDropped = 0;
  /** One counters record per back socket, the current one last. */
  sockets = [];
  reboundAt = null;
  errors = [];
  /** Every back socket opened (closed ones too), for close(). */
  opened = [];

  async start() {
    this.front = await boundSocket();
    this.front.on('message', (datagram, from) => this.#fromBob(datagram, from));
    this.front.on('error', (error) => this.errors.push(`front: ${error.message}`));
    await this.#openBack();
  }

  get frontPort() {
    return this.front.address().port;
  }

  get current() {
    return this.sockets.at(-1);
  }

  /** Since the rebinding, ms (relative to the test's start before it). */
  #now() {
    return this.reboundAt === null ? Date.now() - started : Date.now() - this.reboundAt;
  }

  async #openBack() {
    const socket = await boundSocket();
    this.opened.push(socket);
    const counters = newCounters(socket.address().port);
    socket.on('message', (datagram, from) => {
      if (!this.target || from.address !== this.target.address || from.port !== this.target.port) {
        counters.strays += 1;
        return;
      }
      this.#count(counters.fromServer, datagram);
      if (this.peer) this.front.send(datagram, this.peer.port, this.peer.address);
    });
    socket.on('error', (error) => this.errors.push(`back ${counters.port}: ${error.message}`));
    this.back = socket;
    this.sockets.push(counters);
    return counters;
  }

  #count(way, datagram) {
    const kind = kindOf(datagram);
    way.total += 1;
    way[kind] += 1;
    way.first[kind] ??= this.#now();
    if (nominates(datagram)) {
      way.nominations += 1;
      way.first.nomination ??= this.#now();
    }
  }

  #fromBob(datagram, from) {
    this.peer = { address: from.address, port: from.port };
    this.peers.add(`${from.address}:${from.port}`);
    if (!this.target) {
      if (this.queue.length < QUEUE_LIMIT) this.queue.push(datagram);
      else this.queueDropped += 1;
      return;
    }
    this.#toServer(datagram);
  }

  #toServer(datagram) {
    this.#count(this.current.toServer, datagram);
    this.back.send(datagram, this.target.port, this.target.address);
  }

  /** A server candidate bob's page met (routeServerCandidates): the first UDP one is the target. */
  serverCandidate({ address, port, protocol, rewritten }) {
    if (!rewritten || protocol !== 'udp') return;
    if (!this.target) {
      this.target = { address, port };
      for (const datagram of this.queue.splice(0)) this.#toServer(datagram);
    } else if (this.target.address !== address || this.target.port !== port) {
      this.conflicts.push(`${address}:${port}`);
    }
  }

  /** Forwards bob's datagrams from a new back socket from now on and closes the old one. */
  async rebind() {
    const old = this.back;
    this.reboundAt = Date.now();
    const counters = await this.#openBack();
    old.close();
    return counters;
  }

  close() {
    for (const socket of [this.front, ...this.opened]) {
      try {
        socket?.close();
      } catch {
        // already closed
      }
    }
  }

  describe() {
    const way = (counts) => `${counts.total} (stun ${counts.stun}, nominating ${counts.nominations}, dtls ${counts.dtls}, `
      + `rtp/rtcp ${counts.rtp}, other ${counts.other}; first ${Object.entries(counts.first).map(([kind, at]) =>
        `${kind} ${at} ms`).join(', ') || '-'})`;
    return this.sockets.map((counters, index) => `back socket ${index === 0 ? 'B' : "B'"} 127.0.0.1:${counters.port}: `
      + `bob -> server ${way(counters.toServer)}; server -> bob ${way(counters.fromServer)}; strays ${counters.strays}`);
  }
}

// ---------------------------------------------------------------- checks

/** Per page and publisher: the highest video framesDecoded and audio packetsReceived of that publisher's receivers. */
function countsOf(rows, sessions) {
  const counts = {};
  for (const [name, session] of Object.entries(sessions)) {
    const theirs = rows.filter((row) => row.session === session);
    counts[name] = {
      frames: Math.max(0, ...theirs.filter((row) => row.kind === 'video').map((row) => row.framesDecoded)),
      packets: Math.max(0, ...theirs.filter((row) => row.kind === 'audio').map((row) => row.packetsReceived)),
    };
  }
  return counts;
}

async function readAll(pages, sessions) {
  const rows = {};
  const counts = {};
  for (const who of USERS) {
    rows[who] = await receiversOf(pages[who], { pitch: true });
    counts[who] = countsOf(rows[who], sessions);
  }
  return { rows, counts };
}

/** What `who` lacks to see and hear `other` with `frames` / `packets` beyond `base` (countsOf). */
function missingMore(who, other, rows, sessions, base) {
  return missingSeenAndHeard(who, rows, [other], sessions, {
    colours: COLOURS, tones: TONES, minFrames: base[other].frames + MORE_FRAMES, minPackets: base[other].packets + MORE_PACKETS,
  });
}

/** Failures so far: `failed` server `webrtc_state`s and connectionStates, the harness's errors, per page. */
async function failures(pages) {
  const found = [];
  for (const who of USERS) {
    const events = await pages[who].evaluate(() => [...window.harness.events('webrtc_state'),
      ...window.harness.events('connection')]);
    for (const entry of events) {
      if (entry.state === 'failed') {
        found.push(`${who}: ${entry.event} failed${entry.reason ? ` (${entry.reason})` : ''}`);
      }
    }
    for (const error of await pages[who].evaluate(() => window.harness.errors)) found.push(`${who}'s page error: ${error}`);
  }
  return found;
}

/**
 * Per direction and kind, from `samples` ({ at: ms since the rebinding, counts }, the first the counts at
 * the rebinding): the longest time between two samples where the count grew (frames or packets), and the first
 * sample where it had grown past the count at the rebinding by MORE_FRAMES / MORE_PACKETS.
 */
function describeStalls(samples) {
  const lines = [];
  for (const who of USERS) {
    for (const other of USERS.filter((name) => name !== who)) {
      for (const [kind, field, more] of [['video', 'frames', MORE_FRAMES], ['audio', 'packets', MORE_PACKETS]]) {
        let lastGrowth = 0;
        let longest = { ms: 0, from: 0, to: 0 };
        let previous = samples[0].counts[who][other][field];
        let past = null;
        for (const { at, counts } of samples.slice(1)) {
          const value = counts[who][other][field];
          if (value > previous) {
            if (at - lastGrowth > longest.ms) longest = { ms: at - lastGrowth, from: lastGrowth, to: at };
            lastGrowth = at;
            previous = value;
          }
          if (past === null && value > samples[0].counts[who][other][field] + more) past = at;
        }
        lines.push(`${who} <- ${other} ${kind}: longest without a new ${field === 'frames' ? 'frame' : 'packet'} `
          + `${longest.ms} ms (${longest.from} to ${longest.to} ms after the rebinding, sampled), +${more} ${field} `
          + `${past === null ? 'never' : `at ${past} ms`}`);
      }
    }
  }
  return lines;
}

/** The port of the remote end of a server candidate line ('... 127.0.0.1 PORT typ ...'), or null. */
function remotePort(pair) {
  const match = / 127\.0\.0\.1 (\d+) typ /.exec(pair?.remote ?? '');
  return match ? Number(match[1]) : null;
}

function describeCounts(counts) {
  return USERS.map((who) => USERS.filter((other) => other !== who).map((other) =>
    `${who} <- ${other}: ${counts[who][other].frames} frames, ${counts[who][other].packets} packets`).join('; ')).join('; ');
}

/** The server log's lines naming bob's session (the 8-character form it logs) about ICE, pairs, consent, state. */
async function serverLogAbout(session) {
  if (!SERVER_LOG) return [];
  const text = await readFile(SERVER_LOG, 'utf8').catch(() => '');
  const short = session.slice(0, 8);
  return text.split('\n').filter((line) => line.includes(short)
    && /ice|pair|consent|state|fail|nominat|address|secure|connected/i.test(line));
}

// ---------------------------------------------------------------- steps

async function run(pages, relay) {
  const { alice, bob } = pages;
  await routeServerCandidates(bob, (entry) => relay.serverCandidate(entry));
  const sessions = {};
  for (const who of USERS) sessions[who] = (await pages[who].evaluate((name) => window.harness.connect(name), who)).session;
  console.log(`sessions: ${JSON.stringify(sessions)}`);
  const { lineId, token } = await alice.evaluate(() => window.harness.createLine());
  await alice.evaluate((id) => window.harness.join(id), lineId);
  mark('alice joined', `line ${lineId}, directly`);
  const via = { address: RELAY_ADDRESS, port: relay.frontPort };
  const bobJoined = Date.now();
  await bob.evaluate(({ id, options }) => window.harness.join(id, options),
    { id: lineId, options: { token, serverCandidatesVia: via } });
  mark('bob joined', `through the relay: server candidates rewritten to ${via.address}:${via.port}`);

  // 1. bob's path goes through the relay, on both ends' view.
  const { value: bobPath } = await pollUntil('bob\'s selected candidate pair', async () => {
    await failOnPageErrors('bob', bob);
    return selectedPairOf(bob);
  }, (path) => (path.remote && path.pair?.state === 'succeeded' ? []
    : [`connection ${path.connection}, pair ${JSON.stringify(path.pair)}`]), { timeoutMs: STEP_MS });
  mark('bob\'s pair selected', describePath(bobPath));
  check(bobPath.remote.address === RELAY_ADDRESS && bobPath.remote.port === relay.frontPort,
    `bob's selected remote candidate is not the relay's front 127.0.0.1:${relay.frontPort}: ${describePath(bobPath)}`);
  const candidates = await bob.evaluate(() => ({ server: window.harness.events('server-candidate'),
    withheld: window.harness.events('candidate-withheld') }));
  console.log(`  server candidates bob's page met: ${candidates.server.map((entry) => `${entry.protocol} ${entry.address}:`
    + `${entry.port} typ ${entry.type} ${entry.rewritten ? 'rewritten' : 'dropped'}`).join(', ')}`);
  console.log(`  bob's candidates withheld from the server: ${candidates.withheld.length}`);
  check(relay.target, 'the relay never learnt the server\'s UDP candidate');
  check(relay.conflicts.length === 0, `the server offered bob more than one UDP candidate: ${relay.target.address}:`
    + `${relay.target.port}, ${relay.conflicts.join(', ')}`);
  const oldPort = relay.current.port;
  const { value: serverPairBefore } = await pollUntil('the server\'s selected pair for bob', () => serverSelectedPair(sessions.bob),
    (pair) => (remotePort(pair) === oldPort ? []
      : [`admin API's selected_pair ${JSON.stringify(pair)}, expected its remote end 127.0.0.1:${oldPort} (the relay's B)`]),
    { timeoutMs: STEP_MS });
  mark('the server\'s pair for bob', `${serverPairBefore.local} <-> ${serverPairBefore.remote}`);

  // Each sees and hears the other.
  const { elapsedMs } = await pollUntil('alice and bob seeing and hearing each other', async () => {
    for (const who of USERS) await failOnPageErrors(who, pages[who]);
    return (await readAll(pages, sessions)).rows;
  }, (rows) => [
    ...missingSeenAndHeard('alice', rows.alice, ['bob'], sessions, { colours: COLOURS, tones: TONES }),
    ...missingSeenAndHeard('bob', rows.bob, ['alice'], sessions, { colours: COLOURS, tones: TONES }),
  ], { timeoutMs: Math.max(1000, MEDIA_DEADLINE_MS - (Date.now() - bobJoined)) });
  mark('alice sees and hears bob, bob sees and hears alice', `${elapsedMs} ms of polling`);
  const before = (await readAll(pages, sessions)).counts;
  const beforeFailures = await failures(pages);
  check(beforeFailures.length === 0, `failed before the rebinding: ${beforeFailures.join('; ')}`);
  console.log(`  ${describeCounts(before)}`);

  // 2. The rebinding.
  const fresh = await relay.rebind();
  check(fresh.port !== oldPort, `the relay's new back socket has the old one's port ${oldPort}`);
  mark('the relay rebound', `bob's datagrams now from 127.0.0.1:${fresh.port} (B'); 127.0.0.1:${oldPort} (B) closed`);
  // Sampled every 200 ms; a change of the server's pair is put on the timeline; a failure ends the wait at once.
  let lastRemote = serverPairBefore.remote;
  const samples = [{ at: 0, counts: before }];
  const { value: recovered, elapsedMs: recoveryMs } = await pollUntil('media both ways again after the rebinding',
    async () => {
      const pair = await serverSelectedPair(sessions.bob).catch((error) => ({ error: error.message }));
      if (pair?.remote !== lastRemote) {
        lastRemote = pair?.remote;
        mark('the server\'s pair for bob changed', `${Date.now() - relay.reboundAt} ms after the rebinding: `
          + `${pair?.local} <-> ${pair?.remote ?? JSON.stringify(pair)}`);
      }
      const sample = await readAll(pages, sessions);
      samples.push({ at: Date.now() - relay.reboundAt, counts: sample.counts });
      return { ...sample, pair, failed: await failures(pages) };
    },
    ({ rows, pair, failed }) => {
      const missing = [
        ...missingMore('alice', 'bob', rows.alice, sessions, before.alice),
        ...missingMore('bob', 'alice', rows.bob, sessions, before.bob),
        ...(remotePort(pair) === fresh.port ? [] : [`the server's selected pair for bob is ${JSON.stringify(pair)}, not `
          + `from 127.0.0.1:${fresh.port} (B')`]),
        ...(fresh.toServer.total > 0 && fresh.fromServer.rtp > 0 ? [] : [`the relay's B': ${relay.describe().at(-1)}`]),
      ];
      if (failed.length > 0) {
        throw new Failure(`${Date.now() - relay.reboundAt} ms after the rebinding: ${failed.join('; ')}; meanwhile `
          + `${missing.join('; ') || 'nothing else missing'}`);
      }
      return missing;
    }, { timeoutMs: RECOVERY_MS, pollMs: 200 });
  mark('media both ways again, the server\'s pair on B\'', `${recoveryMs} ms after the rebinding (bound ${RECOVERY_MS} ms)`);
  console.log(`  ${describeCounts(recovered.counts)}; the server's pair: ${recovered.pair.local} <-> ${recovered.pair.remote}`);

  // 3. The relay's new socket carried both ways.
  check(fresh.toServer.total > 0 && fresh.fromServer.total > 0 && fresh.toServer.rtp > 0 && fresh.fromServer.rtp > 0,
    `the relay's new socket did not carry media both ways: ${relay.describe().at(-1)}`);

  // 4. It holds past the server's consent timeout.
  for (;;) {
    const pair = await serverSelectedPair(sessions.bob).catch((error) => ({ error: error.message }));
    if (pair?.remote !== lastRemote) {
      lastRemote = pair?.remote;
      mark('the server\'s pair for bob changed', `${Date.now() - relay.reboundAt} ms after the rebinding: `
        + `${pair?.local} <-> ${pair?.remote ?? JSON.stringify(pair)}`);
    }
    const failed = await failures(pages);
    check(failed.length === 0, `${Date.now() - relay.reboundAt} ms after the rebinding: ${failed.join('; ')}`);
    samples.push({ at: Date.now() - relay.reboundAt, counts: (await readAll(pages, sessions)).counts });
    if (Date.now() - relay.reboundAt >= HOLD_MS) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const held = await readAll(pages, sessions);
  const missing = [...missingMore('alice', 'bob', held.rows.alice, sessions, recovered.counts.alice),
    ...missingMore('bob', 'alice', held.rows.bob, sessions, recovered.counts.bob)];
  check(missing.length === 0, `${HOLD_MS} ms after the rebinding: ${missing.join('; ')}`);
  const pairAfter = await serverSelectedPair(sessions.bob);
  check(remotePort(pairAfter) === fresh.port, `${HOLD_MS} ms after the rebinding the server's pair for bob is `
    + `${JSON.stringify(pairAfter)}, not from 127.0.0.1:${fresh.port} (B')`);
  const strays = relay.sockets.reduce((sum, counters) => sum + counters.strays, 0);
  check(strays === 0, `the relay got ${strays} datagrams from other addresses than the server's ${relay.target.address}:`
    + `${relay.target.port}`);
  check(relay.errors.length === 0, `the relay's sockets: ${relay.errors.join('; ')}`);
  mark('held', `${HOLD_MS} ms after the rebinding: no failure, media both ways, the server's pair on B'`);
  console.log(`  ${describeCounts(held.counts)}`);

  console.log('figures:');
  console.log(`  the server's UDP candidate for bob (rewritten in his page): ${relay.target.address}:${relay.target.port}; `
    + `bob's address at the relay's front 127.0.0.1:${relay.frontPort}: ${[...relay.peers].join(', ')}; queued before the `
    + `target was known: dropped ${relay.queueDropped}`);
  for (const line of relay.describe()) console.log(`  ${line}`);
  console.log('  (first: ms since the test started for B, since the rebinding for B\')');
  console.log(`  rebinding to media from the server on B': first RTP/RTCP ${fresh.fromServer.first.rtp} ms, first STUN `
    + `${fresh.fromServer.first.stun ?? '-'} ms; bob's first nomination through B' ${fresh.toServer.first.nomination ?? '-'} ms; `
    + `both pages past +${MORE_FRAMES} frames / +${MORE_PACKETS} packets: <= ${recoveryMs} ms`);
  for (const line of describeStalls(samples)) console.log(`  ${line}`);
  for (const who of USERS) console.log(`  ${who}'s path: ${describePath(await selectedPairOf(pages[who]))}`);
  console.log(`  the server's pair for bob: before ${serverPairBefore.remote}; after ${pairAfter.remote}`);
  const states = await bob.evaluate(() => window.harness.events('webrtc_state').map((entry) => entry.state));
  console.log(`  bob's webrtc_state events: ${states.join(' -> ')}`);
  const logLines = await serverLogAbout(sessions.bob);
  console.log(`the server's log about bob's session ${sessions.bob} (${logLines.length} lines):`);
  for (const line of logLines) console.log(`  ${line}`);
}

async function main() {
  const relay = new RebindingRelay();
  await relay.start();
  mark('relay ready', `front 127.0.0.1:${relay.frontPort}, back 127.0.0.1:${relay.current.port}`);
  try {
    return await runHarnessTest({
      users: USERS, pageUrl: PAGE_URL, colours: COLOURS, tones: TONES,
      run: (pages) => run(pages, relay),
      passMessage: 'a participant whose address changed mid-call (NAT rebinding) still sees and hears and is seen and heard',
      onFailure: async (pages) => {
        await printConnections(pages);
        for (const [who, page] of Object.entries(pages)) {
          console.log(`${who}'s path: ${await selectedPairOf(page).then(describePath).catch((e) => e.message)}`);
          console.log(`${who}'s states: ${JSON.stringify(await page.evaluate(() => [...window.harness.events('webrtc_state'),
            ...window.harness.events('connection')].map((entry) => `${entry.event} ${entry.state}${entry.reason
            ? ` (${entry.reason})` : ''}`)).catch((e) => e.message))}`);
        }
        for (const line of relay.describe()) console.log(`relay: ${line}`);
        console.log(`relay target ${JSON.stringify(relay.target)}, conflicts ${relay.conflicts.join(', ') || '-'}, `
          + `errors ${relay.errors.join('; ') || '-'}, rebound ${relay.reboundAt ? relay.reboundAt - started : '-'} ms`);
        const session = await pages.bob?.evaluate(() => window.harness.client?.sessionId).catch(() => null);
        if (session) {
          for (const line of await serverLogAbout(session)) console.log(`server log: ${line}`);
        }
      },
    });
  } finally {
    relay.close();
    console.log(`timeline: ${timeline.map((entry) => `${entry.at} ms ${entry.label}`).join('; ')}`);
  }
}

process.exitCode = await main();
