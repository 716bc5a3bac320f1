// A seed 000 phone (docs/compat.md, "Seed 000"): the call flow the seed
// document describes, written against its SignalR WebRtcHub with the
// official browser client (window.signalR, web/vendor/signalr/). Media goes
// peer to peer between the browsers, negotiated through sendSDP/sendICE,
// one RTCPeerConnection per other connection in the phone line.
//
// Events (Emitter): 'status' (text), 'incoming' (the CallType), 'occupants'
// (the phone line), 'remote-stream' ({guid, stream}), 'remote-gone' (guid),
// 'notice' (text: busy, not accepted, cancelled), 'closed' (error or null).

import { Emitter } from './emitter.js';

/** As the seed's client reads the hub's JSON: first letters lowercased, recursively. */
function camel(value) {
  if (Array.isArray(value)) return value.map(camel);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key[0].toLowerCase() + key.slice(1), camel(inner)]));
}

/** The HttpResponseDto a hub method returns; throws its errors. */
function content(result, method) {
  const dto = camel(JSON.parse(result));
  if (dto.statusCode !== 200) {
    let reasons = dto.content;
    try {
      reasons = JSON.parse(dto.content).join(' | ');
    } catch { /* a plain string */ }
    throw new Error(`${method}: ${dto.statusCode} ${reasons}`);
  }
  return dto.content;
}

export class SeedPhone extends Emitter {
  constructor({ name, email, baseUrl = location.origin, media = { audio: true, video: true } }) {
    super();
    this.name = name;
    this.email = email;
    this.baseUrl = baseUrl;
    this.media = media;
    this.hub = null;
    this.localGuid = null;
    this.localStream = null;
    this.phoneLine = null;            // the phone line this phone is in
    this.localConnection = null;      // its PhoneLineConnection there
    this.peers = new Map();           // remote guid -> { pc, stream, remoteSet, early }
    this.pendingCall = null;          // the CallType ringing here
  }

  async connect() {
    const url = new URL('/hubs/webrtc', this.baseUrl);
    url.searchParams.set('name', this.name);
    url.searchParams.set('email', this.email);
    this.hub = new window.signalR.HubConnectionBuilder().withUrl(url.toString())
      .configureLogging(window.signalR.LogLevel.Warning).build();
    const on = (name, handler) => this.hub.on(name, (argument) => handler(argument)
      .catch?.((error) => this.emit('status', `${name}: ${error.message}`)));
    on('receivePhoneLineInvitation', async (json) => this.#incoming(camel(JSON.parse(json))));
    on('receiveCancelInvitation', async () => { this.pendingCall = null; this.emit('notice', 'the caller cancelled'); });
    on('receiveAcceptPhoneLineInvitation', async () => this.emit('status', 'accepted'));
    on('receiveBusyResponse', async () => this.emit('notice', 'busy'));
    on('receiveNotAcceptCall', async () => this.emit('notice', 'not accepted'));
    on('receiveUpdatePhoneLineOccupants', async (json) => {
      this.phoneLine = camel(JSON.parse(json));
      this.emit('occupants', this.phoneLine);
    });
    on('receiveAreYouReadyForCall', async (json) => this.#areYouReady(camel(JSON.parse(json))));
    on('receiveReadyForCall', async (guid) => this.#offerTo(guid));
    on('receiveNotReadyForCall', async (json) => this.emit('notice', `not ready: ${camel(JSON.parse(json)).message}`));
    on('receiveSDP', async (json) => this.#receiveSdp(camel(JSON.parse(json))));
    on('receiveICE', async (json) => this.#receiveIce(camel(JSON.parse(json))));
    on('receiveHangUpNotice', async (guid) => this.#closePeer(guid));
    this.hub.onclose((error) => this.emit('closed', error ?? null));
    await this.hub.start();
    this.localGuid = camel(JSON.parse(content(await this.hub.invoke('checkin', this.name), 'checkin'))).connectionGuid;
    this.emit('status', 'connected');
  }

  async #camera() {
    this.localStream ??= await navigator.mediaDevices.getUserMedia(this.media);
    return this.localStream;
  }

  /** The caller's side: a phone line (the current one, else a new one), then the invitation. */
  async call(email) {
    await this.#camera();
    if (!this.phoneLine || !this.localConnection) {
      const guid = camel(JSON.parse(content(await this.hub.invoke('requestNewPhoneLine'), 'requestNewPhoneLine'))).phoneLineGuid;
      await this.#connectTo(guid);
    }
    const remoteGuid = content(await this.hub.invoke('sendPhoneLineInvitation', this.phoneLine.phoneLineGuid, email, this.name),
      'sendPhoneLineInvitation');
    if (!remoteGuid) throw new Error(`${email} is not available for calls`);
    this.emit('status', `ringing ${email}`);
    return remoteGuid;
  }

  async #connectTo(guid) {
    this.localConnection = camel(JSON.parse(content(await this.hub.invoke('requestNewPhoneLineConnection', guid),
      'requestNewPhoneLineConnection')));
    this.phoneLine = camel(JSON.parse(content(await this.hub.invoke('getPhoneLineByGuid', guid), 'getPhoneLineByGuid')));
  }

  async #incoming(call) {
    // Busy: in a phone line with somebody else already.
    const others = (this.phoneLine?.phoneLineConnections ?? []).filter((c) => c.hubConnection.connectionGuid !== this.localGuid);
    if (this.pendingCall || (this.localConnection && others.length > 0)) {
      await this.hub.invoke('sendBusyResponse', call.remoteGuid);
      return;
    }
    this.pendingCall = call;
    this.emit('incoming', call);
  }

  /** The receiver's side: connect to the phone line, accept, ask every other occupant if it is ready. */
  async accept() {
    const call = this.pendingCall;
    if (!call) throw new Error('no call is ringing');
    this.pendingCall = null;
    await this.#camera();
    await this.#connectTo(call.phoneLineGuid);
    content(await this.hub.invoke('sendAcceptPhoneLineInvitation', call.remoteGuid), 'sendAcceptPhoneLineInvitation');
    for (const connection of this.phoneLine.phoneLineConnections) {
      const guid = connection.hubConnection.connectionGuid;
      if (guid === this.localGuid) continue;
      content(await this.hub.invoke('sendAreYouReadyForCall', this.localConnection.phoneLineConnectionId, guid),
        'sendAreYouReadyForCall');
    }
    this.emit('status', 'in call');
  }

  async decline() {
    const call = this.pendingCall;
    this.pendingCall = null;
    if (call) await this.hub.invoke('sendNotAcceptCall', call.remoteGuid);
  }

  /** Another occupant asks: make its PeerConnection, then say ready (it will offer). */
  async #areYouReady(connection) {
    const guid = connection.hubConnection.connectionGuid;
    try {
      await this.#peer(guid);
      content(await this.hub.invoke('sendReadyForCall', guid), 'sendReadyForCall');
    } catch (error) {
      await this.hub.invoke('sendNotReadyForCall', error.message, guid);
    }
  }

  async #offerTo(guid) {
    const peer = await this.#peer(guid);
    const offer = await peer.pc.createOffer();
    await peer.pc.setLocalDescription(offer);
    await this.hub.invoke('sendSDP', guid, JSON.stringify(peer.pc.localDescription));
  }

  async #peer(guid) {
    if (this.peers.has(guid)) return this.peers.get(guid);
    const stream = await this.#camera();
    const pc = new RTCPeerConnection();
    const peer = { pc, stream: null, remoteSet: false, early: [] };
    this.peers.set(guid, peer);
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    pc.onicecandidate = ({ candidate }) => {
      this.hub.invoke('sendICE', guid, JSON.stringify(candidate)).catch(() => {});
    };
    pc.ontrack = ({ streams }) => {
      if (peer.stream === streams[0]) return;
      peer.stream = streams[0];
      this.emit('remote-stream', { guid, stream: streams[0] });
    };
    return peer;
  }

  /** From the phone line's own guid: the server (SFU), not a peer of this phone's. */
  #fromServer(sender) {
    return sender === this.phoneLine?.phoneLineGuid;
  }

  async #receiveSdp({ sender, sdp }) {
    if (this.#fromServer(sender)) return;
    const peer = await this.#peer(sender);
    const description = JSON.parse(sdp);
    await peer.pc.setRemoteDescription(description);
    peer.remoteSet = true;
    for (const candidate of peer.early.splice(0)) await peer.pc.addIceCandidate(candidate);
    if (description.type === 'offer') {
      await peer.pc.setLocalDescription(await peer.pc.createAnswer());
      await this.hub.invoke('sendSDP', sender, JSON.stringify(peer.pc.localDescription));
    }
  }

  async #receiveIce({ sender, ice }) {
    const candidate = JSON.parse(ice);  // null: the end of candidates
    if (candidate === null || this.#fromServer(sender)) return;
    const peer = await this.#peer(sender);
    if (peer.remoteSet) await peer.pc.addIceCandidate(candidate);
    else peer.early.push(candidate);
  }

  #closePeer(guid) {
    const peer = this.peers.get(guid);
    if (!peer) return;
    peer.pc.close();
    this.peers.delete(guid);
    this.emit('remote-gone', guid);
  }

  async hangUp() {
    if (this.phoneLine) await this.hub.invoke('sendHangUpNotice', this.phoneLine.phoneLineGuid);
    for (const guid of [...this.peers.keys()]) this.#closePeer(guid);
    this.phoneLine = null;
    this.localConnection = null;
    this.emit('status', 'hung up');
  }
}
