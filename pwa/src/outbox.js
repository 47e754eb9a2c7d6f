// The outbox of our own (separate from the UI; the service worker uses it too). FIFO in
// IndexedDB; an item leaves only when the server returns a receipt. Photos go first, resumably in
// chunks (HEAD for the offset, PATCH the rest), then the record PUT. One bad record never blocks
// the others: a definitive refusal parks it as "需处理" with the server's message and the run goes
// on with the next item. A 401 keeps everything and waits for a new login; a network failure, a
// request that timed out, a 5xx or 409 in_progress ends the run and the next one comes with capped
// exponential backoff.
//
// The team leader's schedule edits ride the same outbox (kind 'schedule'): a PUT of the visit's
// whole schedule; a refusal (422 schedule_outside_period / invalid_schedule, 409 schedule_locked,
// 403 not_team_leader) parks it as "需处理" with the server's message until the leader fixes it.
//
// What deletes an outbox item: only a receipt (201/200, or 409 stale_version carrying the receipt of
// the version the server kept as a conflict). Every other 4xx (422 record_invalid, 403 recused /
// not_results_entrant, 413, 404, …) parks the item as "需处理" with the server's message and its
// field messages: the record and its photos stay on the phone until a corrected version replaces it
// (db.finishRecord) or the user retries it.
import { ApiError, NetworkError, TimeoutError, UPLOAD_TIMEOUT_MS, request } from './api.js';
import * as db from './db.js';

export const CHUNK_BYTES = 256 * 1024; // ≤ 1 MiB per the contract; small so a 2G link makes progress
export const BACKOFF_MIN_MS = 5_000;
export const BACKOFF_MAX_MS = 5 * 60_000;

class StopRun extends Error {
  constructor(reason, cause) { super(reason); this.reason = reason; this.cause = cause; }
}

const PHOTO_MISSING = { error: { code: 'photo_missing_on_device',
  message: '本机找不到该照片，服务器上也没有。请删除该照片或重新拍摄后再完成。' } };

/** Upload one photo from where the server stopped. Returns when the server has all of it.
 * A photo without a local blob — one of a returned version this phone never had, corrected from the
 * server's copy — is fine when the server already holds all of it (HEAD: Upload-Complete 1): there are
 * no bytes to send, and the receipt says `stored: true`. Otherwise the record is parked as 需处理. */
export async function uploadPhoto(sha256) {
  const photo = await db.getPhoto(sha256);
  if (!photo) {
    const head = await request('HEAD', `/api/photos/${sha256}`, { raw: true });
    if (head.status === 200 && head.headers.get('Upload-Complete') === '1') return;
    if (head.status === 401) throw new ApiError(401, null);
    if (head.status !== 200 && head.status !== 404) throw new ApiError(head.status, null);
    throw new ApiError(422, PHOTO_MISSING);
  }
  if (photo.uploaded) return;
  const total = photo.blob.size;
  let offset = 0;
  const head = await request('HEAD', `/api/photos/${sha256}`, { raw: true });
  if (head.status === 200) {
    if (head.headers.get('Upload-Complete') === '1') { await db.markPhotoUploaded(sha256); return; }
    offset = Number(head.headers.get('Upload-Offset') || 0);
  } else if (head.status === 401) {
    throw new ApiError(401, null);
  } else if (head.status !== 404) {
    throw new ApiError(head.status, null);
  }
  while (offset < total) {
    const chunk = photo.blob.slice(offset, Math.min(offset + CHUNK_BYTES, total));
    try {
      const res = await request('PATCH', `/api/photos/${sha256}`, {
        body: chunk,
        headers: { 'Upload-Offset': String(offset), 'Upload-Length': String(total),
          'Content-Type': 'application/offset+octet-stream' },
        timeout: UPLOAD_TIMEOUT_MS,
      });
      const next = Number(res.headers.get('Upload-Offset'));
      offset = Number.isFinite(next) && next > offset ? next : offset + chunk.size;
    } catch (e) {
      if (e instanceof ApiError && e.code === 'offset_mismatch' && Number.isFinite(Number(e.details.offset))) {
        offset = Number(e.details.offset); // the server has more (or less) than we thought: resume there
        continue;
      }
      throw e;
    }
  }
  await db.markPhotoUploaded(sha256);
}

async function baseVersionOf(rec) {
  // a correction of a returned section was based on the server's current version when it was opened
  if (!rec.parent_uuid || rec.base_from_server) return rec.base_version ?? 0;
  const parent = await db.getRecord(rec.parent_uuid);
  if (parent?.receipt?.version != null) return parent.receipt.version;
  return rec.base_version ?? 0;
}

async function pushRecord(item) {
  const rec = await db.getRecord(item.uuid);
  if (!rec) { await db.settleOutboxItem(item.seq, item.uuid, null, 'synced'); return; }
  for (const sha of rec.photos || []) await uploadPhoto(sha);
  const body = {
    department_id: rec.department_id,
    base_version: await baseVersionOf(rec),
    content: rec.content,
    photos: rec.photos || [],
    finished: !!rec.finished,
    device_id: await db.deviceId(),
    saved_at: rec.locked_at || rec.saved_at,
  };
  try {
    const { data } = await request('PUT', `/api/visits/${rec.visit_id}/records/${rec.uuid}`, { json: body });
    await db.settleOutboxItem(item.seq, item.uuid, data, 'synced');
  } catch (e) {
    if (e instanceof ApiError && e.status === 409 && e.code === 'stale_version' && e.details.receipt) {
      // kept by the server as a conflict for the team leader: stop resending, show "需处理"
      await db.settleOutboxItem(item.seq, item.uuid, e.details.receipt, 'conflict', e.message);
      return;
    }
    throw e;
  }
}

/** Send the team leader's schedule of one visit (PUT /api/visits/<id>/schedule, idempotent). */
async function pushSchedule(item) {
  const { data } = await request('PUT', `/api/visits/${item.visit_id}/schedule`, { json: item.body });
  await db.settleSchedule(item.seq, item.visit_id, data?.schedule || item.body);
}

function isTransient(e) {
  if (e instanceof NetworkError) return true;
  if (!(e instanceof ApiError)) return false;
  return e.status >= 500 || e.status === 408 || e.status === 423 || e.status === 429
    || (e.status === 409 && e.code === 'in_progress');
}

/** Send every pending outbox item in FIFO order. Returns {sent, parked, stopped}. */
export async function pushOutbox() {
  let sent = 0, parked = 0;
  for (const item of await db.outboxItems()) {
    if (item.state === 'attention') continue;
    try {
      if (item.kind === 'schedule') await pushSchedule(item);
      else await pushRecord(item);
      sent++;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) throw new StopRun('login', e);
      if (isTransient(e)) {
        await db.noteAttempt(item.seq, e.message);
        throw new StopRun('retry', e);
      }
      const fields = (e instanceof ApiError && e.details?.fields) || null;
      await db.parkOutboxItem(item.seq, e.message || String(e), e.code || 'error', fields);
      parked++;
    }
  }
  return { sent, parked };
}

/** Fetch the assignments changed since our cursor (a full list when the server says so). */
export async function pull() {
  const cursor = await db.getMeta('cursor');
  const q = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
  const { data } = await request('GET', `/api/sync/pull${q}`);
  await db.applyPull({ visits: data.visits || [], withdrawn: data.withdrawn || [], full: !!data.full || !cursor,
    cursor: data.cursor });
  return data;
}

async function withLock(fn) {
  if (typeof navigator !== 'undefined' && navigator.locks?.request) {
    // one sync at a time across tabs and the service worker; a second caller skips
    return navigator.locks.request('spotcheck-sync', { ifAvailable: true }, (lock) => (lock ? fn() : { skipped: true }));
  }
  if (withLock.busy) return { skipped: true };
  withLock.busy = true;
  try { return await fn(); } finally { withLock.busy = false; }
}

/** One sync run: push the outbox, then pull. Never throws; returns what happened and stores it in
 * meta "sync" ({at, ok, reason, message, failures}) for the UI. */
export async function runSync() {
  return withLock(async () => {
    const prev = (await db.getMeta('sync')) || {};
    const session = await db.getMeta('session');
    if (!session || (await db.getMeta('needs_login'))) {
      const state = { ...prev, at: new Date().toISOString(), ok: false, reason: 'login',
        last_ok_at: prev.ok ? prev.at : prev.last_ok_at || null };
      await db.setMeta('sync', state);
      return state;
    }
    let state;
    try {
      const r = await pushOutbox();
      await pull();
      state = { at: new Date().toISOString(), ok: true, sent: r.sent, parked: r.parked, failures: 0 };
    } catch (e) {
      const cause = e instanceof StopRun ? e.cause : e;
      const reason = e instanceof StopRun ? e.reason : (cause instanceof ApiError && cause.status === 401 ? 'login'
        : 'retry');
      if (reason === 'login') await db.setMeta('needs_login', true);
      state = { at: new Date().toISOString(), ok: false, reason, message: cause?.message || String(cause),
        // no answer at all (no network, refused, timed out): the UI says "离线"
        unreachable: cause instanceof NetworkError, timeout: cause instanceof TimeoutError,
        last_ok_at: prev.ok ? prev.at : prev.last_ok_at || null, failures: (prev.failures || 0) + 1 };
    }
    await db.setMeta('sync', state);
    return state;
  });
}

/** Milliseconds until the next automatic run: 5 s doubling to 5 min after failures, 5 min when idle. */
export function nextDelay(state) {
  if (!state || state.ok || state.reason === 'login') return BACKOFF_MAX_MS;
  const n = Math.max(0, (state.failures || 1) - 1);
  return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** n);
}
