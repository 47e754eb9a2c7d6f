// The server API (docs/sync-protocol.md). Used by the page and by the service worker alike, so it
// only needs fetch and the meta store. Never cached: every call is `cache: "no-store"`.
import { getMeta, setMeta } from './db.js';

export class NetworkError extends Error {}

/** No answer within the time limit: treated like a network failure (retried with backoff). */
export class TimeoutError extends NetworkError {
  constructor(ms) { super(`timeout after ${ms} ms`); this.timeoutMs = ms; }
}

// Every request gives up after a while, so a response that never comes cannot freeze sync [issue 7 §7].
export const JSON_TIMEOUT_MS = 20_000;
export const UPLOAD_TIMEOUT_MS = 90_000; // one photo chunk (≤ 256 KiB) on a slow 2G link

/** An HTTP answer other than 2xx: `status`, stable `code`, the server's Chinese `message`, `details`. */
export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || `http_${status}`;
    this.details = err.details || {};
  }
}

/** Call the API. `timeout` (ms) covers the whole exchange, body included; then a TimeoutError. */
export async function request(method, path, { json, body, headers = {}, raw = false, timeout = JSON_TIMEOUT_MS } = {}) {
  const session = await getMeta('session');
  const h = { Accept: 'application/json', ...headers };
  if (method !== 'GET' && method !== 'HEAD' && session?.csrf_token) h['X-CSRFToken'] = session.csrf_token;
  if (json !== undefined) {
    h['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  const ctl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; ctl.abort(); }, timeout);
  let res;
  let data = null;
  try {
    res = await fetch(path, { method, body, headers: h, credentials: 'same-origin', cache: 'no-store', signal: ctl.signal });
    if (raw) return res;
    if (res.status !== 204 && method !== 'HEAD') {
      const text = await res.text();
      try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    }
  } catch (e) {
    if (timedOut) throw new TimeoutError(timeout);
    throw new NetworkError(e.message || 'network');
  } finally {
    clearTimeout(timer);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return { status: res.status, data, headers: res.headers };
}

/** Log in; keep the session's CSRF token and user in meta. Returns the user. */
export async function login(username, password) {
  await settleServiceWorkerInstall();
  let data;
  for (let attempt = 1; ; attempt++) {
    ({ data } = await request('POST', '/api/session', { json: { username, password } }));
    // A response to a request sent before the login (e.g. the service worker fetching the app
    // shell) may still set the old session cookie after ours: check, and log in again once.
    try {
      await request('GET', '/api/session');
      break;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401) || attempt >= 2) throw e;
    }
  }
  await setMeta('session', { user: data.user, csrf_token: data.csrf_token, expires_at: data.expires_at,
    logged_in_at: new Date().toISOString() });
  await setMeta('needs_login', false);
  return data.user;
}

export async function logout() {
  try { await request('DELETE', '/api/session'); } catch { /* offline: the cookie expires by itself */ }
}

/** Wait (at most 10 s) while the service worker is still precaching the app shell. */
async function settleServiceWorkerInstall() {
  const reg = await navigator.serviceWorker?.getRegistration?.('/app/');
  const sw = reg?.installing;
  if (!sw) return;
  await new Promise((ok) => {
    const timer = setTimeout(ok, 10_000);
    sw.addEventListener('statechange', () => {
      if (sw.state !== 'installing') { clearTimeout(timer); ok(); }
    });
  });
}
