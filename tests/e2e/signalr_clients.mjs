// Clients of seed 000's SignalR hub for the e2e tests: the official
// @microsoft/signalr client in Node, tokens signed with the test secret,
// and a record of every client callback with waits that end at a deadline.

import * as signalR from '@microsoft/signalr';
import { hs256Token } from './test_util.mjs';

export const JWT_SECRET = 'partyline-e2e-secret';  // signalr.json's auth.jwt_secret
export const HUB_PATH = 'hubs/webrtc';
// Every callback the seed names (docs/compat.md, "Seed 000").
export const CALLBACKS = [
  'receivePhoneLineInvitation', 'receiveAcceptPhoneLineInvitation', 'receiveBusyResponse', 'receiveNotAcceptCall',
  'receiveCancelInvitation', 'receiveUpdatePhoneLineOccupants', 'receiveAreYouReadyForCall', 'receiveReadyForCall',
  'receiveNotReadyForCall', 'receiveSDP', 'receiveICE', 'receivePing', 'receivePingResponse', 'receivePutOnHold',
  'receiveRemoveOnHold', 'receiveHangUpNotice',
];

/** An HS256 token for `sub`, with a name and an email. */
export function makeToken(sub, name, email) {
  return hs256Token({ sub, name, email, exp: Math.floor(Date.now() / 1000) + 3600 }, JWT_SECRET);
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** The seed's HttpResponseDto from a hub method's string result. */
export function parseDto(result) {
  check(typeof result === 'string', `a hub method returns a string (the serialized HttpResponseDto), got ${JSON.stringify(result)}`);
  const dto = JSON.parse(result);
  check(Number.isInteger(dto.StatusCode) && 'ActionCode' in dto && typeof dto.Content === 'string',
    `HttpResponseDto needs StatusCode, ActionCode and a string Content: ${result}`);
  return dto;
}

export class HubUser {
  /** Connects `sub` (display name `name`, email `email`) to the hub at `baseUrl`. */
  static async connect(baseUrl, sub, name, email) {
    const token = makeToken(sub, name, email);
    const connection = new signalR.HubConnectionBuilder()
      .withUrl(new URL(HUB_PATH, baseUrl).toString(), { accessTokenFactory: () => token })
      .configureLogging(signalR.LogLevel.Warning)
      .build();
    const user = new HubUser(connection, sub, name, email);
    await connection.start();
    user.guid = JSON.parse(user.expectOk(parseDto(await connection.invoke('checkin', name))).Content).ConnectionGuid;
    check(typeof user.guid === 'string' && user.guid.length > 0, `${sub}: checkin gave no ConnectionGuid`);
    return user;
  }

  constructor(connection, sub, name, email) {
    this.connection = connection;
    this.sub = sub;
    this.name = name;
    this.email = email;
    this.received = [];  // {callback, argument}, in arrival order
    this.waiters = [];
    this.closedWith = null;
    for (const callback of CALLBACKS) {
      connection.on(callback, (argument) => {
        this.received.push({ callback, argument });
        this.waiters = this.waiters.filter((waiter) => !waiter());
      });
    }
    connection.onclose((error) => { this.closedWith = error || 'closed'; });
  }

  /** Invokes `method` and returns its HttpResponseDto. */
  async call(method, ...args) {
    return parseDto(await this.connection.invoke(method, ...args));
  }

  expectOk(dto, what = 'hub method') {
    check(dto.StatusCode === 200, `${this.sub}: ${what}: expected StatusCode 200, got ${JSON.stringify(dto)}`);
    return dto;
  }

  async callOk(method, ...args) {
    return this.expectOk(await this.call(method, ...args), method);
  }

  /** The next `callback` after position `from` matching `match`; waits up to `ms`. */
  next(callback, match = () => true, ms = 10000, from = 0) {
    const find = () => this.received.findIndex((entry, index) => index >= from && entry.callback === callback &&
      match(entry.argument));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(
        `${this.sub}: no ${callback} within ${ms} ms; received ${JSON.stringify(this.received.map((e) => e.callback))}`)), ms);
      const attempt = () => {
        const index = find();
        if (index < 0) return false;
        clearTimeout(timer);
        resolve(this.received[index].argument);
        return true;
      };
      if (!attempt()) this.waiters.push(attempt);
    });
  }

  /** The last receiveUpdatePhoneLineOccupants whose guids are exactly `guids`. */
  async occupants(guids, ms = 10000) {
    const want = [...guids].sort().join(',');
    const json = await this.next('receiveUpdatePhoneLineOccupants', (argument) => {
      const line = JSON.parse(argument);
      return line.PhoneLineConnections.map((c) => c.HubConnection.ConnectionGuid).sort().join(',') === want;
    }, ms);
    return JSON.parse(json);
  }

  count(callback) {
    return this.received.filter((entry) => entry.callback === callback).length;
  }

  async stop() {
    await this.connection.stop();
  }
}
