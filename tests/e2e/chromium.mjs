// Launches Debian's headless Chromium through playwright-core with the
// flags that make WebRTC work in a loopback-only network namespace
// (see shared TESTING.md): fake camera and microphone, loopback candidates,
// no mDNS hiding of local addresses, and nothing that reaches the network.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// The /usr/bin/chromium wrapper breaks on machines where /dev/shm is mounted twice.
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/lib/chromium/chromium';

export const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * Runs fn(page) in a fresh browser profile; always closes the browser and
 * removes the profile, whatever fn does.
 */
export async function withChromium(fn, { viewport = { width: 1280, height: 900 } } = {}) {
  const userDataDir = await mkdtemp(join(tmpdir(), 'partyline-chromium-'));
  let context = null;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport,
      timeout: 30000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => console.log(`[page ${message.type()}] ${message.text()}`));
    page.on('pageerror', (error) => console.log(`[page error] ${error.message}`));
    return await fn(page);
  } finally {
    if (context) await context.close().catch((error) => console.error('closing Chromium:', error.message));
    await rm(userDataDir, { recursive: true, force: true });
  }
}
