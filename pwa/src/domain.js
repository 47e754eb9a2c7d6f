// Reference data the app needs offline. The lists are configurable on the server: a pulled visit
// carries `result_options [{code, label, problem, no_check, party_absent}]`, `method_options` and
// `follow_up_options` (docs/field-record.md); these built-in lists are the defaults offline. The ten
// standard result categories are [000#20].
export const DEFAULT_RESULTS = [
  { code: 'no_problem', label: '未发现问题', problem: false },
  { code: 'not_disclosed', label: '未按规定公示应当公示的信息', problem: true },
  { code: 'false_disclosure', label: '公示信息隐瞒真实情况弄虚作假', problem: true },
  { code: 'unreachable', label: '通过登记的住所（经营场所）无法联系', problem: false, no_check: true, party_absent: true },
  { code: 'rectified', label: '发现问题已责令改正', problem: true },
  { code: 'uncooperative', label: '不配合检查情节严重', problem: true, no_check: true },
  { code: 'no_activity', label: '未发现开展本次抽查涉及的经营活动', problem: false },
  { code: 'pending_followup', label: '发现问题待后续处理', problem: true },
  { code: 'qualified', label: '合格', problem: false },
  { code: 'unqualified', label: '不合格', problem: true },
];

export function resultOptions(visit) { return listOr(visit, 'result_options', DEFAULT_RESULTS); }

/** How an item was checked [002#15]. */
export const DEFAULT_METHODS = [
  { code: 'onsite', label: '现场检查' },
  { code: 'documents', label: '书面检查' },
  { code: 'online', label: '网络监测' },
  { code: 'sampling', label: '抽样检测' },
];

function listOr(visit, key, fallback) {
  const list = visit && visit[key];
  return Array.isArray(list) && list.length ? list : fallback;
}

export function methodOptions(visit) { return listOr(visit, 'method_options', DEFAULT_METHODS); }

export function followUpOptions(visit) { return listOr(visit, 'follow_up_options', FOLLOW_UPS); }

export const FOLLOW_UPS = [
  { code: 'none', label: '无' },
  { code: 'order_rectify', label: '责令改正' },
  { code: 'case_filing', label: '移送办案机构' },
  { code: 'notify_dept', label: '抄告相关部门' },
  { code: 'abnormal_list', label: '列入经营异常名录' },
  { code: 'judiciary', label: '移送司法机关' },
];

// 责令停止 / 责令改正, each written, oral or printed on the mobile device [000#20(二)]
export const MEASURES = [
  { code: 'order_stop', label: '责令停止' },
  { code: 'order_rectify', label: '责令改正' },
];
export const MEASURE_FORMS = [
  { code: 'written', label: '书面' },
  { code: 'oral', label: '口头' },
  { code: 'printed', label: '移动端打印' },
];

// What the visit list shows, computed on the device from the local records and the server's state.
export const VISIT_STATES = {
  todo: '待检查',
  in_progress: '进行中',
  done: '已完成',
  to_sync: '待同步',
  synced: '已同步',
  attention: '需处理',
  returned: '审核退回', // my department's section was returned by its reviewer and is not corrected yet
};

export const REGISTRATION_LABELS = {
  active: '存续（在业）', revoked: '吊销', cancelled: '注销', moved_out: '迁出',
};

export const OBJECT_TYPE_LABELS = {
  enterprise: '企业', individual: '个体工商户', cooperative: '农民专业合作社', other: '其他主体', product: '产品',
  project: '项目',
};

export const NOTICE_LABELS = { served: '已送达告知书', not_served: '未送达告知书', unannounced: '不事先告知' };

export const BUSINESS_MODE_LABELS = { signature: '当场签字', stamp: '纸质表盖章', refusal: '拒绝签字',
  absent: '无法联系/无人在场' };

/** The content schema the app writes (docs/field-record.md). */
export const CONTENT_SCHEMA = 2;

/**
 * Bring a record's content up to schema 2 in place, losing nothing: every schema-1 field stays; the
 * new fields start empty; schema 1's "未事先告知" on an announced task becomes 'not_served'.
 * Returns the same object.
 */
export function upgradeContent(c, visit) {
  if (!c || typeof c !== 'object') return c;
  const unannounced = !!visit?.task?.unannounced;
  if ((c.schema || 1) < 2) {
    if (c.notice === 'unannounced' && !unannounced) c.notice = 'not_served';
    c.schema = CONTENT_SCHEMA;
  }
  if (unannounced) c.notice = 'unannounced';
  c.results = c.results || {};
  for (const r of Object.values(c.results)) {
    if (!r || typeof r !== 'object') continue;
    for (const k of ['method', 'problems', 'handling']) if (r[k] == null) r[k] = '';
  }
  c.party = { liaison_name: '', liaison_phone: '', opinion: '', ...(c.party || {}) };
  c.answers = c.answers || {};
  c.measures = c.measures || {};
  c.photos = c.photos || [];
  c.inspectors = c.inspectors || {};
  return c;
}

/** Map a server field path (docs/field-record.md, e.g. `results.12.legal_basis`) to the form's field id. */
export function fieldIdFor(path) {
  const p = String(path || '').split('.');
  const [head, a, b, c] = p;
  if (head === 'results' && a) {
    const map = { code: 'result', method: 'method', legal_basis: 'basis', follow_up: 'followup', problems: 'problems',
      handling: 'handling' };
    return `${map[b] || 'result'}-${a}`;
  }
  if (head === 'answers' && a) return `q-${p.slice(1).join('.')}`;
  if (head === 'inspectors' && a) return `sig-inspector-${a}`;
  if (head === 'party') return { liaison_name: 'party-liaison', liaison_phone: 'party-phone', opinion: 'party-opinion' }[a]
    || 'party-opinion';
  if (head === 'measures' && a) return `measure-${a}`;
  if (head === 'business') {
    if (a === 'refusal') {
      return { reason: 'refusal-reason', at: 'refusal-at', place: 'refusal-place', statement: 'refusal-statement',
        inspector_signature: 'sig-refusal' }[b] || 'sig-refusal';
    }
    return { signature: 'sig-business', name: 'biz-name', role: 'biz-role', stamp_photo: 'stamp-photo' }[a] || 'biz-mode';
  }
  if (['photos', 'evidence', 'evidence_notes'].includes(head)) return 'evidence_notes';
  if (head === 'check_in') return 'check_in';
  if (head === 'notice') return 'notice';
  if (['findings', 'notes'].includes(head)) return head;
  return c === undefined && head ? `form-${head}` : 'form';
}

/** {field id: message} for the server's `details.fields`. */
export function serverFieldErrors(fields) {
  const out = {};
  for (const [path, msg] of Object.entries(fields || {})) {
    const id = fieldIdFor(path);
    out[id] = out[id] ? `${out[id]}；${msg}` : String(msg);
  }
  return out;
}

// -- issue 8: schedule, stage, review, deadline -----------------------------------------------------

/** The back office's stage of a visit (server/visits/models.py VisitStage). */
export const STAGE_LABELS = {
  planned: '待安排', scheduled: '已排期', visited: '已检查', consolidated: '已汇总',
  returned: '审核退回', reviewed: '已审核', published: '已公示',
};
export const STAGE_BADGE = { planned: 'plain', scheduled: 'plain', visited: 'ok', consolidated: 'ok',
  returned: 'danger', reviewed: 'ok', published: 'ok' };

/** A section's review on the server (section_results): what the phone says and allows. */
export const REVIEW_LABELS = { pending_review: '已汇总，待审核', accepted: '已审核通过', returned: '审核退回',
  published: '已公示' };

/** Stages in which the leader may still change the schedule (later: 已检查, locked). */
export const SCHEDULE_EDITABLE_STAGES = ['planned', 'scheduled'];

/** The visit's schedule as the server sent it (older payloads: only `scheduled_on`). */
export function serverSchedule(visit) {
  const s = visit?.schedule || {};
  return { scheduled_on: s.scheduled_on ?? visit?.scheduled_on ?? null, window_start: s.window_start ?? null,
    window_end: s.window_end ?? null, route_order: s.route_order ?? null, note: s.note ?? null };
}

/** The schedule to show and sort by: the leader's local (unsent or refused) edit `pendingItem` (the
 * outbox item of kind 'schedule', if any) over the server's. */
export function scheduleOf(visit, pendingItem) {
  return pendingItem ? { ...serverSchedule(visit), ...pendingItem.body } : serverSchedule(visit);
}

/** Refusals of a schedule edit that no correction can fix (the schedule is locked, or not ours). */
export const SCHEDULE_LOCKED_CODES = ['schedule_locked', 'not_team_leader'];

/** Today's date in Beijing (YYYY-MM-DD): deadlines and "today" are Beijing dates. */
export function beijingToday(now = new Date()) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(now);
}

function minutes(hhmm) {
  const m = /^(\d{1,2})[:：](\d{2})$/.exec(String(hhmm || '').trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

/** Parse a business peak text ("11:00-13:30, 17:00-20:00"; also "～", "至", "，", "；", "、") into
 * [[startMin, endMin], …]; unreadable parts are ignored. */
export function parsePeak(text) {
  const out = [];
  for (const part of String(text || '').split(/[,，;；、\s]+(?=\d)/)) {
    const m = /(\d{1,2}[:：]\d{2})\s*(?:-|–|—|~|～|至|到)\s*(\d{1,2}[:：]\d{2})/.exec(part);
    if (!m) continue;
    const a = minutes(m[1]), b = minutes(m[2]);
    if (a != null && b != null && b > a) out.push([a, b]);
  }
  return out;
}

/** True when the time window [start, end] (end optional: the start alone) overlaps the peak. */
export function overlapsPeak(peakText, start, end) {
  const s = minutes(start);
  if (s == null) return false;
  const e = minutes(end) ?? s;
  return parsePeak(peakText).some(([a, b]) => s < b && e > a || (s === e && s >= a && s < b));
}
