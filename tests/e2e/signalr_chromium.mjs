// e2e-test: signalr_chromium
// Seed 000 in Chromium with the official SignalR browser bundle: three
// browser contexts open the server's SignalR phone demo (web/phone.html,
// web/seed_phone.js: the seed's call flow, the bundle served from
// web/vendor/signalr/), each with a canvas camera of its own colour and a
// sine microphone of its own pitch, and drive its phone:
//   1. alice calls bob by email; bob's page gets the invitation (alice's
//      name and email) and accepts: are-you-ready, ready, SDP and ICE go
//      through the hub and a direct RTCPeerConnection carries each one's
//      camera to the other. Within 20 s each page decodes > 30 frames of the
//      other's colour (within 60 per channel, nearest of the three) and
//      > 100 audio packets.
//   2. alice calls carol into the same phone line; carol accepts and asks
//      alice and bob whether they are ready: three direct connections, each
//      page showing the other two colours. Every page's last
//      receiveUpdatePhoneLineOccupants lists the three.
//   3. carol hangs up: alice and bob close their connection to her
//      (receiveHangUpNotice) and keep theirs, still decoding.
//   4. media through the server: alice and bob each send their camera to
//      the phone line's own guid (sendSDP/sendICE with the PhoneLineGuid:
//      a native `update` offer), answer the server's offers that come back
//      as receiveSDP from that guid, and each decodes the other's colour
//      from the server (a stream whose id is the publisher's guid).
// Also checks that web/vendor/signalr/signalr.min.js is the published
// bundle (byte for byte the one npm installed for the tests).

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { check, colourWithin, nearestColour, pollUntil, runHarnessTest } from './line_page.mjs';

const BASE = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const PAGE_URL = new URL('phone.html', BASE).toString();
const USERS = ['alice', 'bob', 'carol'];
const COLOURS = { alice: [220, 40, 40], bob: [40, 180, 40], carol: [40, 70, 220] };
const TONES = { alice: 440, bob: 660, carol: 880 };
const MEDIA_DEADLINE_MS = 20000;
const MIN_FRAMES = 30;
const MIN_AUDIO_PACKETS = 100;
const COLOUR_TOLERANCE = 60;

const vendored = await readFile(fileURLToPath(new URL('../../web/vendor/signalr/signalr.min.js', import.meta.url)));
const published = await readFile(fileURLToPath(new URL('node_modules/@microsoft/signalr/dist/browser/signalr.min.js',
  import.meta.url)));
if (!vendored.equals(published)) {
  console.log('FAIL: web/vendor/signalr/signalr.min.js differs from the @microsoft/signalr bundle npm installed');
  process.exit(1);
}

// ---------------------------------------------------------------- in the page

async function connectPhone({ name }) {
  window.phoneLog = [];
  const { SeedPhone } = await import('/seed_phone.js');
  const phone = new SeedPhone({ name, email: `${name}@example.org` });
  for (const event of ['status', 'notice', 'incoming', 'remote-gone', 'closed']) {
    phone.on(event, (payload) => window.phoneLog.push({ event, payload: JSON.stringify(payload ?? null) }));
  }
  await phone.connect();
  window.phone = phone;
  return phone.localGuid;
}

/** A PeerConnection with the server through the hub (the phone line's guid as the remote party). */
async function publishToServer() {
  const { phone } = window;
  const line = phone.phoneLine.phoneLineGuid;
  const sfu = { pc: new RTCPeerConnection(), streams: new Map(), errors: [], offers: 0 };
  window.sfu = sfu;
  const camera = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
  for (const track of camera.getTracks()) sfu.pc.addTransceiver(track, { direction: 'sendonly', streams: [camera] });
  sfu.pc.ontrack = ({ track, streams }) => { if (streams[0]) sfu.streams.set(streams[0].id, streams[0]); };
  sfu.pc.onicecandidate = ({ candidate }) => {
    phone.hub.invoke('sendICE', line, JSON.stringify(candidate)).catch((error) => sfu.errors.push(`sendICE: ${error.message}`));
  };
  let chain = Promise.resolve();
  const serially = (step) => { chain = chain.then(step).catch((error) => sfu.errors.push(error.message)); };
  phone.hub.on('receiveSDP', (json) => {
    const message = JSON.parse(json);
    if (message.Sender !== line) return;
    serially(async () => {
      const description = JSON.parse(message.Sdp);
      await sfu.pc.setRemoteDescription(description);
      if (description.type !== 'offer') return;
      sfu.offers += 1;
      await sfu.pc.setLocalDescription(await sfu.pc.createAnswer());
      const dto = JSON.parse(await phone.hub.invoke('sendSDP', line, JSON.stringify(sfu.pc.localDescription)));
      if (dto.StatusCode !== 200) sfu.errors.push(`answer: ${dto.Content}`);
    });
  });
  phone.hub.on('receiveICE', (json) => {
    const message = JSON.parse(json);
    const candidate = JSON.parse(message.Ice);
    if (message.Sender === line && candidate) serially(() => sfu.pc.addIceCandidate(candidate));
  });
  serially(async () => {
    await sfu.pc.setLocalDescription(await sfu.pc.createOffer());
    const dto = JSON.parse(await phone.hub.invoke('sendSDP', line, JSON.stringify(sfu.pc.localDescription)));
    if (dto.StatusCode !== 200) sfu.errors.push(`offer: ${dto.Content}`);
  });
  await chain;
}

/** What the server's PeerConnection carries: per publisher guid, frames and colour. */
async function readServerMedia() {
  const { sfu } = window;
  const result = { state: sfu.pc.connectionState, errors: sfu.errors, offers: sfu.offers, streams: {} };
  const stats = [...(await sfu.pc.getStats()).values()];
  for (const [id, stream] of sfu.streams) {
    const video = stream.getVideoTracks()[0];
    const inbound = stats.find((entry) => entry.type === 'inbound-rtp' && entry.kind === 'video' &&
      entry.trackIdentifier === video?.id);
    result.streams[id] = { colour: video ? window.trackColour(video) : null, frames: inbound?.framesDecoded ?? 0 };
  }
  return result;
}

/** Per remote guid: frames and audio packets received, and the video's colour. */
async function readPeers() {
  const result = {};
  for (const [guid, peer] of window.phone.peers) {
    const figures = { state: peer.pc.connectionState, frames: 0, audio: 0, colour: null };
    const video = peer.stream?.getVideoTracks()[0];
    if (video) figures.colour = window.trackColour(video);
    for (const entry of (await peer.pc.getStats()).values()) {
      if (entry.type === 'inbound-rtp' && entry.kind === 'video') figures.frames += entry.framesDecoded ?? 0;
      if (entry.type === 'inbound-rtp' && entry.kind === 'audio') figures.audio += entry.packetsReceived ?? 0;
    }
    result[guid] = figures;
  }
  return result;
}

// ---------------------------------------------------------------- in Node

async function run(pages) {
  const guids = {};
  for (const who of USERS) guids[who] = await pages[who].evaluate(connectPhone, { name: who });
  const whoIs = Object.fromEntries(Object.entries(guids).map(([who, guid]) => [guid, who]));

  // Each page, for each of `expected` others: a connected direct PeerConnection
  // carrying that user's colour and sound.
  const media = async (who, expected) => {
    const { value, elapsedMs } = await pollUntil(`${who} receives ${expected.join(', ')}`,
      () => pages[who].evaluate(readPeers),
      (peers) => expected.flatMap((other) => {
        const figures = peers[guids[other]];
        if (!figures) return [`no connection to ${other}`];
        const lacking = [];
        if (figures.state !== 'connected') lacking.push(`${other}: ${figures.state}`);
        if (figures.frames <= MIN_FRAMES) lacking.push(`${other}: ${figures.frames} frames`);
        if (figures.audio <= MIN_AUDIO_PACKETS) lacking.push(`${other}: ${figures.audio} audio packets`);
        if (!colourWithin(figures.colour, COLOURS[other], COLOUR_TOLERANCE) ||
            nearestColour(figures.colour, COLOURS) !== other) {
          lacking.push(`${other}: colour ${JSON.stringify(figures.colour)}`);
        }
        return lacking;
      }), { timeoutMs: MEDIA_DEADLINE_MS });
    for (const other of expected) {
      const figures = value[guids[other]];
      console.log(`    ${who} <- ${other}: ${figures.frames} frames of ${JSON.stringify(figures.colour)}, ` +
        `${figures.audio} audio packets (${elapsedMs} ms)`);
    }
    return value;
  };
  const incoming = async (who, caller) => {
    const { value } = await pollUntil(`${who} rings`, () => pages[who].evaluate(() => window.phone.pendingCall),
      (call) => (call ? [] : ['no invitation']), { timeoutMs: 10000 });
    check(value.remoteGuid === guids[caller] && value.profile.email === `${caller}@example.org` &&
          value.profile.name === caller, `${who}: the invitation names ${caller}: ${JSON.stringify(value)}`);
  };

  // 1. Two users.
  const bobGuid = await pages.alice.evaluate((email) => window.phone.call(email), 'bob@example.org');
  check(bobGuid === guids.bob, `alice's call rings bob's connection: ${bobGuid}`);
  await incoming('bob', 'alice');
  await pages.bob.evaluate(() => window.phone.accept());
  await media('alice', ['bob']);
  await media('bob', ['alice']);

  // 2. Three users in the same phone line.
  await pages.alice.evaluate((email) => window.phone.call(email), 'carol@example.org');
  await incoming('carol', 'alice');
  await pages.carol.evaluate(() => window.phone.accept());
  for (const who of USERS) await media(who, USERS.filter((other) => other !== who));
  for (const who of USERS) {
    const { value } = await pollUntil(`${who}'s phone line lists the three`,
      () => pages[who].evaluate(() => window.phone.phoneLine),
      (line) => {
        const listed = (line?.phoneLineConnections ?? []).map((c) => whoIs[c.hubConnection.connectionGuid]).sort();
        return listed.join() === 'alice,bob,carol' ? [] : [`lists ${listed.join()}`];
      }, { timeoutMs: 5000 });
    check(value.phoneLineConnections.every((c) => c.phoneLineGuid === value.phoneLineGuid), `${who}: one phone line`);
  }

  // 3. Carol hangs up; alice and bob keep their call.
  await pages.carol.evaluate(() => window.phone.hangUp());
  for (const who of ['alice', 'bob']) {
    await pollUntil(`${who} drops carol`, () => pages[who].evaluate(() => [...window.phone.peers.keys()]),
      (remote) => (remote.includes(guids.carol) ? ['still connected to carol'] : []), { timeoutMs: 10000 });
  }
  const before = await pages.alice.evaluate(readPeers);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const after = await pages.alice.evaluate(readPeers);
  check(after[guids.bob].frames > before[guids.bob].frames,
    `alice keeps decoding bob after carol left: ${before[guids.bob].frames} -> ${after[guids.bob].frames}`);
  // 4. Media through the server, by the phone line's guid.
  for (const who of ['alice', 'bob']) await pages[who].evaluate(publishToServer);
  for (const [who, other] of [['alice', 'bob'], ['bob', 'alice']]) {
    const { value, elapsedMs } = await pollUntil(`${who} receives ${other} from the server`,
      () => pages[who].evaluate(readServerMedia),
      (media) => {
        const stream = media.streams[guids[other]];
        if (media.errors.length > 0) return [`errors: ${media.errors.join('; ')}`];
        if (!stream) return [`no stream of ${other} (state ${media.state}, ${media.offers} server offers)`];
        if (stream.frames <= MIN_FRAMES) return [`${stream.frames} frames`];
        return colourWithin(stream.colour, COLOURS[other], COLOUR_TOLERANCE) && nearestColour(stream.colour, COLOURS) === other
          ? [] : [`colour ${JSON.stringify(stream.colour)}`];
      }, { timeoutMs: MEDIA_DEADLINE_MS });
    const stream = value.streams[guids[other]];
    console.log(`    ${who} <- ${other} through the server: ${stream.frames} frames of ${JSON.stringify(stream.colour)} ` +
      `(${value.offers} server offers answered, ${elapsedMs} ms)`);
  }
  for (const who of USERS) {
    const log = await pages[who].evaluate(() => window.phoneLog);
    const problems = log.filter((entry) => entry.event === 'closed' ||
      (entry.event === 'status' && entry.payload.includes(':')));
    check(problems.length === 0, `${who}: the phone reported ${JSON.stringify(problems)}`);
  }
}

process.exit(await runHarnessTest({
  users: USERS, pageUrl: PAGE_URL, colours: COLOURS, tones: TONES, run,
  passMessage: 'seed 000 in Chromium with the official SignalR bundle: two then three users, direct media by colour, hang-up',
}));
