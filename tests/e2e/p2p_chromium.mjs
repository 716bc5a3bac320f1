// e2e-test: p2p_chromium
// E2E: occupants of a line run their own peer-to-peer connection through the
// server's signaling (`join` without jsep, `signal`), beside an occupant
// whose media goes through the SFU. Three Chromium contexts driving
// web/partyline.js (tests/e2e/line_page.mjs), each with a canvas camera of
// its own colour and a sine microphone of its own pitch:
//   1. alice creates a line and joins it signaling-only (response
//      "media": "none"); bob joins signaling-only with its token; carol joins
//      with camera and microphone (media through the server). Every page's
//      `occupants` list alice and bob with "media": "none" and state
//      connected, carol with "media": "server" connected; alice's
//      `get_line` `members`, and her last `presence` event for the line,
//      list the three users, online and in the line.
//   2. alice and bob open a direct RTCPeerConnection (their cameras and
//      microphones, and an RTCDataChannel "chat" that alice creates): offer,
//      answer and ICE candidates go through `signal`; each side checks that
//      every `signal` it got is stamped with the other's user and session.
//      Within 20 s: the connection is connected, "chat" is open, a message
//      each way arrives with its exact text, and each side's remote video
//      (from the P2P connection) decodes more than 30 frames whose average
//      colour is within 60 per channel of the other's camera colour (and
//      nearest to it), and more than 100 audio packets.
//   3. carol is unaffected: her PeerConnection with the server is connected,
//      none of her receivers carries alice's or bob's session, and no
//      server `update` offer she got names them (a=msid); alice and bob have
//      no PeerConnection with the server.
//   4. dave (a Node WebSocket client) creates another line and joins it
//      signaling-only: alice's `signal` to dave's session answers 404, and
//      dave gets no `signal` event.
// Prints the signals exchanged, the P2P candidate pair, frames, colours and
// packets.
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py); PARTYLINE_URL is the page to open.

import {
  check, colourWithin, harnessErrors, nearestColour, pollUntil, runHarnessTest,
} from './line_page.mjs';
import { SignalingClient } from './werift_signaling.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const WS_URL = process.env.PARTYLINE_WS_URL ?? 'ws://127.0.0.1:8088/ws';
const STEP_MS = 15000;
const MEDIA_DEADLINE_MS = 20000;
const MIN_FRAMES_DECODED = 30;
const MIN_AUDIO_PACKETS = 100;
/** VP8 and the colour conversions shift a flat colour by up to ~40 per channel. */
const COLOUR_TOLERANCE = 60;
const USERS = ['alice', 'bob', 'carol'];
const COLOURS = { alice: [220, 40, 40], bob: [40, 180, 40], carol: [40, 70, 220] };
const TONES = { alice: 440, bob: 660, carol: 880 };
const CHAT = { alice: 'hello bob, this is alice over chat ✓', bob: 'hi alice, bob here: received 42 bytes?' };

// ---------------------------------------------------------------- in the page

/**
 * Runs in the page: a direct RTCPeerConnection with the occupant session
 * `peer`, signalled through `signal` (the app's own protocol: {type, sdp}
 * and {candidate}). The offerer creates the "chat" data channel.
 */
async function startDirectPeer({ peer, offerer }) {
  const { call } = window.harness;
  const direct = { signals: [], messages: [], errors: [], channel: null, remoteStream: null };
  window.direct = direct;
  const camera = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
  const pc = new RTCPeerConnection();
  direct.pc = pc;
  for (const track of camera.getTracks()) pc.addTrack(track, camera);
  const send = (data) => call.signal(peer, data).catch((error) => direct.errors.push(`signal: ${error.message}`));
  const attach = (channel) => {
    direct.channel = channel;
    channel.onmessage = (event) => direct.messages.push(event.data);
  };
  if (offerer) attach(pc.createDataChannel('chat'));
  else pc.ondatachannel = (event) => attach(event.channel);
  pc.ontrack = (event) => {
    direct.remoteStream = event.streams[0];
  };
  pc.onicecandidate = ({ candidate }) => {
    if (candidate && candidate.candidate) send({ candidate: candidate.toJSON() });
  };
  let remoteSet = false;
  const early = [];
  const addCandidate = (candidate) => pc.addIceCandidate(candidate)
    .catch((error) => direct.errors.push(`addIceCandidate: ${error.message}`));
  call.on('signal', async ({ from, data }) => {
    direct.signals.push({ user: from?.user, session: from?.session,
      kind: data?.type ?? (data?.candidate ? 'candidate' : JSON.stringify(data)) });
    if (from?.session !== peer) return;
    try {
      if (data.type === 'offer' || data.type === 'answer') {
        await pc.setRemoteDescription(data);
        remoteSet = true;
        for (const candidate of early.splice(0)) await addCandidate(candidate);
        if (data.type === 'offer') {
          const answer = await pc.createAnswer();
          await pc.setLocalDescription(answer);
          await send({ type: answer.type, sdp: answer.sdp });
        }
      } else if (data.candidate) {
        if (remoteSet) await addCandidate(data.candidate);
        else early.push(data.candidate);
      }
    } catch (error) {
      direct.errors.push(`${data?.type ?? 'candidate'}: ${error.message}`);
    }
  });
  if (offerer) {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await send({ type: offer.type, sdp: offer.sdp });
  }
}

/** Runs in the page: what the direct connection shows. */
async function readDirectPeer() {
  const { direct } = window;
  const { pc } = direct;
  const figures = {
    connection: pc.connectionState, channel: direct.channel?.label ?? null,
    channelState: direct.channel?.readyState ?? null, messages: direct.messages, errors: direct.errors,
    signals: direct.signals, framesDecoded: 0, audioPackets: 0, colour: null, pair: null,
  };
  const video = direct.remoteStream?.getVideoTracks()[0];
  if (video) figures.colour = window.trackColour(video);
  const stats = await pc.getStats();
  for (const entry of stats.values()) {
    if (entry.type === 'inbound-rtp' && entry.kind === 'video') figures.framesDecoded += entry.framesDecoded ?? 0;
    if (entry.type === 'inbound-rtp' && entry.kind === 'audio') figures.audioPackets += entry.packetsReceived ?? 0;
    if (entry.type === 'transport' && entry.selectedCandidatePairId) {
      const pair = stats.get(entry.selectedCandidatePairId);
      const local = stats.get(pair?.localCandidateId);
      const remote = stats.get(pair?.remoteCandidateId);
      figures.pair = `${local?.address}:${local?.port} ${local?.candidateType} <-> ${remote?.address}:${remote?.port} ${remote?.candidateType}`;
    }
  }
  return figures;
}

/** Runs in the page: what carol's PeerConnection with the server carries. */
async function readServerSide(sessions) {
  const { harness } = window;
  const updates = harness.events('update').map((entry) => entry.message.jsep?.sdp ?? '');
  return {
    connection: harness.call?.pc?.connectionState ?? null,
    receivers: (await harness.receivers()).map((row) => ({ session: row.session, kind: row.kind, mid: row.mid })),
    remoteStreams: [...harness.call.remoteStreams.keys()],
    updates: updates.length,
    updatesNaming: sessions.filter((session) => updates.some((sdp) => sdp.includes(`a=msid:${session} `))),
  };
}

// ---------------------------------------------------------------- steps

function describeOccupants(occupants) {
  return occupants.map((occupant) => `${occupant.user}:${occupant.media}:${occupant.state}`).sort().join(', ');
}

async function expectOccupants(pages, expected) {
  const wanted = Object.entries(expected).map(([user, media]) => `${user}:${media}:connected`).sort().join(', ');
  for (const [who, page] of Object.entries(pages)) {
    await pollUntil(`${who}'s occupants`, () => page.evaluate(() => window.harness.occupants()),
      (occupants) => (describeOccupants(occupants) === wanted ? [] : [`expected ${wanted}, got ${describeOccupants(occupants)}`]),
      { timeoutMs: STEP_MS });
    console.log(`${who}'s occupants: ${wanted}`);
  }
}

async function run(pages) {
  const { alice, bob, carol } = pages;
  const sessions = {};
  for (const [who, page] of Object.entries(pages)) sessions[who] = (await page.evaluate((name) => window.harness.connect(name), who)).session;

  // 1. alice and bob signaling-only, carol through the server.
  const { lineId, token } = await alice.evaluate(() => window.harness.createLine());
  console.log(`alice created line ${lineId}`);
  for (const who of ['alice', 'bob']) {
    const joined = await pages[who].evaluate(({ id, key }) => window.harness.join(id, { token: key, media: false }),
      { id: lineId, key: token });
    check(joined.media === 'none', `${who}'s signaling-only join should answer "media": "none": ${JSON.stringify(joined)}`);
  }
  await carol.evaluate(({ id, key }) => window.harness.join(id, { token: key }), { id: lineId, key: token });
  await expectOccupants(pages, { alice: 'none', bob: 'none', carol: 'server' });
  const { members } = await alice.evaluate((id) => window.harness.client.getLine(id), lineId);
  const presence = (members ?? []).map((member) => `${member.user}:${member.online ? 'online' : 'offline'}:${member.in_line ? 'in_line' : 'away'}`);
  check(JSON.stringify(presence) === JSON.stringify(USERS.map((user) => `${user}:online:in_line`)),
    `alice's get_line members should list ${USERS.join(', ')} online and in the line: ${JSON.stringify(members)}`);
  console.log(`alice's get_line members: ${presence.join(', ')}`);
  const { value: lastPresence } = await pollUntil('alice\'s last presence event', () => alice.evaluate((id) => window.harness
    .events('presence').map((entry) => entry.message).filter((message) => message.line_id === id).pop() ?? null, lineId),
  (message) => {
    const shown = (message?.members ?? []).map((member) => `${member.user}:${member.online}:${member.in_line}`).join(', ');
    const wanted = USERS.map((user) => `${user}:true:true`).join(', ');
    return shown === wanted ? [] : [`expected ${wanted}, got ${shown || 'no presence event'}`];
  }, { timeoutMs: STEP_MS });
  console.log(`alice's last presence event lists ${lastPresence.members.map((member) => member.user).join(', ')} online and in the line`);

  // 2. alice and bob connect directly; the answerer listens first.
  await bob.evaluate(startDirectPeer, { peer: sessions.alice, offerer: false });
  await alice.evaluate(startDirectPeer, { peer: sessions.bob, offerer: true });
  const other = { alice: 'bob', bob: 'alice' };
  const direct = {};
  for (const who of ['alice', 'bob']) {
    const peer = other[who];
    const { value, elapsedMs } = await pollUntil(`${who}'s direct connection to ${peer}`,
      () => pages[who].evaluate(readDirectPeer), (figures) => {
        const missing = [];
        if (figures.connection !== 'connected') missing.push(`connection ${figures.connection}`);
        if (figures.channel !== 'chat' || figures.channelState !== 'open') missing.push(`channel ${figures.channel} ${figures.channelState}`);
        if (!(figures.framesDecoded > MIN_FRAMES_DECODED)) missing.push(`${figures.framesDecoded} frames decoded`);
        if (!(figures.audioPackets > MIN_AUDIO_PACKETS)) missing.push(`${figures.audioPackets} audio packets`);
        if (!colourWithin(figures.colour, COLOURS[peer], COLOUR_TOLERANCE) || nearestColour(figures.colour, COLOURS) !== peer) {
          missing.push(`remote video rgb(${figures.colour}) is not ${peer}'s rgb(${COLOURS[peer]})`);
        }
        if (figures.errors.length > 0) missing.push(`errors: ${figures.errors.join(' | ')}`);
        return missing;
      }, { timeoutMs: MEDIA_DEADLINE_MS });
    direct[who] = value;
    console.log(`${who} <- ${peer} (P2P, after ${elapsedMs} ms): ${value.connection}, pair ${value.pair}, `
      + `framesDecoded ${value.framesDecoded}, rgb(${value.colour}) = ${nearestColour(value.colour, COLOURS)}'s colour, `
      + `audio packetsReceived ${value.audioPackets}`);
  }
  for (const who of ['alice', 'bob']) {
    const peer = other[who];
    const signals = direct[who].signals;
    const stray = signals.filter((signal) => signal.user !== peer || signal.session !== sessions[peer]);
    check(stray.length === 0, `${who} got signals not stamped with ${peer}'s user and session: ${JSON.stringify(stray)}`);
    const kinds = signals.map((signal) => signal.kind);
    const wantedFirst = who === 'bob' ? 'offer' : 'answer';
    check(kinds.includes(wantedFirst) && kinds.includes('candidate'),
      `${who} should have got ${wantedFirst} and candidates through signal: ${kinds.join(', ')}`);
    console.log(`${who} got ${signals.length} signals from ${peer} (${sessions[peer].slice(0, 8)}): ${kinds.join(', ')}`);
  }

  // The chat, both ways.
  for (const who of ['alice', 'bob']) await pages[who].evaluate((text) => window.direct.channel.send(text), CHAT[who]);
  for (const who of ['alice', 'bob']) {
    const peer = other[who];
    await pollUntil(`${who}'s chat message from ${peer}`, () => pages[who].evaluate(() => window.direct.messages),
      (messages) => (messages.length > 0 ? [] : ['nothing yet']), { timeoutMs: STEP_MS });
    const messages = await pages[who].evaluate(() => window.direct.messages);
    check(JSON.stringify(messages) === JSON.stringify([CHAT[peer]]),
      `${who} should have received exactly ${JSON.stringify([CHAT[peer]])} on "chat": ${JSON.stringify(messages)}`);
    console.log(`${who} received on "chat": ${JSON.stringify(messages[0])}`);
  }

  // 3. carol: nothing of alice's or bob's through the server.
  const p2pSessions = [sessions.alice, sessions.bob];
  const serverSide = await carol.evaluate(readServerSide, p2pSessions);
  check(serverSide.connection === 'connected', `carol's PeerConnection with the server: ${serverSide.connection}`);
  const leaked = serverSide.receivers.filter((row) => p2pSessions.includes(row.session));
  check(leaked.length === 0 && serverSide.updatesNaming.length === 0
      && !serverSide.remoteStreams.some((session) => p2pSessions.includes(session)),
  `carol should receive nothing from alice or bob through the server: ${JSON.stringify(serverSide)}`);
  console.log(`carol: server connection ${serverSide.connection}, ${serverSide.receivers.length} forwarded receivers, `
    + `${serverSide.updates} server offers, none naming alice or bob`);
  for (const who of ['alice', 'bob']) {
    const pc = await pages[who].evaluate(() => window.harness.call.pc === null);
    check(pc, `${who} (signaling-only) should have no PeerConnection with the server`);
  }
  await expectOccupants(pages, { alice: 'none', bob: 'none', carol: 'server' });

  // 4. A signal never crosses into another line.
  const dave = await SignalingClient.connect(WS_URL, 'dave');
  try {
    const other = await dave.request('create_line');
    const joined = await dave.request('join', { line_id: other.line_id });
    check(joined.media === 'none', `dave's signaling-only join: ${JSON.stringify(joined)}`);
    const refused = await alice.evaluate(async (to) => {
      try {
        await window.harness.call.signal(to, { type: 'offer', sdp: 'v=0\r\n' });
        return null;
      } catch (error) {
        return { code: error.code, reason: error.reason };
      }
    }, dave.session);
    check(refused?.code === 404, `alice's signal to dave's session in another line should answer 404: ${JSON.stringify(refused)}`);
    // A ping's answer comes after anything the server queued for dave before it.
    await dave.request('ping');
    const signals = dave.events.filter((event) => event.event === 'signal');
    check(signals.length === 0, `dave should get no signal from another line: ${JSON.stringify(signals)}`);
    console.log(`alice's signal to dave (another line): ${refused.code} ${refused.reason}; dave got no signal`);
  } finally {
    dave.close();
  }

  const errors = await harnessErrors(pages);
  check(errors.length === 0, `the pages report errors: ${errors.join(' | ')}`);
}

process.exitCode = await runHarnessTest({
  users: USERS, pageUrl: PAGE_URL, colours: COLOURS, tones: TONES, run,
  passMessage: 'a peer-to-peer call through signal beside an SFU occupant',
});
