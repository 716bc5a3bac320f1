// What the Node side of several e2e tests shares: HS256 tokens as the
// server's auth expects them, field-by-field comparisons of messages, and
// the CPU time of the test's processes.
import crypto from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';

/** An HS256 JWT of `claims` signed with `secret`. */
export function hs256Token(claims, secret) {
  const b64url = (text) => Buffer.from(text).toString('base64url');
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const signature = crypto.createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${signature}`;
}

/** `value` as JSON with every object's keys sorted ('undefined' for undefined). */
export function canonical(value) {
  if (value === undefined) return 'undefined';
  return JSON.stringify(value, (key, member) => (member && typeof member === 'object' && !Array.isArray(member)
    ? Object.fromEntries(Object.keys(member).sort().map((name) => [name, member[name]])) : member));
}

/**
 * Whether `value` has every field of `wanted` (a predicate, a nested object
 * compared field by field, or a value compared as canonical JSON); the
 * differences, one line each.
 */
export function differences(value, wanted, path = '') {
  const found = [];
  for (const [key, expected] of Object.entries(wanted)) {
    const actual = value?.[key];
    if (typeof expected === 'function') {
      if (!expected(actual)) found.push(`${path}${key} = ${JSON.stringify(actual)}`);
    } else if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
      found.push(...differences(actual, expected, `${path}${key}.`));
    } else if (canonical(actual) !== canonical(expected)) {
      found.push(`${path}${key} = ${JSON.stringify(actual)}, not ${JSON.stringify(expected)}`);
    }
  }
  return found;
}

/**
 * CPU seconds used so far by the processes of this PID namespace (the test
 * is PID 1 of its own): Chromium's processes and the server, by name.
 */
export async function cpuSeconds() {
  const ticksPerSecond = 100; // USER_HZ on Linux
  const totals = { chromium: 0, partyline: 0 };
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat;
    try {
      stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond; // utime, stime
    const group = name.startsWith('partyline') ? 'partyline' : /chrom/i.test(name) ? 'chromium' : null;
    if (group) totals[group] += seconds;
  }
  return { at: Date.now(), ...totals };
}
