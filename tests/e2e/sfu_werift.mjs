// e2e-test: sfu_werift
// E2E: forwarding exactness with werift (raw RTP). One werift publisher and
// two werift subscribers join one phone line; each numbers VP8, RTX and the
// header extensions differently. The publisher sends a known sequence of VP8
// packets (its own sequence numbers, wrapping past 65535, distinct payloads);
// every subscriber must receive every payload byte for byte on the SSRC the
// server's `update` offer declared, with its own payload type, sequence
// numbers that go up by one per packet, timestamps that keep the publisher's
// spacing, and the abs-send-time extension under its own id. Then each
// subscriber NACKs a recent packet: it must come back from the server's cache
// as RTX (RFC 4588: on the FID SSRC, original sequence number first) while
// the publisher is not asked for it; and a packet too old for the cache
// (but within the leg's numbering window): that NACK must reach the
// publisher with the publisher's own sequence number.
//
// Run through run_e2e.sh (private network namespace, server started by
// with_server.py); PARTYLINE_WS_URL is the signaling URL.

import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { RTP_EXTENSION_URI } from 'werift';
import { WeriftParticipant, mediaSections, payloadTypes } from './werift_peer.mjs';
import { RequestError } from './werift_signaling.mjs';

const WS_URL = process.env.PARTYLINE_WS_URL ?? 'ws://127.0.0.1:8088/ws';
const TEST_DEADLINE_MS = 30000;
const STEP_MS = 10000;

// The server's forwarding defaults (core/media/media_router.hpp RouterOptions,
// rtp/forward/sequence_rewriter.hpp): a NACKed packet is answered from a cache of the
// newest 512 packets per video stream; older ones within the leg's 1024-packet
// numbering window are asked of the publisher.
const SERVER_CACHE_PACKETS = 512;
const LEG_WINDOW_PACKETS = 1024;
const PACKETS = 600;  // > SERVER_CACHE_PACKETS, so the first ones leave the cache
const FIRST_SEQUENCE_NUMBER = 65536 - 150;  // the publisher's numbering wraps mid-stream
const FRAME_INTERVAL_MS = 4;  // pacing: a few packets per 4 ms, well within loopback's socket buffers
const VP8_CLOCK_TICKS_PER_FRAME = 3000;  // 30 fps at 90 kHz

// Each participant numbers VP8/RTX and the header extensions its own way
// (werift numbers extensions 1, 2, ... in the order given, audio first):
// publisher mid 1, abs-send-time 2; sub-a abs-send-time 1, mid 2; sub-b
// (audio level 1, orientation 2) mid 3, abs-send-time 4.
const { sdesMid, absSendTime, audioLevelIndication, videoOrientation } = RTP_EXTENSION_URI;
const PUBLISHER = { direction: 'sendonly', payloadType: 100, videoExtensions: [sdesMid, absSendTime] };
const SUBSCRIBERS = [
  ['werift-sub-a', { direction: 'recvonly', payloadType: 96, videoExtensions: [absSendTime, sdesMid] }],
  ['werift-sub-b', { direction: 'recvonly', payloadType: 120, audioExtensions: [audioLevelIndication],
    videoExtensions: [videoOrientation, sdesMid, absSendTime] }],
];

class Failure extends Error {}

function check(condition, message) {
  if (!condition) throw new Failure(message);
}

const u16 = (value) => ((value % 65536) + 65536) % 65536;
const u32 = (value) => ((value % 4294967296) + 4294967296) % 4294967296;

/**
 * The packets to send, frame by frame: VP8 payload descriptor (S bit on a
 * frame's first packet), a VP8 frame header there (frame 0 a key frame, so
 * the server's keyframe detection sees one), then a counter and random bytes.
 */
function planPackets(count) {
  const frames = [];
  let index = 0;
  for (let frame = 0; index < count; frame++) {
    const packetsInFrame = Math.min(count - index, 1 + randomInt(4));
    const packets = [];
    for (let part = 0; part < packetsInFrame; part++, index++) {
      const pieces = [Buffer.from([part === 0 ? 0x10 : 0x00])];
      if (part === 0) {
        const keyFrame = frame === 0;
        const tag = (200 << 5) | 0x10 | (keyFrame ? 0 : 1);  // first partition 200 bytes, shown
        pieces.push(Buffer.from([tag & 0xff, (tag >> 8) & 0xff, (tag >> 16) & 0xff]));
        if (keyFrame) pieces.push(Buffer.from([0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]));  // 320x240
      }
      const counter = Buffer.alloc(4);
      counter.writeUInt32BE(index);
      pieces.push(counter, randomBytes(40 + randomInt(1000)));
      packets.push({ index, marker: part === packetsInFrame - 1, payload: Buffer.concat(pieces) });
    }
    frames.push({ frame, packets });
  }
  return frames;
}

/** The m-line of the publisher's video in a subscriber's last accepted update, with its answer. */
function legOf(subscriber, publisher) {
  check(subscriber.updates.length > 0, `${subscriber.name}: no update offer was answered`);
  const { offer, answer } = subscriber.updates.at(-1);
  const trackId = `video-${publisher.session.slice(0, 8)}`;
  const offered = mediaSections(offer).find((section) => section.kind === 'video'
    && section.msid?.[0] === publisher.session && section.msid?.[1] === trackId);
  check(offered, `${subscriber.name}: the update offer has no video m-line with a=msid:${publisher.session} ${trackId}`);
  check(offered.direction === 'sendonly', `${subscriber.name}: the publisher's m-line is ${offered.direction}, not sendonly`);
  const answered = mediaSections(answer).find((section) => section.mid === offered.mid);
  check(answered && answered.port !== 0, `${subscriber.name}: the answer rejects mid ${offered.mid}`);
  check(answered.direction === 'recvonly', `${subscriber.name}: the answer's mid ${offered.mid} is ${answered.direction}`);
  const { payloadType, rtxPayloadType } = payloadTypes(answered, 'VP8');
  check(payloadType !== null, `${subscriber.name}: the answer's mid ${offered.mid} has no VP8`);
  check(rtxPayloadType !== null, `${subscriber.name}: the answer's mid ${offered.mid} has no RTX for VP8`);
  check(offered.fid?.length === 2, `${subscriber.name}: the offer's mid ${offered.mid} has no a=ssrc-group:FID`);
  const [ssrc, rtxSsrc] = offered.fid;
  check(offered.ssrcs.includes(ssrc) && offered.ssrcs.includes(rtxSsrc),
    `${subscriber.name}: the FID SSRCs are not declared with a=ssrc`);
  const absSendTimeId = [...answered.extmaps].find(([, uri]) => uri === RTP_EXTENSION_URI.absSendTime)?.[0] ?? null;
  return { mid: offered.mid, ssrc, rtxSsrc, payloadType, rtxPayloadType, extmaps: answered.extmaps, absSendTimeId };
}

/** Waits for `check()` to hold, re-checked whenever `participant` receives something. */
function waitFor(participant, checkFn, what, timeoutMs = STEP_MS) {
  return participant.signaling.waitUntil(checkFn, timeoutMs, `${participant.name}: ${what}`);
}

/** The first packet from index `from` on of `subscriber.received` for which `predicate` holds, once it arrives. */
function waitForPacket(subscriber, from, predicate, what, timeoutMs = STEP_MS) {
  let next = from;
  return waitFor(subscriber, () => {
    for (; next < subscriber.received.length; next++) {
      if (predicate(subscriber.received[next])) return subscriber.received[next];
    }
    return undefined;
  }, what, timeoutMs);
}

/**
 * Checks a subscriber's copy of the stream, packet by packet, against what
 * was sent; returns the leg's first sequence number and timestamp, and its
 * figures.
 */
function verifyStream(subscriber, leg, sent, received) {
  const byPayload = new Map(sent.map((packet, index) => [packet.payload.toString('base64'), index]));
  const primary = received.filter((packet) => packet.ssrc === leg.ssrc);
  const repairs = received.filter((packet) => packet.ssrc === leg.rtxSsrc);
  const strays = received.filter((packet) => packet.ssrc !== leg.ssrc && packet.ssrc !== leg.rtxSsrc);
  check(strays.length === 0, `${subscriber.name}: ${strays.length} packet(s) on SSRCs the offer did not declare: `
    + [...new Set(strays.map((packet) => packet.ssrc))].join(', '));
  check(primary.length > 0, `${subscriber.name}: nothing received on SSRC ${leg.ssrc}`);

  // Where the leg's numbering starts: what payload #0 has, or would have had
  // (derived from any packet whose payload was sent).
  const anchor = primary.find((packet) => byPayload.has(packet.payload.toString('base64')));
  check(anchor, `${subscriber.name}: none of the ${primary.length} packets on SSRC ${leg.ssrc} carries a payload that was sent`);
  const anchorIndex = byPayload.get(anchor.payload.toString('base64'));
  const first = {
    sequenceNumber: u16(anchor.sequenceNumber - anchorIndex),
    timestamp: u32(anchor.timestamp - (sent[anchorIndex].timestamp - sent[0].timestamp)),
  };
  const seen = new Set();
  const extensionIds = new Set();
  let withAbsSendTime = 0;
  let withMid = 0;
  let reordered = 0;
  let previous = -1;
  for (const packet of primary) {
    const index = byPayload.get(packet.payload.toString('base64'));
    const where = `${subscriber.name}: packet seq ${packet.sequenceNumber}`;
    check(index !== undefined, `${where}: its payload (${packet.payload.length} bytes) is not one that was sent`);
    check(!seen.has(index), `${where}: payload #${index} arrived twice`);
    seen.add(index);
    if (index < previous) reordered += 1;
    previous = index;
    check(packet.payloadType === leg.payloadType, `${where}: payload type ${packet.payloadType}, negotiated ${leg.payloadType}`);
    check(u16(packet.sequenceNumber - first.sequenceNumber) === index,
      `${where}: carries payload #${index}, so its sequence number should be ${u16(first.sequenceNumber + index)}`);
    check(u32(packet.timestamp - first.timestamp) === u32(sent[index].timestamp - sent[0].timestamp),
      `${where}: timestamp ${packet.timestamp} does not keep the publisher's spacing`);
    check(packet.marker === sent[index].marker, `${where}: marker ${packet.marker}, sent ${sent[index].marker}`);
    for (const { id, payload } of packet.extensions) {
      if (id === 0) continue;
      extensionIds.add(id);
      const uri = leg.extmaps.get(id);
      check(uri, `${where}: header extension id ${id} was not negotiated on mid ${leg.mid}`);
      if (uri === RTP_EXTENSION_URI.sdesMid) {
        withMid += 1;
        check(payload.toString() === leg.mid, `${where}: sdes:mid says "${payload.toString()}" on mid ${leg.mid}`);
      }
      if (uri === RTP_EXTENSION_URI.absSendTime) {
        withAbsSendTime += 1;
        check(payload.equals(sent[index].absSendTime),
          `${where}: abs-send-time ${payload.toString('hex')}, the publisher sent ${sent[index].absSendTime?.toString('hex')}`);
      }
    }
    if (leg.absSendTimeId !== null && sent[index].absSendTime) {
      check(packet.extensions.some(({ id }) => id === leg.absSendTimeId),
        `${where}: no abs-send-time under the negotiated id ${leg.absSendTimeId}`);
    }
  }
  // A packet the kernel dropped on the way may have come back as RTX when
  // werift NACKed the gap: it still counts, under its own sequence number.
  const recovered = [];
  for (const repair of repairs) {
    const original = repair.payload.readUInt16BE(0);
    const index = u16(original - first.sequenceNumber);
    if (index < sent.length && !seen.has(index) && repair.payload.subarray(2).equals(sent[index].payload)) {
      seen.add(index);
      recovered.push(index);
    }
  }
  const missing = sent.map((_, index) => index).filter((index) => !seen.has(index));
  check(missing.length === 0, `${subscriber.name}: ${missing.length} of ${sent.length} payloads never arrived `
    + `(first missing: #${missing.slice(0, 10).join(', #')})`);
  const figures = {
    ssrc: leg.ssrc,
    rtxSsrc: leg.rtxSsrc,
    payloadType: leg.payloadType,
    rtxPayloadType: leg.rtxPayloadType,
    received: primary.length,
    recoveredByRtx: recovered.length,
    reordered,
    sequenceNumbers: `${first.sequenceNumber}..${u16(first.sequenceNumber + sent.length - 1)}`,
    timestamps: `${first.timestamp}..${u32(first.timestamp + sent.at(-1).timestamp - sent[0].timestamp)}`,
    extensionIds: [...extensionIds].sort((a, b) => a - b),
    absSendTime: `${withAbsSendTime} packets under id ${leg.absSendTimeId}`,
    sdesMid: `${withMid} packets`,
  };
  return { firstSequenceNumber: first.sequenceNumber, firstTimestamp: first.timestamp, figures };
}

/** NACKs `index` (in the subscriber's numbering) and waits for it to come back. */
async function nackFromCache(subscriber, leg, sent, { firstSequenceNumber, firstTimestamp }, index) {
  const legSequenceNumber = u16(firstSequenceNumber + index);
  const mark = subscriber.received.length;
  await subscriber.sendNack(leg.mid, leg.ssrc, [legSequenceNumber]);
  const isAnswer = (packet) => (packet.ssrc === leg.rtxSsrc && packet.payload.length >= 2
      && packet.payload.readUInt16BE(0) === legSequenceNumber)
    || (packet.ssrc === leg.ssrc && packet.sequenceNumber === legSequenceNumber);
  const answer = await waitForPacket(subscriber, mark, isAnswer,
    `the retransmission of seq ${legSequenceNumber} (payload #${index})`, 5000);
  const where = `${subscriber.name}: retransmission of seq ${legSequenceNumber}`;
  check(answer.ssrc === leg.rtxSsrc, `${where} came on the media SSRC, not as RTX though RTX was negotiated`);
  check(answer.payloadType === leg.rtxPayloadType, `${where}: payload type ${answer.payloadType}, RTX is ${leg.rtxPayloadType}`);
  check(answer.payload.subarray(2).equals(sent[index].payload), `${where}: the RTX payload differs from payload #${index}`);
  check(u32(answer.timestamp - firstTimestamp) === u32(sent[index].timestamp - sent[0].timestamp),
    `${where}: timestamp ${answer.timestamp} is not the original packet's`);
  return { index, legSequenceNumber, rtxSequenceNumber: answer.sequenceNumber, rtxSsrc: answer.ssrc, bytes: answer.payload.length };
}

async function run(publisher, subscribers) {
  for (const participant of [publisher, ...subscribers]) await participant.connect(WS_URL);
  const { lineId, token } = await publisher.createLine();
  await publisher.join(lineId);
  for (const subscriber of subscribers) await subscriber.join(lineId, token);
  // Media may start once every transport is secure on both sides and every
  // subscriber's answer to the offer carrying the publisher was accepted.
  await Promise.all([publisher, ...subscribers].map((participant) => participant.waitConnected(STEP_MS)));
  await Promise.all(subscribers.map((subscriber) => subscriber.waitForUpdates(1, STEP_MS)));
  check(publisher.senderReady, 'publisher: its sender has no connected DTLS transport');
  const legs = subscribers.map((subscriber) => legOf(subscriber, publisher));
  const publisherRtxSsrc = publisher.transceiver.sender.rtxSsrc;
  legs.forEach((leg, i) => {
    check(leg.ssrc !== publisher.senderSsrc && leg.rtxSsrc !== publisherRtxSsrc,
      `${subscribers[i].name}: the leg reuses the publisher's SSRC`);
  });
  check(new Set(legs.map((leg) => leg.ssrc)).size === legs.length, 'two subscribers got the same leg SSRC');
  console.log(`line ${lineId}: publisher ${publisher.session.slice(0, 8)} SSRC ${publisher.senderSsrc} PT ${PUBLISHER.payloadType}; `
    + subscribers.map((subscriber, i) => `${subscriber.name} mid ${legs[i].mid} SSRC ${legs[i].ssrc} (RTX ${legs[i].rtxSsrc}) `
      + `PT ${legs[i].payloadType}/${legs[i].rtxPayloadType}`).join('; '));

  // ---- the known sequence ----
  const marks = subscribers.map((subscriber) => subscriber.received.length);
  const sent = [];
  const firstTimestamp = randomInt(2 ** 32);
  const started = performance.now();
  for (const { frame, packets } of planPackets(PACKETS)) {
    for (const packet of packets) {
      const out = await publisher.sendRtp({
        sequenceNumber: u16(FIRST_SEQUENCE_NUMBER + packet.index),
        timestamp: u32(firstTimestamp + frame * VP8_CLOCK_TICKS_PER_FRAME),
        marker: packet.marker,
        payload: packet.payload,
      });
      check(out.ssrc === publisher.senderSsrc, 'publisher: werift sent on another SSRC');
      sent.push({ ...packet, sequenceNumber: out.sequenceNumber, timestamp: out.timestamp,
        absSendTime: out.extensions[RTP_EXTENSION_URI.absSendTime] ?? null });
    }
    await delay(FRAME_INTERVAL_MS);  // pacing, not waiting for anything
  }
  const sendMs = performance.now() - started;
  const lastPayload = sent.at(-1).payload;
  await Promise.all(subscribers.map((subscriber, i) => waitForPacket(subscriber, marks[i],
    (packet) => packet.payload.equals(lastPayload)
      || (packet.payload.length === lastPayload.length + 2 && packet.payload.subarray(2).equals(lastPayload)),
    `the last packet sent (on SSRC ${legs[i].ssrc})`)));
  const streams = subscribers.map((subscriber, i) => verifyStream(subscriber, legs[i], sent,
    subscriber.received.slice(marks[i])));
  console.log(`sent ${sent.length} packets in ${sendMs.toFixed(0)} ms, publisher seq ${sent[0].sequenceNumber}..`
    + `${sent.at(-1).sequenceNumber}, ${sent.reduce((total, packet) => total + packet.payload.length, 0)} payload bytes; `
    + `publisher got ${publisher.plisReceived} PLI(s)`);
  subscribers.forEach((subscriber, i) => console.log(`${subscriber.name}: ${JSON.stringify(streams[i].figures)}`));

  // ---- NACKs ----
  // A recent packet: the server's cache answers it, as RTX.
  const cachedIndex = PACKETS - 3;
  // An old one: out of the cache, still in the leg's window; the publisher must be asked.
  const evictedIndex = 5;
  check(PACKETS - evictedIndex > SERVER_CACHE_PACKETS && PACKETS - evictedIndex < LEG_WINDOW_PACKETS,
    'the test constants no longer put the old NACK out of the cache but within the window');
  for (const [i, subscriber] of subscribers.entries()) {
    const { firstSequenceNumber } = streams[i];
    const retransmission = await nackFromCache(subscriber, legs[i], sent, streams[i], cachedIndex - i);
    console.log(`${subscriber.name}: NACK seq ${retransmission.legSequenceNumber} (payload #${retransmission.index}) `
      + `-> RTX SSRC ${retransmission.rtxSsrc} seq ${retransmission.rtxSequenceNumber}, ${retransmission.bytes} bytes, OSN and payload match`);
    // The server handles a subscriber's NACKs in order on its worker and
    // posts the misses to the publisher's worker in order: once the publisher
    // has this second NACK, one for the cached packet would have come first.
    const oldIndex = evictedIndex + i;
    await subscriber.sendNack(legs[i].mid, legs[i].ssrc, [u16(firstSequenceNumber + oldIndex)]);
    await waitFor(publisher, () => publisher.nacksReceived.some((nack) => nack.mediaSourceSsrc === publisher.senderSsrc
      && nack.lost.includes(sent[oldIndex].sequenceNumber)),
    `the publisher to be NACKed for its seq ${sent[oldIndex].sequenceNumber} (payload #${oldIndex}, out of the server's cache)`, 5000);
    console.log(`${subscriber.name}: NACK seq ${u16(firstSequenceNumber + oldIndex)} (payload #${oldIndex}, out of the cache) `
      + `-> the publisher was NACKed for its seq ${sent[oldIndex].sequenceNumber}`);
  }
  const cachedSourceSequenceNumbers = subscribers.map((_, i) => sent[cachedIndex - i].sequenceNumber);
  const askedOfPublisher = publisher.nacksReceived.flatMap((nack) => nack.lost);
  check(!cachedSourceSequenceNumbers.some((seq) => askedOfPublisher.includes(seq)),
    `the publisher was NACKed for a packet the server's cache held (seq ${cachedSourceSequenceNumbers.join(', ')}); `
    + `it got NACKs for ${askedOfPublisher.join(', ')}`);
  console.log(`publisher: ${publisher.nacksReceived.length} NACK(s) for seq ${askedOfPublisher.join(', ')}; `
    + `none for the cached ${cachedSourceSequenceNumbers.join(', ')}; updates offered to it: ${publisher.updates.length}`);
  for (const participant of [publisher, ...subscribers]) participant.throwIfFailed();
}

async function main() {
  const watchdog = setTimeout(() => {
    console.error(`FAIL: sfu_werift took over ${TEST_DEADLINE_MS} ms`);
    process.exit(1);
  }, TEST_DEADLINE_MS);
  const publisher = new WeriftParticipant('werift-pub', PUBLISHER);
  const subscribers = SUBSCRIBERS.map(([name, options]) => new WeriftParticipant(name, options));
  let status = 0;
  try {
    await run(publisher, subscribers);
    console.log('PASS: every subscriber got every payload exactly, and NACKs were answered from the cache');
  } catch (error) {
    const expected = error instanceof Failure || error instanceof RequestError;
    console.error(`FAIL: ${expected ? error.message : error.stack ?? error}`);
    status = 1;
  } finally {
    await Promise.all([publisher, ...subscribers].map((participant) => participant.close()));
    clearTimeout(watchdog);
  }
  process.exit(status);  // werift keeps timers and sockets alive after close
}

main();
