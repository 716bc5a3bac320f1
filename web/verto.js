// Seed 004's channel client (verto.html): a FreeSWITCH-verto client of
// /verto (docs/compat.md, "Seed 004"), as the seed's Client, Peer and
// Connection classes do it, trimmed to one page. JSON-RPC 2.0: `login`
// without credentials first (the server answers -32000, as mod_verto does,
// and the seed's client logs in on that answer), then `<client>@<channel>`
// and the channel's password; on verto.clientReady, subscribe to the
// channel and publish our presence ({status: idle|busy}) with
// verto.broadcast. A call is the seed's Peer protocol (offer, accept, close)
// and then perfect negotiation, all as verto.info bodies; the media goes
// directly between the two browsers, never through the server.
//
// `window.vertoDemo` is the page's state, for tests and the console.

const $ = (id) => document.getElementById(id);
const el = (tag, props) => Object.assign(document.createElement(tag), props);
// Event data and verto.info bodies are base64 JSON, as the seed sends them (so
// that FreeSWITCH's chat command leaves them alone); UTF-8 first: btoa takes bytes.
const encode = (value) => btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(value))));
const decode = (text) => JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(text), (c) => c.charCodeAt(0))));
// crypto.randomUUID only exists in secure contexts, and the page may be plain http on a LAN.
const newSessid = () => crypto.randomUUID?.()
  ?? Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

const demo = {
  ws: null, sessid: null, nextId: 1, pending: new Map(), loggedIn: false,
  channelId: '', clientId: '', password: '', status: 'idle',
  clients: new Map(), // client id -> { status, sessid }: what each one published
  offer: null,        // the client whose offer waits for Accept or Refuse
  call: null,         // the one Connection (the seed's Peer holds one at a time)
  punted: false,
};
window.vertoDemo = demo;

const status = (text) => { $('verto-status').textContent = text; };
const showError = (message) => Object.assign($('verto-error'), { textContent: message, hidden: false });
const note = (text) => $('verto-log').prepend(el('li', { textContent: `${new Date().toLocaleTimeString()} ${text}` }));

$('verto-form').addEventListener('submit', (event) => {
  event.preventDefault();
  $('verto-error').hidden = true;
  Object.assign(demo, { channelId: $('verto-channel').value.trim(), clientId: $('verto-client').value.trim(),
    password: $('verto-password').value, punted: false });
  setConnected(true);
  open();
});
$('verto-disconnect').addEventListener('click', () => disconnect('Not connected'));
$('verto-hangup').addEventListener('click', () => hangUp());
$('verto-accept').addEventListener('click', () => accept(demo.offer));
$('verto-refuse').addEventListener('click', () => { send(demo.offer, { type: 'close' }); setOffer(null); });

function setConnected(connected) {
  for (const id of ['verto-channel', 'verto-client', 'verto-password', 'verto-connect']) $(id).disabled = connected;
  $('verto-disconnect').disabled = !connected;
}

// ------------------------------------------------------------- the Client

function open() {
  const url = new URL('/verto', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url);
  // A new sessid per connection: the others republish their presence when
  // they see a sessid they do not know, which is how we learn theirs.
  Object.assign(demo, { ws, sessid: newSessid() });
  status('Connecting…');
  ws.onopen = () => login();
  ws.onmessage = (event) => { try { onMessage(JSON.parse(event.data)); } catch (error) { note(`bad message: ${error.message}`); } };
  ws.onclose = (event) => { if (demo.ws === ws) onClose(event); };
}

// Unlike the seed's MyWebSocket, the page does not reconnect by itself: Connect does.
function onClose(event) {
  demo.loggedIn = false;
  // Requests still waiting will never be answered now.
  for (const resolve of demo.pending.values()) resolve({ error: { code: 0, message: 'connection closed' } });
  demo.pending.clear();
  // After verto.punt the close code says why (docs/compat.md: 4005 a second login, 4004 a kick).
  const why = !demo.punted ? `the connection closed (${event.code})`
    : { 4005: `"${demo.clientId}" logged in elsewhere (another tab or device)`,
      4004: 'removed from the channel by the operator' }[event.code] ?? `punted by the server (${event.code})`;
  showError(`Disconnected: ${why}.`);
  disconnect(`Disconnected: ${why}`);
}

function disconnect(text) {
  hangUp();
  setOffer(null);
  const { ws } = demo;
  Object.assign(demo, { ws: null, loggedIn: false });
  ws?.close();
  demo.clients.clear();
  renderClients();
  setConnected(false);
  status(text);
}

/** A request; resolves with the whole response (result or error; code 0 when the socket is not open). */
function request(method, params = {}) {
  const id = demo.nextId++;
  return new Promise((resolve) => {
    if (demo.ws?.readyState !== WebSocket.OPEN) { resolve({ error: { code: 0, message: 'not connected' } }); return; }
    demo.pending.set(id, resolve);
    demo.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params: { sessid: demo.sessid, ...params } }));
  });
}

async function login() {
  status('Logging in…');
  const first = await request('login', {});
  const response = first.result ? first
    : await request('login', { login: `${demo.clientId}@${demo.channelId}`, passwd: demo.password });
  if (response.error?.code === 0) return; // the socket closed meanwhile: onClose said so
  if (!response.result) {
    // -32001: a wrong password, an unknown channel or a client id the server does not take; retrying would not help.
    const { code, message } = response.error ?? {};
    showError(`Login failed (${code} ${message}): check the channel id, the client id (1 to 27 letters, digits, . _ -) and the password.`);
    disconnect('Not connected');
    return;
  }
  demo.loggedIn = true;
  renderClients();
  status(`Logged in as ${demo.clientId}`);
  note(`logged in to ${demo.channelId} as ${demo.clientId}`);
  // No echo keepalive (the seed's, every 45 s): partyline's WebSocket pings watch the connection.
}

function onMessage(data) {
  if (data.method === undefined) {
    demo.pending.get(data.id)?.(data);
    demo.pending.delete(data.id);
    return;
  }
  // Server requests get an answer, as the seed's client gives one (the server ignores it).
  demo.ws?.send(JSON.stringify({ jsonrpc: '2.0', id: data.id, result: { method: data.method } }));
  if (data.method === 'verto.clientReady') {
    request('verto.subscribe', { eventChannel: demo.channelId }).then(() => publish(demo.status));
  } else if (data.method === 'verto.event') {
    onPresence(data.params);
  } else if (data.method === 'verto.info') {
    onPeerMessage(data.params.msg.from, decode(data.params.msg.body));
  } else if (data.method === 'verto.punt') {
    demo.punted = true; // the server closes the socket next, with the code that says why
  }
}

function publish(newStatus) {
  demo.status = newStatus;
  if (demo.loggedIn) request('verto.broadcast', { eventChannel: demo.channelId, eventData: encode({ status: newStatus }) });
}

function onPresence({ userid, sessid, eventData }) {
  if (sessid === demo.sessid) return; // our own broadcast comes back too
  let data;
  try { data = decode(eventData); } catch { return; } // not a seed client's presence
  if (data.status !== 'idle' && data.status !== 'busy') return;
  const id = userid.split('@')[0];
  const known = demo.clients.get(id);
  demo.clients.set(id, { status: data.status, sessid });
  if (known?.sessid !== sessid) {
    note(`${id} is in the channel (${data.status})`);
    publish(demo.status); // a newcomer (or one back with a new session): nobody else tells it our presence
  } else if (known.status !== data.status) {
    note(`${id} is ${data.status}`);
  }
  renderClients();
}

function renderClients() {
  const items = [...demo.clients].sort(([a], [b]) => a.localeCompare(b)).map(([id, { status: presence }]) => {
    const item = el('li');
    item.append(el('strong', { textContent: id }), el('span', { className: 'presence', textContent: presence }));
    item.lastChild.dataset.status = presence;
    if (presence === 'idle' && !demo.call) item.append(el('button', { type: 'button', textContent: 'Call', onclick: () => call(id) }));
    return item;
  });
  const empty = el('li', { textContent: demo.loggedIn ? 'Nobody else has said they are here yet.' : 'Not logged in.' });
  $('verto-clients').replaceChildren(...(items.length ? items : [empty]));
}

// --------------------------------------------------------------- the Peer

async function send(to, body) {
  const response = await request('verto.info', { msg: { to, body: encode(body) } });
  // -32602: `to` is not (any more) in the channel. Presence has no "left", so this is how we learn it.
  if (response.error?.code === -32602 && demo.clients.delete(to)) {
    note(`${to} has left the channel`);
    renderClients();
  }
  return response;
}

function setOffer(from) {
  demo.offer = from;
  $('verto-incoming').hidden = !from;
  $('verto-incoming-text').textContent = `${from} is calling you`;
}

function onPeerMessage(from, body) {
  const mine = demo.call?.remote === from ? demo.call : null;
  if (body.type === 'offer') {
    if (demo.call || (demo.offer && demo.offer !== from)) {
      send(from, { type: 'close' }); // busy: the seed's way to refuse is close
      note(`${from} called while you were busy: refused`);
    } else {
      setOffer(from);
      note(`${from} is calling`);
    }
  } else if (body.type === 'accept' && mine?.polite && !mine.pc) {
    note(`${from} accepted`);
    mine.initPeerConnection();
  } else if (body.type === 'close') {
    if (demo.offer === from) setOffer(null); // they gave up calling
    if (mine) note(mine.pc ? `${from} hung up` : `${from} refused the call`);
    if (mine) hangUp(false);
  } else if (body.type === 'description' || body.type === 'candidate') {
    mine?.onSignal(body);
  }
}

/** Starts a call with `remote` (polite: we offered), with camera and microphone; false when they failed. */
async function startCall(remote, polite) {
  const connection = new Connection(remote, polite);
  demo.call = connection;
  publish('busy');
  $('verto-hangup').disabled = false;
  $('verto-call').textContent = `Call with ${remote}`;
  $('verto-remote-caption').textContent = `${remote} (with sound)`;
  renderClients();
  try {
    await connection.initMedia();
  } catch (error) {
    showError(`Camera and microphone: ${error.message}`);
    hangUp(); // an accepted offer is refused this way; an offer not yet sent gets a close its peer ignores
  }
  return demo.call === connection;
}

async function call(to) {
  if (demo.call || !(await startCall(to, true))) return;
  note(`calling ${to}`);
  const response = await send(to, { type: 'offer' });
  if (response.error && demo.call?.remote === to) hangUp(false);
  if (response.error) note(`${to} could not be called: ${response.error.message}`);
}

async function accept(from) {
  setOffer(null);
  hangUp();
  if (!(await startCall(from, false))) return;
  // As the seed's accepting peer: accept once the media is ready, and set up the peer connection at once.
  send(from, { type: 'accept' });
  demo.call.initPeerConnection();
}

/** Ends the call, if any, and tells the other peer unless it told us. */
function hangUp(tell = true) {
  const { call: ended } = demo;
  if (!ended) return;
  ended.close();
  demo.call = null;
  $('verto-local').srcObject = null;
  $('verto-remote').srcObject = null;
  $('verto-hangup').disabled = true;
  $('verto-call').textContent = 'No call';
  publish('idle');
  renderClients();
  if (tell) send(ended.remote, { type: 'close' });
}

// --------------------------------------------------------- the Connection

// Perfect negotiation (the webrtc-pc example), as the seed's Connection does
// it: the offering peer is polite, the accepting one impolite. Both add their
// tracks once the call is accepted, so both offer at once, and the polite
// one rolls its own offer back.
class Connection {
  constructor(remote, polite) {
    Object.assign(this, { remote, polite, pc: null, stream: null, closed: false, queued: [], makingOffer: false,
      ignoreOffer: false, settingAnswer: false, chain: Promise.resolve(), offering: Promise.resolve(), gathered: null });
  }

  async initMedia() {
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    if (this.closed) this.stream.getTracks().forEach((track) => track.stop());
    else $('verto-local').srcObject = this.stream;
  }

  initPeerConnection() {
    // No STUN or TURN servers: host addresses only, and nothing outside this server and the peer is contacted.
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    let gathered;
    this.gathered = new Promise((resolve) => { gathered = resolve; });
    pc.ontrack = ({ track, streams }) => { $('verto-remote').srcObject = streams[0] ?? new MediaStream([track]); };
    pc.onicecandidate = ({ candidate }) => {
      gathered();
      if (candidate) send(this.remote, { type: 'candidate', candidate: candidate.toJSON() });
    };
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') gathered(); };
    pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true;
        this.offering = pc.setLocalDescription();
        await this.offering;
        send(this.remote, { type: 'description', description: pc.localDescription.toJSON() });
      } catch (error) {
        if (!this.closed) note(`negotiation: ${error.message}`);
      } finally {
        this.makingOffer = false;
      }
    };
    pc.onconnectionstatechange = () => { $('verto-call').textContent = `Call with ${this.remote}: ${pc.connectionState}`; };
    pc.oniceconnectionstatechange = () => { if (pc.iceConnectionState === 'failed') pc.restartIce(); };
    this.stream.getTracks().forEach((track) => pc.addTrack(track, this.stream));
    this.queued.splice(0).forEach((body) => this.onSignal(body));
  }

  /** Signals are handled one at a time, in their order of arrival. */
  onSignal(body) {
    if (!this.pc) this.queued.push(body);
    else this.chain = this.chain.then(() => this.handleSignal(body));
  }

  async handleSignal({ description, candidate }) {
    const { pc } = this;
    try {
      if (description) {
        const ready = !this.makingOffer && (pc.signalingState === 'stable' || this.settingAnswer);
        const collision = description.type === 'offer' && !ready;
        this.ignoreOffer = !this.polite && collision;
        if (this.ignoreOffer) return;
        if (collision) {
          // Chromium sometimes never gathers a candidate for its answer when
          // the offer it rolls back was set a moment ago and had gathered
          // nothing yet (measured in tests/e2e/verto_channel_chromium.mjs);
          // rolling back after the offer's first candidate avoids that.
          await this.offering.catch(() => {});
          await this.gathered;
        }
        this.settingAnswer = description.type === 'answer';
        await pc.setRemoteDescription(description); // the polite peer rolls back implicitly
        this.settingAnswer = false;
        if (description.type === 'offer') {
          await pc.setLocalDescription();
          send(this.remote, { type: 'description', description: pc.localDescription.toJSON() });
        }
      } else if (candidate) {
        // Candidates of an offer we ignored may not fit; that is expected.
        await pc.addIceCandidate(candidate).catch((error) => { if (!this.ignoreOffer) throw error; });
      }
    } catch (error) {
      if (!this.closed) note(`negotiation: ${error.message}`);
    }
  }

  close() {
    this.closed = true;
    this.stream?.getTracks().forEach((track) => track.stop());
    this.pc?.close();
  }
}
