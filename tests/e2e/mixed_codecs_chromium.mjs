// e2e-test: mixed_codecs_chromium
// E2E (issue 19, point 4: codec per stream): a line mixing codecs. Four
// Chromium contexts driving web/partyline.js (tests/e2e/line_page.mjs), each
// user with a canvas camera (320x240, 15 fps) of a colour of its own and a
// sine microphone:
//   - alice and bob publish video as Chromium does by default (VP8 first);
//   - carol is an H264-only device: before her first offer, her video
//     sender transceiver's codec preferences are H264 only (every H264 of
//     RTCRtpSender.getCapabilities, and rtx), through LineCall's
//     `onNewTransceiver` hook (web/line_call.js);
//   - dave can decode only VP8: every video transceiver a server offer
//     creates gets VP8-only (and rtx) codec preferences before his answer
//     (the same hook); his own camera is sent as usual (VP8).
// alice creates the line and joins; bob, carol, then dave join through its
// token, in that order.
//   1. What is sent: carol's offer's own video m-line lists only H264 (and
//      rtx) payload types and the server's answer to it chose H264; her
//      video sender's outbound-rtp codec (codecId -> mimeType) is
//      video/H264 with packets sent; alice's, bob's and dave's are video/VP8.
//      dave's hook ran on the server's offers, and every video m-line of his
//      answers that receives (recvonly, port not 0) lists only VP8 and rtx.
//   2. Within 25 s of dave's join: alice, bob and carol each decode every
//      other occupant's video (> 30 frames, colour within 60 per channel of
//      the publisher's and nearest to it); dave decodes alice and bob so.
//      From inbound-rtp codecs: alice and bob (and no one else asked)
//      receive carol's video as video/H264; alice's, bob's and dave's video
//      arrive as video/VP8 wherever they are decoded.
//   3. dave gets exactly one `stream_unavailable` event (docs/protocol.md):
//      line_id, session = carol's, track = the track id of carol's video (as
//      the server's offers to alice name it in a=msid), kind "video", codec
//      "H264", a non-empty reason; nobody gets any other such event. dave's
//      own entry in his `occupants` carries `cannot_receive`
//      [{session: carol, track, codec: "H264"}] and no other entry has one.
//   4. It settles: every page answered every server offer; then every
//      page decodes > 30 more frames of each publisher it showed in step 2
//      (within 15 s), after which dave got no further server offer since
//      step 3 (no renegotiation loop over the stream he cannot receive)
//      and still exactly one `stream_unavailable`; no page has an error
//      (harness.errors: a server offer that cannot be applied lands there).
// On failure, every page's negotiation steps, video codecs per transceiver,
// `stream_unavailable` events and the video m-lines (mid, direction,
// rtpmap, msid) of its current local and remote descriptions are printed.
// PASSES when all of the above hold and no page had an uncaught error.
//
// Run through run_e2e.sh (private network and PID namespace, server started
// by with_server.py, default configuration: up to 100 occupants per line);
// PARTYLINE_URL is the page to open.

import {
  check, colourWithin, expectOffersAnswered, failOnPageErrors, Failure, harnessErrors, nearestColour, negotiationOf, pollUntil, receiversOf, runHarnessTest,
} from './line_page.mjs';
import { canonical } from './test_util.mjs';

const PAGE_URL = process.env.PARTYLINE_URL ?? 'http://127.0.0.1:8088/';
const STEP_MS = 15000;
const MEDIA_DEADLINE_MS = 25000;
const MIN_FRAMES_DECODED = 30;
const COLOUR_TOLERANCE = 60;
const USERS = ['alice', 'bob', 'carol', 'dave'];
const COLOURS = { alice: [220, 40, 40], bob: [40, 180, 40], carol: [40, 70, 220], dave: [230, 200, 30] };
const TONES = { alice: 440, bob: 660, carol: 880, dave: 1100 };
/** What each user's own video is sent as. */
const SENDS = { alice: 'video/VP8', bob: 'video/VP8', carol: 'video/H264', dave: 'video/VP8' };
/** Whose video each user must decode (dave cannot decode carol's H264). */
const SHOWS = { alice: ['bob', 'carol', 'dave'], bob: ['alice', 'carol', 'dave'], carol: ['alice', 'bob', 'dave'],
  dave: ['alice', 'bob'] };
const JOIN_OPTIONS = { alice: {}, bob: {}, carol: { codecs: { send: ['video/H264'] } },
  dave: { codecs: { receive: ['video/VP8'] } } };

// ---------------------------------------------------------------- reading the pages

const codecsOf = (page) => page.evaluate(() => window.harness.videoCodecs());
const eventsOf = (page, event) => page.evaluate((name) => window.harness.events(name), event);

/**
 * The m-sections of the page's current local and remote descriptions as
 * { mid, port, kind, direction, payloads, rtpmap: {pt: 'NAME/rate'}, msid }.
 */
function sectionsOf(page) {
  return page.evaluate(() => {
    const parse = (sdp) => (sdp ?? '').split(/\r\n(?=m=)/).slice(1).map((section) => {
      const lines = section.split('\r\n');
      const [kind, port, , ...payloads] = lines[0].slice(2).split(' ');
      const value = (prefix) => lines.find((line) => line.startsWith(prefix))?.slice(prefix.length) ?? null;
      const rtpmap = {};
      for (const line of lines) {
        const match = /^a=rtpmap:(\d+) (\S+)/.exec(line);
        if (match) rtpmap[match[1]] = match[2];
      }
      return { mid: value('a=mid:'), port: Number(port), kind, payloads,
        direction: lines.find((line) => /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line))?.slice(2) ?? null,
        rtpmap, msid: value('a=msid:') };
    });
    const pc = window.harness.call?.pc;
    return { local: parse(pc?.localDescription?.sdp), remote: parse(pc?.remoteDescription?.sdp) };
  });
}

const codecNames = (section) => section.payloads.map((pt) => (section.rtpmap[pt] ?? pt).split('/')[0]);

async function printPage(who, page, names) {
  const name = (session) => (session === null ? 'own' : names[session] ?? session);
  console.log(`  ${who}: negotiation ${(await negotiationOf(page)).join(' -> ')}`);
  for (const row of await codecsOf(page)) {
    const out = row.outbound ? `sends ${row.outbound.codec?.mimeType ?? '?'} (${row.outbound.codec?.fmtp ?? ''}) `
      + `${row.outbound.packetsSent} packets ${row.outbound.framesEncoded} frames` : 'sends nothing';
    const inb = row.inbound ? `receives ${row.inbound.codec?.mimeType ?? '?'} ${row.inbound.packetsReceived} packets `
      + `${row.inbound.framesDecoded} frames` : 'receives nothing';
    console.log(`    video mid ${row.mid} ${row.direction} [${name(row.session)}]: ${out}; ${inb}`);
  }
  const { local, remote } = await sectionsOf(page);
  for (const [label, sections] of [['local', local], ['remote', remote]]) {
    for (const section of sections.filter((each) => each.kind === 'video')) {
      const codecs = section.payloads.map((pt) => `${pt} ${section.rtpmap[pt] ?? '?'}`).join(', ');
      console.log(`    ${label} m=video port ${section.port} mid ${section.mid} ${section.direction} msid `
        + `${section.msid ?? '-'}: ${codecs}`);
    }
  }
  for (const entry of await eventsOf(page, 'stream_unavailable')) {
    console.log(`    stream_unavailable: ${JSON.stringify(entry.message)}`);
  }
  for (const entry of await eventsOf(page, 'codec-preferences')) {
    console.log(`    codec preferences (${entry.origin}, mid ${entry.mid}): ${entry.codecs.join(', ')}`);
  }
}

// ---------------------------------------------------------------- checks

/** What `who`'s receivers lack to show each of `publishers` in its colour (more than `after` frames, if given). */
function missingPublishers(who, rows, publishers, sessions, after = {}) {
  const missing = [];
  for (const publisher of publishers) {
    const candidates = rows.filter((row) => row.session === sessions[publisher] && row.kind === 'video' && row.inStream
      && row.direction !== 'inactive');
    const floor = (after[publisher] ?? 0) + MIN_FRAMES_DECODED;
    const showing = candidates.filter((row) => colourWithin(row.colour, COLOURS[publisher], COLOUR_TOLERANCE)
      && nearestColour(row.colour, COLOURS) === publisher && row.framesDecoded > floor);
    if (showing.length === 0) {
      missing.push(`${who} <- ${publisher}: no video receiver of that stream in rgb(${COLOURS[publisher]}) with > `
        + `${floor} frames decoded (${candidates.map((row) => `mid ${row.mid} rgb(${row.colour}) `
          + `${row.framesDecoded} frames`).join(', ') || 'no receiver'})`);
    }
  }
  return missing;
}

/** Frames decoded of each publisher's video on a page (the most of its receivers). */
function framesByPublisher(rows, sessions) {
  const frames = {};
  for (const [who, session] of Object.entries(sessions)) {
    const counts = rows.filter((row) => row.session === session && row.kind === 'video').map((row) => row.framesDecoded);
    if (counts.length > 0) frames[who] = Math.max(...counts);
  }
  return frames;
}


/** The own (sending) video transceiver's codec row of a page, once it has sent packets. */
async function expectSending(who, page) {
  const { value } = await pollUntil(`${who} sending video`, async () => {
    await failOnPageErrors(who, page);
    return codecsOf(page);
  }, (rows) => {
    const own = rows.find((row) => row.session === null && row.outbound);
    if (!own) return [`${who}: no outbound-rtp for its video yet`];
    if (!(own.outbound.packetsSent > 0) || !own.outbound.codec) {
      return [`${who}: video outbound-rtp has ${own.outbound.packetsSent} packets, codec ${JSON.stringify(own.outbound.codec)}`];
    }
    return [];
  }, { timeoutMs: STEP_MS });
  return value.find((row) => row.session === null && row.outbound);
}

// ---------------------------------------------------------------- steps

async function run(pages) {
  const { alice, bob, carol, dave } = pages;
  const sessions = {};
  for (const [who, page] of Object.entries(pages)) {
    sessions[who] = (await page.evaluate((name) => window.harness.connect(name), who)).session;
  }
  const names = Object.fromEntries(Object.entries(sessions).map(([who, session]) => [session, who]));
  console.log(`sessions: ${JSON.stringify(sessions)}`);

  const { lineId, token } = await alice.evaluate(() => window.harness.createLine());
  let daveJoined = null;
  for (const who of USERS) {
    const options = { ...JOIN_OPTIONS[who], ...(who === 'alice' ? {} : { token }) };
    const response = await pages[who].evaluate(({ id, opts }) => window.harness.join(id, opts), { id: lineId, opts: options });
    check(response.media === 'server' || response.media === null,
      `${who}'s join: media ${JSON.stringify(response.media)}, expected "server"`);
    if (who === 'dave') daveJoined = Date.now();
    console.log(`${who} joined line ${lineId}${Object.keys(JOIN_OPTIONS[who]).length ? ` with ${JSON.stringify(JOIN_OPTIONS[who])}` : ''}`);
  }

  // 1. What each sends: carol H264 only, the others VP8.
  const carolPreferences = await eventsOf(carol, 'codec-preferences');
  check(carolPreferences.some((entry) => entry.origin === 'local'),
    `carol's hook set no codec preferences on her video sender: ${JSON.stringify(carolPreferences)}`);
  const carolOwn = await expectSending('carol', carol);
  const carolSections = await sectionsOf(carol);
  const offered = carolSections.local.find((section) => section.mid === carolOwn.mid);
  const answered = carolSections.remote.find((section) => section.mid === carolOwn.mid);
  check(offered && codecNames(offered).every((name) => name === 'H264' || name === 'rtx')
    && codecNames(offered).includes('H264'),
  `carol's offer's video m-line (mid ${carolOwn.mid}) lists other codecs than H264 and rtx: `
    + `${offered ? codecNames(offered).join(' ') : 'no such m-line'}`);
  check(answered && answered.port !== 0 && codecNames(answered)[0] === 'H264',
    `the server's answer to carol's video m-line (mid ${carolOwn.mid}) did not choose H264: `
    + `${answered ? `port ${answered.port}, ${codecNames(answered).join(' ')}` : 'no such m-line'}`);
  console.log(`carol offers ${codecNames(offered).join(' ')}; the server answered ${codecNames(answered).join(' ')}`);
  for (const who of USERS) {
    const own = who === 'carol' ? carolOwn : await expectSending(who, pages[who]);
    check(own.outbound.codec.mimeType === SENDS[who],
      `${who} sends its video as ${own.outbound.codec.mimeType} (${own.outbound.codec.fmtp}), expected ${SENDS[who]}`);
    console.log(`${who} sends ${own.outbound.codec.mimeType} ${own.outbound.codec.fmtp ?? ''} `
      + `(${own.outbound.packetsSent} packets so far)`);
  }

  // dave's hook restricts what he receives: his answers' receiving video m-lines are VP8 (and rtx) only.
  const { value: daveSections } = await pollUntil('dave answering a server offer with his hook applied', async () => {
    await failOnPageErrors('dave', dave);
    return { steps: await negotiationOf(dave), preferences: await eventsOf(dave, 'codec-preferences'),
      sections: await sectionsOf(dave) };
  }, ({ steps, preferences }) => {
    const missing = [];
    if (!steps.includes('answer-sent')) missing.push(`dave answered no server offer yet (${steps.join(' -> ')})`);
    if (!preferences.some((entry) => entry.origin === 'remote')) missing.push('dave\'s hook ran on no server-created transceiver');
    return missing;
  }, { timeoutMs: STEP_MS });
  const daveReceiving = daveSections.sections.local.filter((section) => section.kind === 'video'
    && section.direction === 'recvonly' && section.port !== 0);
  check(daveReceiving.length > 0, `dave's answer has no receiving video m-line: ${JSON.stringify(daveSections.sections.local)}`);
  for (const section of daveReceiving) {
    check(codecNames(section).every((name) => name === 'VP8' || name === 'rtx'),
      `dave's answer receives video mid ${section.mid} with ${codecNames(section).join(' ')}: his hook allows only VP8 and rtx`);
  }
  console.log(`dave's answer: ${daveReceiving.length} receiving video m-lines, each VP8 (and rtx) only`);

  // 2. Everyone sees whom it can decode, in colour; carol's video arrives as H264.
  for (const who of USERS) {
    const left = Math.max(1000, MEDIA_DEADLINE_MS - (Date.now() - daveJoined));
    await pollUntil(`${who} seeing ${SHOWS[who].join(', ')} by colour`, async () => {
      await failOnPageErrors(who, pages[who]);
      return receiversOf(pages[who]);
    }, (rows) => missingPublishers(who, rows, SHOWS[who], sessions), { timeoutMs: left });
  }
  console.log(`every page decodes the others it can in their colours ${Date.now() - daveJoined} ms after dave's join`);
  for (const who of USERS) {
    const rows = await codecsOf(pages[who]);
    for (const publisher of SHOWS[who]) {
      const decoding = rows.filter((row) => row.session === sessions[publisher] && row.inbound?.framesDecoded > 0);
      check(decoding.length > 0, `${who} has no receiver decoding ${publisher}'s video`);
      for (const row of decoding) {
        check(row.inbound.codec?.mimeType === SENDS[publisher],
          `${who} receives ${publisher}'s video (mid ${row.mid}) as ${row.inbound.codec?.mimeType}, expected ${SENDS[publisher]}`);
      }
      console.log(`${who} receives ${publisher}'s video as ${decoding[0].inbound.codec.mimeType} `
        + `${decoding[0].inbound.codec.fmtp ?? ''}`);
    }
  }

  // 3. dave is told, once, that carol's H264 video is not for him.
  const carolTrack = await alice.evaluate(({ carolSession }) => {
    const sections = (window.harness.call.pc.remoteDescription?.sdp ?? '').split(/\r\n(?=m=)/);
    const section = sections.find((each) => each.startsWith('m=video') && each.includes(`\r\na=msid:${carolSession} `));
    return /\r\na=msid:\S+ (\S+)/.exec(section ?? '')?.[1] ?? null;
  }, { carolSession: sessions.carol });
  check(carolTrack, 'no a=msid naming carol\'s video track in the server\'s offer to alice');
  console.log(`carol's video track, as the server's offer to alice names it: ${carolTrack}`);
  const { value: unavailable } = await pollUntil('dave\'s stream_unavailable event for carol\'s video', async () => {
    await failOnPageErrors('dave', dave);
    return eventsOf(dave, 'stream_unavailable');
  }, (entries) => (entries.length > 0 ? [] : ['no stream_unavailable event on dave\'s page']), { timeoutMs: STEP_MS });
  const event = unavailable[0].message;
  console.log(`dave got: ${JSON.stringify(event)}`);
  const wanted = { event: 'stream_unavailable', line_id: lineId, session: sessions.carol, track: carolTrack, kind: 'video',
    codec: 'H264' };
  const wrong = Object.entries(wanted).filter(([key, value]) => event[key] !== value)
    .map(([key, value]) => `${key} ${JSON.stringify(event[key])} (expected ${JSON.stringify(value)})`);
  if (!(typeof event.reason === 'string' && event.reason.length > 0)) wrong.push(`reason ${JSON.stringify(event.reason)}`);
  check(wrong.length === 0, `dave's stream_unavailable event: ${wrong.join(', ')}`);
  check(unavailable.length === 1, `dave got ${unavailable.length} stream_unavailable events, expected one: `
    + `${unavailable.map((entry) => JSON.stringify(entry.message)).join(' | ')}`);
  for (const who of ['alice', 'bob', 'carol']) {
    const others = await eventsOf(pages[who], 'stream_unavailable');
    check(others.length === 0, `${who} got stream_unavailable: ${others.map((entry) => JSON.stringify(entry.message)).join(' | ')}`);
  }
  const { value: occupants } = await pollUntil('dave\'s occupants entry with cannot_receive', async () => {
    await failOnPageErrors('dave', dave);
    return dave.evaluate(() => window.harness.occupants());
  }, (entries) => {
    const missing = [];
    const own = entries.find((entry) => entry.session === sessions.dave);
    const expected = canonical([{ session: sessions.carol, track: carolTrack, codec: 'H264' }]);
    if (!own) missing.push('dave is not in his own occupants');
    else if (own.cannot_receive === undefined || canonical(own.cannot_receive) !== expected) {
      missing.push(`dave's entry: cannot_receive ${JSON.stringify(own.cannot_receive)}, expected ${expected}`);
    }
    for (const entry of entries.filter((each) => each.session !== sessions.dave && 'cannot_receive' in each)) {
      missing.push(`${names[entry.session] ?? entry.session}'s entry has cannot_receive ${JSON.stringify(entry.cannot_receive)}`);
    }
    return missing;
  }, { timeoutMs: STEP_MS });
  console.log(`dave's occupants: ${JSON.stringify(occupants.map((entry) => ({ user: entry.user,
    ...(entry.cannot_receive ? { cannot_receive: entry.cannot_receive } : {}) })))}`);
  const aliceView = (await alice.evaluate(() => window.harness.occupants())).find((entry) => entry.session === sessions.dave);
  console.log(`dave's entry in alice's occupants: cannot_receive ${JSON.stringify(aliceView?.cannot_receive ?? null)}`);

  // 4. Settled: offers answered, media still flowing, no further offer to dave, no second event.
  const offers = await expectOffersAnswered(pages, STEP_MS);
  console.log(`server offers so far: ${JSON.stringify(offers)}`);
  const started = Date.now();
  const before = {};
  for (const who of USERS) before[who] = framesByPublisher(await receiversOf(pages[who]), sessions);
  await pollUntil('every page still decoding the others it shows', async () => {
    const rows = {};
    for (const who of USERS) {
      await failOnPageErrors(who, pages[who]);
      rows[who] = await receiversOf(pages[who]);
    }
    return rows;
  }, (rows) => USERS.flatMap((who) => missingPublishers(who, rows[who], SHOWS[who], sessions, before[who])),
  { timeoutMs: STEP_MS });
  console.log(`every page decoded > ${MIN_FRAMES_DECODED} more frames of each publisher it shows in ${Date.now() - started} ms`);
  const after = await expectOffersAnswered(pages, STEP_MS);
  check(after.dave === offers.dave, `dave got ${after.dave - offers.dave} more server offers after his stream_unavailable `
    + `(${offers.dave} -> ${after.dave}): ${(await negotiationOf(dave)).join(' -> ')}`);
  const finalEvents = await eventsOf(dave, 'stream_unavailable');
  check(finalEvents.length === 1, `dave got ${finalEvents.length} stream_unavailable events by the end, expected one`);
  const errors = await harnessErrors(pages);
  check(errors.length === 0, `errors in the pages: ${errors.join(' | ')}`);
  console.log(`server offers at the end: ${JSON.stringify(after)}`);
  for (const [who, page] of Object.entries(pages)) await printPage(who, page, names);
}

async function onFailure(pages) {
  const names = {};
  for (const page of Object.values(pages)) {
    const occupants = await page.evaluate(() => window.harness.occupants()).catch(() => []);
    for (const entry of occupants) names[entry.session] = entry.user;
  }
  for (const [who, page] of Object.entries(pages)) {
    const state = await page.evaluate(() => ({
      signaling: window.harness.call?.pc?.signalingState ?? null,
      connection: window.harness.call?.pc?.connectionState ?? null,
      errors: window.harness.errors,
    })).catch((error) => ({ error: error.message }));
    console.log(`${who}'s connection: ${JSON.stringify(state)}`);
    await printPage(who, page, names).catch((error) => console.log(`  ${who}: ${error.message}`));
    const rows = await receiversOf(page).catch(() => []);
    for (const row of rows.filter((each) => each.kind === 'video')) {
      console.log(`    receiver mid ${row.mid} [${names[row.session] ?? row.session}] ${row.direction}`
        + `${row.inStream ? '' : ' (not in the stream)'}: rgb(${row.colour}) = ${nearestColour(row.colour, COLOURS) ?? '-'}, `
        + `${row.framesDecoded} frames, ${row.packetsReceived} packets`);
    }
  }
}

process.exitCode = await runHarnessTest({
  users: USERS, pageUrl: PAGE_URL, colours: COLOURS, tones: TONES, run,
  passMessage: 'a line mixing codecs: carol sends H264, alice, bob and dave VP8; alice, bob and carol each see all the '
    + 'others by colour (carol\'s video received as H264), dave (VP8 only) sees alice and bob, got one stream_unavailable '
    + 'for carol\'s H264 video and cannot_receive in his occupants entry, and no further offer',
  onFailure,
});
