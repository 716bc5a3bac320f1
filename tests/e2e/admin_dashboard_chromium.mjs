// e2e-test: admin_dashboard_chromium
// E2E (issue 11, "Dashboard"): the operators' dashboard at / of the admin
// listener, in headless Chromium, against three Chromium participants in a
// line (the demo page's Phone line view; as microphone a sine tone and as
// camera a 320x240, 15 fps canvas, as sfu_chromium). The server runs with
// an admin token (PARTYLINE_ADMIN_TOKEN, set by run_e2e.sh for this test).
//   1. alice creates a line, bob and carol join by its link; the admin API
//      lists the three, connected, each publishing at a nonzero bitrate.
//   2. The dashboard page and its scripts load without the token (the API
//      still answers 401 without it); a wrong token shows the 401 banner and
//      the token form again; the right one connects (banner gone).
//   3. The dashboard shows what the API says at about the same time: the
//      server's version; one line; per occupant its session, user, name and
//      state; published and received bitrates nonzero and within a factor
//      of 2 of the API's; a drawn chart (>= 3 samples, pixels of both
//      series' colours); loss and RTT of its received legs, and drops.
//   4. Mute audio on bob: his card shows audio muted and the button
//      "Unmute audio"; the API shows him muted and forced_mute.audio.
//   5. Kick carol (two clicks: the button asks first): her card goes; the
//      API's line lacks her and her session is 404.
//   6. The token never appears in the URL or the page's console; "Forget
//      token" removes it from sessionStorage and asks for it again.
// Screenshots: out/admin_dashboard_chromium.*.png (or $PARTYLINE_E2E_OUT).
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py); PARTYLINE_URL is the demo page, the admin listener's
// address comes from the server log's "admin API listening on" line.

import { readFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_FLAGS, CHROMIUM_PATH, fakeDevicesIn, openLineView } from './chromium.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const SERVER_LOG = process.env.PARTYLINE_SERVER_LOG;
const TOKEN = process.env.PARTYLINE_ADMIN_TOKEN ?? '';
const OUT_DIR = process.env.PARTYLINE_E2E_OUT ?? join(dirname(fileURLToPath(import.meta.url)), 'out');
const STEP_MS = 15000;
const FIGURES_DEADLINE_MS = 25000;
const POLL_MS = 250;
const USERS = ['alice', 'bob', 'carol'];
const COLOURS = { alice: [220, 40, 40], bob: [40, 180, 40], carol: [40, 70, 220] };
const TONES = { alice: 440, bob: 660, carol: 880 };
const SHOT = (label) => join(OUT_DIR, `admin_dashboard_chromium.${label}.png`);

class Failure extends Error {}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` (returns a truthy value when satisfied, else a string saying what is missing). */
async function waitFor(what, check, timeoutMs = STEP_MS) {
  const started = Date.now();
  let last = null;
  for (;;) {
    const result = await check();
    if (result && typeof result !== 'string') return result;
    last = result;
    if (Date.now() - started > timeoutMs) throw new Failure(`${what}: not within ${timeoutMs} ms: ${last}`);
    await delay(POLL_MS);
  }
}

// ---------------------------------------------------------------- the admin API, from the test

async function adminBase() {
  if (!SERVER_LOG) throw new Failure('PARTYLINE_SERVER_LOG is not set (run through run_e2e.sh)');
  const log = await readFile(SERVER_LOG, 'utf8');
  const found = /admin API listening on (http:\/\/\S+\/)/.exec(log);
  if (!found) throw new Failure(`no "admin API listening on" line in ${SERVER_LOG}`);
  return found[1];
}

function makeAdmin(base) {
  return async (method, path, { token = TOKEN, body } = {}) => {
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    const response = await fetch(new URL(path, base), {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: response.status, json, text, type: response.headers.get('content-type') };
  };
}

// ---------------------------------------------------------------- the dashboard, read in its page

/** Runs in the dashboard page: what it shows. */
function readDashboard() {
  const q = (root, id) => root.querySelector(`[data-testid="${id}"]`);
  /** Pixels of a canvas near each series' colour (published blue, received green). */
  const chartPixels = (canvas) => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let published = 0;
    let received = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] < 128) continue;
      if (Math.abs(data[i] - 47) + Math.abs(data[i + 1] - 125) + Math.abs(data[i + 2] - 209) < 90) published += 1;
      if (Math.abs(data[i] - 31) + Math.abs(data[i + 1] - 157) + Math.abs(data[i + 2] - 107) < 90) received += 1;
    }
    return { published, received };
  };
  const banner = q(document, 'banner');
  return {
    banner: banner.hidden ? null : { kind: banner.dataset.kind, text: banner.textContent },
    tokenFormShown: !q(document, 'token-form').hidden,
    info: { text: q(document, 'server-info').textContent, version: q(document, 'server-info').dataset.version ?? null },
    actionResult: q(document, 'action-result').hidden ? null : q(document, 'action-result').textContent,
    lines: [...document.querySelectorAll('[data-testid="line"]')].map((line) => ({
      lineId: line.dataset.lineId,
      occupants: [...line.querySelectorAll('[data-testid="occupant"]')].map((card) => {
        const canvas = q(card, 'sparkline');
        return {
          ...card.dataset,
          nameShown: q(card, 'occupant-name').textContent,
          sessionShown: q(card, 'occupant-session').textContent,
          stateShown: q(card, 'occupant-state').textContent,
          publishedText: q(card, 'bitrate-published').textContent,
          receivedText: q(card, 'bitrate-received').textContent,
          lossText: q(card, 'loss').textContent,
          rttText: q(card, 'rtt').textContent,
          dropsText: q(card, 'drops').textContent,
          muteAudioText: q(card, 'mute-audio').textContent,
          chartSamples: Number(canvas.dataset.samples ?? 0),
          chartPixels: chartPixels(canvas),
        };
      }),
    })),
  };
}

const cardOf = (page, user) => page.locator(`[data-testid="occupant"][data-user="${user}"]`);

// ---------------------------------------------------------------- steps

async function joinLine(pages) {
  const { alice, bob, carol } = pages;
  await openLineView(alice, 'alice', PAGE_URL);
  await alice.click('#line-create');
  await alice.waitForSelector('#line-share:not([hidden])', { timeout: STEP_MS });
  const shareUrl = await alice.inputValue('#line-share-url');
  for (const [who, page] of [['bob', bob], ['carol', carol]]) {
    await openLineView(page, who, shareUrl);
    await page.click('#line-join');
  }
  for (const page of Object.values(pages)) {
    await page.waitForFunction(() => {
      const tiles = [...document.querySelectorAll('#tiles .tile')];
      return tiles.length === 3 && tiles.every((tile) => tile.dataset.state === 'connected');
    }, null, { timeout: STEP_MS });
  }
  console.log(`alice, bob and carol are in the line ${shareUrl}`);
}

/** The API's line, once its three occupants are connected and each publishes at a nonzero bitrate. */
async function apiLineReady(admin) {
  return waitFor('the API lists three connected occupants publishing', async () => {
    const lines = (await admin('GET', '/admin/v1/lines')).json?.lines ?? [];
    if (lines.length !== 1) return `${lines.length} lines`;
    const occupants = lines[0].occupants;
    const states = occupants.map((occupant) => `${occupant.user}:${occupant.state}`).join(' ');
    if (occupants.length !== 3 || occupants.some((occupant) => occupant.state !== 'connected')) return states;
    for (const occupant of occupants) {
      const session = (await admin('GET', `/admin/v1/sessions/${occupant.session}`)).json;
      const bps = (session?.streams?.published ?? []).reduce((sum, stream) => sum + stream.bitrate_bps, 0);
      if (!(bps > 0)) return `${occupant.user} publishes at ${bps} bit/s`;
    }
    return lines[0];
  }, FIGURES_DEADLINE_MS);
}

async function checkServedWithoutToken(admin) {
  for (const [path, type] of [['/', 'text/html'], ['/dashboard.js', 'text/javascript'], ['/dashboard.css', 'text/css']]) {
    const answer = await admin('GET', path, { token: '' });
    if (answer.status !== 200 || !answer.type?.startsWith(type)) {
      throw new Failure(`GET ${path} without a token: ${answer.status} ${answer.type}`);
    }
  }
  for (const [path, token] of [['/admin/v1/info', ''], ['/admin/v1/info', 'wrong'], ['/nosuch', ''], ['/metrics', '']]) {
    const answer = await admin('GET', path, { token });
    if (answer.status !== 401) throw new Failure(`GET ${path} with token '${token}' should be 401: ${answer.status}`);
  }
  console.log('the dashboard\'s files are served without the token; the API and unknown paths still need it');
}

async function enterToken(dashboard, token) {
  await dashboard.waitForSelector('[data-testid="token-form"]:not([hidden])', { timeout: STEP_MS });
  await dashboard.fill('[data-testid="token-input"]', token);
  await dashboard.click('[data-testid="token-submit"]');
}

async function checkWrongToken(dashboard) {
  await enterToken(dashboard, 'not-the-token');
  await dashboard.waitForSelector('[data-testid="banner"][data-kind="unauthorized"]:not([hidden])', { timeout: STEP_MS });
  const shown = await dashboard.evaluate(readDashboard);
  if (!/401/.test(shown.banner.text) || !shown.tokenFormShown) {
    throw new Failure(`a wrong token should show the 401 banner and the token form: ${JSON.stringify(shown)}`);
  }
  console.log(`wrong token: banner "${shown.banner.text}"`);
  await dashboard.screenshot({ path: SHOT('wrong-token'), fullPage: true });
}

/** What differs between the dashboard's occupants and the API's (read right after it). */
async function compareFigures(dashboard, admin) {
  const shown = await dashboard.evaluate(readDashboard);
  const lines = (await admin('GET', '/admin/v1/lines')).json.lines;
  const info = (await admin('GET', '/admin/v1/info')).json;
  const problems = [];
  if (shown.banner) problems.push(`banner: ${shown.banner.text}`);
  if (shown.info.version !== info.version) problems.push(`version ${shown.info.version} != ${info.version}`);
  if (JSON.stringify(shown.lines.map((line) => line.lineId)) !== JSON.stringify(lines.map((line) => line.line_id))) {
    problems.push(`lines ${JSON.stringify(shown.lines.map((line) => line.lineId))}`);
    return { problems, shown };
  }
  const cards = new Map(shown.lines[0].occupants.map((card) => [card.session, card]));
  if (cards.size !== lines[0].occupants.length) problems.push(`${cards.size} cards for ${lines[0].occupants.length} occupants`);
  const rows = [];
  for (const occupant of lines[0].occupants) {
    const card = cards.get(occupant.session);
    if (!card) {
      problems.push(`no card for ${occupant.user} (${occupant.session})`);
      continue;
    }
    const session = (await admin('GET', `/admin/v1/sessions/${occupant.session}`)).json;
    const published = session.streams.published.reduce((sum, stream) => sum + stream.bitrate_bps, 0);
    const received = session.streams.received.reduce((sum, leg) => sum + leg.bitrate_bps, 0);
    const who = occupant.user;
    if (card.user !== occupant.user || card.nameShown !== occupant.name || card.stateShown !== occupant.state
        || !occupant.session.startsWith(card.sessionShown) || card.sessionShown.length < 8) {
      problems.push(`${who}: card ${card.user}/${card.nameShown}/${card.stateShown}/${card.sessionShown} `
        + `!= ${occupant.user}/${occupant.name}/${occupant.state}/${occupant.session}`);
    }
    const near = (a, b) => a > 0 && b > 0 && a <= 2 * b && b <= 2 * a;
    const cardPublished = Number(card.publishedBps);
    const cardReceived = Number(card.receivedBps);
    if (!near(cardPublished, published)) problems.push(`${who}: published ${cardPublished} bit/s shown, API ${published}`);
    if (!near(cardReceived, received)) problems.push(`${who}: received ${cardReceived} bit/s shown, API ${received}`);
    if (card.chartSamples < 3 || card.chartPixels.published < 20 || card.chartPixels.received < 20) {
      problems.push(`${who}: chart of ${card.chartSamples} samples, pixels ${JSON.stringify(card.chartPixels)}`);
    }
    if (!/%/.test(card.lossText)) problems.push(`${who}: loss shows '${card.lossText}'`);
    const apiRtt = session.streams.received.some((leg) => leg.round_trip_ms > 0);
    if (apiRtt && !/ms$/.test(card.rttText)) problems.push(`${who}: RTT shows '${card.rttText}' though the API has one`);
    if (!/^\d+$/.test(card.dropsText)) problems.push(`${who}: drops show '${card.dropsText}'`);
    rows.push(`  ${who} (${card.sessionShown}, ${card.stateShown}): published ${card.publishedText} (API ${published} bit/s), `
      + `received ${card.receivedText} (API ${received} bit/s), loss ${card.lossText}, RTT ${card.rttText}, `
      + `drops ${card.dropsText}, chart ${card.chartSamples} samples`);
  }
  return { problems, rows, shown };
}

async function expectFiguresMatch(dashboard, admin) {
  const started = Date.now();
  let outcome;
  for (;;) {
    outcome = await compareFigures(dashboard, admin);
    if (outcome.problems.length === 0) break;
    if (Date.now() - started > FIGURES_DEADLINE_MS) {
      throw new Failure(`the dashboard does not match the API within ${FIGURES_DEADLINE_MS} ms: ${outcome.problems.join('; ')}`);
    }
    await delay(POLL_MS);
  }
  console.log(`the dashboard matches the API after ${Date.now() - started} ms:\n${outcome.rows.join('\n')}`);
  console.log(`server info: ${outcome.shown.info.text}`);
}

async function muteBob(dashboard, admin, bobSession) {
  await cardOf(dashboard, 'bob').locator('[data-testid="mute-audio"]').click();
  try {
    await dashboard.waitForFunction(() => {
      const card = document.querySelector('[data-testid="occupant"][data-user="bob"]');
      return card?.dataset.mutedAudio === 'true' && card.dataset.forcedAudio === 'true'
        && card.querySelector('[data-testid="mute-audio"]').textContent === 'Unmute audio';
    }, null, { timeout: STEP_MS });
  } catch {
    throw new Failure(`bob's card does not show audio muted: ${JSON.stringify(await dashboard.evaluate(readDashboard))}`);
  }
  const result = await dashboard.textContent('[data-testid="action-result"]');
  if (!/^Muted audio of bob/.test(result)) throw new Failure(`action result after mute: '${result}'`);
  const session = (await admin('GET', `/admin/v1/sessions/${bobSession}`)).json;
  if (session.forced_mute?.audio !== true || session.muted?.audio !== true || session.forced_mute?.video !== false) {
    throw new Failure(`the API does not show bob's audio force-muted: ${JSON.stringify(session)}`);
  }
  console.log(`mute audio of bob: "${result}"; the API shows muted and forced_mute audio`);
  await dashboard.screenshot({ path: SHOT('bob-muted'), fullPage: true });
}

async function kickCarol(dashboard, admin, carolSession) {
  const button = cardOf(dashboard, 'carol').locator('[data-testid="kick"]');
  await button.click();
  await dashboard.waitForSelector('[data-testid="occupant"][data-user="carol"] [data-testid="kick"][data-armed="true"]',
    { timeout: STEP_MS });
  await button.click();
  await dashboard.waitForSelector('[data-testid="occupant"][data-user="carol"]', { state: 'detached', timeout: STEP_MS });
  const result = await dashboard.textContent('[data-testid="action-result"]');
  if (!/^Kicked carol/.test(result)) throw new Failure(`action result after kick: '${result}'`);
  await waitFor('carol gone from the API', async () => {
    const lines = (await admin('GET', '/admin/v1/lines')).json.lines;
    const users = lines.flatMap((line) => line.occupants.map((occupant) => occupant.user)).sort();
    if (JSON.stringify(users) !== '["alice","bob"]') return `occupants ${users.join(', ')}`;
    const status = (await admin('GET', `/admin/v1/sessions/${carolSession}`)).status;
    return status === 404 ? true : `GET carol's session: ${status}`;
  });
  const users = await dashboard.$$eval('[data-testid="occupant"]', (cards) => cards.map((card) => card.dataset.user).sort());
  if (JSON.stringify(users) !== '["alice","bob"]') throw new Failure(`cards after the kick: ${users}`);
  console.log(`kick carol: "${result}"; her card and her session are gone`);
  await dashboard.screenshot({ path: SHOT('after-kick'), fullPage: true });
}

async function checkTokenHygiene(dashboard, consoleLines) {
  if (TOKEN && (dashboard.url().includes(TOKEN) || consoleLines.some((line) => line.includes(TOKEN)))) {
    throw new Failure('the token shows in the dashboard\'s URL or console');
  }
  const stored = await dashboard.evaluate(() => sessionStorage.getItem('partyline.admin.token'));
  if (stored !== TOKEN) throw new Failure(`sessionStorage holds ${JSON.stringify(stored)}, not the token`);
  await dashboard.click('[data-testid="forget-token"]');
  await dashboard.waitForSelector('[data-testid="token-form"]:not([hidden])', { timeout: STEP_MS });
  const after = await dashboard.evaluate(() => ({
    stored: sessionStorage.getItem('partyline.admin.token'),
    cards: document.querySelectorAll('[data-testid="occupant"]').length,
  }));
  if (after.stored !== null || after.cards !== 0) throw new Failure(`after "Forget token": ${JSON.stringify(after)}`);
  console.log('the token is in sessionStorage only; "Forget token" removed it');
}

async function run(pages, dashboard, dashboardConsole) {
  const admin = makeAdmin(await adminBase());
  if (!TOKEN) throw new Failure('PARTYLINE_ADMIN_TOKEN is not set (run_e2e.sh sets it for this test)');
  await joinLine(pages);
  const line = await apiLineReady(admin);
  const sessionOf = Object.fromEntries(line.occupants.map((occupant) => [occupant.user, occupant.session]));

  await checkServedWithoutToken(admin);
  await dashboard.goto(new URL('/', await adminBase()).href, { waitUntil: 'load' });
  await checkWrongToken(dashboard);
  await enterToken(dashboard, TOKEN);
  await dashboard.waitForSelector('[data-testid="banner"]', { state: 'hidden', timeout: STEP_MS });
  await expectFiguresMatch(dashboard, admin);
  await dashboard.screenshot({ path: SHOT('three'), fullPage: true });

  await muteBob(dashboard, admin, sessionOf.bob);
  await kickCarol(dashboard, admin, sessionOf.carol);
  await checkTokenHygiene(dashboard, dashboardConsole);
}

async function main() {
  await mkdir(OUT_DIR, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS,
    timeout: 30000 });
  const dashboardErrors = [];
  const dashboardConsole = [];
  try {
    const pages = {};
    for (const who of USERS) {
      const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
      await context.addInitScript(fakeDevicesIn, { rgb: COLOURS[who], hz: TONES[who] });
      const page = await context.newPage();
      page.on('pageerror', (error) => console.log(`[${who} page error] ${error.message}`));
      pages[who] = page;
    }
    const dashboard = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    dashboard.on('console', (message) => {
      dashboardConsole.push(message.text());
      console.log(`[dashboard ${message.type()}] ${message.text()}`);
    });
    dashboard.on('pageerror', (error) => {
      dashboardErrors.push(error.message);
      console.log(`[dashboard page error] ${error.message}`);
    });
    try {
      await run(pages, dashboard, dashboardConsole);
    } catch (error) {
      await dashboard.screenshot({ path: SHOT('failed'), fullPage: true }).catch(() => {});
      console.log(`dashboard shows: ${JSON.stringify(await dashboard.evaluate(readDashboard).catch((e) => e.message))}`);
      console.log(`FAIL: ${error instanceof Failure ? error.message : error.stack}`);
      return 1;
    }
    if (dashboardErrors.length > 0) {
      console.log(`FAIL: uncaught errors in the dashboard: ${dashboardErrors.join(' | ')}`);
      return 1;
    }
    console.log(`PASS: the dashboard shows the line and acts on it (screenshots in ${OUT_DIR})`);
    return 0;
  } finally {
    await browser.close().catch((error) => console.error('closing Chromium:', error.message));
  }
}

process.exitCode = await main();
