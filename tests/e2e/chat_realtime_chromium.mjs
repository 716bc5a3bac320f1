// e2e-test: chat_realtime_chromium
// Seed 001's chat-room realtime signaling (DysonNetwork's
// /api/chat/realtime/{chatId}, WebSocketPacket JSON) in Chromium, with a
// client written only from the seed's JavaScript: SignalingClient's
// connect / handleMessage / sendMessage (the seed's "3.3" version, with
// connectedPeers) and WebRTCCPUB's initPeerConnection (onicecandidate,
// ontrack), createOffer / handleOffer / handleAnswer / handleIceCandidate
// and startLocalStream. Where the seed contradicts itself partyline's
// contract for the endpoint decides: relayed packets are "webrtc.signal",
// their fields senderAccountId / senderInfo camelCase, the signal's data
// under data.data. Changes to the snippets: no STUN servers (nothing may
// leave loopback here); WebRTCCPUB uses one shared SignalingClient instead
// of extending it, one instance per remote account (a mesh needs one
// PeerConnection per peer; the seed's `onMessage` override, which calls a
// super method that returns no promise, is replaced by routing each signal
// to the sender's instance), messages of one instance are handled in order
// (its getUserMedia may still run when the first candidates come); an
// instance created for a directed offer answers with `to` the offerer;
// every packet is recorded in arrival order.
// Users alice (red canvas camera), bob (green), carol (blue) and dave
// (yellow, a native partyline client, docs/protocol.md); JWTs (HS256) made
// here with chat_realtime.json's secret, given to the pages in the
// AuthToken cookie so that the seed's URL is used unchanged. Steps:
//   0. refusals before the upgrade (node's ws and http, not the browser):
//      401 no JWT / bad signature / expired / a bad Authorization header
//      beside a good cookie; 403 mallory (not a member) and an unknown chat;
//      400 a plain GET; 404 an empty chat id; and the Authorization header
//      and ?tk= (on the gateway path /sphere/...) accepted, with a welcome.
//   1. alice connects (welcome [alice]); bob connects (welcome [alice, bob]),
//      alice gets "joined" bob; alice's createOffer (broadcast), bob answers,
//      candidates relayed; each decodes the other's colour. Every relayed
//      signal arrives once at every other connection (no `to`), exactly as
//      sent, stamped with the sender's account.
//   2. carol connects (welcome [alice, bob, carol], "joined" to both), offers
//      to alice and to bob with `to`; their answers and candidates come back
//      with `to` carol; only the addressee gets a directed signal; all three
//      decode both others' colours.
//   3. spoofing: bob's packets naming alice / carol as sender (all three
//      client forms) arrive stamped bob.
//   4. in-band errors on bob's connection: malformed JSON, not an object,
//      no type, non-string type (400), `to` mallory (404), a 20 KB signal
//      (413); then ping/pong and a directed signal still work; nobody else
//      got anything.
//   5. bob closes his page: alice and carol get "left" bob, [alice, carol].
//   6. dave (native: /ws?token=, handshake, join with a jsep offer,
//      accepted, ice_trickle, keepalives) joins the room's line: his
//      occupants list alice and carol with "media": "none"; alice and carol
//      get "joined" dave ([alice, carol, dave]) and nothing from dave;
//      dave's PeerConnection with the server connects; alice and carol keep
//      decoding each other; dave leaves: "left" dave.
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py with chat_realtime.json); PARTYLINE_URL is the page.

import crypto from 'node:crypto';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import WebSocket from 'ws';
import { check, colourWithin, nearestColour, pollUntil, runHarnessTest } from './line_page.mjs';
import { canonical, differences, hs256Token } from './test_util.mjs';

const BASE = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const CONFIG = JSON.parse(await readFile(new URL('chat_realtime.json', import.meta.url), 'utf8'));
const JWT_SECRET = CONFIG.auth.jwt_secret;
const CHAT_ID = CONFIG.lines.rooms[0].id;
const USERS = ['alice', 'bob', 'carol', 'dave'];
const NICKS = { alice: 'Alice', bob: 'Bob', carol: 'Carol', dave: 'Dave', mallory: 'Mallory' };
const COLOURS = { alice: [220, 40, 40], bob: [40, 180, 40], carol: [40, 70, 220], dave: [200, 200, 40] };
const TONES = { alice: 440, bob: 660, carol: 880, dave: 1100 };
const STEP_MS = 10000;
const MEDIA_DEADLINE_MS = 20000;
const MIN_FRAMES = 30;
const COLOUR_TOLERANCE = 60;
const SIGNAL_LIMIT_BYTES = 16384;

function makeToken(sub, { name = NICKS[sub], secret = JWT_SECRET, exp = Math.floor(Date.now() / 1000) + 3600 } = {}) {
  return hs256Token({ sub, name, exp }, secret);
}

/** ws://HOST/{prefix}/chat/realtime/{chatId}, with `query` parameters. */
function realtimeUrl(chatId = CHAT_ID, { prefix = '/api', query = {} } = {}) {
  const url = new URL(`${prefix}/chat/realtime/${chatId}`, BASE);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return url.toString();
}

/** The account as the server shows it (contract: name = id, nick = the JWT's name, profile {}). */
const account = (id) => ({ id, name: id, nick: NICKS[id], profile: {} });

// ---------------------------------------------------------------- in the pages

/**
 * Evaluated in alice's, bob's and carol's pages: the seed's client, as
 * `window.seed`; `window.seedLog` is what it sent and received.
 */
function seedClientIn({ chatId, userId, userName }) {
  const log = { received: [], sent: [], closes: [], errors: [], opened: false };
  window.seedLog = log;
  const serverUrl = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;

  class SignalingClient {
    constructor(chatId, serverUrl, userId, userName) {
      this.chatId = chatId;
      this.userId = userId;
      this.userName = userName;
      this.serverUrl = serverUrl;
      this.ws = null;
      this.isConnected = false;
      this.connectedPeers = new Map(); // userId -> senderInfo
      this.onPeerHandlers = [];
      this.onMessageHandlers = [];
    }

    // Connect to the signaling server
    async connect() {
      const url = `${this.serverUrl}/api/chat/realtime/${this.chatId}`;

      try {
        this.ws = new WebSocket(url);
        this.ws.onopen = (event) => {
          this.isConnected = true;
          log.opened = true;
          console.log('Connected to signaling server for chat:', this.chatId);
        };

        this.ws.onmessage = (event) => {
          let data = null;
          try { data = JSON.parse(event.data); } catch { data = { unparsed: String(event.data) }; }
          log.received.push({ at: performance.now(), data });
          this.handleMessage(event.data);
        };

        this.ws.onclose = (event) => {
          this.isConnected = false;
          log.closes.push({ at: performance.now(), code: event.code, reason: event.reason });
          console.log('Disconnected from signaling server');
        };

        this.ws.onerror = (error) => {
          console.error('WebSocket error:', error);
        };
      } catch (error) {
        console.error('Failed to connect to signaling server:', error);
        throw error;
      }
    }

    // Disconnect from the signaling server
    disconnect() {
      if (this.ws && this.isConnected) {
        this.ws.close();
        this.isConnected = false;
      }
    }

    handleMessage(message) {
      try {
        const packet = JSON.parse(message);

        if (packet.type === 'webrtc.signal') { // the seed: 'signaling'
          const signalingMessage = packet.data;
          const senderId = signalingMessage.senderAccountId; // the seed: SenderAccountId
          const senderInfo = signalingMessage.senderInfo; // the seed: SenderInfo

          // Track peer information with full account data
          if (!this.connectedPeers.has(senderId)) {
            this.connectedPeers.set(senderId, senderInfo);
            this.onPeerHandlers.forEach((handler) => {
              try {
                handler(senderId, senderInfo, 'connected');
              } catch (error) {
                console.error('Error in peer handler:', error);
              }
            });
            console.log(`New peer connected: ${senderInfo?.name || senderId} (${senderId})`);
          }

          // Ignore messages from yourself
          if (senderId === this.userId) {
            return;
          }

          const senderDisplay = senderInfo?.nick || senderInfo?.name || senderId;
          console.log(`Received ${signalingMessage.type} from ${senderDisplay} (${senderId})`);

          // Call handlers with signaling message and sender info
          this.onMessageHandlers.forEach((handler) => {
            try {
              handler(signalingMessage, senderId, senderInfo);
            } catch (error) {
              console.error('Error in message handler:', error);
            }
          });
        } else if (packet.type === 'webrtc') {
          // Handle connection established or other server messages
          console.log('Received server message:', packet.data.message);
        } else {
          console.warn('Unknown packet type:', packet.type);
        }
      } catch (error) {
        console.error('Failed to parse WebSocketPacket:', message, error);
      }
    }

    // Register message handlers
    onMessage(handler) {
      this.onMessageHandlers.push(handler);
      return () => {
        const index = this.onMessageHandlers.indexOf(handler);
        if (index > -1) {
          this.onMessageHandlers.splice(index, 1);
        }
      };
    }

    sendMessage(messageData) {
      if (!this.isConnected || !this.ws || this.ws.readyState !== WebSocket.OPEN) {
        console.warn('Cannot send message: WebSocket not connected');
        log.errors.push(`could not send ${JSON.stringify(messageData).slice(0, 80)}: not connected`);
        return false;
      }

      try {
        // Server will automatically add sender info - just send the signaling data
        const messageStr = JSON.stringify(messageData);
        log.sent.push({ at: performance.now(), message: JSON.parse(messageStr) });
        this.ws.send(messageStr);
        return true;
      } catch (error) {
        console.error('Failed to send message:', error);
        return false;
      }
    }

    /** For the test: a text frame as it is (malformed JSON). */
    sendRaw(text) {
      log.sent.push({ at: performance.now(), raw: text });
      this.ws.send(text);
    }
  }

  // One per remote account, sharing the page's SignalingClient.
  class WebRTCCPUB {
    constructor(signaling, peerId, to) {
      this.signaling = signaling;
      this.peerId = peerId;
      this.to = to; // null: the seed's broadcast
      this.peerConnection = null;
      this.localStream = null;
      this.remoteStream = null;
      this.remoteTracks = {};
      this.queue = Promise.resolve();

      // Initialize WebRTCPeerConnection with configuration
      this.initPeerConnection();
    }

    initPeerConnection() {
      // The seed's STUN servers (stun.l.google.com) left out: only loopback here.
      const configuration = { iceServers: [] };

      this.peerConnection = new RTCPeerConnection(configuration);

      // Handle ICE candidates
      this.peerConnection.onicecandidate = (event) => {
        if (event.candidate) {
          // Send ICE candidate via signaling server
          this.sendMessage({
            type: 'ice-candidate',
            candidate: event.candidate,
          });
        }
      };

      // Handle remote stream
      this.peerConnection.ontrack = (event) => {
        this.remoteStream = event.streams[0];
        this.remoteTracks[event.track.kind] = event.track;
        if (this.onRemoteStream) {
          this.onRemoteStream(this.remoteStream);
        }
      };
    }

    sendMessage(messageData) {
      return this.signaling.sendMessage(this.to ? { ...messageData, to: this.to } : messageData);
    }

    handleSignalingMessage(signalingMessage) {
      switch (signalingMessage.type) {
        case 'offer':
          return this.handleOffer(signalingMessage.data.offer);
        case 'answer':
          return this.handleAnswer(signalingMessage.data.answer);
        case 'ice-candidate':
          return this.handleIceCandidate(signalingMessage.data.candidate);
        default:
          console.warn('Unknown message type:', signalingMessage.type);
          return undefined;
      }
    }

    async createOffer() {
      try {
        const offer = await this.peerConnection.createOffer();
        await this.peerConnection.setLocalDescription(offer);

        // Send offer via signaling server
        this.sendMessage({
          type: 'offer',
          offer: offer,
        });
      } catch (error) {
        log.errors.push(`createOffer for ${this.peerId}: ${error.message}`);
        console.error('Error creating offer:', error);
      }
    }

    async handleOffer(offer) {
      try {
        await this.peerConnection.setRemoteDescription(new RTCSessionDescription(offer));
        const answer = await this.peerConnection.createAnswer();
        await this.peerConnection.setLocalDescription(answer);

        // Send answer via signaling server
        this.sendMessage({
          type: 'answer',
          answer: answer,
        });
      } catch (error) {
        log.errors.push(`handleOffer from ${this.peerId}: ${error.message}`);
        console.error('Error handling offer:', error);
      }
    }

    async handleAnswer(answer) {
      try {
        await this.peerConnection.setRemoteDescription(new RTCSessionDescription(answer));
      } catch (error) {
        log.errors.push(`handleAnswer from ${this.peerId}: ${error.message}`);
        console.error('Error handling answer:', error);
      }
    }

    async handleIceCandidate(candidate) {
      try {
        await this.peerConnection.addIceCandidate(new RTCIceCandidate(candidate));
      } catch (error) {
        log.errors.push(`handleIceCandidate from ${this.peerId}: ${error.message}`);
        console.error('Error handling ICE candidate:', error);
      }
    }

    // Get user media and add to peer connection
    async startLocalStream(constraints = { audio: true, video: true }) {
      try {
        this.localStream = await navigator.mediaDevices.getUserMedia(constraints);
        this.localStream.getTracks().forEach((track) => {
          this.peerConnection.addTrack(track, this.localStream);
        });
        return this.localStream;
      } catch (error) {
        console.error('Error accessing media devices:', error);
        throw error;
      }
    }
  }

  const signaling = new SignalingClient(chatId, serverUrl, userId, userName);
  const links = new Map(); // remote account -> WebRTCCPUB

  const linkFor = (peerId, to) => {
    const link = new WebRTCCPUB(signaling, peerId, to);
    links.set(peerId, link);
    link.ready = link.startLocalStream();
    link.ready.catch((error) => log.errors.push(`getUserMedia: ${error.message}`));
    return link;
  };

  signaling.onMessage((signalingMessage, senderId) => {
    let link = links.get(senderId);
    if (!link && signalingMessage.type === 'offer') {
      // The answerer: directed back when the offer was directed.
      link = linkFor(senderId, signalingMessage.to ? senderId : null);
    }
    if (!link) return;
    link.queue = link.queue.then(() => link.ready).then(() => link.handleSignalingMessage(signalingMessage))
      .catch((error) => log.errors.push(`${signalingMessage.type} from ${senderId}: ${error.message}`));
  });

  window.seed = {
    connect: () => signaling.connect(),
    disconnect: () => signaling.disconnect(),
    send: (message) => signaling.sendMessage(message),
    sendRaw: (text) => signaling.sendRaw(text),
    /** Starts the seed's call flow towards `peerId` (`to` it, or broadcast when `directed` is false). */
    async call(peerId, directed) {
      const link = linkFor(peerId, directed ? peerId : null);
      await link.ready;
      await link.createOffer();
    },
    gatheringComplete: () => [...links.values()].every((link) => link.peerConnection.iceGatheringState === 'complete'),
    /** What the PeerConnection with `peerId` receives. */
    async media(peerId) {
      const link = links.get(peerId);
      const figures = { state: link?.peerConnection.connectionState ?? 'no link', frames: 0, audio: 0, colour: null };
      if (!link) return figures;
      if (link.remoteTracks.video) figures.colour = window.trackColour(link.remoteTracks.video);
      for (const entry of (await link.peerConnection.getStats()).values()) {
        if (entry.type === 'inbound-rtp' && entry.kind === 'video') figures.frames += entry.framesDecoded ?? 0;
        if (entry.type === 'inbound-rtp' && entry.kind === 'audio') figures.audio += entry.packetsReceived ?? 0;
      }
      return figures;
    },
    peers: () => [...signaling.connectedPeers.keys()],
  };
}

/**
 * Evaluated in dave's page: a native partyline client from docs/protocol.md
 * (Connection, Identity, join, ice_trickle, Events), as `window.native`.
 */
function nativeClientIn() {
  const log = { received: [], sent: [], closes: [], errors: [], trickles: [] };
  window.nativeLog = log;
  let socket = null;
  let counter = 0;
  let keepalive = null;
  let pc = null;
  let remoteApplied = Promise.resolve(); // the answer, then the server's candidates, in order
  const pending = new Map();

  function send(message) {
    const transaction = `dave-${counter++}`;
    const withId = { ...message, transaction };
    log.sent.push({ at: performance.now(), message: withId });
    socket.send(JSON.stringify(withId));
    return transaction;
  }

  /** A request and its response (null if none within 10 s). */
  function request(message) {
    return new Promise((resolve) => {
      const transaction = send(message);
      const timer = setTimeout(() => { pending.delete(transaction); resolve(null); }, 10000);
      pending.set(transaction, (response) => { clearTimeout(timer); resolve(response); });
    });
  }

  function connect(url) {
    socket = new WebSocket(url);
    socket.addEventListener('message', (event) => {
      const data = JSON.parse(event.data);
      log.received.push({ at: performance.now(), data });
      if (data.transaction != null && pending.has(data.transaction)) {
        pending.get(data.transaction)(data);
        pending.delete(data.transaction);
        return;
      }
      if (data.handshake === 'state') {
        clearInterval(keepalive);
        keepalive = setInterval(() => send({ handshake: 'keepalive' }), data.keepalive_interval / 2);
      } else if (data.event === 'accepted' && pc) {
        remoteApplied = remoteApplied.then(() => pc.setRemoteDescription(data.jsep))
          .catch((error) => log.errors.push(`accepted: ${error.message}`));
      } else if (data.event === 'ice_candidate' && pc && data.candidate) {
        remoteApplied = remoteApplied.then(() => pc.addIceCandidate(data.candidate))
          .catch((error) => log.errors.push(`ice_candidate: ${error.message}`));
      }
    });
    socket.addEventListener('close', (event) => {
      clearInterval(keepalive);
      log.closes.push({ at: performance.now(), code: event.code, reason: event.reason });
    });
  }

  /** join with a jsep offer (camera and microphone); the response. */
  async function join(lineId) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    pc = new RTCPeerConnection({ iceServers: [] });
    stream.getTracks().forEach((track) => pc.addTrack(track, stream));
    pc.addEventListener('icecandidate', (event) => {
      const candidate = event.candidate ? event.candidate.toJSON() : null;
      request({ request: 'ice_trickle', candidate }).then((response) => log.trickles.push({ candidate, response }));
    });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    return request({ request: 'join', line_id: lineId, jsep: { type: offer.type, sdp: offer.sdp } });
  }

  window.native = {
    connect,
    join,
    request,
    state: () => pc?.connectionState ?? 'no pc',
  };
}

// ---------------------------------------------------------------- in Node



/** One packet for messages: SDPs shortened. */
function brief(data) {
  return JSON.stringify(data, (key, value) => (key === 'sdp' && typeof value === 'string' ? `<${value.length} bytes>` : value));
}

const absent = (value) => value === undefined;
const isString = (value) => typeof value === 'string' && value.length > 0;
const isTimestamp = (value) => typeof value === 'string'
  && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$/.test(value)
  && Math.abs(Date.parse(value) - Date.now()) < 5 * 60 * 1000;
const sameAs = (expected) => (value) => canonical(value) === canonical(expected);

// The matchers of the contract's packets.
const welcome = (who, participants) => ({
  type: 'webrtc',
  data: {
    userId: who, roomId: CHAT_ID, message: 'Connected to call', timestamp: isTimestamp, event: absent,
    participants: sameAs(participants.map(account)),
  },
});
const joinedOrLeft = (event, who, participants) => ({
  type: 'webrtc',
  data: {
    userId: who, roomId: CHAT_ID, event, message: `${NICKS[who]} ${event} the call`, timestamp: isTimestamp,
    participants: sameAs(participants.map(account)),
  },
});
const errorPacket = (code) => ({ type: 'error', data: { code, message: isString } });

/** The relayed form of a message a seed client sent (contract, "Client -> server"); null if it is not a signal. */
function relayedFrom(message) {
  if (!message || typeof message.type !== 'string' || message.type === 'ping') return null;
  if (message.type === 'webrtc.signal') {
    return { type: message.data.type, data: message.data.data, to: message.data.to };
  }
  if ('data' in message) return { type: message.type, data: message.data, to: message.to };
  const { type, to, ...rest } = message;
  return { type, data: rest, to };
}

/** Opens a WebSocket with node's `ws`: the HTTP status of its refusal, or 101 and its first packet. */
function tryUpgrade(url, headers = {}) {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { headers, handshakeTimeout: STEP_MS });
    const timer = setTimeout(() => { socket.terminate(); resolve({ status: 'no answer' }); }, STEP_MS);
    socket.on('unexpected-response', (request, response) => {
      clearTimeout(timer);
      response.resume();
      request.destroy();
      resolve({ status: response.statusCode });
    });
    socket.on('error', (error) => { clearTimeout(timer); resolve({ status: `error ${error.message}` }); });
    socket.on('message', (data) => {
      clearTimeout(timer);
      let packet;
      try { packet = JSON.parse(String(data)); } catch { packet = { unparsed: String(data) }; }
      // Closed, and the close finished (the server then no longer counts it), before resolving.
      socket.on('close', () => resolve({ status: 101, packet }));
      socket.close(1000);
    });
  });
}

/** A plain GET (no upgrade): its status. */
function plainGet(url, headers) {
  return new Promise((resolve) => {
    const request = http.get(url, { headers, timeout: STEP_MS }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('timeout', () => { request.destroy(); resolve('no answer'); });
    request.on('error', (error) => resolve(`error ${error.message}`));
  });
}

async function refusals() {
  const cookie = (token) => ({ Cookie: `AuthToken=${token}` });
  const good = makeToken('alice');
  const cases = [
    ['no JWT', realtimeUrl(), {}, 401],
    ['a JWT signed with another secret', realtimeUrl(), cookie(makeToken('alice', { secret: 'not-the-secret' })), 401],
    ['an expired JWT (?tk=)', realtimeUrl(CHAT_ID, { query: { tk: makeToken('alice', { exp: Math.floor(Date.now() / 1000) - 60 }) } }), {}, 401],
    ['a bad Authorization header before a good cookie', realtimeUrl(),
      { Authorization: `Bearer ${makeToken('alice', { secret: 'not-the-secret' })}`, ...cookie(good) }, 401],
    ['mallory, not a member', realtimeUrl(), cookie(makeToken('mallory')), 403],
    ['an unknown chat id', realtimeUrl(crypto.randomUUID()), cookie(good), 403],
    ['an empty chat id', realtimeUrl(''), cookie(good), 404],
  ];
  for (const [what, url, headers, wanted] of cases) {
    const { status } = await tryUpgrade(url, headers);
    check(status === wanted, `upgrade with ${what}: HTTP ${status}, not ${wanted}`);
    console.log(`    ${what}: ${status}`);
  }
  const plainUrl = new URL(`/api/chat/realtime/${CHAT_ID}`, BASE).toString();
  const plain = await plainGet(plainUrl, cookie(good));
  check(plain === 400, `a plain GET (no Upgrade) with a good JWT: HTTP ${plain}, not 400`);
  console.log(`    a plain GET: ${plain}`);
  // The other two places of the JWT, on both paths: accepted, with the welcome.
  const accepted = [
    ['the Authorization header', realtimeUrl(), { Authorization: `Bearer ${good}` }],
    ['?tk= on the gateway path', realtimeUrl(CHAT_ID, { prefix: '/sphere', query: { tk: good } }), {}],
  ];
  for (const [what, url, headers] of accepted) {
    const { status, packet } = await tryUpgrade(url, headers);
    check(status === 101, `upgrade with ${what}: HTTP ${status}, not 101`);
    const found = differences(packet, welcome('alice', ['alice']));
    check(found.length === 0, `upgrade with ${what}: the welcome: ${found.join('; ')} (${brief(packet)})`);
    console.log(`    ${what}: 101, welcome [alice]`);
  }
}

async function run(pages) {
  const seedPages = () => ['alice', 'bob', 'carol'].filter((who) => pages[who]);
  const readLog = (who) => pages[who].evaluate(() => JSON.parse(JSON.stringify(window.seedLog)));
  const mark = async (who) => pages[who].evaluate(() => ({
    received: window.seedLog.received.length, sent: window.seedLog.sent.length,
  }));
  const packetsSince = async (who, from) => (await pages[who].evaluate(
    (start) => window.seedLog.received.slice(start).map((entry) => entry.data), from.received ?? from));

  /** A ping on `who`'s connection, answered: whatever the server queued for it before has arrived. */
  const roundTrip = async (who) => {
    const from = await mark(who);
    check(await pages[who].evaluate(() => window.seed.send({ type: 'ping' })), `${who}: could not send a ping`);
    await pollUntil(`${who}'s pong`, () => packetsSince(who, from),
      (packets) => (packets.some((packet) => packet.type === 'pong') ? [] : ['no pong']), { timeoutMs: STEP_MS });
  };

  /**
   * Waits until `who` got as many packets of `types` since `from` as
   * `wanted` lists, checks them in order, then (after a ping's round trip)
   * that no more of those types came. Returns them.
   */
  const expectPackets = async (who, from, wanted, { types = ['webrtc'] } = {}) => {
    const ofTypes = async () => (await packetsSince(who, from)).filter((packet) => types.includes(packet.type));
    const { value } = await pollUntil(`${who}'s ${types.join('/')} packets`, ofTypes,
      (packets) => (packets.length >= wanted.length ? []
        : [`${packets.length} of ${wanted.length}: ${packets.map(brief).join(', ') || 'none'}`]), { timeoutMs: STEP_MS });
    wanted.forEach((expected, index) => {
      const found = differences(value[index], expected);
      check(found.length === 0, `${who}'s packet ${index + 1} (${types.join('/')}): ${found.join('; ')} `
        + `(packets: ${value.map(brief).join(', ')})`);
    });
    await roundTrip(who);
    const all = await ofTypes();
    check(all.length === wanted.length, `${who} got more ${types.join('/')} packets than expected: `
      + `${all.slice(wanted.length).map(brief).join(', ')}`);
    return all;
  };

  /** Connects the seed client of `who`; its first packet must be the welcome listing `participants`. */
  const connect = async (who, participants) => {
    await pages[who].evaluate(() => window.seed.connect());
    const { value } = await pollUntil(`${who}'s welcome`, () => readLog(who),
      (log) => (log.received.length > 0 ? [] : [`no packet (open: ${log.opened}, closes: ${brief(log.closes)})`]),
      { timeoutMs: STEP_MS });
    const found = differences(value.received[0].data, welcome(who, participants));
    check(found.length === 0, `${who}: the first packet should be the welcome: ${found.join('; ')} `
      + `(${brief(value.received[0].data)})`);
    // ... and the only one: the joiner gets no "joined" of its own, no error.
    await expectPackets(who, { received: 0 }, [welcome(who, participants)], { types: ['webrtc', 'error'] });
    console.log(`    ${who}: welcome, participants [${participants.join(', ')}]`);
  };

  /** Waits until `who` decodes > MIN_FRAMES more frames of `other`'s colour than `before`. */
  const expectMedia = async (who, other, before = { frames: 0 }) => {
    const { value, elapsedMs } = await pollUntil(`${who} receives ${other}`,
      () => pages[who].evaluate((peer) => window.seed.media(peer), other),
      (figures) => {
        const lacking = [];
        if (figures.state !== 'connected') lacking.push(`connection ${figures.state}`);
        if (!(figures.frames - before.frames > MIN_FRAMES)) lacking.push(`${figures.frames - before.frames} new frames`);
        if (!colourWithin(figures.colour, COLOURS[other], COLOUR_TOLERANCE) || nearestColour(figures.colour, COLOURS) !== other) {
          lacking.push(`colour ${JSON.stringify(figures.colour)} is not ${other}'s ${JSON.stringify(COLOURS[other])}`);
        }
        return lacking;
      }, { timeoutMs: MEDIA_DEADLINE_MS });
    console.log(`    ${who} <- ${other}: ${value.frames} frames of ${JSON.stringify(value.colour)}, `
      + `${value.audio} audio packets (${elapsedMs} ms)`);
    return value;
  };

  /**
   * Every signal the seed pages in `group` sent since `marks` reached
   * exactly its addressee (`to`), or every other page of the group, once,
   * as the contract relays it, stamped with the sender's account; and they
   * got no other signal. Returns how many were relayed.
   */
  const expectRelays = async (group, marks) => {
    const sentBy = {};
    for (const who of group) {
      sentBy[who] = (await readLog(who)).sent.slice(marks[who].sent)
        .map((entry) => relayedFrom(entry.message)).filter(Boolean);
    }
    const expectedAt = Object.fromEntries(group.map((who) => [who, new Map()]));
    for (const sender of group) {
      for (const signal of sentBy[sender]) {
        const key = canonical({ sender, type: signal.type, data: signal.data, to: signal.to ?? null });
        const addressees = signal.to ? [signal.to] : group.filter((who) => who !== sender);
        for (const who of addressees) expectedAt[who].set(key, (expectedAt[who].get(key) ?? 0) + 1);
      }
    }
    const keyOf = (packet) => canonical({
      sender: packet.data?.senderAccountId, type: packet.data?.type, data: packet.data?.data, to: packet.data?.to ?? null,
    });
    const shortKey = (key) => key.replace(/"sdp":"(?:[^"\\]|\\.)*"/g, '"sdp":"<...>"').slice(0, 300);
  const signalsAt = async (who) => (await packetsSince(who, marks[who])).filter((packet) => packet.type === 'webrtc.signal');
    let relayed = 0;
    for (const who of group) {
      const wanted = [...expectedAt[who].values()].reduce((sum, count) => sum + count, 0);
      await pollUntil(`${who} gets the ${wanted} signals sent to it`, () => signalsAt(who),
        (packets) => (packets.length >= wanted ? [] : [`${packets.length} of ${wanted}`]), { timeoutMs: STEP_MS });
      await roundTrip(who);
      const got = new Map();
      for (const packet of await signalsAt(who)) {
        const sender = packet.data?.senderAccountId;
        check(group.includes(sender) && sender !== who, `${who} got a signal stamped ${JSON.stringify(sender)}: ${brief(packet)}`);
        const info = differences(packet.data, { senderInfo: sameAs(account(sender)) });
        check(info.length === 0, `${who}: senderInfo of ${sender}'s ${packet.data.type}: ${info.join('; ')}`);
        check(packet.data.to === undefined || packet.data.to === who,
          `${who} got a signal addressed to ${packet.data.to}: ${brief(packet)}`);
        const key = keyOf(packet);
        got.set(key, (got.get(key) ?? 0) + 1);
      }
      for (const [key, count] of got) {
        check(expectedAt[who].get(key) === count, `${who} got ${count} time(s) a signal that was sent to it `
          + `${expectedAt[who].get(key) ?? 0} time(s): ${shortKey(key)}`);
      }
      for (const [key, count] of expectedAt[who]) {
        check(got.get(key) === count, `${who} got ${got.get(key) ?? 0} of ${count} copies of ${shortKey(key)}`);
      }
      relayed += wanted;
      const kinds = {};
      for (const sender of group) {
        for (const signal of sentBy[sender]) {
          if (signal.to === who || (!signal.to && sender !== who)) kinds[signal.type] = (kinds[signal.type] ?? 0) + 1;
        }
      }
      console.log(`    ${who}: ${wanted} signals relayed exactly, stamped with their senders (${brief(kinds)})`);
    }
    return relayed;
  };

  const marksOf = async (group) => Object.fromEntries(await Promise.all(group.map(async (who) => [who, await mark(who)])));

  for (const who of ['alice', 'bob', 'carol']) {
    await pages[who].context().addCookies([{ name: 'AuthToken', value: makeToken(who), url: BASE }]);
    await pages[who].evaluate(seedClientIn, { chatId: CHAT_ID, userId: who, userName: NICKS[who] });
  }
  await pages.dave.evaluate(nativeClientIn);

  // 0. Refused (and accepted) upgrades, before anyone is in the chat.
  console.log('0. refusals before the upgrade (node, not the browser)');
  await refusals();

  // 1. alice and bob: the seed's call flow, broadcast.
  console.log('1. alice and bob');
  await connect('alice', ['alice']);
  const aliceBeforeBob = await mark('alice');
  await connect('bob', ['alice', 'bob']);
  await expectPackets('alice', aliceBeforeBob, [joinedOrLeft('joined', 'bob', ['alice', 'bob'])]);
  console.log('    alice: joined bob');
  let marks = await marksOf(['alice', 'bob']);
  await pages.alice.evaluate(() => window.seed.call('bob', false));
  await expectMedia('alice', 'bob');
  await expectMedia('bob', 'alice');
  await pollUntil('alice\'s and bob\'s ICE gathering', async () => [
    await pages.alice.evaluate(() => window.seed.gatheringComplete()),
    await pages.bob.evaluate(() => window.seed.gatheringComplete())],
  (done) => (done.every(Boolean) ? [] : ['gathering']), { timeoutMs: STEP_MS });
  await expectRelays(['alice', 'bob'], marks);
  const broadcastTo = (await readLog('alice')).sent.slice(marks.alice.sent).filter((entry) => 'to' in entry.message);
  check(broadcastTo.length === 0, `alice's seed flow should broadcast (no "to"): ${brief(broadcastTo)}`);

  // 2. carol: directed offers to both.
  console.log('2. carol, directed');
  const beforeCarol = await marksOf(['alice', 'bob']);
  await connect('carol', ['alice', 'bob', 'carol']);
  for (const who of ['alice', 'bob']) {
    await expectPackets(who, beforeCarol[who], [joinedOrLeft('joined', 'carol', ['alice', 'bob', 'carol'])]);
    console.log(`    ${who}: joined carol`);
  }
  marks = await marksOf(['alice', 'bob', 'carol']);
  const meshBefore = {
    alice: await pages.alice.evaluate(() => window.seed.media('bob')),
    bob: await pages.bob.evaluate(() => window.seed.media('alice')),
  };
  await pages.carol.evaluate(() => window.seed.call('alice', true));
  await pages.carol.evaluate(() => window.seed.call('bob', true));
  await expectMedia('carol', 'alice');
  await expectMedia('carol', 'bob');
  await expectMedia('alice', 'carol');
  await expectMedia('bob', 'carol');
  await expectMedia('alice', 'bob', meshBefore.alice);
  await expectMedia('bob', 'alice', meshBefore.bob);
  await pollUntil('the ICE gathering of all links', async () => Promise.all(
    ['alice', 'bob', 'carol'].map((who) => pages[who].evaluate(() => window.seed.gatheringComplete()))),
  (done) => (done.every(Boolean) ? [] : ['gathering']), { timeoutMs: STEP_MS });
  await expectRelays(['alice', 'bob', 'carol'], marks);
  for (const who of ['alice', 'bob', 'carol']) {
    const sent = (await readLog(who)).sent.slice(marks[who].sent).map((entry) => entry.message);
    const undirected = sent.filter((message) => message.type !== 'ping' && !message.to);
    check(undirected.length === 0, `${who}: carol's signals and the answers to them should all be directed: ${brief(undirected)}`);
  }

  // 3. Spoofing: bob claims to be someone else, in each client form.
  console.log('3. spoofing');
  marks = await marksOf(['alice', 'bob', 'carol']);
  const spoofs = [
    { type: 'webrtc.signal', data: { type: 'spoof-envelope', data: { n: 1 }, to: 'carol', senderAccountId: 'alice', senderInfo: account('alice') } },
    { type: 'spoof-seed-form', note: 'hello', senderAccountId: 'carol', senderInfo: { ...account('carol'), nick: 'Not Carol' } },
    { type: 'spoof-data-form', data: { n: 3 }, to: 'alice', senderAccountId: 'alice', senderInfo: account('alice') },
  ];
  for (const message of spoofs) check(await pages.bob.evaluate((body) => window.seed.send(body), message), 'bob: not sent');
  const stamped = (type, data, to) => ({
    type: 'webrtc.signal',
    data: { type, data, to: to ?? absent, senderAccountId: 'bob', senderInfo: sameAs(account('bob')) },
  });
  await expectPackets('carol', marks.carol, [
    stamped('spoof-envelope', sameAs({ n: 1 }), 'carol'),
    stamped('spoof-seed-form', (data) => data?.note === 'hello'),
  ], { types: ['webrtc.signal'] });
  await expectPackets('alice', marks.alice, [
    stamped('spoof-seed-form', (data) => data?.note === 'hello'),
    stamped('spoof-data-form', sameAs({ n: 3 }), 'alice'),
  ], { types: ['webrtc.signal'] });
  await expectPackets('bob', marks.bob, [], { types: ['webrtc.signal', 'webrtc', 'error'] });
  console.log('    carol and alice: bob\'s packets arrived stamped bob; bob got none back');

  // 4. In-band errors on bob's connection.
  console.log('4. in-band errors');
  marks = await marksOf(['alice', 'bob', 'carol']);
  await pages.bob.evaluate(() => window.seed.sendRaw('{"type": "offer", "offer": '));
  await pages.bob.evaluate(() => window.seed.sendRaw('[1, 2, 3]'));
  await pages.bob.evaluate(() => window.seed.sendRaw('{"data": {"n": 1}}'));
  await pages.bob.evaluate(() => window.seed.sendRaw('{"type": 7, "data": {}}'));
  await pages.bob.evaluate(() => window.seed.send({ type: 'offer', offer: { type: 'offer', sdp: 'v=0\r\n' }, to: 'mallory' }));
  await pages.bob.evaluate((size) => window.seed.send({ type: 'big', data: { blob: 'x'.repeat(size) } }), SIGNAL_LIMIT_BYTES + 4000);
  await expectPackets('bob', marks.bob, [errorPacket(400), errorPacket(400), errorPacket(400), errorPacket(400),
    errorPacket(404), errorPacket(413)], { types: ['error', 'webrtc', 'webrtc.signal'] });
  for (const who of ['alice', 'carol']) await expectPackets(who, marks[who], [], { types: ['error', 'webrtc', 'webrtc.signal'] });
  const errors = (await packetsSince('bob', marks.bob)).filter((packet) => packet.type === 'error');
  console.log(`    bob: ${errors.map((packet) => `${packet.data.code} ${JSON.stringify(packet.data.message)}`).join(', ')}`);
  marks = await marksOf(['alice', 'bob', 'carol']);
  check(await pages.bob.evaluate(() => window.seed.send({ type: 'still-here', n: 4, to: 'alice' })), 'bob: not sent');
  await expectPackets('alice', marks.alice, [stamped('still-here', sameAs({ n: 4 }), 'alice')], { types: ['webrtc.signal'] });
  await expectPackets('carol', marks.carol, [], { types: ['webrtc.signal'] });
  console.log('    bob\'s connection still usable: ping/pong, a directed signal to alice');

  // 5. bob leaves.
  console.log('5. bob leaves');
  marks = await marksOf(['alice', 'carol']);
  const bobsCloses = (await readLog('bob')).closes;
  check(bobsCloses.length === 0, `bob's connection was closed before he left: ${brief(bobsCloses)}`);
  await pages.bob.close();
  delete pages.bob;
  for (const who of ['alice', 'carol']) {
    await expectPackets(who, marks[who], [joinedOrLeft('left', 'bob', ['alice', 'carol'])]);
    console.log(`    ${who}: left bob, participants [alice, carol]`);
  }

  // 6. dave, a native partyline client, in the room's line.
  console.log('6. dave, native');
  marks = await marksOf(['alice', 'carol']);
  const davesUrl = new URL('/ws', BASE);
  davesUrl.protocol = davesUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  davesUrl.searchParams.set('token', makeToken('dave'));
  await pages.dave.evaluate((url) => window.native.connect(url), davesUrl.toString());
  const daveLog = () => pages.dave.evaluate(() => JSON.parse(JSON.stringify(window.nativeLog)));
  const occupantsOf = (log) => log.received.map((entry) => entry.data)
    .filter((data) => data.event === 'occupants' && data.line?.line_id === CHAT_ID);
  const { value: connected } = await pollUntil('dave\'s handshake and occupants', daveLog,
    (log) => (occupantsOf(log).length > 0 ? [] : [`got ${log.received.map((entry) => brief(entry.data)).join(', ') || 'nothing'}`
      + `, closes ${brief(log.closes)}`]), { timeoutMs: STEP_MS });
  const handshake = differences(connected.received[0].data, { handshake: 'state', user: { user: 'dave', name: 'Dave' } });
  check(handshake.length === 0, `dave: the first message should be the handshake state: ${handshake.join('; ')}`);
  const occupantsWanted = (entries) => (occupants) => Array.isArray(occupants) && occupants.length === entries.length
    && entries.every(([user, media]) => occupants.some((occupant) => occupant.user === user
      && occupant.name === NICKS[user] && occupant.media === media));
  const seedOccupants = [['alice', 'none'], ['carol', 'none']];
  const first = occupantsOf(connected)[0];
  check(occupantsWanted(seedOccupants)(first.line.occupants),
    `dave's first occupants should be alice and carol with "media": "none": ${brief(first.line.occupants)}`);
  console.log('    dave: handshake; occupants alice and carol, "media": "none"');
  const joined = await pages.dave.evaluate((line) => window.native.join(line), CHAT_ID);
  const joinFound = differences(joined, { response: 'success', request: 'join', line_id: CHAT_ID });
  check(joinFound.length === 0, `dave's join: ${joinFound.join('; ')} (${brief(joined)})`);
  const { value: afterJoin } = await pollUntil('dave\'s accepted and occupants with him', daveLog, (log) => {
    const lacking = [];
    if (!log.received.some((entry) => entry.data.event === 'accepted')) lacking.push('no accepted');
    const last = occupantsOf(log).at(-1);
    if (!occupantsWanted([...seedOccupants, ['dave', 'server']])(last?.line?.occupants)) {
      lacking.push(`occupants ${brief(last?.line?.occupants)}`);
    }
    return lacking;
  }, { timeoutMs: STEP_MS });
  const accepted = afterJoin.received.find((entry) => entry.data.event === 'accepted').data;
  const acceptedFound = differences(accepted, {
    line_id: CHAT_ID, jsep: { type: 'answer', sdp: (sdp) => typeof sdp === 'string' && sdp.startsWith('v=0') },
  });
  check(acceptedFound.length === 0, `dave's accepted: ${acceptedFound.join('; ')} (${brief(accepted)})`);
  console.log('    dave: join success, accepted with the answer, occupants alice, carol (none) and dave (server)');
  const { value: daveState } = await pollUntil('dave\'s PeerConnection with the server', () => daveLog().then(async (log) => ({
    log, state: await pages.dave.evaluate(() => window.native.state()),
  })), ({ state, log }) => {
    const lacking = [];
    if (state !== 'connected') lacking.push(`connection ${state}`);
    if (log.trickles.length === 0) lacking.push('no ice_trickle answered');
    return lacking;
  }, { timeoutMs: MEDIA_DEADLINE_MS });
  const badTrickles = daveState.log.trickles.filter(({ response }) => response?.response !== 'success');
  check(badTrickles.length === 0, `dave's ice_trickle requests should succeed: ${brief(badTrickles)}`);
  console.log(`    dave: PeerConnection connected; ${daveState.log.trickles.length} ice_trickle requests, all success`);
  for (const who of ['alice', 'carol']) {
    await expectPackets(who, marks[who], [joinedOrLeft('joined', 'dave', ['alice', 'carol', 'dave'])],
      { types: ['webrtc', 'error'] });
    const strangers = (await packetsSince(who, marks[who])).filter((packet) => !['webrtc', 'pong'].includes(packet.type)
      && !(packet.type === 'webrtc.signal' && ['alice', 'carol'].includes(packet.data?.senderAccountId)));
    check(strangers.length === 0, `${who} got packets that are not the seed mesh's: ${strangers.map(brief).join(', ')}`);
    console.log(`    ${who}: joined dave, participants [alice, carol, dave]; nothing from the SFU`);
  }
  // dave is in now: the seed mesh keeps decoding.
  const meshAtDave = {
    alice: await pages.alice.evaluate(() => window.seed.media('carol')),
    carol: await pages.carol.evaluate(() => window.seed.media('alice')),
  };
  await expectMedia('alice', 'carol', meshAtDave.alice);
  await expectMedia('carol', 'alice', meshAtDave.carol);
  marks = await marksOf(['alice', 'carol']);
  const left = await pages.dave.evaluate((line) => window.native.request({ request: 'leave', line_id: line }), CHAT_ID);
  check(left?.response === 'success', `dave's leave: ${brief(left)}`);
  for (const who of ['alice', 'carol']) {
    await expectPackets(who, marks[who], [joinedOrLeft('left', 'dave', ['alice', 'carol'])]);
    console.log(`    ${who}: left dave, participants [alice, carol]`);
  }

  // Throughout: nothing failed in the clients, no connection closed.
  for (const who of seedPages()) {
    const log = await readLog(who);
    check(log.errors.length === 0, `${who}: the client failed: ${log.errors.join(' | ')}`);
    check(log.closes.length === 0, `${who}: connection closed: ${brief(log.closes)}`);
    // Every relayed packet of the whole run: another seed account's, stamped with its account.
    const signals = log.received.map((entry) => entry.data).filter((packet) => packet.type === 'webrtc.signal');
    const badStamps = signals.filter((packet) => !['alice', 'bob', 'carol'].includes(packet.data?.senderAccountId)
      || packet.data.senderAccountId === who || canonical(packet.data.senderInfo) !== canonical(account(packet.data.senderAccountId)));
    check(badStamps.length === 0, `${who}: relayed packets with a wrong stamp: ${badStamps.map(brief).join(', ')}`);
    console.log(`    ${who}: ${log.received.length} packets (${signals.length} relayed, all stamped), ${log.sent.length} sent, no error`);
  }
  const finalDave = await daveLog();
  check(finalDave.errors.length === 0, `dave: the client failed: ${finalDave.errors.join(' | ')}`);
  check(finalDave.closes.length === 0, `dave: connection closed: ${brief(finalDave.closes)}`);
  const keepalives = finalDave.received.filter((entry) => entry.data.handshake === 'keepalive').length;
  console.log(`    dave: ${finalDave.received.length} messages (${keepalives} keepalives answered), no error`);
}

/** On failure: each page's last packets and closes. */
async function onFailure(pages) {
  for (const [who, page] of Object.entries(pages)) {
    const log = await page.evaluate(() => {
      const found = window.seedLog ?? window.nativeLog;
      return found && JSON.parse(JSON.stringify(found));
    }).catch(() => null);
    if (!log) continue;
    console.log(`--- ${who}: last packets (of ${log.received.length}), closes ${brief(log.closes)}, errors ${brief(log.errors)}`);
    for (const entry of log.received.slice(-12)) console.log(`    ${Math.round(entry.at)} ${brief(entry.data).slice(0, 400)}`);
  }
}

const started = Date.now();
process.exitCode = await runHarnessTest({
  users: USERS, pageUrl: BASE, colours: COLOURS, tones: TONES, onFailure,
  run: async (pages) => {
    await run(pages);
    console.log(`    (${Math.round((Date.now() - started) / 1000)} s)`);
  },
  passMessage: 'seed 001 chat realtime in Chromium: refusals (401, 403, 400, 404), welcome and joined/left with '
    + 'participants, broadcast and directed mesh signaling with media by colour, server-stamped senders, '
    + 'in-band errors (400, 404, 413), a native client in the same line',
});
