// LineCall: a phone-line occupancy over a PartylineClient (docs/protocol.md,
// "Phone lines").
import { Emitter, PartylineError } from './emitter.js';
import { CandidateBridge, DEFAULT_RTC_CONFIGURATION, forwardPeerStates } from './call_support.js';

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
 * 'connectionstatechange', 'error'; 'ended' (`{ reason }`: after the
 * client resumed its session, the server no longer counts it in this line).
 *
 * Option `onNewTransceiver(transceiver, origin)` (constructor; optional, by
 * default nothing is called): called once for each transceiver as it joins
 * the PeerConnection, before the description it appears in is created:
 * `origin` 'local' for those `start()` and `publish()` add (before our
 * offer), 'remote' for those a server offer creates (after that offer is
 * applied, before our answer). E.g. `transceiver.setCodecPreferences()`:
 * a device that sends only H264, or receives only VP8. An exception fails
 * that offer or answer like any negotiation error.
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
  #onNewTransceiver = null;
  // Transceivers already announced to onNewTransceiver (each one once).
  #knownTransceivers = new WeakSet();

  constructor(client, { mediaConstraints, rtcConfiguration, onNewTransceiver = null } = {}) {
    super();
    this.#client = client;
    this.mediaConstraints = mediaConstraints ?? {
      audio: true,
      video: { width: 320, height: 240, frameRate: 15 },
    };
    this.rtcConfiguration = rtcConfiguration ?? DEFAULT_RTC_CONFIGURATION;
    this.#onNewTransceiver = onNewTransceiver;
  }

  /** Passes each transceiver of `transceivers` not seen before to `onNewTransceiver`. */
  #announceTransceivers(transceivers, origin) {
    for (const transceiver of transceivers) {
      if (this.#knownTransceivers.has(transceiver)) continue;
      this.#knownTransceivers.add(transceiver);
      this.#onNewTransceiver?.(transceiver, origin);
    }
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
   * its PeerConnection with the server. `sendEncodings` (optional) is passed
   * to addTransceiver for the video tracks, e.g. simulcast:
   * `[{ rid: 'q', scaleResolutionDownBy: 4 }, { rid: 'h', scaleResolutionDownBy: 2 }, { rid: 'f' }]`.
   * Resolves with the transceivers once the server's answer is applied; on
   * failure they are stopped.
   */
  publish(stream, tracks = stream.getTracks(), { sendEncodings = null } = {}) {
    if (!this.lineId) return Promise.reject(new Error('LineCall: publish() before joining a line'));
    return this.#enqueue(async () => {
      const created = !this.pc;
      if (created) this.#createPeer();
      const transceivers = tracks.map((track) => this.pc.addTransceiver(track, {
        direction: 'sendonly', streams: [stream],
        ...(sendEncodings && track.kind === 'video' ? { sendEncodings } : {}),
      }));
      try {
        this.#announceTransceivers(transceivers, 'local');
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
      // After a resume the server says which line the session occupies: a
      // call whose line it left meanwhile (kicked, its media failed, the
      // line closed) is over. The occupants and a pending offer follow.
      this.#client.on('resumed', (message) => {
        if (this.lineId && message.line_id !== this.lineId) {
          this.emit('ended', { reason: 'no longer in the line after a reconnection' });
        }
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
    this.#announceTransceivers(pc.getTransceivers(), 'local');

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
        this.#announceTransceivers(this.pc.getTransceivers(), 'remote');
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
