// e2e-test: lines_chromium
// E2E: the demo page's phone-line view in headless Chromium, three browser
// contexts (three users):
//   1. alice opens the Phone line view, picks her name and creates a line:
//      the page shows a shareable URL with the line id and token, and her tile;
//   2. bob opens that URL (the view opens by itself), picks his name, joins;
//   3. carol connects; alice invites her by name; carol's page shows the
//      incoming-call prompt with alice's name; carol accepts;
//   4. every page shows one tile per occupant, with name and state
//      `connected` (from `occupants`); carol mutes her microphone and the
//      others see it; bob hangs up and the others' tiles follow.
// Screenshots of the three pages go to out/ (or $PARTYLINE_E2E_OUT).
//
// Run through run_e2e.sh (private network namespace, server started by
// with_server.py); PARTYLINE_URL is the page to open.

import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from './chromium.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const OUT_DIR = process.env.PARTYLINE_E2E_OUT ?? join(dirname(fileURLToPath(import.meta.url)), 'out');
const STEP_MS = 15000;

/** Runs in the page: what the tiles show. */
function readTiles() {
  return [...document.querySelectorAll('#tiles .tile')].map((tile) => ({
    user: tile.dataset.user,
    label: tile.querySelector('.tile-name')?.textContent ?? '',
    state: tile.dataset.state,
    stateText: tile.querySelector('.tile-state')?.textContent ?? '',
    flags: tile.querySelector('.tile-flags')?.textContent ?? '',
    mutedAudio: tile.dataset.mutedAudio,
    hasVideo: tile.querySelector('video') !== null,
  }));
}

class Failure extends Error {}

async function expectTiles(page, who, users, { state = 'connected', timeout = STEP_MS } = {}) {
  try {
    await page.waitForFunction(({ users: wanted, state: wantedState }) => {
      const tiles = [...document.querySelectorAll('#tiles .tile')];
      const shown = tiles.map((tile) => tile.dataset.user).sort();
      return JSON.stringify(shown) === JSON.stringify([...wanted].sort())
        && tiles.every((tile) => tile.dataset.state === wantedState
          && tile.querySelector('.tile-name').textContent.startsWith(tile.dataset.user));
    }, { users, state }, { timeout });
  } catch {
    const tiles = await page.evaluate(readTiles);
    throw new Failure(`${who}: expected one ${state} tile each for ${users.join(', ')} within ${timeout} ms; `
      + `tiles: ${JSON.stringify(tiles)}; status: ${await page.textContent('#line-status')}; `
      + `errors: ${JSON.stringify(await page.evaluate(() => window.phoneLine.state.errors))}`);
  }
  return page.evaluate(readTiles);
}

async function openLineView(page, name, url = PAGE_URL) {
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.phoneLine !== undefined, null, { timeout: 5000 });
  if (await page.isHidden('#line-view')) await page.click('#tab-line');
  await page.fill('#line-name', name);
}

async function run(pages) {
  const { alice, bob, carol } = pages;

  // 1. alice creates a line: a shareable URL with its id and token.
  await openLineView(alice, 'alice');
  await alice.click('#line-create');
  await alice.waitForSelector('#line-share:not([hidden])', { timeout: STEP_MS });
  const shareUrl = await alice.inputValue('#line-share-url');
  const lineId = await alice.evaluate(() => window.phoneLine.state.lineId);
  const hash = new URLSearchParams(new URL(shareUrl).hash.slice(1));
  if (!lineId || hash.get('line') !== lineId || !hash.get('token')) {
    throw new Failure(`the share URL ${shareUrl} should carry line=${lineId} and a token`);
  }
  const self = await expectTiles(alice, 'alice', ['alice']);
  if (self[0].label !== 'alice (you)' || !self[0].hasVideo) throw new Failure(`alice's own tile: ${JSON.stringify(self)}`);
  console.log(`alice created line ${lineId}; share URL ${shareUrl}`);

  // 2. bob opens the shared URL and joins.
  await openLineView(bob, 'bob', shareUrl);
  if (await bob.isHidden('#line-view')) throw new Failure('the shared URL should open the Phone line view');
  await bob.click('#line-join');
  await expectTiles(bob, 'bob', ['alice', 'bob']);
  await expectTiles(alice, 'alice', ['alice', 'bob']);
  console.log('bob joined through the link: both pages show alice and bob, connected');

  // 3. alice invites carol by name; carol's page rings; carol accepts.
  await openLineView(carol, 'carol');
  await carol.click('#line-connect');
  await carol.waitForFunction(() => window.phoneLine.client?.connected, null, { timeout: STEP_MS });
  await alice.fill('#invite-user', 'carol');
  await alice.click('#invite-button');
  await carol.waitForSelector('#incoming-call:not([hidden])', { timeout: STEP_MS });
  const caller = await carol.textContent('#incoming-caller');
  if (caller !== 'alice') throw new Failure(`carol's prompt should name alice, shows '${caller}'`);
  await alice.waitForFunction(() => document.getElementById('invite-status').textContent.startsWith('Ringing carol'),
    null, { timeout: STEP_MS });
  await carol.screenshot({ path: join(OUT_DIR, 'lines_chromium.carol-ringing.png') });
  await carol.click('#accept-call');
  for (const [who, page] of Object.entries(pages)) await expectTiles(page, who, ['alice', 'bob', 'carol']);
  await alice.waitForFunction(() => document.getElementById('invite-status').textContent === 'carol accepted',
    null, { timeout: STEP_MS });
  if (await carol.isVisible('#incoming-call')) throw new Failure('the prompt should close after Accept');
  console.log('carol accepted alice\'s call: three pages show three connected tiles');

  // 4. carol mutes her microphone: the others' tiles say so.
  await carol.click('#mute-audio');
  for (const [who, page] of Object.entries({ alice, bob })) {
    try {
      await page.waitForFunction(() => document.querySelector('#tiles .tile[data-user="carol"]')
        ?.dataset.mutedAudio === 'true', null, { timeout: STEP_MS });
    } catch {
      throw new Failure(`${who} does not see carol muted: ${JSON.stringify(await page.evaluate(readTiles))}`);
    }
  }
  console.log('carol muted: alice and bob see it');
  await mkdir(OUT_DIR, { recursive: true });
  for (const [who, page] of Object.entries(pages)) {
    await page.screenshot({ path: join(OUT_DIR, `lines_chromium.${who}.png`), fullPage: true });
  }

  // 5. bob hangs up: his tiles go, the others see two occupants.
  await bob.click('#line-hangup');
  await bob.waitForFunction(() => document.querySelectorAll('#tiles .tile').length === 0, null, { timeout: STEP_MS });
  await expectTiles(alice, 'alice', ['alice', 'carol']);
  await expectTiles(carol, 'carol', ['alice', 'carol']);
  console.log('bob hung up: alice and carol see each other only');

  for (const [who, page] of Object.entries(pages)) {
    const errors = await page.evaluate(() => window.phoneLine.state.errors);
    if (errors.length > 0) throw new Failure(`${who}'s page reports errors: ${errors.join(' | ')}`);
  }
}

async function main() {
  await mkdir(OUT_DIR, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS,
    timeout: 30000 });
  const pageErrors = [];
  try {
    const pages = {};
    for (const who of ['alice', 'bob', 'carol']) {
      const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
      const page = await context.newPage();
      page.on('console', (message) => console.log(`[${who} ${message.type()}] ${message.text()}`));
      page.on('pageerror', (error) => {
        pageErrors.push(`${who}: ${error.message}`);
        console.log(`[${who} page error] ${error.message}`);
      });
      pages[who] = page;
    }
    try {
      await run(pages);
    } catch (error) {
      for (const [who, page] of Object.entries(pages)) {
        await page.screenshot({ path: join(OUT_DIR, `lines_chromium.${who}.failed.png`), fullPage: true })
          .catch(() => {});
      }
      console.log(`FAIL: ${error instanceof Failure ? error.message : error.stack}`);
      return 1;
    }
    if (pageErrors.length > 0) {
      console.log(`FAIL: uncaught errors in the pages: ${pageErrors.join(' | ')}`);
      return 1;
    }
    console.log(`PASS: phone line in Chromium (screenshots in ${OUT_DIR})`);
    return 0;
  } finally {
    await browser.close().catch((error) => console.error('closing Chromium:', error.message));
  }
}

process.exitCode = await main();
