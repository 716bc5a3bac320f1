// EchoCall: the echo test over a PartylineClient (docs/protocol.md, `echo`).
import { Emitter, PartylineError } from './emitter.js';
import { CandidateBridge, DEFAULT_RTC_CONFIGURATION, forwardPeerStates } from './call_support.js';

/** EchoCall: sends a track event's track to the one stream of the echo. */
function collectRemoteTrack(call, event) {
  if (!call.remoteStream) {
    call.remoteStream = event.streams[0] ?? new MediaStream();
    call.emit('remotestream', call.remoteStream);
  }
  if (!call.remoteStream.getTracks().includes(event.track)) call.remoteStream.addTrack(event.track);
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
