#!/usr/bin/env node
// A stand-in for partyline's `/verto` endpoint (seed 004's verto channel
// client, as partyline's contract for it says), to test the test
// verto_channel_chromium.mjs when the real server is not at hand:
//
//     tests/e2e/run_e2e.sh --binary tests/e2e/mock_verto_channel.mjs verto_channel_chromium
//
// It serves a blank page at / and the endpoint at /verto on
// PARTYLINE_HTTP_PORT, the admin API's session list and kick on
// PARTYLINE_ADMIN_PORT (default 7088), reads the channels from --config
// (lines.rooms: id and token), and prints with_server.py's ready line.
// MOCK_BUG=<name> breaks one rule, to see that the test notices:
//   spoof  broadcast userid/sessid and info `from` are taken from the params
//   noself the sender does not get its own verto.event
//   nopunt a duplicate login closes the old connection without verto.punt
//   linger a closed connection stays "in the channel" (verto.info succeeds)
//   authok a wrong password logs in
// Not a reference for the server: only what the contract says.
import http from 'node:http';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { WebSocketServer } from 'ws';

const bug = process.env.MOCK_BUG ?? '';
const configAt = process.argv.indexOf('--config');
const config = configAt > 0 ? JSON.parse(readFileSync(process.argv[configAt + 1], 'utf8')) : { lines: { rooms: [] } };
const channels = new Map(config.lines.rooms.map((room) => [room.id, room.token]));
const sessions = new Map(); // session id -> { ws, clientId, channel, sessid, subscribed }
let serverId = 1000;

const server = http.createServer((request, response) => {
  response.writeHead(200, { 'content-type': 'text/html' });
  response.end('<!doctype html><title>mock</title><p>mock</p>');
});
const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (request, socket, head) => {
  if (new URL(request.url, 'http://x').pathname !== '/verto') { socket.destroy(); return; }
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws));
});

const notify = (ws, method, params) => ws.send(JSON.stringify({ jsonrpc: '2.0', id: serverId++, method, params }));
const punt = (session, code) => {
  if (bug !== 'nopunt') notify(session.ws, 'verto.punt', {});
  session.ws.close(code, 'punted');
  sessions.delete(session.id);
};
const inChannel = (channel, clientId) => [...sessions.values()].filter((s) => s.channel === channel
  && (clientId === undefined || s.clientId === clientId));

wss.on('connection', (ws) => {
  const me = { id: crypto.randomUUID(), ws, clientId: null, channel: null, sessid: null, subscribed: false };
  ws.on('message', (data) => {
    let message;
    const reply = (id, body) => ws.send(JSON.stringify({ jsonrpc: '2.0', id, ...body }));
    try { message = JSON.parse(data.toString()); } catch { reply(null, { error: { code: -32700, message: 'Parse error' } }); return; }
    if (!message || typeof message !== 'object' || Array.isArray(message)) {
      reply(null, { error: { code: -32600, message: 'Invalid Request' } }); return;
    }
    if (!('method' in message) && ('result' in message || 'error' in message)) return; // answers are ignored
    const { id = null, method, params = {} } = message;
    if (typeof method !== 'string') { reply(id, { error: { code: -32600, message: 'Invalid Request' } }); return; }
    const result = (body) => reply(id, { result: body });
    const error = (code, text) => reply(id, { error: { code, message: text } });
    if (method === 'echo') { result(params); return; }
    if (method === 'login') {
      const [clientId, channel, extra] = String(params.login ?? '').split('@');
      if (params.login === undefined && params.passwd === undefined) { error(-32000, 'Authentication Required'); return; }
      if (extra !== undefined || !/^[A-Za-z0-9._-]{1,27}$/.test(clientId ?? '') || !channels.has(channel)
          || (channels.get(channel) !== params.passwd && bug !== 'authok')) {
        error(-32001, 'Authentication Failure'); return;
      }
      for (const old of inChannel(channel, clientId)) punt(old, 4005);
      Object.assign(me, { clientId, channel, sessid: params.sessid });
      sessions.set(me.id, me);
      result({ message: 'logged in', sessid: params.sessid });
      notify(ws, 'verto.clientReady', { reattached_sessions: [] });
      return;
    }
    if (!me.clientId) { error(-32000, 'Authentication Required'); return; }
    if (method === 'verto.ping') { result({}); return; }
    if (method === 'verto.subscribe') {
      const wanted = [params.eventChannel].flat();
      const ok = wanted.filter((c) => c === me.channel);
      const bad = wanted.filter((c) => c !== me.channel);
      if (ok.length) me.subscribed = true;
      result({ ...(ok.length ? { subscribedChannels: ok } : {}), ...(bad.length ? { unauthorizedChannels: bad } : {}),
        sessid: params.sessid });
      return;
    }
    if (method === 'verto.broadcast') {
      if (params.eventChannel !== me.channel) { error(-32602, `not allowed in channel ${params.eventChannel}`); return; }
      const spoof = bug === 'spoof';
      const event = { eventChannel: me.channel, eventData: params.eventData,
        userid: spoof && params.userid ? params.userid : `${me.clientId}@${me.channel}`,
        sessid: spoof && params.sessid ? params.sessid : me.sessid };
      result({ message: 'broadcast sent' });
      for (const s of inChannel(me.channel)) if (s.subscribed && !(bug === 'noself' && s === me)) notify(s.ws, 'verto.event', event);
      return;
    }
    if (method === 'verto.info') {
      const to = params.msg?.to;
      const targets = inChannel(me.channel, to);
      if (targets.length === 0) { error(-32602, `client ${to} is not in channel ${me.channel}`); return; }
      const from = bug === 'spoof' && params.msg.from ? params.msg.from : me.clientId;
      result({ message: 'MESSAGE SENT', sessid: params.sessid });
      for (const s of targets) notify(s.ws, 'verto.info', { msg: { from, to, body: params.msg.body } });
      return;
    }
    error(-32601, 'Method not found');
  });
  ws.on('close', () => { if (bug !== 'linger' && sessions.get(me.id) === me) sessions.delete(me.id); });
});

const admin = http.createServer((request, response) => {
  const send = (status, body) => { response.writeHead(status, { 'content-type': 'application/json' }); response.end(JSON.stringify(body)); };
  const kick = /^\/admin\/v1\/sessions\/([^/]+)$/.exec(request.url);
  if (request.method === 'GET' && request.url === '/admin/v1/sessions') {
    send(200, { sessions: [...sessions.values()].map((s) => ({ user: `guest:${s.clientId}@${s.channel}`, name: s.clientId,
      session: s.id, remote_address: '127.0.0.1', detached: false })) });
  } else if (request.method === 'DELETE' && kick) {
    const session = sessions.get(kick[1]);
    if (!session) { send(404, { error: { code: 404, reason: `no session ${kick[1]}` } }); return; }
    punt(session, 4004);
    send(200, { session: kick[1], kicked: true });
  } else send(404, { error: { code: 404, reason: 'no such path' } });
});

const port = Number(process.env.PARTYLINE_HTTP_PORT ?? 8088);
const adminPort = Number(process.env.PARTYLINE_ADMIN_PORT ?? 7088);
admin.listen(adminPort, '127.0.0.1', () => {
  console.error(`mock /verto: admin API listening on http://127.0.0.1:${adminPort}/ (no token: loopback only)`);
  server.listen(port, '127.0.0.1', () => {
    console.error(`mock /verto${bug ? ` (MOCK_BUG=${bug})` : ''}: partyline listening on http://127.0.0.1:${port}/`);
  });
});
process.on('SIGTERM', () => process.exit(0));
