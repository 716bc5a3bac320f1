// The operators' live dashboard (docs/admin-api.md, "Dashboard"): asks for
// the admin token once, then every second reads /admin/v1/info,
// /admin/v1/lines and each occupant's /admin/v1/sessions/{id}, and shows
// the server, its lines and their occupants with live figures; kick and
// force-mute buttons act through the same API. Errors (a refused token,
// the server gone) go to the banner; nothing is thrown.
//
// Elements the tests read carry data-testid; an occupant's card also
// carries its figures as data attributes (data-session, data-user,
// data-state, data-muted-audio, data-published-bps, ...).

import * as api from './admin_client.js';
import { formatBitrate, formatUptime, sessionFigures, shortId } from './figures.js';
import { BitrateHistory, drawSparkline } from './sparkline.js';

const REFRESH_MS = 1000;
const KICK_ARM_MS = 4000;  // a kick needs a second click within this time

const count = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const byTestId = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);
const banner = byTestId('banner');
const tokenForm = byTestId('token-form');
const forgetButton = byTestId('forget-token');
const linesBox = byTestId('lines');

const histories = new Map();  // session id -> BitrateHistory
let timer = null;
let generation = 0;           // bumped when polling stops, so a late refresh is discarded

// ---------------------------------------------------------------- banner and token

function showBanner(kind, text) {
  banner.dataset.kind = kind;
  banner.textContent = text;
  banner.hidden = false;
}

function clearBanner() {
  banner.hidden = true;
  banner.textContent = '';
  delete banner.dataset.kind;
}

function showProblem(result, what) {
  if (result.status === 401) {
    showBanner('unauthorized', `401: the server refused the admin token (${result.reason}). Enter the right one.`);
    stopPolling();
    askForToken();
  } else if (result.status === 0) {
    showBanner('unreachable', `The server does not answer (${result.reason}); retrying every second.`);
  } else {
    showBanner('error', `${what}: ${result.status} ${result.reason}`);
  }
}

function askForToken() {
  tokenForm.hidden = false;
  forgetButton.hidden = true;
  tokenForm.elements.token.value = '';
  tokenForm.elements.token.focus();
}

tokenForm.addEventListener('submit', (event) => {
  event.preventDefault();
  api.storeToken(tokenForm.elements.token.value);
  tokenForm.elements.token.value = '';
  tokenForm.hidden = true;
  forgetButton.hidden = false;
  clearBanner();
  startPolling();
});

forgetButton.addEventListener('click', () => {
  api.forgetToken();
  stopPolling();
  clearView();
  clearBanner();
  askForToken();
});

// ---------------------------------------------------------------- polling

function startPolling() {
  stopPolling();
  const mine = ++generation;
  const tick = async () => {
    await refresh(mine);
    if (mine === generation) timer = setTimeout(tick, REFRESH_MS);
  };
  tick();
}

function stopPolling() {
  generation += 1;
  clearTimeout(timer);
  timer = null;
}

async function refresh(mine) {
  const [info, lines] = await Promise.all([api.getInfo(), api.getLines()]);
  if (mine !== generation) return;
  if (!info.ok || !lines.ok) return showProblem(info.ok ? lines : info, 'reading the server');
  const occupants = lines.body.lines.flatMap((line) => line.occupants);
  const sessions = await Promise.all(occupants.map((occupant) => api.getSession(occupant.session)));
  if (mine !== generation) return;
  const refused = sessions.find((result) => result.status === 401 || result.status === 0);
  if (refused) return showProblem(refused, 'reading a session');
  clearBanner();
  const details = new Map();
  occupants.forEach((occupant, index) => {
    if (sessions[index].ok) details.set(occupant.session, sessions[index].body);
  });
  renderInfo(info.body);
  renderLines(lines.body.lines, details);
}

// ---------------------------------------------------------------- rendering

function clearView() {
  linesBox.replaceChildren();
  histories.clear();
  byTestId('server-info').textContent = 'not connected';
  byTestId('no-lines').hidden = true;
}

function renderInfo(info) {
  const load = info.worker_load.map((worker) => `w${worker.worker}: ${worker.peer_connections}`).join(', ');
  const element = byTestId('server-info');
  element.textContent = `${info.name} ${info.version} · up ${formatUptime(info.uptime_ms)} · `
    + `${count(info.workers, 'worker')} (peer connections ${load}) · ${count(info.sessions, 'session')} · `
    + `${count(info.lines, 'line')}`;
  Object.assign(element.dataset, { version: info.version, uptimeMs: info.uptime_ms, workers: info.workers });
}

/** Keeps one element per key in `container`, in `keys` order: made by `make(key)`, others removed. */
function reconcile(container, keys, keyOf, make) {
  const existing = new Map([...container.children].map((child) => [keyOf(child), child]));
  keys.forEach((key, index) => {
    const element = existing.get(key) ?? make(key);
    existing.delete(key);
    if (container.children[index] !== element) container.insertBefore(element, container.children[index] ?? null);
  });
  for (const stale of existing.values()) stale.remove();
}

function renderLines(lines, details) {
  byTestId('no-lines').hidden = lines.length > 0;
  reconcile(linesBox, lines.map((line) => line.line_id), (element) => element.dataset.lineId, makeLine);
  const present = new Set();
  for (const line of lines) {
    const element = linesBox.querySelector(`[data-line-id="${CSS.escape(line.line_id)}"]`);
    byTestId('line-title', element).textContent = `Line ${shortId(line.line_id)}`;
    byTestId('line-title', element).title = line.line_id;
    byTestId('line-meta', element).textContent = `${count(line.occupants.length, 'occupant')} · created by ${line.creator ?? '?'}`
      + ` · members ${(line.members ?? []).join(', ')}`;
    const list = byTestId('occupants', element);
    reconcile(list, line.occupants.map((occupant) => occupant.session), (card) => card.dataset.session, makeOccupant);
    for (const occupant of line.occupants) {
      present.add(occupant.session);
      const card = list.querySelector(`[data-session="${CSS.escape(occupant.session)}"]`);
      renderOccupant(card, occupant, details.get(occupant.session));
    }
  }
  for (const session of histories.keys()) if (!present.has(session)) histories.delete(session);
}

function makeLine(lineId) {
  const element = document.createElement('article');
  element.className = 'line card';
  element.dataset.testid = 'line';
  element.dataset.lineId = lineId;
  element.innerHTML = `
    <header class="line-header"><h2 data-testid="line-title"></h2><span class="meta" data-testid="line-meta"></span></header>
    <div class="occupants" data-testid="occupants"></div>`;
  return element;
}

function makeOccupant(session) {
  const card = document.createElement('div');
  card.className = 'occupant';
  card.dataset.testid = 'occupant';
  card.dataset.session = session;
  card.innerHTML = `
    <div class="who">
      <span class="name" data-testid="occupant-name"></span>
      <span class="user" data-testid="occupant-user"></span>
      <code class="session" data-testid="occupant-session"></code>
      <span class="badge plugin" data-testid="occupant-plugin" hidden></span>
      <span class="badge state" data-testid="occupant-state"></span>
    </div>
    <div class="flags" data-testid="occupant-flags"></div>
    <div class="rates">
      <canvas class="sparkline" data-testid="sparkline" aria-label="bitrate, last 60 s"></canvas>
      <dl>
        <div><dt><i class="swatch published"></i>published</dt><dd data-testid="bitrate-published">–</dd></div>
        <div><dt><i class="swatch received"></i>received</dt><dd data-testid="bitrate-received">–</dd></div>
      </dl>
    </div>
    <dl class="quality">
      <div><dt>loss</dt><dd data-testid="loss">–</dd></div>
      <div><dt>RTT</dt><dd data-testid="rtt">–</dd></div>
      <div><dt>drops</dt><dd data-testid="drops">–</dd></div>
    </dl>
    <div class="actions">
      <button type="button" data-testid="mute-audio"></button>
      <button type="button" data-testid="mute-video"></button>
      <button type="button" class="danger" data-testid="kick">Kick</button>
    </div>`;
  byTestId('mute-audio', card).addEventListener('click', () => toggleMute(card, 'audio'));
  byTestId('mute-video', card).addEventListener('click', () => toggleMute(card, 'video'));
  byTestId('kick', card).addEventListener('click', () => kick(card));
  return card;
}

function flag(label, on, kind) {
  const element = document.createElement('span');
  element.className = `flag ${kind} ${on ? 'on' : 'off'}`;
  element.textContent = label;
  return element;
}

function renderOccupant(card, occupant, session) {
  const muted = occupant.muted ?? {};
  const publishing = occupant.publishing ?? {};
  const forced = session?.forced_mute ?? {};
  Object.assign(card.dataset, {
    user: occupant.user,
    name: occupant.name,
    state: occupant.state ?? '',
    plugin: occupant.plugin ?? '',
    publishingAudio: Boolean(publishing.audio),
    publishingVideo: Boolean(publishing.video),
    mutedAudio: Boolean(muted.audio),
    mutedVideo: Boolean(muted.video),
    forcedAudio: Boolean(forced.audio),
    forcedVideo: Boolean(forced.video),
  });
  byTestId('occupant-name', card).textContent = occupant.name;
  byTestId('occupant-user', card).textContent = occupant.user === occupant.name ? '' : `(${occupant.user})`;
  byTestId('occupant-session', card).textContent = shortId(occupant.session);
  byTestId('occupant-session', card).title = occupant.session;
  const plugin = byTestId('occupant-plugin', card);
  plugin.hidden = !occupant.plugin;
  plugin.textContent = occupant.plugin ? `plugin ${occupant.plugin}` : '';
  const state = byTestId('occupant-state', card);
  state.textContent = occupant.state ?? '?';
  state.dataset.value = occupant.state ?? '';
  byTestId('occupant-flags', card).replaceChildren(
    flag(publishing.audio ? (muted.audio ? 'audio muted' : 'audio') : 'no audio', publishing.audio && !muted.audio,
      muted.audio ? 'muted' : 'media'),
    flag(publishing.video ? (muted.video ? 'video muted' : 'video') : 'no video', publishing.video && !muted.video,
      muted.video ? 'muted' : 'media'),
  );
  for (const kind of ['audio', 'video']) {
    const button = byTestId(`mute-${kind}`, card);
    button.textContent = `${forced[kind] ? 'Unmute' : 'Mute'} ${kind}`;
    button.disabled = !publishing[kind] && !forced[kind];
  }
  renderFigures(card, occupant.session, sessionFigures(session));
}

function renderFigures(card, sessionId, figures) {
  if (!histories.has(sessionId)) histories.set(sessionId, new BitrateHistory());
  const history = histories.get(sessionId);
  if (figures) history.add(figures.publishedBps, figures.receivedBps);
  drawSparkline(byTestId('sparkline', card), history);
  card.dataset.publishedBps = figures ? figures.publishedBps : '';
  card.dataset.receivedBps = figures ? figures.receivedBps : '';
  byTestId('bitrate-published', card).textContent = figures ? formatBitrate(figures.publishedBps) : '–';
  byTestId('bitrate-received', card).textContent = figures ? formatBitrate(figures.receivedBps) : '–';
  const loss = byTestId('loss', card);
  loss.textContent = figures?.fractionLost == null ? '–'
    : `${(figures.fractionLost * 100).toFixed(1)} % (${figures.lost} lost)`;
  loss.classList.toggle('warn', (figures?.fractionLost ?? 0) >= 0.02);
  loss.title = figures ? `upstream (what it publishes): ${figures.upstreamLost} lost` : '';
  byTestId('rtt', card).textContent = figures?.rttMs == null ? '–' : `${figures.rttMs.toFixed(1)} ms`;
  const drops = byTestId('drops', card);
  drops.textContent = figures ? String(figures.drops) : '–';
  // Drops while force-muted are the mute working, not a problem.
  drops.classList.toggle('warn', (figures?.drops ?? 0) - (figures?.dropReasons.muted ?? 0) > 0);
  drops.title = figures ? Object.entries(figures.dropReasons).map(([reason, count]) => `${reason}: ${count}`).join('\n') : '';
}

// ---------------------------------------------------------------- actions

function showResult(ok, text) {
  const element = byTestId('action-result');
  element.textContent = text;
  element.dataset.ok = String(ok);
  element.hidden = false;
}

function describe(card) {
  return `${card.dataset.name} (${shortId(card.dataset.session)})`;
}

async function toggleMute(card, kind) {
  const mute = card.dataset[kind === 'audio' ? 'forcedAudio' : 'forcedVideo'] !== 'true';
  const result = await api.muteSession(card.dataset.session, { [kind]: mute });
  if (result.status === 401 || result.status === 0) return showProblem(result, 'mute');
  showResult(result.ok, result.ok ? `${mute ? 'Muted' : 'Unmuted'} ${kind} of ${describe(card)}`
    : `${mute ? 'Mute' : 'Unmute'} ${kind} of ${describe(card)} failed: ${result.status} ${result.reason}`);
}

async function kick(card) {
  const button = byTestId('kick', card);
  if (button.dataset.armed !== 'true') {
    button.dataset.armed = 'true';
    button.textContent = 'Really kick?';
    setTimeout(() => {
      button.dataset.armed = 'false';
      button.textContent = 'Kick';
    }, KICK_ARM_MS);
    return;
  }
  button.disabled = true;
  const result = await api.kickSession(card.dataset.session);
  button.disabled = false;
  if (result.status === 401 || result.status === 0) return showProblem(result, 'kick');
  showResult(result.ok, result.ok ? `Kicked ${describe(card)}` : `Kick of ${describe(card)} failed: ${result.status} ${result.reason}`);
}

// ---------------------------------------------------------------- start

if (api.storedToken() === null) {
  askForToken();
} else {
  forgetButton.hidden = false;
  startPolling();
}
