// e2e-test: screenshare_chromium
// E2E: client renegotiation (`update` offers from the client, "update" in
// docs/protocol.md) in headless Chromium, four contexts driving
// web/partyline.js (tests/e2e/line_page.mjs). Cameras are 320x240 canvases
// of each user's colour, microphones sines of each user's pitch; a "screen
// share" is a canvas of another colour published with
// addTransceiver(track, {direction: "sendonly", streams: [stream]}).
//   1. alice, bob and carol join a line with camera and microphone: each
//      decodes the others' cameras (> 30 frames, the colour of a frame
//      within 60 per channel of the publisher's and nearest to it).
//   2. alice publishes a screen share (magenta canvas, new stream) with an
//      `update` offer: bob and carol get a server `update` offer naming the
//      new track `video-<alice's 8>-<mid of alice's m-line>` (a=msid), and
//      then have two video receivers for alice's stream id, her camera (red)
//      and her screen (magenta), each > 30 frames decoded.
//   3. alice stops it (transceiver direction inactive, `update` offer): on
//      bob's and carol's pages the screen's transceiver turns
//      currentDirection `inactive` and alice's camera keeps flowing (> 30
//      more frames decoded after that).
//   4. dave joins signaling-only (the others' `occupants` show him with
//      "media": "none"), then publishes a canvas of his colour and a sine
//      microphone with his first `update` offer: his `occupants` entry
//      becomes "media": "server" and connected, alice, bob and carol decode
//      his colour and receive his audio (packetsReceived > 100), and he
//      receives the three cameras through server offers.
//   5. Glare: bob holds his answers to server offers
//      (LineCall.holdServerOffers); alice publishes her screen again, so a
//      server offer to bob is outstanding; then bob publishes a screen of
//      his own (cyan). His offer must meet 409, roll back, answer the
//      server's offer, and offer again: the order of bob's negotiation steps
//      is printed and checked. Then alice, carol and dave decode bob's cyan
//      screen and bob decodes alice's magenta one.
// Prints per step, page and stream: frames decoded, packets, colours.
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py); PARTYLINE_URL is the page to open.

import {
  check, colourWithin, harnessErrors, nearestColour, pollUntil, printConnections, runHarnessTest,
} from './line_page.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const STEP_MS = 15000;
const MEDIA_DEADLINE_MS = 20000;
const MIN_FRAMES_DECODED = 30;
const MIN_AUDIO_PACKETS = 100;
const COLOUR_TOLERANCE = 60;
const USERS = ['alice', 'bob', 'carol', 'dave'];
/** Cameras (by user) and screens: six colours far enough apart for VP8's shifts. */
const COLOURS = {
  alice: [220, 40, 40], bob: [40, 180, 40], carol: [40, 70, 220], dave: [230, 200, 30],
  'alice-screen': [210, 40, 210], 'bob-screen': [40, 200, 210],
};
const TONES = { alice: 440, bob: 660, carol: 880, dave: 1100 };

// ---------------------------------------------------------------- checks

/**
 * What is missing for `rows` (a page's receivers) to show each expected
 * stream: `{ session, colour }` for video (a receiving transceiver of that
 * session, track in its stream, > MIN_FRAMES_DECODED frames beyond
 * `baseline[mid]`, its colour `colour`'s), `{ session, audio: true }` for
 * audio (> MIN_AUDIO_PACKETS packets).
 */
function missingStreams(who, rows, expected, baseline = {}) {
  const missing = [];
  for (const want of expected) {
    const candidates = rows.filter((row) => row.session === want.session && row.inStream
      && row.kind === (want.audio ? 'audio' : 'video') && row.direction !== 'inactive');
    if (want.audio) {
      const best = Math.max(-1, ...candidates.map((row) => row.packetsReceived - (baseline[row.mid] ?? 0)));
      if (!(best > MIN_AUDIO_PACKETS)) missing.push(`${who} <- ${want.label}: ${best} audio packets`);
      continue;
    }
    const showing = candidates.filter((row) => colourWithin(row.colour, COLOURS[want.colour], COLOUR_TOLERANCE)
      && nearestColour(row.colour, COLOURS) === want.colour);
    const frames = Math.max(-1, ...showing.map((row) => row.framesDecoded - (baseline[row.mid] ?? 0)));
    if (!(frames > MIN_FRAMES_DECODED)) {
      missing.push(`${who} <- ${want.label}: no receiver of that stream showing rgb(${COLOURS[want.colour]}) with `
        + `> ${MIN_FRAMES_DECODED} frames (${candidates.map((row) => `mid ${row.mid} rgb(${row.colour}) `
          + `${row.framesDecoded - (baseline[row.mid] ?? 0)} frames`).join(', ') || 'no receiver'})`);
    }
  }
  return missing;
}

function printRows(step, who, rows, names) {
  for (const row of rows) {
    const figures = row.kind === 'video'
      ? `framesDecoded ${row.framesDecoded}, rgb(${row.colour}) = ${nearestColour(row.colour, COLOURS)}`
      : `packetsReceived ${row.packetsReceived}`;
    console.log(`  [${step}] ${who} <- ${names[row.session] ?? row.session} mid ${row.mid} ${row.kind} `
      + `${row.direction}${row.inStream ? '' : ' (not in the stream)'}: ${figures}`);
  }
}

/** Polls every page in `expected` until it shows its streams; prints the figures. */
async function expectStreams(step, pages, expected, names, baselines = {}) {
  const started = Date.now();
  for (const [who, wanted] of Object.entries(expected)) {
    const left = Math.max(1000, MEDIA_DEADLINE_MS - (Date.now() - started));
    const { value } = await pollUntil(`${step}`, () => pages[who].evaluate(() => window.harness.receivers()),
      (rows) => missingStreams(who, rows, wanted, baselines[who]), { timeoutMs: left });
    printRows(step, who, value, names);
  }
  console.log(`${step}: every page shows its streams after ${Date.now() - started} ms`);
}

/** Frames and packets per mid on a page now, a baseline for growth. */
async function baselineOf(page) {
  const rows = await page.evaluate(() => window.harness.receivers());
  return Object.fromEntries(rows.map((row) => [row.mid, row.kind === 'video' ? row.framesDecoded : row.packetsReceived]));
}

async function expectOccupants(pages, wanted) {
  const text = Object.entries(wanted).map(([user, media]) => `${user}:${media}:connected`).sort().join(', ');
  for (const [who, page] of Object.entries(pages)) {
    await pollUntil(`${who}'s occupants`, () => page.evaluate(() => window.harness.occupants()), (occupants) => {
      const shown = occupants.map((occupant) => `${occupant.user}:${occupant.media}:${occupant.state}`).sort().join(', ');
      return shown === text ? [] : [`expected ${text}, got ${shown}`];
    }, { timeoutMs: STEP_MS });
  }
  console.log(`occupants on every page: ${text}`);
}

const updateCount = (page) => page.evaluate(() => window.harness.events('update').length);

// ---------------------------------------------------------------- steps

async function run(pages) {
  const { alice, bob, carol, dave } = pages;
  const sessions = {};
  for (const [who, page] of Object.entries(pages)) sessions[who] = (await page.evaluate((name) => window.harness.connect(name), who)).session;
  const names = Object.fromEntries(Object.entries(sessions).map(([who, session]) => [session, who]));
  const camera = (who) => ({ session: sessions[who], colour: who, label: `${who}'s camera` });
  const screen = (who) => ({ session: sessions[who], colour: `${who}-screen`, label: `${who}'s screen` });
  const audio = (who) => ({ session: sessions[who], audio: true, label: `${who}'s microphone` });

  // 1. Three occupants with camera and microphone.
  const { lineId, token } = await alice.evaluate(() => window.harness.createLine());
  for (const who of ['alice', 'bob', 'carol']) {
    await pages[who].evaluate(({ id, key }) => window.harness.join(id, { token: key }), { id: lineId, key: token });
  }
  const three = { alice, bob, carol };
  await expectOccupants(three, { alice: 'server', bob: 'server', carol: 'server' });
  await expectStreams('three joined', pages, {
    alice: [camera('bob'), camera('carol')], bob: [camera('alice'), camera('carol')], carol: [camera('alice'), camera('bob')],
  }, names);

  // 2. alice shares her screen.
  const updatesBefore = { bob: await updateCount(bob), carol: await updateCount(carol) };
  const screenMids = await alice.evaluate((rgb) => window.harness.publish({ rgb, key: 'screen' }), COLOURS['alice-screen']);
  const screenMid = screenMids[0].split(':')[0];
  const screenTrackId = `video-${sessions.alice.slice(0, 8)}-${screenMid}`;
  console.log(`alice published her screen on mid ${screenMid}: the others should get track ${screenTrackId}`);
  await expectStreams('alice shares her screen', pages, {
    bob: [camera('alice'), screen('alice')], carol: [camera('alice'), screen('alice')],
  }, names);
  const screenReceiverMid = {};
  for (const who of ['bob', 'carol']) {
    const page = pages[who];
    const sdps = await page.evaluate(() => window.harness.events('update').map((entry) => entry.message.jsep.sdp));
    check(sdps.length > updatesBefore[who], `${who} should have got a server update offer for alice's screen`);
    check(sdps.slice(updatesBefore[who]).some((sdp) => sdp.includes(`a=msid:${sessions.alice} ${screenTrackId}`)),
      `${who}'s server offer should carry a=msid:${sessions.alice} ${screenTrackId}`);
    const rows = await page.evaluate(() => window.harness.receivers());
    const aliceVideo = rows.filter((row) => row.session === sessions.alice && row.kind === 'video' && row.inStream);
    check(aliceVideo.length === 2, `${who} should have two video receivers for alice's stream: ${JSON.stringify(aliceVideo)}`);
    screenReceiverMid[who] = aliceVideo.find((row) => nearestColour(row.colour, COLOURS) === 'alice-screen').mid;
    console.log(`${who}: alice's stream has two video tracks (${aliceVideo.map((row) => `mid ${row.mid} ${row.trackId}`).join(', ')}); `
      + `${sdps.length - updatesBefore[who]} server offer(s) for it`);
  }

  // 3. alice stops sharing: the others' m-line goes inactive, her camera flows on.
  const directions = await alice.evaluate(() => window.harness.unpublish('screen'));
  console.log(`alice stopped her screen: her transceiver ${directions.join(', ')}`);
  for (const who of ['bob', 'carol']) {
    const mid = screenReceiverMid[who];
    await pollUntil(`${who}: alice's screen m-line inactive`, () => pages[who].evaluate(() => window.harness.receivers()),
      (rows) => {
        const row = rows.find((candidate) => candidate.mid === mid);
        return row?.direction === 'inactive' ? [] : [`mid ${mid} is ${row?.direction}`];
      }, { timeoutMs: STEP_MS });
    console.log(`${who}: alice's screen transceiver (mid ${mid}) is inactive`);
  }
  const afterStop = { bob: await baselineOf(bob), carol: await baselineOf(carol) };
  await expectStreams('alice stopped sharing', pages, { bob: [camera('alice')], carol: [camera('alice')] }, names, afterStop);

  // 4. dave joins signaling-only, then publishes.
  const joined = await dave.evaluate(({ id, key }) => window.harness.join(id, { token: key, media: false }), { id: lineId, key: token });
  check(joined.media === 'none', `dave's signaling-only join should answer "media": "none": ${JSON.stringify(joined)}`);
  await expectOccupants(pages, { alice: 'server', bob: 'server', carol: 'server', dave: 'none' });
  const daveMids = await dave.evaluate(({ rgb, hz }) => window.harness.publish({ rgb, hz, key: 'camera' }),
    { rgb: COLOURS.dave, hz: TONES.dave });
  console.log(`dave published (his first update offer) on ${daveMids.join(', ')}`);
  await expectOccupants(pages, { alice: 'server', bob: 'server', carol: 'server', dave: 'server' });
  await expectStreams('dave publishes', pages, {
    alice: [camera('dave'), audio('dave')], bob: [camera('dave'), audio('dave')], carol: [camera('dave'), audio('dave')],
    dave: [camera('alice'), camera('bob'), camera('carol')],
  }, names);
  check(await updateCount(dave) > 0, 'dave should receive the others through server update offers');

  // 5. Glare: a server offer to bob is outstanding when bob offers.
  const release = await bob.evaluate(() => {
    window.releaseHeld = window.harness.call.holdServerOffers();
    return true;
  });
  check(release, 'bob holds server offers');
  const heldBefore = await bob.evaluate(() => window.harness.events('negotiation').length);
  await alice.evaluate((rgb) => window.harness.publish({ rgb, key: 'screen-again' }), COLOURS['alice-screen']);
  await pollUntil('bob: a held server offer for alice\'s screen',
    () => bob.evaluate(() => window.harness.events('negotiation')),
    (steps) => (steps.slice(heldBefore).some((step) => step.step === 'server-offer' && step.held) ? [] : ['none yet']),
    { timeoutMs: STEP_MS });
  console.log('bob holds a server offer (alice shares her screen again); bob now publishes his screen');
  let published;
  try {
    published = await bob.evaluate((rgb) => window.harness.publish({ rgb, key: 'screen' }), COLOURS['bob-screen']);
  } finally {
    await bob.evaluate(() => window.releaseHeld());
  }
  const steps = (await bob.evaluate(() => window.harness.events('negotiation'))).slice(heldBefore);
  const order = steps.map((step) => step.step + (step.code ? ` ${step.code}` : '') + (step.held ? ' (held)' : ''));
  console.log(`bob's negotiation, in order: ${order.join(' -> ')}; published ${published.join(', ')}`);
  const wanted = ['server-offer (held)', 'offer-sent', 'refused 409', 'rollback', 'answer-sent', 'offer-sent', 'answer-applied'];
  const firstOffer = order.indexOf('offer-sent');
  check(firstOffer > 0 && JSON.stringify(order.slice(0, wanted.length)) === JSON.stringify(wanted),
    `bob's steps should be ${wanted.join(' -> ')} (the glare path), were ${order.join(' -> ')}`);
  await expectStreams('bob shares his screen after glare', pages, {
    alice: [screen('bob'), camera('bob')], carol: [screen('bob'), camera('bob')], dave: [screen('bob'), camera('bob')],
    bob: [screen('alice'), camera('alice'), camera('dave')],
  }, names);

  const errors = await harnessErrors(pages);
  check(errors.length === 0, `the pages report errors: ${errors.join(' | ')}`);
}


process.exitCode = await runHarnessTest({
  users: USERS, pageUrl: PAGE_URL, colours: COLOURS, tones: TONES, run,
  passMessage: 'screen share, signaling-only then publishing, and glare, in Chromium', onFailure: printConnections,
});
