// What the Chromium tests that drive web/partyline.js itself (not the demo
// page's buttons) share: `lineHarnessIn`, an init script that gives the page
// `window.harness` (one session, one LineCall, the events it saw, and what
// each receiver gets), and, on the Node side, opening such pages and polling
// them with a deadline.
//
// The pages are the demo page (served by the server under test, so that
// `import('/partyline.js')` is the library under test); its own view stays
// idle.

import { chromium } from 'playwright-core';
import { CHROMIUM_FLAGS, CHROMIUM_PATH, colourAnalysisIn, fakeDevicesIn, pitchAnalysisIn } from './chromium.mjs';

export class Failure extends Error {}

export function check(condition, message) {
  if (!condition) throw new Failure(message);
}

// ---------------------------------------------------------------- in the page

/**
 * An init script (`context.addInitScript(lineHarnessIn)`): defines
 * `window.harness` in the page. Its methods import the library lazily, from
 * the page's origin.
 */
export function lineHarnessIn() {
  const library = () => import('/partyline.js');
  const harness = {
    client: null,
    call: null,
    lineId: null,
    /** Events of interest in arrival order: { event, at, ... }. */
    log: [],
    /** The last `occupants` line of our line. */
    line: null,
    /** Receiver track -> the session (stream id) it last carried. */
    trackSessions: new Map(),
    errors: [],

    /**
     * Connects as `name`, to the page's own server or to `url` (a WebSocket
     * URL, e.g. through a proxy); `expectClose`: the session's end is
     * logged as an event instead of counted as an error.
     */
    async connect(name, { url = null, expectClose = false } = {}) {
      const { PartylineClient, signalingUrlFor } = await library();
      const client = new PartylineClient();
      for (const event of ['occupants', 'presence', 'signal', 'update', 'resumed', 'reconnecting', 'reconnected',
        'stream_unavailable']) {
        client.on(event, (message) => {
          harness.log.push({ event, at: performance.now(), message });
          if (event === 'occupants' && message.line?.line_id === harness.lineId) harness.line = message.line;
        });
      }
      client.on('close', (close) => {
        if (expectClose) harness.log.push({ event: 'close', at: performance.now(), message: close });
        else harness.errors.push(`socket closed ${close.code} ${close.reason}`);
      });
      const handshake = await client.connect(url ? signalingUrlFor({ name }, url) : signalingUrlFor({ name }));
      harness.client = client;
      return { session: handshake.session, user: handshake.user ?? null };
    },

    async createLine() {
      const response = await harness.client.request('create_line');
      return { lineId: response.line_id, token: response.token };
    },

    /**
     * Joins with camera and microphone (`media`), or signaling-only.
     * `codecs` (optional): `{ send, receive }`, each null or a list of video
     * mime types (e.g. ['video/H264']): the video transceivers this page
     * adds (its camera, `publish`) prefer only those codecs when sending
     * (RTCRtpSender capabilities), those a server offer creates only those
     * when receiving (RTCRtpReceiver capabilities), with 'video/rtx' kept
     * (LineCall's `onNewTransceiver`, before the offer or answer); each
     * application is logged as a 'codec-preferences' event.
     * `rtcConfiguration` (optional): RTCConfiguration members laid over
     * LineCall's own (its `rtcConfiguration` option), e.g. `iceServers` and
     * `iceTransportPolicy: 'relay'` for a client that must go through TURN.
     * `serverCandidatesVia` (optional): `{ address, port }`, for a page
     * that must reach the server only through a relay of the test's
     * (harness.relayedClient): the call's signaling goes through a filter
     * that points every UDP IPv4 candidate of the server at that address
     * and port, and withholds the page's own candidates from the server.
     * The join's start, each connectionState change of the call and each
     * `webrtc_state` the server sent are logged ('join-started',
     * 'connection' with `state`, 'webrtc_state' with `state` and `reason`).
     */
    async join(lineId, { token = null, media = true, codecs = null, rtcConfiguration = null,
      serverCandidatesVia = null } = {}) {
      const { LineCall } = await library();
      const onNewTransceiver = (transceiver, origin) => {
        const wanted = origin === 'local' ? codecs?.send : codecs?.receive;
        const kind = transceiver.sender.track?.kind ?? transceiver.receiver.track.kind;
        if (!wanted || kind !== 'video') return;
        const capabilities = (origin === 'local' ? RTCRtpSender : RTCRtpReceiver).getCapabilities('video').codecs;
        const preferred = capabilities.filter((codec) => wanted.includes(codec.mimeType));
        const chosen = [...preferred, ...capabilities.filter((codec) => codec.mimeType === 'video/rtx')];
        transceiver.setCodecPreferences(chosen);
        harness.log.push({ event: 'codec-preferences', at: performance.now(), origin, mid: transceiver.mid,
          codecs: chosen.map((codec) => `${codec.mimeType}${codec.sdpFmtpLine ? ` ${codec.sdpFmtpLine}` : ''}`) });
      };
      harness.log.push({ event: 'join-started', at: performance.now() });
      const client = serverCandidatesVia ? harness.relayedClient(harness.client, serverCandidatesVia) : harness.client;
      const call = new LineCall(client, codecs ? { onNewTransceiver } : {});
      if (rtcConfiguration) call.rtcConfiguration = { ...call.rtcConfiguration, ...rtcConfiguration };
      harness.call = call;
      harness.lineId = lineId;
      call.on('error', (error) => harness.errors.push(String(error.message ?? error)));
      call.on('connectionstatechange', (state) => harness.log.push({ event: 'connection', at: performance.now(), state }));
      call.on('webrtc_state', ({ state, reason }) => harness.log.push({ event: 'webrtc_state', at: performance.now(), state,
        reason }));
      call.on('negotiation', (step) => harness.log.push({ event: 'negotiation', at: performance.now(), ...step }));
      call.on('remotetrack', ({ session, track }) => harness.trackSessions.set(track, session));
      const response = media
        ? await call.start((jsep) => client.request('join', { line_id: lineId, ...(token ? { token } : {}), jsep }),
          lineId)
        : await call.joinWithoutMedia(lineId, { token });
      return { lineId: response.line_id ?? lineId, media: response.media ?? null };
    },

    /**
     * `client` (a PartylineClient) as a LineCall of a page behind a relay
     * sees it: the same object but for `on` and `request`, which filter ICE
     * candidates.
     *   - From the server (the SDP of `accepted` answers, of `update`
     *     offers and of `update` responses; trickled `ice_candidate`s):
     *     each UDP IPv4 candidate's address and port become `via`'s (its
     *     type, priority and foundation kept); any other candidate (TCP,
     *     IPv6) is dropped, so no path bypasses the relay.
     *   - To the server (the SDP of any request's `jsep`, `ice_trickle`s):
     *     the page's own candidates are withheld (the end of candidates,
     *     null, still goes), so the server learns the page's address only
     *     from its connectivity checks, i.e. as the relay's.
     * Each server candidate is logged as a 'server-candidate' event (its
     * original address, port, protocol and type, `rewritten` or dropped) and
     * passed to `window.harnessServerCandidate` when the test exposed one
     * (routeServerCandidates, on the Node side), so the relay learns where
     * to forward; each withheld local candidate as 'candidate-withheld'.
     */
    relayedClient(client, via) {
      const serverCandidate = (text) => {
        // candidate:<foundation> <component> <protocol> <priority> <address> <port> typ <type> ...
        const fields = text.replace(/^a=/, '').split(' ');
        const [protocol, address, port, type] = [fields[2]?.toLowerCase(), fields[4], Number(fields[5]), fields[7]];
        const rewritten = protocol === 'udp' && /^\d+\.\d+\.\d+\.\d+$/.test(address ?? '');
        const entry = { address, port, protocol, type, rewritten };
        harness.log.push({ event: 'server-candidate', at: performance.now(), ...entry });
        window.harnessServerCandidate?.(entry)?.catch?.(() => {});
        if (!rewritten) return null;
        fields[4] = via.address;
        fields[5] = String(via.port);
        return fields.join(' ');
      };
      const rewriteSdp = (sdp) => sdp.split('\r\n').flatMap((line) => {
        if (!line.startsWith('a=candidate:')) return [line];
        const rewritten = serverCandidate(line);
        return rewritten === null ? [] : [`a=${rewritten}`];
      }).join('\r\n');
      const withRemoteSdp = (message) => (message?.jsep?.sdp
        ? { ...message, jsep: { ...message.jsep, sdp: rewriteSdp(message.jsep.sdp) } } : message);
      const withheld = (candidate) => harness.log.push({ event: 'candidate-withheld', at: performance.now(), candidate });
      const withoutLocalCandidates = (sdp) => sdp.split('\r\n').filter((line) => {
        if (!line.startsWith('a=candidate:')) return true;
        withheld(line.slice(2));
        return false;
      }).join('\r\n');
      const on = (event, listener) => client.on(event, (message) => {
        if (event === 'accepted' || event === 'update') {
          listener(withRemoteSdp(message));
        } else if (event === 'ice_candidate' && message?.candidate) {
          const rewritten = serverCandidate(message.candidate);
          if (rewritten !== null) listener({ ...message, candidate: rewritten });
        } else {
          listener(message);
        }
      });
      const request = async (name, fields = {}) => {
        if (name === 'ice_trickle' && fields.candidate?.candidate) {
          withheld(fields.candidate.candidate);
          return { response: 'success', withheld: true };
        }
        const sent = fields.jsep?.sdp ? { ...fields, jsep: { ...fields.jsep, sdp: withoutLocalCandidates(fields.jsep.sdp) } }
          : fields;
        return withRemoteSdp(await client.request(name, sent));
      };
      return new Proxy(client, {
        get(target, property) {
          if (property === 'on') return on;
          if (property === 'request') return request;
          const value = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    },

    /** Publishes a canvas of `rgb` (and a sine of `hz`, when given) in one new stream; their mids. */
    async publish({ rgb, hz = null, key }) {
      const tracks = [window.canvasVideoTrack(rgb)];
      if (hz !== null) tracks.unshift(window.sineAudioTrack(hz));
      const stream = new MediaStream(tracks);
      const transceivers = await harness.call.publish(stream);
      harness.published ??= {};
      harness.published[key] = transceivers;
      return transceivers.map((transceiver) => `${transceiver.mid}:${transceiver.sender.track.kind}`);
    },

    /**
     * Publishes a camera-sized video source at `width` x `height`, `fps`:
     * Chromium's own fake camera (window.fakeCameraTrack), or with
     * `detailed` window.detailedVideoTrack, or with `rgb` a plain canvas of
     * that colour with a frame counter (window.canvasVideoTrack at that
     * size); and a sine of `hz` when given, in one new stream; their mids.
     * `sendEncodings` (e.g. three rids for simulcast) goes to the video
     * transceiver (LineCall.publish).
     */
    async publishCamera({ width, height, fps, hz = null, key, detailed = false, rgb = null, sendEncodings = null }) {
      let video;
      if (rgb) video = window.canvasVideoTrack(rgb, { width, height, fps });
      else if (detailed) video = window.detailedVideoTrack(width, height, fps);
      else video = await window.fakeCameraTrack(width, height, fps);
      const tracks = [video];
      if (hz !== null) tracks.unshift(window.sineAudioTrack(hz));
      const stream = new MediaStream(tracks);
      const transceivers = await harness.call.publish(stream, stream.getTracks(), { sendEncodings });
      harness.published ??= {};
      harness.published[key] = transceivers;
      return transceivers.map((transceiver) => `${transceiver.mid}:${transceiver.sender.track.kind}`);
    },

    /**
     * The `outbound-rtp` stats of the video sender of what `publish` or
     * `publishCamera` published as `key` (summed over its entries, one
     * without simulcast), with the report's `timestamp` (ms), the source's
     * size (`media-source`) and the selected candidate pair's
     * `availableOutgoingBitrate`; null before there is one.
     */
    async outboundVideo(key) {
      const transceiver = (harness.published?.[key] ?? []).find((each) => each.sender.track?.kind === 'video');
      if (!transceiver) return null;
      let row = null;
      for (const entry of (await transceiver.sender.getStats()).values()) {
        if (entry.type !== 'outbound-rtp') continue;
        row ??= { timestamp: entry.timestamp, bytesSent: 0, headerBytesSent: 0, packetsSent: 0, framesEncoded: 0,
          frameWidth: null, frameHeight: null, framesPerSecond: null, targetBitrate: null,
          qualityLimitationReason: null, qualityLimitationDurations: null, encoderImplementation: null,
          totalEncodeTime: null, retransmittedBytesSent: 0, nackCount: 0, pliCount: 0 };
        row.bytesSent += entry.bytesSent ?? 0;
        row.headerBytesSent += entry.headerBytesSent ?? 0;
        row.packetsSent += entry.packetsSent ?? 0;
        row.framesEncoded += entry.framesEncoded ?? 0;
        row.retransmittedBytesSent += entry.retransmittedBytesSent ?? 0;
        row.nackCount += entry.nackCount ?? 0;
        row.pliCount += entry.pliCount ?? 0;
        for (const field of ['frameWidth', 'frameHeight', 'framesPerSecond', 'targetBitrate', 'qualityLimitationReason',
          'qualityLimitationDurations', 'encoderImplementation', 'totalEncodeTime']) {
          if (entry[field] !== undefined) row[field] = entry[field];
        }
      }
      if (!row) return null;
      // The camera's own size, and the send-side bandwidth estimate of the
      // selected candidate pair (availableOutgoingBitrate).
      const report = await harness.call.pc.getStats();
      row.sourceWidth = null;
      row.sourceHeight = null;
      row.availableOutgoingBitrate = null;
      for (const entry of report.values()) {
        if (entry.type === 'media-source' && entry.trackIdentifier === transceiver.sender.track.id) {
          [row.sourceWidth, row.sourceHeight] = [entry.width ?? null, entry.height ?? null];
        }
        if (entry.type === 'transport' && entry.selectedCandidatePairId) {
          row.availableOutgoingBitrate = report.get(entry.selectedCandidatePairId)?.availableOutgoingBitrate ?? null;
        }
      }
      return row;
    },

    /**
     * Per encoding (simulcast layer) of the video sender published as
     * `key`: its `outbound-rtp` entry's rid, frameWidth x frameHeight,
     * bytesSent, framesEncoded, framesPerSecond, qualityLimitationReason and
     * `active`, ordered by rid as the sender's parameters list them; [] before
     * there is one.
     */
    async outboundLayers(key) {
      const transceiver = (harness.published?.[key] ?? []).find((each) => each.sender.track?.kind === 'video');
      if (!transceiver) return [];
      const order = transceiver.sender.getParameters().encodings.map((encoding) => encoding.rid ?? null);
      const rows = [];
      for (const entry of (await transceiver.sender.getStats()).values()) {
        if (entry.type !== 'outbound-rtp') continue;
        rows.push({ rid: entry.rid ?? null, ssrc: entry.ssrc, frameWidth: entry.frameWidth ?? null,
          frameHeight: entry.frameHeight ?? null, bytesSent: entry.bytesSent ?? 0, framesEncoded: entry.framesEncoded ?? 0,
          framesPerSecond: entry.framesPerSecond ?? null, qualityLimitationReason: entry.qualityLimitationReason ?? null,
          active: entry.active ?? null, targetBitrate: entry.targetBitrate ?? null });
      }
      return rows.sort((a, b) => order.indexOf(a.rid) - order.indexOf(b.rid));
    },

    /** Lines of our current local and remote descriptions matching `pattern` (a RegExp source), per m-section. */
    sdpLines(pattern) {
      const pick = (sdp) => (sdp ?? '').split(/\r\n(?=m=)/).slice(1).map((section) => section.split('\r\n')
        .filter((line) => line.startsWith('m=') || new RegExp(pattern).test(line)));
      return { local: pick(harness.call?.pc?.localDescription?.sdp), remote: pick(harness.call?.pc?.remoteDescription?.sdp) };
    },

    /**
     * Per video transceiver of the call: mid, currentDirection, the session
     * its receiver's track was last forwarded for (null: our own), and the
     * codec of its `outbound-rtp` and `inbound-rtp` entries (`codecId` ->
     * `codec`: mimeType, sdpFmtpLine, payloadType) with packetsSent /
     * framesEncoded and packetsReceived / framesDecoded; null where there is
     * no such entry.
     */
    async videoCodecs() {
      const pc = harness.call?.pc;
      if (!pc) return [];
      const rows = [];
      const codecOf = (report, entry) => {
        const codec = entry.codecId ? report.get(entry.codecId) : null;
        return codec ? { mimeType: codec.mimeType, fmtp: codec.sdpFmtpLine ?? null, payloadType: codec.payloadType }
          : null;
      };
      for (const transceiver of pc.getTransceivers()) {
        if (transceiver.receiver.track.kind !== 'video') continue;
        const row = { mid: transceiver.mid, direction: transceiver.currentDirection,
          session: harness.trackSessions.get(transceiver.receiver.track) ?? null, outbound: null, inbound: null };
        const sent = await transceiver.sender.getStats();
        for (const entry of sent.values()) {
          if (entry.type !== 'outbound-rtp') continue;
          row.outbound = { codec: codecOf(sent, entry), packetsSent: entry.packetsSent ?? 0,
            framesEncoded: entry.framesEncoded ?? 0 };
        }
        const received = await transceiver.receiver.getStats();
        for (const entry of received.values()) {
          if (entry.type !== 'inbound-rtp') continue;
          row.inbound = { codec: codecOf(received, entry), packetsReceived: entry.packetsReceived ?? 0,
            framesDecoded: entry.framesDecoded ?? 0 };
        }
        rows.push(row);
      }
      return rows;
    },

    async unpublish(key) {
      await harness.call.unpublish(harness.published[key]);
      return harness.published[key].map((transceiver) => `${transceiver.mid}:${transceiver.currentDirection}`);
    },

    /** Our line's occupants as the last `occupants` event listed them. */
    occupants() {
      return harness.line?.occupants ?? [];
    },

    /** Events logged so far of one kind (only what JSON can carry). */
    events(event) {
      return JSON.parse(JSON.stringify(harness.log.filter((entry) => entry.event === event)));
    },

    /**
     * Every receiver of the call with the session its track was last
     * forwarded for: kind, mid, track id, currentDirection, muted, whether
     * the track is in that session's stream now, inbound `framesDecoded` /
     * `packetsReceived`, and for video the average colour in the middle and
     * the decoded `frameWidth` / `frameHeight` (null before the first); with
     * `pitch`, for audio the loudest pitch heard `{ hz, db }`
     * (window.loudestPitch; null while silent; from then on each audio
     * track plays in a muted element), else null.
     */
    async receivers({ pitch = false } = {}) {
      const pc = harness.call?.pc;
      if (!pc) return [];
      const rows = [];
      for (const transceiver of pc.getTransceivers()) {
        const { track } = transceiver.receiver;
        const session = harness.trackSessions.get(track) ?? null;
        if (session === null) continue; // not a forwarded stream (our own m-lines)
        const row = {
          session, kind: track.kind, mid: transceiver.mid, trackId: track.id,
          direction: transceiver.currentDirection, muted: track.muted,
          inStream: harness.call.remoteStreams.get(session)?.getTracks().includes(track) ?? false,
          framesDecoded: 0, packetsReceived: 0, colour: null, frameWidth: null, frameHeight: null, pitch: null,
        };
        for (const entry of (await transceiver.receiver.getStats()).values()) {
          if (entry.type !== 'inbound-rtp') continue;
          row.framesDecoded += entry.framesDecoded ?? 0;
          row.packetsReceived += entry.packetsReceived ?? 0;
          if (entry.frameWidth !== undefined) [row.frameWidth, row.frameHeight] = [entry.frameWidth, entry.frameHeight];
        }
        if (track.kind === 'video') row.colour = window.trackColour(track);
        else if (pitch) {
          // Chromium feeds a received track to Web Audio only while a media
          // element plays it: a muted <audio> per track, kept.
          harness.audioElements ??= new WeakMap();
          if (!harness.audioElements.has(track)) {
            const element = Object.assign(document.createElement('audio'), { muted: true, autoplay: true });
            element.srcObject = new MediaStream([track]);
            element.play().catch(() => {});
            harness.audioElements.set(track, element);
          }
          row.pitch = window.loudestPitch(track);
        }
        rows.push(row);
      }
      return rows;
    },

    /**
     * The call's ICE path (getStats: the transport's selectedCandidatePairId
     * -> candidate-pair -> local-candidate and remote-candidate): the pair's
     * state, RTT and bytes, each end's candidateType, address, port,
     * protocol (and for a relayed local end its relayProtocol and TURN url);
     * `gathered` lists every local candidate as 'type protocol address:port';
     * `connection` and `gathering` are the PeerConnection's connectionState
     * and iceGatheringState; null members before a pair is selected.
     */
    async selectedCandidatePair() {
      const pc = harness.call?.pc;
      const path = { connection: pc?.connectionState ?? null, gathering: pc?.iceGatheringState ?? null, pair: null,
        local: null, remote: null, gathered: [] };
      if (!pc) return path;
      const report = await pc.getStats();
      const candidate = (entry) => (entry ? { candidateType: entry.candidateType, address: entry.address,
        port: entry.port, protocol: entry.protocol, relayProtocol: entry.relayProtocol ?? null, url: entry.url ?? null }
        : null);
      for (const entry of report.values()) {
        if (entry.type === 'local-candidate') {
          path.gathered.push(`${entry.candidateType} ${entry.protocol} ${entry.address}:${entry.port}`);
        }
        if (entry.type !== 'transport' || !entry.selectedCandidatePairId) continue;
        const pair = report.get(entry.selectedCandidatePairId);
        if (!pair) continue;
        path.pair = { state: pair.state, nominated: pair.nominated ?? null,
          currentRoundTripTime: pair.currentRoundTripTime ?? null, bytesSent: pair.bytesSent ?? 0,
          bytesReceived: pair.bytesReceived ?? 0 };
        path.local = candidate(report.get(pair.localCandidateId));
        path.remote = candidate(report.get(pair.remoteCandidateId));
      }
      return path;
    },
  };
  window.harness = harness;
}

// ---------------------------------------------------------------- Node side

/**
 * A browser context and page per user, each with fake devices of the user's
 * colour and tone, the colour and pitch analysis, and the harness; the page
 * is the server's demo page. Console lines are printed with the user's name;
 * uncaught page errors are collected in `pageErrors`.
 */
export async function openHarnessPages(browser, users, { pageUrl, colours, tones, pageErrors }) {
  const pages = {};
  for (const who of users) {
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    await context.addInitScript(fakeDevicesIn, { rgb: colours[who], hz: tones[who] });
    await context.addInitScript(colourAnalysisIn);
    await context.addInitScript(pitchAnalysisIn);
    await context.addInitScript(lineHarnessIn);
    const page = await context.newPage();
    page.on('console', (message) => console.log(`[${who} ${message.type()}] ${message.text()}`));
    page.on('pageerror', (error) => {
      pageErrors.push(`${who}: ${error.message}`);
      console.log(`[${who} page error] ${error.message}`);
    });
    await page.goto(pageUrl, { waitUntil: 'load' });
    pages[who] = page;
  }
  return pages;
}

/**
 * Calls `read()` (async, e.g. a page.evaluate) every `pollMs` until
 * `missing(value)` returns an empty list, and resolves with that value and
 * the time it took; after `timeoutMs` fails with `what` and the last
 * missing items.
 */
export async function pollUntil(what, read, missing, { timeoutMs = 20000, pollMs = 250 } = {}) {
  const started = Date.now();
  for (;;) {
    const value = await read();
    const lacking = missing(value);
    if (lacking.length === 0) return { value, elapsedMs: Date.now() - started };
    if (Date.now() - started > timeoutMs) {
      throw new Failure(`${what}: not within ${timeoutMs} ms: ${lacking.join('; ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** The name of the colour in `colours` nearest to `rgb`, or null. */
/**
 * Every receiver of the page with its stream, kind, mid, colour and inbound
 * figures (harness.receivers()); with `pitch`, each audio track's pitch too.
 */
export function receiversOf(page, { pitch = false } = {}) {
  return page.evaluate((options) => window.harness.receivers(options), { pitch });
}

/**
 * Before a `join` with `serverCandidatesVia`: `onCandidate(entry)` (Node
 * side) gets each server candidate the page's filter met (harness.relayedClient:
 * `{ address, port, protocol, type, rewritten }`, the original address and port).
 */
export function routeServerCandidates(page, onCandidate) {
  return page.exposeFunction('harnessServerCandidate', onCandidate);
}

/**
 * A selected path (selectedPairOf) in one line: each end's type, protocol,
 * address and port (a relayed end with its TURN url), the pair's state,
 * RTT and bytes.
 */
export function describePath(path) {
  const end = (candidate) => (candidate ? `${candidate.candidateType} ${candidate.protocol} ${candidate.address}:${candidate.port}`
    + `${candidate.relayProtocol ? ` (relayed over ${candidate.relayProtocol}, ${candidate.url})` : ''}` : '-');
  const rtt = path.pair?.currentRoundTripTime;
  return `${end(path.local)} <-> ${end(path.remote)}, ${path.pair?.state ?? 'no pair'}, `
    + `RTT ${rtt == null ? '?' : `${(rtt * 1000).toFixed(1)} ms`}, ${path.pair?.bytesSent ?? 0} bytes sent, `
    + `${path.pair?.bytesReceived ?? 0} received`;
}

/** The admin API (loopback, no token in the default configuration). */
export const ADMIN_URL = process.env.PARTYLINE_ADMIN_URL ?? 'http://127.0.0.1:7088';

/**
 * The server's selected ICE pair of `session` (admin API, GET
 * /admin/v1/sessions/{id}: transport.selected_pair, candidate lines
 * `{ local, remote }`), or null before there is one.
 */
export async function serverSelectedPair(session) {
  const response = await fetch(`${ADMIN_URL}/admin/v1/sessions/${session}`, { signal: AbortSignal.timeout(1000) });
  check(response.ok, `admin API: GET /admin/v1/sessions/${session} answered ${response.status}`);
  return (await response.json()).transport?.selected_pair ?? null;
}

/** The page's selected ICE candidate pair and its two candidates (harness.selectedCandidatePair()). */
export function selectedPairOf(page) {
  return page.evaluate(() => window.harness.selectedCandidatePair());
}

/**
 * What `who`'s receivers (`rows`, from receiversOf with `pitch`) still lack to show and
 * play each of `publishers` (names; `sessions` maps them to session ids): a
 * video receiver of that stream decoding more than `minFrames` frames whose
 * colour is within `colourTolerance` per channel of `colours[publisher]` and
 * nearest to it, and an audio receiver of that stream with more than
 * `minPackets` packets whose loudest pitch is within `toneToleranceHz` of
 * `tones[publisher]` and nearest to it. [] when nothing is missing.
 */
export function missingSeenAndHeard(who, rows, publishers, sessions, { colours, tones, minFrames = 30, minPackets = 50,
  colourTolerance = 60, toneToleranceHz = 40 }) {
  const nearestTone = (hz) => Object.keys(tones).reduce((best, name) =>
    (Math.abs(tones[name] - hz) < Math.abs(tones[best] - hz) ? name : best));
  const missing = [];
  for (const publisher of publishers) {
    const theirs = rows.filter((row) => row.session === sessions[publisher] && row.inStream && row.direction !== 'inactive');
    const video = theirs.filter((row) => row.kind === 'video');
    const audio = theirs.filter((row) => row.kind === 'audio');
    if (!video.some((row) => row.framesDecoded > minFrames && colourWithin(row.colour, colours[publisher], colourTolerance)
      && nearestColour(row.colour, colours) === publisher)) {
      missing.push(`${who} does not see ${publisher} (rgb(${colours[publisher]}), > ${minFrames} frames): `
        + `${video.map((row) => `mid ${row.mid} rgb(${row.colour}) ${row.framesDecoded} frames`).join(', ') || 'no video receiver'}`);
    }
    if (!audio.some((row) => row.packetsReceived > minPackets && row.pitch
      && Math.abs(row.pitch.hz - tones[publisher]) <= toneToleranceHz && nearestTone(row.pitch.hz) === publisher)) {
      missing.push(`${who} does not hear ${publisher} (${tones[publisher]} Hz, > ${minPackets} packets): `
        + `${audio.map((row) => `mid ${row.mid} ${row.pitch ? `${row.pitch.hz} Hz ${row.pitch.db} dB` : 'silent'} `
          + `${row.packetsReceived} packets`).join(', ') || 'no audio receiver'}`);
    }
  }
  return missing;
}

/** A three-rid simulcast publisher's encodings, lowest first, as browsers' SFU clients send them. */
export const SIMULCAST_ENCODINGS = [{ rid: 'q', scaleResolutionDownBy: 4 }, { rid: 'h', scaleResolutionDownBy: 2 },
  { rid: 'f' }];

/**
 * The width that counts as the publisher's high layer now, from its per-rid
 * outbound-rtp `layers`: `highWidth`, or the 'f' layer's own current width
 * when it is narrower (Chromium may scale all layers down, "cpu"), as long
 * as that is wider than the 'q' layer.
 */
export function highLayerWidth(layers, highWidth) {
  const full = layers.find((layer) => layer.rid === 'f');
  const low = layers.find((layer) => layer.rid === 'q');
  if (!full?.frameWidth) return highWidth;
  if (low?.frameWidth && full.frameWidth <= low.frameWidth) return highWidth;
  return Math.min(highWidth, full.frameWidth);
}

/** The steps of the page's offer/answer exchanges so far (LineCall's 'negotiation' events). */
export function negotiationOf(page) {
  return page.evaluate(() => window.harness.events('negotiation').map((entry) => entry.step));
}

/** Fails the test at once when the page recorded an error (a server offer it could not apply...). */
export async function failOnPageErrors(who, page) {
  const errors = await page.evaluate(() => window.harness.errors);
  if (errors.length === 0) return;
  const steps = await negotiationOf(page);
  throw new Failure(`${who}'s page: ${errors.join(' | ')} (negotiation steps: ${steps.join(' -> ')})`);
}

/**
 * Every page's server offers answered: 'server-offer' and 'answer-sent'
 * counts equal (given `timeoutMs`); returns each page's count of server offers.
 */
export async function expectOffersAnswered(pages, timeoutMs) {
  const counts = {};
  for (const [who, page] of Object.entries(pages)) {
    const { value } = await pollUntil(`${who}'s server offers answered`, async () => {
      await failOnPageErrors(who, page);
      return negotiationOf(page);
    }, (steps) => {
      const offers = steps.filter((step) => step === 'server-offer').length;
      const answers = steps.filter((step) => step === 'answer-sent').length;
      return offers === answers ? [] : [`${offers} server offers, ${answers} answers: ${steps.join(' -> ')}`];
    }, { timeoutMs });
    console.log(`${who}'s negotiation: ${value.join(' -> ')}`);
    counts[who] = value.filter((step) => step === 'server-offer').length;
  }
  return counts;
}

export function nearestColour(rgb, colours) {
  if (!rgb) return null;
  const distance = (name) => colours[name].reduce((sum, value, channel) => sum + (value - rgb[channel]) ** 2, 0);
  return Object.keys(colours).reduce((best, name) => (distance(name) < distance(best) ? name : best));
}

/** Whether `rgb` is within `tolerance` of `expected` in every channel. */
export function colourWithin(rgb, expected, tolerance) {
  return Boolean(rgb) && expected.every((value, channel) => Math.abs(value - rgb[channel]) <= tolerance);
}

/** Page errors the harness collected (failed requests, negotiation errors). */
export async function harnessErrors(pages) {
  const errors = [];
  for (const [who, page] of Object.entries(pages)) {
    for (const error of await page.evaluate(() => window.harness.errors)) errors.push(`${who}: ${error}`);
  }
  return errors;
}

/**
 * A whole harness test: headless Chromium, one page per user
 * (openHarnessPages), `run(pages)`; prints PASS `passMessage`, or FAIL with
 * the failure (after `onFailure(pages)` printed what helps to see why) or
 * with the pages' uncaught errors. Returns the exit code.
 */
export async function runHarnessTest({ users, pageUrl, colours, tones, run, passMessage, onFailure = null }) {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS,
    timeout: 30000 });
  const pageErrors = [];
  try {
    let pages = {};
    try {
      pages = await openHarnessPages(browser, users, { pageUrl, colours, tones, pageErrors });
      await run(pages);
    } catch (error) {
      if (onFailure) await onFailure(pages);
      console.log(`FAIL: ${error instanceof Failure ? error.message : error.stack}`);
      return 1;
    }
    if (pageErrors.length > 0) {
      console.log(`FAIL: uncaught errors in the pages: ${pageErrors.join(' | ')}`);
      return 1;
    }
    console.log(`PASS: ${passMessage}`);
    return 0;
  } finally {
    await browser.close().catch((error) => console.error('closing Chromium:', error.message));
  }
}

/** On failure: each page's PeerConnection as it was (signaling and connection state, transceivers, harness errors). */
export async function printConnections(pages) {
  for (const [who, page] of Object.entries(pages)) {
    const state = await page.evaluate(() => ({
      signaling: window.harness.call?.pc?.signalingState ?? null,
      connection: window.harness.call?.pc?.connectionState ?? null,
      transceivers: (window.harness.call?.pc?.getTransceivers() ?? [])
        .map((transceiver) => `${transceiver.mid}:${transceiver.receiver.track.kind}:${transceiver.currentDirection}`).join(' '),
      errors: window.harness.errors,
    })).catch((e) => e.message);
    console.log(`${who}'s connection: ${JSON.stringify(state)}`);
  }
}
