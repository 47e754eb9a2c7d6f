// The storage layer: IndexedDB with a schema version and upgrade steps. Nothing else in the app
// touches IndexedDB. Every write is its own transaction with {durability: "strict"} (where the
// browser supports it), so a phone that dies right after "保存" still has the data.
//
// Stores
//   visits   VisitPayload from the server (+ withdrawn flag), key id
//   records  one department's section of one visit, each saved version with its own UUID, key uuid
//            {uuid, visit_id, department_id, parent_uuid, base_version, content, photos[], finished,
//             status: draft|queued|synced|conflict|attention|superseded, receipt, error, error_code,
//             error_fields (the server's details.fields), server_errors (a fix draft), saved_at, locked_at}
//   photos   {sha256, blob, type, size, width, height, captured_at, gps, visit_id, uploaded}
//   outbox   FIFO of things to send, key seq (autoIncrement) {seq, kind:'record', uuid, visit_id,
//            state: 'pending'|'attention', attempts, last_error, created_at}, or the team leader's
//            schedule of a visit {seq, kind:'schedule', visit_id, body (PUT /api/visits/<id>/schedule),
//            state, last_error, error_code, error_fields, created_at}: at most one per visit (the
//            latest edit replaces an unsent older one); the agenda shows it until the server has it
//   meta     key → value: session, cursor, device_id, sync (last run, backoff, needs_login)
import { openDB } from 'idb';

export const DB_NAME = 'spotcheck-field';
export const DB_VERSION = 2;
const STRICT = { durability: 'strict' };

let dbPromise = null;

/** Open (and upgrade) the database; every step runs in order from the phone's old version. */
export function openDb() {
  if (!dbPromise) {
    dbPromise = openDB(DB_NAME, DB_VERSION, {
      upgrade(db, oldVersion, _newVersion, tx) {
        if (oldVersion < 1) {
          db.createObjectStore('visits', { keyPath: 'id' });
          const records = db.createObjectStore('records', { keyPath: 'uuid' });
          records.createIndex('by_visit', 'visit_id');
          const photos = db.createObjectStore('photos', { keyPath: 'sha256' });
          photos.createIndex('by_visit', 'visit_id');
          db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
          db.createObjectStore('meta');
        }
        if (oldVersion < 2) {
          // v2: find the records that still need the user (needs attention / conflicts) quickly
          tx.objectStore('records').createIndex('by_status', 'status');
          tx.objectStore('outbox').createIndex('by_state', 'state');
        }
      },
      blocking() {
        // a newer app version in another tab wants to upgrade: let it
        dbPromise?.then((db) => db.close());
        dbPromise = null;
      },
    });
  }
  return dbPromise;
}

async function rw(stores) {
  const db = await openDb();
  return db.transaction(stores, 'readwrite', STRICT);
}

// -- meta ---------------------------------------------------------------------------------------

export async function getMeta(key) {
  return (await openDb()).get('meta', key);
}

export async function setMeta(key, value) {
  const tx = await rw('meta');
  await Promise.all([tx.store.put(value, key), tx.done]);
}

export async function deviceId() {
  let id = await getMeta('device_id');
  if (!id) {
    id = crypto.randomUUID();
    await setMeta('device_id', id);
  }
  return id;
}

// -- visits -------------------------------------------------------------------------------------

/** Store pulled visits. `full`: the server's list replaces ours (visits with local records stay,
 * flagged withdrawn, so no evidence is lost; their unsent schedule edits are dropped). `withdrawn`: ids
 * no longer assigned to us. */
export async function applyPull({ visits = [], withdrawn = [], full = false, cursor }) {
  const tx = await rw(['visits', 'records', 'outbox', 'meta']);
  const vs = tx.objectStore('visits');
  const seen = new Set(visits.map((v) => v.id));
  const withdrawnIds = new Set(withdrawn);
  if (full) {
    for (const id of await vs.getAllKeys()) if (!seen.has(id)) withdrawnIds.add(id);
  }
  for (const v of visits) await vs.put({ ...v, withdrawn: false });
  // a schedule edit of a visit no longer ours has nothing to save: drop it (pending or refused),
  // or it would stay in the outbox for good, out of sight and blocking the logout
  if (withdrawnIds.size) {
    const ob = tx.objectStore('outbox');
    for (const item of await ob.getAll()) {
      if (item.kind === 'schedule' && withdrawnIds.has(item.visit_id)) await ob.delete(item.seq);
    }
  }
  for (const id of withdrawnIds) {
    const old = await vs.get(id);
    if (!old) continue;
    const local = await tx.objectStore('records').index('by_visit').count(id);
    if (local) await vs.put({ ...old, withdrawn: true });
    else await vs.delete(id);
  }
  if (cursor !== undefined) await tx.objectStore('meta').put(cursor, 'cursor');
  await tx.done;
}

export async function listVisits() {
  return (await openDb()).getAll('visits');
}

export async function getVisit(id) {
  return (await openDb()).get('visits', Number(id));
}

// -- records ------------------------------------------------------------------------------------

export async function getRecord(uuid) {
  return (await openDb()).get('records', uuid);
}

export async function recordsForVisit(visitId) {
  const list = await (await openDb()).getAllFromIndex('records', 'by_visit', Number(visitId));
  return list.sort((a, b) => (a.saved_at < b.saved_at ? -1 : 1));
}

export async function allRecords() {
  return (await openDb()).getAll('records');
}

/** Write a draft (every change of the form lands here at once). Locked records are refused. */
export async function saveDraft(record) {
  const tx = await rw('records');
  const old = await tx.store.get(record.uuid);
  if (old && old.status !== 'draft') {
    tx.done.catch(() => {});
    tx.abort();
    throw new Error('record_locked');
  }
  await tx.store.put({ ...record, status: 'draft', saved_at: new Date().toISOString() });
  await tx.done;
}

export async function deleteDraft(uuid) {
  const tx = await rw('records');
  const old = await tx.store.get(uuid);
  if (old && old.status === 'draft') await tx.store.delete(uuid);
  await tx.done;
}

/** "完成": lock the record on the device and queue it, in one transaction. A corrected version of a
 * record the server refused ("需处理", never stored there) takes that record's place in the outbox: the
 * refused version stays on the phone as 'superseded' (its content lives on in the new version). */
export async function finishRecord(record) {
  const tx = await rw(['records', 'outbox']);
  const now = new Date().toISOString();
  const parent = record.parent_uuid ? await tx.objectStore('records').get(record.parent_uuid) : null;
  if (parent && parent.status === 'attention') {
    for (const item of await tx.objectStore('outbox').getAll()) {
      if (item.uuid === parent.uuid) await tx.objectStore('outbox').delete(item.seq);
    }
    await tx.objectStore('records').put({ ...parent, status: 'superseded', superseded_by: record.uuid });
  }
  await tx.objectStore('records').put({ ...record, finished: true, status: 'queued', locked_at: now, saved_at: now });
  await tx.objectStore('outbox').add({ kind: 'record', uuid: record.uuid, visit_id: record.visit_id, state: 'pending',
    attempts: 0, created_at: now });
  await tx.done;
}

// -- photos -------------------------------------------------------------------------------------

export async function putPhoto(photo) {
  const tx = await rw('photos');
  const old = await tx.store.get(photo.sha256);
  if (!old) await tx.store.put({ ...photo, uploaded: false });
  await tx.done;
}

export async function getPhoto(sha256) {
  return (await openDb()).get('photos', sha256);
}

export async function markPhotoUploaded(sha256) {
  const tx = await rw('photos');
  const p = await tx.store.get(sha256);
  if (p) await tx.store.put({ ...p, uploaded: true });
  await tx.done;
}

// -- outbox -------------------------------------------------------------------------------------

export async function outboxItems() {
  return (await openDb()).getAll('outbox'); // key order = FIFO
}

export async function outboxCount() {
  return (await openDb()).count('outbox');
}

/** The server returned a receipt: store it on the record and drop the item, atomically. */
export async function settleOutboxItem(seq, uuid, receipt, status, message = null) {
  const tx = await rw(['records', 'outbox']);
  const rec = await tx.objectStore('records').get(uuid);
  if (rec) await tx.objectStore('records').put({ ...rec, status, receipt, error: message });
  await tx.objectStore('outbox').delete(seq);
  await tx.done;
}

/** The server refused the item for good: keep it (evidence), park it as 需处理 with the server's message
 * and field messages; a record's own status says so too (a schedule edit has no record). */
export async function parkOutboxItem(seq, message, code, fields = null) {
  const tx = await rw(['records', 'outbox']);
  const item = await tx.objectStore('outbox').get(seq);
  if (item) {
    await tx.objectStore('outbox').put({ ...item, state: 'attention', last_error: message, error_code: code,
      error_fields: fields });
  }
  const rec = item && (item.kind || 'record') === 'record' ? await tx.objectStore('records').get(item.uuid) : null;
  if (rec) {
    await tx.objectStore('records').put({ ...rec, status: 'attention', error: message, error_code: code,
      error_fields: fields });
  }
  await tx.done;
}

/** The user asks to send a parked item again (after the cause was fixed on the server). */
export async function retryParked() {
  const tx = await rw(['records', 'outbox']);
  for (const item of await tx.objectStore('outbox').getAll()) {
    if (item.state !== 'attention') continue;
    await tx.objectStore('outbox').put({ ...item, state: 'pending', last_error: null });
    if (item.kind === 'schedule') continue;
    const rec = await tx.objectStore('records').get(item.uuid);
    if (rec) await tx.objectStore('records').put({ ...rec, status: 'queued', error: null });
  }
  await tx.done;
}

export async function noteAttempt(seq, message) {
  const tx = await rw('outbox');
  const item = await tx.store.get(seq);
  if (item) await tx.store.put({ ...item, attempts: (item.attempts || 0) + 1, last_error: message });
  await tx.done;
}

// -- the team leader's schedule edits (kind 'schedule' in the outbox) ---------------------------

/** Save the leader's schedule of one visit locally at once and queue it; it replaces any unsent
 * (or refused) older schedule of the same visit. `bodies`: {visit_id: body}, one transaction. */
export async function queueSchedules(bodies) {
  const tx = await rw('outbox');
  const now = new Date().toISOString();
  const ids = new Set(Object.keys(bodies).map(Number));
  for (const item of await tx.store.getAll()) {
    if (item.kind === 'schedule' && ids.has(item.visit_id)) await tx.store.delete(item.seq);
  }
  for (const id of ids) {
    await tx.store.add({ kind: 'schedule', visit_id: id, body: bodies[id], state: 'pending', attempts: 0,
      created_at: now });
  }
  await tx.done;
}

/** The schedule edits not yet accepted by the server, by visit id. */
export async function pendingSchedules() {
  const out = new Map();
  for (const item of await outboxItems()) if (item.kind === 'schedule') out.set(item.visit_id, item);
  return out;
}

/** The server accepted a schedule: drop the item and keep its answer on the visit until the next pull. */
export async function settleSchedule(seq, visitId, schedule) {
  const tx = await rw(['visits', 'outbox']);
  const v = await tx.objectStore('visits').get(visitId);
  if (v && schedule) {
    await tx.objectStore('visits').put({ ...v, schedule: { ...(v.schedule || {}), ...schedule },
      scheduled_on: schedule.scheduled_on ?? null });
  }
  await tx.objectStore('outbox').delete(seq);
  await tx.done;
}

/** The leader gives up a refused (or unsent) schedule edit: the server's schedule shows again. */
export async function dropSchedule(visitId) {
  const tx = await rw('outbox');
  for (const item of await tx.store.getAll()) {
    if (item.kind === 'schedule' && item.visit_id === visitId) await tx.store.delete(item.seq);
  }
  await tx.done;
}

// -- logout -------------------------------------------------------------------------------------

/** Wipe everything (logout with an empty outbox; see docs/device-data.md). Refused otherwise. */
export async function wipeAll() {
  const tx = await rw(['visits', 'records', 'photos', 'outbox', 'meta']);
  if (await tx.objectStore('outbox').count()) {
    tx.done.catch(() => {});
    tx.abort();
    throw new Error('outbox_not_empty');
  }
  const deviceIdValue = await tx.objectStore('meta').get('device_id');
  for (const s of ['visits', 'records', 'photos', 'meta']) await tx.objectStore(s).clear();
  if (deviceIdValue) await tx.objectStore('meta').put(deviceIdValue, 'device_id');
  await tx.done;
}

export async function storageEstimate() {
  const est = navigator.storage?.estimate ? await navigator.storage.estimate() : {};
  const persisted = navigator.storage?.persisted ? await navigator.storage.persisted() : false;
  return { usage: est.usage, quota: est.quota, persisted };
}
