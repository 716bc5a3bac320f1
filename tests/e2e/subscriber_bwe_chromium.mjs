// e2e-test: subscriber_bwe_chromium
// E2E (issue 19's third acceptance point): bandwidth estimation toward
// subscribers. A Chromium simulcast publisher (three rids) in a line with
// two other Chromium occupants; the downlink of one subscriber (carol) is
// throttled inside the test's own network namespace; the server must move
// her to a lower layer of the publisher within a few seconds, with little
// loss once there, while the other subscriber (bob) keeps the high layer,
// and bring her back up once the throttle is lifted. Three contexts driving
// web/partyline.js (tests/e2e/line_page.mjs), set up as simulcast_chromium:
//   0. the namespace has only `lo` (/proc/net/dev, checked before every tc
//      command: otherwise the test fails without touching tc) and `tc`
//      works in it: an htb root qdisc on lo is added and deleted;
//   1. alice creates a line, joins it signaling-only and publishes a
//      SIMULCAST video, video only, sendEncodings [{rid 'q', /4}, {rid 'h',
//      /2}, {rid 'f'}]; her offer must carry a=simulcast:send q;h;f with the
//      three a=rid lines. Her source is 1280x720, 30 fps WITH DETAIL
//      (window.detailedVideoTrack: panned noise under a moving gradient),
//      not simulcast_chromium's flat canvas: the flat canvas costs ~50
//      kbit/s at 'h' and ~110 at 'f', too little to tell apart by a
//      throttle, and Chromium's 'q' stream then carries ~1.2 Mbit/s at ~190
//      packets/s (padding toward its bandwidth estimate, counted in
//      bytesSent), more than the two others together;
//      with detail the layers measured ~160 (q), ~510 (h) and 1.4-2.5
//      Mbit/s (f, growing for ~10 s) on the wire of lo;
//   2. bob and carol join through the line's token with their 320x240 canvas
//      cameras and microphones; within 20 s every page decodes the other two
//      (> 30 frames; bob and carol by colour);
//   3. within 15 s bob and carol both decode alice at the high layer
//      (frameWidth >= 1280, or the 'f' layer's own current width when
//      Chromium scaled it down, as long as it is wider than 'q');
//   4. the throttle's rate, from what is measured over the last 4 s (the
//      window slides, within 20 s, until 0 < q < h and 1.6 x h < 0.6 x f:
//      'f' may still be ramping up): alice's per-rid send rates and what
//      reaches carol besides alice's stream (bob's video and audio), all as
//      on the wire of lo (RTP payload + header + 52 bytes of Ethernet, IP,
//      UDP and SRTP tag per packet: what tc counts). The rate is carol's
//      other traffic x 1.25 plus, for alice's video, halfway between 1.6 x h
//      (h fits with room for its keyframes) and 0.6 x f (f surely does not
//      fit): typically ~950 kbit/s (printed);
//   5. carol's selected candidate pair is read from her getStats (transport
//      -> selectedCandidatePairId -> localCandidateId -> local-candidate
//      port, UDP); everything the server sends her goes to that port, so the
//      throttle is: an htb root qdisc on lo (no default class: unclassified
//      traffic is sent directly, unshaped), one class of that rate (ceil
//      the same), a u32 filter sending UDP to that destination port into
//      it, and a bfifo under it holding 200 ms at that rate (tail drop: what
//      does not fit is lost). (This kernel has no `prio` qdisc and no
//      netem; htb, tbf and u32 work.) Within 10 s of the throttle carol
//      decodes alice below the high layer's width, with frames still
//      coming;
//   6. the throttle stays 6 s more: 1 s for the switch to settle (the
//      bottleneck queue still holds up to 200 ms of the high layer, and the
//      new layer starts with a keyframe burst; the loss then is printed, not
//      asserted: in one run carol was seen below the high layer 1.5 s after
//      the throttle and lost 27 packets in that second), then 5 s over
//      which carol decodes > 30 more frames of alice, loses fewer than 5 %
//      as many packets of alice's stream as she receives (packetsLost and
//      packetsReceived deltas of its inbound-rtp; printed with the throttle
//      class's counters); she stays below the high layer in every sample of
//      the 6 s;
//   7. the throttle is lifted (`tc qdisc del dev lo root`); within 30 s
//      carol decodes alice at the high layer again.
// Bob decodes alice at the high layer in every sample from step 3 to the
// end (the last decoded frame's width), never 5 s without a new frame (so
// does carol until the throttle; 5 s, not less: see STALL_MS); no page has
// an error, and every server offer was answered.
// A timeline is printed every 500 ms from step 3 on: carol's decoded size
// of alice, framesDecoded, packetsReceived and packetsLost of alice's stream
// (with their deltas), framesReceived, keyframes, PLIs, NACKs and freezes,
// carol's inbound kbit/s (alice's stream + the rest), what the server says
// of her (admin API, GET /admin/v1/sessions/{id}: downlink_estimate_bps and
// her leg of alice's video; never asserted), bob's decoded size of alice and
// his frames and packets, alice's per-rid send kbit/s and her 'f' layer's
// size, fps, quality limitation, keyframes and PLIs, the loss her
// remote-inbound-rtp shows, the namespace's UDP buffer errors
// (/proc/net/snmp) and the server's forwarding drops by reason (/metrics).
// Each subscriber's longest time without a new decoded frame and the server
// log's lines about bandwidth, estimates, bitrates and layers are printed at
// the end (the log lines on failure too).
// PASSES when all of the above hold and no page had an uncaught error.
// Against the server before subscriber estimation: carol stays on the high
// layer under the throttle, frozen (no frame decoded for 10 s) and losing
// ~200 packets a second; step 5 fails. Against the server with it (4330ea5,
// 2026-12-07, 2 cores): throttle ~950-990 kbit/s; carol below the high
// layer 1.5-3 s after the throttle, at 640x360 first and 320x180 within
// another second (successive lossy reports cut the estimate to 145-525
// kbit/s, under 'h' although the link carries it), no loss once settled;
// back on the high layer 16-27 s after the lift (the estimate holds for
// ~10 s, then grows 15 % a report, a layer at a time); 47-59 s in all.
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py; the test is root in that namespace, so tc applies to
// its own lo only); PARTYLINE_URL is the page to open. Run alone: it
// measures what a throttled link lets through, with three encoders at
// 1280x720 on two cores.

import { readFile } from 'node:fs/promises';
import {
  check, colourWithin, expectOffersAnswered, failOnPageErrors, Failure, harnessErrors, highLayerWidth, nearestColour, pollUntil, receiversOf, runHarnessTest, SIMULCAST_ENCODINGS,
} from './line_page.mjs';
import { interfaces, tc, throttle, throttleStats, udpCounters } from './loopback_throttle.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const SERVER_LOG = process.env.PARTYLINE_SERVER_LOG ?? null;
// The admin API (loopback, no token in the default config): carol's
// downlink estimate and legs, printed in the timeline, never asserted.
const ADMIN_URL = process.env.PARTYLINE_ADMIN_URL ?? 'http://127.0.0.1:7088';
const SAMPLE_MS = 500;
const STEP_MS = 15000;
const MEDIA_DEADLINE_MS = 20000;
const HIGH_DEADLINE_MS = 15000;
const MEASURE_MS = 4000;
const MEASURE_DEADLINE_MS = 20000;
// The throttle leaves alice's video between HEADROOM x h (h fits with room
// for its keyframes) and UNDER_F x f (f surely does not fit, even if it is
// still growing): halfway between the two.
const HEADROOM = 1.6;
const UNDER_F = 0.6;
const DOWN_DEADLINE_MS = 10000;
const SETTLE_MS = 1000;
const HOLD_MS = 5000;
// Longest a subscriber on the high layer may go without a new decoded frame
// of alice. Not 500 ms: with this server (before and after subscriber
// estimation) a subscriber that switches no layer sometimes stops
// completing frames of alice for 2.5-3.5 s while her packets keep arriving
// without loss, until its PLI brings a keyframe (seen in ~1 run in 3, bob
// in the 'measure' and 'held' phases, as framesReceived +0 with
// packetsReceived +60..+140 per sample); the longest such stall of each
// subscriber is printed at the end.
const STALL_MS = 5000;
const UP_DEADLINE_MS = 30000;
const MIN_FRAMES_DECODED = 30;
const MAX_LOSS_FRACTION = 0.05;
const COLOUR_TOLERANCE = 60;
const CAMERA = { width: 1280, height: 720, fps: 30 };
const HIGH_WIDTH = 1280;
// Bytes per packet on lo beyond RTP header and payload: Ethernet 14, IPv4
// 20, UDP 8, SRTP auth tag 10.
const WIRE_OVERHEAD_BYTES = 52;
const OTHERS_MARGIN = 1.25;
const QUEUE_MS = 200; // the throttle queue holds this long at its rate; beyond it packets are dropped
const USERS = ['alice', 'bob', 'carol'];
const COLOURS = { alice: [220, 40, 40], bob: [40, 180, 40], carol: [40, 70, 220] };
const TONES = { alice: 440, bob: 660, carol: 880 };


// ---------------------------------------------------------------- reading the pages



/** alice's per-rid outbound-rtp: rid, bytes (payload + header), packets, size, fps, limitation; with the time. */
function aliceLayersOf(alice) {
  return alice.evaluate(async () => {
    const transceiver = (window.harness.published?.camera ?? []).find((each) => each.sender.track?.kind === 'video');
    const rows = [];
    let upstreamLost = 0;
    if (transceiver) {
      const report = await transceiver.sender.getStats();
      for (const entry of report.values()) {
        if (entry.type === 'remote-inbound-rtp') upstreamLost += entry.packetsLost ?? 0;
      }
      for (const entry of report.values()) {
        if (entry.type !== 'outbound-rtp') continue;
        rows.push({ rid: entry.rid ?? null, bytes: (entry.bytesSent ?? 0) + (entry.headerBytesSent ?? 0),
          packets: entry.packetsSent ?? 0, frameWidth: entry.frameWidth ?? null, frameHeight: entry.frameHeight ?? null,
          fps: entry.framesPerSecond ?? null, limitation: entry.qualityLimitationReason ?? null,
          keyFrames: entry.keyFramesEncoded ?? 0, plis: entry.pliCount ?? 0,
          active: entry.active ?? null });
      }
    }
    return { at: performance.timeOrigin + performance.now(), layers: rows, upstreamLost };
  });
}

/**
 * What a subscriber's page receives: alice's video (its inbound-rtp: size,
 * framesDecoded, packetsReceived, packetsLost, bytes), and the bytes and
 * packets of everything else it receives (other inbound-rtp entries).
 */
function inboundOf(page, aliceSession) {
  return page.evaluate(async (alice) => {
    const pc = window.harness.call?.pc;
    const result = { at: performance.timeOrigin + performance.now(), alice: null, otherBytes: 0, otherPackets: 0 };
    if (!pc) return result;
    for (const transceiver of pc.getTransceivers()) {
      const { track } = transceiver.receiver;
      const session = window.harness.trackSessions.get(track) ?? null;
      if (session === null) continue;
      const inStream = window.harness.call.remoteStreams.get(session)?.getTracks().includes(track) ?? false;
      for (const entry of (await transceiver.receiver.getStats()).values()) {
        if (entry.type !== 'inbound-rtp') continue;
        const bytes = (entry.bytesReceived ?? 0) + (entry.headerBytesReceived ?? 0);
        if (session === alice && track.kind === 'video' && inStream) {
          result.alice = { frameWidth: entry.frameWidth ?? null, frameHeight: entry.frameHeight ?? null,
            framesDecoded: entry.framesDecoded ?? 0, packetsReceived: entry.packetsReceived ?? 0,
            packetsLost: entry.packetsLost ?? 0, bytes, nackCount: entry.nackCount ?? 0, pliCount: entry.pliCount ?? 0,
            keyFramesDecoded: entry.keyFramesDecoded ?? 0, freezeCount: entry.freezeCount ?? 0,
            framesReceived: entry.framesReceived ?? 0, framesDropped: entry.framesDropped ?? 0 };
        } else {
          result.otherBytes += bytes;
          result.otherPackets += entry.packetsReceived ?? 0;
        }
      }
    }
    return result;
  }, aliceSession);
}

/** carol's selected candidate pair: her local candidate's address, port, protocol; and the remote one. */
function selectedPairOf(page) {
  return page.evaluate(async () => {
    const report = await window.harness.call.pc.getStats();
    for (const entry of report.values()) {
      if (entry.type !== 'transport' || !entry.selectedCandidatePairId) continue;
      const pair = report.get(entry.selectedCandidatePairId);
      const local = pair && report.get(pair.localCandidateId);
      const remote = pair && report.get(pair.remoteCandidateId);
      if (!local) continue;
      return { state: pair.state, nominated: pair.nominated ?? null,
        local: { address: local.address ?? local.ip, port: local.port, protocol: local.protocol,
          type: local.candidateType },
        remote: remote ? { address: remote.address ?? remote.ip, port: remote.port, protocol: remote.protocol } : null };
    }
    return null;
  });
}

/**
 * What the server says of `session` (GET /admin/v1/sessions/{id}):
 * `downlink_estimate_bps` and its received leg of `from`'s video (bitrate,
 * fraction lost); null when the API does not answer. For the timeline only.
 */
async function serverView(session, from) {
  try {
    const response = await fetch(`${ADMIN_URL}/admin/v1/sessions/${session}`, { signal: AbortSignal.timeout(1000) });
    if (!response.ok) return null;
    const body = await response.json();
    const figures = body.peer_connection?.figures ?? body.peer_connection ?? body;
    const streams = figures.streams ?? body.streams ?? null;
    const leg = (streams?.received ?? []).find((each) => each.from_session === from && /^video/.test(each.track ?? ''));
    const estimate = figures.downlink_estimate_bps ?? body.downlink_estimate_bps ?? findKey(body, 'downlink_estimate_bps');
    return { estimate: estimate ?? null, leg: leg ? { bps: leg.bitrate_bps, lost: leg.fraction_lost } : null };
  } catch {
    return null;
  }
}

/** The server's forwarding drops by reason (GET /metrics on the admin API), or null. For the timeline only. */
async function forwardingDrops() {
  try {
    const response = await fetch(`${ADMIN_URL}/metrics`, { signal: AbortSignal.timeout(1000) });
    if (!response.ok) return null;
    const drops = {};
    for (const match of (await response.text()).matchAll(/^partyline_forwarding_drops_total\{reason="(\w+)"\} (\d+)/gm)) {
      drops[match[1]] = Number(match[2]);
    }
    return drops;
  } catch {
    return null;
  }
}

/** The first value of `key` anywhere in `value` (undefined if none). */
function findKey(value, key) {
  if (!value || typeof value !== 'object') return undefined;
  if (key in value) return value[key];
  for (const member of Object.values(value)) {
    const found = findKey(member, key);
    if (found !== undefined) return found;
  }
  return undefined;
}

// ---------------------------------------------------------------- the timeline

const kbps = (bytes, ms) => (ms > 0 ? Math.round((bytes * 8) / ms) : null); // bytes per ms -> kbit/s
const wire = (bytes, packets) => bytes + packets * WIRE_OVERHEAD_BYTES;

/** Takes samples of all three pages and prints one timeline line each. */
class Timeline {
  constructor(pages, sessions) {
    this.pages = pages;
    this.sessions = sessions;
    this.samples = [];
    this.started = Date.now();
    this.phase = '';
  }

  /** One sample, SAMPLE_MS after the previous one (getStats figures are only fresh so far apart). */
  async sample() {
    const { alice, bob, carol } = this.pages;
    const since = this.samples.length > 0 ? Date.now() - this.started - this.samples.at(-1).t : SAMPLE_MS;
    if (since < SAMPLE_MS) await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS - since));
    for (const [who, page] of Object.entries(this.pages)) await failOnPageErrors(who, page);
    const sample = { phase: this.phase, t: Date.now() - this.started, alice: await aliceLayersOf(alice),
      bob: await inboundOf(bob, this.sessions.alice), carol: await inboundOf(carol, this.sessions.alice),
      server: await serverView(this.sessions.carol, this.sessions.alice), udp: await udpCounters(),
      drops: await forwardingDrops() };
    sample.high = highLayerWidth(sample.alice.layers, HIGH_WIDTH);
    const previous = this.samples.at(-1) ?? null;
    sample.rates = previous ? this.ratesBetween(previous, sample) : null;
    this.samples.push(sample);
    console.log(this.format(sample, previous));
    return sample;
  }

  /** Rates (kbit/s, as on lo) between two samples: alice per rid, carol's alice stream and the rest. */
  ratesBetween(from, to) {
    const rates = { rid: {} };
    const ms = to.alice.at - from.alice.at;
    for (const layer of to.alice.layers) {
      const before = from.alice.layers.find((each) => each.rid === layer.rid);
      if (before) rates.rid[layer.rid] = kbps(wire(layer.bytes - before.bytes, layer.packets - before.packets), ms);
    }
    const carolMs = to.carol.at - from.carol.at;
    if (to.carol.alice && from.carol.alice) {
      rates.carolAlice = kbps(wire(to.carol.alice.bytes - from.carol.alice.bytes,
        to.carol.alice.packetsReceived - from.carol.alice.packetsReceived), carolMs);
    }
    rates.carolOthers = kbps(wire(to.carol.otherBytes - from.carol.otherBytes,
      to.carol.otherPackets - from.carol.otherPackets), carolMs);
    return rates;
  }

  format(sample, previous) {
    const size = (row) => (row ? `${row.frameWidth ?? '-'}x${row.frameHeight ?? '-'}` : 'none');
    const delta = (who, field) => {
      const now = sample[who].alice?.[field];
      const before = previous?.[who].alice?.[field];
      return now === undefined || before === undefined ? '' : ` (+${now - before})`;
    };
    const c = sample.carol.alice;
    const r = sample.rates;
    const rid = (name) => r?.rid[name] ?? '-';
    const full = sample.alice.layers.find((layer) => layer.rid === 'f');
    const view = sample.server;
    const server = view ? ` (server: estimate ${view.estimate === null ? 'none' : Math.round(view.estimate / 1000)}, `
      + `leg ${view.leg ? `${Math.round(view.leg.bps / 1000)} kbit/s, lost ${view.leg.lost}` : '-'})` : '';
    return `  t=${(sample.t / 1000).toFixed(1).padStart(5)}s ${sample.phase.padEnd(9)} `
      + `carol ${size(c).padEnd(9)} decoded ${c?.framesDecoded ?? '-'}${delta('carol', 'framesDecoded')} `
      + `received ${c?.packetsReceived ?? '-'}${delta('carol', 'packetsReceived')} `
      + `lost ${c?.packetsLost ?? '-'}${delta('carol', 'packetsLost')} `
      + `[frames received ${c?.framesReceived ?? '-'}${delta('carol', 'framesReceived')}, keyframes `
      + `${c?.keyFramesDecoded ?? '-'}, PLIs ${c?.pliCount ?? '-'}, NACKs ${c?.nackCount ?? '-'}, freezes ${c?.freezeCount ?? '-'}] `
      + `in ${r?.carolAlice ?? '-'}+${r?.carolOthers ?? '-'} kbit/s${server} | `
      + `bob ${size(sample.bob.alice).padEnd(9)} decoded ${sample.bob.alice?.framesDecoded ?? '-'}`
      + `${delta('bob', 'framesDecoded')} [keyframes ${sample.bob.alice?.keyFramesDecoded ?? '-'}, PLIs `
      + `${sample.bob.alice?.pliCount ?? '-'}, NACKs ${sample.bob.alice?.nackCount ?? '-'}] frames received ${sample.bob.alice?.framesReceived ?? '-'}`
      + `${delta('bob', 'framesReceived')} packets ${sample.bob.alice?.packetsReceived ?? '-'}`
      + `${delta('bob', 'packetsReceived')} lost ${sample.bob.alice?.packetsLost ?? '-'}${delta('bob', 'packetsLost')} `
      + `| alice q ${rid('q')} h ${rid('h')} f ${rid('f')} kbit/s (f ${size(full)} ${full?.fps ?? '-'} fps `
      + `${full?.limitation ?? '-'}, ${full?.keyFrames ?? '-'} keyframes, ${full?.plis ?? '-'} PLIs; high >= ${sample.high}; `
      + `lost upstream ${sample.alice.upstreamLost})`
      + ` | udp rcvbuf errors ${sample.udp.rcvbuf}${previous ? ` (+${sample.udp.rcvbuf - previous.udp.rcvbuf})` : ''}`
      + `, sndbuf ${sample.udp.sndbuf} | server drops ${Object.entries(sample.drops ?? {}).filter(([, count]) => count > 0)
        .map(([reason, count]) => `${reason} ${count}`).join(', ') || 'none'}`;
  }

  /**
   * Samples (every SAMPLE_MS) until `done(sample, previous)` holds (returns
   * that sample) or `deadlineMs` passed (fails with `what` and the last
   * sample's `lacking(sample, previous)`); `invariant(sample, previous)`
   * (a message or null) fails the test at once.
   */
  async until(what, { done, lacking, deadlineMs, invariant = () => null }) {
    const started = Date.now();
    for (;;) {
      const previous = this.samples.at(-1) ?? null;
      const sample = await this.sample();
      const broken = invariant(sample, previous);
      if (broken) throw new Failure(`${what}: ${broken} (t=${(sample.t / 1000).toFixed(1)} s)`);
      if (done(sample, previous)) return { sample, elapsedMs: Date.now() - started };
      if (Date.now() - started > deadlineMs) {
        throw new Failure(`${what}: not within ${deadlineMs} ms: ${lacking(sample, previous)}`);
      }
    }
  }

  /** Samples (every SAMPLE_MS) for `ms` (a measurement window); the samples taken. */
  async during(what, ms, invariant = () => null) {
    const started = Date.now();
    const taken = [];
    for (;;) {
      const previous = this.samples.at(-1) ?? null;
      const sample = await this.sample();
      taken.push(sample);
      const broken = invariant(sample, previous);
      if (broken) throw new Failure(`${what}: ${broken} (t=${(sample.t / 1000).toFixed(1)} s)`);
      if (Date.now() - started >= ms) return taken;
    }
  }
}

/** Whether `who` decodes alice at the high layer in `sample`, with new frames since `previous`. */
function decodesHigh(who, sample, previous) {
  const row = sample[who].alice;
  const before = previous?.[who].alice?.framesDecoded ?? 0;
  return Boolean(row) && row.framesDecoded > before && row.frameWidth >= sample.high;
}

function describe(who, sample, previous) {
  const row = sample[who].alice;
  if (!row) return `${who} has no receiver of alice's video`;
  const before = previous?.[who].alice?.framesDecoded ?? 0;
  return `${who} decodes alice at ${row.frameWidth ?? '-'}x${row.frameHeight ?? '-'} (high layer: frameWidth >= `
    + `${sample.high}), ${row.framesDecoded - before} new frames in the last ${SAMPLE_MS} ms`;
}

/**
 * An invariant: `who` decodes alice at the high layer in `sample` (the last
 * decoded frame's width), and decoded some frame within the last STALL_MS;
 * a message or null.
 */
function staysHigh(timeline, who) {
  return (sample) => {
    const row = sample[who].alice;
    const earlier = timeline.samples.findLast((each) => each.t <= sample.t - STALL_MS);
    const stalled = Boolean(row) && Boolean(earlier?.[who].alice) && row.framesDecoded <= earlier[who].alice.framesDecoded;
    if (row && row.frameWidth >= sample.high && !stalled) return null;
    return `${who} left the high layer: ${row ? `decodes alice at ${row.frameWidth ?? '-'}x${row.frameHeight ?? '-'} `
      + `(high layer: frameWidth >= ${sample.high})` : 'no receiver of alice\'s video'}`
      + `${stalled ? `, no new frame since ${((sample.t - earlier.t) / 1000).toFixed(1)} s before` : ''}`;
  };
}

/** The longest run of samples in which `who` decoded no new frame of alice: its length (ms) and end. */
function longestStall(samples, who) {
  let longest = { ms: 0, at: null };
  let since = null;
  for (let index = 1; index < samples.length; index += 1) {
    const [before, now] = [samples[index - 1][who].alice, samples[index][who].alice];
    if (before && now && now.framesDecoded === before.framesDecoded) {
      since ??= samples[index - 1].t;
      const ms = samples[index].t - since;
      if (ms > longest.ms) longest = { ms, at: samples[index].t };
    } else {
      since = null;
    }
  }
  return longest;
}

async function serverLogLines(pattern = /bandwidth|estimat|bitrate|\blayers?\b|\brid\b|simulcast|\bloss\b|kbit/i) {
  if (!SERVER_LOG) return [];
  const text = await readFile(SERVER_LOG, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => pattern.test(line));
}

// ---------------------------------------------------------------- checks as in simulcast_chromium

/**
 * What `who`'s receivers lack to show each of `publishers`: bob's and
 * carol's cameras by colour (within COLOUR_TOLERANCE per channel and nearest
 * to it), alice's video with detail (no colour of hers) by its frames; each
 * with > MIN_FRAMES_DECODED frames.
 */
function missingPublishers(who, rows, publishers, sessions) {
  const missing = [];
  for (const publisher of publishers) {
    const candidates = rows.filter((row) => row.session === sessions[publisher] && row.kind === 'video' && row.inStream
      && row.direction !== 'inactive');
    const showing = candidates.filter((row) => row.framesDecoded > MIN_FRAMES_DECODED && (publisher === 'alice'
      || (colourWithin(row.colour, COLOURS[publisher], COLOUR_TOLERANCE) && nearestColour(row.colour, COLOURS) === publisher)));
    if (showing.length === 0) {
      const wanted = publisher === 'alice' ? '' : ` in rgb(${COLOURS[publisher]})`;
      missing.push(`${who} <- ${publisher}: no video receiver of that stream${wanted} with > `
        + `${MIN_FRAMES_DECODED} frames (${candidates.map((row) => `mid ${row.mid} rgb(${row.colour}) `
          + `${row.framesDecoded} frames`).join(', ') || 'no receiver'})`);
    }
  }
  return missing;
}


// ---------------------------------------------------------------- steps

let throttled = false;

async function runTest(pages) {
  const { alice, bob, carol } = pages;

  // 0. Only lo here, and tc works on it.
  console.log(`network namespace interfaces: ${(await interfaces()).join(', ')}`);
  await tc('qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb');
  await tc('qdisc', 'del', 'dev', 'lo', 'root');
  console.log('tc works on lo here (an htb root qdisc added and deleted)');

  const sessions = {};
  for (const [who, page] of Object.entries(pages)) {
    sessions[who] = (await page.evaluate((name) => window.harness.connect(name), who)).session;
  }

  // 1. alice's line, joined signaling-only; her simulcast video.
  const { lineId, token } = await alice.evaluate(() => window.harness.createLine());
  await alice.evaluate(({ id }) => window.harness.join(id, { media: false }), { id: lineId });
  const mids = await alice.evaluate(({ camera, encodings }) => window.harness.publishCamera({ ...camera, detailed: true,
    sendEncodings: encodings, key: 'camera' }), { camera: CAMERA, encodings: SIMULCAST_ENCODINGS });
  console.log(`alice published ${mids.join(', ')} (a ${CAMERA.width}x${CAMERA.height}, ${CAMERA.fps} fps source with `
    + `detail, sendEncodings ${JSON.stringify(SIMULCAST_ENCODINGS)})`);
  const sdp = await alice.evaluate(() => window.harness.sdpLines('^a=(simulcast|rid)'));
  const offered = sdp.local.find((section) => section[0].startsWith('m=video')) ?? [];
  check(offered.some((line) => /^a=simulcast:send q;h;f$/.test(line))
    && ['q', 'h', 'f'].every((rid) => offered.includes(`a=rid:${rid} send`)),
  `alice's offer lacks a=simulcast:send q;h;f with three a=rid lines: ${offered.join(' | ')}`);
  await failOnPageErrors('alice', alice);

  // 2. bob and carol join; everyone sees the other two.
  for (const who of ['bob', 'carol']) {
    await pages[who].evaluate(({ id, key }) => window.harness.join(id, { token: key }), { id: lineId, key: token });
  }
  const started = Date.now();
  for (const who of USERS) {
    const left = Math.max(1000, MEDIA_DEADLINE_MS - (Date.now() - started));
    await pollUntil(`${who} seeing the other two by colour`, async () => {
      await failOnPageErrors(who, pages[who]);
      return receiversOf(pages[who]);
    }, (rows) => missingPublishers(who, rows, USERS.filter((user) => user !== who), sessions), { timeoutMs: left });
  }
  console.log(`every page decodes the other two (bob and carol by colour) after ${Date.now() - started} ms`);
  await expectOffersAnswered(pages, STEP_MS);

  // 3. Both on the high layer.
  const timeline = new Timeline(pages, sessions);
  console.log('timeline (every 500 ms): carol\'s size of alice, framesDecoded, packetsReceived, packetsLost of '
    + 'alice\'s stream, carol\'s inbound kbit/s (alice\'s stream + the rest, as on lo) | bob\'s size of alice | alice\'s '
    + 'per-rid send kbit/s (as on lo)');
  timeline.phase = 'default';
  const high = await timeline.until('bob and carol on the high layer by default', {
    done: (sample, previous) => decodesHigh('bob', sample, previous) && decodesHigh('carol', sample, previous),
    lacking: (sample, previous) => `${describe('bob', sample, previous)}; ${describe('carol', sample, previous)}`,
    deadlineMs: HIGH_DEADLINE_MS,
  });
  console.log(`both on the high layer after ${high.elapsedMs} ms`);

  // 4. What each layer costs, and what else reaches carol: the throttle's rate. The window
  // slides (alice's 'f' layer may still be ramping up) until h fits with room and f does not.
  timeline.phase = 'measure';
  const bobHigh = staysHigh(timeline, 'bob');
  const carolHigh = staysHigh(timeline, 'carol');
  const stillHigh = (sample) => bobHigh(sample) ?? carolHigh(sample);
  const windowOf = (sample) => {
    const first = timeline.samples.findLast((each) => each.t <= sample.t - MEASURE_MS);
    return first && first.t >= high.sample.t ? { first, rates: timeline.ratesBetween(first, sample) } : null;
  };
  const separated = (rates) => rates.rid.q > 0 && rates.rid.h > rates.rid.q
    && HEADROOM * rates.rid.h < UNDER_F * rates.rid.f;
  const measured = await timeline.until('alice\'s layers measured apart', {
    done: (sample) => Boolean(windowOf(sample)) && separated(windowOf(sample).rates),
    lacking: (sample) => {
      const { rid } = windowOf(sample)?.rates ?? { rid: {} };
      return `alice's layers over the last ${MEASURE_MS} ms: q ${rid.q}, h ${rid.h}, f ${rid.f} kbit/s (wanted `
        + `0 < q < h and ${HEADROOM} x h < ${UNDER_F} x f, so that a throttle lets 'h' through with room and not 'f')`;
    },
    deadlineMs: MEASURE_DEADLINE_MS,
    invariant: stillHigh,
  });
  const { first, rates } = windowOf(measured.sample);
  const { q, h, f } = rates.rid;
  console.log(`measured over ${((measured.sample.t - first.t) / 1000).toFixed(1)} s (as on lo): alice sends q ${q}, `
    + `h ${h}, f ${f} kbit/s; carol receives alice's stream at ${rates.carolAlice} kbit/s and the rest (bob's video and `
    + `audio) at ${rates.carolOthers} kbit/s`);
  const share = Math.round((HEADROOM * h + UNDER_F * f) / 2);
  const rate = Math.round(rates.carolOthers * OTHERS_MARGIN + share);
  console.log(`throttle: ${rate} kbit/s = carol's other traffic ${rates.carolOthers} x ${OTHERS_MARGIN} + a share for `
    + `alice's video of ${share}, halfway between ${HEADROOM} x h (${Math.round(HEADROOM * h)}) and ${UNDER_F} x f `
    + `(${Math.round(UNDER_F * f)}): 'h' fits with room, 'f' does not`);

  // 5. Throttle what goes to carol's port; she must move down within 10 s.
  const pair = await selectedPairOf(carol);
  console.log(`carol's selected candidate pair: ${JSON.stringify(pair)}`);
  check(pair && pair.local.protocol === 'udp' && Number.isInteger(pair.local.port),
    `carol has no selected UDP candidate pair: ${JSON.stringify(pair)}`);
  const queueBytes = await throttle(pair.local.port, rate, QUEUE_MS);
  throttled = true;
  console.log(`throttled: UDP to port ${pair.local.port} on lo at ${rate} kbit/s, queue ${queueBytes} bytes `
    + `(${QUEUE_MS} ms)`);
  timeline.phase = 'throttled';
  const down = await timeline.until('carol moving below the high layer under the throttle', {
    done: (sample, previous) => {
      const row = sample.carol.alice;
      return Boolean(row) && row.framesDecoded > (previous?.carol.alice?.framesDecoded ?? 0)
        && row.frameWidth < sample.high;
    },
    lacking: (sample, previous) => describe('carol', sample, previous),
    deadlineMs: DOWN_DEADLINE_MS,
    invariant: bobHigh,
  });
  console.log(`carol below the high layer ${down.elapsedMs} ms after the throttle: `
    + `${down.sample.carol.alice.frameWidth}x${down.sample.carol.alice.frameHeight}; ${await throttleStats()}`);

  // 6. Under the throttle: the switch settles for SETTLE_MS (the queue still holds the high
  // layer's packets, and the new layer starts with a keyframe burst), then for HOLD_MS carol
  // decodes, loses little, and stays below the high layer.
  timeline.phase = 'settling';
  const belowHigh = (sample, previous) => bobHigh(sample)
    ?? (sample.carol.alice && sample.carol.alice.frameWidth < sample.high ? null
      : `carol climbed back to the high layer under the throttle: ${describe('carol', sample, previous)}`);
  const settling = await timeline.during('carol settling under the throttle', SETTLE_MS, belowHigh);
  timeline.phase = 'held';
  const held = await timeline.during('carol under the throttle', HOLD_MS, belowHigh);
  const lossBetween = (first, last) => {
    const received = last.carol.alice.packetsReceived - first.carol.alice.packetsReceived;
    const lost = last.carol.alice.packetsLost - first.carol.alice.packetsLost;
    return { received, lost, seconds: ((last.t - first.t) / 1000).toFixed(1),
      percent: received > 0 ? ((100 * lost) / received).toFixed(1) : '-' };
  };
  const settled = lossBetween(down.sample, settling.at(-1));
  console.log(`settling (${settled.seconds} s from the first frame below the high layer): carol received ${settled.received} `
    + `packets of alice's stream, lost ${settled.lost} (${settled.percent} %; not asserted)`);
  const steady = lossBetween(settling.at(-1), held.at(-1));
  const decoded = held.at(-1).carol.alice.framesDecoded - settling.at(-1).carol.alice.framesDecoded;
  console.log(`under the throttle after the switch settled (${steady.seconds} s): carol decoded ${decoded} frames of `
    + `alice, received ${steady.received} packets, lost ${steady.lost} (${steady.percent} %); ${await throttleStats()}`);
  check(decoded > MIN_FRAMES_DECODED, `carol decoded only ${decoded} frames of alice in the ${steady.seconds} s after `
    + `the switch settled (wanted > ${MIN_FRAMES_DECODED})`);
  check(steady.lost < MAX_LOSS_FRACTION * steady.received, `carol lost ${steady.lost} packets of alice's stream in the `
    + `${steady.seconds} s after the switch settled for ${steady.received} received (wanted < ${MAX_LOSS_FRACTION * 100} %)`);

  // 7. Lifted: back to the high layer within 30 s.
  await tc('qdisc', 'del', 'dev', 'lo', 'root');
  throttled = false;
  console.log('throttle lifted');
  timeline.phase = 'lifted';
  const up = await timeline.until('carol back on the high layer after the throttle was lifted', {
    done: (sample, previous) => decodesHigh('carol', sample, previous),
    lacking: (sample, previous) => describe('carol', sample, previous),
    deadlineMs: UP_DEADLINE_MS,
    invariant: bobHigh,
  });
  console.log(`carol back on the high layer ${up.elapsedMs} ms after the throttle was lifted`);

  await expectOffersAnswered(pages, STEP_MS);
  const errors = await harnessErrors(pages);
  check(errors.length === 0, `errors in the pages: ${errors.join(' | ')}`);
  for (const who of ['bob', 'carol']) {
    const { ms, at } = longestStall(timeline.samples, who);
    console.log(`${who}'s longest time without a new decoded frame of alice: ${ms} ms`
      + `${ms > 0 ? ` (ending at t=${(at / 1000).toFixed(1)} s)` : ''}`);
  }
  const lines = await serverLogLines();
  console.log(`server log lines about bandwidth and layers (${lines.length}, the last 40):`);
  for (const line of lines.slice(-40)) console.log(`  | ${line}`);
}

async function onFailure(pages) {
  if (throttled) await tc('qdisc', 'del', 'dev', 'lo', 'root').catch(() => {});
  if (!pages.alice) return;
  for (const [who, page] of Object.entries(pages)) {
    const state = await page.evaluate(() => ({
      signaling: window.harness.call?.pc?.signalingState ?? null,
      connection: window.harness.call?.pc?.connectionState ?? null,
      negotiation: window.harness.events('negotiation').map((entry) => entry.step).join(' -> '),
      errors: window.harness.errors,
    })).catch((error) => ({ error: error.message }));
    console.log(`${who}'s connection: ${JSON.stringify(state)}`);
  }
  const lines = await serverLogLines();
  console.log(`server log lines about bandwidth and layers (${lines.length}, the last 60):`);
  for (const line of lines.slice(-60)) console.log(`  | ${line}`);
}

process.exitCode = await runHarnessTest({
  users: USERS, pageUrl: PAGE_URL, colours: COLOURS, tones: TONES, run: runTest,
  passMessage: 'a three-rid simulcast publisher and two subscribers: with carol\'s downlink throttled between alice\'s '
    + '\'h\' and \'f\' rates she moved below the high layer, kept decoding with little loss, and came back up once the '
    + 'throttle was lifted; bob stayed on the high layer throughout',
  onFailure,
});
