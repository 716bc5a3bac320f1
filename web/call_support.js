// What the echo test and the phone-line call share: carrying ICE
// candidates between a local RTCPeerConnection and the server, the
// RTCPeerConnection configuration, and forwarding its states as events.
import { PartylineError } from './emitter.js';

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

export const DEFAULT_RTC_CONFIGURATION = { bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };

export function forwardPeerStates(call, pc) {
  pc.addEventListener('iceconnectionstatechange', () => call.emit('iceconnectionstatechange', pc.iceConnectionState));
  pc.addEventListener('connectionstatechange', () => call.emit('connectionstatechange', pc.connectionState));
}
