// Phone-line view of the demo page ("Phone lines" in docs/protocol.md):
// an anonymous identity (`?name=`), create or join a line (the page URL
// becomes `#line=ID&token=TOKEN`, to share), invite a user by id (a guest's
// is its name, or guest:NAME on a server that takes tokens too), the
// incoming-call prompt, one tile per occupant (the others' tiles show and
// play their forwarded camera and microphone; ours is a muted preview), mute,
// hang up. Also switches between the Echo test and Phone line views.
//
// Tests read `window.phoneLine` (state, client, call).

import { ANONYMOUS_NAME_PATTERN, LineCall, PartylineClient, signalingUrlFor } from './partyline.js';

const $ = (id) => document.getElementById(id);

const state = {
  user: null,          // { user, name } from the handshake
  lineId: null,        // the line this session occupies (or is about to)
  token: null,         // the line's token, when we know it
  line: null,          // the last `occupants` line
  incoming: null,      // the ringing `incoming_call` event
  outgoing: null,      // { call_id, user, status } of our last invitation
  status: 'Not in a line',
  errors: [],
};

const phoneLine = {
  state,
  client: null,
  call: null,
  connect,
  createLine,
  joinLine,
  invite,
  accept,
  decline,
  hangUp,
};
window.phoneLine = phoneLine;

// ---------------------------------------------------------------- views

function showView(name) {
  for (const view of ['echo', 'line']) {
    const selected = view === name;
    $(`tab-${view}`).setAttribute('aria-selected', String(selected));
    $(`${view}-view`).hidden = !selected;
  }
}

$('tab-echo').addEventListener('click', () => showView('echo'));
$('tab-line').addEventListener('click', () => showView('line'));

/** `#line=ID&token=TOKEN` (or just `#line`): open the phone-line view. */
function readHash() {
  const hash = location.hash.replace(/^#/, '');
  if (!hash) return;
  const params = new URLSearchParams(hash);
  if (!params.has('line')) return;
  showView('line');
  const lineId = params.get('line');
  if (lineId && !state.lineId) {
    state.lineId = lineId;
    state.token = params.get('token') || null;
    setStatus(`Line ${shortId(lineId)} from the link: pick a name and join`);
  }
  refreshControls();
}

function writeHash() {
  const params = new URLSearchParams();
  params.set('line', state.lineId);
  if (state.token) params.set('token', state.token);
  history.replaceState(null, '', `#${params.toString()}`);
  $('line-share-url').value = location.href;
  $('line-share').hidden = false;
}

// ---------------------------------------------------------------- feedback

function setStatus(text) {
  state.status = text;
  $('line-status').textContent = text;
}

function setInviteStatus(text) {
  $('invite-status').textContent = text;
}

function showError(message) {
  state.errors.push(message);
  $('line-error').textContent = message;
  $('line-error').hidden = false;
}

function clearError() {
  $('line-error').hidden = true;
  $('line-error').textContent = '';
}

function describe(error) {
  if (error && typeof error.code === 'number' && error.reason) return `Error ${error.code}: ${error.reason}`;
  return error?.message ?? String(error);
}

function shortId(id) {
  return id ? id.slice(0, 8) : '';
}

/** Runs an action from a button: errors go to the error box. */
function guarded(action) {
  return async (event) => {
    event?.preventDefault();
    clearError();
    try {
      await action();
    } catch (error) {
      showError(describe(error));
    } finally {
      refreshControls();
    }
  };
}

function refreshControls() {
  const inLine = phoneLine.call !== null;
  $('line-create').disabled = inLine;
  $('line-join').disabled = inLine || !state.lineId;
  $('line-hangup').disabled = !inLine;
  $('mute-audio').disabled = !inLine;
  $('mute-video').disabled = !inLine;
  $('line-connect').disabled = phoneLine.client?.connected ?? false;
  $('line-name').disabled = phoneLine.client?.connected ?? false;
}

// ---------------------------------------------------------------- session

async function connect() {
  if (phoneLine.client?.connected) return phoneLine.client;
  const name = $('line-name').value.trim();
  if (!ANONYMOUS_NAME_PATTERN.test(name)) {
    $('line-name').focus();
    throw new Error("Pick a name first: 1 to 64 letters, digits, '.', '_', '-' or '@'");
  }
  const client = new PartylineClient();
  $('line-identity').textContent = 'Connecting…';
  wireClient(client);
  try {
    const handshake = await client.connect(signalingUrlFor({ name }));
    phoneLine.client = client;
    state.user = handshake.user ?? { user: name, name };
    $('line-identity').textContent = `Connected as ${state.user.name}`;
    return client;
  } catch (error) {
    $('line-identity').textContent = 'Not connected';
    throw closeReason ?? error;
  }
}

let closeReason = null;

function wireClient(client) {
  closeReason = null;
  client.on('close', ({ code, reason, meaning }) => {
    const why = [meaning, reason].filter(Boolean).join(': ');
    closeReason = new Error(`Connection closed (${code}${why ? `: ${why}` : ''})`);
    if (phoneLine.client === client) {
      phoneLine.client = null;
      $('line-identity').textContent = 'Not connected';
      showError(closeReason.message);
      endCall({ notifyServer: false });
    }
  });
  client.on('reconnecting', ({ attempt }) => {
    $('line-identity').textContent = `Connection lost: reconnecting (attempt ${attempt})…`;
  });
  client.on('reconnected', () => {
    $('line-identity').textContent = `Connected as ${state.user?.name ?? ''}`;
  });
  client.on('occupants', (message) => onOccupants(message.line));
  client.on('incoming_call', (message) => onIncomingCall(message));
  for (const name of ['cancelled', 'answered_elsewhere']) {
    client.on(name, (message) => onCallGone(name, message));
  }
  for (const name of ['ringing', 'accepted', 'declined', 'busy', 'timeout']) {
    client.on(name, (message) => onOutgoingCallEvent(name, message));
  }
  client.on('cancelled', (message) => onOutgoingCallEvent('cancelled', message));
  client.on('webrtc_state', ({ state: value, reason }) => {
    if (value === 'failed') showError(`Media connection failed${reason ? `: ${reason}` : ''}`);
  });
}

// ---------------------------------------------------------------- lines

async function startCall(lineId, sendOffer) {
  const client = await connect();
  const call = new LineCall(client);
  phoneLine.call = call;
  call.on('localstream', () => renderTiles());
  // A forwarded stream may come before the `occupants` event that makes its
  // tile: call.remoteStreams keeps it until the tile appears.
  call.on('remotetrack', () => renderTiles());
  call.on('remotetrackremoved', () => renderTiles());
  call.on('error', (error) => showError(describe(error)));
  call.on('ended', ({ reason }) => {
    showError(`The call ended: ${reason}`);
    endCall({ notifyServer: false });
  });
  refreshControls();
  try {
    const response = await call.start((jsep) => sendOffer(client, jsep), lineId);
    state.lineId = call.lineId;
    return response;
  } catch (error) {
    await endCall({ notifyServer: false });
    throw error;
  }
}

async function createLine() {
  const client = await connect();
  // A mixed line: the server sends each occupant one mix of the others'
  // audio instead of one stream per occupant (docs/protocol.md, create_line).
  const line = await client.request('create_line', $('line-mixed').checked ? { audio: 'mixed' } : {});
  state.lineId = line.line_id;
  state.token = line.token;
  writeHash();
  setStatus(`Joining line ${shortId(line.line_id)}…`);
  await startCall(line.line_id, (c, jsep) => c.request('join', { line_id: line.line_id, jsep }));
  setStatus(`In line ${shortId(line.line_id)}`);
}

async function joinLine() {
  const { lineId, token } = state;
  if (!lineId) throw new Error('No line to join: create one or open a shared link');
  setStatus(`Joining line ${shortId(lineId)}…`);
  await startCall(lineId, (client, jsep) =>
    client.request('join', { line_id: lineId, ...(token ? { token } : {}), jsep }));
  writeHash();
  setStatus(`In line ${shortId(lineId)}`);
}

/** Invites into the current line, or calls in one step (`outgoing_call`). */
async function invite() {
  const user = $('invite-user').value.trim();
  if (!user) throw new Error('Whom to call? Enter a user name');
  const client = await connect();
  if (phoneLine.call) {
    state.outgoing = { call_id: null, user, status: 'invited' };
    setInviteStatus(`Inviting ${user}…`);
    const response = await client.request('invite', { line_id: state.lineId, user });
    state.outgoing.call_id = response.call_id ?? null;
    if (!response.delivered) setInviteStatus(`${user} is not online`);
    return;
  }
  setStatus('Calling…');
  state.outgoing = { call_id: null, user, status: 'calling' };
  const response = await startCall(null, (c, jsep) => c.request('outgoing_call', { number: user, jsep }));
  state.lineId = response.line_id;
  state.token = response.token;
  state.outgoing.call_id = response.call_id;
  writeHash();
  setStatus(`In line ${shortId(response.line_id)}`);
  if (!response.delivered) setInviteStatus(`${user} is not online`);
}

function onOutgoingCallEvent(name, message) {
  const outgoing = state.outgoing;
  // No call_id: the join's `accepted` (the answer), not a call event.
  if (!outgoing || !message.call_id) return;
  // The call's first events may come before the response naming it.
  if (outgoing.call_id === null && name === 'ringing') outgoing.call_id = message.call_id;
  if (outgoing.call_id !== message.call_id) return;
  const who = message.user?.name ?? message.user ?? outgoing?.user ?? 'they';
  const texts = {
    ringing: `Ringing ${who}…`,
    accepted: `${who} accepted`,
    declined: message.reason === 'offline' ? `${outgoing?.user ?? who} went offline`
      : `${outgoing?.user ?? who} declined${message.reason && message.reason !== 'declined' ? ` (${message.reason})` : ''}`,
    busy: `${outgoing?.user ?? who} is busy`,
    timeout: `${outgoing?.user ?? who} did not answer`,
    cancelled: 'Call cancelled',
  };
  if (outgoing) outgoing.status = name;
  setInviteStatus(texts[name]);
}

// ---------------------------------------------------------------- incoming

function onIncomingCall(message) {
  if (state.incoming) {
    // Already ringing: a second call is turned away as busy.
    phoneLine.client?.request('decline', { call_id: message.call_id, reason: 'busy' }).catch(() => {});
    return;
  }
  state.incoming = message;
  $('incoming-caller').textContent = message.caller?.name ?? message.caller?.user ?? 'Someone';
  $('incoming-call').hidden = false;
  showView('line');
}

function onCallGone(name, message) {
  if (!state.incoming || state.incoming.call_id !== message.call_id) return;
  const caller = $('incoming-caller').textContent;
  hidePrompt();
  const why = name === 'answered_elsewhere' ? 'answered on another device'
    : message.reason === 'timeout' ? 'not answered in time'
      : message.reason === 'caller_left' ? 'the caller left' : 'cancelled';
  setInviteStatus(`Call from ${caller}: ${why}`);
}

function hidePrompt() {
  state.incoming = null;
  $('incoming-call').hidden = true;
}

async function accept() {
  const incoming = state.incoming;
  if (!incoming) return;
  hidePrompt();
  if (phoneLine.call) await endCall();
  state.lineId = incoming.line_id;
  state.token = null; // a member by invitation: no token needed
  setStatus(`Joining line ${shortId(incoming.line_id)}…`);
  await startCall(incoming.line_id, (client, jsep) =>
    client.request('accept', { call_id: incoming.call_id, jsep }));
  writeHash();
  setStatus(`In line ${shortId(incoming.line_id)}`);
}

async function decline() {
  const incoming = state.incoming;
  if (!incoming) return;
  hidePrompt();
  await phoneLine.client?.request('decline', { call_id: incoming.call_id, reason: 'declined' });
}

// ---------------------------------------------------------------- leaving

async function hangUp() {
  await endCall();
  setStatus('Hung up');
}

async function endCall({ notifyServer = true } = {}) {
  const call = phoneLine.call;
  phoneLine.call = null;
  state.line = null;
  if (call) await call.stop({ hangup: true, notifyServer });
  setMuteButton('audio', false);
  setMuteButton('video', false);
  renderTiles();
  refreshControls();
}

// ---------------------------------------------------------------- mute

function setMuteButton(kind, muted) {
  const button = $(`mute-${kind}`);
  button.setAttribute('aria-pressed', String(muted));
  button.textContent = kind === 'audio'
    ? (muted ? 'Unmute microphone' : 'Mute microphone')
    : (muted ? 'Turn camera on' : 'Turn camera off');
}

async function toggleMute(kind) {
  const call = phoneLine.call;
  if (!call) return;
  const muted = $(`mute-${kind}`).getAttribute('aria-pressed') !== 'true';
  await call.setMuted({ [kind]: muted });
  setMuteButton(kind, muted);
}

// ---------------------------------------------------------------- tiles

function onOccupants(line) {
  // Only the line we are in: a new session also gets the occupants of the
  // other lines its user is a member of.
  const call = phoneLine.call;
  if (!line || !call) return;
  const current = call.lineId ?? state.lineId;
  if (current !== null && line.line_id !== current) return;
  state.line = line;
  renderTiles();
}

const STATE_LABELS = { connecting: 'connecting…', connected: 'connected' };

function renderTiles() {
  const container = $('tiles');
  const occupants = phoneLine.call ? state.line?.occupants ?? [] : [];
  const mySession = phoneLine.client?.sessionId ?? null;
  const present = new Set(occupants.map((occupant) => occupant.session));
  for (const tile of [...container.children]) {
    if (!present.has(tile.dataset.session)) tile.remove();
  }
  for (const occupant of occupants) {
    let tile = container.querySelector(`[data-session="${CSS.escape(occupant.session)}"]`);
    if (!tile) {
      tile = createTile(occupant.session === mySession);
      tile.dataset.session = occupant.session;
    }
    container.appendChild(tile); // keeps the server's order
    fillTile(tile, occupant, occupant.session === mySession);
  }
  $('tiles-empty').hidden = occupants.length > 0;
}

function createTile(isSelf) {
  const tile = document.createElement('figure');
  tile.className = 'tile';
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = isSelf; // never play our own microphone back
  const caption = document.createElement('figcaption');
  for (const part of ['tile-name', 'tile-state', 'tile-flags']) {
    const span = document.createElement('span');
    span.className = part;
    caption.appendChild(span);
  }
  tile.append(video, caption);
  return tile;
}

function fillTile(tile, occupant, isSelf) {
  tile.dataset.state = occupant.state;
  tile.dataset.user = occupant.user;
  tile.classList.toggle('self', isSelf);
  tile.querySelector('.tile-name').textContent = isSelf ? `${occupant.name} (you)` : occupant.name;
  tile.querySelector('.tile-state').textContent = STATE_LABELS[occupant.state] ?? occupant.state;
  const flags = [];
  if (occupant.muted?.audio || !occupant.publishing?.audio) flags.push(occupant.muted?.audio ? 'mic muted' : 'no mic');
  if (occupant.muted?.video || !occupant.publishing?.video) flags.push(occupant.muted?.video ? 'camera off' : 'no camera');
  tile.querySelector('.tile-flags').textContent = flags.join(' · ');
  tile.dataset.mutedAudio = String(Boolean(occupant.muted?.audio));
  tile.dataset.mutedVideo = String(Boolean(occupant.muted?.video));
  const video = tile.querySelector('video');
  // Our own camera, or the occupant's stream as the server forwards it
  // (named after its session; gone once its tracks are removed).
  const call = phoneLine.call;
  const stream = (isSelf ? call?.localStream : call?.remoteStreams.get(occupant.session)) ?? null;
  if (video.srcObject !== stream) {
    video.srcObject = stream;
    if (stream) video.play().catch(() => {});
  }
}

// ---------------------------------------------------------------- wiring

$('identity-form').addEventListener('submit', guarded(connect));
$('line-create').addEventListener('click', guarded(createLine));
$('line-join').addEventListener('click', guarded(joinLine));
$('line-hangup').addEventListener('click', guarded(hangUp));
$('invite-form').addEventListener('submit', guarded(invite));
$('accept-call').addEventListener('click', guarded(accept));
$('decline-call').addEventListener('click', guarded(decline));
$('mute-audio').addEventListener('click', guarded(() => toggleMute('audio')));
$('mute-video').addEventListener('click', guarded(() => toggleMute('video')));
$('line-copy').addEventListener('click', guarded(async () => {
  $('line-share-url').select();
  await navigator.clipboard?.writeText($('line-share-url').value);
}));
window.addEventListener('hashchange', readHash);

readHash();
refreshControls();
renderTiles();
