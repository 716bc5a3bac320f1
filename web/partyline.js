// partyline browser client: the JSON-over-WebSocket protocol of
// docs/protocol.md, and the two calls built on it: an echo test (EchoCall)
// and the media of a phone-line occupancy (LineCall).
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

/**
 * One WebSocket session with the server.
 *
 * Events: 'ice_candidate' (candidate object or null), 'webrtc_state'
 * ({state, reason}), 'error' (PartylineError), 'close' ({code, reason}),
 * and every other server event under its own name with the whole message
 * ('occupants', 'incoming_call', 'ringing', 'accepted', 'update', ...).
 */
export class PartylineClient extends Emitter {
  #socket = null;
  #pending = new Map();
  #nextTransaction = 1;
  #keepaliveTimer = null;

  /** The handshake state message, once connected. */
  handshake = null;

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
   */
  connect(url, { timeoutMs = 10000, name = null } = {}) {
    if (this.#socket) throw new Error('PartylineClient: already connected');
    url = withIdentity(url, name ?? guestName());
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
        reject(new PartylineError(CLOSED_CODE, `socket closed (${event.code}) before the handshake`));
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
    if (wasOpen) this.emit('close', { code, reason });
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
 * The media of one phone-line occupancy (see "Phone lines" in
 * docs/protocol.md): local camera and microphone offered with `join` (or
 * `accept` with jsep, or `outgoing_call`); the answer arrives in the
 * `accepted` event; the server's later offers (`update` events) are answered
 * with `update` requests.
 *
 * The server forwards each other occupant's media as one stream whose id is
 * that occupant's `session` (as in `occupants`): `remoteStreams` maps
 * session ids to the streams that have tracks now. When a publisher leaves,
 * its m-lines turn inactive and the browser removes its tracks from its
 * stream (and mutes them); the stream then leaves `remoteStreams`.
 *
 * Events: 'localstream'; 'remotetrack' and 'remotetrackremoved' with
 * `{ session, stream, track }` (after `remoteStreams` is updated);
 * 'webrtc_state', 'iceconnectionstatechange', 'connectionstatechange', 'error'.
 */
export class LineCall extends Emitter {
  static ANSWER_TIMEOUT_MS = 15000;

  pc = null;
  localStream = null;
  /** @type {Map<string, MediaStream>} publisher session id -> its stream */
  remoteStreams = new Map();
  lineId = null;
  #client;
  #bridge = null;
  #unsubscribe = [];
  // Our offer, then each server offer, one after the other: an `update` may
  // arrive while our own offer is still being applied (the server offers the
  // others' streams right after answering a join), and applying it then
  // would roll our offer back.
  #negotiations = Promise.resolve();

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
    const negotiated = this.#negotiate(sendOffer);
    this.#negotiations = negotiated.catch(() => {});
    try {
      return await negotiated;
    } catch (error) {
      if (this.#bridge) this.#bridge.active = false;
      throw error;
    }
  }

  async #negotiate(sendOffer) {
    this.localStream = await navigator.mediaDevices.getUserMedia(this.mediaConstraints);
    this.emit('localstream', this.localStream);
    const pc = new RTCPeerConnection(this.rtcConfiguration);
    this.pc = pc;
    this.#bridge = new CandidateBridge(this.#client, pc, (error) => this.emit('error', error));
    pc.addEventListener('track', (event) => this.#onRemoteTrack(event));
    forwardPeerStates(this, pc);
    // Subscribe before the request: the answer may come right after it.
    const answer = this.#waitForAnswer();
    answer.promise.catch(() => {});
    this.#unsubscribe.push(
      answer.cancel,
      this.#client.on('webrtc_state', (state) => this.emit('webrtc_state', state)),
      this.#client.on('error', (error) => this.emit('error', error)),
      this.#client.on('update', (message) => {
        this.#negotiations = this.#negotiations.then(() => this.#answerServerOffer(message));
      }),
    );
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

  /** Renegotiation: the server offers, we answer (the server is impolite). */
  async #answerServerOffer(message) {
    if (!this.pc || message.line_id !== this.lineId || message.jsep?.type !== 'offer') return;
    try {
      await this.pc.setRemoteDescription(message.jsep);
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      await this.#client.request('update', { jsep: { type: answer.type, sdp: answer.sdp } });
    } catch (error) {
      this.emit('error', error);
    }
  }

  /** Mutes locally (track.enabled) and tells the others (`mute`). */
  async setMuted(flags) {
    for (const [kind, muted] of Object.entries(flags)) {
      for (const track of this.localStream?.getTracks() ?? []) {
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
    if (notifyServer && this.pc && this.lineId && this.#client.connected) {
      await this.#client.request(hangup ? 'hangup' : 'leave', { line_id: this.lineId }).catch(() => {});
    }
    this.pc?.close();
    this.pc = null;
    this.remoteStreams.clear();
    for (const track of this.localStream?.getTracks() ?? []) track.stop();
  }
}
