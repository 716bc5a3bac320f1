// A minimal client of the partyline signaling protocol (docs/protocol.md) for
// Node tests: one WebSocket session (the `ws` package: Node 20 has no global
// WebSocket), requests with transactions, keepalives, and the events in
// arrival order with waits that end at a deadline.

import WebSocket from 'ws';

export class RequestError extends Error {
  constructor(request, code, reason) {
    super(`${request}: ${code} ${reason}`);
    this.request = request;
    this.code = code;
    this.reason = reason;
  }
}

/** `url` with `?name=NAME` added (anonymous identity, docs/protocol.md "Identity"). */
function withName(url, name) {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('token') && !parsed.searchParams.has('name')) parsed.searchParams.set('name', name);
  return parsed.toString();
}

/** Resolves with `promise`, or rejects after `ms` with `what` in the message. */
export function withDeadline(promise, ms, what) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

export class SignalingClient {
  /** Connects as `name` and waits for the handshake state. */
  static async connect(url, name, timeoutMs = 10000) {
    const socket = new WebSocket(withName(url, name), { maxPayload: 1 << 20 });
    const handshake = await withDeadline(new Promise((resolve, reject) => {
      socket.once('message', (data) => {
        try {
          resolve(JSON.parse(data.toString()));
        } catch (error) {
          reject(error);
        }
      });
      socket.once('error', reject);
      socket.once('close', (code, reason) => reject(new Error(`${name}: closed ${code} ${reason} before the handshake`)));
    }), timeoutMs, `${name}'s handshake`);
    if (handshake.handshake !== 'state' || !handshake.session) {
      socket.close();
      throw new Error(`${name}: first message is not the handshake state: ${JSON.stringify(handshake)}`);
    }
    return new SignalingClient(socket, handshake, name);
  }

  constructor(socket, handshake, name) {
    this.socket = socket;
    this.handshake = handshake;
    this.name = name;
    this.session = handshake.session;
    this.events = [];  // every event, in arrival order
    this.closed = null;  // { code, reason } once closed
    this.pending = new Map();  // transaction -> { resolve, reject, name }
    this.listeners = [];  // (event) => void
    this.waiters = new Set();  // () => void, re-checked on every event
    this.nextTransaction = 1;
    socket.on('message', (data) => this.dispatch(data.toString()));
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const { reject, name: request } of this.pending.values()) {
        reject(new Error(`${this.name}: ${request}: the WebSocket closed (${code} ${reason})`));
      }
      this.pending.clear();
      this.wake();
    });
    socket.on('error', () => {});  // 'close' follows and says enough
    // The protocol wants a keepalive at least every keepalive_interval.
    const periodMs = (handshake.keepalive_interval || 30000) / 2;
    this.keepalive = setInterval(() => {
      this.exchange({ handshake: 'keepalive' }, 'keepalive').catch(() => {});
    }, periodMs);
  }

  /** Sends a request and resolves with its success response (rejects with RequestError). */
  request(name, fields = {}, timeoutMs = 10000) {
    return withDeadline(this.exchange({ request: name, ...fields }, name), timeoutMs,
      `${this.name}'s response to ${name}`);
  }

  exchange(message, name) {
    const transaction = `${this.name}-${this.nextTransaction++}`;
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error(`${this.name}: ${name}: the WebSocket is closed`));
        return;
      }
      this.pending.set(transaction, { resolve, reject, name });
      this.socket.send(JSON.stringify({ ...message, transaction }));
    });
  }

  /** `listener(event)` for every event from now on. */
  onEvent(listener) {
    this.listeners.push(listener);
  }

  /** The first event (past or future) for which `predicate` holds. */
  waitForEvent(predicate, timeoutMs, what) {
    return this.waitUntil(() => this.events.find(predicate), timeoutMs, `${this.name}: ${what}`);
  }

  /** Resolves with the first truthy value of `check()`, re-run on every event. */
  waitUntil(check, timeoutMs, what) {
    let waiter;
    const result = new Promise((resolve, reject) => {
      waiter = () => {
        let value;
        try {
          value = check();
        } catch (error) {
          reject(error);
          return;
        }
        if (value) resolve(value);
        else if (this.closed) reject(new Error(`${what}: the WebSocket closed (${this.closed.code} ${this.closed.reason})`));
      };
      this.waiters.add(waiter);
      waiter();
    });
    return withDeadline(result, timeoutMs, what).finally(() => this.waiters.delete(waiter));
  }

  wake() {
    for (const waiter of [...this.waiters]) waiter();
  }

  dispatch(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.event) {
      this.events.push(message);
      for (const listener of this.listeners) listener(message);
      this.wake();
      return;
    }
    const waiting = this.pending.get(message.transaction);
    if (!waiting) return;
    this.pending.delete(message.transaction);
    if (message.response === 'error') {
      waiting.reject(new RequestError(waiting.name, message.code, message.reason));
    } else {
      waiting.resolve(message);
    }
  }

  close() {
    clearInterval(this.keepalive);
    if (!this.closed) this.socket.close(1000);
  }
}
