// partyline browser client: the JSON-over-WebSocket protocol of
// docs/protocol.md (PartylineClient, here), and the two calls built on it:
// an echo test (EchoCall, echo_call.js) and a phone-line occupancy
// (LineCall, line_call.js: media through the server, or signaling-only with
// `signal` for the app's own peer-to-peer connections). This module is the
// library's one entry point: it re-exports the others.
//
// Plain ES modules, no dependencies, no build step.

import { Emitter, PartylineError } from './emitter.js';

export { PartylineError } from './emitter.js';
export { CandidateBridge } from './call_support.js';
export { EchoCall } from './echo_call.js';
export { LineCall } from './line_call.js';

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
  4007: 'too slow: the client did not read what the server sent it',
  4008: 'cannot resume: unknown or expired resume token',
  4009: 'too many connections per second: retry later',
});

/**
 * Close codes after which the session is over. After any other (1006: the
 * connection was lost; 4002: the server heard no keepalive) the client
 * tries to resume ("Resuming a session" in docs/protocol.md).
 */
const FINAL_CLOSE_CODES = new Set([1000, 1001, 1003, 1009, 4001, 4003, 4004, 4005, 4006, 4007, 4008]);

/** Resume attempts: the first after about this long, then twice as long each time, up to the most. */
const RESUME_FIRST_DELAY_MS = 250;
const RESUME_MAX_DELAY_MS = 4000;

/**
 * One session with the server, over one WebSocket at a time: when the
 * connection is lost, the client reconnects with exponential backoff and
 * resumes the same session (its line, PeerConnection and invitations
 * survive on the server for the handshake's `resume_grace`).
 *
 * Events: 'ice_candidate' (candidate object or null), 'webrtc_state'
 * ({state, reason}), 'error' (PartylineError), 'reconnecting' ({code,
 * attempt, delayMs}: the connection was lost, the next attempt comes in
 * delayMs), 'reconnected' (the new handshake state; the server's
 * `resumed` event, emitted as 'resumed', and the current state follow), 'close' ({code, reason, meaning}:
 * the session is over; `meaning` from CLOSE_CODES, or null), and every other
 * server event under its own name with the whole message ('occupants',
 * 'presence', 'signal', 'ready', 'incoming_call', 'ringing', 'accepted',
 * 'update', ...).
 */
export class PartylineClient extends Emitter {
  #socket = null;
  #pending = new Map();
  #nextTransaction = 1;
  #keepaliveTimer = null;
  #url = null;  // with the identity, without `resume`
  #timeoutMs = 10000;
  #resume = true;
  #closing = false;  // close() was called: no more reconnecting
  #reconnectTimer = null;

  /** The handshake state message, once connected (the latest, after a resume). */
  handshake = null;
  /**
   * line id -> its members as the last `presence` event or `get_line`
   * response listed them: `[{ user, name, online, in_line }]`, sorted by user.
   */
  presence = new Map();

  get connected() {
    return this.#socket?.readyState === WebSocket.OPEN && this.handshake !== null;
  }

  /** True while the connection is lost and a resume is being tried. */
  get reconnecting() {
    return this.#reconnectTimer !== null;
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
   * `resume: false` ends the session with its first lost connection.
   */
  connect(url, { timeoutMs = 10000, name = null, force = true, resume = true } = {}) {
    if (this.#socket || this.#reconnectTimer) throw new Error('PartylineClient: already connected');
    url = withIdentity(url, name ?? guestName());
    if (!force) url = withParameter(url, 'force', 'false');
    this.#url = url;
    this.#timeoutMs = timeoutMs;
    this.#resume = resume;
    this.#closing = false;
    return this.#open(url, timeoutMs).then((handshake) => {
      this.#attach(handshake);
      return handshake;
    }, (error) => {
      this.emit('close', { code: error.closeCode, reason: error.closeReason, meaning: CLOSE_CODES[error.closeCode] ?? null });
      throw error;
    });
  }

  /**
   * One WebSocket up to its handshake state: resolves with it, or rejects
   * (a PartylineError with the close code in `closeCode`) when the socket
   * closes first or no handshake came within `timeoutMs`.
   */
  #open(url, timeoutMs) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      this.#socket = socket;
      let handshaken = false;
      const fail = (code, reason, text) => {
        if (this.#socket === socket) this.#socket = null;
        const error = new PartylineError(CLOSED_CODE, text);
        error.closeCode = code;
        error.closeReason = reason;
        reject(error);
      };
      const timer = setTimeout(() => {
        fail(CLOSED_CODE, '', `no handshake within ${timeoutMs} ms`);
        socket.close();
      }, timeoutMs);

      socket.addEventListener('message', (event) => {
        if (this.#socket !== socket) return;
        const message = this.#parse(event.data);
        if (!message) return;
        if (!handshaken) {
          if (message.handshake !== 'state') return;
          handshaken = true;
          clearTimeout(timer);
          resolve(message);
          return;
        }
        this.#dispatch(message);
      });
      socket.addEventListener('close', (event) => {
        clearTimeout(timer);
        if (!handshaken) {
          const meaning = CLOSE_CODES[event.code];
          fail(event.code, event.reason,
            `socket closed (${event.code}${meaning ? `: ${meaning}` : ''}) before the handshake`);
        } else if (this.#socket === socket) {
          this.#onConnectionLost(event.code, event.reason);
        }
      });
    });
  }

  #attach(handshake) {
    this.handshake = handshake;
    this.#startKeepalive(handshake.keepalive_interval);
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

  /** Ends the session: closes the socket (normal closure), or stops reconnecting. */
  close() {
    this.#closing = true;
    if (this.#reconnectTimer !== null) {
      clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = null;
      this.#end(1000, 'client closing');
      return;
    }
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

  // The socket of a session past its handshake closed: resume, or the end.
  #onConnectionLost(code, reason) {
    this.#stopConnection(code);
    const resumable = this.#resume && !this.#closing && this.handshake?.resume_token && !FINAL_CLOSE_CODES.has(code);
    if (!resumable) {
      this.#end(code, reason);
      return;
    }
    this.#reconnect(code, reason, Date.now() + (this.handshake.resume_grace ?? 0));
  }

  // Tries again until the server's grace for the session has passed; each
  // wait doubles (with +-20 % jitter, so clients cut off together do not
  // come back together).
  #reconnect(code, reason, deadline, attempt = 1) {
    const left = deadline - Date.now();
    if (left <= 0) {
      this.#end(code, reason || 'not resumed within the grace period');
      return;
    }
    const backoff = Math.min(RESUME_MAX_DELAY_MS, RESUME_FIRST_DELAY_MS * 2 ** (attempt - 1));
    const delayMs = Math.min(left, Math.round(backoff * (0.8 + 0.4 * Math.random())));
    this.emit('reconnecting', { code, attempt, delayMs });
    this.#reconnectTimer = setTimeout(async () => {
      const url = withParameter(this.#url, 'resume', this.handshake.resume_token);
      try {
        const handshake = await this.#open(url, Math.max(1000, Math.min(this.#timeoutMs, deadline - Date.now())));
        this.#reconnectTimer = null;
        if (this.#closing) {
          this.#socket?.close(1000, 'client closing');
          return;
        }
        this.#attach(handshake);
        this.emit('reconnected', handshake);
      } catch (error) {
        this.#reconnectTimer = null;
        if (this.#closing) return;
        if (FINAL_CLOSE_CODES.has(error.closeCode)) {
          this.#end(error.closeCode, error.closeReason);
        } else {
          this.#reconnect(code, reason, deadline, attempt + 1);
        }
      }
    }, delayMs);
  }

  // The connection is gone: requests waiting for a response fail (their
  // outcome shows in the state a resume brings).
  #stopConnection(code) {
    clearInterval(this.#keepaliveTimer);
    this.#keepaliveTimer = null;
    this.#socket = null;
    for (const { reject, label } of this.#pending.values()) {
      reject(new PartylineError(CLOSED_CODE, `socket closed (${code})`, label));
    }
    this.#pending.clear();
  }

  #end(code, reason) {
    this.#stopConnection(code);
    this.emit('close', { code, reason, meaning: CLOSE_CODES[code] ?? null });
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

/** A random anonymous name, e.g. `guest-3f9a1c` (its user id is the server's: docs/protocol.md, Identity). */
export function guestName() {
  const bytes = crypto.getRandomValues(new Uint8Array(3));
  return `guest-${[...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

/** Anonymous names: what `?name=` accepts. */
export const ANONYMOUS_NAME_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
