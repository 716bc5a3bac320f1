// e2e-test: lines_protocol_chromium
// Seed 003's "lines protocol" (/signaling/v1?token=JWT&force=..., the seed's
// usage examples) in Chromium, with a client written only from the seed's
// JavaScript snippets: sendMessage with transactions and its promise map,
// handleMessage with its `switch (data.event)`, outgoing_call (the offer
// sent first, pc.setLocalDescription(offer) after the request),
// handleIncomingCall (setRemoteDescription, createAnswer,
// setLocalDescription, then `accept`), ice_trickle from the icecandidate
// listener, hangup, and the keepalive every `keepalive_interval`. Changes
// to the snippets: getUserMedia asks for video too (so the colour can be
// checked), promises resolve with the whole response (so `ack` / `error`
// are seen), every message is recorded in arrival order, the PeerConnection
// keeps its remote tracks, the test, not the switch, decides when
// handleIncomingCall runs (so a call can be declined or left ringing), and
// the `hangup` case closes the PeerConnection once its setLocalDescription
// has settled (one applied to a closed PeerConnection never settles).
// Phones "1001" (red canvas camera, 440 Hz), "1002" (green, 660 Hz),
// "1003" (blue, 880 Hz), and a second connection of "1002" (yellow); JWTs
// (HS256) made here with lines_protocol.json's secret; ring timeout 5 s.
// The behaviour where the seed is silent is partyline's contract for the
// endpoint; every check compares the exact events, in order, per phone:
//   1. connect: the first message is the handshake state (lines [null, null],
//      registration "registered", numeric keepalive_interval); a keepalive
//      is answered {handshake: "keepalive", transaction}.
//   2. 1001 calls 1002: ack, calling, ringing; 1002 gets incoming_call
//      (number "1001", jsep offer), accepts (ack); 1001 gets accepted with
//      the answer for its own call_id; every ice_trickle is acked; within
//      20 s each page decodes > 30 frames of the other's colour and > 100
//      audio packets.
//   3. busy: 1003 calls 1002 meanwhile: calling, hangup 486 "Busy Here";
//      1001 and 1002 get nothing and keep decoding.
//   4. 1002 hangs up: hangingup 200, hangup 200 "to BYE"; 1001 hangup 200
//      "BYE". A second call, hung up by 1001: the mirror image.
//   5. decline (603), 6. cancel (487), 7. unreachable 1009 (480),
//   8. errors: outgoing_call on line 1 (501), number "abc" (400), an
//      unknown request (501), 9. ring timeout (408 / 487),
//   10. force: a second 1002 with force=false is closed with 4006 before
//      any message; with force=true it gets the handshake and the first is
//      closed with 4005; 1001's call then rings the new connection.
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py with lines_protocol.json); PARTYLINE_URL is the page.

import crypto from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { check, colourWithin, nearestColour, pollUntil, runHarnessTest } from './line_page.mjs';
import { differences, hs256Token } from './test_util.mjs';

const BASE = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const CONFIG = JSON.parse(await readFile(new URL('lines_protocol.json', import.meta.url), 'utf8'));
const JWT_SECRET = CONFIG.auth.jwt_secret;
const RING_TIMEOUT_MS = CONFIG.lines.ring_timeout_ms;
/** Page key -> the phone's user id (two pages are phone 1002). */
const PHONE_OF = { 1001: '1001', 1002: '1002', 1003: '1003', '1002again': '1002' };
const USERS = Object.keys(PHONE_OF);
const NAMES = { 1001: 'Phone 1001', 1002: 'Phone 1002', 1003: 'Phone 1003' };
const COLOURS = { 1001: [220, 40, 40], 1002: [40, 180, 40], 1003: [40, 70, 220], '1002again': [200, 200, 40] };
const TONES = { 1001: 440, 1002: 660, 1003: 880, '1002again': 1100 };
const STEP_MS = 10000;
const MEDIA_DEADLINE_MS = 20000;
const MIN_FRAMES = 30;
const MIN_AUDIO_PACKETS = 100;
const COLOUR_TOLERANCE = 60;

function makeToken(sub, name) {
  return hs256Token({ sub, name, exp: Math.floor(Date.now() / 1000) + 3600 }, JWT_SECRET);
}

/** ws://HOST/signaling/v1?token=...&force=... for user `sub`. */
function signalingUrl(sub, force) {
  const url = new URL('/signaling/v1', BASE);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('token', makeToken(sub, NAMES[sub]));
  url.searchParams.set('force', String(force));
  return url.toString();
}

// ---------------------------------------------------------------- in the page

/**
 * Evaluated in each page: the seed's client (its globals in this closure),
 * reachable from the test as `window.seed`; `window.seedLog` is what it saw.
 */
function seedClientIn() {
  let socket = null;
  let connection = 0; // which socket of this page a record belongs to
  const messagePromises = new Map(); // Stores Promises for message acknowledgments
  let transactionCounter = 0;
  let keepaliveInterval = null;
  let handshake = null;
  let pc = null; // the call's PeerConnection, outgoing or incoming
  let call_id = null; // its call_id (ours when calling, the server's when called)
  let remote = {}; // the call's remote tracks by kind
  let localDescriptionSet = Promise.resolve(); // the call's last setLocalDescription, settled
  const log = {
    received: [], // { connection, at, data }: every message in arrival order
    sent: [], // { connection, at, message } (with its transaction)
    closes: [], // { connection, at, code, reason }
    incoming: [], // incoming_call events not yet handled
    keepalives: [], // the timer's keepalives: { transaction, response }
    errors: [],
  };
  window.seedLog = log;

  async function handleMessage(event) {
    const data = JSON.parse(event.data);
    if (data.transaction != null && messagePromises.has(data.transaction)) {
      const { resolve } = messagePromises.get(data.transaction);
      resolve(data); // the seed resolves data.payload; the test wants the whole response
      messagePromises.delete(data.transaction);
      return;
    }
    if (data.handshake === 'state') {
      handshake = data;
      clearInterval(keepaliveInterval);
      keepaliveInterval = setInterval(async function () {
        const promise = sendMessage({ handshake: 'keepalive' });
        const { transaction } = log.sent[log.sent.length - 1].message;
        const response = await promise;
        log.keepalives.push({ transaction, response }); // { handshake: "keepalive", transaction: "transaction-0" }
      }, handshake.keepalive_interval);
      return;
    }
    try {
      switch (data.event) {
        case 'calling':
          console.log('Call is being established', data.call_id);
          break;
        case 'ringing':
          console.log('Call is ringing', data.call_id);
          break;
        case 'accepted': {
          console.log('Call is accepted', data.call_id);
          const answer = new RTCSessionDescription(data.jsep);
          await pc.setRemoteDescription(answer);
          break;
        }
        case 'hangingup':
          console.log('Call is being hung up', data.call_id, data.code);
          break;
        case 'hangup':
          console.log('Call was ended', data.call_id, data.code, data.reason);
          // Clean up resources, close PeerConnection, etc.
          if (pc && data.call_id === call_id) {
            // Closed once its setLocalDescription is done: a description
            // applied to a closed PeerConnection never settles (a 480 or
            // 486 comes right after "calling", before the offer is applied).
            const ended = pc;
            localDescriptionSet.finally(() => ended.close());
            pc = null;
            call_id = null;
          }
          log.incoming = log.incoming.filter((incoming) => incoming.call_id !== data.call_id);
          break;
        case 'incoming_call':
          console.log('Incoming call received', data.call_id, data.number);
          log.incoming.push(data); // handleIncomingCall(data) when the test answers
          break;
        default:
          break;
      }
    } catch (error) {
      log.errors.push(`${data.event}: ${error.message}`);
    }
  }

  function sendMessage(message) {
    return new Promise((resolve, reject) => {
      const transaction = `transaction-${transactionCounter++}`;
      const messageWithId = { ...message, transaction };
      messagePromises.set(transaction, { resolve, reject });
      log.sent.push({ connection, at: performance.now(), message: messageWithId });
      socket.send(JSON.stringify(messageWithId));
    });
  }

  /** sendMessage, for the test: the transaction used and the response (null if none within 10 s). */
  async function request(message) {
    const promise = sendMessage(message);
    const { transaction } = log.sent[log.sent.length - 1].message;
    const timeout = new Promise((resolve) => { setTimeout(() => resolve(null), 10000); });
    return { transaction, response: await Promise.race([promise, timeout]) };
  }

  function connect(url) {
    connection += 1;
    const mine = connection;
    handshake = null;
    clearInterval(keepaliveInterval);
    socket = new WebSocket(url);
    socket.addEventListener('message', (event) => {
      log.received.push({ connection: mine, at: performance.now(), data: JSON.parse(event.data) });
      if (mine === connection) handleMessage(event);
    });
    socket.addEventListener('close', (event) => {
      log.closes.push({ connection: mine, at: performance.now(), code: event.code, reason: event.reason });
      if (mine === connection) clearInterval(keepaliveInterval);
    });
    return mine;
  }

  function keepTracks(peer) {
    remote = {};
    peer.addEventListener('track', (event) => { remote[event.track.kind] = event.track; });
  }

  async function outgoingCall(number, id) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    pc = new RTCPeerConnection();
    keepTracks(pc);
    stream.getTracks().forEach((track) => pc.addTrack(track, stream));
    const offer = await pc.createOffer();
    pc.addEventListener('icecandidate', (event) => {
      if (event.candidate) {
        sendMessage({
          request: 'ice_trickle',
          line: 0,
          candidate: event.candidate,
        });
      }
    });
    call_id = id;
    const response = await request({
      request: 'outgoing_call',
      line: 0,
      call_id,
      number,
      jsep: offer,
    });
    localDescriptionSet = pc.setLocalDescription(offer).catch(() => {});
    await localDescriptionSet;
    return response;
  }

  async function handleIncomingCall(data) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    pc = new RTCPeerConnection();
    call_id = data.call_id;
    keepTracks(pc);
    stream.getTracks().forEach((track) => pc.addTrack(track, stream));
    pc.addEventListener('icecandidate', (event) => {
      if (event.candidate) {
        sendMessage({
          request: 'ice_trickle',
          line: data.line,
          candidate: event.candidate,
          call_id: data.call_id,
        });
      }
    });
    await pc.setRemoteDescription(new RTCSessionDescription(data.jsep));
    const answer = await pc.createAnswer();
    localDescriptionSet = pc.setLocalDescription(answer).catch(() => {});
    await localDescriptionSet;
    return request({
      request: 'accept',
      line: data.line,
      call_id: data.call_id,
      jsep: answer,
    });
  }

  /** The test answers the incoming call `id`. */
  async function answer(id) {
    const data = log.incoming.find((incoming) => incoming.call_id === id);
    if (!data) throw new Error(`no incoming call ${id}`);
    log.incoming = log.incoming.filter((incoming) => incoming !== data);
    return handleIncomingCall(data);
  }

  function hangup(line, id) {
    return request({ request: 'hangup', line, call_id: id });
  }

  /** An offer with camera and microphone, for requests that should be refused. */
  async function anOffer() {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    const peer = new RTCPeerConnection();
    stream.getTracks().forEach((track) => peer.addTrack(track, stream));
    const offer = await peer.createOffer();
    peer.close();
    stream.getTracks().forEach((track) => track.stop());
    return { type: offer.type, sdp: offer.sdp };
  }

  /** What the current call's PeerConnection receives. */
  async function media() {
    const figures = { state: pc?.connectionState ?? 'no call', frames: 0, audio: 0, colour: null };
    if (!pc) return figures;
    if (remote.video) figures.colour = window.trackColour(remote.video);
    for (const entry of (await pc.getStats()).values()) {
      if (entry.type === 'inbound-rtp' && entry.kind === 'video') figures.frames += entry.framesDecoded ?? 0;
      if (entry.type === 'inbound-rtp' && entry.kind === 'audio') figures.audio += entry.packetsReceived ?? 0;
    }
    return figures;
  }

  window.seed = {
    connect, request, outgoingCall, answer, hangup, anOffer, media,
    connection: () => connection,
  };
}

// ---------------------------------------------------------------- in Node

const callIds = { count: 0 };
function newCallId(caller) {
  callIds.count += 1;
  return `${caller}-${crypto.randomBytes(6).toString('hex')}-${callIds.count}`;
}


const isString = (value) => typeof value === 'string' && value.length > 0;
// The server's own SDP (media through the SFU, never the other browser's
// relayed): its senders on the phone's m-lines carry the stream id
// "partyline-peer" (docs/compat.md, seed 003, Media).
const isSdp = (type) => ({
  type,
  sdp: (sdp) => typeof sdp === 'string' && sdp.startsWith('v=0') && sdp.includes('a=msid:partyline-peer '),
});

/** One message for the log: SDPs shortened. */
function brief(data) {
  return JSON.stringify(data, (key, value) => (key === 'sdp' && typeof value === 'string' ? `<${value.length} bytes>` : value));
}

// The matchers of the spec's events.
const calling = (callId) => ({ event: 'calling', line: 0, call_id: callId });
const ringing = (callId) => ({ event: 'ringing', line: 0, call_id: callId });
const accepted = (callId) => ({ event: 'accepted', line: 0, call_id: callId, jsep: isSdp('answer') });
const incomingCall = (from) => ({
  event: 'incoming_call', line: 0, call_id: isString, number: from, display_name: NAMES[from], jsep: isSdp('offer'),
});
const hangingup = (callId, code) => ({ event: 'hangingup', line: 0, call_id: callId, code });
const hangup = (callId, code, reason) => ({ event: 'hangup', line: 0, call_id: callId, code, reason });

async function run(pages) {
  const readLog = (who) => pages[who].evaluate(() => ({
    ...JSON.parse(JSON.stringify(window.seedLog)), connection: window.seed.connection(),
  }));
  const mark = async (who) => (await pages[who].evaluate(() => window.seedLog.received.length));
  const eventsSince = async (who, from) => (await pages[who].evaluate((start) => window.seedLog.received.slice(start)
    .map((entry) => ({ at: entry.at, data: entry.data })), from)).filter((entry) => entry.data.event !== undefined);

  /** A keepalive's round trip on `who`'s connection: what the server queued before it has arrived. */
  const roundTrip = async (who) => {
    const { transaction, response } = await pages[who].evaluate(() => window.seed.request({ handshake: 'keepalive' }));
    check(response?.handshake === 'keepalive' && response.transaction === transaction,
      `${who}: keepalive ${transaction} answered ${brief(response)}`);
  };

  /**
   * Waits until `who` got as many events since `from` as `wanted` lists,
   * checks them one by one in order, and (with `quiet`, after a keepalive
   * round trip) that nothing more came. Returns the events' data.
   */
  const expectEvents = async (who, from, wanted, { timeoutMs = STEP_MS, quiet = true } = {}) => {
    const { value } = await pollUntil(`${who}'s events`, () => eventsSince(who, from),
      (events) => (events.length >= wanted.length ? []
        : [`${events.length} of ${wanted.length}: got ${events.map((entry) => brief(entry.data)).join(', ') || 'none'}`]),
      { timeoutMs });
    wanted.forEach((expected, index) => {
      const found = differences(value[index].data, expected);
      check(found.length === 0, `${who}'s event ${index + 1} should be ${expected.event}: ${found.join('; ')} `
        + `(events: ${value.map((entry) => brief(entry.data)).join(', ')})`);
    });
    let events = value.slice(0, wanted.length);
    if (quiet) {
      await roundTrip(who);
      events = await eventsSince(who, from);
    }
    check(events.length === wanted.length,
      `${who} got more events than ${wanted.map((expected) => expected.event).join(', ')}: `
      + `${events.slice(wanted.length).map((entry) => brief(entry.data)).join(', ')}`);
    console.log(`    ${who}: ${events.map((entry) => [entry.data.event, entry.data.code, entry.data.reason]
      .filter((part) => part !== undefined).join(' ')).join(', ') || 'no event'}`);
    return events.map((entry) => entry.data);
  };

  const expectAck = (who, what, { transaction, response }, line = 0) => {
    check(response !== null, `${who}: ${what} (${transaction}) got no response`);
    const found = differences(response, { response: 'ack', transaction, line });
    check(found.length === 0, `${who}: ${what} should be acknowledged: ${found.join('; ')} (${brief(response)})`);
  };
  const expectError = (who, what, { transaction, response }, code, line) => {
    check(response !== null, `${who}: ${what} (${transaction}) got no response`);
    const wanted = { response: 'error', transaction, code, reason: (reason) => typeof reason === 'string' };
    if (line !== undefined) wanted.line = line;
    const found = differences(response, wanted);
    check(found.length === 0, `${who}: ${what} should be refused with ${code}: ${found.join('; ')} (${brief(response)})`);
    console.log(`    ${who}: ${what}: error ${response.code} ${JSON.stringify(response.reason)}`);
  };

  /** Connects page `who` as its phone; the handshake state must be the first message. */
  const connect = async (who, force) => {
    const from = await mark(who);
    const connection = await pages[who].evaluate((url) => window.seed.connect(url), signalingUrl(PHONE_OF[who], force));
    const { value } = await pollUntil(`${who}'s handshake state`,
      () => pages[who].evaluate(({ start, number }) => window.seedLog.received.slice(start)
        .filter((entry) => entry.connection === number).map((entry) => entry.data), { start: from, number: connection }),
      (messages) => (messages.length > 0 ? [] : ['no message']), { timeoutMs: STEP_MS });
    const found = differences(value[0], {
      handshake: 'state', lines: [null, null], registration: { status: 'registered' },
      keepalive_interval: (ms) => Number.isFinite(ms) && ms > 0, timestamp: Number.isFinite,
    });
    check(found.length === 0, `${who} (${PHONE_OF[who]}, force=${force}): the first message should be the handshake `
      + `state: ${found.join('; ')} (${brief(value[0])})`);
    // A registered phone gets nothing else after it (no registering events).
    await roundTrip(who);
    const events = (await eventsSince(who, from));
    check(events.length === 0, `${who}: events after the handshake: ${events.map((entry) => brief(entry.data)).join(', ')}`);
    console.log(`    ${who}: handshake state, registered, keepalive_interval ${value[0].keepalive_interval} ms`);
    return { connection, handshake: value[0] };
  };

  /** `caller` calls `number`, and page `callee` (if any) gets the incoming call. */
  const ring = async (caller, number, callee) => {
    const callId = newCallId(caller);
    const marks = { caller: await mark(caller), callee: callee ? await mark(callee) : null };
    const sent = await pages[caller].evaluate(({ to, id }) => window.seed.outgoingCall(to, id), { to: number, id: callId });
    expectAck(caller, `outgoing_call to ${number}`, sent);
    // "calling" comes right after the ack.
    const isCalling = (entry) => entry.data.event === 'calling' && entry.data.call_id === callId;
    const { value: log } = await pollUntil(`${caller}'s "calling"`, () => readLog(caller),
      (found) => (found.received.some(isCalling) ? [] : ['no "calling" event']), { timeoutMs: STEP_MS });
    const ackAt = log.received.findIndex((entry) => entry.data.transaction === sent.transaction);
    check(ackAt !== -1 && ackAt < log.received.findIndex(isCalling),
      `${caller}: "calling" came before the ack of outgoing_call`);
    if (!callee) return { callId, marks, sent };
    await expectEvents(caller, marks.caller, [calling(callId), ringing(callId)], { quiet: false });
    const [incoming] = await expectEvents(callee, marks.callee, [incomingCall(PHONE_OF[caller])], { quiet: false });
    return { callId, incomingId: incoming.call_id, marks, sent };
  };

  /** Waits until `who` decodes > MIN_FRAMES more frames of `other`'s colour and > MIN_AUDIO_PACKETS more packets. */
  const expectMedia = async (who, other, before = { frames: 0, audio: 0 }) => {
    const { value, elapsedMs } = await pollUntil(`${who} receives ${other}`, () => pages[who].evaluate(() => window.seed.media()),
      (figures) => {
        const lacking = [];
        if (figures.state !== 'connected') lacking.push(`connection ${figures.state}`);
        if (!(figures.frames - before.frames > MIN_FRAMES)) lacking.push(`${figures.frames - before.frames} frames`);
        if (!(figures.audio - before.audio > MIN_AUDIO_PACKETS)) lacking.push(`${figures.audio - before.audio} audio packets`);
        if (!colourWithin(figures.colour, COLOURS[other], COLOUR_TOLERANCE) || nearestColour(figures.colour, COLOURS) !== other) {
          lacking.push(`colour ${JSON.stringify(figures.colour)} is not ${other}'s ${JSON.stringify(COLOURS[other])}`);
        }
        return lacking;
      }, { timeoutMs: MEDIA_DEADLINE_MS });
    console.log(`    ${who} <- ${other}: ${value.frames} frames of ${JSON.stringify(value.colour)}, `
      + `${value.audio} audio packets (${elapsedMs} ms)`);
    return value;
  };

  /** Every ice_trickle `who` sent on its current connection was acknowledged (at least one was sent). */
  const expectTricklesAcked = async (who) => {
    const { value } = await pollUntil(`${who}'s ice_trickle responses`, () => readLog(who), (log) => {
      const number = log.connection;
      const trickles = log.sent.filter((entry) => entry.connection === number && entry.message.request === 'ice_trickle');
      if (trickles.length === 0) return ['no ice_trickle sent'];
      const answered = trickles.map((entry) => log.received.find((got) => got.data.transaction === entry.message.transaction));
      const missing = answered.filter((got) => !got).length;
      return missing > 0 ? [`${missing} of ${trickles.length} unanswered`] : [];
    }, { timeoutMs: STEP_MS });
    const number = value.connection;
    const trickles = value.sent.filter((entry) => entry.connection === number && entry.message.request === 'ice_trickle');
    for (const entry of trickles) {
      const response = value.received.find((got) => got.data.transaction === entry.message.transaction).data;
      const found = differences(response, { response: 'ack', line: entry.message.line });
      check(found.length === 0, `${who}: ice_trickle ${brief(entry.message.candidate)} should be acked: `
        + `${found.join('; ')} (${brief(response)})`);
    }
    console.log(`    ${who}: ${trickles.length} ice_trickle requests, all acked`);
  };

  /** A call from `caller` to `callee`, accepted, with media both ways. */
  const establish = async (caller, callee) => {
    const call = await ring(caller, PHONE_OF[callee], callee);
    const accept = await pages[callee].evaluate((id) => window.seed.answer(id), call.incomingId);
    expectAck(callee, 'accept', accept);
    await expectEvents(caller, call.marks.caller, [calling(call.callId), ringing(call.callId), accepted(call.callId)]);
    // The callee gets no "accepted" event: the ack of its accept says it.
    await expectEvents(callee, call.marks.callee, [incomingCall(PHONE_OF[caller])]);
    return call;
  };

  // 1. The phones connect.
  console.log('1. connect');
  for (const who of ['1001', '1002', '1003']) await connect(who, false);

  // 2. 1001 calls 1002.
  console.log('2. 1001 calls 1002');
  const first = await establish('1001', '1002');
  for (const who of ['1001', '1002']) await expectTricklesAcked(who);
  const before = { 1001: await expectMedia('1001', '1002'), 1002: await expectMedia('1002', '1001') };

  // 3. Busy: 1003 calls 1002 while it is in the call.
  console.log('3. busy');
  const busyMarks = { 1001: await mark('1001'), 1002: await mark('1002') };
  const busy = await ring('1003', '1002', null);
  await expectEvents('1003', busy.marks.caller, [calling(busy.callId), hangup(busy.callId, 486, 'Busy Here')]);
  for (const who of ['1002', '1001']) await expectEvents(who, busyMarks[who], []);
  await expectMedia('1001', '1002', before['1001']);
  await expectMedia('1002', '1001', before['1002']);

  // 4. Hang-ups of an established call, by the callee then by the caller.
  console.log('4. hang-ups');
  let marks = { 1001: await mark('1001'), 1002: await mark('1002') };
  expectAck('1002', 'hangup', await pages['1002'].evaluate((id) => window.seed.hangup(0, id), first.incomingId));
  await expectEvents('1002', marks['1002'], [hangingup(first.incomingId, 200), hangup(first.incomingId, 200, 'to BYE')]);
  await expectEvents('1001', marks['1001'], [hangup(first.callId, 200, 'BYE')]);
  const second = await establish('1001', '1002');
  for (const who of ['1001', '1002']) {
    await pollUntil(`${who}'s second call connected`, () => pages[who].evaluate(() => window.seed.media()),
      (figures) => (figures.state === 'connected' ? [] : [`connection ${figures.state}`]), { timeoutMs: MEDIA_DEADLINE_MS });
  }
  marks = { 1001: await mark('1001'), 1002: await mark('1002') };
  expectAck('1001', 'hangup', await pages['1001'].evaluate((id) => window.seed.hangup(0, id), second.callId));
  await expectEvents('1001', marks['1001'], [hangingup(second.callId, 200), hangup(second.callId, 200, 'to BYE')]);
  await expectEvents('1002', marks['1002'], [hangup(second.incomingId, 200, 'BYE')]);

  // 5. Decline: 1002 hangs up the ringing call.
  console.log('5. decline');
  const declined = await ring('1001', '1002', '1002');
  expectAck('1002', 'hangup', await pages['1002'].evaluate((id) => window.seed.hangup(0, id), declined.incomingId));
  await expectEvents('1002', declined.marks.callee, [incomingCall('1001'), hangingup(declined.incomingId, 603),
    hangup(declined.incomingId, 603, 'to Decline')]);
  await expectEvents('1001', declined.marks.caller, [calling(declined.callId), ringing(declined.callId),
    hangup(declined.callId, 603, 'Decline')]);

  // 6. Cancel: 1001 hangs up while it rings.
  console.log('6. cancel');
  const cancelled = await ring('1001', '1002', '1002');
  expectAck('1001', 'hangup', await pages['1001'].evaluate((id) => window.seed.hangup(0, id), cancelled.callId));
  await expectEvents('1001', cancelled.marks.caller, [calling(cancelled.callId), ringing(cancelled.callId),
    hangingup(cancelled.callId, 487), hangup(cancelled.callId, 487, 'to CANCEL')]);
  await expectEvents('1002', cancelled.marks.callee, [incomingCall('1001'),
    hangup(cancelled.incomingId, 487, 'Request Terminated')]);

  // 7. Unreachable: nobody is 1009.
  console.log('7. unreachable');
  const unreachable = await ring('1001', '1009', null);
  await expectEvents('1001', unreachable.marks.caller, [calling(unreachable.callId),
    hangup(unreachable.callId, 480, 'Temporarily Unavailable')]);

  // 8. Refused requests: nothing but the error response.
  console.log('8. errors');
  const errorMark = await mark('1001');
  const offer = await pages['1001'].evaluate(() => window.seed.anOffer());
  const request = (message) => pages['1001'].evaluate((body) => window.seed.request(body), message);
  expectError('1001', 'outgoing_call on line 1', await request({
    request: 'outgoing_call', line: 1, call_id: newCallId('1001'), number: '1002', jsep: offer,
  }), 501, 1);
  expectError('1001', 'outgoing_call to "abc"', await request({
    request: 'outgoing_call', line: 0, call_id: newCallId('1001'), number: 'abc', jsep: offer,
  }), 400, 0);
  expectError('1001', 'an unknown request', await request({ request: 'make_coffee', line: 0 }), 501, 0);
  await expectEvents('1001', errorMark, []);

  // 9. Ring timeout: nobody answers.
  console.log('9. ring timeout');
  const unanswered = await ring('1001', '1002', '1002');
  const timedOut = await eventsSince('1001', unanswered.marks.caller);
  const callingAt = timedOut[0].at;
  await expectEvents('1001', unanswered.marks.caller, [calling(unanswered.callId), ringing(unanswered.callId),
    hangup(unanswered.callId, 408, 'Request Timeout')], { timeoutMs: RING_TIMEOUT_MS + STEP_MS });
  await expectEvents('1002', unanswered.marks.callee, [incomingCall('1001'),
    hangup(unanswered.incomingId, 487, 'Request Terminated')]);
  const endedAt = (await eventsSince('1001', unanswered.marks.caller))[2].at;
  check(endedAt - callingAt >= RING_TIMEOUT_MS * 0.8,
    `1001's call timed out ${Math.round(endedAt - callingAt)} ms after "calling", before the ring timeout of ${RING_TIMEOUT_MS} ms`);
  console.log(`    the call timed out ${Math.round(endedAt - callingAt)} ms after "calling" (ring timeout ${RING_TIMEOUT_MS} ms)`);

  // 10. force: a second connection of 1002.
  console.log('10. force');
  const refusedMark = await mark('1002again');
  const refused = await pages['1002again'].evaluate((url) => window.seed.connect(url), signalingUrl('1002', false));
  const { value: closes } = await pollUntil('the force=false connection closes',
    () => pages['1002again'].evaluate((number) => window.seedLog.closes.filter((entry) => entry.connection === number), refused),
    (found) => (found.length > 0 ? [] : ['still open']), { timeoutMs: STEP_MS });
  check(closes[0].code === 4006, `1002 with force=false while connected should be closed with 4006: ${brief(closes[0])}`);
  const leaked = (await readLog('1002again')).received.slice(refusedMark);
  check(leaked.length === 0, `1002 with force=false got messages before its close: ${leaked.map((entry) => brief(entry.data)).join(', ')}`);
  console.log(`    force=false: closed with ${closes[0].code} ${JSON.stringify(closes[0].reason)}, no message`);
  await roundTrip('1002'); // the first connection is still served
  const oldClosesBefore = (await readLog('1002')).closes.length;
  check(oldClosesBefore === 0, `1002's first connection closed: ${brief((await readLog('1002')).closes)}`);
  await connect('1002again', true);
  const { value: oldCloses } = await pollUntil('1002\'s first connection closes',
    () => pages['1002'].evaluate(() => window.seedLog.closes), (found) => (found.length > 0 ? [] : ['still open']),
    { timeoutMs: STEP_MS });
  check(oldCloses[0].code === 4005, `1002's first connection should be closed with 4005: ${brief(oldCloses[0])}`);
  console.log(`    force=true: handshake state; the first connection closed with ${oldCloses[0].code} ${JSON.stringify(oldCloses[0].reason)}`);
  const oldMark = await mark('1002');
  const third = await establish('1001', '1002again');
  await expectMedia('1001', '1002again');
  await expectMedia('1002again', '1001');
  marks = { 1001: await mark('1001'), '1002again': await mark('1002again') };
  expectAck('1001', 'hangup', await pages['1001'].evaluate((id) => window.seed.hangup(0, id), third.callId));
  await expectEvents('1001', marks['1001'], [hangingup(third.callId, 200), hangup(third.callId, 200, 'to BYE')]);
  await expectEvents('1002again', marks['1002again'], [hangup(third.incomingId, 200, 'BYE')]);
  const oldAfter = (await readLog('1002')).received.slice(oldMark);
  check(oldAfter.length === 0, `1002's closed connection got messages: ${oldAfter.map((entry) => brief(entry.data)).join(', ')}`);

  // Throughout: the keepalive timer's keepalives were answered, and nothing failed in the pages.
  for (const who of USERS) {
    const log = await readLog(who);
    check(log.errors.length === 0, `${who}: the client failed: ${log.errors.join(' | ')}`);
    const wrong = log.keepalives.filter(({ transaction, response }) => response?.handshake !== 'keepalive'
      || response.transaction !== transaction);
    check(wrong.length === 0, `${who}: keepalives answered wrongly: ${brief(wrong)}`);
    const unexpectedCloses = log.closes.filter((entry) => !(who === '1002' && entry.code === 4005)
      && !(who === '1002again' && entry.connection === refused));
    check(unexpectedCloses.length === 0, `${who}: connections closed: ${brief(unexpectedCloses)}`);
    console.log(`    ${who}: ${log.keepalives.length} timer keepalives answered, ${log.received.length} messages in all`);
  }
}

/** On failure: each page's last messages and closes. */
async function onFailure(pages) {
  for (const [who, page] of Object.entries(pages)) {
    const log = await page.evaluate(() => window.seedLog && JSON.parse(JSON.stringify(window.seedLog))).catch(() => null);
    if (!log) continue;
    console.log(`--- ${who}: last messages (of ${log.received.length}), closes ${brief(log.closes)}, errors ${brief(log.errors)}`);
    for (const entry of log.received.slice(-15)) console.log(`    #${entry.connection} ${Math.round(entry.at)} ${brief(entry.data)}`);
  }
}

process.exitCode = await runHarnessTest({
  users: USERS, pageUrl: BASE, colours: COLOURS, tones: TONES, onFailure,
  run: async (pages) => {
    for (const page of Object.values(pages)) await page.evaluate(seedClientIn);
    await run(pages);
  },
  passMessage: 'seed 003 lines protocol in Chromium: handshake, keepalive, calls with media by colour, busy, '
    + 'hang-ups (200, 603, 487), unreachable, errors, ring timeout, force',
});
