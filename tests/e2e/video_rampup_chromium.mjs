// e2e-measurement: video_rampup_chromium (run by name: tests/e2e/run_e2e.sh video_rampup_chromium)
// E2E (issue 19's first acceptance point): a Chromium publisher of 1280x720
// video in a line ramps up quickly, because the server gives its send-side
// bandwidth estimate the feedback it needs (transport-wide congestion
// control: the transport-wide sequence number and transport-cc feedback
// every 100 ms) and a start for it (media.start_bitrate_kbps, 1000 by
// default: x-google-start-bitrate in the answer's VP8 fmtp). Two Chromium
// contexts driving web/partyline.js (tests/e2e/line_page.mjs):
//   1. alice creates a line and joins it signaling-only; bob joins it with
//      his camera (a 320x240 canvas) and microphone;
//   2. alice publishes a 1280x720, 30 fps video source with detail
//      (window.detailedVideoTrack: seeded noise panned under a moving
//      gradient), video only, with an `update` offer. Not Chromium's own
//      fake camera (window.fakeCameraTrack): its picture is too simple to
//      need 2 Mbit/s (sent at 1280x720 with targetBitrate 2.5 Mbit/s and
//      limitation "none", it produced about 1.1 Mbit/s);
//   3. from the moment alice's outbound video first has bytesSent > 0
//      (t = 0), her video sender's `outbound-rtp` stats are sampled every
//      500 ms for 10 s: bytesSent, frameWidth x frameHeight,
//      qualityLimitationReason, targetBitrate, framesEncoded (and the
//      selected pair's availableOutgoingBitrate, the estimate itself). The
//      send bitrate at a sample is the bytesSent delta over the last 1 s
//      window (from the latest sample about 1 s older, 900 ms at least, by
//      the stats' own timestamps). getStats' bytesSent counts RTP payload
//      only: RTP headers and padding (headerBytesSent) are left out, so
//      this is the media the encoder produced, not the wire rate.
// PASSES when, within those 10 s, some 1 s window reaches >= 2,000,000
// bit/s AND some sample shows frameWidth >= 1280, and bob decodes alice's
// video (inbound framesDecoded > 0 and still increasing after the window;
// his decoded frameWidth is printed). The whole timeline is printed either
// way; a failure says which condition failed, and whether the estimate or
// the encoder held it back.
//
// Measured 2026-12-07 (Chromium 156, this test's flow):
//   - without transport-cc (the server before it): "bandwidth"-limited
//     throughout, 543 kbit/s at 640x360 after 10 s (estimate 612 kbit/s);
//   - transport-cc, no start bitrate: the estimate reaches 3.9 Mbit/s
//     within 0.5 s in most runs, but Chromium's encoder chose 640x360 from
//     its 300 kbit/s start and stays there for more than 10 s (targetBitrate
//     capped at 1.7 Mbit/s, Chromium's most for that size);
//   - transport-cc and a start of 1000 kbit/s: 1280x720 from the first
//     frame, 2.0-2.5 Mbit/s from the second second.
// Not gating (run_e2e.sh's `measurements`, not run by scripts/test): in the
// fresh-clone CI run of 2026-12-07 it failed, 1.83 Mbit/s at most: the
// estimate started at 1000 kbit/s and grew at 8 %/s for 10 s, as if
// Chromium's first bandwidth probe had not taken; 4 of 4 runs passed
// locally that day (and one more failed alike in an early, uncommitted
// variant). The likely cause: arrival times are taken when the worker reads
// each packet, and libnice reads a socket's queue in batches, so a probe
// cluster that waited in the socket looks as if it arrived at once, which
// libwebrtc discards as an invalid probe. Kernel receive timestamps in the
// server's own receive loop (issue 18) would remove it.
//
// Why video only: with a microphone in the same PeerConnection, Chromium
// 156 starts this source at 960x540 instead, whatever the start bitrate
// (1000, 2500, 3000 and 5000 kbit/s tried, the hint on the video codec
// alone or on Opus too), its targetBitrate capped at 2 Mbit/s (Chromium's
// most for 960x540) with "bandwidth" as the reason while the estimate was
// 3.4-5.7 Mbit/s, and it did not move up within 10 s. That is the
// encoder's choice (issue 19's note), not the estimate's, and no hint the
// server can give changed it.
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py); PARTYLINE_URL is the page to open. Run alone: it
// measures bitrate and encoder resolution, which a second test's CPU load on
// two cores distorts.

import { check, Failure, harnessErrors, pollUntil, printConnections, runHarnessTest } from './line_page.mjs';
import { cpuSeconds } from './test_util.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const STEP_MS = 15000;
const CAMERA = { width: 1280, height: 720, fps: 30 };
/** The acceptance point: within WINDOW_MS of the first byte, >= MIN_BITRATE and >= MIN_WIDTH. */
const WINDOW_MS = 10000;
const MIN_BITRATE = 2000000;
const MIN_WIDTH = 1280;
const SAMPLE_MS = 500;
const RATE_WINDOW_MS = 1000;
/**
 * The stats' timestamps of reads due 1 s apart differ by a few ms either
 * way; a window as short as 900 ms still counts as "the last second"
 * (bytes over its own duration, so no bias, only a little more noise).
 */
const RATE_WINDOW_SLACK_MS = 100;
const SAMPLE_EARLY_MS = 40;
const USERS = ['alice', 'bob'];
const COLOURS = { alice: [220, 40, 40], bob: [40, 180, 40] };
const TONES = { alice: 440, bob: 660 };

// ---------------------------------------------------------------- timeline

/**
 * Each sample's send bitrate over the last RATE_WINDOW_MS: the bytesSent
 * delta from the latest earlier sample about that much older (null in the
 * first second).
 */
function withBitrates(samples) {
  return samples.map((sample, index) => {
    let earlier = null;
    for (let back = index - 1; back >= 0; back -= 1) {
      if (sample.t - samples[back].t >= RATE_WINDOW_MS - RATE_WINDOW_SLACK_MS) {
        earlier = samples[back];
        break;
      }
    }
    const bitrate = earlier ? ((sample.bytesSent - earlier.bytesSent) * 8 * 1000) / (sample.t - earlier.t) : null;
    return { ...sample, bitrate, windowMs: earlier ? sample.t - earlier.t : null };
  });
}

const kbps = (bits) => (bits === null || bits === undefined ? '-' : String(Math.round(bits / 1000)));

function printTimeline(timeline) {
  console.log('alice\'s video outbound-rtp (t from the first byte sent; kbps over the last >= 1 s of bytesSent, '
    + 'payload only: RTP headers and padding excluded as getStats reports them):');
  console.log('  t (ms)   kbps  window   size        limitation  targetBitrate  estimate  framesEncoded  fps  '
    + 'headerBytesSent');
  for (const row of timeline) {
    console.log(`  ${String(Math.round(row.t)).padStart(6)} ${kbps(row.bitrate).padStart(6)}  `
      + `${(row.windowMs === null ? '-' : `${Math.round(row.windowMs)}`).padStart(6)}   `
      + `${`${row.frameWidth ?? '-'}x${row.frameHeight ?? '-'}`.padEnd(10)}  ${String(row.qualityLimitationReason ?? '-').padEnd(10)}  `
      + `${kbps(row.targetBitrate).padStart(13)}  ${kbps(row.availableOutgoingBitrate).padStart(8)}  `
      + `${String(row.framesEncoded).padStart(13)}  ${String(row.framesPerSecond ?? '-').padStart(3)}  `
      + `${row.headerBytesSent}`);
  }
}

// ---------------------------------------------------------------- steps

const readOutbound = (page) => page.evaluate(() => window.harness.outboundVideo('camera'));

/** The video m-section of the answer alice's offer got: what feedback the server negotiated. */
async function printNegotiatedFeedback(alice) {
  const lines = await alice.evaluate(() => {
    const sdp = window.harness.call.pc.remoteDescription?.sdp ?? '';
    const video = sdp.split(/\r\n(?=m=)/).filter((section) => section.startsWith('m=video'));
    return video.flatMap((section) => section.split('\r\n')
      .filter((line) => /^a=(rtcp-fb|extmap|mid|sendonly|recvonly|sendrecv|inactive)/.test(line)));
  });
  console.log(`the server's answer, video m-sections: ${lines.join(' | ')}`);
  const text = lines.join('\n');
  console.log(`  transport-cc feedback: ${/transport-cc/.test(text) ? 'yes' : 'no'}, `
    + `transport-wide-cc extension: ${/transport-wide-cc/.test(text) ? 'yes' : 'no'}, `
    + `goog-remb: ${/goog-remb/.test(text) ? 'yes' : 'no'}`);
}

async function run(pages) {
  const { alice, bob } = pages;
  const sessions = {};
  for (const [who, page] of Object.entries(pages)) {
    sessions[who] = (await page.evaluate((name) => window.harness.connect(name), who)).session;
  }

  // 1. alice's line; she joins signaling-only, bob with his canvas camera.
  const { lineId, token } = await alice.evaluate(() => window.harness.createLine());
  await alice.evaluate(({ id }) => window.harness.join(id, { media: false }), { id: lineId });
  await bob.evaluate(({ id, key }) => window.harness.join(id, { token: key }), { id: lineId, key: token });

  // 2. alice publishes the 1280x720 camera, video only (see the header).
  const mids = await alice.evaluate((camera) => window.harness.publishCamera({ ...camera, detailed: true, hz: null,
    key: 'camera' }), CAMERA);
  console.log(`alice published ${mids.join(', ')} (detailedVideoTrack at ${CAMERA.width}x${CAMERA.height}, `
    + `${CAMERA.fps} fps)`);
  await printNegotiatedFeedback(alice);

  // 3. t = 0 at the first sample with bytes sent; then a sample every SAMPLE_MS.
  const { value: first } = await pollUntil('alice\'s first video bytes sent', () => readOutbound(alice),
    (row) => (row && row.bytesSent > 0 ? [] : [`bytesSent ${row?.bytesSent ?? 'no outbound-rtp yet'}`]),
    { timeoutMs: STEP_MS, pollMs: 50 });
  const startedAt = Date.now();
  console.log(`alice's video source: ${first.sourceWidth}x${first.sourceHeight}`);
  const cpuBefore = await cpuSeconds();
  const samples = [{ ...first, t: 0 }];
  // Reads due every SAMPLE_MS of the wall clock from t = 0 (a little early,
  // so that the one due at WINDOW_MS is still inside it); t itself is from
  // the stats' own timestamps. Sampled up to the first one past WINDOW_MS.
  for (let index = 1; samples.at(-1).t <= WINDOW_MS; index += 1) {
    const due = startedAt + index * SAMPLE_MS - SAMPLE_EARLY_MS;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
    const row = await readOutbound(alice);
    samples.push({ ...row, t: row.timestamp - first.timestamp });
  }
  const cpuAfter = await cpuSeconds();
  const all = withBitrates(samples);
  printTimeline(all);
  const timeline = all.filter((row) => row.t <= WINDOW_MS); // what the acceptance point judges
  const wall = (cpuAfter.at - cpuBefore.at) / 1000;
  const last = samples.at(-1);
  console.log(`CPU during the ${wall.toFixed(1)} s: chromium ${((cpuAfter.chromium - cpuBefore.chromium) / wall).toFixed(2)} `
    + `cores, partyline ${((cpuAfter.partyline - cpuBefore.partyline) / wall).toFixed(2)} cores; alice's encoder`
    + `${last.encoderImplementation ? ` (${last.encoderImplementation})` : ''}: `
    + `totalEncodeTime ${last.totalEncodeTime?.toFixed(2) ?? '?'} s for ${last.framesEncoded} frames; `
    + `qualityLimitationDurations ${JSON.stringify(last.qualityLimitationDurations)}; `
    + `retransmittedBytesSent ${last.retransmittedBytesSent}, nackCount ${last.nackCount}, pliCount ${last.pliCount}`);

  // bob decodes alice's video: framesDecoded > 0 and increasing.
  const aliceVideo = async () => (await bob.evaluate(() => window.harness.receivers()))
    .find((row) => row.session === sessions.alice && row.kind === 'video' && row.inStream) ?? null;
  const { value: seen } = await pollUntil('bob decoding alice\'s video', aliceVideo,
    (row) => (row?.framesDecoded > 0 ? [] : [`bob's receiver of alice's video: ${JSON.stringify(row)}`]),
    { timeoutMs: STEP_MS });
  const { value: later } = await pollUntil('bob still decoding alice\'s video', aliceVideo,
    (row) => (row?.framesDecoded > seen.framesDecoded ? [] : [`framesDecoded stays ${seen.framesDecoded}`]),
    { timeoutMs: STEP_MS });
  console.log(`bob decodes alice's video: framesDecoded ${seen.framesDecoded} -> ${later.framesDecoded}, `
    + `frameWidth ${later.frameWidth} (${later.frameWidth}x${later.frameHeight})`);

  const errors = await harnessErrors(pages);
  check(errors.length === 0, `errors in the pages: ${errors.join(' | ')}`);

  // The acceptance point.
  const fastest = timeline.reduce((best, row) => (row.bitrate !== null && row.bitrate > (best?.bitrate ?? -1) ? row : best),
    null);
  const widest = timeline.reduce((best, row) => ((row.frameWidth ?? 0) > (best?.frameWidth ?? -1) ? row : best), null);
  const rateAt = timeline.find((row) => row.bitrate !== null && row.bitrate >= MIN_BITRATE);
  const widthAt = timeline.find((row) => (row.frameWidth ?? 0) >= MIN_WIDTH);
  console.log(`highest 1 s bitrate: ${kbps(fastest?.bitrate)} kbit/s at t = ${Math.round(fastest?.t ?? 0)} ms; `
    + `widest frame: ${widest?.frameWidth ?? '-'} px at t = ${Math.round(widest?.t ?? 0)} ms`);
  const failed = [];
  if (!rateAt) {
    failed.push(`no 1 s window reached ${MIN_BITRATE / 1e6} Mbit/s within ${WINDOW_MS / 1000} s `
      + `(at most ${kbps(fastest?.bitrate)} kbit/s)`);
  }
  if (!widthAt) {
    failed.push(`frameWidth never reached ${MIN_WIDTH} within ${WINDOW_MS / 1000} s (at most ${widest?.frameWidth ?? '-'})`);
  }
  if (failed.length > 0) {
    // Which side held it back: the estimate, or the encoder despite it.
    const estimateAt = timeline.find((row) => (row.availableOutgoingBitrate ?? 0) >= MIN_BITRATE);
    const last = timeline.at(-1);
    console.log(estimateAt
      ? `the send-side estimate reached ${kbps(estimateAt.availableOutgoingBitrate)} kbit/s at t = `
        + `${Math.round(estimateAt.t)} ms, yet the encoder sent ${last.frameWidth}x${last.frameHeight} with targetBitrate `
        + `${kbps(last.targetBitrate)} kbit/s (limitation ${last.qualityLimitationReason}) at t = ${Math.round(last.t)} ms`
      : `the send-side estimate stayed under ${kbps(MIN_BITRATE)} kbit/s (at most `
        + `${kbps(Math.max(...timeline.map((row) => row.availableOutgoingBitrate ?? 0)))} kbit/s)`);
    throw new Failure(`slow ramp-up: ${failed.join('; ')}`);
  }
  console.log(`${MIN_BITRATE / 1e6} Mbit/s at t = ${Math.round(rateAt.t)} ms, ${MIN_WIDTH} px wide at `
    + `t = ${Math.round(widthAt.t)} ms`);
}

process.exitCode = await runHarnessTest({
  users: USERS, pageUrl: PAGE_URL, colours: COLOURS, tones: TONES, run,
  passMessage: `alice's 1280x720 video reached ${MIN_BITRATE / 1e6} Mbit/s and ${MIN_WIDTH} px within `
    + `${WINDOW_MS / 1000} s, and bob decoded it`,
  onFailure: printConnections,
});
