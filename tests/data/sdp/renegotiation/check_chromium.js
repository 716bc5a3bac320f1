// Real-client check of server renegotiation offers (rtp/sdp/sdp_offer.hpp) with
// headless Chromium, run by run_checks.sh (the ctest test
// renegotiation_real_clients). Usage:
//   NODE_PATH=<dir with playwright-core> node check_chromium.js DRIVER URL
// DRIVER speaks the line protocol of the driver described in run_checks.sh.
const { chromium } = require('playwright-core');
const { spawn } = require('child_process');
const readline = require('readline');

const [driverPath, url] = process.argv.slice(2);
const driver = spawn(driverPath, [], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = readline.createInterface({ input: driver.stdout })[Symbol.asyncIterator]();

async function call(command, sdp) {
  driver.stdin.write(command + '\n' + (sdp === undefined ? '' : sdp.replace(/\r\n/g, '\n').trimEnd() + '\n.\n'));
  const head = (await lines.next()).value;
  if (head.startsWith('ERROR') || head.startsWith('OK')) return head;
  let text = '';
  for (;;) {
    const line = (await lines.next()).value;
    if (line === '.') return { head, sdp: text };
    text += line + '\r\n';
  }
}

function expectOk(reply, what) {
  if (typeof reply === 'string' && reply.startsWith('ERROR')) throw new Error(`${what}: ${reply}`);
  return reply;
}

// What partyline says it sends (the OK line: "mid:kind:P|S:track" per
// m-line, track "-" when unused) must be what Chromium receives: a used
// server m-line is recvonly, an unused one inactive, and a stream new on an
// m-line fires a track event there with the publisher's stream id (msid).
// Returns mid -> track for the next round.
function checkSlots(applied, result, previous) {
  const slots = applied.replace(/^OK /, '').split(' ').map((slot) => slot.split(':'));
  for (const [mid, kind, origin, track] of slots) {
    if (origin !== 'S') continue;
    const transceiver = result.transceivers.find((t) => t.mid === mid);
    const want = track === '-' ? 'inactive' : 'recvonly';
    const got = transceiver ? transceiver.currentDirection : 'no transceiver';
    if (got !== want) throw new Error(`mid ${mid}: partyline sends ${track} there, Chromium is ${got}, not ${want}`);
    if (track !== '-' && previous.get(mid) !== track) {
      const event = `track mid=${mid} kind=${kind} streams=${track.slice(0, track.lastIndexOf('-'))}`;
      if (!result.events.includes(event)) throw new Error(`mid ${mid}: no "${event}" (events: ${result.events})`);
    }
  }
  return new Map(slots.map(([mid, , , track]) => [mid, track]));
}

const FLAGS = ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  '--disable-quic', '--disable-dev-shm-usage', '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns'];

(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/lib/chromium/chromium', headless: true, args: FLAGS });
  let failed = false;
  try {
    const page = await browser.newPage();
    for (let attempt = 0; ; ++attempt) {  // the http server may still be starting
      try { await page.goto(url); break; } catch (e) { if (attempt > 50) throw e; await page.waitForTimeout(100); }
    }
    const offer = await page.evaluate('start()');
    const answer = expectOk(await call('OFFER', offer), 'build_answer');
    await page.evaluate(`setAnswer(${JSON.stringify(answer.sdp)})`);
    console.log('round 1: Chromium offered, partyline answered: OK');
    const steps = [['add publishers b and c', 'b,c'], ['remove c', 'b'], ['add d (reuses c\'s m-lines)', 'b,d'],
                   ['remove all', ''], ['add e and f', 'e,f']];
    let sent = new Map();
    for (const [label, publishers] of steps) {
      const update = expectOk(await call('UPDATE ' + publishers), 'build_update_offer');
      const result = await page.evaluate(`applyOffer(${JSON.stringify(update.sdp)})`);
      const applied = expectOk(await call('APPLY', result.sdp), `apply_update_answer (${label})`);
      console.log(`\n== ${label}: Chromium accepted the offer; partyline: ${applied}`);
      for (const t of result.transceivers) {
        console.log(`  mid=${t.mid} ${t.kind} direction=${t.direction} currentDirection=${t.currentDirection}`);
      }
      for (const e of result.events) console.log('  event: ' + e);
      sent = checkSlots(applied, result, sent);
    }
  } catch (e) {
    failed = true;
    console.error('FAILED: ' + e.message);
  } finally {
    await browser.close();
    driver.stdin.end();
  }
  process.exit(failed ? 1 : 0);
})();
