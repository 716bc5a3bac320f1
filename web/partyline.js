// partyline browser client: the JSON-over-WebSocket protocol of
// docs/protocol.md, and an echo-test call built on it.
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
 * ({state, reason}), 'error' (PartylineError), 'close' ({code, reason}).
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

  /** Opens the socket; resolves with the server's handshake state. */
  connect(url, { timeoutMs = 10000 } = {}) {
    if (this.#socket) throw new Error('PartylineClient: already connected');
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
 * An echo test: sends local camera and microphone to the server, which sends
 * them back. Events: 'localstream', 'remotestream', 'webrtc_state',
 * 'iceconnectionstatechange', 'connectionstatechange', 'error'.
 */
export class EchoCall extends Emitter {
  pc = null;
  localStream = null;
  remoteStream = null;
  #client;
  #unsubscribe = [];
  #remoteCandidates = [];
  #remoteDescriptionSet = false;
  #offerSent = false;
  #localCandidates = [];
  #active = true;

  constructor(client, { mediaConstraints, rtcConfiguration } = {}) {
    super();
    this.#client = client;
    this.mediaConstraints = mediaConstraints ?? {
      audio: true,
      video: { width: 640, height: 480, frameRate: 30 },
    };
    this.rtcConfiguration = rtcConfiguration ?? {
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
    };
  }

  /** Runs the offer/answer exchange; resolves once the answer is applied. */
  async start() {
    try {
      await this.#negotiate();
    } catch (error) {
      // Errors of requests still in flight (trickles) would only hide this one.
      this.#active = false;
      throw error;
    }
  }

  async #negotiate() {
    this.localStream = await navigator.mediaDevices.getUserMedia(this.mediaConstraints);
    this.emit('localstream', this.localStream);

    const pc = new RTCPeerConnection(this.rtcConfiguration);
    this.pc = pc;
    this.#wirePeerConnection(pc);
    this.#wireServerEvents();
    for (const track of this.localStream.getTracks()) pc.addTrack(track, this.localStream);

    const offer = await pc.createOffer();
    // Send the offer first, so that trickled candidates (which start flowing
    // with setLocalDescription) reach the server after it.
    const answered = this.#client.request('echo', { jsep: { type: offer.type, sdp: offer.sdp } });
    answered.catch(() => {}); // handled below; avoids an "unhandled rejection" while we wait
    this.#offerSent = true;
    await pc.setLocalDescription(offer);
    const response = await answered;
    if (!response.jsep || response.jsep.type !== 'answer') {
      throw new PartylineError(500, 'echo response carries no answer', 'echo');
    }
    await pc.setRemoteDescription(response.jsep);
    this.#remoteDescriptionSet = true;
    for (const candidate of this.#remoteCandidates.splice(0)) await this.#addRemoteCandidate(candidate);
  }

  /** Hangs up (if the session is still up) and releases camera and peer. */
  async stop() {
    this.#active = false;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    if (this.pc && this.#client.connected) {
      await this.#client.request('hangup').catch(() => {});
    }
    this.pc?.close();
    for (const track of this.localStream?.getTracks() ?? []) track.stop();
  }

  #wirePeerConnection(pc) {
    pc.addEventListener('icecandidate', (event) => {
      const candidate = event.candidate;
      // Chromium signals the end of a gathering generation with an empty
      // candidate string; the null candidate that follows is the real end.
      if (candidate && !candidate.candidate) return;
      this.#sendLocalCandidate(candidate ? candidate.toJSON() : null);
    });
    pc.addEventListener('track', (event) => {
      if (!this.remoteStream) {
        this.remoteStream = event.streams[0] ?? new MediaStream();
        this.emit('remotestream', this.remoteStream);
      }
      if (!this.remoteStream.getTracks().includes(event.track)) this.remoteStream.addTrack(event.track);
    });
    pc.addEventListener('iceconnectionstatechange', () =>
      this.emit('iceconnectionstatechange', pc.iceConnectionState));
    pc.addEventListener('connectionstatechange', () =>
      this.emit('connectionstatechange', pc.connectionState));
  }

  #wireServerEvents() {
    this.#unsubscribe.push(
      this.#client.on('ice_candidate', (candidate) => {
        if (this.#remoteDescriptionSet) this.#addRemoteCandidate(candidate);
        else this.#remoteCandidates.push(candidate);
      }),
      this.#client.on('webrtc_state', (state) => this.emit('webrtc_state', state)),
      this.#client.on('error', (error) => this.emit('error', error)),
    );
  }

  #sendLocalCandidate(candidate) {
    if (!this.#offerSent) {
      this.#localCandidates.push(candidate);
      return;
    }
    const queued = this.#localCandidates.splice(0);
    for (const item of [...queued, candidate]) {
      this.#client.request('ice_trickle', { candidate: item })
        .catch((error) => this.#active && this.emit('error', error));
    }
  }

  async #addRemoteCandidate(candidate) {
    try {
      // null means end of candidates: addIceCandidate() with no argument.
      if (candidate === null || candidate.completed) await this.pc.addIceCandidate();
      else await this.pc.addIceCandidate(candidate);
    } catch (error) {
      this.emit('error', new PartylineError(400, `server candidate rejected: ${error.message}`));
    }
  }
}
