// The on-site form for the logged-in inspector's department section of one visit: check-in,
// notice, checklist answers, notes, photos, findings, measures, per item a result, the method used,
// problems and handling, the party's liaison and opinion, the business's signature (or stamped paper
// form, or a structured refusal, or "无法联系/无人在场" with evidence only) and every inspector's
// signature. The content format is schema 2 (docs/field-record.md); schema-1 drafts are upgraded.
// Every change is written to IndexedDB at once (db.saveDraft); "完成" locks the record and queues
// it; a later change makes a new version (new UUID, parent_uuid → base_version at send time).
import SignaturePad from 'signature_pad';
import * as db from './db.js';
import { clear, fmtTime, h } from './dom.js';
import {
  BUSINESS_MODE_LABELS, CONTENT_SCHEMA, MEASURE_FORMS, MEASURES, NOTICE_LABELS, REVIEW_LABELS, followUpOptions,
  methodOptions, resultOptions, serverFieldErrors, upgradeContent,
} from './domain.js';
import { getLang, t } from './i18n.js';
import { currentPosition, processPhoto } from './photos.js';

let open = false;
const urls = [];

/** True while the on-site form screen is shown (the update prompt must then wait). */
export function formIsOpen() { return open; }

export function closeForm() {
  if (open) { open = false; document.dispatchEvent(new CustomEvent('form-state')); }
}

/** The department whose section the logged-in inspector fills on `visit` (or null). */
export function myDepartment(visit, session) {
  const me = session?.user?.inspector_id;
  if (me == null || !visit?.team) return null;
  const m = (visit.team.members || []).find((x) => x.inspector_id === me);
  return m ? m.department_id : null;
}

function emptyContent(visit) {
  return {
    schema: CONTENT_SCHEMA,
    check_in: null,
    notice: visit.task?.unannounced ? 'unannounced' : null,
    answers: {},
    results: {},
    findings: '',
    measures: {},
    evidence_notes: '',
    notes: '',
    photos: [],
    party: { liaison_name: '', liaison_phone: '', opinion: '' },
    business: { mode: 'signature', name: '', role: '', signature: null, signed_at: null, stamp_photo: null,
      refusal: { reason: '', at: '', place: visit.object?.address || '', witness_name: '', witness_photo: null,
        statement: '被检查对象拒绝在检查记录上签字（盖章），检查人员在场见证并作此说明。', inspector_signature: null,
        inspector_signed_at: null } },
    inspectors: {},
  };
}

/** All photo hashes a record's content references (evidence, question photos, stamp, witness). */
export function referencedPhotos(c) {
  const set = new Set((c.photos || []).map((p) => p.sha256));
  if (c.business?.mode === 'stamp' && c.business.stamp_photo) set.add(c.business.stamp_photo);
  if (c.business?.mode === 'refusal' && c.business.refusal?.witness_photo) set.add(c.business.refusal.witness_photo);
  return [...set];
}

/**
 * The review of the department's section on the server (issue 8 §2), as the phone acts on it:
 * `{review, open, locked}`. `review` is the section's `review` {status, comment, decided_at, version}.
 * `open`: returned
 * and not yet corrected (no newer version on the server or queued on this phone) — the inspector
 * reopens the section and finishes a new version. `locked`: consolidated (待审核) or accepted: read-only,
 * the server refuses new versions (409 section_locked).
 */
export function sectionReview(visit, deptId, localRecords = []) {
  const sec = (visit?.sections || []).find((x) => x.department_id === deptId);
  const held = (visit?.records || []).filter((r) => r.department_id === deptId);
  const review = sec?.review || null;
  if (!review) return { review: null, open: false, locked: false };
  const version = review.version ?? Math.max(0, ...held.map((r) => r.version || 0));
  if (review.status === 'returned') {
    const newerOnServer = held.some((r) => (r.version || 0) > version);
    const newerHere = localRecords.some((r) => r.department_id === deptId && r.finished
      && ['queued', 'synced', 'attention', 'conflict'].includes(r.status) && (r.base_version ?? 0) >= version
      && r.receipt?.version !== version);
    return { review: { ...review, version }, open: !newerOnServer && !newerHere, locked: false };
  }
  return { review: { ...review, version }, open: false, locked: ['pending_review', 'accepted', 'published'].includes(review.status) };
}

function serverVersion(visit, deptId) {
  return Math.max(0, ...(visit.records || []).filter((r) => r.department_id === deptId).map((r) => r.version || 0));
}

function latestServerUuid(visit, deptId) {
  const list = (visit.records || []).filter((r) => r.department_id === deptId);
  return list.length ? list.reduce((a, b) => ((b.version || 0) > (a.version || 0) ? b : a)).uuid : null;
}

/**
 * The returned version as the server sent it (`review.returned_record`, only to members who may write
 * the section), shaped like a local record, when this phone has no copy of it (logged out and wiped,
 * or another member of the department corrects it on another phone) or only an older one; else null.
 */
export function serverReturnedCopy(visit, deptId, localRecords, rv) {
  if (!rv?.open) return null;
  const ret = (visit?.sections || []).find((x) => x.department_id === deptId)?.review?.returned_record;
  if (!ret?.content) return null;
  const have = localRecords.some((r) => r.department_id === deptId && (r.uuid === ret.uuid
    || (r.status === 'synced' && (r.receipt?.version ?? -1) >= ret.version)));
  if (have) return null;
  return { uuid: ret.uuid, visit_id: visit.id, department_id: deptId, content: ret.content, photos: [...(ret.photos || [])],
    finished: true, status: 'synced', receipt: null, base_version: ret.version, server_version: ret.version,
    from_server: true };
}

/**
 * A new draft version of a locked record (`rec`, a local record or the server's returned copy). Signatures
 * attest the content they were given on: the business's handwritten signature and every inspector's
 * signature are cleared and must be given again; everything else is kept.
 */
function newVersionDraft(rec, visit, { base, fromServer }) {
  const draft = { uuid: crypto.randomUUID(), visit_id: rec.visit_id, department_id: rec.department_id,
    parent_uuid: rec.uuid, base_version: base, base_from_server: fromServer || undefined,
    content: upgradeContent(structuredClone(rec.content), visit), photos: [...(rec.photos || [])], finished: false,
    created_at: new Date().toISOString() };
  draft.content.inspectors = {};
  draft.content.business = { ...draft.content.business, signature: null };
  return draft;
}

/** A reference option's label in the UI language (the server may send `label_en`). */
function optLabel(o) { return getLang() === 'en' && o.label_en ? o.label_en : t(o.label); }

// -- validation ---------------------------------------------------------------------------------

/** True when every item of the section has a result whose option is party_absent (无法联系/无人在场). */
export function allPartyAbsent(c, visit, section) {
  const results = resultOptions(visit);
  return section.items.length > 0 && section.items.every((it) => results.find(
    (o) => o.code === c.results?.[it.check_item_id]?.code)?.party_absent);
}

const PHONE_RE = /^[0-9+\- ]{1,30}$/;

/** Return {field: message} for everything that stops "完成" (mirrors the server's rules). */
export function validate(c, visit, section) {
  const e = {};
  const results = resultOptions(visit);
  const methods = methodOptions(visit);
  const followUps = followUpOptions(visit);
  if (!c.check_in?.at) e.check_in = t('请先签到（记录到达时间和位置）。');
  if (visit.task?.unannounced) {
    if (c.notice !== 'unannounced') e.notice = t('本任务不得事先告知。');
  } else if (!['served', 'not_served'].includes(c.notice)) {
    e.notice = t('请选择是否已送达告知书。');
  }
  let anyNoCheck = false;
  for (const item of section.items) {
    const id = item.check_item_id;
    const r = c.results[id] || {};
    const opt = results.find((o) => o.code === r.code);
    if (!opt) e[`result-${id}`] = t('请选择检查结果。');
    if (opt && !opt.no_check && !methods.some((m) => m.code === r.method)) e[`method-${id}`] = t('请选择检查方式。');
    if (opt?.problem) {
      if (!(r.problems || '').trim()) e[`problems-${id}`] = t('发现问题时必须填写发现的问题。');
      if (!(r.handling || '').trim()) e[`handling-${id}`] = t('发现问题时必须填写处理情况。');
      if (!(r.legal_basis || '').trim()) e[`basis-${id}`] = t('发现问题时必须填写法律依据。');
      if (!r.follow_up || r.follow_up === 'none' || !followUps.some((f) => f.code === r.follow_up)) {
        e[`followup-${id}`] = t('发现问题时请选择后续处理措施。');
      }
    }
    if (opt?.no_check) { anyNoCheck = true; continue; } // unreachable/uncooperative: no full checklist [000#21]
    for (const q of item.template?.questions || []) {
      const key = `${item.check_item_id}-${q.id}`;
      const v = c.answers[key];
      if (q.kind === 'photo') {
        if (q.required && !c.photos.some((p) => p.ref === key)) e[`q-${key}`] = t('此项必须拍照。');
        continue;
      }
      const empty = v == null || v === '' || (Array.isArray(v) && !v.length);
      if (q.required && empty) { e[`q-${key}`] = t('此项必填。'); continue; }
      if (!empty && q.kind === 'number') {
        const n = Number(v);
        if (!Number.isFinite(n)) e[`q-${key}`] = t('请输入数字。');
        else if (q.min != null && n < Number(q.min)) e[`q-${key}`] = t('不能小于 {n}。', { n: q.min });
        else if (q.max != null && n > Number(q.max)) e[`q-${key}`] = t('不能大于 {n}。', { n: q.max });
      }
    }
  }
  const phone = (c.party?.liaison_phone || '').trim();
  if (phone && !PHONE_RE.test(phone)) e['party-phone'] = t('联系电话只能包含数字、+、- 和空格（最多 30 位）。');
  const absent = allPartyAbsent(c, visit, section);
  if ((anyNoCheck || c.business.mode === 'absent') && !c.photos.length && !(c.evidence_notes || '').trim()) {
    e.evidence_notes = t('无法联系或不配合检查时，请拍照或写明取证情况。');
  }
  for (const m of MEASURES) {
    if (c.measures[m.code]?.on && !c.measures[m.code].form) e[`measure-${m.code}`] = t('请选择措施的形式。');
  }
  const b = c.business;
  if (absent && b.mode !== 'absent') {
    e['biz-mode'] = t('所有事项均为无法联系时，请选择“无法联系/无人在场”。');
  } else if (b.mode === 'absent') {
    if (!absent) e['biz-mode'] = t('只有所有事项均为无法联系时，才能选择“无法联系/无人在场”。');
  } else if (b.mode === 'signature') {
    if (!b.name.trim()) e['biz-name'] = t('请填写签字人姓名。');
    if (!b.role.trim()) e['biz-role'] = t('请填写签字人职务。');
    if (!b.signature) e['sig-business'] = t('请被检查对象签字。');
  } else if (b.mode === 'stamp') {
    if (!b.stamp_photo) e['stamp-photo'] = t('请拍摄加盖公章的纸质记录表。');
  } else {
    const r = b.refusal;
    if (!r.reason.trim()) e['refusal-reason'] = t('请填写拒绝签字的理由。');
    if (!r.at) e['refusal-at'] = t('请填写时间。');
    if (!r.place.trim()) e['refusal-place'] = t('请填写地点。');
    if (!r.statement.trim()) e['refusal-statement'] = t('请填写拒签情况说明。');
    if (!r.inspector_signature) e['sig-refusal'] = t('检查人员须在拒签说明上签字。');
  }
  for (const m of visit.team?.members || []) {
    if (!c.inspectors[m.inspector_id]?.signature) e[`sig-inspector-${m.inspector_id}`] = t('{name} 尚未签字。', { name: m.name });
  }
  return e;
}

// -- the screen ---------------------------------------------------------------------------------

export async function renderForm(main, visitId, opts) {
  const { header, afterSave } = opts;
  open = true;
  document.dispatchEvent(new CustomEvent('form-state'));
  const [visit, session] = await Promise.all([db.getVisit(visitId), db.getMeta('session')]);
  const current = opts.current || (() => true);
  const back = `#/visit/${visitId}`;
  const deptId = myDepartment(visit, session);
  const section = (visit?.sections || []).find((s) => s.department_id === deptId);
  if (!current()) return;
  if (!visit || !section) {
    clear(main, header(t('现场检查'), back), h('p.card', t('您不是该检查小组中负责本部门事项的检查人员。')));
    return;
  }
  const mine = (await db.recordsForVisit(visitId)).filter((r) => r.department_id === deptId);
  if (!current()) return;
  let draft = mine.find((r) => r.status === 'draft');
  const latest = mine.filter((r) => r.status !== 'superseded').pop() || mine[mine.length - 1];
  const rv = sectionReview(visit, deptId, mine);
  // returned, and this phone has no copy of the returned version: correct it from the server's copy
  const serverCopy = draft ? null : serverReturnedCopy(visit, deptId, mine, rv);
  if (serverCopy) { renderLocked(main, visit, section, serverCopy, { header, back, afterSave, rv }); return; }
  if (!draft && latest) { renderLocked(main, visit, section, latest, { header, back, afterSave, rv }); return; }
  if (!draft && rv.locked) {
    // consolidated or accepted, and nothing of it on this phone: nothing to edit here
    clear(main, header(t('现场检查记录'), back), h('section.card#record-locked', { dataset: { status: 'reviewed' } },
      h('h2', section.department), reviewBox(rv, { id: 'review-banner' }), h('p.hint', t('本部门记录已由组长汇总，不能再修改。'))));
    return;
  }
  if (draft && (draft.content?.schema || 1) < CONTENT_SCHEMA) {
    upgradeContent(draft.content, visit); // a draft of an older app version: upgraded in place, nothing lost
    await db.saveDraft(draft);
    if (!current()) return;
  } else if (draft) {
    upgradeContent(draft.content, visit);
  }
  if (!draft) {
    const prevUuid = latestServerUuid(visit, deptId);
    draft = { uuid: crypto.randomUUID(), visit_id: visit.id, department_id: deptId, parent_uuid: null,
      server_parent_uuid: prevUuid, base_version: serverVersion(visit, deptId), content: emptyContent(visit),
      photos: [], finished: false, created_at: new Date().toISOString() };
  }
  new FormView(main, visit, section, draft, { header, back, afterSave, current, inspectorId: session?.user?.inspector_id,
    rv }).render();
}

/**
 * The review state of a section (visit page and record alike): 审核退回 with the reviewer's comment
 * (prominent while it still needs a correction, `hint` saying what to do), 已汇总，待审核, 已审核通过, 已公示.
 * `id`: the element's id where the screen has one.
 */
export function reviewBox(rv, { id = '', hint = t('请按审核意见修改后重新完成。') } = {}) {
  const r = rv?.review;
  if (!r) return null;
  const tag = id ? `#${id}` : '';
  if (r.status === 'returned') {
    return h(`div.card.review-returned${rv.open ? '.error' : ''}${tag}`, { role: rv.open ? 'alert' : null,
      dataset: { status: 'returned', open: rv.open ? '1' : '0' } },
    h('strong', t(REVIEW_LABELS.returned)), r.decided_at ? h('span.hint', ` · ${fmtTime(r.decided_at)}`) : null,
    h('p.review-comment', t('审核意见'), '：', r.comment || '—'),
    h('p.hint', rv.open ? hint : t('已提交更正版本，待组长重新汇总。')));
  }
  return h(`p.badge.${r.status === 'pending_review' ? 'warn' : 'ok'}.review-status${tag}`, { dataset: { status: r.status } },
    t(REVIEW_LABELS[r.status] || r.status));
}

function renderLocked(main, visit, section, rec, { header, back, rv }) {
  const c = rec.content;
  const statusText = { queued: t('已完成，待同步'), synced: t('已同步'), conflict: t('需处理：版本冲突'),
    attention: t('需处理'), superseded: t('已由更正后的版本取代') }[rec.status] || rec.status;
  const fromServer = !!rec.from_server;
  const results = resultOptions(visit);
  const methods = methodOptions(visit);
  const fieldMsgs = Object.values(rec.error_fields || {});
  // consolidated (待审核) or accepted: read-only; a version the server refused as section_locked stays
  // on the phone with the server's message, but correcting it would not help
  const readOnly = !!rv?.locked && (rec.receipt?.version == null || rec.receipt.version <= (rv.review.version ?? 0)
    || rec.error_code === 'section_locked');
  const reopen = !!rv?.open;
  const refused = rec.status === 'attention' && !readOnly;
  const biz = c.business?.mode === 'signature' ? `${c.business.name}（${c.business.role}）`
    : t(BUSINESS_MODE_LABELS[c.business?.mode] || c.business?.mode || '—');
  clear(main, header(t('现场检查记录'), back),
    h('section.card#record-locked', { dataset: { uuid: rec.uuid, status: rec.status } },
      h('h2', section.department),
      reviewBox(rv, { id: 'review-banner' }),
      h(`p.badge.${rec.status === 'synced' ? 'ok' : rec.status === 'queued' ? 'warn' : 'danger'}#record-status`, statusText),
      fromServer ? h('p.hint#server-copy', t('本机没有这份记录：以下是服务器保存的第 {v} 版（被退回的版本）。修改时以它为底稿，已录入的内容不必重新填写。',
        { v: rec.server_version })) : null,
      rec.error ? h('p.error#record-error', { role: 'alert' }, rec.error) : null,
      fieldMsgs.length ? h('ul.error#record-error-fields', fieldMsgs.map((m) => h('li', String(m)))) : null,
      refused ? h('p.hint', t('服务器没有接收这份记录，它仍保存在本机。请点“修改后重新发送”，按提示更正后再完成。')) : null,
      rec.receipt ? h('p.hint', t('服务器记录号'), ` ${rec.receipt.record_id} · v${rec.receipt.version}`,
        rec.receipt.complete ? '' : ` · ${t('照片未全部到达')}`) : null,
      h('dl.props',
        h('dt', t('签到')), h('dd', c.check_in ? fmtTime(c.check_in.at) : '—'),
        h('dt', t('告知')), h('dd', t(NOTICE_LABELS[c.notice] || '—')),
        section.items.map((it) => {
          const r = c.results[it.check_item_id] || {};
          const res = results.find((o) => o.code === r.code);
          const how = methods.find((m) => m.code === r.method);
          return [h('dt', it.name), h('dd', res ? optLabel(res) : '—', how ? ` · ${optLabel(how)}` : '')];
        }),
        h('dt', t('照片')), h('dd', String(referencedPhotos(c).length)),
        h('dt', t('被检查对象')), h('dd', biz)),
      readOnly ? h('p.hint#read-only', rv.review.status === 'pending_review'
        ? t('本部门记录已由组长汇总，正在审核，不能再修改。') : t('本部门记录已审核，只读。'))
        : h('p.hint', t('记录已锁定。修改会生成新的版本，原版本保留。')),
      readOnly ? null : h(`button.${refused || reopen ? 'primary' : 'secondary'}#new-version`, { type: 'button', onclick: async () => {
        // a returned section is corrected on top of the server's current version
        const base = reopen ? Math.max(rec.receipt?.version ?? 0, rec.server_version ?? 0, serverVersion(visit, rec.department_id))
          : rec.receipt?.version ?? rec.base_version;
        const draft = newVersionDraft(rec, visit, { base, fromServer: reopen });
        if (refused) {
          draft.server_errors = serverFieldErrors(rec.error_fields);
          draft.server_message = rec.error || null;
        }
        await db.saveDraft(draft);
        window.dispatchEvent(new HashChangeEvent('hashchange'));
      } }, refused ? t('修改后重新发送') : reopen ? t('按审核意见修改') : t('修改（生成新版本）'))));
}

class FormView {
  constructor(main, visit, section, draft, opts) {
    Object.assign(this, { main, visit, section, draft, opts });
    this.c = draft.content;
    this.errors = {};
    // the server's field messages for a refused record being corrected; each goes when its field changes
    this.serverErrors = { ...(draft.server_errors || {}) };
    this.saveState = draft.saved_at ? { text: t('已保存'), state: 'saved' } : { text: t('尚未保存'), state: 'unsaved' };
    this.writing = null;
    this.again = false;
  }

  /** Local validation messages, plus the server's for fields not touched since. */
  allErrors() { return { ...this.serverErrors, ...this.errors }; }

  // a field was changed: the server's message about it no longer applies
  touched(ev) {
    const target = ev.target;
    const ids = [target?.id, target?.name, target?.closest?.('[data-field]')?.dataset.field].filter(Boolean);
    let hit = false;
    for (const id of ids) if (this.serverErrors[id]) { delete this.serverErrors[id]; hit = true; }
    if (hit) { this.draft.server_errors = this.serverErrors; this.refreshErrors(); }
  }

  // every change lands in IndexedDB now; writes are serialised so the last state always wins
  async persist() {
    this.setSaveState(t('保存中…'), 'saving');
    if (this.writing) { this.again = true; return this.writing; }
    this.writing = (async () => {
      do {
        this.again = false;
        this.draft.content = this.c;
        this.draft.photos = referencedPhotos(this.c);
        this.draft.server_errors = this.serverErrors;
        await db.saveDraft(this.draft);
        this.draft.saved_at = new Date().toISOString(); // a re-render must not say "尚未保存" again
      } while (this.again);
    })();
    try {
      await this.writing;
      this.refreshErrors();
      this.setSaveState(t('已保存 {time}', { time: new Date().toLocaleTimeString() }), 'saved');
    } catch (e) {
      this.setSaveState(t('保存失败：{msg}', { msg: e.message }), 'error');
    } finally {
      this.writing = null;
    }
  }

  // after a refused "完成", messages disappear as soon as their field is put right
  refreshErrors() {
    if (!this.attempted && !Object.keys(this.serverErrors).length && !document.getElementById('form-errors')) return;
    if (this.attempted) this.errors = validate(this.c, this.visit, this.section);
    const all = this.allErrors();
    for (const el of this.main.querySelectorAll('.field-error[data-for]')) {
      if (!all[el.dataset.for]) {
        el.remove();
        document.getElementById(el.dataset.for)?.removeAttribute('aria-invalid');
      }
    }
    const box = document.getElementById('form-errors');
    if (box) {
      if (!Object.keys(all).length) box.remove();
      else clear(box, ...this.errorBox(all));
    }
  }

  errorBox(all) {
    const n = Object.keys(all).length;
    return [
      this.draft.server_message ? h('p#server-message', t('服务器退回'), '：', this.draft.server_message) : null,
      h('strong', t('还有 {n} 处需要填写或更正：', { n })), h('ul', Object.values(all).map((m) => h('li', m)))];
  }

  setSaveState(text, state) {
    this.saveState = { text, state };
    const el = document.getElementById('save-state');
    if (el) { el.textContent = text; el.dataset.state = state; }
  }

  rerender() {
    const y = window.scrollY;
    if (this.attempted) this.errors = validate(this.c, this.visit, this.section);
    this.render();
    window.scrollTo(0, y);
  }

  err(field) {
    const msg = this.errors[field] || this.serverErrors[field];
    return msg ? h('p.field-error', { role: 'alert', dataset: { for: field } }, msg) : null;
  }

  text(id, value, onInput, { multiline = false, type = 'text', ...attrs } = {}) {
    const el = h(multiline ? 'textarea' : 'input', { id, name: id, type: multiline ? null : type, value: value ?? '', ...attrs,
      'aria-invalid': this.errors[id] || this.serverErrors[id] ? 'true' : null,
      oninput: (ev) => { onInput(ev.target.value); this.persist(); } });
    return el;
  }

  render() {
    if (!this.opts.current()) return; // the user went elsewhere (e.g. while a photo was processed)
    for (const u of urls.splice(0)) URL.revokeObjectURL(u);
    const { visit, section, c } = this;
    const all = this.allErrors();
    this.normaliseBusinessMode();
    clear(this.main, this.opts.header(visit.object?.name || t('现场检查'), this.opts.back),
      h('form.onsite#onsite-form', { dataset: { uuid: this.draft.uuid }, onsubmit: (ev) => ev.preventDefault(),
        oninput: (ev) => this.touched(ev), onchange: (ev) => this.touched(ev) },
        h('p.hint.save-state#save-state', { 'aria-live': 'polite', dataset: { state: this.saveState.state } }, this.saveState.text),
        this.opts.rv?.open ? reviewBox(this.opts.rv, { id: 'review-banner' }) : null,
        Object.keys(all).length ? h('div.card.error#form-errors', { role: 'alert' }, this.errorBox(all)) : null,
        this.checkInCard(), this.noticeCard(),
        section.items.map((it) => this.itemCard(it)),
        this.findingsCard(), this.photosCard(), this.partyCard(), this.businessCard(), this.inspectorsCard(),
        h('div.form-actions', h('button.primary#finish', { type: 'button', onclick: () => this.finish() }, t('完成')))));
    this.mountPads();
  }

  checkInCard() {
    const ci = this.c.check_in;
    let where = null;
    if (ci?.gps) where = t('位置 {lat}, {lng}（精度 ±{acc} 米）', { lat: ci.gps.lat.toFixed(5), lng: ci.gps.lng.toFixed(5), acc: Math.round(ci.gps.accuracy_m) });
    else if (ci?.gps_error === 'permission_denied') where = t('定位权限被拒绝（已记录）');
    else if (ci?.gps_error) where = t('未能定位（已记录）');
    return h('section.card#checkin-card', h('h2', t('签到')),
      ci ? h('p#checkin-info', t('到达时间'), ' ', fmtTime(ci.at), h('br'), where) : null,
      h('button#checkin', { type: 'button', class: ci ? 'secondary' : '', onclick: async (ev) => {
        ev.target.disabled = true;
        ev.target.textContent = t('正在定位…');
        const at = new Date().toISOString();
        const pos = await currentPosition(8000);
        this.c.check_in = { at, gps: pos.error ? null : pos, gps_error: pos.error || null };
        await this.persist();
        this.rerender();
      } }, ci ? t('重新签到') : t('签到')),
      this.err('check_in'));
  }

  noticeCard() {
    if (this.visit.task?.unannounced) {
      // an unannounced task has nothing to choose: the record says so [notice: 'unannounced']
      if (this.c.notice !== 'unannounced') { this.c.notice = 'unannounced'; this.persist(); }
      return h('section.card#notice-card', h('h2', t('告知')),
        h('p#notice-unannounced', h('strong', t('不事先告知'))), h('p.hint', t('本任务不得事先告知。')), this.err('notice'));
    }
    const radio = (value, label) => h('label.choice', h('input', { type: 'radio', name: 'notice', id: `notice-${value}`,
      value, checked: this.c.notice === value, onchange: () => { this.c.notice = value; this.persist(); } }), label);
    return h('section.card#notice-card', { dataset: { field: 'notice' } }, h('h2', t('告知')),
      radio('served', t('已送达告知书')), radio('not_served', t('未送达告知书')),
      this.err('notice'));
  }

  question(item, q) {
    const key = `${item.check_item_id}-${q.id}`;
    const id = `q-${key}`;
    const a = this.c.answers;
    const set = (v) => { a[key] = v; this.persist(); };
    let input;
    const opts = (list, multi) => h('div.choices', list.map(([value, label], i) => h('label.choice',
      h('input', { type: multi ? 'checkbox' : 'radio', name: id, id: `${id}-${i}`, value,
        checked: multi ? (a[key] || []).includes(value) : a[key] === value,
        onchange: (ev) => {
          if (!multi) { set(value); return; }
          const cur = new Set(a[key] || []);
          if (ev.target.checked) cur.add(value); else cur.delete(value);
          set([...cur]);
        } }), label)));
    switch (q.kind) {
      case 'yes_no_na': input = opts([['yes', t('是')], ['no', t('否')], ['na', t('不适用')]]); break;
      case 'single_choice': input = opts((q.options || []).map((o) => [o, o])); break;
      case 'multiple_choice': input = opts((q.options || []).map((o) => [o, o]), true); break;
      case 'number': input = h('span.inline', this.text(id, a[key], set, { type: 'number', inputmode: 'decimal', step: 'any',
        min: q.min ?? null, max: q.max ?? null }), q.unit ? ` ${q.unit}` : ''); break;
      case 'date': input = this.text(id, a[key], set, { type: 'date' }); break;
      case 'photo': input = this.photoPicker(`${id}-photo`, { purpose: 'question', ref: key }); break;
      default: input = this.text(id, a[key], set, { multiline: true, rows: 2 });
    }
    const photos = q.kind === 'photo' ? this.thumbs(this.c.photos.filter((p) => p.ref === key)) : null;
    return h('div.question', { dataset: { key } },
      h('p.qtext', q.text, q.required ? h('span.req', { 'aria-label': t('必填') }, ' *') : null),
      q.help_text ? h('p.hint', q.help_text) : null,
      q.legal_basis ? h('p.hint', t('依据'), '：', q.legal_basis) : null,
      input, photos, this.err(id));
  }

  itemCard(item) {
    const id = item.check_item_id;
    const r = this.c.results[id] || (this.c.results[id] = { code: '', method: '', problems: '', handling: '' });
    const results = resultOptions(this.visit);
    const opt = results.find((o) => o.code === r.code);
    const methods = methodOptions(this.visit);
    const questions = (item.template?.questions || []).slice().sort((x, y) => x.position - y.position);
    return h('section.card.item', { dataset: { checkItemId: id } },
      h('h2', item.name),
      item.legal_basis ? h('p.hint', t('检查依据'), '：', item.legal_basis) : null,
      opt?.no_check ? h('p.hint', t('该结果可不填写检查表，但须取证（拍照或取证说明）。')) : null,
      questions.map((q) => this.question(item, q)),
      h('label', { for: `result-${id}` }, t('检查结果')),
      h('select', { id: `result-${id}`, name: `result-${id}`, onchange: (ev) => { r.code = ev.target.value; this.persist(); this.rerender(); } },
        h('option', { value: '' }, t('请选择')),
        results.map((o) => h('option', { value: o.code, selected: r.code === o.code }, optLabel(o)))),
      this.err(`result-${id}`),
      opt?.no_check ? null : h('fieldset.methods', { id: `method-${id}`, dataset: { field: `method-${id}` } },
        h('legend', t('检查方式'), h('span.req', ' *')),
        h('div.choices', methods.map((m) => h('label.choice', h('input', { type: 'radio', name: `method-${id}`,
          id: `method-${id}-${m.code}`, value: m.code, checked: r.method === m.code,
          onchange: () => { r.method = m.code; this.persist(); } }), optLabel(m)))),
        this.err(`method-${id}`)),
      opt?.problem ? [
        h('label', { for: `problems-${id}` }, t('发现的问题'), h('span.req', ' *')),
        this.text(`problems-${id}`, r.problems, (v) => { r.problems = v; }, { multiline: true, rows: 2 }),
        this.err(`problems-${id}`),
        h('label', { for: `handling-${id}` }, t('处理情况'), h('span.req', ' *')),
        this.text(`handling-${id}`, r.handling, (v) => { r.handling = v; }, { multiline: true, rows: 2 }),
        this.err(`handling-${id}`),
        h('label', { for: `basis-${id}` }, t('法律依据'), h('span.req', ' *')),
        this.text(`basis-${id}`, r.legal_basis, (v) => { r.legal_basis = v; }, { multiline: true, rows: 2, placeholder: item.legal_basis || '' }),
        item.legal_basis ? h('button.small.secondary', { type: 'button', onclick: () => { r.legal_basis = item.legal_basis; this.persist(); this.rerender(); } },
          t('填入事项依据')) : null,
        this.err(`basis-${id}`),
        h('label', { for: `followup-${id}` }, t('后续处理措施'), h('span.req', ' *')),
        h('select', { id: `followup-${id}`, name: `followup-${id}`, onchange: (ev) => { r.follow_up = ev.target.value; this.persist(); } },
          h('option', { value: '' }, t('请选择')),
          followUpOptions(this.visit).filter((f) => f.code !== 'none')
            .map((f) => h('option', { value: f.code, selected: r.follow_up === f.code }, optLabel(f)))),
        this.err(`followup-${id}`),
      ] : null);
  }

  findingsCard() {
    const c = this.c;
    return h('section.card#findings-card', h('h2', t('发现的问题与措施')),
      h('label', { for: 'findings' }, t('发现的问题')),
      this.text('findings', c.findings, (v) => { c.findings = v; }, { multiline: true, rows: 3 }),
      h('fieldset', h('legend', t('采取的措施')),
        MEASURES.map((m) => {
          const cur = c.measures[m.code] || {};
          return h('div.measure',
            h('label.choice', h('input', { type: 'checkbox', id: `measure-${m.code}`, checked: cur.on,
              onchange: (ev) => { c.measures[m.code] = { ...cur, on: ev.target.checked }; this.persist(); this.rerender(); } }), t(m.label)),
            cur.on ? h('select', { id: `measure-${m.code}-form`, 'aria-label': t('形式'),
              onchange: (ev) => { c.measures[m.code] = { ...c.measures[m.code], form: ev.target.value }; this.persist(); } },
            h('option', { value: '' }, t('形式')),
            MEASURE_FORMS.map((f) => h('option', { value: f.code, selected: cur.form === f.code }, t(f.label)))) : null,
            this.err(`measure-${m.code}`));
        })),
      h('label', { for: 'evidence_notes' }, t('取证说明')),
      this.text('evidence_notes', c.evidence_notes, (v) => { c.evidence_notes = v; }, { multiline: true, rows: 2 }),
      this.err('evidence_notes'),
      h('label', { for: 'notes' }, t('备注')),
      this.text('notes', c.notes, (v) => { c.notes = v; }, { multiline: true, rows: 2 }));
  }

  photoPicker(id, meta, single = null) {
    const onFiles = async (ev) => {
      const files = [...ev.target.files];
      ev.target.value = '';
      if (!files.length) return;
      this.setSaveState(t('正在处理照片…'), 'saving');
      for (const file of files) {
        try {
          const [gps, photo] = await Promise.all([currentPosition(4000), processPhoto(file, { visitId: this.visit.id })]);
          photo.gps = gps.error ? null : gps;
          await db.putPhoto(photo);
          const m = { sha256: photo.sha256, captured_at: photo.captured_at, gps: photo.gps, size: photo.size,
            width: photo.width, height: photo.height, ...meta };
          if (single) single(photo.sha256, m); else this.c.photos.push(m);
        } catch (e) {
          this.setSaveState(t('照片无法读取：{msg}', { msg: e.message }), 'error');
        }
      }
      delete this.serverErrors.evidence_notes;
      await this.persist();
      this.rerender();
    };
    return h('div.photo-picker',
      h('label.button.secondary', { for: id }, t('拍照')),
      h('input.visually-hidden', { id, type: 'file', accept: 'image/*', capture: 'environment', multiple: !single, onchange: onFiles }),
      h('label.button.secondary', { for: `${id}-gallery` }, t('从相册选择')),
      h('input.visually-hidden', { id: `${id}-gallery`, type: 'file', accept: 'image/*', multiple: !single, onchange: onFiles }));
  }

  thumbs(list, onRemove) {
    return h('ul.thumbs', list.map((p) => {
      const li = h('li', { dataset: { sha256: p.sha256 } }, h('span.hint', `${p.sha256.slice(0, 12)}… · ${fmtTime(p.captured_at)}`,
        p.gps ? ` · ±${Math.round(p.gps.accuracy_m)}m` : ''));
      db.getPhoto(p.sha256).then((ph) => {
        // a photo of a returned version this phone never had: it is on the server (shown from there)
        if (!ph) {
          // offline the server cannot show it: say so (nothing is lost, nothing to take again)
          const img = h('img', { src: `/api/photos/${p.sha256}/thumb`, alt: t('照片'), width: 96, height: 96,
            onerror: () => img.replaceWith(h('span.hint.photo-on-server', t('照片在服务器上，联网后显示；无需重新拍摄'))) });
          li.prepend(img);
          return;
        }
        const u = URL.createObjectURL(ph.blob);
        urls.push(u);
        li.prepend(h('img', { src: u, alt: t('照片'), width: 96, height: 96 }));
      });
      li.append(h('button.small.secondary', { type: 'button', onclick: () => {
        if (onRemove) onRemove(p); else this.c.photos = this.c.photos.filter((x) => x !== p);
        this.persist(); this.rerender();
      } }, t('删除')));
      return li;
    }));
  }

  photosCard() {
    const list = this.c.photos.filter((p) => p.purpose === 'evidence');
    return h('section.card#photos-card', h('h2', t('现场照片')),
      this.photoPicker('photo-input', { purpose: 'evidence' }),
      h('p.hint#photo-count', { dataset: { count: list.length } }, t('已拍 {n} 张', { n: list.length })),
      this.thumbs(list));
  }

  pad(key, label, saved, onSigned, onClear) {
    if (saved) {
      return h('div.sig', { dataset: { sig: key, signed: '1' } }, h('p', label),
        h('img.sig-img', { src: saved, alt: label }),
        h('button.small.secondary', { type: 'button', onclick: () => { onClear(); this.persist(); this.rerender(); } }, t('重新签字')),
        this.err(`sig-${key}`));
    }
    const canvas = h('canvas', { dataset: { sig: key }, 'aria-label': label, height: 180 });
    canvas.onSigned = onSigned;
    return h('div.sig', { dataset: { sig: key } }, h('p', label), canvas,
      h('button.small.secondary', { type: 'button', onclick: () => canvas.pad?.clear() }, t('清除')),
      h('button.small', { type: 'button', dataset: { confirm: key }, onclick: () => {
        if (!canvas.pad || canvas.pad.isEmpty()) return;
        onSigned(canvas.pad.toDataURL('image/png'));
        delete this.serverErrors[`sig-${key}`];
        this.persist(); this.rerender();
      } }, t('确认签字')),
      this.err(`sig-${key}`));
  }

  mountPads() {
    for (const canvas of this.main.querySelectorAll('canvas[data-sig]')) {
      const ratio = Math.max(window.devicePixelRatio || 1, 1);
      const w = canvas.parentElement.clientWidth || 300;
      canvas.width = w * ratio; canvas.height = 180 * ratio;
      canvas.style.width = `${w}px`; canvas.style.height = '180px';
      canvas.getContext('2d').scale(ratio, ratio);
      canvas.pad = new SignaturePad(canvas, { backgroundColor: '#ffffff', penColor: '#000' });
    }
  }

  partyCard() {
    const p = this.c.party || (this.c.party = { liaison_name: '', liaison_phone: '', opinion: '' });
    return h('section.card#party-card', h('h2', t('被检查对象联络人与意见')),
      h('label', { for: 'party-liaison' }, t('联络人')),
      this.text('party-liaison', p.liaison_name, (v) => { p.liaison_name = v; }, { autocomplete: 'off' }),
      this.err('party-liaison'),
      h('label', { for: 'party-phone' }, t('联系电话')),
      this.text('party-phone', p.liaison_phone, (v) => { p.liaison_phone = v; }, { type: 'tel', inputmode: 'tel', maxlength: 30 }),
      this.err('party-phone'),
      h('label', { for: 'party-opinion' }, t('被检查对象意见')),
      this.text('party-opinion', p.opinion, (v) => { p.opinion = v; }, { multiline: true, rows: 3,
        placeholder: t('被检查对象对检查过程和结果的意见或反馈（可选）') }),
      this.err('party-opinion'));
  }

  /** Every result is 无法联系 ⇒ the only mode is 'absent' (never a false refusal [000#21]); otherwise never 'absent'. */
  normaliseBusinessMode() {
    const b = this.c.business;
    const absent = allPartyAbsent(this.c, this.visit, this.section);
    if (absent && b.mode !== 'absent') { b.previous_mode = b.mode; b.mode = 'absent'; this.persist(); }
    if (!absent && b.mode === 'absent') { b.mode = b.previous_mode || 'signature'; this.persist(); }
  }

  businessCard() {
    const b = this.c.business;
    const absent = allPartyAbsent(this.c, this.visit, this.section);
    const mode = (value, label) => h('label.choice', h('input', { type: 'radio', name: 'biz-mode', id: `biz-mode-${value}`, value,
      checked: b.mode === value, onchange: () => { b.mode = value; this.persist(); this.rerender(); } }), label);
    let body;
    if (b.mode === 'absent') {
      body = [h('p#absent-info', t('无法联系或无人在场：不需要被检查对象签字，也不需要拒签说明。')),
        h('p.hint', t('请在“现场照片”中拍照，或在“取证说明”中写明取证情况。'))];
    } else if (b.mode === 'signature') {
      body = [
        h('label', { for: 'biz-name' }, t('签字人姓名')), this.text('biz-name', b.name, (v) => { b.name = v; }), this.err('biz-name'),
        h('label', { for: 'biz-role' }, t('职务')), this.text('biz-role', b.role, (v) => { b.role = v; }), this.err('biz-role'),
        this.pad('business', t('被检查对象签字'), b.signature, (d) => { b.signature = d; b.signed_at = new Date().toISOString(); },
          () => { b.signature = null; }),
      ];
    } else if (b.mode === 'stamp') {
      body = [
        h('p.hint', t('拍摄已加盖公章的纸质检查记录表。')),
        b.stamp_photo ? this.thumbs([{ sha256: b.stamp_photo, captured_at: b.stamp_at }],
          () => { b.stamp_photo = null; }) : this.photoPicker('stamp-photo', { purpose: 'stamp' }, (sha, m) => { b.stamp_photo = sha; b.stamp_at = m.captured_at; b.stamp_meta = m; }),
        this.err('stamp-photo'),
      ];
    } else {
      const r = b.refusal;
      if (!r.at) { r.at = new Date().toISOString(); }
      body = [
        h('label', { for: 'refusal-reason' }, t('拒签理由')),
        this.text('refusal-reason', r.reason, (v) => { r.reason = v; }, { multiline: true, rows: 2 }), this.err('refusal-reason'),
        h('label', { for: 'refusal-at' }, t('时间')),
        this.text('refusal-at', toLocalInput(r.at), (v) => { r.at = v ? new Date(v).toISOString() : ''; }, { type: 'datetime-local' }),
        this.err('refusal-at'),
        h('label', { for: 'refusal-place' }, t('地点')), this.text('refusal-place', r.place, (v) => { r.place = v; }), this.err('refusal-place'),
        h('label', { for: 'refusal-witness' }, t('见证人（可选）')), this.text('refusal-witness', r.witness_name, (v) => { r.witness_name = v; }),
        r.witness_photo ? this.thumbs([{ sha256: r.witness_photo, captured_at: r.witness_photo_at }], () => { r.witness_photo = null; })
          : this.photoPicker('witness-photo', { purpose: 'witness' }, (sha, m) => { r.witness_photo = sha; r.witness_photo_at = m.captured_at; r.witness_photo_meta = m; }),
        h('label', { for: 'refusal-statement' }, t('拒签情况说明')),
        this.text('refusal-statement', r.statement, (v) => { r.statement = v; }, { multiline: true, rows: 3 }), this.err('refusal-statement'),
        this.pad('refusal', t('检查人员在拒签说明上签字'), r.inspector_signature, (d) => {
          r.inspector_signature = d; r.inspector_signed_at = new Date().toISOString();
          r.inspector_id = this.opts.inspectorId ?? null;
        }, () => { r.inspector_signature = null; }),
      ];
    }
    return h('section.card#business-card', { dataset: { field: 'biz-mode', mode: b.mode } }, h('h2', t('被检查对象确认')),
      h('div.choices', absent ? mode('absent', t('无法联系/无人在场'))
        : [mode('signature', t('当场签字')), mode('stamp', t('纸质表盖章')), mode('refusal', t('拒绝签字'))]),
      this.err('biz-mode'),
      body);
  }

  inspectorsCard() {
    const members = this.visit.team?.members || [];
    return h('section.card#inspectors-card', h('h2', t('检查人员签字')),
      members.map((m) => this.pad(`inspector-${m.inspector_id}`, `${m.name}（${m.department}）`,
        this.c.inspectors[m.inspector_id]?.signature,
        (d) => { this.c.inspectors[m.inspector_id] = { name: m.name, department_id: m.department_id, signature: d, signed_at: new Date().toISOString() }; },
        () => { delete this.c.inspectors[m.inspector_id]; })));
  }

  async finish() {
    this.attempted = true;
    this.errors = validate(this.c, this.visit, this.section);
    if (Object.keys(this.errors).length) {
      this.render();
      document.getElementById('form-errors')?.scrollIntoView();
      return;
    }
    if (this.writing) await this.writing;
    const b = this.c.business;
    if (b.mode === 'absent') {
      // nobody was there: no party's signature and no refusal signature go with the record [000#21]
      Object.assign(b, { signature: null, signed_at: null, stamp_photo: null });
      if (b.refusal) Object.assign(b.refusal, { inspector_signature: null, inspector_signed_at: null });
    }
    this.draft.content = this.c;
    this.draft.photos = referencedPhotos(this.c);
    delete this.draft.server_errors; // the server judges the corrected version afresh
    delete this.draft.server_message;
    await db.finishRecord(this.draft);
    this.opts.afterSave();
    window.dispatchEvent(new HashChangeEvent('hashchange')); // show the locked record
  }
}

function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
