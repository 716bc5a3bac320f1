#!/usr/bin/env node
// A stand-in for partyline's `/peers` endpoint (seed 002's connected-peers
// relay, as partyline's contract for it says), to test the test
// peers_relay_chromium.mjs when the real server is not at hand:
//
//     tests/e2e/run_e2e.sh --binary tests/e2e/mock_peers_relay.mjs peers_relay_chromium
//
// It serves a blank page at / and the relay at /peers, on PARTYLINE_HTTP_PORT
// (as with_server.py starts a server; --config is ignored), and prints
// with_server.py's ready line. MOCK_BUG=<name> in the environment breaks one
// rule, to see that the test notices (each makes it fail):
//   spoof      the client's fromPeerId is passed through
//   self       connected-peers lists the new peer itself too
//   linger     a disconnected peer stays listed, and forwards to it vanish
//   errorshape errors lack "action" and "toPeerId"
//   echo       the sender gets its forward back as well
//   notify     the others get {"type": "peer-left"} when a peer disconnects
//   dropice    every second icecandidate is not relayed
//   closeonerr the connection is closed after an error
// Not a reference for the server: only what the contract says, no tokens.
import http from 'node:http';
import crypto from 'node:crypto';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PARTYLINE_HTTP_PORT ?? 8088);
const bug = process.env.MOCK_BUG ?? '';
const peers = new Map(); // id -> socket (live)
const gone = new Set(); // linger: ids of closed sockets still "listed"

const server = http.createServer((request, response) => {
  response.writeHead(200, { 'content-type': 'text/html' });
  response.end('<!doctype html><title>mock</title><p>mock</p>');
});
const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (request, socket, head) => {
  if (new URL(request.url, 'http://x').pathname !== '/peers') { socket.destroy(); return; }
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws));
});

const PAYLOAD = { 'forward-offer': ['offer', 'offer'], 'forward-answer': ['answer', 'answer'],
  'forward-icecandidate': ['candidate', 'icecandidate'] };
let iceCount = 0;

wss.on('connection', (ws) => {
  const id = crypto.randomUUID();
  const listed = [...peers.keys(), ...gone];
  if (bug === 'self') listed.push(id);
  ws.send(JSON.stringify({ type: 'connected-peers', peerIds: listed }));
  peers.set(id, ws);
  const error = (fields) => {
    const body = { type: 'error', ...fields };
    if (bug === 'errorshape') { delete body.action; delete body.toPeerId; }
    ws.send(JSON.stringify(body));
    if (bug === 'closeonerr') ws.close();
  };
  ws.on('message', (data) => {
    let message;
    try { message = JSON.parse(data.toString()); } catch { error({ message: 'malformed JSON' }); return; }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      error({ message: 'not an object' }); return;
    }
    const action = typeof message.action === 'string' ? { action: message.action } : {};
    if (!action.action) { error({ message: 'missing action' }); return; }
    const spec = PAYLOAD[message.action];
    if (!spec) { error({ ...action, message: `unknown action ${message.action}` }); return; }
    if (typeof message.toPeerId !== 'string') { error({ ...action, message: 'missing toPeerId' }); return; }
    if (!(spec[0] in message)) { error({ ...action, message: `missing ${spec[0]}` }); return; }
    const to = message.toPeerId;
    if (gone.has(to)) return; // linger: silently dropped
    const target = peers.get(to);
    if (!target) {
      error({ action: message.action, toPeerId: to, message: `peer ${to} is not connected` });
      return;
    }
    if (spec[1] === 'icecandidate' && bug === 'dropice' && (iceCount++ % 2 === 1)) return;
    const fromPeerId = bug === 'spoof' && typeof message.fromPeerId === 'string' ? message.fromPeerId : id;
    const out = JSON.stringify({ type: spec[1], [spec[0]]: message[spec[0]], fromPeerId });
    target.send(out);
    if (bug === 'echo') ws.send(out);
  });
  ws.on('close', () => {
    peers.delete(id);
    if (bug === 'linger') gone.add(id);
    if (bug === 'notify') for (const other of peers.values()) other.send(JSON.stringify({ type: 'peer-left', peerId: id }));
  });
});

server.listen(port, '127.0.0.1', () => {
  console.error(`mock /peers${bug ? ` (MOCK_BUG=${bug})` : ''}: partyline listening on http://127.0.0.1:${port}/`);
});
process.on('SIGTERM', () => process.exit(0));
