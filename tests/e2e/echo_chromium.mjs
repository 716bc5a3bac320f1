// e2e-test: echo_chromium
// E2E: headless Chromium opens the demo page, clicks Start, and must get its
// own camera and microphone back through the server.
//
// Run through run_e2e.sh (private network namespace, server started by
// with_server.py); PARTYLINE_URL is the page to open.

import { withChromium } from './chromium.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const DEADLINE_MS = 15000;
const POLL_MS = 250;
const MIN_FRAMES_DECODED = 30;
const MIN_AUDIO_PACKETS = 100;

/** Runs in the page: the figures the assertions need, straight from getStats. */
async function collectFigures() {
  const echoTest = window.echoTest;
  const pc = echoTest?.pc;
  const figures = {
    errors: echoTest?.state.errors ?? [],
    serverState: echoTest?.state.server ?? null,
    signaling: echoTest?.state.signaling ?? null,
  };
  if (!pc) return figures;
  figures.iceConnectionState = pc.iceConnectionState;
  figures.connectionState = pc.connectionState;
  const report = await pc.getStats();
  for (const entry of report.values()) {
    if (entry.type === 'inbound-rtp' && entry.kind === 'video') {
      figures.videoFramesDecoded = entry.framesDecoded ?? 0;
      figures.videoPacketsReceived = entry.packetsReceived ?? 0;
      figures.videoCodec = report.get(entry.codecId)?.mimeType ?? null;
    } else if (entry.type === 'inbound-rtp' && entry.kind === 'audio') {
      figures.audioPacketsReceived = entry.packetsReceived ?? 0;
      figures.audioCodec = report.get(entry.codecId)?.mimeType ?? null;
    } else if (entry.type === 'outbound-rtp' && entry.kind === 'video') {
      figures.videoPacketsSent = entry.packetsSent ?? 0;
    } else if (entry.type === 'transport') {
      figures.dtlsState = entry.dtlsState;
      figures.iceTransportState = entry.iceState;
      figures.dtlsCipher = entry.dtlsCipher ?? null;
      figures.srtpCipher = entry.srtpCipher ?? null;
      const pair = report.get(entry.selectedCandidatePairId);
      if (pair) {
        figures.roundTripTimeMs = pair.currentRoundTripTime != null ? pair.currentRoundTripTime * 1000 : null;
        const local = report.get(pair.localCandidateId);
        const remote = report.get(pair.remoteCandidateId);
        figures.selectedPair = `${local?.address}:${local?.port} -> ${remote?.address}:${remote?.port}`;
      }
    }
  }
  const remoteVideo = document.getElementById('remote-video');
  figures.remoteVideoSize = `${remoteVideo.videoWidth}x${remoteVideo.videoHeight}`;
  return figures;
}

function unmet(figures) {
  const missing = [];
  if (!((figures.videoFramesDecoded ?? 0) > MIN_FRAMES_DECODED)) missing.push(`video framesDecoded > ${MIN_FRAMES_DECODED}`);
  if (!((figures.audioPacketsReceived ?? 0) > MIN_AUDIO_PACKETS)) missing.push(`audio packetsReceived > ${MIN_AUDIO_PACKETS}`);
  if (figures.dtlsState !== 'connected') missing.push("transport dtlsState 'connected'");
  if (!['connected', 'completed'].includes(figures.iceConnectionState)) missing.push('ICE connected');
  if (figures.serverState !== 'secure') missing.push("webrtc_state 'secure' from the server");
  return missing;
}

function print(figures) {
  console.log('figures:');
  for (const [name, value] of Object.entries(figures)) {
    const shown = typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(2) : JSON.stringify(value);
    console.log(`  ${name}: ${shown}`);
  }
}

async function run(page) {
  // An uncaught error in the page fails the test, as in the other Chromium
  // tests: the page may still show media while its own code is broken.
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(PAGE_URL, { waitUntil: 'load' });
  await page.waitForFunction(() => window.echoTest !== undefined, null, { timeout: 5000 });
  await page.click('#start-button');
  const started = Date.now();
  const deadline = started + DEADLINE_MS;
  let figures = {};
  for (;;) {
    figures = await page.evaluate(collectFigures);
    if (figures.errors.length > 0 || pageErrors.length > 0) {
      print(figures);
      console.log(`FAIL: the page reports errors: ${[...figures.errors, ...pageErrors].join(' | ')}`);
      return 1;
    }
    const missing = unmet(figures);
    if (missing.length === 0) break;
    if (Date.now() > deadline) {
      print(figures);
      console.log(`FAIL: within ${DEADLINE_MS / 1000} s, not reached: ${missing.join(', ')}`);
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  figures.secondsToPass = (Date.now() - started) / 1000;
  print(figures);

  // Stop must hang up cleanly and leave the page usable.
  await page.click('#stop-button');
  await page.waitForFunction(() => !window.echoTest.state.running && window.echoTest.pc === null, null, { timeout: 5000 });
  const errors = [...await page.evaluate(() => window.echoTest.state.errors), ...pageErrors];
  if (errors.length > 0) {
    console.log(`FAIL: errors after Stop: ${errors.join(' | ')}`);
    return 1;
  }
  console.log('PASS: echo with Chromium');
  return 0;
}

process.exitCode = await withChromium(run);
