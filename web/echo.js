// Echo test page: wires the buttons, videos, state list and statistics
// table of index.html to an EchoCall.
//
// Tests read `window.echoTest` (state, latest stats summary, the
// RTCPeerConnection) and `window.partyline` (the library and the client).

import { PartylineClient, EchoCall, defaultSignalingUrl } from './partyline.js';
import * as library from './partyline.js';

const STATS_PERIOD_MS = 1000;

const $ = (id) => document.getElementById(id);

const state = {
  running: false,
  signaling: 'idle',
  session: null,
  ice: null,
  dtls: null,
  server: null,
  errors: [],
};

const echoTest = {
  state,
  stats: null,
  client: null,
  call: null,
  get pc() { return this.call?.pc ?? null; },
  start,
  stop,
  summarizeStats,
};
window.echoTest = echoTest;
window.partyline = { ...library, get client() { return echoTest.client; } };

let statsTimer = null;
let previousReport = null;

$('start-button').addEventListener('click', () => start());
$('stop-button').addEventListener('click', () => stop());

function setState(name, value) {
  state[name] = value;
  const element = $(`state-${name}`);
  if (!element) return;
  element.textContent = value ?? '–';
  if ('state' in element.dataset) element.dataset.state = classify(value);
}

/** Maps any state word to the colour class the style sheet knows. */
function classify(value) {
  if (value === null || value === undefined) return 'idle';
  if (['connected', 'completed', 'secure', 'open'].includes(value)) return 'good';
  if (['failed', 'closed', 'disconnected'].includes(value)) return 'bad';
  return 'pending';
}

function setStatus(text) {
  $('call-status').textContent = text;
}

function showError(message) {
  state.errors.push(message);
  const box = $('error-box');
  box.textContent = message;
  box.hidden = false;
}

function clearError() {
  const box = $('error-box');
  box.textContent = '';
  box.hidden = true;
}

function describe(error) {
  if (error && typeof error.code === 'number' && error.reason) return `Error ${error.code}: ${error.reason}`;
  if (error && error.name && error.message) return `${error.name}: ${error.message}`;
  return String(error);
}

async function ensureClient() {
  if (echoTest.client?.connected) return echoTest.client;
  const client = new PartylineClient();
  setState('signaling', 'connecting');
  client.on('close', ({ code, reason }) => {
    setState('signaling', 'closed');
    if (state.running) showError(`Signaling connection closed (${code}${reason ? `: ${reason}` : ''})`);
    if (echoTest.client === client) echoTest.client = null;
  });
  const handshake = await client.connect(defaultSignalingUrl());
  echoTest.client = client;
  setState('signaling', 'connected');
  setState('session', handshake.session);
  return client;
}

async function start() {
  if (state.running) return;
  clearError();
  state.running = true;
  $('start-button').disabled = true;
  $('stop-button').disabled = false;
  setStatus('Starting…');
  try {
    const client = await ensureClient();
    const call = new EchoCall(client);
    echoTest.call = call;
    wireCall(call);
    await call.start();
    setStatus('Call running');
    startStats();
  } catch (error) {
    showError(describe(error));
    setStatus('Failed');
    await stop({ keepError: true });
  }
}

function wireCall(call) {
  call.on('localstream', (stream) => attach($('local-video'), stream));
  call.on('remotestream', (stream) => attach($('remote-video'), stream));
  call.on('iceconnectionstatechange', (value) => setState('ice', value));
  call.on('webrtc_state', ({ state: value, reason }) => {
    setState('server', value);
    if (value === 'failed') showError(`Server: connection failed${reason ? `: ${reason}` : ''}`);
  });
  call.on('error', (error) => showError(describe(error)));
}

function attach(video, stream) {
  video.srcObject = stream;
  // Autoplay with sound may be refused without a user gesture; the Start
  // click normally counts as one, so only report the refusal.
  video.play().catch((error) => console.warn('video.play() refused:', error.message));
}

async function stop({ keepError = false } = {}) {
  stopStats();
  const call = echoTest.call;
  echoTest.call = null;
  if (call) await call.stop();
  $('local-video').srcObject = null;
  $('remote-video').srcObject = null;
  state.running = false;
  $('start-button').disabled = false;
  $('stop-button').disabled = true;
  if (!keepError) {
    clearError();
    setStatus('Stopped');
  }
}

function startStats() {
  previousReport = null;
  statsTimer = setInterval(refreshStats, STATS_PERIOD_MS);
  refreshStats();
}

function stopStats() {
  clearInterval(statsTimer);
  statsTimer = null;
}

async function refreshStats() {
  const pc = echoTest.pc;
  if (!pc) return;
  let report;
  try {
    report = await pc.getStats();
  } catch (error) {
    console.warn('getStats failed', error);
    return;
  }
  const summary = summarizeStats(report, previousReport);
  previousReport = report;
  echoTest.stats = summary;
  render(summary);
}

/**
 * Reduces an RTCStatsReport to the figures the page shows. Bitrates need the
 * previous report (bytes are cumulative); they are null on the first sample.
 */
function summarizeStats(report, previous = null) {
  const summary = {
    video: { in: null, out: null },
    audio: { in: null, out: null },
    dtlsState: null,
    iceState: null,
    roundTripTimeMs: null,
    selectedPair: null,
  };
  for (const entry of report.values()) {
    if (entry.type === 'inbound-rtp' || entry.type === 'outbound-rtp') {
      const kind = entry.kind ?? entry.mediaType;
      if (!summary[kind]) continue;
      const direction = entry.type === 'inbound-rtp' ? 'in' : 'out';
      summary[kind][direction] = rtpFigures(entry, previous?.get(entry.id), direction);
    } else if (entry.type === 'transport') {
      summary.dtlsState = entry.dtlsState ?? null;
      summary.iceState = entry.iceState ?? null;
      const pair = report.get(entry.selectedCandidatePairId);
      if (pair) {
        summary.selectedPair = pair.id;
        if (typeof pair.currentRoundTripTime === 'number') {
          summary.roundTripTimeMs = pair.currentRoundTripTime * 1000;
        }
      }
    }
  }
  return summary;
}

function rtpFigures(entry, before, direction) {
  const bytes = direction === 'in' ? entry.bytesReceived : entry.bytesSent;
  const packets = direction === 'in' ? entry.packetsReceived : entry.packetsSent;
  const frames = direction === 'in' ? entry.framesDecoded : entry.framesEncoded;
  let bitrate = null;
  if (before) {
    const beforeBytes = direction === 'in' ? before.bytesReceived : before.bytesSent;
    const seconds = (entry.timestamp - before.timestamp) / 1000;
    if (seconds > 0) bitrate = ((bytes - beforeBytes) * 8) / seconds;
  }
  return { bytes: bytes ?? 0, packets: packets ?? 0, frames: frames ?? null, bitrate };
}

function render(summary) {
  setState('dtls', summary.dtlsState);
  if (summary.iceState) setState('ice', echoTest.pc?.iceConnectionState ?? summary.iceState);
  for (const kind of ['video', 'audio']) {
    for (const direction of ['in', 'out']) {
      const figures = summary[kind][direction];
      const prefix = `stat-${kind}-${direction}`;
      $(`${prefix}-bitrate`).textContent = formatBitrate(figures?.bitrate);
      $(`${prefix}-packets`).textContent = figures ? figures.packets.toLocaleString('en') : '–';
      const framesCell = $(`${prefix}-frames`);
      if (framesCell) framesCell.textContent = figures?.frames != null ? figures.frames.toLocaleString('en') : '–';
    }
  }
  $('stat-rtt').textContent = summary.roundTripTimeMs == null ? '–' : `${summary.roundTripTimeMs.toFixed(1)} ms`;
}

function formatBitrate(bitsPerSecond) {
  if (bitsPerSecond == null) return '–';
  if (bitsPerSecond >= 1e6) return `${(bitsPerSecond / 1e6).toFixed(2)} Mbit/s`;
  return `${(bitsPerSecond / 1e3).toFixed(0)} kbit/s`;
}
