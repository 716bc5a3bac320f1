// e2e-test: verto_channel_chromium
// Seed 004 (a channel client of FreeSWITCH's verto endpoint) on partyline's
// `/verto` endpoint, in Chromium, with a client written only from the seed
// document's classes and partyline's contract for the endpoint (where the
// seed says "TODO"): MyWebSocket (reconnects with backoff, except after
// verto.punt or a failed login), Client (JSON-RPC 2.0: `login` without
// credentials first, -32000, then `login` with clientId@channel and the
// channel password; on verto.clientReady verto.subscribe to the channel,
// then presence {"status": ...} published with verto.broadcast, base64
// JSON; verto.event skipped when its sessid is our own, the client id is
// userid.split('@')[0]; verto.info bodies base64 JSON; verto.punt; an echo
// ping every 45 s; server requests answered with a result), Peer (the
// seed's offer / accept / close protocol over verto.info, one Connection at
// a time; presence "busy" while it holds one, "idle" otherwise, and
// published again when a client with a new sessid appears, so newcomers
// learn idle clients' presence) and Connection (perfect negotiation as in
// the webrtc-pc example, the offering peer polite, the accepting one
// impolite; descriptions and candidates as verto.info bodies; camera and
// microphone: a canvas of the page's colour and a sine). The test decides
// when a page offers, accepts or refuses. Clients ann (red), ben (green),
// cal (blue) and a second ann (yellow) in channel 8c1d2e3f-..., password
// channel-password-1 (verto_channel.json). The checks:
//   1. Raw sockets in ann's page: before login verto.subscribe, verto.info
//      and verto.broadcast get -32000 "Authentication Required", echo is
//      answered with its params; wrong password, unknown channel, a login
//      without '@', a 28-character client id: -32001 "Authentication
//      Failure", the socket stays open and still unauthenticated; malformed
//      JSON -32700 (id null), an array and a request without method
//      -32600. ann@other-channel (its own password) logs in beside them.
//      Then ann and ben log in: exactly the -32000, then "logged in" with
//      their sessid, then verto.clientReady {reattached_sessions: []}; the
//      subscribe result lists the channel in subscribedChannels; presence
//      is "broadcast sent". Logged in: echo returns its params, verto.ping
//      {}, an unknown method -32601, subscribing to other-channel lists it
//      in unauthorizedChannels only, broadcasting there is -32602; from
//      other-channel, verto.info to ben is -32602 and our channel's
//      subscription unauthorized.
//   2. Presence: each of ann, ben, then cal knows the other two as idle,
//      with the server's userid (id@channel) and the other's sessid; each
//      got its own events back. A broadcast by ann with ben's userid and
//      sessid in its params reaches ben, cal and ann with ann's.
//   3. ann offers ben, ben accepts: within 20 s each decodes > 30 frames of
//      the other's colour (and > 50 audio packets); cal sees both "busy".
//      cal offers ann, ann refuses (close): cal's Connection ends. ann
//      closes: ben's Connection ends. cal offers ben, ben accepts: media
//      cal <-> ben (the third participant calls ben after ann closed).
//   4. verto.info to "nobody": -32602 "client nobody is not in channel
//      <channel>"; one from ann with msg.from "cal" reaches ben from "ann"
//      (and not cal).
//   5. A second page logs in as ann: the whole login flow; the first ann
//      page gets verto.punt, then its socket closes with 4005, and does
//      not reconnect; ben's verto.info to ann reaches the new page only;
//      ben and cal see ann's new sessid. ann@other-channel is untouched.
//   6. Kick: the admin API's GET /admin/v1/sessions lists cal once (user
//      verto:cal@<channel>, name cal); DELETE kicks it: cal's page gets
//      verto.punt, then its socket closes (4000-4999), its Connection ends;
//      cal leaves the list. ben's close to cal gets -32602; the second ann
//      offers ben, media both ways, and sees ben "busy".
//   7. ben's page closes: verto.info to ben gets -32602 within 10 s.
//   Throughout: every message is JSON-RPC 2.0, a response to a request of
//   that socket or a server request with an id; every request of the
//   sockets that stayed open was answered; every Peer message was "MESSAGE
//   SENT" (but ben's close to the kicked cal); every verto.event carries
//   data some client broadcast; no socket closed but those above; the
//   other-channel socket, silent since step 1 (far longer than twice the
//   config's keepalive_interval_ms: the seed's client only pings every
//   45 s), is still open and got nothing but its verto.clientReady; no
//   page error.
// The Connection handles signals one at a time and, as the polite peer in
// a collision, rolls back only once its own offer has gathered a
// candidate (a Chromium quirk; see Connection.handleSignal).
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py with verto_channel.json); PARTYLINE_URL is the page,
// the endpoint ws://same-host/verto; the admin API at PARTYLINE_ADMIN_URL,
// else the server log's "admin API listening on" address, else
// 127.0.0.1:7088. The test can be checked without the server:
// `run_e2e.sh --binary tests/e2e/mock_verto_channel.mjs verto_channel_chromium`
// (MOCK_BUG=... breaks one rule of the contract; the test should fail).

import { readFile } from 'node:fs/promises';
import { check, colourWithin, nearestColour, pollUntil, runHarnessTest } from './line_page.mjs';
import { differences } from './test_util.mjs';

const BASE = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const VERTO_URL = (() => {
  const url = new URL('/verto', BASE);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
})();
const CONFIG = JSON.parse(await readFile(new URL('verto_channel.json', import.meta.url), 'utf8'));
const [CHANNEL, OTHER] = CONFIG.lines.rooms;
const CH = CHANNEL.id;
const PASSWORD = CHANNEL.token;
const CLIENT_OF = { ann: 'ann', ben: 'ben', cal: 'cal', ann2: 'ann' };
const USERS = Object.keys(CLIENT_OF);
const COLOURS = { ann: [220, 40, 40], ben: [40, 180, 40], cal: [40, 70, 220], ann2: [200, 200, 40] };
const TONES = { ann: 440, ben: 660, cal: 880, ann2: 1100 };
const STEP_MS = 10000;
const MEDIA_DEADLINE_MS = 20000;
const MIN_FRAMES = 30;
const MIN_AUDIO_PACKETS = 50;
const COLOUR_TOLERANCE = 60;

// ---------------------------------------------------------------- in the page

/** Evaluated in each page: the seed's classes, reachable as `window.verto`; `window.vertoLog` is what they saw. */
function vertoPageIn() {
  const now = () => Math.round(performance.now());
  const log = {
    received: [], // { socket, at, data }: every message of the Client's sockets
    sent: [], // { socket, at, data }
    opens: [], closes: [], // { socket, at, code, reason }
    presence: {}, // client id -> { status, userid, sessid }
    offers: [], // { from, at }: offers waiting for the test
    infos: [], // { from, body, at }: every decoded verto.info
    sends: [], // { to, type, response }: the Peer's verto.info and their responses
    ended: [], // { remote, reason, at }: Connections that ended
    negotiation: [], // { remote, type, collision, ignored }
    broadcasts: [], // eventData the Client broadcast
    errors: [],
    punted: false,
  };
  window.vertoLog = log;
  const encode = (value) => btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(value))));
  const decode = (text) => JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(text), (c) => c.charCodeAt(0))));

  class MyWebSocket {
    constructor(url, handlers) {
      Object.assign(this, { url, handlers, count: 0, retries: 0, reconnect: true, ws: null, timer: null });
    }

    connect() {
      const number = ++this.count;
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.addEventListener('open', () => {
        this.retries = 0;
        log.opens.push({ socket: number, at: now() });
        this.handlers.open();
      });
      ws.addEventListener('message', (event) => {
        let data;
        try { data = JSON.parse(event.data); } catch { log.errors.push(`not JSON: ${event.data}`); return; }
        log.received.push({ socket: number, at: now(), data });
        this.handlers.message(data);
      });
      ws.addEventListener('close', (event) => {
        log.closes.push({ socket: number, at: now(), code: event.code, reason: event.reason });
        if (this.ws !== ws) return;
        this.handlers.close();
        if (this.reconnect) this.timer = setTimeout(() => this.connect(), Math.min(30000, 1000 * 2 ** this.retries++));
      });
    }

    send(data) {
      log.sent.push({ socket: this.count, at: now(), data });
      this.ws.send(JSON.stringify(data));
    }

    disconnect() {
      this.reconnect = false;
      clearTimeout(this.timer);
      this.ws?.close();
    }
  }

  class Client {
    constructor({ url, clientId, channelId, password, pingMs = 45000 }) {
      Object.assign(this, { clientId, channelId, password, pingMs, sessid: crypto.randomUUID(), nextId: 1,
        pending: new Map(), loggedIn: false, status: 'idle', handlers: {} });
      this.socket = new MyWebSocket(url, {
        open: () => this.login().catch((error) => log.errors.push(`login: ${error.message}`)),
        message: (data) => this.onMessage(data),
        close: () => { this.loggedIn = false; this.pending.clear(); },
      });
    }

    connect() {
      this.socket.connect();
      this.pinger = setInterval(() => { if (this.loggedIn) this.request('echo', { ping: Date.now() }); }, this.pingMs);
    }

    /** A request; resolves with the whole response (result or error). */
    request(method, params = {}) {
      const id = this.nextId++;
      return new Promise((resolve) => {
        this.pending.set(id, resolve);
        this.socket.send({ jsonrpc: '2.0', id, method, params: { sessid: this.sessid, ...params } });
      });
    }

    async login() {
      const first = await this.request('login', {});
      if (first.result) { this.loggedIn = true; return; }
      if (first.error?.code !== -32000) log.errors.push(`login without credentials: ${JSON.stringify(first)}`);
      const response = await this.request('login', { login: `${this.clientId}@${this.channelId}`, passwd: this.password });
      if (response.result) this.loggedIn = true;
      else this.socket.disconnect(); // the seed's client disconnects itself
    }

    async onReady() {
      await this.request('verto.subscribe', { eventChannel: this.channelId });
      await this.publish(this.status);
    }

    publish(status) {
      this.status = status;
      const eventData = encode({ status });
      log.broadcasts.push(eventData);
      return this.request('verto.broadcast', { localBroadcast: true, eventChannel: this.channelId, eventData });
    }

    info(to, body) {
      return this.request('verto.info', { msg: { to, body: encode(body) } });
    }

    onMessage(data) {
      if (data.method === undefined) {
        const resolve = this.pending.get(data.id);
        this.pending.delete(data.id);
        resolve?.(data);
        return;
      }
      this.socket.send({ jsonrpc: '2.0', id: data.id, result: { method: data.method } });
      try {
        switch (data.method) {
          case 'verto.clientReady':
            this.onReady().catch((error) => log.errors.push(`ready: ${error.message}`));
            break;
          case 'verto.event':
            if (data.params.sessid === this.sessid) break;
            this.handlers.event?.(data.params.userid.split('@')[0], decode(data.params.eventData), data.params);
            break;
          case 'verto.info':
            this.handlers.info?.(data.params.msg.from, decode(data.params.msg.body));
            break;
          case 'verto.punt':
            log.punted = true;
            this.socket.reconnect = false; // the server closes the socket
            clearInterval(this.pinger);
            this.handlers.punt?.();
            break;
          default:
            break;
        }
      } catch (error) {
        log.errors.push(`${data.method}: ${error.message}`);
      }
    }
  }

  class Connection {
    constructor(peer, remote, polite) {
      Object.assign(this, { peer, remote, polite, pc: null, stream: null, closed: false, queued: [], tracks: {},
        makingOffer: false, ignoreOffer: false, isSettingRemoteAnswerPending: false,
        chain: Promise.resolve(), offering: Promise.resolve(), gathered: null });
    }

    async initMedia() {
      await navigator.mediaDevices.enumerateDevices();
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      if (this.closed) this.stream.getTracks().forEach((track) => track.stop());
    }

    signal(body) {
      if (body.description) log.negotiation.push({ remote: this.remote, sent: body.description.type, at: now() });
      if (body.candidate) log.negotiation.push({ remote: this.remote, sent: 'candidate', ufrag: body.candidate.usernameFragment, at: now() });
      this.peer.send(this.remote, body);
    }

    initPeerConnection() {
      const pc = new RTCPeerConnection();
      this.pc = pc;
      let gathered;
      this.gathered = new Promise((resolve) => { gathered = resolve; });
      pc.ontrack = ({ track }) => { this.tracks[track.kind] = track; };
      pc.onicecandidate = ({ candidate }) => {
        gathered();
        if (candidate) this.signal({ type: 'candidate', candidate: candidate.toJSON() });
      };
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') gathered(); };
      pc.onnegotiationneeded = async () => {
        try {
          this.makingOffer = true;
          this.offering = pc.setLocalDescription().catch(() => {});
          await this.offering;
          this.signal({ type: 'description', description: pc.localDescription.toJSON() });
        } catch (error) {
          if (!this.closed) log.errors.push(`negotiationneeded (${this.remote}): ${error.message}`);
        } finally {
          this.makingOffer = false;
        }
      };
      pc.oniceconnectionstatechange = () => { if (pc.iceConnectionState === 'failed') pc.restartIce(); };
      this.stream.getTracks().forEach((track) => pc.addTrack(track, this.stream));
      this.queued.splice(0).forEach((body) => this.onSignal(body));
    }

    /** Signals are handled one at a time, in their order of arrival. */
    onSignal(body) {
      if (!this.pc) { this.queued.push(body); return; }
      this.chain = this.chain.then(() => this.handleSignal(body));
    }

    async handleSignal({ description, candidate }) {
      const { pc } = this;
      try {
        if (description) {
          const readyForOffer = !this.makingOffer && (pc.signalingState === 'stable' || this.isSettingRemoteAnswerPending);
          const collision = description.type === 'offer' && !readyForOffer;
          this.ignoreOffer = !this.polite && collision;
          log.negotiation.push({ remote: this.remote, type: description.type, collision, ignored: this.ignoreOffer,
            state: pc.signalingState, makingOffer: this.makingOffer, at: now() });
          if (this.ignoreOffer) return;
          if (collision) {
            // Chromium 156 sometimes never gathers a candidate for the
            // answer when the offer it rolls back was set a moment ago and
            // had gathered nothing yet (both ends add their tracks at once
            // on every accept, so this collision is the rule here): 3 of 16
            // forced collisions stuck in "gathering", 0 of 32 when the
            // rollback waits for the offer's first candidate.
            await this.offering;
            await this.gathered;
          }
          this.isSettingRemoteAnswerPending = description.type === 'answer';
          await pc.setRemoteDescription(description); // the polite peer rolls back implicitly
          this.isSettingRemoteAnswerPending = false;
          if (description.type === 'offer') {
            await pc.setLocalDescription();
            this.signal({ type: 'description', description: pc.localDescription.toJSON() });
          }
        } else if (candidate) {
          log.negotiation.push({ remote: this.remote, candidate: candidate.usernameFragment, at: now() });
          try {
            await pc.addIceCandidate(candidate);
          } catch (error) {
            if (!this.ignoreOffer) throw error;
          }
        }
      } catch (error) {
        if (!this.closed) log.errors.push(`negotiation (${this.remote}): ${error.message}`);
      }
    }

    close() {
      this.closed = true;
      this.stream?.getTracks().forEach((track) => track.stop());
      this.pc?.close();
    }
  }

  class Peer {
    constructor(client) {
      Object.assign(this, { client, connection: null, known: new Set() });
      client.handlers = {
        event: (clientId, data, params) => this.onPresence(clientId, data, params),
        info: (from, body) => this.onMessage(from, body),
        punt: () => this.end('punted', false),
      };
    }

    onPresence(clientId, data, params) {
      log.presence[clientId] = { status: data.status, userid: params.userid, sessid: params.sessid };
      if (!this.known.has(params.sessid)) {
        this.known.add(params.sessid);
        this.client.publish(this.client.status); // a newcomer learns ours
      }
    }

    async send(to, body) {
      const response = await this.client.info(to, body);
      log.sends.push({ to, type: body.type, response });
      return response;
    }

    onMessage(from, body) {
      log.infos.push({ from, body, at: now() });
      const mine = this.connection?.remote === from ? this.connection : null;
      switch (body.type) {
        case 'offer': log.offers.push({ from, at: now() }); break;
        case 'accept': if (mine?.polite && !mine.pc) mine.initPeerConnection(); break;
        case 'close': if (mine) this.end(`close from ${from}`); break;
        case 'description': case 'candidate': mine?.onSignal(body); break;
        default: break;
      }
    }

    start(remote, polite) {
      if (this.connection) this.close();
      this.connection = new Connection(this, remote, polite);
      this.client.publish('busy');
      return this.connection;
    }

    async offer(to) {
      await this.start(to, true).initMedia();
      return this.send(to, { type: 'offer' });
    }

    async accept(from) {
      log.offers = log.offers.filter((offer) => offer.from !== from);
      const connection = this.start(from, false);
      await connection.initMedia();
      const sent = this.send(from, { type: 'accept' });
      connection.initPeerConnection();
      return sent;
    }

    refuse(from) {
      log.offers = log.offers.filter((offer) => offer.from !== from);
      return this.send(from, { type: 'close' });
    }

    close() {
      const remote = this.connection?.remote;
      if (!remote) return null;
      this.end('closed here');
      return this.send(remote, { type: 'close' });
    }

    end(reason, publish = true) {
      if (!this.connection) return;
      log.ended.push({ remote: this.connection.remote, reason, at: now() });
      this.connection.close();
      this.connection = null;
      if (publish) this.client.publish('idle');
    }
  }

  let client = null;
  let peer = null;
  const raws = [];
  const withTimeout = (promise) => Promise.race([promise, new Promise((resolve) => { setTimeout(() => resolve(null), 10000); })]);

  window.verto = {
    start({ url, clientId, channelId, password }) {
      client = new Client({ url, clientId, channelId, password });
      peer = new Peer(client);
      client.connect();
      return client.sessid;
    },
    state: () => ({ loggedIn: client?.loggedIn ?? false, sessid: client?.sessid, status: client?.status,
      connection: peer?.connection?.remote ?? null }),
    request: (method, params) => withTimeout(client.request(method, params)),
    offer: (to) => withTimeout(peer.offer(to)),
    accept: (from) => withTimeout(peer.accept(from)),
    refuse: (from) => withTimeout(peer.refuse(from)),
    close: () => withTimeout(peer.close()),
    encode,
    /** What the Connection receives. */
    async media() {
      const connection = peer?.connection;
      const { pc } = connection ?? {};
      const figures = { remote: connection?.remote ?? null, state: pc?.connectionState ?? 'none',
        states: pc ? `${pc.signalingState}/ice ${pc.iceConnectionState}/gathering ${pc.iceGatheringState}` : null,
        frames: 0, audio: 0, colour: null };
      if (!connection?.pc) return figures;
      if (connection.tracks.video) figures.colour = window.trackColour(connection.tracks.video);
      for (const entry of (await connection.pc.getStats()).values()) {
        if (entry.type === 'inbound-rtp' && entry.kind === 'video') figures.frames += entry.framesDecoded ?? 0;
        if (entry.type === 'inbound-rtp' && entry.kind === 'audio') figures.audio += entry.packetsReceived ?? 0;
      }
      return figures;
    },
    /** Raw sockets, for requests the seed's client never makes. */
    async openRaw(url) {
      const ws = new WebSocket(url);
      const raw = { ws, received: [], closes: [] };
      ws.onmessage = (event) => { raw.received.push(event.data); };
      ws.onclose = (event) => { raw.closes.push({ code: event.code, reason: event.reason }); };
      raws.push(raw);
      await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
      return raws.length - 1;
    },
    /** Sends `text` on raw socket `n`; the response (parsed: the first new message without method), or null after 10 s. */
    async rawSend(n, text) {
      const raw = raws[n];
      const before = raw.received.length;
      raw.ws.send(text);
      const started = performance.now();
      for (;;) {
        const response = raw.received.slice(before).map((data) => JSON.parse(data)).find((data) => data.method === undefined);
        if (response) return response;
        if (performance.now() - started > 10000) return null;
        await new Promise((resolve) => { setTimeout(resolve, 20); });
      }
    },
    rawLog: (n) => ({ received: raws[n].received.map((text) => JSON.parse(text)), closes: raws[n].closes,
      open: raws[n].ws.readyState === WebSocket.OPEN }),
  };
}

// ---------------------------------------------------------------- in Node


function brief(data) {
  return JSON.stringify(data, (key, value) => (key === 'sdp' || (typeof value === 'string' && value.length > 120)
    ? `<${String(value).length} chars>` : value));
}

function expectShape(what, value, wanted) {
  const found = differences(value, wanted);
  check(value != null && found.length === 0, `${what}: ${found.join('; ') || 'no response'} (${brief(value)})`);
}

/** Equal as JSON values, whatever the order of object keys. */
function sameJson(a, b) {
  const canonical = (value) => (Array.isArray(value) ? value.map(canonical) : value !== null && typeof value === 'object'
    ? Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical(value[key])])) : value);
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}
const exactly = (wanted) => (value) => sameJson(value, wanted);
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64');
const unb64 = (text) => JSON.parse(Buffer.from(text, 'base64').toString());
const isId = (id) => id !== null && id !== undefined;
const AUTH_REQUIRED = { code: -32000, message: 'Authentication Required' };
const AUTH_FAILURE = { code: -32001, message: 'Authentication Failure' };

async function adminBase() {
  let base = process.env.PARTYLINE_ADMIN_URL;
  if (!base && process.env.PARTYLINE_SERVER_LOG) {
    const found = /admin API listening on (http:\/\/\S+)/.exec(await readFile(process.env.PARTYLINE_SERVER_LOG, 'utf8'));
    base = found?.[1];
  }
  return (base ?? 'http://127.0.0.1:7088').replace(/\/+$/, '').replace(/\/admin\/v1$/, '');
}

async function admin(method, path) {
  const token = process.env.PARTYLINE_ADMIN_TOKEN;
  const response = await fetch(`${await adminBase()}${path}`, { method,
    headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  check(response.ok, `admin ${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

async function run(pages) {
  const readLog = (who) => pages[who].evaluate(() => JSON.parse(JSON.stringify(window.vertoLog)));
  const request = (who, method, params) => pages[who].evaluate(({ m, p }) => window.verto.request(m, p),
    { m: method, p: params });
  const sessid = {};
  const raw = (n, message) => pages.ann.evaluate(({ i, text }) => window.verto.rawSend(i, text),
    { i: n, text: typeof message === 'string' ? message : JSON.stringify(message) });
  let rawId = 100;
  const rawRequest = (n, method, params) => raw(n, { jsonrpc: '2.0', id: ++rawId, method, params });
  const expectError = (what, response, error, id) => {
    expectShape(what, response, { jsonrpc: '2.0', ...(id === undefined ? {} : { id }), error });
    check(!('result' in response), `${what}: a result beside the error (${brief(response)})`);
    console.log(`    ${what}: error ${response.error.code} ${JSON.stringify(response.error.message)}`);
  };

  /** Starts `who`'s Client and checks its login flow and first responses. */
  const login = async (who) => {
    sessid[who] = await pages[who].evaluate((options) => window.verto.start(options),
      { url: VERTO_URL, clientId: CLIENT_OF[who], channelId: CH, password: PASSWORD });
    const { value: log } = await pollUntil(`${who}'s login, subscription and presence`, () => readLog(who), (found) => {
      const broadcast = found.sent.find((entry) => entry.data.method === 'verto.broadcast');
      return broadcast && found.received.some((entry) => entry.data.id === broadcast.data.id) ? [] : ['no broadcast answered'];
    }, { timeoutMs: STEP_MS });
    const requests = log.sent.filter((entry) => entry.data.method);
    const answer = (method) => {
      const sent = requests.find((entry) => entry.data.method === method);
      return log.received.find((entry) => entry.data.id === sent.data.id && !entry.data.method)?.data;
    };
    expectShape(`${who}: the first request`, requests[0].data, { method: 'login', params: { sessid: sessid[who] } });
    check(Object.keys(requests[0].data.params).length === 1, `${who}: the first login has params ${brief(requests[0].data.params)}`);
    const [first, second, third] = log.received.map((entry) => entry.data);
    expectError(`${who}: login without credentials`, first, AUTH_REQUIRED, requests[0].data.id);
    expectShape(`${who}: login`, second, { jsonrpc: '2.0', id: requests[1].data.id,
      result: { message: 'logged in', sessid: sessid[who] } });
    expectShape(`${who}: after "logged in"`, third, { jsonrpc: '2.0', id: isId, method: 'verto.clientReady',
      params: { reattached_sessions: [] } });
    const subscribed = answer('verto.subscribe');
    expectShape(`${who}: verto.subscribe`, subscribed, { jsonrpc: '2.0', result: { subscribedChannels: [CH], sessid: sessid[who] } });
    check(!subscribed.result.unauthorizedChannels?.length, `${who}: unauthorizedChannels in ${brief(subscribed)}`);
    expectShape(`${who}: verto.broadcast`, answer('verto.broadcast'), { jsonrpc: '2.0', result: { message: 'broadcast sent' } });
    console.log(`    ${who}: -32000, logged in (sessid ${sessid[who]}), verto.clientReady, subscribed, presence sent`);
  };

  /** Waits until `who` knows each of `others` with `status`, the server's userid and the other's sessid. */
  const expectPresence = async (who, others, status) => {
    await pollUntil(`${who}'s presence of ${others.join(', ')}`, () => readLog(who), (log) => others.flatMap((other) => {
      const found = differences(log.presence[CLIENT_OF[other]], { status, userid: `${CLIENT_OF[other]}@${CH}`, sessid: sessid[other] });
      return found.length ? [`${other}: ${found.join(', ')}`] : [];
    }), { timeoutMs: STEP_MS });
    console.log(`    ${who} knows ${others.map((other) => `${other} ${status}`).join(', ')}`);
  };

  /** The verto.event messages `who` received carrying `eventData`. */
  const eventsWith = async (who, eventData) => (await readLog(who)).received.map((entry) => entry.data)
    .filter((data) => data.method === 'verto.event' && data.params?.eventData === eventData);

  /** Waits until `who` decodes > MIN_FRAMES frames of `other`'s colour and audio from it. */
  const expectMedia = async (who, other) => {
    const { value, elapsedMs } = await pollUntil(`${who} receives ${other}`, () => pages[who].evaluate(() => window.verto.media()),
      (figures) => {
        const lacking = [];
        if (figures.remote !== CLIENT_OF[other]) lacking.push(`connection with ${figures.remote}`);
        if (figures.state !== 'connected') lacking.push(`connection ${figures.state} (${figures.states})`);
        if (!(figures.frames > MIN_FRAMES)) lacking.push(`${figures.frames} frames`);
        if (!(figures.audio > MIN_AUDIO_PACKETS)) lacking.push(`${figures.audio} audio packets`);
        if (!colourWithin(figures.colour, COLOURS[other], COLOUR_TOLERANCE) || nearestColour(figures.colour, COLOURS) !== other) {
          lacking.push(`colour ${JSON.stringify(figures.colour)} is not ${other}'s ${JSON.stringify(COLOURS[other])}`);
        }
        return lacking;
      }, { timeoutMs: MEDIA_DEADLINE_MS });
    console.log(`    ${who} <- ${other}: ${value.frames} frames of ${JSON.stringify(value.colour)}, ${value.audio} audio packets (${elapsedMs} ms)`);
  };

  const sentOk = (who, what, response) => expectShape(`${who}: ${what}`, response,
    { jsonrpc: '2.0', result: { message: 'MESSAGE SENT', sessid: sessid[who] } });

  /** `caller` offers `callee`, who gets the offer from the server's `from` and accepts; media both ways. */
  const call = async (caller, callee) => {
    sentOk(caller, `offer to ${callee}`, await pages[caller].evaluate((to) => window.verto.offer(to), CLIENT_OF[callee]));
    await pollUntil(`${callee} gets ${caller}'s offer`, () => readLog(callee),
      (log) => (log.offers.some((offer) => offer.from === CLIENT_OF[caller]) ? [] : ['no offer']), { timeoutMs: STEP_MS });
    const info = (await readLog(callee)).received.map((entry) => entry.data)
      .filter((data) => data.method === 'verto.info' && data.params?.msg?.from === CLIENT_OF[caller]).at(-1);
    expectShape(`${callee}: the offer`, info, { jsonrpc: '2.0', id: isId,
      params: { msg: { from: CLIENT_OF[caller], to: CLIENT_OF[callee], body: (body) => unb64(body).type === 'offer' } } });
    sentOk(callee, `accept of ${caller}`, await pages[callee].evaluate((from) => window.verto.accept(from), CLIENT_OF[caller]));
    await expectMedia(caller, callee);
    await expectMedia(callee, caller);
  };

  /** Waits until `who`'s Connection with `remote` ended for `reason`. */
  const expectEnded = async (who, remote, reason) => {
    await pollUntil(`${who}'s Connection with ${remote} ends`, () => readLog(who),
      (log) => (log.ended.some((entry) => entry.remote === remote && entry.reason === reason) ? []
        : [`ended: ${brief(log.ended)}`]), { timeoutMs: STEP_MS });
    const media = await pages[who].evaluate(() => window.verto.media());
    check(media.remote === null, `${who} still holds a Connection with ${media.remote}`);
    console.log(`    ${who}: Connection with ${remote} ended (${reason})`);
  };

  /** Waits until `who` got verto.punt and then its socket closed; the close code. */
  const expectPunt = async (who) => {
    const { value: log } = await pollUntil(`${who} is punted`, () => readLog(who),
      (found) => (found.closes.length > 0 ? [] : ['socket still open']), { timeoutMs: STEP_MS });
    const puntAt = log.received.findIndex((entry) => entry.data.method === 'verto.punt');
    check(puntAt !== -1, `${who}: the socket closed (${brief(log.closes)}) without verto.punt`);
    expectShape(`${who}: verto.punt`, log.received[puntAt].data, { jsonrpc: '2.0', id: isId, params: exactly({}) });
    check(log.received[puntAt].at <= log.closes[0].at, `${who}: verto.punt came after the close`);
    check(log.received.slice(puntAt + 1).length === 0, `${who}: messages after verto.punt: ${brief(log.received.slice(puntAt + 1))}`);
    return log.closes[0];
  };

  // 1. Logging in.
  console.log('1. login');
  const r = await pages.ann.evaluate((url) => window.verto.openRaw(url), VERTO_URL);
  const rawSessid = crypto.randomUUID();
  for (const method of ['verto.subscribe', 'verto.info', 'verto.broadcast']) {
    const params = { eventChannel: CH, localBroadcast: true, eventData: b64({ status: 'idle' }), msg: { to: 'ben', body: b64({}) },
      sessid: rawSessid };
    const id = rawId + 1;
    expectError(`${method} before login`, await rawRequest(r, method, params), AUTH_REQUIRED, id);
  }
  const echoParams = { sessid: rawSessid, ping: 'before login', nested: { n: [1, 2] } };
  expectShape('echo before login', await rawRequest(r, 'echo', echoParams), { jsonrpc: '2.0', id: rawId, result: exactly(echoParams) });
  const failures = [['a wrong password', `ann@${CH}`, 'channel-password-2'], ['an unknown channel', 'ann@no-such-channel', PASSWORD],
    ['a login without @', 'ann', PASSWORD], ['a 28-character client id', `${'a'.repeat(28)}@${CH}`, PASSWORD],
    ['the other channel\'s password', `ann@${CH}`, OTHER.token]];
  for (const [what, name, passwd] of failures) {
    expectError(`login with ${what}`, await rawRequest(r, 'login', { login: name, passwd, sessid: rawSessid }), AUTH_FAILURE, rawId);
  }
  expectError('verto.subscribe after failed logins', await rawRequest(r, 'verto.subscribe', { eventChannel: CH, sessid: rawSessid }),
    AUTH_REQUIRED, rawId);
  expectError('malformed JSON', await raw(r, '{"jsonrpc":"2.0","id":5,'), { code: -32700, message: (m) => typeof m === 'string' }, null);
  expectError('a JSON array', await raw(r, '[1,2]'), { code: -32600, message: (m) => typeof m === 'string' });
  expectError('a request without method', await raw(r, { jsonrpc: '2.0', id: 77, params: {} }),
    { code: -32600, message: (m) => typeof m === 'string' });
  check((await pages.ann.evaluate((n) => window.verto.rawLog(n), r)).open, 'the raw socket closed after failed logins');
  // A client of the other channel, beside ours all along.
  const o = await pages.ann.evaluate((url) => window.verto.openRaw(url), VERTO_URL);
  const otherSessid = crypto.randomUUID();
  expectShape('ann@other-channel login', await rawRequest(o, 'login', { login: `ann@${OTHER.id}`, passwd: OTHER.token,
    sessid: otherSessid }), { jsonrpc: '2.0', result: { message: 'logged in', sessid: otherSessid } });
  expectShape('ann@other-channel subscribes', await rawRequest(o, 'verto.subscribe', { eventChannel: OTHER.id, sessid: otherSessid }),
    { result: { subscribedChannels: [OTHER.id] } });

  await login('ann');
  await login('ben');
  const echoed = { ping: 'logged in', sessid: sessid.ann, list: [1, 'two', null] };
  expectShape('ann: echo', await request('ann', 'echo', echoed), { jsonrpc: '2.0', result: exactly(echoed) });
  expectShape('ann: verto.ping', await request('ann', 'verto.ping', {}), { jsonrpc: '2.0', result: exactly({}) });
  expectError('ann: an unknown method', await request('ann', 'verto.coffee', {}), { code: -32601, message: 'Method not found' });
  const unauthorized = await request('ann', 'verto.subscribe', { eventChannel: OTHER.id });
  expectShape('ann: verto.subscribe other-channel', unauthorized, { jsonrpc: '2.0', result: { unauthorizedChannels: [OTHER.id] } });
  check(!unauthorized.result.subscribedChannels?.includes(OTHER.id), `ann subscribed to other-channel: ${brief(unauthorized)}`);
  console.log(`    ann: echo, verto.ping, -32601, other-channel unauthorized`);
  expectError('ann: verto.broadcast to other-channel', await request('ann', 'verto.broadcast',
    { localBroadcast: true, eventChannel: OTHER.id, eventData: b64({ status: 'idle' }) }), { code: -32602, message: (m) => typeof m === 'string' });
  expectError('ann@other-channel: verto.info to ben', await rawRequest(o, 'verto.info',
    { msg: { to: 'ben', body: b64({ type: 'note' }) }, sessid: otherSessid }),
  { code: -32602, message: `client ben is not in channel ${OTHER.id}` }, rawId);
  const across = await rawRequest(o, 'verto.subscribe', { eventChannel: CH, sessid: otherSessid });
  expectShape('ann@other-channel: subscribing to our channel', across, { result: { unauthorizedChannels: [CH] } });
  check(!across.result.subscribedChannels?.includes(CH), `other-channel's client subscribed to ours: ${brief(across)}`);

  // 2. Presence.
  console.log('2. presence');
  await expectPresence('ann', ['ben'], 'idle');
  await expectPresence('ben', ['ann'], 'idle');
  await login('cal');
  for (const [who, others] of [['ann', ['ben', 'cal']], ['ben', ['ann', 'cal']], ['cal', ['ann', 'ben']]]) {
    await expectPresence(who, others, 'idle');
  }
  for (const who of ['ann', 'ben', 'cal']) {
    const log = await readLog(who);
    const own = log.received.filter((entry) => entry.data.method === 'verto.event' && entry.data.params.sessid === sessid[who]);
    check(own.length > 0, `${who} got none of its own verto.event`);
    own.forEach((entry) => expectShape(`${who}: its own event`, entry.data.params,
      { eventChannel: CH, userid: `${who}@${CH}`, eventData: (data) => log.broadcasts.includes(data) }));
  }
  const spoofData = b64({ status: 'idle', check: 'spoofed userid and sessid' });
  expectShape('ann: a broadcast with ben\'s userid and sessid', await request('ann', 'verto.broadcast', { localBroadcast: true,
    eventChannel: CH, eventData: spoofData, userid: `ben@${CH}`, sessid: sessid.ben }), { result: { message: 'broadcast sent' } });
  for (const who of ['ann', 'ben', 'cal']) {
    const { value } = await pollUntil(`${who} gets the spoofed broadcast`, () => eventsWith(who, spoofData),
      (events) => (events.length ? [] : ['not yet']), { timeoutMs: STEP_MS });
    check(value.length === 1, `${who} got the spoofed broadcast ${value.length} times`);
    expectShape(`${who}: the spoofed broadcast`, value[0], { jsonrpc: '2.0', id: isId,
      params: { eventChannel: CH, eventData: spoofData, userid: `ann@${CH}`, sessid: sessid.ann } });
  }
  console.log('    the spoofed broadcast reached ann, ben and cal as ann\'s, with ann\'s sessid');

  // 3. Calls.
  console.log('3. ann offers ben');
  await call('ann', 'ben');
  await expectPresence('cal', ['ann', 'ben'], 'busy');
  console.log('    cal offers ann, ann refuses');
  sentOk('cal', 'offer to ann', await pages.cal.evaluate(() => window.verto.offer('ann')));
  await pollUntil('ann gets cal\'s offer', () => readLog('ann'),
    (log) => (log.offers.some((offer) => offer.from === 'cal') ? [] : ['no offer']), { timeoutMs: STEP_MS });
  sentOk('ann', 'close to cal', await pages.ann.evaluate(() => window.verto.refuse('cal')));
  await expectEnded('cal', 'ann', 'close from ann');
  check((await pages.ann.evaluate(() => window.verto.media())).remote === 'ben', 'ann lost its Connection with ben');
  console.log('    ann closes');
  sentOk('ann', 'close to ben', await pages.ann.evaluate(() => window.verto.close()));
  await expectEnded('ann', 'ben', 'closed here');
  await expectEnded('ben', 'ann', 'close from ann');
  console.log('    cal offers ben');
  await call('cal', 'ben');

  // 4. verto.info errors and its `from`.
  console.log('4. verto.info');
  expectError('ann: verto.info to nobody', await request('ann', 'verto.info', { msg: { to: 'nobody', body: b64({ type: 'note' }) } }),
    { code: -32602, message: `client nobody is not in channel ${CH}` });
  const note = b64({ type: 'note', check: 'spoofed from' });
  sentOk('ann', 'verto.info with from "cal"', await request('ann', 'verto.info', { msg: { from: 'cal', to: 'ben', body: note } }));
  const { value: notes } = await pollUntil('ben gets the note', () => readLog('ben'), (log) => (log.received.some((entry) =>
    entry.data.method === 'verto.info' && entry.data.params.msg.body === note) ? [] : ['not yet']), { timeoutMs: STEP_MS });
  const delivered = notes.received.filter((entry) => entry.data.method === 'verto.info' && entry.data.params.msg.body === note);
  check(delivered.length === 1, `ben got the note ${delivered.length} times`);
  expectShape('ben: the note', delivered[0].data, { jsonrpc: '2.0', id: isId, params: { msg: { from: 'ann', to: 'ben', body: note } } });
  console.log('    ben got the note from "ann"');

  // 5. A second ann.
  console.log('5. duplicate login');
  await login('ann2');
  const annClose = await expectPunt('ann');
  check(annClose.code === 4005, `ann's first socket should close with 4005: ${brief(annClose)}`);
  console.log(`    ann: verto.punt, then closed with ${annClose.code}`);
  const note2 = b64({ type: 'note', check: 'to the new ann' });
  sentOk('ben', 'verto.info to ann', await request('ben', 'verto.info', { msg: { to: 'ann', body: note2 } }));
  await pollUntil('the new ann gets ben\'s note', () => readLog('ann2'), (log) => (log.infos.some((entry) => entry.from === 'ben'
    && entry.body.check === 'to the new ann') ? [] : ['not yet']), { timeoutMs: STEP_MS });
  for (const who of ['ben', 'cal']) await expectPresence(who, ['ann2'], 'idle');
  await expectPresence('ann2', ['ben', 'cal'], 'busy');

  // 6. Kick.
  console.log('6. kick');
  const listed = (await admin('GET', '/admin/v1/sessions')).sessions.filter((entry) => entry.user === `verto:cal@${CH}`);
  check(listed.length === 1 && listed[0].name === 'cal', `the admin API lists cal as ${brief(listed)}`);
  expectShape('the kick', await admin('DELETE', `/admin/v1/sessions/${listed[0].session}`), { session: listed[0].session, kicked: true });
  const calClose = await expectPunt('cal');
  check(calClose.code >= 4000 && calClose.code <= 4999, `cal's socket should close with a 4xxx code: ${brief(calClose)}`);
  console.log(`    cal: verto.punt, then closed with ${calClose.code}`);
  await expectEnded('cal', 'ben', 'punted');
  await pollUntil('cal leaves the session list', () => admin('GET', '/admin/v1/sessions'),
    (list) => (list.sessions.some((entry) => entry.session === listed[0].session) ? ['still listed'] : []), { timeoutMs: STEP_MS });
  expectError('ben: close to the kicked cal', await pages.ben.evaluate(() => window.verto.close()),
    { code: -32602, message: `client cal is not in channel ${CH}` });
  await expectEnded('ben', 'cal', 'closed here');
  await call('ann2', 'ben');
  await expectPresence('ann2', ['ben'], 'busy');

  // Before ben goes: the logs, all checked.
  console.log('   the logs');
  const logs = {};
  for (const who of USERS) logs[who] = await readLog(who);
  const broadcast = new Set([spoofData, ...USERS.flatMap((who) => logs[who].broadcasts)]);
  for (const who of USERS) {
    const log = logs[who];
    check(log.errors.length === 0, `${who}: ${log.errors.join(' | ')}`);
    check(log.opens.length === 1, `${who}'s client connected ${log.opens.length} times`);
    const expectedCloses = { ann: 1, cal: 1 }[who] ?? 0;
    check(log.closes.length === expectedCloses, `${who}'s sockets closed: ${brief(log.closes)}`);
    const requests = new Map(log.sent.filter((entry) => entry.data.method).map((entry) => [entry.data.id, entry.data]));
    const answered = new Set();
    for (const { data } of log.received) {
      check(data.jsonrpc === '2.0', `${who}: not JSON-RPC 2.0: ${brief(data)}`);
      if (data.method !== undefined) {
        check(['verto.clientReady', 'verto.event', 'verto.info', 'verto.punt'].includes(data.method) && isId(data.id),
          `${who}: an unexpected server request ${brief(data)}`);
        if (data.method === 'verto.event') {
          check(data.params.eventChannel === CH && broadcast.has(data.params.eventData), `${who}: an event nobody broadcast: ${brief(data)}`);
        }
      } else {
        check(requests.has(data.id) && !answered.has(data.id), `${who}: a response to no request of ours: ${brief(data)}`);
        answered.add(data.id);
      }
    }
    if (expectedCloses === 0) {
      const unanswered = [...requests.keys()].filter((id) => !answered.has(id));
      check(unanswered.length === 0, `${who}: requests without response: ${brief(unanswered.map((id) => requests.get(id)))}`);
    }
    const failed = log.sends.filter((entry) => !(entry.response?.result?.message === 'MESSAGE SENT')
      && !(who === 'ben' && entry.to === 'cal' && entry.type === 'close' && entry.response?.error?.code === -32602));
    check(failed.length === 0, `${who}: Peer messages not sent: ${brief(failed)}`);
    const collisions = log.negotiation.filter((entry) => entry.collision).length;
    console.log(`    ${who}: ${log.received.length} messages, ${log.sends.length} Peer messages, ${collisions} offer collisions`);
  }
  const other = await pages.ann.evaluate((n) => window.verto.rawLog(n), o);
  check(other.open, `the other channel's client, silent since step 1, was closed: ${brief(other.closes)}`);
  const leaked = other.received.filter((data) => data.method);
  check(leaked.length === 1 && leaked[0].method === 'verto.clientReady',
    `the other channel's client should have got verto.clientReady only, not ${brief(leaked)}`);

  // 7. ben leaves.
  console.log('7. ben closes its page');
  await pages.ben.close();
  const { elapsedMs } = await pollUntil('verto.info to ben fails', () => request('ann2', 'verto.info',
    { msg: { to: 'ben', body: b64({ type: 'note', check: 'gone' }) } }), (response) => (response?.error
    ? differences(response.error, { code: -32602, message: `client ben is not in channel ${CH}` }) : ['sent']), { timeoutMs: STEP_MS });
  console.log(`    ann2: verto.info to ben: -32602 ${elapsedMs} ms after ben's page closed`);
}

/** On failure: each page's last messages. */
async function onFailure(pages) {
  for (const [who, page] of Object.entries(pages)) {
    const log = await page.evaluate(() => window.vertoLog && JSON.parse(JSON.stringify(window.vertoLog))).catch(() => null);
    if (!log) continue;
    console.log(`--- ${who}: ${log.received.length} messages, closes ${brief(log.closes)}, errors ${brief(log.errors)}, ended ${brief(log.ended)}`);
    for (const entry of log.received.slice(-12)) console.log(`    #${entry.socket} ${entry.at} ${brief(entry.data)}`);
    console.log(`    negotiation: ${log.negotiation.slice(-16).map((entry) => JSON.stringify(entry)).join('\n      ')}`);
  }
}

process.exitCode = await runHarnessTest({
  users: USERS, pageUrl: BASE, colours: COLOURS, tones: TONES, onFailure,
  run: async (pages) => {
    for (const page of Object.values(pages)) await page.evaluate(vertoPageIn);
    await run(pages);
  },
  passMessage: 'seed 004 verto channel in Chromium: login (-32000, -32001), subscribe, presence with the server\'s '
    + 'userid/sessid, offer/accept/close with perfect negotiation and media by colour, verto.info errors and from, '
    + 'duplicate login punted (4005), admin kick punted, a closed client gone',
});
