// Seed 001's chat-room call (chat_room.html): a DysonNetwork client of
// /api/chat/realtime/{chatId} (docs/compat.md, "Seed 001"), as the seed's
// SignalingClient and WebRTCCPUB do it, made into a mesh. The seed has one
// RTCPeerConnection and broadcasts its offer, which only works for two; here
// there is one per other account, keyed by the server-stamped
// senderAccountId. Who offers: the newcomer, to each account its welcome
// lists, with a directed `to`; everyone already there only answers, so two
// people never offer to each other at once.
//
// `window.chatRoom` is the page's state (selfId, participants, peers) for
// tests and for poking at from the console.

const $ = (id) => document.getElementById(id);

const room = {
  ws: null,
  selfId: null,          // the welcome's userId: our account, as the server knows it
  participants: [],      // the latest participants list the server sent
  localStream: null,
  peers: new Map(),      // account id -> { pc, tile, queue }
};
window.chatRoom = room;

const status = (text) => { $('room-status').textContent = text; };
const displayName = (account) => account?.nick || account?.name || account?.id || '?';

function showError(message) {
  $('room-error').textContent = message;
  $('room-error').hidden = false;
}

function note(text) {
  const item = document.createElement('li');
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $('room-log').prepend(item);
}

// The chat id may come in the URL (chat_room.html?chat=...), so that a link can be shared.
$('room-chat').value = new URLSearchParams(location.search).get('chat') ?? '';

$('room-form').addEventListener('submit', (event) => {
  event.preventDefault();
  $('room-error').hidden = true;
  connect($('room-chat').value.trim(), $('room-jwt').value.trim()).catch((error) => showError(error.message));
});
$('room-leave').addEventListener('click', () => leave());

async function connect(chatId, jwt) {
  // A JWT is three base64url parts; anything else would also break the cookie string.
  if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(jwt)) throw new Error('That does not look like a JWT (three base64url parts joined by dots).');
  $('room-connect').disabled = true;
  status('Getting camera and microphone…');
  // Before connecting, so that every peer connection gets the tracks before its
  // first offer or answer. Without a camera we still join, to watch and listen.
  try {
    room.localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    $('room-local').srcObject = room.localStream;
  } catch (error) {
    showError(`No camera or microphone (${error.name}): you will only watch and listen.`);
  }
  // The seed's client puts nothing in its URL: the server finds the JWT in this cookie.
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `AuthToken=${jwt}; path=/; SameSite=Strict${secure}`;

  // As SignalingClient.connect: ws(s)://this host + /api/chat/realtime/{chatId}.
  const serverUrl = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;
  const ws = new WebSocket(`${serverUrl}/api/chat/realtime/${encodeURIComponent(chatId)}`);
  room.ws = ws;
  status('Connecting…');
  let opened = false;
  ws.onopen = () => { opened = true; status('Connected, waiting for the welcome…'); $('room-leave').disabled = false; };
  ws.onmessage = (event) => {
    let packet;
    try {
      packet = JSON.parse(event.data);
    } catch {
      console.warn('not JSON:', event.data);
      return;
    }
    if (packet.type === 'webrtc') onRoomEvent(packet.data ?? {});
    else if (packet.type === 'webrtc.signal') onSignal(packet.data ?? {});
    else if (packet.type === 'error') showError(`Server: ${packet.data?.code} ${packet.data?.message}`);
    else if (packet.type !== 'pong') console.warn('unknown packet type:', packet.type);
  };
  ws.onclose = (event) => {
    if (room.ws !== ws) return; // an earlier connection, already replaced
    // Refusals (401, 403) happen before the upgrade: the browser only sees a close.
    if (!opened) showError('The server refused the connection: a bad or expired JWT (401), or an account that is not a member of this chat (403).');
    status(`Disconnected (${event.code})`);
    reset();
  };
}

function leave() {
  const ws = room.ws;
  reset();
  ws?.close();
  status('Left');
}

/** Back to the start: no socket, no peers, camera released. */
function reset() {
  room.ws = null;
  room.selfId = null;
  for (const id of [...room.peers.keys()]) closePeer(id);
  room.localStream?.getTracks().forEach((track) => track.stop());
  room.localStream = null;
  $('room-local').srcObject = null;
  setParticipants([]);
  $('room-connect').disabled = false;
  $('room-leave').disabled = true;
}

function send(message) {
  if (room.ws?.readyState === WebSocket.OPEN) room.ws.send(JSON.stringify(message));
}

function setParticipants(participants) {
  room.participants = participants;
  $('room-participants').textContent = participants.length
    ? participants.map((account) => displayName(account) + (account.id === room.selfId ? ' (you)' : '')).join(', ')
    : '–';
}

/** "webrtc" packets: the welcome (no event), then "joined" / "left". */
function onRoomEvent(data) {
  if (Array.isArray(data.participants)) setParticipants(data.participants);
  if (room.selfId === null && !data.event) {
    room.selfId = data.userId;
    const me = data.participants?.find((account) => account.id === data.userId);
    $('room-self-name').textContent = `${displayName(me ?? { id: data.userId })} (you)`;
    status(`In chat ${data.roomId} as ${data.userId}`);
    note(data.message ?? 'Connected');
    // We are the newcomer: we offer to everyone already here.
    for (const account of data.participants ?? []) if (account.id !== room.selfId) offerTo(account);
    return;
  }
  note(data.message ?? `${data.userId} ${data.event}`);
  // A "joined" newcomer will send us an offer; nothing to do until then.
  if (data.event === 'left') closePeer(data.userId);
}

/** "webrtc.signal" packets, the sender stamped by the server. */
function onSignal(signal) {
  const from = signal.senderAccountId;
  if (!from || from === room.selfId) return;
  const payload = signal.data ?? {};
  if (signal.type === 'offer') {
    // An offer starts a fresh connection: the sender is new, or came back.
    const peer = createPeer(signal.senderInfo ?? { id: from });
    run(peer, async () => {
      await peer.pc.setRemoteDescription(payload.offer);
      await peer.pc.setLocalDescription(await peer.pc.createAnswer());
      send({ type: 'answer', answer: peer.pc.localDescription, to: from });
    });
    return;
  }
  const peer = room.peers.get(from);
  if (!peer) {
    console.warn(`${signal.type} from ${from}, with whom there is no connection`);
    return;
  }
  if (signal.type === 'answer') run(peer, () => peer.pc.setRemoteDescription(payload.answer));
  else if (signal.type === 'ice-candidate') run(peer, () => peer.pc.addIceCandidate(payload.candidate));
  else console.warn('unknown signal type:', signal.type);
}

/**
 * Runs a peer's signaling steps one after another: a candidate must not be
 * added while the offer it belongs to is still being set.
 */
function run(peer, step) {
  peer.queue = peer.queue.then(step).catch((error) => {
    console.error(`with ${peer.id}:`, error);
    showError(`With ${peer.id}: ${error.message}`);
  });
}

function offerTo(account) {
  const peer = createPeer(account);
  if (!room.localStream) {
    // No tracks of our own: ask for theirs all the same.
    peer.pc.addTransceiver('audio', { direction: 'recvonly' });
    peer.pc.addTransceiver('video', { direction: 'recvonly' });
  }
  run(peer, async () => {
    await peer.pc.setLocalDescription(await peer.pc.createOffer());
    send({ type: 'offer', offer: peer.pc.localDescription, to: account.id });
  });
}

function createPeer(account) {
  closePeer(account.id);
  const pc = new RTCPeerConnection({ iceServers: [] }); // loopback and LAN only: no public STUN
  const peer = { id: account.id, pc, tile: createTile(account), queue: Promise.resolve() };
  room.peers.set(account.id, peer);
  for (const track of room.localStream?.getTracks() ?? []) pc.addTrack(track, room.localStream);
  pc.onicecandidate = ({ candidate }) => {
    if (candidate) send({ type: 'ice-candidate', candidate: candidate.toJSON(), to: account.id });
  };
  pc.ontrack = ({ track, streams }) => {
    const video = peer.tile.querySelector('video');
    const stream = streams[0] ?? new MediaStream([track]);
    if (video.srcObject !== stream) video.srcObject = stream;
    // Autoplay with sound can be refused without a user gesture; the Connect click usually counts.
    video.play().catch((error) => console.warn('video.play() refused:', error.message));
  };
  pc.onconnectionstatechange = () => {
    peer.tile.dataset.state = pc.connectionState;
    peer.tile.querySelector('.tile-state').textContent = pc.connectionState;
  };
  return peer;
}

function closePeer(id) {
  const peer = room.peers.get(id);
  if (!peer) return;
  room.peers.delete(id);
  peer.pc.close();
  peer.tile.remove();
}

function createTile(account) {
  const tile = document.createElement('figure');
  tile.className = 'tile';
  tile.dataset.account = account.id;
  const video = Object.assign(document.createElement('video'), { autoplay: true, playsInline: true });
  video.setAttribute('aria-label', `${displayName(account)}'s camera`);
  const caption = document.createElement('figcaption');
  caption.append(
    Object.assign(document.createElement('span'), { className: 'tile-name', textContent: displayName(account) }),
    Object.assign(document.createElement('span'), { className: 'tile-state', textContent: 'connecting' }),
  );
  tile.append(video, caption);
  $('room-tiles').append(tile);
  return tile;
}
