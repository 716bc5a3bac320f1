// e2e-test: simulcast_chromium
// E2E (issue 19's second acceptance point): a Chromium simulcast publisher
// (three rids) in a line with two other Chromium occupants; the server
// answers simulcast, forwards one layer per subscriber (the highest by
// default) and honours `configure` (`max_height`). Three contexts driving
// web/partyline.js (tests/e2e/line_page.mjs), each user with a colour of its
// own:
//   1. alice creates a line and joins it signaling-only, then publishes a
//      SIMULCAST video, video only: a 1280x720, 30 fps canvas of her colour
//      with a frame counter (canvasVideoTrack at that size: Chromium sends
//      three layers only from >= 960x540 input), through LineCall.publish's
//      optional `sendEncodings` (web/line_call.js; its default is unchanged)
//      [{rid 'q', scaleResolutionDownBy 4}, {rid 'h', 2}, {rid 'f'}]. Her
//      offer must carry a=simulcast:send with the three rids (checked in
//      her local description; the server's answer's simulcast, rid and
//      extmap lines are printed);
//   2. bob and carol join through the line's token with their canvas
//      cameras (320x240) and microphones. Within 20 s every page decodes
//      the other two (> 30 frames, colour within 60 per channel of the
//      publisher's and nearest to it): alice's receivers are bob and carol;
//      no page has an error (harness.errors: a server `update` offer that
//      cannot be applied lands there, and fails the test at once) and on
//      every page each server offer was answered (the `negotiation` log's
//      'server-offer' and 'answer-sent' counts equal);
//   3. by default both bob and carol receive alice's high layer: frameWidth
//      >= HIGH_WIDTH (1280, or less when alice's own 'f' layer is narrower
//      now, e.g. "cpu"-limited: then 'f''s current width, as long as it is
//      wider than the 'q' layer) within 15 s;
//   4. bob sends `configure {session: alice, max_height: 180}` (success);
//      within 15 s his decoded frames of alice are <= 180 high and <= 320
//      wide (the 'q' layer), while carol, who sent nothing, still gets the
//      high layer;
//   5. bob sends `configure {session: alice, track: <the a=msid track id of
//      alice's video in his offer>, max_height: 360}`: within 15 s he gets
//      the middle layer (180 < height <= 360); carol still the high one;
//   6. bob sends `configure {session: alice, max_height: null}`: within
//      15 s he gets the high layer again;
//   7. bad `configure`s: an unknown session answers 404; max_height 0 and
//      "tall" answer 400; what bob receives is unchanged.
// Throughout, on failure: alice's per-rid outbound-rtp (rid, frameWidth x
// frameHeight, bytesSent, framesEncoded, fps, qualityLimitationReason,
// active) and every page's receivers are printed. At the end a table per
// page of what it receives (publisher, colour, frameWidth x frameHeight).
// PASSES when all of the above hold and no page had an uncaught error.
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py); PARTYLINE_URL is the page to open. Run alone: it
// measures which resolution arrives, and three encoders at 1280x720 beside
// a second test's load on two cores make Chromium lower its layers ("cpu").

import {
  check, colourWithin, expectOffersAnswered, failOnPageErrors, Failure, harnessErrors, highLayerWidth, nearestColour, pollUntil, receiversOf, runHarnessTest, SIMULCAST_ENCODINGS,
} from './line_page.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const STEP_MS = 15000;
const MEDIA_DEADLINE_MS = 20000;
const LAYER_DEADLINE_MS = 15000;
const MIN_FRAMES_DECODED = 30;
const COLOUR_TOLERANCE = 60;
const CAMERA = { width: 1280, height: 720, fps: 30 };
const HIGH_WIDTH = 1280;
const LOW_MAX = { width: 320, height: 180 };
const USERS = ['alice', 'bob', 'carol'];
const COLOURS = { alice: [220, 40, 40], bob: [40, 180, 40], carol: [40, 70, 220] };
const TONES = { alice: 440, bob: 660, carol: 880 };

// ---------------------------------------------------------------- reading the pages

const layersOf = (alice) => alice.evaluate(() => window.harness.outboundLayers('camera'));


function formatLayers(layers) {
  if (layers.length === 0) return 'no outbound-rtp yet';
  return layers.map((layer) => `rid ${layer.rid}: ${layer.frameWidth ?? '-'}x${layer.frameHeight ?? '-'} `
    + `bytesSent ${layer.bytesSent} framesEncoded ${layer.framesEncoded} fps ${layer.framesPerSecond ?? '-'} `
    + `limitation ${layer.qualityLimitationReason ?? '-'} active ${layer.active}`).join('; ');
}

async function printLayers(alice, label) {
  console.log(`alice's outbound-rtp per rid (${label}): ${formatLayers(await layersOf(alice))}`);
}

/** A page's receivers as a table: publisher, kind, mid, colour (nearest), size, frames / packets. */
function printTable(label, who, rows, names) {
  console.log(`  ${label}: ${who} receives`);
  for (const row of rows) {
    const what = row.kind === 'video'
      ? `rgb(${row.colour}) = ${nearestColour(row.colour, COLOURS) ?? '-'}, `
        + `${row.frameWidth ?? '-'}x${row.frameHeight ?? '-'}, framesDecoded ${row.framesDecoded}`
      : `packetsReceived ${row.packetsReceived}`;
    console.log(`    <- ${(names[row.session] ?? row.session).padEnd(6)} ${row.kind.padEnd(5)} mid ${row.mid} `
      + `${row.direction}${row.inStream ? '' : ' (not in the stream)'}: ${what}`);
  }
}

async function printTables(label, pages, names) {
  for (const [who, page] of Object.entries(pages)) printTable(label, who, await receiversOf(page), names);
}

// ---------------------------------------------------------------- checks

/** What `who`'s receivers lack to show each of `publishers` in its colour. */
function missingPublishers(who, rows, publishers, sessions) {
  const missing = [];
  for (const publisher of publishers) {
    const candidates = rows.filter((row) => row.session === sessions[publisher] && row.kind === 'video' && row.inStream
      && row.direction !== 'inactive');
    const showing = candidates.filter((row) => colourWithin(row.colour, COLOURS[publisher], COLOUR_TOLERANCE)
      && nearestColour(row.colour, COLOURS) === publisher && row.framesDecoded > MIN_FRAMES_DECODED);
    if (showing.length === 0) {
      missing.push(`${who} <- ${publisher}: no video receiver of that stream in rgb(${COLOURS[publisher]}) with > `
        + `${MIN_FRAMES_DECODED} frames (${candidates.map((row) => `mid ${row.mid} rgb(${row.colour}) `
          + `${row.framesDecoded} frames`).join(', ') || 'no receiver'})`);
    }
  }
  const strangers = rows.filter((row) => row.kind === 'video' && row.inStream
    && !publishers.some((publisher) => sessions[publisher] === row.session));
  for (const row of strangers) missing.push(`${who} receives an unexpected video stream ${row.session} (mid ${row.mid})`);
  return missing;
}


/** alice's video as `who` receives it now (the receiver of her stream's video track), or null. */
async function aliceVideoOn(page, sessions) {
  return (await receiversOf(page)).find((row) => row.session === sessions.alice && row.kind === 'video' && row.inStream)
    ?? null;
}

/**
 * Polls until, for each `{ who, want }` of `expectations`, `who` decodes
 * alice's video in the layer `want` ('high', 'middle', 'low') with frames
 * still coming; prints alice's layers and the receivers when it fails.
 */
async function expectLayers(step, pages, sessions, expectations) {
  const { alice } = pages;
  const started = Date.now();
  const before = {};
  for (const { who } of expectations) before[who] = (await aliceVideoOn(pages[who], sessions))?.framesDecoded ?? 0;
  let last = null;
  try {
    const { value } = await pollUntil(step, async () => {
      for (const [who, page] of Object.entries(pages)) await failOnPageErrors(who, page);
      const layers = await layersOf(alice);
      const seen = {};
      for (const { who } of expectations) seen[who] = await aliceVideoOn(pages[who], sessions);
      last = { layers, seen };
      return last;
    }, ({ layers, seen }) => {
      const high = highLayerWidth(layers, HIGH_WIDTH);
      const missing = [];
      for (const { who, want } of expectations) {
        const row = seen[who];
        const size = row ? `${row.frameWidth ?? '-'}x${row.frameHeight ?? '-'}` : 'no receiver of alice\'s video';
        if (!row || !(row.framesDecoded > before[who])) {
          missing.push(`${who}: no new frame of alice's video decoded (${size})`);
          continue;
        }
        const { frameWidth: width, frameHeight: height } = row;
        const ok = want === 'high' ? width >= high
          : want === 'low' ? height <= LOW_MAX.height && width <= LOW_MAX.width
            : height > LOW_MAX.height && height <= 360 && width < high;
        if (!ok) {
          const wanted = want === 'high' ? `frameWidth >= ${high}`
            : want === 'low' ? `<= ${LOW_MAX.width}x${LOW_MAX.height}` : 'frameHeight in (180, 360], narrower than the high layer';
          missing.push(`${who} decodes alice at ${size}, wants the ${want} layer (${wanted})`);
        }
      }
      return missing;
    }, { timeoutMs: LAYER_DEADLINE_MS });
    const figures = expectations.map(({ who, want }) => `${who} ${want} ${value.seen[who].frameWidth}x`
      + `${value.seen[who].frameHeight}`).join(', ');
    console.log(`${step}: after ${Date.now() - started} ms: ${figures}; alice's layers: ${formatLayers(value.layers)}`);
  } catch (error) {
    if (last) console.log(`${step}: alice's layers at the last poll: ${formatLayers(last.layers)}`);
    throw error;
  }
}

/** A `configure` request from `page`; resolves with the response, or `{ code, reason }` when refused. */
function configure(page, fields) {
  return page.evaluate(async (body) => {
    try {
      return await window.harness.client.request('configure', body);
    } catch (error) {
      return { refused: true, code: error.code ?? null, reason: error.reason ?? String(error.message ?? error) };
    }
  }, fields);
}

async function expectConfigured(page, fields) {
  const response = await configure(page, fields);
  console.log(`configure ${JSON.stringify(fields)} -> ${JSON.stringify(response)}`);
  check(!response.refused, `configure ${JSON.stringify(fields)} was refused: ${response.code} ${response.reason}`);
  check(response.response === undefined || response.response === 'success',
    `configure ${JSON.stringify(fields)}: response ${JSON.stringify(response)}`);
}

// ---------------------------------------------------------------- steps

async function run(pages) {
  const { alice, bob, carol } = pages;
  const sessions = {};
  for (const [who, page] of Object.entries(pages)) {
    sessions[who] = (await page.evaluate((name) => window.harness.connect(name), who)).session;
  }
  const names = Object.fromEntries(Object.entries(sessions).map(([who, session]) => [session, who]));

  // 1. alice's line, joined signaling-only; her simulcast video.
  const { lineId, token } = await alice.evaluate(() => window.harness.createLine());
  await alice.evaluate(({ id }) => window.harness.join(id, { media: false }), { id: lineId });
  const mids = await alice.evaluate(({ camera, rgb, encodings }) => window.harness.publishCamera({ ...camera, rgb,
    sendEncodings: encodings, key: 'camera' }), { camera: CAMERA, rgb: COLOURS.alice, encodings: SIMULCAST_ENCODINGS });
  console.log(`alice published ${mids.join(', ')} (a ${CAMERA.width}x${CAMERA.height}, ${CAMERA.fps} fps canvas of her `
    + `colour, sendEncodings ${JSON.stringify(SIMULCAST_ENCODINGS)})`);
  const sdp = await alice.evaluate(() => window.harness.sdpLines('^a=(simulcast|rid|extmap|mid)'));
  const offered = sdp.local.find((section) => section[0].startsWith('m=video')) ?? [];
  const answered = sdp.remote.find((section) => section[0].startsWith('m=video')) ?? [];
  console.log(`alice's offer, video: ${offered.join(' | ')}`);
  console.log(`the server's answer, video: ${answered.join(' | ')}`);
  const simulcast = offered.find((line) => line.startsWith('a=simulcast:send'));
  check(simulcast && /^a=simulcast:send q;h;f$/.test(simulcast)
    && ['q', 'h', 'f'].every((rid) => offered.includes(`a=rid:${rid} send`)),
  `alice's offer lacks a=simulcast:send q;h;f with three a=rid lines: ${offered.join(' | ')}`);
  await failOnPageErrors('alice', alice);

  // 2. bob and carol join with camera and microphone; everyone sees the other two.
  for (const who of ['bob', 'carol']) {
    await pages[who].evaluate(({ id, key }) => window.harness.join(id, { token: key }), { id: lineId, key: token });
  }
  const others = (who) => USERS.filter((user) => user !== who);
  const started = Date.now();
  for (const who of USERS) {
    const left = Math.max(1000, MEDIA_DEADLINE_MS - (Date.now() - started));
    await pollUntil(`${who} seeing the other two by colour`, async () => {
      await failOnPageErrors(who, pages[who]);
      return receiversOf(pages[who]);
    }, (rows) => missingPublishers(who, rows, others(who), sessions), { timeoutMs: left });
  }
  console.log(`every page decodes the other two in their colours after ${Date.now() - started} ms`);
  await expectOffersAnswered(pages, STEP_MS);
  await printLayers(alice, 'everyone in');
  await printTables('everyone in', pages, names);

  // 3. By default both receive the high layer.
  await expectLayers('by default', pages, sessions, [{ who: 'bob', want: 'high' }, { who: 'carol', want: 'high' }]);

  // 4. bob asks for at most 180 lines of alice's video; carol asks nothing.
  await expectConfigured(bob, { session: sessions.alice, max_height: 180 });
  await expectLayers('bob max_height 180', pages, sessions, [{ who: 'bob', want: 'low' }, { who: 'carol', want: 'high' }]);

  // 5. The same for one track: 360 lines, the middle layer.
  const { mid } = await aliceVideoOn(bob, sessions);
  const track = await bob.evaluate((wanted) => {
    const section = (window.harness.call.pc.remoteDescription?.sdp ?? '').split(/\r\n(?=m=)/)
      .find((each) => each.split('\r\n').includes(`a=mid:${wanted}`));
    return /\r\na=msid:\S+ (\S+)/.exec(section ?? '')?.[1] ?? null;
  }, mid);
  console.log(`alice's video track in the server's offer to bob (mid ${mid}): ${track} (video-<first 8 of her `
    + `session>: video-${sessions.alice.slice(0, 8)})`);
  check(track, `no a=msid track id for mid ${mid} in bob's remote description`);
  await expectConfigured(bob, { session: sessions.alice, track, max_height: 360 });
  await expectLayers('bob max_height 360 on her track', pages, sessions,
    [{ who: 'bob', want: 'middle' }, { who: 'carol', want: 'high' }]);

  // 6. The limit lifted.
  await expectConfigured(bob, { session: sessions.alice, max_height: null });
  await expectLayers('bob max_height null', pages, sessions, [{ who: 'bob', want: 'high' }, { who: 'carol', want: 'high' }]);

  // 7. Bad configure requests change nothing.
  const bad = [
    [{ session: '00000000-0000-4000-8000-000000000000', max_height: 180 }, 404], // well-formed, in no line
    [{ session: sessions.alice, max_height: 0 }, 400],
    [{ session: sessions.alice, max_height: 'tall' }, 400],
  ];
  for (const [fields, code] of bad) {
    const response = await configure(bob, fields);
    console.log(`configure ${JSON.stringify(fields)} -> ${JSON.stringify(response)}`);
    check(response.refused && response.code === code,
      `configure ${JSON.stringify(fields)}: expected ${code}, got ${JSON.stringify(response)}`);
  }
  await expectLayers('after the bad configures', pages, sessions,
    [{ who: 'bob', want: 'high' }, { who: 'carol', want: 'high' }]);

  await expectOffersAnswered(pages, STEP_MS);
  const errors = await harnessErrors(pages);
  check(errors.length === 0, `errors in the pages: ${errors.join(' | ')}`);
  await printLayers(alice, 'at the end');
  await printTables('at the end', pages, names);
}

async function onFailure(pages) {
  if (!pages.alice) return;
  const names = {};
  for (const [who, page] of Object.entries(pages)) {
    const state = await page.evaluate(() => ({
      session: window.harness.client?.sessionId ?? null,
      signaling: window.harness.call?.pc?.signalingState ?? null,
      connection: window.harness.call?.pc?.connectionState ?? null,
      transceivers: (window.harness.call?.pc?.getTransceivers() ?? [])
        .map((transceiver) => `${transceiver.mid}:${transceiver.receiver.track.kind}:${transceiver.currentDirection}`).join(' '),
      negotiation: window.harness.events('negotiation').map((entry) => entry.step).join(' -> '),
      errors: window.harness.errors,
      occupants: window.harness.occupants().map((occupant) => [occupant.session, occupant.user]),
    })).catch((error) => ({ error: error.message }));
    for (const [session, user] of state.occupants ?? []) names[session] = user;
    console.log(`${who}'s connection: ${JSON.stringify(state)}`);
  }
  await printLayers(pages.alice, 'at the failure').catch(() => {});
  await printTables('at the failure', pages, names).catch(() => {});
}

process.exitCode = await runHarnessTest({
  users: USERS, pageUrl: PAGE_URL, colours: COLOURS, tones: TONES, run,
  passMessage: 'a three-rid simulcast publisher and two subscribers: every update applied on all three pages, each '
    + 'sees the other two by colour; bob got the low layer at max_height 180, the middle at 360 on her track, the high '
    + 'one again at null, carol the high one throughout; bad configures refused',
  onFailure,
});
