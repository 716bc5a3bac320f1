// Takes a screenshot of a page, optionally after clicking a selector:
//   node screenshot.mjs URL OUT.png [SELECTOR-TO-CLICK] [WAIT-FOR-SELECTOR]
// Run it inside a loopback-only network namespace, like the tests.

import { withChromium } from './chromium.mjs';

const [url, out, clickSelector, waitSelector] = process.argv.slice(2);
if (!url || !out) {
  console.error('usage: node screenshot.mjs URL OUT.png [SELECTOR-TO-CLICK] [WAIT-FOR-SELECTOR]');
  process.exit(2);
}

await withChromium(async (page) => {
  await page.goto(url, { waitUntil: 'load' });
  if (clickSelector) await page.click(clickSelector);
  if (waitSelector) await page.waitForSelector(waitSelector, { timeout: 15000 });
  await page.screenshot({ path: out, fullPage: true });
  console.log(`saved ${out}`);
});
