// Seed 002's connected-peers chat (peers.html): an Algorea client of /peers
// (docs/compat.md, "Seed 002"), following the seed's RTC workflow. The
// server only says who was there before us ("connected-peers") and forwards
// offers, answers and candidates by peer id; the newcomer offers to each of
// them, so nobody ever receives an offer for a connection it offered itself.
// As the seed says, each side creates its own "chat" data channel to send on
// and receives on the one the other side created ('datachannel').
//
// `window.peersChat` is the page's state (peers, lines received) for tests
// and for poking at from the console.

const $ = (id) => document.getElementById(id);

const chat = {
  ws: null,
  peers: new Map(),   // peer id -> { pc, channel (ours, to send), queue }
  received: [],       // { from, text }, in arrival order
};
window.peersChat = chat;

const status = (text) => { $('peers-status').textContent = text; };
const short = (id) => String(id).slice(0, 8); // a UUID; its start is enough to tell peers apart

function showError(message) {
  $('peers-error').textContent = message;
  $('peers-error').hidden = false;
}

function log(from, text) {
  const item = document.createElement('li');
  item.dataset.from = from ?? '';
  item.append(
    Object.assign(document.createElement('span'), { className: 'from mono', textContent: from ? `${short(from)}:` : 'you:' }),
    document.createTextNode(text),
  );
  if (from) item.title = from;
  $('peers-log').append(item);
  item.scrollIntoView({ block: 'nearest' });
}

$('peers-connect').addEventListener('click', () => connect());
$('peers-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('peers-text').value;
  if (!text) return;
  let sent = 0;
  for (const peer of chat.peers.values()) {
    if (peer.channel.readyState !== 'open') continue;
    peer.channel.send(text);
    sent += 1;
  }
  log(null, sent ? text : `${text} (nobody to send it to yet)`);
  $('peers-text').value = '';
});

function connect() {
  $('peers-error').hidden = true;
  $('peers-connect').disabled = true;
  const url = new URL('/peers', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // Guests need no credentials; a server without anonymous access wants a JWT, passed on from this page's URL.
  const token = new URLSearchParams(location.search).get('token');
  url.search = token ? `?token=${encodeURIComponent(token)}` : '';
  const ws = new WebSocket(url);
  chat.ws = ws;
  status('Connecting…');
  ws.onopen = () => {
    status('Connected');
    $('peers-text').disabled = false;
    $('peers-send').disabled = false;
  };
  ws.onmessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      console.warn('not JSON:', event.data);
      return;
    }
    onServerMessage(message);
  };
  ws.onclose = (event) => {
    // The server refuses before the upgrade (401: anonymous not allowed, or a bad token): the browser only sees a close.
    status(`Disconnected (${event.code})`);
    chat.ws = null;
    // The chat itself would survive, but nobody new could reach us: start again cleanly.
    for (const id of [...chat.peers.keys()]) closePeer(id);
    $('peers-connect').disabled = false;
    $('peers-text').disabled = true;
    $('peers-send').disabled = true;
  };
}

function send(message) {
  if (chat.ws?.readyState === WebSocket.OPEN) chat.ws.send(JSON.stringify(message));
}

function onServerMessage(message) {
  switch (message.type) {
    case 'connected-peers':
      status(`Connected; ${message.peerIds.length} peer(s) here before us`);
      for (const id of message.peerIds) offerTo(id);
      break;
    case 'offer': {
      const peer = createPeer(message.fromPeerId);
      run(peer, async () => {
        await peer.pc.setRemoteDescription(message.offer);
        await peer.pc.setLocalDescription(await peer.pc.createAnswer());
        send({ action: 'forward-answer', answer: peer.pc.localDescription, toPeerId: message.fromPeerId });
      });
      break;
    }
    case 'answer':
      withPeer(message.fromPeerId, (peer) => peer.pc.setRemoteDescription(message.answer));
      break;
    case 'icecandidate':
      withPeer(message.fromPeerId, (peer) => peer.pc.addIceCandidate(message.candidate));
      break;
    case 'error':
      // A peer that left is only noticed when forwarding to it fails: drop it.
      if (message.toPeerId) closePeer(message.toPeerId);
      else showError(`Server: ${message.message}`);
      break;
    default:
      console.warn('unknown message type:', message.type);
  }
}

function withPeer(id, step) {
  const peer = chat.peers.get(id);
  if (peer) run(peer, () => step(peer));
  else console.warn(`a message from ${id}, with whom there is no connection`);
}

/**
 * Runs a peer's signaling steps one after another: a candidate must not be
 * added while the description it belongs to is still being set.
 */
function run(peer, step) {
  peer.queue = peer.queue.then(step).catch((error) => {
    console.error(`with ${peer.id}:`, error);
    showError(`With ${short(peer.id)}: ${error.message}`);
  });
}

function offerTo(id) {
  const peer = createPeer(id);
  run(peer, async () => {
    await peer.pc.setLocalDescription(await peer.pc.createOffer());
    send({ action: 'forward-offer', offer: peer.pc.localDescription, toPeerId: id });
  });
}

function createPeer(id) {
  closePeer(id); // an offer from a peer we knew: it starts over
  const pc = new RTCPeerConnection({ iceServers: [] }); // loopback and LAN only: no public STUN
  // Ours, to send on; created before the offer so that the offer has its m=application line.
  const channel = pc.createDataChannel('chat');
  const peer = { id, pc, channel, queue: Promise.resolve() };
  chat.peers.set(id, peer);
  channel.onopen = () => showPeers();
  // The server says nothing when a peer leaves; our channel closing (the SCTP association ended) is how we learn it.
  channel.onclose = () => closePeer(id, peer);
  // Theirs, to receive on ("chat", or "AlgoreaForum" from the seed's own app).
  pc.ondatachannel = ({ channel: incoming }) => {
    incoming.onmessage = ({ data }) => {
      const text = typeof data === 'string' ? data : '(binary message)';
      chat.received.push({ from: id, text });
      log(id, text);
    };
  };
  pc.onicecandidate = ({ candidate }) => {
    if (candidate) send({ action: 'forward-icecandidate', candidate: candidate.toJSON(), toPeerId: id });
  };
  // Or its connection failing, when it went away without a word.
  pc.onconnectionstatechange = () => {
    if (['failed', 'closed'].includes(pc.connectionState)) closePeer(id, peer);
    else showPeers();
  };
  showPeers();
  return peer;
}

/** Forgets peer `id`; with `only`, only if that is still its connection (events of a replaced one come late). */
function closePeer(id, only = null) {
  const peer = chat.peers.get(id);
  if (!peer || (only && peer !== only)) return;
  chat.peers.delete(id);
  peer.pc.close();
  showPeers();
}

function showPeers() {
  const peers = [...chat.peers.values()];
  $('peers-list').textContent = peers.length
    ? peers.map((peer) => `${short(peer.id)} (${peer.channel.readyState})`).join(', ')
    : '–';
}
