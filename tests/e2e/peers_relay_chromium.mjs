// e2e-test: peers_relay_chromium
// Seed 002 (Algorea's connected-peers relay) on partyline's `/peers`
// endpoint, in Chromium, with a client written only from the seed's client
// workflow and pseudo-code: on `connected-peers` one RTCPeerConnection per
// peer id, each with an RTCDataChannel "chat" (the channel this peer sends
// from), a 'datachannel' listener (the channels it receives on), an
// 'icecandidate' listener forwarding candidates (`forward-icecandidate`),
// then createOffer / setLocalDescription / `forward-offer`; on `offer`: a
// connection and its "chat" channel likewise, setRemoteDescription,
// createAnswer, setLocalDescription, `forward-answer`; on `answer`:
// setRemoteDescription; on `icecandidate`: addIceCandidate. Data-only
// peers: no getUserMedia anywhere. Changes to the seed's client: every
// message is recorded, what arrives on the received channels is recorded
// with the peer id of its connection, a null candidate (end of gathering)
// is not forwarded (it is no RTCIceCandidate), and the test decides what is
// said on the channels. Where the seed is silent, partyline's contract for
// the endpoint decides (anonymous guests, one room, errors). The checks:
//   1. A connects: its first message is exactly {type: "connected-peers",
//      peerIds: []}. B connects: connected-peers names one peer (A, a UUID).
//   2. B offers A: A gets B's offer unchanged with B's id as fromPeerId,
//      answers; B gets A's answer unchanged with A's id as fromPeerId; every
//      candidate each sent reaches the other unchanged, in order. Once both
//      "chat" channels are open, "hello from B" sent on B's channel arrives
//      at A on the channel A got from 'datachannel' (B's connection), and
//      A's reply arrives at B likewise. A and B get nothing else.
//   3. C connects: connected-peers lists exactly A's and B's ids (two,
//      distinct, not C's own, which A and B both learn from C's offers);
//      C connects to both, and chat messages flow C<->A and C<->B.
//   4. Errors on A's socket, each answered with exactly the contract's
//      error and nothing else: forward-offer / forward-answer /
//      forward-icecandidate to an unknown id ({type, action, toPeerId,
//      message "peer <id> is not connected"}), malformed JSON, a JSON array,
//      no action, a non-string action ({type, message}), an unknown action,
//      no toPeerId, no payload ({type, action, message}); B gets nothing from
//      them. Then forwards still relay: candidates with a forged
//      "fromPeerId" reach B and C unchanged, with A's real id, and A gets
//      nothing back for them; A's socket stays open.
//   5. B leaves (its socket closed, then its page): a forward-offer from A
//      and a forward-answer from C to B's id get the not-connected error,
//      and A and C got no other message about it; D's connected-peers lists
//      exactly A and C; A's and C's connections to B end (a channel closed,
//      or connectionState failed / disconnected / closed) within 20 s.
//   Throughout: no error in the seed clients or the pages, no other
//   `error` message, no socket closed but B's.
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py with peers_relay.json); PARTYLINE_URL is the page, the
// WebSocket is ws://same-host/peers. The test itself can be checked
// without the server: `run_e2e.sh --binary tests/e2e/mock_peers_relay.mjs
// peers_relay_chromium` (the contract in a small mock; MOCK_BUG=... breaks
// one rule of it, and the test should fail).

import crypto from 'node:crypto';
import { chromium } from 'playwright-core';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from './chromium.mjs';
import { Failure, check, pollUntil } from './line_page.mjs';
import { canonical } from './test_util.mjs';

const BASE = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const PEERS_URL = (() => {
  const url = new URL('/peers', BASE);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
})();
const STEP_MS = 10000;
const CHAT_MS = 20000;
const END_MS = 20000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ---------------------------------------------------------------- in the page

/**
 * Evaluated in each page: the seed's client (its state in this closure),
 * reachable from the test as `window.seed`; `window.seedLog` is what it saw.
 */
function seedClientIn() {
  let socket = null;
  const connections = {}; // peer id -> RTCPeerConnection
  const chatChannels = {}; // peer id -> the "chat" channel this peer sends from
  const receivedChannels = {}; // peer id -> the channels got from 'datachannel'
  const log = {
    received: [], // { at, data } (data null when it was not JSON: then raw)
    sent: [], // { at, message } (message as the server got it, parsed; raw for raw sends)
    closes: [], // { at, code, reason }
    chat: [], // { at, peerId, label, data }: what arrived on the received channels
    channels: [], // { at, peerId, event, label }
    states: [], // { at, peerId, state }
    errors: [],
  };
  window.seedLog = log;

  function send(message) {
    const text = JSON.stringify(message);
    log.sent.push({ at: performance.now(), message: JSON.parse(text) });
    socket.send(text);
  }

  // The seed's "RTC peer connection creation".
  function createConnection(peerId) {
    const connection = new RTCPeerConnection();
    connections[peerId] = connection;
    const channel = connection.createDataChannel('chat');
    chatChannels[peerId] = channel;
    channel.addEventListener('close', () => {
      log.channels.push({ at: performance.now(), peerId, event: 'own channel closed', label: channel.label });
    });
    connection.addEventListener('datachannel', (event) => {
      const received = event.channel;
      (receivedChannels[peerId] ??= []).push(received);
      log.channels.push({ at: performance.now(), peerId, event: 'datachannel', label: received.label });
      received.addEventListener('message', (message) => {
        log.chat.push({ at: performance.now(), peerId, label: received.label, data: message.data });
      });
      received.addEventListener('close', () => {
        log.channels.push({ at: performance.now(), peerId, event: 'received channel closed', label: received.label });
      });
    });
    connection.addEventListener('icecandidate', (event) => {
      if (event.candidate) {
        send({ action: 'forward-icecandidate', candidate: event.candidate, toPeerId: peerId });
      }
    });
    connection.addEventListener('connectionstatechange', () => {
      log.states.push({ at: performance.now(), peerId, state: connection.connectionState });
    });
    return connection;
  }

  async function handleMessage(message) {
    try {
      switch (message.type) {
        case 'connected-peers':
          await Promise.all(message.peerIds.map(async (peerId) => {
            const connection = createConnection(peerId);
            const offer = await connection.createOffer();
            await connection.setLocalDescription(offer);
            send({ action: 'forward-offer', offer, toPeerId: peerId });
          }));
          break;
        case 'offer': {
          const connection = createConnection(message.fromPeerId);
          await connection.setRemoteDescription(message.offer);
          const answer = await connection.createAnswer();
          await connection.setLocalDescription(answer);
          send({ action: 'forward-answer', answer, toPeerId: message.fromPeerId });
          break;
        }
        case 'answer':
          await connections[message.fromPeerId].setRemoteDescription(message.answer);
          break;
        case 'icecandidate':
          await connections[message.fromPeerId].addIceCandidate(message.candidate);
          break;
        default:
          break; // errors: recorded, the test reads them
      }
    } catch (error) {
      log.errors.push(`${message.type} from ${message.fromPeerId}: ${error.message}`);
    }
  }

  function connect(url) {
    socket = new WebSocket(url);
    socket.addEventListener('message', (event) => {
      let data = null;
      try {
        data = JSON.parse(event.data);
      } catch (error) {
        log.errors.push(`not JSON from the server: ${String(event.data).slice(0, 200)}`);
      }
      log.received.push({ at: performance.now(), data, ...(data === null ? { raw: String(event.data) } : {}) });
      if (data !== null) handleMessage(data);
    });
    socket.addEventListener('close', (event) => {
      log.closes.push({ at: performance.now(), code: event.code, reason: event.reason });
    });
  }

  /** The test's own messages on the seed's socket: an object (as JSON) or raw text. */
  function sendRaw(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      message = { raw: text };
    }
    log.sent.push({ at: performance.now(), message });
    socket.send(text);
  }

  /** Sends `text` on the "chat" channel to `peerId`. */
  function say(peerId, text) {
    chatChannels[peerId].send(text);
  }

  /** Per peer: connectionState, our channel's readyState, the received channels' labels and readyStates. */
  function channels() {
    const state = {};
    for (const [peerId, connection] of Object.entries(connections)) {
      state[peerId] = {
        connection: connection.connectionState,
        gathering: connection.iceGatheringState,
        own: chatChannels[peerId]?.readyState ?? null,
        received: (receivedChannels[peerId] ?? []).map((channel) => ({ label: channel.label, state: channel.readyState })),
      };
    }
    return state;
  }

  /** Closes the socket; resolves true once its close event came, false if none within `timeoutMs`. */
  function leave(timeoutMs) {
    return new Promise((resolve) => {
      socket.addEventListener('close', () => resolve(true));
      setTimeout(() => resolve(false), timeoutMs);
      socket.close(1000, 'leaving');
    });
  }

  /** A data-only offer of a throwaway connection (for forwards that should be refused). */
  async function anOffer() {
    const peer = new RTCPeerConnection();
    peer.createDataChannel('chat');
    const offer = await peer.createOffer();
    peer.close();
    return { type: offer.type, sdp: offer.sdp };
  }

  window.seed = { connect, sendRaw, say, channels, leave, anOffer };
}

// ---------------------------------------------------------------- in Node

const same = (a, b) => canonical(a) === canonical(b);

/** One message for the log: SDPs shortened. */
function brief(data) {
  return JSON.stringify(data, (key, value) => (key === 'sdp' && typeof value === 'string' ? `<${value.length} bytes>` : value));
}

const pageErrors = [];

async function openPeer(browser, who) {
  const context = await browser.newContext({ viewport: { width: 640, height: 480 } });
  const page = await context.newPage();
  page.on('console', (message) => console.log(`[${who} ${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => {
    pageErrors.push(`${who}: ${error.message}`);
    console.log(`[${who} page error] ${error.message}`);
  });
  await page.goto(BASE, { waitUntil: 'load' });
  await page.evaluate(seedClientIn);
  return { who, context, page };
}

async function run(browser, peers) {
  const page = (who) => peers[who].page;
  const readLog = (who) => page(who).evaluate(() => JSON.parse(JSON.stringify(window.seedLog)));
  const mark = (who) => page(who).evaluate(() => window.seedLog.received.length);
  const messagesSince = async (who, from) => (await readLog(who)).received.slice(from).map((entry) => entry.data ?? entry);
  const waitMessages = async (what, who, from, count, timeoutMs = STEP_MS) => (await pollUntil(what,
    () => messagesSince(who, from),
    (found) => (found.length >= count ? [] : [`${found.length} of ${count} messages: ${found.map(brief).join(', ') || 'none'}`]),
    { timeoutMs })).value;
  const sendRaw = (who, text) => page(who).evaluate((body) => window.seed.sendRaw(body), text);
  const send = (who, message) => sendRaw(who, JSON.stringify(message));

  /** Opens `who`'s socket; its first message must be connected-peers; returns its peerIds. */
  const connect = async (who, peerCount) => {
    peers[who] ??= await openPeer(browser, who);
    await page(who).evaluate((url) => window.seed.connect(url), PEERS_URL);
    const { value: opened } = await pollUntil(`${who}'s first message`, () => readLog(who), (log) => {
      check(log.received.length > 0 || log.closes.length === 0,
        `${who}: the socket to ${PEERS_URL} closed before any message: ${brief(log.closes)}`);
      return log.received.length > 0 ? [] : ['no message'];
    }, { timeoutMs: STEP_MS });
    const first = opened.received[0].data;
    check(first?.type === 'connected-peers' && Array.isArray(first.peerIds)
      && same(Object.keys(first).sort(), ['peerIds', 'type']),
    `${who}: the first message should be {type: "connected-peers", peerIds: [...]}: ${brief(first)}`);
    check(first.peerIds.length === peerCount,
      `${who}: connected-peers should list ${peerCount} peers: ${brief(first.peerIds)}`);
    for (const id of first.peerIds) check(typeof id === 'string' && UUID.test(id), `${who}: peer id ${brief(id)} is not a UUID`);
    check(new Set(first.peerIds).size === first.peerIds.length, `${who}: connected-peers repeats an id: ${brief(first.peerIds)}`);
    console.log(`    ${who}: connected-peers ${brief(first.peerIds)}`);
    return first.peerIds;
  };

  /** The offer `to` got from a new peer (the one whose id it does not know yet): its fromPeerId, checked against what `from` sent. */
  const offerFrom = async (from, to, knownIds) => {
    const { value } = await pollUntil(`${to} gets ${from}'s offer`, () => messagesSince(to, 0),
      (found) => (found.some((data) => data.type === 'offer' && !knownIds.includes(data.fromPeerId)) ? []
        : [`messages: ${found.map(brief).join(', ')}`]), { timeoutMs: STEP_MS });
    const offers = value.filter((data) => data.type === 'offer' && !knownIds.includes(data.fromPeerId));
    check(offers.length === 1, `${to}: ${offers.length} offers from new peers: ${offers.map(brief).join(', ')}`);
    const [offer] = offers;
    check(same(Object.keys(offer).sort(), ['fromPeerId', 'offer', 'type']), `${to}: the offer message's fields: ${brief(offer)}`);
    check(UUID.test(offer.fromPeerId), `${to}: the offer's fromPeerId ${brief(offer.fromPeerId)} is not a UUID`);
    return offer;
  };

  /** What `from` sent with `action` to `toId` (the payloads, in order). */
  const sentTo = async (from, action, toId, key) => (await readLog(from)).sent
    .filter((entry) => entry.message.action === action && entry.message.toPeerId === toId).map((entry) => entry.message[key]);
  /** What `to` got of `type` from `fromId` (the payloads, in order). */
  const gotFrom = async (to, type, fromId, key) => (await messagesSince(to, 0))
    .filter((data) => data.type === type && data.fromPeerId === fromId).map((data) => data[key]);

  /** `from`'s offer reached `to` unchanged, `to`'s answer came back unchanged, and every candidate both ways. */
  const expectNegotiated = async (from, fromId, to, toId) => {
    const offersSent = await sentTo(from, 'forward-offer', toId, 'offer');
    const offersGot = await gotFrom(to, 'offer', fromId, 'offer');
    check(offersSent.length === 1 && offersGot.length === 1 && same(offersSent[0], offersGot[0]),
      `${from}'s offer should reach ${to} unchanged: sent ${brief(offersSent)}, got ${brief(offersGot)}`);
    const { value: answers } = await pollUntil(`${from} gets ${to}'s answer`, () => gotFrom(from, 'answer', toId, 'answer'),
      (found) => (found.length > 0 ? [] : ['no answer']), { timeoutMs: STEP_MS });
    const answersSent = await sentTo(to, 'forward-answer', fromId, 'answer');
    check(answers.length === 1 && answersSent.length === 1 && same(answers[0], answersSent[0]),
      `${to}'s answer should reach ${from} unchanged: sent ${brief(answersSent)}, got ${brief(answers)}`);
    check(answers[0]?.type === 'answer' && typeof answers[0].sdp === 'string', `${from}: the answer is ${brief(answers[0])}`);
    for (const [a, aId, b, bId] of [[from, fromId, to, toId], [to, toId, from, fromId]]) {
      // Once a's gathering is complete, all its candidates to b are sent.
      const { value } = await pollUntil(`${a}'s candidates reach ${b}`,
        async () => ({ gathering: (await page(a).evaluate(() => window.seed.channels()))[bId]?.gathering,
          sent: await sentTo(a, 'forward-icecandidate', bId, 'candidate'),
          got: await gotFrom(b, 'icecandidate', aId, 'candidate') }),
        ({ gathering, sent, got }) => (gathering === 'complete' && sent.length > 0 && same(sent, got) ? []
          : [`gathering ${gathering}, sent ${brief(sent)}, got ${brief(got)}`]), { timeoutMs: STEP_MS });
      console.log(`    ${a} -> ${b}: ${value.sent.length} candidates relayed unchanged`);
    }
  };

  /** Both "chat" channels between `a` and `b` are open, each side's received one labelled "chat". */
  const expectChannelsOpen = async (a, aId, b, bId) => {
    const { elapsedMs } = await pollUntil(`the chat channels of ${a} and ${b}`, async () => ({
      [a]: (await page(a).evaluate(() => window.seed.channels()))[bId] ?? null,
      [b]: (await page(b).evaluate(() => window.seed.channels()))[aId] ?? null,
    }), (state) => [a, b].flatMap((who) => {
      const mine = state[who];
      if (!mine) return [`${who} has no connection`];
      const open = mine.own === 'open' && mine.received.length === 1 && mine.received[0].label === 'chat'
        && mine.received[0].state === 'open';
      return open ? [] : [`${who}: ${brief(mine)}`];
    }), { timeoutMs: CHAT_MS });
    console.log(`    ${a} <-> ${b}: both "chat" channels open (${elapsedMs} ms)`);
  };

  /** `from` says `text` to `toId`; `to` receives it from `fromId` on the channel labelled "chat". */
  const expectChat = async (from, fromId, to, toId, text) => {
    await page(from).evaluate(({ peerId, body }) => window.seed.say(peerId, body), { peerId: toId, body: text });
    const { value, elapsedMs } = await pollUntil(`${to} receives "${text}"`, async () => (await readLog(to)).chat,
      (chat) => (chat.some((entry) => entry.data === text) ? [] : [`chat so far: ${brief(chat)}`]), { timeoutMs: STEP_MS });
    const got = value.filter((entry) => entry.data === text);
    check(got.length === 1 && got[0].peerId === fromId && got[0].label === 'chat',
      `${to} should get "${text}" once, from ${from} (${fromId}) on "chat": ${brief(got)}`);
    console.log(`    ${from} -> ${to}: "${text}" (${elapsedMs} ms)`);
  };

  /** Every message `who` got is one of `allowed` (type and fromPeerId). */
  const expectOnly = async (who, allowed) => {
    const unexpected = (await messagesSince(who, 1)).filter((data) => !allowed.some(([type, fromId]) => data.type === type
      && data.fromPeerId === fromId));
    check(unexpected.length === 0, `${who} got unexpected messages: ${unexpected.map(brief).join(', ')}`);
  };

  // 1. A, then B.
  console.log('1. connect');
  await connect('A', 0);
  const [idA] = await connect('B', 1);

  // 2. B connects to A per the seed; chat both ways.
  console.log('2. B <-> A');
  const offerOfB = await offerFrom('B', 'A', []);
  const idB = offerOfB.fromPeerId;
  check(idB !== idA, `A's id and B's are the same: ${idA}`);
  console.log(`    ids: A ${idA} (B's connected-peers), B ${idB} (fromPeerId of B's offer at A)`);
  await expectNegotiated('B', idB, 'A', idA);
  await expectChannelsOpen('B', idB, 'A', idA);
  await expectChat('B', idB, 'A', idA, 'hello from B');
  await expectChat('A', idA, 'B', idB, 'hello from A, to B');
  await expectOnly('A', [['offer', idB], ['icecandidate', idB]]);
  await expectOnly('B', [['answer', idA], ['icecandidate', idA]]);

  // 3. C connects to both.
  console.log('3. C <-> A, C <-> B');
  const listedForC = await connect('C', 2);
  check(same([...listedForC].sort(), [idA, idB].sort()),
    `C's connected-peers should be A's and B's ids ${brief([idA, idB])}: ${brief(listedForC)}`);
  const idC = (await offerFrom('C', 'A', [idB])).fromPeerId;
  const idCatB = (await offerFrom('C', 'B', [idA])).fromPeerId;
  check(idC === idCatB, `C's offers came with different ids: ${idC} at A, ${idCatB} at B`);
  check(![idA, idB].includes(idC), `C's id ${idC} is A's or B's`);
  console.log(`    C ${idC}`);
  for (const [other, otherId] of [['A', idA], ['B', idB]]) {
    await expectNegotiated('C', idC, other, otherId);
    await expectChannelsOpen('C', idC, other, otherId);
    await expectChat('C', idC, other, otherId, `hello from C, to ${other}`);
    await expectChat(other, otherId, 'C', idC, `hello from ${other}, to C`);
  }
  await expectOnly('A', [['offer', idB], ['icecandidate', idB], ['offer', idC], ['icecandidate', idC]]);
  await expectOnly('B', [['answer', idA], ['icecandidate', idA], ['offer', idC], ['icecandidate', idC]]);
  await expectOnly('C', [['answer', idA], ['icecandidate', idA], ['answer', idB], ['icecandidate', idB]]);

  // 4. Errors on A's socket, then forwards that still relay (with a forged fromPeerId).
  console.log('4. errors');
  const offer = await page('A').evaluate(() => window.seed.anOffer());
  const [candidateToB] = await sentTo('A', 'forward-icecandidate', idB, 'candidate');
  const [candidateToC] = await sentTo('A', 'forward-icecandidate', idC, 'candidate');
  const unknown = crypto.randomUUID();
  const notConnected = (action, id) => ({ type: 'error', action, toPeerId: id, message: `peer ${id} is not connected` });
  const isText = (value) => typeof value === 'string' && value.length > 0;
  /** An error of exactly the fields type, message (a string) and `action` if given. */
  const plainError = (action) => (data) => data?.type === 'error' && isText(data.message)
    && same(Object.keys(data).sort(), action === undefined ? ['message', 'type'] : ['action', 'message', 'type'])
    && (action === undefined || data.action === action);
  const refused = [
    ['forward-offer to an unknown id', JSON.stringify({ action: 'forward-offer', offer, toPeerId: unknown }),
      notConnected('forward-offer', unknown)],
    ['forward-answer to an unknown id', JSON.stringify({ action: 'forward-answer', answer: offer, toPeerId: unknown }),
      notConnected('forward-answer', unknown)],
    ['forward-icecandidate to an unknown id',
      JSON.stringify({ action: 'forward-icecandidate', candidate: candidateToB, toPeerId: unknown }),
      notConnected('forward-icecandidate', unknown)],
    ['malformed JSON', `{"action": "forward-offer", "toPeerId": "${idB}", "offer": `, plainError()],
    ['a JSON array', JSON.stringify([{ action: 'forward-offer', offer, toPeerId: idB }]), plainError()],
    ['no action', JSON.stringify({ offer, toPeerId: idB }), plainError()],
    ['a numeric action', JSON.stringify({ action: 7, offer, toPeerId: idB }), plainError()],
    ['an unknown action', JSON.stringify({ action: 'forward-coffee', coffee: {}, toPeerId: idB }), plainError('forward-coffee')],
    ['forward-offer without toPeerId', JSON.stringify({ action: 'forward-offer', offer }), plainError('forward-offer')],
    ['forward-answer without answer', JSON.stringify({ action: 'forward-answer', toPeerId: idB }), plainError('forward-answer')],
  ];
  const marks = { A: await mark('A'), B: await mark('B'), C: await mark('C') };
  for (const [index, [what, text, expected]] of refused.entries()) {
    await sendRaw('A', text);
    const got = (await waitMessages(`A's answer to ${what}`, 'A', marks.A, index + 1))[index];
    const right = typeof expected === 'function' ? expected(got) : same(got, expected);
    check(right, `A: ${what} should be answered ${typeof expected === 'function' ? 'with the contract\'s error'
      : brief(expected)}: got ${brief(got)}`);
    console.log(`    ${what}: ${brief(got)}`);
  }
  // Forged fromPeerId: the receiver sees A's own id.
  await send('A', { action: 'forward-icecandidate', candidate: candidateToB, toPeerId: idB, fromPeerId: idC });
  await send('A', { action: 'forward-icecandidate', candidate: candidateToC, toPeerId: idC, fromPeerId: unknown });
  for (const [who, candidate] of [['B', candidateToB], ['C', candidateToC]]) {
    const got = await waitMessages(`${who} gets A's forwarded candidate`, who, marks[who], 1);
    check(got.length === 1 && same(got[0], { type: 'icecandidate', candidate, fromPeerId: idA }),
      `${who} should get exactly A's candidate with fromPeerId A (${idA}) after A's refused messages: ${got.map(brief).join(', ')}`);
  }
  console.log(`    forged fromPeerId ignored: B and C got A's candidate from ${idA}, and nothing of the refused messages`);
  // A round trip: A got nothing for its two forwards, and its socket is open.
  await send('A', { action: 'forward-offer', offer, toPeerId: unknown });
  const afterErrors = await waitMessages('A\'s answer to the last refused forward', 'A', marks.A, refused.length + 1);
  check(afterErrors.length === refused.length + 1 && same(afterErrors[refused.length], notConnected('forward-offer', unknown)),
    `A should get nothing back for its forwards, then the not-connected error: ${afterErrors.slice(refused.length).map(brief).join(', ')}`);
  check((await readLog('A')).closes.length === 0, `A's socket closed: ${brief((await readLog('A')).closes)}`);

  // 5. B leaves.
  console.log('5. B leaves');
  const before = { A: await mark('A'), C: await mark('C') };
  check(await page('B').evaluate((ms) => window.seed.leave(ms), STEP_MS),
    `B: its socket's close handshake did not complete within ${STEP_MS} ms`);
  await peers.B.context.close();
  delete peers.B;
  await send('A', { action: 'forward-offer', offer, toPeerId: idB });
  await send('C', { action: 'forward-answer', answer: offer, toPeerId: idB });
  for (const [who, action] of [['A', 'forward-offer'], ['C', 'forward-answer']]) {
    const got = await waitMessages(`${who}'s answer to a forward to B`, who, before[who], 1);
    check(got.length === 1 && same(got[0], notConnected(action, idB)),
      `${who}: a ${action} to B (gone) should get only ${brief(notConnected(action, idB))}: ${got.map(brief).join(', ')}`);
    console.log(`    ${who}: ${brief(got[0])}`);
  }
  const listedForD = await connect('D', 2);
  check(same([...listedForD].sort(), [idA, idC].sort()),
    `D's connected-peers should be A's and C's ids ${brief([idA, idC])}, not B's (${idB}): ${brief(listedForD)}`);
  const ended = (state) => state && (['failed', 'disconnected', 'closed'].includes(state.connection) || state.own === 'closed'
    || state.received.some((channel) => channel.state === 'closed'));
  const { value: endStates, elapsedMs } = await pollUntil('A\'s and C\'s connections to B end', async () => ({
    A: (await page('A').evaluate(() => window.seed.channels()))[idB],
    C: (await page('C').evaluate(() => window.seed.channels()))[idB],
  }), (states) => ['A', 'C'].filter((who) => !ended(states[who])).map((who) => `${who}: ${brief(states[who])}`),
  { timeoutMs: END_MS });
  console.log(`    connections to B ended (${elapsedMs} ms): A ${brief(endStates.A)}, C ${brief(endStates.C)}`);

  // Throughout: no client error, the expected errors only, no other socket closed.
  const expectedErrors = { A: refused.length + 2, C: 1, D: 0 };
  for (const who of ['A', 'C', 'D']) {
    const log = await readLog(who);
    check(log.errors.length === 0, `${who}: the seed client failed: ${log.errors.join(' | ')}`);
    const errors = log.received.filter((entry) => entry.data?.type === 'error');
    check(errors.length === expectedErrors[who], `${who}: ${errors.length} error messages, not ${expectedErrors[who]}: `
      + `${errors.map((entry) => brief(entry.data)).join(', ')}`);
    check(log.closes.length === 0, `${who}: socket closed: ${brief(log.closes)}`);
  }
  check(pageErrors.length === 0, `uncaught errors in the pages: ${pageErrors.join(' | ')}`);
}

/** On failure: each page's messages, chat, channel events and client errors. */
async function onFailure(peers) {
  for (const [who, { page }] of Object.entries(peers)) {
    const log = await page.evaluate(() => window.seedLog && JSON.parse(JSON.stringify(window.seedLog))).catch(() => null);
    if (!log) continue;
    console.log(`--- ${who}: ${log.received.length} messages, closes ${brief(log.closes)}, errors ${brief(log.errors)}`);
    for (const entry of log.received.slice(-20)) console.log(`    ${Math.round(entry.at)} ${brief(entry.data ?? entry.raw)}`);
    console.log(`    chat ${brief(log.chat)}`);
    console.log(`    channels ${brief(log.channels)}`);
    console.log(`    states ${brief(log.states)}`);
  }
}

const started = Date.now();
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS, timeout: 30000 });
const peers = {};
try {
  await run(browser, peers);
  console.log(`PASS: seed 002 connected-peers relay in Chromium (${Math.round((Date.now() - started) / 1000)} s): `
    + 'connected-peers, offers, answers and candidates relayed unchanged with the sender\'s id, chat A<->B, C<->A, C<->B, '
    + 'errors, forged fromPeerId ignored, a peer gone at once');
  process.exitCode = 0;
} catch (error) {
  await onFailure(peers);
  console.log(`FAIL: ${error instanceof Failure ? error.message : error.stack}`);
  process.exitCode = 1;
} finally {
  await browser.close().catch((error) => console.error('closing Chromium:', error.message));
}
