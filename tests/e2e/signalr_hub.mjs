// e2e-test: signalr_hub
// Seed 000's SignalR WebRtcHub with the official @microsoft/signalr client
// in Node (docs/compat.md, "Seed 000"): the seed's whole call flow between
// two and then three users (new phone line, invitation by email, ring,
// accept, are-you-ready, ready, SDP and ICE relayed, occupants to everyone,
// hang-up notices), then busy, decline, cancel, block and an unavailable
// callee, each with the seed's HttpResponseDto and callbacks; a native
// client in the same line; refusals; and two idle connections kept alive by
// the client's own keep-alive and server-timeout logic for 2 minutes.
// Media between browsers is signalr_chromium's.

import { SignalingClient } from './werift_signaling.mjs';
import { HubUser, check, makeToken } from './signalr_clients.mjs';

const baseUrl = process.env.PARTYLINE_URL;
const wsUrl = process.env.PARTYLINE_WS_URL;
const IDLE_MS = 120000;

const results = [];
async function scenario(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push([name, true]);
    console.log(`  ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    results.push([name, false]);
    console.log(`  FAIL ${name}: ${error.stack || error}`);
  }
}

const users = [];
async function connect(sub, name) {
  const user = await HubUser.connect(baseUrl, sub, name, `${sub}@example.org`);
  users.push(user);
  return user;
}

// The seed's caller side up to ringing: a phone line, the caller's
// connection, the invitation. Returns the line guid.
async function invite(caller, callee, guid = null) {
  if (guid === null) {
    const line = JSON.parse((await caller.callOk('requestNewPhoneLine')).Content);
    check(typeof line.PhoneLineGuid === 'string' && Array.isArray(line.PhoneLineConnections),
      `requestNewPhoneLine: a PhoneLine expected, got ${JSON.stringify(line)}`);
    guid = line.PhoneLineGuid;
    const connection = JSON.parse((await caller.callOk('requestNewPhoneLineConnection', guid)).Content);
    check(connection.HubConnection.ConnectionGuid === caller.guid && connection.PhoneLineGuid === guid,
      `requestNewPhoneLineConnection: the caller's own connection expected, got ${JSON.stringify(connection)}`);
  }
  const from = callee.received.length;
  // The email in other case: the hub matches addresses as people type them.
  const invited = await caller.callOk('sendPhoneLineInvitation', guid, callee.email.toUpperCase(), 'ignored name');
  check(invited.Content === callee.guid, `sendPhoneLineInvitation: Content must be the callee's guid ${callee.guid}, got ${invited.Content}`);
  const call = JSON.parse(await callee.next('receivePhoneLineInvitation', () => true, 10000, from));
  check(call.RemoteGuid === caller.guid && call.PhoneLineGuid === guid && call.Profile.Email === caller.email &&
        call.Profile.Name === caller.name && call.Callers[0].RemoteGuid === caller.guid,
    `receivePhoneLineInvitation: the caller's CallType expected, got ${JSON.stringify(call)}`);
  return guid;
}

// The seed's receiver side after accepting: its connection in the line,
// accept, then are-you-ready to every other occupant, each answering ready.
async function accept(callee, guid, caller, others) {
  const connection = JSON.parse((await callee.callOk('requestNewPhoneLineConnection', guid)).Content);
  const accepted = await callee.callOk('sendAcceptPhoneLineInvitation', caller.guid);
  check(accepted.Content === caller.guid, `sendAcceptPhoneLineInvitation: Content ${accepted.Content}`);
  check(await caller.next('receiveAcceptPhoneLineInvitation', (g) => g === callee.guid) === callee.guid, 'accept seen');
  for (const other of others) {
    const from = other.received.length;
    const asked = JSON.parse((await callee.callOk('sendAreYouReadyForCall', connection.PhoneLineConnectionId, other.guid)).Content);
    check(asked.ConnectionGuid === other.guid && asked.Name === other.name,
      `sendAreYouReadyForCall: Content is the other's HubConnection, got ${JSON.stringify(asked)}`);
    const question = JSON.parse(await other.next('receiveAreYouReadyForCall', () => true, 10000, from));
    check(question.HubConnection.ConnectionGuid === callee.guid && question.HubConnection.Name === callee.name &&
          question.PhoneLineGuid === guid, `receiveAreYouReadyForCall: the receiver's PhoneLineConnection, got ${JSON.stringify(question)}`);
    const ready = await other.callOk('sendReadyForCall', callee.guid);
    check(ready.Content === callee.guid, `sendReadyForCall: Content ${ready.Content}`);
    await callee.next('receiveReadyForCall', (g) => g === other.guid);
  }
}

// SDP and ICE between two connections as the seed's clients send them
// (JSON strings), the last candidate null.
async function exchange(offerer, answerer) {
  const offer = JSON.stringify({ type: 'offer', sdp: `v=0\r\no=- ${offerer.guid} 1 IN IP4 127.0.0.1\r\n` });
  await offerer.connection.invoke('sendSDP', answerer.guid, offer);
  const got = JSON.parse(await answerer.next('receiveSDP', (j) => JSON.parse(j).Sender === offerer.guid));
  check(got.Sdp === offer, `receiveSDP: the offer as sent expected, got ${JSON.stringify(got)}`);
  const answer = JSON.stringify({ type: 'answer', sdp: 'v=0\r\n' });
  await answerer.connection.invoke('sendSDP', offerer.guid, answer);
  check(JSON.parse(await offerer.next('receiveSDP', (j) => JSON.parse(j).Sender === answerer.guid)).Sdp === answer, 'answer relayed');
  for (const ice of [JSON.stringify({ candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 }), JSON.stringify(null)]) {
    await offerer.connection.invoke('sendICE', answerer.guid, ice);
    await answerer.next('receiveICE', (j) => JSON.parse(j).Ice === ice && JSON.parse(j).Sender === offerer.guid);
  }
}

// Two connections that do nothing but let the client keep them alive.
const idle = await Promise.all([connect('idle1', 'Idle One'), connect('idle2', 'Idle Two')]);
const idleSince = Date.now();

await scenario('two_then_three_users', async () => {
  const [alice, bob, carol] = [await connect('alice', 'Alice'), await connect('bob', 'Bob'), await connect('carol', 'Carol')];
  const guid = await invite(alice, bob);
  await alice.occupants([alice.guid]);
  await accept(bob, guid, alice, [alice]);
  await alice.occupants([alice.guid, bob.guid]);
  await bob.occupants([alice.guid, bob.guid]);
  await exchange(bob, alice);  // the receiver offers, as in the seed
  // A third user into the existing phone line.
  await invite(alice, carol, guid);
  await accept(carol, guid, alice, [alice, bob]);
  for (const user of [alice, bob, carol]) {
    const line = await user.occupants([alice.guid, bob.guid, carol.guid]);
    check(line.PhoneLineGuid === guid && line.PhoneLineConnections.every((c) => c.PhoneLineGuid === guid),
      `occupants of the phone line: ${JSON.stringify(line)}`);
  }
  await exchange(carol, alice);
  await exchange(carol, bob);
  const fetched = JSON.parse((await bob.callOk('getPhoneLineByGuid', guid)).Content);
  check(fetched.PhoneLineConnections.length === 3, `getPhoneLineByGuid: three connections, got ${JSON.stringify(fetched)}`);
  // Ping, hold.
  await alice.connection.invoke('sendPing', carol.guid);
  await carol.next('receivePing', (g) => g === alice.guid);
  await carol.connection.invoke('sendPingResponse', alice.guid);
  await alice.next('receivePingResponse', (g) => g === carol.guid);
  await bob.callOk('sendPutOnHold', alice.guid);
  await alice.next('receivePutOnHold', (g) => g === bob.guid);
  await bob.callOk('sendRemoveOnHold', alice.guid);
  await alice.next('receiveRemoveOnHold', (g) => g === bob.guid);
  // Carol hangs up: the others get her notice and the list without her.
  await carol.callOk('sendHangUpNotice', guid);
  for (const user of [alice, bob]) {
    await user.next('receiveHangUpNotice', (g) => g === carol.guid);
    await user.occupants([alice.guid, bob.guid]);
  }
  check(carol.count('receiveHangUpNotice') === 0, 'the one hanging up gets no notice of itself');
  // Bob's connection closes: alice is told as well.
  await bob.stop();
  await alice.next('receiveHangUpNotice', (g) => g === bob.guid);
  await alice.occupants([alice.guid]);
});

await scenario('busy_decline_cancel_block_unavailable', async () => {
  const [dave, erin] = [await connect('dave', 'Dave'), await connect('erin', 'Erin')];
  const guid = await invite(dave, erin);
  // Busy (the seed's sendBusyResponse).
  await erin.connection.invoke('sendBusyResponse', dave.guid);
  await dave.next('receiveBusyResponse', (g) => g === erin.guid);
  // Decline (sendNotAcceptCall).
  await invite(dave, erin, guid);
  await erin.connection.invoke('sendNotAcceptCall', dave.guid);
  await dave.next('receiveNotAcceptCall', (g) => g === erin.guid);
  // Cancel by the caller: the callee's invitation goes away.
  await invite(dave, erin, guid);
  const cancelled = await dave.callOk('sendCancelInvitation', erin.email);
  check(cancelled.Content === '', `sendCancelInvitation: empty Content, got ${cancelled.Content}`);
  await erin.next('receiveCancelInvitation', (g) => g === dave.guid);
  // Block: as the seed, not accepted; and the address on the block list.
  await invite(dave, erin, guid);
  await erin.connection.invoke('sendNotAcceptCall', dave.guid);
  await dave.next('receiveNotAcceptCall', (g) => g === erin.guid);
  await erin.callOk('blockEmail', dave.email);
  const before = erin.count('receivePhoneLineInvitation');
  const notAccepted = dave.count('receiveNotAcceptCall');
  const blocked = await dave.callOk('sendPhoneLineInvitation', guid, erin.email, 'Dave');
  check(blocked.Content === '', `an invitation to a user who blocked the caller: empty remoteGuid, got ${blocked.Content}`);
  await dave.next('receiveNotAcceptCall', (g) => g === '', 10000, dave.received.length - 1);
  check(dave.count('receiveNotAcceptCall') === notAccepted + 1, 'one receiveNotAcceptCall for the blocked invitation');
  await erin.callOk('unblockEmail', dave.email);
  await invite(dave, erin, guid);
  check(erin.count('receivePhoneLineInvitation') === before + 1, 'nothing rang while blocked, the next one rings');
  await erin.connection.invoke('sendNotAcceptCall', dave.guid);
  // Unavailable: nobody connected has the address.
  const nobody = await dave.callOk('sendPhoneLineInvitation', guid, 'nobody@example.org', 'Dave');
  check(nobody.Content === '', `an unknown email: empty remoteGuid (the seed's "not available"), got ${nobody.Content}`);
});

await scenario('native_client_in_the_same_line', async () => {
  const frank = await connect('frank', 'Frank');
  const native = await SignalingClient.connect(`${wsUrl}?token=${makeToken('gina', 'Gina', 'gina@example.org')}`, 'gina');
  const line = JSON.parse((await frank.callOk('requestNewPhoneLine')).Content);
  await frank.callOk('requestNewPhoneLineConnection', line.PhoneLineGuid);
  const invited = await frank.callOk('sendPhoneLineInvitation', line.PhoneLineGuid, 'gina@example.org', 'Frank');
  check(invited.Content === native.session, `the native session rings: ${invited.Content} vs ${native.session}`);
  const incoming = await native.waitForEvent((e) => e.event === 'incoming_call', 10000, 'incoming_call');
  check(incoming.caller.session === frank.guid && incoming.caller.email === frank.email, `incoming_call ${JSON.stringify(incoming)}`);
  await native.request('accept', { call_id: incoming.call_id });
  await frank.next('receiveAcceptPhoneLineInvitation', (g) => g === native.session);
  await native.request('join', { line_id: line.PhoneLineGuid });
  await frank.occupants([frank.guid, native.session]);
  await native.waitForEvent((e) => e.event === 'occupants' && e.line.occupants.length === 2 &&
    e.line.occupants.some((o) => o.session === frank.guid && o.user === 'frank'), 10000, 'occupants with the hub user');
  // A native peer-to-peer offer reaches the hub client as the seed's SDP.
  await native.request('signal', { to_session: frank.guid, data: { type: 'offer', sdp: 'v=0\r\n' } });
  const sdp = JSON.parse(await frank.next('receiveSDP', (j) => JSON.parse(j).Sender === native.session));
  check(JSON.parse(sdp.Sdp).type === 'offer', `receiveSDP from a native client: ${JSON.stringify(sdp)}`);
  native.close();
  await frank.next('receiveHangUpNotice', (g) => g === native.session);
});

await scenario('refusals', async () => {
  const hana = await connect('hana', 'Hana');
  const unsupported = await hana.call('getPhoneLineById', 1);
  check(unsupported.StatusCode === 501 && JSON.parse(unsupported.Content)[0].includes('not supported'),
    `a seed method partyline does not serve: StatusCode 501 with the reason, got ${JSON.stringify(unsupported)}`);
  const unknownCall = await hana.call('sendAcceptPhoneLineInvitation', '00000000-0000-4000-8000-000000000000');
  check(unknownCall.StatusCode === 404, `accepting a call that does not ring: 404, got ${JSON.stringify(unknownCall)}`);
  const notInLine = await hana.call('sendReadyForCall', '00000000-0000-4000-8000-000000000000');
  check(notInLine.StatusCode === 403, `a relay outside a phone line: 403, got ${JSON.stringify(notInLine)}`);
  for (const [method, args, mention] of [['noSuchMethod', [], 'unknown hub method'], ['sendPing', [], 'takes 1 argument']]) {
    let refused = null;
    try {
      await hana.connection.invoke(method, ...args);
    } catch (error) {
      refused = String(error.message);
    }
    check(refused !== null && refused.includes(mention), `${method}: a completion error mentioning '${mention}', got ${refused}`);
  }
  // Refusals count toward the session's request budget like requests
  // (limits.request_burst 100): a flood of unknown methods is cut with 429s.
  const flood = await Promise.allSettled(Array.from({ length: 300 }, () => hana.connection.invoke('noSuchMethod')));
  const reasons = flood.map((result) => (result.status === 'rejected' ? String(result.reason.message) : 'resolved'));
  const unknown = reasons.filter((reason) => reason.includes('unknown hub method')).length;
  const limited = reasons.filter((reason) => reason.includes('rate limited')).length;
  check(unknown > 0 && limited > 0 && unknown + limited === flood.length,
    `300 unknown invocations at once: unknown-method and rate-limited completion errors only, got ${unknown} + ${limited}`);
  console.log(`    300 unknown invocations at once: ${unknown} refused as unknown, ${limited} rate limited`);
  check(hana.closedWith === null, 'refusals do not close the connection');
});

await scenario('idle_two_minutes', async () => {
  const left = IDLE_MS - (Date.now() - idleSince);
  if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
  for (const user of idle) {
    check(user.closedWith === null && user.connection.state === 'Connected',
      `${user.sub}: still connected after ${IDLE_MS / 1000} s idle expected, closed with ${user.closedWith}`);
    await user.callOk('checkin', user.name);
  }
  console.log(`    idle ${((Date.now() - idleSince) / 1000).toFixed(0)} s: both connections still up`);
});

for (const user of users) await user.stop().catch(() => {});
const failed = results.filter(([, ok]) => !ok).map(([name]) => name);
console.log(failed.length === 0 ? `PASS: SignalR hub (${results.length} scenarios)`
  : `FAIL: SignalR hub: ${failed.length} of ${results.length} scenarios failed: ${failed.join(', ')}`);
process.exit(failed.length === 0 ? 0 : 1);
