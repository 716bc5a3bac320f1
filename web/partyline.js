// partyline browser client: the JSON-over-WebSocket protocol of
// docs/protocol.md, and the two calls built on it: an echo test (EchoCall)
// and a phone-line occupancy (LineCall: media through the server, or
// signaling-only with `signal` for the app's own peer-to-peer connections).
//
// Plain ES module, no dependencies, no build step.

/** A failed request, or an asynchronous error from the server. */
export class PartylineError extends Error {
  constructor(code, reason, request = null) {
    super(request ? `${request}: ${code} ${reason}` : `${code} ${reason}`);
    this.name = 'PartylineError';
    this.code = code;
    this.reason = reason;
    this.request = request;
  }
}

/** Minimal event emitter: on(name, fn) returns a function that unsubscribes. */
class Emitter {
  #listeners = new Map();

  on(name, listener) {
    if (!this.#listeners.has(name)) this.#listeners.set(name, new Set());
    this.#listeners.get(name).add(listener);
    return () => this.off(name, listener);
  }

  off(name, listener) {
    this.#listeners.get(name)?.delete(listener);
  }

  emit(name, payload) {
    for (const listener of [...(this.#listeners.get(name) ?? [])]) {
      try {
        listener(payload);
      } catch (err) {
        // A faulty listener must not break message dispatch for the others.
        console.error(`partyline: '${name}' listener failed`, err);
      }
    }
  }
}

/** Client error code used when the socket closes with requests pending. */
export const CLOSED_CODE = 0;

/** What the server's own WebSocket close codes mean ("WebSocket close codes" in docs/protocol.md). */
export const CLOSE_CODES = Object.freeze({
  4001: 'unauthorized',
  4002: 'keepalive missed',
  4003: 'server at capacity',
  4004: 'kicked by an operator',
  4005: 'replaced by a newer session of the same user',
  4006: 'the user is already connected',
});

/**
 * One WebSocket session with the server.
 *
 * Events: 'ice_candidate' (candidate object or null), 'webrtc_state'
 * ({state, reason}), 'error' (PartylineError), 'close' ({code, reason,
 * meaning}: `meaning` from CLOSE_CODES, or null), and every other server
 * event under its own name with the whole message ('occupants',
 * 'presence', 'signal', 'ready', 'incoming_call', 'ringing', 'accepted',
 * 'update', ...).
 */
export class PartylineClient extends Emitter {
  #socket = null;
  #pending = new Map();
  #nextTransaction = 1;
  #keepaliveTimer = null;

  /** The handshake state message, once connected. */
  handshake = null;
  /**
   * line id -> its members as the last `presence` event or `get_line`
   * response listed them: `[{ user, name, online, in_line }]`, sorted by user.
   */
  presence = new Map();

  get connected() {
    return this.#socket?.readyState === WebSocket.OPEN && this.handshake !== null;
  }

  get sessionId() {
    return this.handshake?.session ?? null;
  }

  /**
   * Opens the socket; resolves with the server's handshake state. The server
   * wants to know who connects ("Identity" in docs/protocol.md): a URL with
   * neither `token` nor `name` connects anonymously as `name`, by default a
   * random guest name (the echo test needs no identity of its own).
   * `force: false` refuses to take over when the server allows one session
   * per user and the user has one (the socket then closes with 4006);
   * by default a new session replaces the old one (which gets 4005).
   */
  connect(url, { timeoutMs = 10000, name = null, force = true } = {}) {
    if (this.#socket) throw new Error('PartylineClient: already connected');
    url = withIdentity(url, name ?? guestName());
    if (!force) url = withParameter(url, 'force', 'false');
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      this.#socket = socket;
      const timer = setTimeout(() => {
        reject(new PartylineError(CLOSED_CODE, `no handshake within ${timeoutMs} ms`));
        socket.close();
      }, timeoutMs);
      const settle = () => clearTimeout(timer);

      socket.addEventListener('message', (event) => {
        const message = this.#parse(event.data);
        if (!message) return;
        if (this.handshake === null) {
          if (message.handshake !== 'state') return;
          settle();
          this.handshake = message;
          this.#startKeepalive(message.keepalive_interval);
          resolve(message);
          return;
        }
        this.#dispatch(message);
      });
      socket.addEventListener('close', (event) => {
        settle();
        this.#onClose(event.code, event.reason);
        const meaning = CLOSE_CODES[event.code];
        reject(new PartylineError(CLOSED_CODE,
          `socket closed (${event.code}${meaning ? `: ${meaning}` : ''}) before the handshake`));
      });
    });
  }

  /**
   * Sends a request; resolves with the success response, rejects with a
   * PartylineError carrying the server's code and reason.
   */
  request(name, fields = {}) {
    const transaction = `t-${this.#nextTransaction++}`;
    return this.#send({ ...fields, request: name, transaction }, name);
  }

  /**
   * `signal`: relays `data` (any JSON value) to one occupant session of the
   * line this session occupies; it arrives there as a 'signal' event whose
   * `from` the server stamped. Resolves once the server queued it.
   */
  signal(lineId, toSession, data) {
    return this.request('signal', { line_id: lineId, to_session: toSession, data });
  }

  /**
   * `ready`: tells the caller of a call this session accepted how far it
   * got (`reason`, optional, is passed on as it is).
   */
  ready(callId, ready, reason = null) {
    return this.request('ready', { call_id: callId, ready, ...(reason !== null ? { reason } : {}) });
  }

  /**
   * `get_line`: resolves with `{ line, members }` (members: the line's
   * presence, also kept in `presence`).
   */
  async getLine(lineId) {
    const response = await this.request('get_line', { line_id: lineId });
    if (Array.isArray(response.members)) this.presence.set(lineId, response.members);
    return { line: response.line, members: response.members ?? null };
  }

  /** Closes the socket (normal closure). */
  close() {
    this.#socket?.close(1000, 'client closing');
  }

  #send(message, label) {
    if (!this.connected) {
      return Promise.reject(new PartylineError(CLOSED_CODE, 'not connected', label));
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(message.transaction, { resolve, reject, label });
      this.#socket.send(JSON.stringify(message));
    });
  }

  #parse(data) {
    if (typeof data !== 'string') return null;
    try {
      const message = JSON.parse(data);
      return message && typeof message === 'object' ? message : null;
    } catch {
      console.warn('partyline: unparsable message from server', data);
      return null;
    }
  }

  #dispatch(message) {
    if (message.handshake === 'keepalive' || message.response) {
      this.#settle(message);
    } else if (message.event === 'ice_candidate') {
      this.emit('ice_candidate', message.candidate ?? null);
    } else if (message.event === 'webrtc_state') {
      this.emit('webrtc_state', { state: message.state, reason: message.reason ?? null });
    } else if (message.event === 'error') {
      this.emit('error', new PartylineError(message.code, message.reason));
    } else if (message.event === 'presence') {
      if (Array.isArray(message.members)) this.presence.set(message.line_id, message.members);
      this.emit('presence', message);
    } else if (typeof message.event === 'string') {
      this.emit(message.event, message);
    }
  }

  #settle(message) {
    const pending = this.#pending.get(message.transaction);
    if (!pending) return;
    this.#pending.delete(message.transaction);
    if (message.response === 'error') {
      pending.reject(new PartylineError(message.code, message.reason, pending.label));
    } else {
      pending.resolve(message);
    }
  }

  #startKeepalive(intervalMs) {
    // The server closes a session silent for twice the interval; sending at
    // half the interval keeps a margin for timer throttling in background tabs.
    const period = Math.max(1000, Math.floor((intervalMs || 30000) / 2));
    this.#keepaliveTimer = setInterval(() => {
      const transaction = `k-${this.#nextTransaction++}`;
      this.#send({ handshake: 'keepalive', transaction }, 'keepalive').catch(() => {});
    }, period);
  }

  #onClose(code, reason) {
    clearInterval(this.#keepaliveTimer);
    this.#keepaliveTimer = null;
    const wasOpen = this.#socket !== null;
    this.#socket = null;
    for (const { reject, label } of this.#pending.values()) {
      reject(new PartylineError(CLOSED_CODE, `socket closed (${code})`, label));
    }
    this.#pending.clear();
    if (wasOpen) this.emit('close', { code, reason, meaning: CLOSE_CODES[code] ?? null });
  }
}

/** The WebSocket URL of the server that served this page. */
export function defaultSignalingUrl(location = window.location) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

/**
 * The signaling URL with an identity: `token` (a JWT) or `name` (anonymous,
 * when the server allows it). See "Identity" in docs/protocol.md.
 */
export function signalingUrlFor({ name = null, token = null } = {}, base = defaultSignalingUrl()) {
  const url = new URL(base);
  if (token) url.searchParams.set('token', token);
  else if (name) url.searchParams.set('name', name);
  return url.toString();
}

function withParameter(url, name, value) {
  const parsed = new URL(url);
  parsed.searchParams.set(name, value);
  return parsed.toString();
}

function withIdentity(url, name) {
  const parsed = new URL(url, typeof window === 'undefined' ? undefined : window.location.href);
  if (parsed.searchParams.has('token') || parsed.searchParams.has('name')) return parsed.toString();
  parsed.searchParams.set('name', name);
  return parsed.toString();
}

/** A random anonymous user id, e.g. `guest-3f9a1c`. */
export function guestName() {
  const bytes = crypto.getRandomValues(new Uint8Array(3));
  return `guest-${[...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

/** Anonymous user ids: what `?name=` accepts. */
export const ANONYMOUS_NAME_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;

/**
 * Carries ICE candidates between a local RTCPeerConnection and the server:
 * local ones go out as `ice_trickle` requests once the offer has been sent
 * (queued before), the server's are added once the remote description is
 * set (queued before). `onError` gets failures while active.
 */
export class CandidateBridge {
  #client;
  #pc;
  #onError;
  #offerSent = false;
  #remoteReady = false;
  #localQueue = [];
  #remoteQueue = [];
  #unsubscribe;
  active = true;

  constructor(client, pc, onError) {
    this.#client = client;
    this.#pc = pc;
    this.#onError = onError;
    pc.addEventListener('icecandidate', (event) => {
      const candidate = event.candidate;
      // Chromium signals the end of a gathering generation with an empty
      // candidate string; the null candidate that follows is the real end.
      if (candidate && !candidate.candidate) return;
      this.#sendLocal(candidate ? candidate.toJSON() : null);
    });
    this.#unsubscribe = client.on('ice_candidate', (candidate) => {
      if (this.#remoteReady) this.#addRemote(candidate);
      else this.#remoteQueue.push(candidate);
    });
  }

  /** The offer is on its way to the server: trickles may follow it. */
  offerSent() {
    this.#offerSent = true;
    for (const candidate of this.#localQueue.splice(0)) this.#trickle(candidate);
  }

  /** The server's answer is applied: its candidates can be added. */
  async remoteDescriptionSet() {
    this.#remoteReady = true;
    for (const candidate of this.#remoteQueue.splice(0)) await this.#addRemote(candidate);
  }

  stop() {
    this.active = false;
    this.#unsubscribe();
  }

  #sendLocal(candidate) {
    if (this.#offerSent) this.#trickle(candidate);
    else this.#localQueue.push(candidate);
  }

  #trickle(candidate) {
    if (!this.active) return;
    this.#client.request('ice_trickle', { candidate })
      .catch((error) => this.active && this.#onError(error));
  }

  async #addRemote(candidate) {
    try {
      // null means end of candidates: addIceCandidate() with no argument.
      if (candidate === null || candidate.completed) await this.#pc.addIceCandidate();
      else await this.#pc.addIceCandidate(candidate);
    } catch (error) {
      if (this.active) this.#onError(new PartylineError(400, `server candidate rejected: ${error.message}`));
    }
  }
}

const DEFAULT_RTC_CONFIGURATION = { bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };

/** EchoCall: sends a track event's track to the one stream of the echo. */
function collectRemoteTrack(call, event) {
  if (!call.remoteStream) {
    call.remoteStream = event.streams[0] ?? new MediaStream();
    call.emit('remotestream', call.remoteStream);
  }
  if (!call.remoteStream.getTracks().includes(event.track)) call.remoteStream.addTrack(event.track);
}

function forwardPeerStates(call, pc) {
  pc.addEventListener('iceconnectionstatechange', () => call.emit('iceconnectionstatechange', pc.iceConnectionState));
  pc.addEventListener('connectionstatechange', () => call.emit('connectionstatechange', pc.connectionState));
}

/**
 * An echo test: sends local camera and microphone to the server, which sends
 * them back. Events: 'localstream', 'remotestream', 'webrtc_state',
 * 'iceconnectionstatechange', 'connectionstatechange', 'error'.
 */
export class EchoCall extends Emitter {
  pc = null;
  localStream = null;
  remoteStream = null;
  #client;
  #bridge = null;
  #unsubscribe = [];

  constructor(client, { mediaConstraints, rtcConfiguration } = {}) {
    super();
    this.#client = client;
    this.mediaConstraints = mediaConstraints ?? {
      audio: true,
      video: { width: 640, height: 480, frameRate: 30 },
    };
    this.rtcConfiguration = rtcConfiguration ?? DEFAULT_RTC_CONFIGURATION;
  }

  /** Runs the offer/answer exchange; resolves once the answer is applied. */
  async start() {
    try {
      await this.#negotiate();
    } catch (error) {
      // Errors of requests still in flight (trickles) would only hide this one.
      if (this.#bridge) this.#bridge.active = false;
      throw error;
    }
  }

  async #negotiate() {
    this.localStream = await navigator.mediaDevices.getUserMedia(this.mediaConstraints);
    this.emit('localstream', this.localStream);

    const pc = new RTCPeerConnection(this.rtcConfiguration);
    this.pc = pc;
    this.#bridge = new CandidateBridge(this.#client, pc, (error) => this.emit('error', error));
    pc.addEventListener('track', (event) => collectRemoteTrack(this, event));
    forwardPeerStates(this, pc);
    this.#unsubscribe.push(
      this.#client.on('webrtc_state', (state) => this.emit('webrtc_state', state)),
      this.#client.on('error', (error) => this.emit('error', error)),
    );
    for (const track of this.localStream.getTracks()) pc.addTrack(track, this.localStream);

    const offer = await pc.createOffer();
    // Send the offer first, so that trickled candidates (which start flowing
    // with setLocalDescription) reach the server after it.
    const answered = this.#client.request('echo', { jsep: { type: offer.type, sdp: offer.sdp } });
    answered.catch(() => {}); // handled below; avoids an "unhandled rejection" while we wait
    this.#bridge.offerSent();
    await pc.setLocalDescription(offer);
    const response = await answered;
    if (!response.jsep || response.jsep.type !== 'answer') {
      throw new PartylineError(500, 'echo response carries no answer', 'echo');
    }
    await pc.setRemoteDescription(response.jsep);
    await this.#bridge.remoteDescriptionSet();
  }

  /** Hangs up (if the session is still up) and releases camera and peer. */
  async stop() {
    this.#bridge?.stop();
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    if (this.pc && this.#client.connected) {
      await this.#client.request('hangup').catch(() => {});
    }
    this.pc?.close();
    for (const track of this.localStream?.getTracks() ?? []) track.stop();
  }
}

/**
 * One phone-line occupancy (see "Phone lines" in docs/protocol.md).
 *
 * With media through the server: `start()` offers local camera and
 * microphone with `join` (or `accept` with jsep, or `outgoing_call`); the
 * answer arrives in the `accepted` event. Signaling-only: `joinWithoutMedia()`
 * joins with no PeerConnection (`"media": "none"`); the app may run its own
 * peer-to-peer connections with other occupants through `signal()` and the
 * 'signal' event, and may add media with the server later (`publish()`).
 *
 * Renegotiation goes both ways, one offer at a time: the server offers when
 * the streams we receive change (`update` events, answered with `update`
 * requests); `publish()` and `unpublish()` offer what we send (an `update`
 * request whose response carries the answer; the first one creates the
 * PeerConnection of a signaling-only occupant). Our offers and the server's
 * are handled strictly one after another. Glare: the server is the impolite
 * peer, so when our offer gets 409 because a server offer awaits our answer,
 * we roll back, answer the server's offer, and offer again.
 *
 * The server forwards each other occupant's media as one stream whose id is
 * that occupant's `session` (as in `occupants`): `remoteStreams` maps
 * session ids to the streams that have tracks now. A publisher's stream may
 * hold several tracks of a kind (a screen share beside a camera: track ids
 * `video-6f1c1f3e` and `video-6f1c1f3e-<mid>`). When a stream stops (its
 * publisher left or removed it), its m-line turns inactive and the browser
 * removes its track from the publisher's stream (and mutes it); a stream
 * with no tracks left leaves `remoteStreams`.
 *
 * Events: 'localstream'; 'remotetrack' and 'remotetrackremoved' with
 * `{ session, stream, track }` (after `remoteStreams` is updated); 'signal'
 * (the server's `signal` event for this line: `{ from, data, ... }`);
 * 'negotiation' (`{ step, ... }`, each step of an offer/answer exchange:
 * 'server-offer', 'answer-sent', 'offer-sent', 'answer-applied', 'refused',
 * 'rollback'); 'webrtc_state', 'iceconnectionstatechange',
 * 'connectionstatechange', 'error'.
 */
export class LineCall extends Emitter {
  static ANSWER_TIMEOUT_MS = 15000;
  /** How long a refused offer (409) waits for the server's offer it collided with. */
  static GLARE_TIMEOUT_MS = 5000;
  /** Offers made for one change before giving up (each glare costs one). */
  static MAX_OFFER_ATTEMPTS = 3;

  pc = null;
  localStream = null;
  /** @type {Map<string, MediaStream>} publisher session id -> its stream */
  remoteStreams = new Map();
  lineId = null;
  /** `server` with a PeerConnection with the server, `none` signaling-only, null before joining. */
  media = null;
  #client;
  #bridge = null;
  #unsubscribe = [];
  #subscribed = false;
  // Our offers and each server offer, one after the other: an `update` may
  // arrive while our own offer is still being applied (the server offers the
  // others' streams right after answering a join), and applying it then
  // would roll our offer back.
  #negotiations = Promise.resolve();
  // Server offers received and not answered yet, oldest first.
  #serverOffers = [];
  #serverOfferArrived = null;
  #holdingServerOffers = false;

  constructor(client, { mediaConstraints, rtcConfiguration } = {}) {
    super();
    this.#client = client;
    this.mediaConstraints = mediaConstraints ?? {
      audio: true,
      video: { width: 320, height: 240, frameRate: 15 },
    };
    this.rtcConfiguration = rtcConfiguration ?? DEFAULT_RTC_CONFIGURATION;
  }

  /**
   * Offers local media through `sendOffer(jsep)`, which sends the request
   * that carries the offer (`join`, `accept`, `outgoing_call`) and resolves
   * with its response; the response must name the line unless `lineId` is
   * known already. Resolves with that response once the answer is applied.
   */
  async start(sendOffer, lineId = null) {
    this.lineId = lineId;
    const negotiated = this.#enqueue(() => this.#negotiate(sendOffer));
    try {
      return await negotiated;
    } catch (error) {
      if (this.#bridge) this.#bridge.active = false;
      throw error;
    }
  }

  /**
   * Joins `lineId` signaling-only (`join` without jsep; `token` for users
   * who are not members yet): no local media, no PeerConnection. Resolves
   * with the response (`{ line_id, media: "none" }`).
   */
  async joinWithoutMedia(lineId, { token = null } = {}) {
    this.lineId = lineId;
    this.#subscribe();
    const response = await this.#client.request('join', { line_id: lineId, ...(token ? { token } : {}) });
    this.media = response.media ?? 'none';
    return response;
  }

  /**
   * Publishes `tracks` (default: all of `stream`'s) as new streams, each on
   * a new m-line (`addTransceiver(track, {direction: "sendonly", streams})`),
   * with one `update` offer; the first one gives a signaling-only occupant
   * its PeerConnection with the server. Resolves with the transceivers once
   * the server's answer is applied; on failure they are stopped.
   */
  publish(stream, tracks = stream.getTracks()) {
    if (!this.lineId) return Promise.reject(new Error('LineCall: publish() before joining a line'));
    return this.#enqueue(async () => {
      const created = !this.pc;
      if (created) this.#createPeer();
      const transceivers = tracks.map((track) =>
        this.pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] }));
      try {
        await this.#offerUpdate();
      } catch (error) {
        // Refused and rolled back: never in a negotiated description, so
        // stopping them leaves no rejected m-line behind.
        for (const transceiver of transceivers) transceiver.stop();
        if (created) this.#dropPeer();
        throw error;
      }
      this.media = 'server';
      return transceivers;
    });
  }

  /**
   * Stops publishing what `transceivers` send: their direction becomes
   * inactive, then an `update` offer tells the server. Resolves once the
   * answer is applied. Not `transceiver.stop()`: the server keeps an m-line
   * at port 0 rejected, and a browser may recycle a stopped transceiver's
   * m-line for a later `publish()`, which the server would refuse.
   */
  unpublish(transceivers) {
    return this.#enqueue(async () => {
      for (const transceiver of [transceivers].flat()) transceiver.direction = 'inactive';
      await this.#offerUpdate();
    });
  }

  /** Relays `data` to the occupant session `toSession` of our line (`signal`). */
  signal(toSession, data) {
    return this.#client.signal(this.lineId, toSession, data);
  }

  /**
   * Leaves server offers unanswered until the returned function is called
   * (they are kept, in order). An offer of ours made meanwhile meets glare:
   * it is refused, and the held offers are answered before we offer again.
   * Lets a test force that order; an app has no need for it.
   */
  holdServerOffers() {
    this.#holdingServerOffers = true;
    return () => {
      if (!this.#holdingServerOffers) return;
      this.#holdingServerOffers = false;
      this.#enqueue(() => this.#answerServerOffers());
    };
  }

  #enqueue(task) {
    const run = this.#negotiations.then(task);
    this.#negotiations = run.catch(() => {});
    return run;
  }

  /** Listens to the session's events that concern this call (once). */
  #subscribe() {
    if (this.#subscribed) return;
    this.#subscribed = true;
    this.#unsubscribe.push(
      this.#client.on('webrtc_state', (state) => this.emit('webrtc_state', state)),
      this.#client.on('error', (error) => this.emit('error', error)),
      this.#client.on('update', (message) => this.#onServerOffer(message)),
      this.#client.on('signal', (message) => {
        if (message.line_id === this.lineId) this.emit('signal', message);
      }),
    );
  }

  #createPeer() {
    const pc = new RTCPeerConnection(this.rtcConfiguration);
    this.pc = pc;
    this.#bridge = new CandidateBridge(this.#client, pc, (error) => this.emit('error', error));
    pc.addEventListener('track', (event) => this.#onRemoteTrack(event));
    forwardPeerStates(this, pc);
    return pc;
  }

  /** A PeerConnection the server never accepted: forget it. */
  #dropPeer() {
    this.#bridge?.stop();
    this.#bridge = null;
    this.pc?.close();
    this.pc = null;
  }

  async #negotiate(sendOffer) {
    this.localStream = await navigator.mediaDevices.getUserMedia(this.mediaConstraints);
    this.emit('localstream', this.localStream);
    const pc = this.#createPeer();
    // Subscribe before the request: the answer may come right after it.
    const answer = this.#waitForAnswer();
    answer.promise.catch(() => {});
    this.#unsubscribe.push(answer.cancel);
    this.#subscribe();
    for (const track of this.localStream.getTracks()) pc.addTrack(track, this.localStream);

    const offer = await pc.createOffer();
    const sent = sendOffer({ type: offer.type, sdp: offer.sdp });
    sent.catch(() => {});
    this.#bridge.offerSent();
    await pc.setLocalDescription(offer);
    const response = await sent;
    this.lineId = this.lineId ?? response.line_id ?? null;
    const jsep = await answer.promise;
    await pc.setRemoteDescription(jsep);
    await this.#bridge.remoteDescriptionSet();
    this.media = 'server';
    return response;
  }

  /** The `accepted` event carrying the answer (it has jsep, no call_id). */
  #waitForAnswer() {
    let cancel = () => {};
    const promise = new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new PartylineError(504, `no answer within ${LineCall.ANSWER_TIMEOUT_MS} ms`, 'join')),
        LineCall.ANSWER_TIMEOUT_MS);
      const off = this.#client.on('accepted', (message) => {
        if (!message.jsep || message.call_id) return;
        if (this.lineId && message.line_id !== this.lineId) return;
        clearTimeout(timer);
        off();
        if (message.jsep.type !== 'answer') reject(new PartylineError(500, 'accepted event carries no answer'));
        else resolve(message.jsep);
      });
      cancel = () => {
        clearTimeout(timer);
        off();
      };
    });
    return { promise, cancel };
  }

  /**
   * Our offer (`update` request, the answer in its response), from the
   * transceivers as they are now. On 409 (glare: a server offer awaits our
   * answer) we roll back, answer the server's offer, and offer again.
   */
  async #offerUpdate() {
    for (let attempt = 1; ; attempt += 1) {
      const pc = this.pc;
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      // Trickles (the first offer's candidates) follow the request on the socket.
      const sent = this.#client.request('update', { jsep: { type: offer.type, sdp: offer.sdp } });
      this.#bridge.offerSent();
      this.emit('negotiation', { step: 'offer-sent', attempt });
      let response;
      try {
        response = await sent;
      } catch (error) {
        this.emit('negotiation', { step: 'refused', attempt, code: error.code, reason: error.reason });
        if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
        this.emit('negotiation', { step: 'rollback', attempt });
        if (error.code !== 409 || attempt >= LineCall.MAX_OFFER_ATTEMPTS) throw error;
        if (!(await this.#serverOfferWithin(LineCall.GLARE_TIMEOUT_MS))) throw error;
        await this.#answerServerOffers();
        continue;
      }
      if (response.jsep?.type !== 'answer') throw new PartylineError(500, 'update response carries no answer', 'update');
      await pc.setRemoteDescription(response.jsep);
      await this.#bridge.remoteDescriptionSet();
      this.emit('negotiation', { step: 'answer-applied', attempt });
      return response;
    }
  }

  /** Resolves true once a server offer is waiting (at once if one is), false after `ms`. */
  #serverOfferWithin(ms) {
    if (this.#serverOffers.length > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#serverOfferArrived = null;
        resolve(false);
      }, ms);
      this.#serverOfferArrived = () => {
        clearTimeout(timer);
        this.#serverOfferArrived = null;
        resolve(true);
      };
    });
  }

  #onServerOffer(message) {
    if (message.line_id !== this.lineId || message.jsep?.type !== 'offer') return;
    this.#serverOffers.push(message);
    this.emit('negotiation', { step: 'server-offer', held: this.#holdingServerOffers });
    this.#serverOfferArrived?.();
    if (!this.#holdingServerOffers) this.#enqueue(() => this.#answerServerOffers());
  }

  /** Renegotiation: the server offers, we answer (the server is impolite). */
  async #answerServerOffers() {
    this.#holdingServerOffers = false;
    while (this.#serverOffers.length > 0) {
      const message = this.#serverOffers.shift();
      if (!this.pc) continue; // a signaling-only occupant gets none
      try {
        await this.pc.setRemoteDescription(message.jsep);
        const answer = await this.pc.createAnswer();
        await this.pc.setLocalDescription(answer);
        await this.#client.request('update', { jsep: { type: answer.type, sdp: answer.sdp } });
        this.emit('negotiation', { step: 'answer-sent' });
      } catch (error) {
        this.emit('error', error);
      }
    }
  }

  /**
   * A forwarded track: its stream is named after the publisher's session.
   * An m-line reused for a newcomer fires `track` again, with the newcomer's
   * stream and the same track object.
   */
  #onRemoteTrack({ track, streams: [stream] }) {
    if (!stream) {
      console.warn('partyline: a remote track without a stream (no a=msid) is ignored', track.id);
      return;
    }
    const session = stream.id;
    this.remoteStreams.set(session, stream);
    // A property handler, not addEventListener: set again for each of the
    // stream's tracks, it still runs once per removal.
    stream.onremovetrack = (event) => {
      if (stream.getTracks().length === 0 && this.remoteStreams.get(session) === stream) {
        this.remoteStreams.delete(session);
      }
      this.emit('remotetrackremoved', { session, stream, track: event.track });
    };
    this.emit('remotetrack', { session, stream, track });
  }

  /** Mutes locally (track.enabled) and tells the others (`mute`). */
  async setMuted(flags) {
    const tracks = new Set(this.localStream?.getTracks() ?? []);
    for (const sender of this.pc?.getSenders() ?? []) if (sender.track) tracks.add(sender.track);
    for (const [kind, muted] of Object.entries(flags)) {
      for (const track of tracks) {
        if (track.kind === kind) track.enabled = !muted;
      }
    }
    return this.#client.request('mute', flags);
  }

  /**
   * Leaves the line: `hangup` (which also cancels this session's ringing
   * invitations) when `hangup` is true, else `leave`; then releases camera
   * and peer.
   */
  async stop({ hangup = true, notifyServer = true } = {}) {
    this.#bridge?.stop();
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#subscribed = false;
    if (notifyServer && (this.pc || this.media !== null) && this.lineId && this.#client.connected) {
      await this.#client.request(hangup ? 'hangup' : 'leave', { line_id: this.lineId }).catch(() => {});
    }
    this.pc?.close();
    this.pc = null;
    this.media = null;
    this.#serverOffers = [];
    this.remoteStreams.clear();
    for (const track of this.localStream?.getTracks() ?? []) track.stop();
  }
}
