// What the Node side of several e2e tests shares: HS256 tokens as the
// server's auth expects them, and field-by-field comparisons of messages.
import crypto from 'node:crypto';

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
