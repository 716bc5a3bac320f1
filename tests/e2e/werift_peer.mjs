// A phone-line participant made of werift (pure TypeScript WebRTC, exact
// control of RTP) and one signaling session: the offer and `join`, the
// `accepted` answer, trickled server candidates, and answers to the server's
// `update` offers. It records every RTP packet its DTLS transport decrypts
// (before werift unwraps RTX or routes it), and, as a publisher, every NACK
// and PLI its sender gets.
//
// werift quirks handled here (../shared/TESTING.md): it gathers nothing on
// loopback unless told to (iceAdditionalHostAddresses), and with the default
// bundle policy it gathers one transport per m-line.

import {
  GenericNack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  RtcpTransportLayerFeedback,
  RtpHeader,
  RtpPacket,
} from 'werift';
import { SignalingClient, withDeadline } from './werift_signaling.mjs';

// ---- SDP reading (only what the test checks) ----

/** The m-sections of `sdp`: kind, mid, direction, msid, SSRCs, FID group, codecs, extmaps. */
export function mediaSections(sdp) {
  const sections = [];
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      const [kind, port] = line.slice(2).split(' ');
      sections.push({
        kind, port: Number(port), mid: null, direction: 'sendrecv', msid: null, ssrcs: [], fid: null,
        codecs: new Map(), rtxApt: new Map(), extmaps: new Map(),
      });
      continue;
    }
    const section = sections.at(-1);
    if (!section || !line.startsWith('a=')) continue;
    const [attribute, ...rest] = line.slice(2).split(':');
    const value = rest.join(':');
    if (attribute === 'mid') section.mid = value;
    else if (['sendrecv', 'sendonly', 'recvonly', 'inactive'].includes(attribute)) section.direction = attribute;
    else if (attribute === 'msid') section.msid = value.split(' ');
    else if (attribute === 'ssrc') {
      const ssrc = Number(value.split(' ')[0]);
      if (!section.ssrcs.includes(ssrc)) section.ssrcs.push(ssrc);
    } else if (attribute === 'ssrc-group' && value.startsWith('FID ')) {
      section.fid = value.split(' ').slice(1).map(Number);
    } else if (attribute === 'rtpmap') {
      const [pt, encoding] = value.split(' ');
      const [name, clockRate] = encoding.split('/');
      section.codecs.set(Number(pt), { name, clockRate: Number(clockRate) });
    } else if (attribute === 'fmtp') {
      const [pt, parameters] = value.split(' ');
      const apt = /(?:^|;)\s*apt=(\d+)/.exec(parameters ?? '');
      if (apt) section.rtxApt.set(Number(pt), Number(apt[1]));
    } else if (attribute === 'extmap') {
      const [id, uri] = value.split(' ');
      section.extmaps.set(Number(id.split('/')[0]), uri);
    }
  }
  return sections;
}

/** The payload type of `codec` in a section, and its RTX payload type (or null). */
export function payloadTypes(section, codec) {
  const entry = [...section.codecs].find(([, value]) => value.name.toUpperCase() === codec.toUpperCase());
  if (!entry) return { payloadType: null, rtxPayloadType: null };
  const rtx = [...section.rtxApt].find(([, apt]) => apt === entry[0]);
  return { payloadType: entry[0], rtxPayloadType: rtx ? rtx[0] : null };
}

// ---- the participant ----

/**
 * A werift PeerConnection for one participant. `payloadType` (VP8; RTX is
 * payloadType + 1) and the order of the header extension URIs pick its own
 * numbering, so that forwarding between participants must map them. werift
 * numbers extensions itself: 1, 2, ... over `audioExtensions` then
 * `videoExtensions`, whatever ids they are given.
 */
function createPeerConnection({ payloadType, audioExtensions = [], videoExtensions }) {
  const extension = (uri) => new RTCRtpHeaderExtensionParameters({ uri });
  return new RTCPeerConnection({
    codecs: {
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/VP8', clockRate: 90000, payloadType,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
        }),
        new RTCRtpCodecParameters({
          mimeType: 'video/rtx', clockRate: 90000, payloadType: payloadType + 1, parameters: `apt=${payloadType}`,
        }),
      ],
    },
    headerExtensions: { audio: audioExtensions.map(extension), video: videoExtensions.map(extension) },
    iceServers: [],
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
  });
}

/** Resolves when `pc`'s `property` is `wanted` (watching `event`); rejects on failed/closed. */
function waitForPcState(pc, property, event, wanted, timeoutMs, what) {
  return withDeadline(new Promise((resolve, reject) => {
    const check = () => {
      const state = pc[property];
      if (state === wanted) resolve(state);
      else if (state === 'failed' || state === 'closed') reject(new Error(`${what}: ${property} is ${state}`));
      return state === wanted || state === 'failed' || state === 'closed';
    };
    if (!check()) {
      const { unSubscribe } = pc[event].subscribe(() => {
        if (check()) unSubscribe();
      });
    }
  }), timeoutMs, `${what} (${property} ${wanted})`);
}

export class WeriftParticipant {
  /** direction: 'sendonly' for the publisher, 'recvonly' for a subscriber; see createPeerConnection. */
  constructor(name, { direction, ...numbering }) {
    this.name = name;
    this.direction = direction;
    this.pc = createPeerConnection(numbering);
    this.transceiver = this.pc.addTransceiver('video', { direction });
    this.received = [];       // every decrypted RTP packet, in arrival order
    this.nacksReceived = [];  // publisher: { mediaSourceSsrc, lost }
    this.plisReceived = 0;
    this.updates = [];        // { offer, answer } per server offer answered and accepted
    this.errors = [];         // failures inside event handlers
    this.signaling = null;
    this.capturedTransports = new Set();
    this.work = Promise.resolve();  // events are handled one after another
    this.transceiver.sender.onGenericNack.subscribe((nack) => {
      this.nacksReceived.push({ mediaSourceSsrc: nack.mediaSourceSsrc, lost: [...nack.lost] });
      this.signaling?.wake();
    });
    this.transceiver.sender.onPictureLossIndication.subscribe(() => {
      this.plisReceived += 1;
    });
  }

  async connect(url) {
    this.signaling = await SignalingClient.connect(url, this.name);
    this.signaling.onEvent((event) => {
      this.work = this.work.then(() => this.handleEvent(event)).catch((error) => {
        this.errors.push(`${event.event}: ${error.stack ?? error}`);
      });
    });
  }

  get session() {
    return this.signaling.session;
  }

  /** Our offer with every candidate in it (werift gathers loopback at once). */
  async offer() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    this.captureRtp();
    await waitForPcState(this.pc, 'iceGatheringState', 'iceGatheringStateChange', 'complete', 10000,
      `${this.name}: gathering`);
    return this.pc.localDescription.sdp;
  }

  async createLine() {
    const created = await this.signaling.request('create_line');
    return { lineId: created.line_id, token: created.token };
  }

  /** Offers and joins; resolves once the `accepted` answer is applied. */
  async join(lineId, token) {
    const sdp = await this.offer();
    await this.signaling.request('join', { line_id: lineId, token, jsep: { type: 'offer', sdp } });
    await this.signaling.waitUntil(() => this.pc.remoteDescription, 10000, `${this.name}: the accepted answer applied`);
    this.throwIfFailed();
  }

  async handleEvent(event) {
    if (event.event === 'accepted' && event.jsep) {
      await this.pc.setRemoteDescription(event.jsep);
    } else if (event.event === 'ice_candidate' && event.candidate) {
      await this.pc.addIceCandidate(event.candidate);
    } else if (event.event === 'update' && event.jsep?.type === 'offer') {
      this.keepInactiveTransceivers(event.jsep.sdp);
      await this.pc.setRemoteDescription(event.jsep);
      this.captureRtp();
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      const answer = this.pc.localDescription.sdp;
      await this.signaling.request('update', { jsep: { type: 'answer', sdp: answer } });
      this.updates.push({ offer: event.jsep.sdp, answer });
    }
    this.signaling.wake();  // waits on our state re-check
  }

  /**
   * werift 0.24 quirk: for an m-line a remote offer adds, it reuses a
   * transceiver whose current direction is inactive (TransceiverManager
   * addTransceiver, "reuse inactive") even when that transceiver's m-line is
   * still in the offer, then fails in createAnswer ("Transceiver with mid=0
   * not found"). A subscriber's own recvonly m-line, which the server answers
   * inactive, is such a transceiver: mark it as not reusable.
   */
  keepInactiveTransceivers(offerSdp) {
    const offeredMids = new Set(mediaSections(offerSdp).map((section) => section.mid));
    for (const transceiver of this.pc.getTransceivers()) {
      if (transceiver.currentDirection === 'inactive' && offeredMids.has(transceiver.mid)) {
        transceiver.usedForSender = true;
      }
    }
  }

  /** Records every RTP packet of every DTLS transport of ours, as decrypted. */
  captureRtp() {
    for (const transport of this.pc.dtlsTransports) {
      if (this.capturedTransports.has(transport)) continue;
      this.capturedTransports.add(transport);
      transport.onRtp.subscribe((packet) => {
        const { header } = packet;
        this.received.push({
          ssrc: header.ssrc,
          sequenceNumber: header.sequenceNumber,
          timestamp: header.timestamp,
          payloadType: header.payloadType,
          marker: header.marker,
          payload: Buffer.from(packet.payload),
          extensions: header.extensions.map(({ id, payload }) => ({ id, payload: Buffer.from(payload) })),
        });
        this.signaling?.wake();
      });
    }
  }

  /** ICE+DTLS connected on our side and `secure` announced by the server. */
  async waitConnected(timeoutMs) {
    await Promise.all([
      waitForPcState(this.pc, 'connectionState', 'connectionStateChange', 'connected', timeoutMs, this.name),
      this.signaling.waitForEvent((event) => event.event === 'webrtc_state' && event.state === 'secure', timeoutMs,
        'webrtc_state secure'),
    ]);
  }

  /** Waits until `count` server offers were answered and accepted. */
  async waitForUpdates(count, timeoutMs) {
    await this.signaling.waitUntil(() => {
      this.throwIfFailed();
      return this.updates.length >= count;
    }, timeoutMs, `${this.name}: ${count} update(s) answered`);
  }

  throwIfFailed() {
    if (this.errors.length > 0) throw new Error(`${this.name}: ${this.errors.join('; ')}`);
  }

  /**
   * Publisher: sends one packet through our video sender, which stamps our
   * SSRC and payload type and adds our header extensions. Returns what went
   * out: sequence number, timestamp, and the extensions' values by URI.
   */
  async sendRtp({ sequenceNumber, timestamp, marker, payload }) {
    const header = new RtpHeader({ sequenceNumber, timestamp, marker, payloadType: 0, ssrc: 0 });
    await this.transceiver.sender.sendRtp(new RtpPacket(header, payload));
    this.negotiatedExtensions ??= mediaSections(this.pc.remoteDescription.sdp)[0]?.extmaps ?? new Map();
    const byUri = {};
    for (const { id, payload: value } of header.extensions) {
      const uri = this.negotiatedExtensions.get(id);
      if (uri) byUri[uri] = Buffer.from(value);
    }
    return { sequenceNumber: header.sequenceNumber, timestamp: header.timestamp, ssrc: header.ssrc, extensions: byUri };
  }

  get senderSsrc() {
    return this.transceiver.sender.ssrc;
  }

  get senderReady() {
    return this.transceiver.sender.dtlsTransport?.state === 'connected';
  }

  /** Subscriber: an RTCP generic NACK (RFC 4585) for `lost` of stream `mediaSsrc`, received on m-line `mid`. */
  async sendNack(mid, mediaSsrc, lost) {
    const { receiver } = this.pc.getTransceivers().find((transceiver) => transceiver.mid === mid);
    const feedback = new GenericNack({ senderSsrc: receiver.rtcpSsrc, mediaSourceSsrc: mediaSsrc, lost });
    await receiver.dtlsTransport.sendRtcp([new RtcpTransportLayerFeedback({ feedback })]);
  }

  async close() {
    this.signaling?.close();
    await this.pc.close().catch(() => {});
  }
}
