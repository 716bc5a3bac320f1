// The admin API as the dashboard calls it (docs/admin-api.md): the token
// kept in this tab's sessionStorage (never in the URL, never logged), sent
// as `Authorization: Bearer` on every call, and every outcome returned as a
// value, never thrown: { ok: true, status, body } or { ok: false, status,
// reason } where status 0 means the server could not be reached.

const TOKEN_KEY = 'partyline.admin.token';
const TIMEOUT_MS = 4000;

/** The token of this tab: a string (maybe empty: a server without token), or null when none was given. */
export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Calls `method path` (a path of the admin listener, e.g. /admin/v1/lines) with `body` as JSON. */
export async function call(method, path, body = undefined) {
  const token = storedToken() ?? '';
  const headers = { Accept: 'application/json' };
  if (token !== '') headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    const reason = error?.name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : 'server unreachable';
    return { ok: false, status: 0, reason };
  }
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  if (response.ok) return { ok: true, status: response.status, body: parsed };
  return { ok: false, status: response.status, reason: parsed?.error?.reason ?? response.statusText };
}

export const getInfo = () => call('GET', '/admin/v1/info');
export const getLines = () => call('GET', '/admin/v1/lines');
export const getSession = (id) => call('GET', `/admin/v1/sessions/${encodeURIComponent(id)}`);
export const kickSession = (id) => call('DELETE', `/admin/v1/sessions/${encodeURIComponent(id)}`);
/** `kinds`: { audio: true } mutes audio, { video: false } lifts a video mute. */
export const muteSession = (id, kinds) => call('POST', `/admin/v1/sessions/${encodeURIComponent(id)}/mute`, kinds);
