// The library's base: its error type and a minimal event emitter, shared by
// the client (partyline.js) and the calls (echo_call.js, line_call.js).

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
export class Emitter {
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
