// The agenda ("日程", issue 8 §1/§7): the team's visits by scheduled day (today, then upcoming, then
// past, then "待安排"), in route order, with the time window, the business peak, the team, the
// stage and the result-entry deadline. Everything comes from IndexedDB (the last pull), so it works
// offline. The team leader edits a visit's date, time window, route order and note here: the edit
// is saved locally at once and queued in the outbox as PUT /api/visits/<id>/schedule (the latest
// edit of a visit replaces an unsent older one); a refusal stays visible as "需处理" with the
// server's message until the leader fixes or drops it.
import * as db from './db.js';
import { clear, h } from './dom.js';
import {
  REVIEW_LABELS, SCHEDULE_EDITABLE_STAGES, SCHEDULE_LOCKED_CODES, STAGE_BADGE, STAGE_LABELS, beijingToday, overlapsPeak,
  scheduleOf,
} from './domain.js';
import { t } from './i18n.js';

const ui = { editing: null };

/** True while the leader has a schedule editor open (a sync must not redraw under it). */
export function scheduleEditorOpen() { return ui.editing != null && !!document.getElementById('schedule-editor'); }

/** The leader of the visit's team is the logged-in inspector. */
export function isLeader(visit, session) {
  const me = session?.user?.inspector_id;
  return me != null && visit?.team?.leader?.inspector_id === me;
}

/** "日程由组长…安排。" for a member (not the leader) of the visits' teams: `names` the leaders. */
function leaderText(names) {
  return names.length ? t('日程由组长{name}安排。', { name: names.join('、') }) : t('日程由组长安排。');
}

/** Why the schedule of `visit` cannot be edited by this user, or null when it can. */
export function lockReason(visit, session) {
  if (!isLeader(visit, session)) return leaderText(visit?.team?.leader?.name ? [visit.team.leader.name] : []);
  if (visit.withdrawn) return t('该检查已撤回，不能再安排。');
  const stage = visit.stage || 'planned';
  if (!SCHEDULE_EDITABLE_STAGES.includes(stage)) {
    return t('已实地检查（{stage}），日程已锁定，不能再修改。', { stage: t(STAGE_LABELS[stage] || stage) });
  }
  return null;
}

const WEEKDAYS = ['周日', '周一', '周二', '周三', '周四', '周五', '周六'];

function dayTitle(d, today) {
  const wd = t(WEEKDAYS[new Date(`${d}T00:00:00Z`).getUTCDay()]);
  return d === today ? `${t('今天')} · ${d} ${wd}` : `${d} ${wd}`;
}

function byRoute(a, b) {
  const ra = a.sched.route_order ?? 1e9, rb = b.sched.route_order ?? 1e9;
  if (ra !== rb) return ra - rb;
  const wa = a.sched.window_start || '99', wb = b.sched.window_start || '99';
  if (wa !== wb) return wa < wb ? -1 : 1;
  return (a.v.object?.name || '').localeCompare(b.v.object?.name || '');
}

/** Group the entries: [{key, group, title, list}] in display order. */
function groups(entries, today) {
  const days = new Map();
  const unscheduled = [];
  for (const e of entries) {
    const d = e.sched.scheduled_on;
    if (!d) { unscheduled.push(e); continue; }
    if (!days.has(d)) days.set(d, []);
    days.get(d).push(e);
  }
  const keys = [...days.keys()];
  const upcoming = keys.filter((d) => d >= today).sort();
  const past = keys.filter((d) => d < today).sort().reverse(); // the most recent first
  const out = [];
  for (const d of upcoming) out.push({ key: d, group: d === today ? 'today' : 'upcoming', title: dayTitle(d, today), list: days.get(d) });
  for (const d of past) out.push({ key: d, group: 'past', title: `${dayTitle(d, today)} · ${t('已过')}`, list: days.get(d) });
  if (unscheduled.length) {
    unscheduled.sort((a, b) => (a.v.object?.name || '').localeCompare(b.v.object?.name || ''));
    out.push({ key: '', group: 'unscheduled', title: t('待安排'), list: unscheduled });
  }
  for (const g of out) g.list.sort(byRoute);
  return out;
}

/** "结果录入截止 YYYY-MM-DD" (暂定 + reason; red when overdue), or null before the visit. `short`: the
 * visit list's one-line form (span.sub.due-short, 暂定 without the reason). */
export function dueLine(visit, today = beijingToday(), { short = false } = {}) {
  const due = visit.result_due;
  if (!due?.date) return null;
  const open = !['reviewed', 'published'].includes(visit.stage);
  const overdue = open && due.date < today;
  return h(`${short ? 'span.sub.due-short' : 'p.due'}${overdue ? '.overdue' : ''}`, { dataset: { due: due.date,
    overdue: overdue ? '1' : '0', provisional: due.provisional ? '1' : '0' } },
  t('结果录入截止 {date}', { date: due.date }),
  overdue ? h('strong.overdue-flag', ` · ${t('已逾期')}`) : null,
  !due.provisional ? null : short ? `（${t('暂定')}）`
    : [' ', h('span.badge.warn.provisional', t('暂定')), h('span.provisional-reason', ` ${due.reason || ''}`)]);
}

/** The back office's stage of the visit as a badge. */
export function stageBadge(visit) {
  const stage = visit.stage || 'planned';
  return h(`span.badge.stage.${STAGE_BADGE[stage] || 'plain'}`, { dataset: { stage } }, t(STAGE_LABELS[stage] || stage));
}

/** True when the server refused the leader's local edit `item` for good (locked, or no longer the
 * leader): no correction helps, only dropping it. */
export function editLocked(item) {
  return item?.state === 'attention' && SCHEDULE_LOCKED_CODES.includes(item.error_code);
}

/** The leader's local schedule edit of a visit (agenda and visit page alike): "本机修改，待同步", or the
 * server's refusal as "需处理" with a button to drop the edit; then `onDrop()`. */
export function localEditNote(item, onDrop) {
  if (!item) return null;
  if (item.state !== 'attention') return h('p.badge.warn.schedule-pending', t('本机修改，待同步'));
  const locked = editLocked(item);
  const fields = Object.values(item.error_fields || {});
  return h('div.card.error.schedule-attention', { role: 'alert', dataset: { locked: locked ? '1' : '0' } },
    h('strong', t('需处理')), '：', item.last_error || '',
    fields.length ? h('ul', fields.map((m) => h('li', String(m)))) : null,
    h('p.hint', locked ? t('该日程已不能修改，请放弃本机修改。')
      : t('服务器没有接受这次日程修改，本机仍保留。请修改后重新保存，或放弃本机修改。')),
    h('button.secondary.small.sched-drop', { type: 'button', onclick: async () => { await db.dropSchedule(item.visit_id); onDrop(); } },
      t('放弃本机修改')));
}

/** The visits whose route order is numbered together: one team of one task. */
function teamKey(v) { return `${v.task?.id ?? v.task?.code ?? ''}/${v.team?.number ?? ''}`; }

function windowText(s) {
  if (!s.window_start && !s.window_end) return t('未定时间');
  return `${s.window_start || '…'}–${s.window_end || '…'}`;
}

function peakLine(visit, s) {
  const peak = visit.object?.business_peak;
  if (!peak) return null;
  const clash = overlapsPeak(peak, s.window_start, s.window_end);
  return h(`p.peak${clash ? '.clash' : ''}`, { dataset: { clash: clash ? '1' : '0' } },
    clash ? h('strong', `⚠ ${t('与经营高峰重叠')}：`) : null, t('经营高峰'), ' ', peak);
}

function reviewNote(visit) {
  const returned = (visit.sections || []).filter((s) => s.review?.status === 'returned');
  if (!returned.length) return null;
  return h('p.error.returned-note', `${t(REVIEW_LABELS.returned)}：`, returned.map((s) => s.department).join('、'));
}

export async function screenAgenda(main, { header, afterSave, current, session, tabs }) {
  const [visits, pending] = await Promise.all([db.listVisits(), db.pendingSchedules()]);
  if (!current()) return;
  const today = beijingToday();
  const entries = visits.map((v) => ({ v, sched: scheduleOf(v, pending.get(v.id)), item: pending.get(v.id) }));
  const list = groups(entries, today);
  const leaderSomewhere = visits.some((v) => isLeader(v, session));
  // a member is told once who plans the schedule (not on every visit)
  const leaders = [...new Set(visits.filter((v) => !isLeader(v, session)).map((v) => v.team?.leader?.name || ''))];
  const memberSomewhere = leaders.length > 0;
  const redraw = () => screenAgenda(main, { header, afterSave, current, session, tabs });

  async function save(bodies) {
    await db.queueSchedules(bodies);
    ui.editing = null;
    afterSave();
    await redraw();
  }

  const editable = (e) => !lockReason(e.v, session) && !editLocked(e.item);

  /** The visits of `entry`'s team on that day whose route order the leader may change, in route order. */
  function routeGroup(day, entry) {
    return day.list.filter((e) => teamKey(e.v) === teamKey(entry.v) && editable(e));
  }

  function move(day, entry, delta) {
    const group = routeGroup(day, entry);
    const i = group.indexOf(entry);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= group.length) return;
    [group[i], group[j]] = [group[j], group[i]];
    // the team's other visits of the day (already visited: locked) keep their numbers; the editable
    // ones take the lowest free numbers in their new order, so no number is used twice
    const taken = new Set(day.list.filter((e) => teamKey(e.v) === teamKey(entry.v) && !group.includes(e))
      .map((e) => e.sched.route_order).filter((n) => n != null));
    const bodies = {};
    let n = 0;
    for (const e of group) {
      do n++; while (taken.has(n));
      if (e.sched.route_order !== n) bodies[e.v.id] = { ...e.sched, route_order: n };
    }
    if (Object.keys(bodies).length) save(bodies);
  }

  function editor(entry) {
    const { v, sched } = entry;
    const id = v.id;
    const date = h('input', { id: `sched-date-${id}`, name: 'scheduled_on', type: 'date', value: sched.scheduled_on || '',
      min: v.task?.period_start || null, max: v.task?.period_end || null });
    const start = h('input', { id: `sched-start-${id}`, name: 'window_start', type: 'time', value: sched.window_start || '' });
    const end = h('input', { id: `sched-end-${id}`, name: 'window_end', type: 'time', value: sched.window_end || '' });
    const note = h('textarea', { id: `sched-note-${id}`, name: 'note', rows: 2, maxlength: 500, value: sched.note || '' });
    const err = h('p.field-error#schedule-local-error', { role: 'alert', hidden: true });
    // novalidate: the server judges the date against the task period and answers in its own words
    return h('form.card.schedule-editor#schedule-editor', { novalidate: true, dataset: { visitId: id }, onsubmit: async (ev) => {
      ev.preventDefault();
      if (!!start.value !== !!end.value) {
        err.textContent = t('请同时填写开始和结束时间，或都不填。');
        err.hidden = false;
        return;
      }
      if (start.value && end.value && end.value <= start.value) {
        err.textContent = t('结束时间须晚于开始时间。');
        err.hidden = false;
        return;
      }
      const d = date.value || null;
      let order = sched.route_order;
      if (!d) order = null;
      else if (d !== sched.scheduled_on || order == null) {
        // a new day: at the end of that day's route of this team
        const sameDay = entries.filter((e) => e.v.id !== id && e.sched.scheduled_on === d && teamKey(e.v) === teamKey(v));
        order = Math.max(0, ...sameDay.map((e) => e.sched.route_order || 0)) + 1;
      }
      await save({ [id]: { scheduled_on: d, window_start: start.value || null, window_end: end.value || null,
        route_order: order, note: note.value.trim() || null } });
    } },
    h('label', { for: date.id }, t('检查日期')), date,
    h('p.hint', t('任务执行期 {start} — {end}', { start: v.task?.period_start || '', end: v.task?.period_end || '' })),
    h('div.window-inputs',
      h('div', h('label', { for: start.id }, t('开始时间')), start),
      h('div', h('label', { for: end.id }, t('结束时间')), end)),
    v.object?.business_peak ? h('p.hint.peak', t('经营高峰'), ' ', v.object.business_peak, ' · ', t('请尽量避开')) : null,
    h('label', { for: note.id }, t('备注')), note,
    err,
    h('div.editor-actions',
      h('button#sched-save', { type: 'submit' }, t('保存')),
      h('button.secondary#sched-cancel', { type: 'button', onclick: () => { ui.editing = null; redraw(); } }, t('取消'))));
  }

  function entryView(entry, day) {
    const { v, sched, item } = entry;
    const lock = lockReason(v, session);
    const canEdit = !lock && !editLocked(item);
    const group = canEdit && day.group !== 'unscheduled' ? routeGroup(day, entry) : [];
    const idx = group.indexOf(entry);
    return h('li.agenda-item', { dataset: { visitId: v.id, date: sched.scheduled_on || '', order: sched.route_order ?? '',
      local: item ? item.state : '' } },
    h('div.agenda-head',
      sched.route_order != null && day.group !== 'unscheduled' ? h('span.route-order', String(sched.route_order)) : null,
      h('a.agenda-visit', { href: `#/visit/${v.id}` },
        h('span.name', v.object?.name || `#${v.id}`),
        h('span.sub', v.object?.address || '')),
      stageBadge(v)),
    h('p.window', { dataset: { start: sched.window_start || '', end: sched.window_end || '' } },
      t('时间'), '：', windowText(sched)),
    peakLine(v, sched),
    h('p.hint.team', t('检查小组 {n}', { n: v.team?.number ?? '' }), v.team?.leader ? ` · ${t('组长')} ${v.team.leader.name}` : ''),
    sched.note ? h('p.note', t('备注'), '：', sched.note) : null,
    dueLine(v, today),
    reviewNote(v),
    localEditNote(item, () => { afterSave(); redraw(); }),
    // a member's reason (the leader plans) is said once above the agenda, not on every visit
    canEdit ? h('div.agenda-actions',
      idx >= 0 ? h('button.secondary.small.move-up', { type: 'button', disabled: idx <= 0, 'aria-label': t('上移'),
        onclick: () => move(day, entry, -1) }, '↑') : null,
      idx >= 0 ? h('button.secondary.small.move-down', { type: 'button', disabled: idx >= group.length - 1,
        'aria-label': t('下移'), onclick: () => move(day, entry, 1) }, '↓') : null,
      h('button.small.sched-edit', { type: 'button', onclick: () => { ui.editing = v.id; redraw(); } },
        sched.scheduled_on ? t('调整日程') : t('安排日期')))
      : lock && isLeader(v, session) ? h('p.hint.lock-reason', lock) : null,
    ui.editing === v.id && canEdit ? editor(entry) : null);
  }

  const body = [];
  if (!visits.length) body.push(h('p.card.empty#no-agenda', t('暂无检查任务。联网后会自动下载本组的检查对象。')));
  if (leaderSomewhere) body.push(h('p.hint#leader-hint', t('您是组长：可以安排检查日期、时间段和路线顺序，离线也可保存，联网后同步。')));
  if (memberSomewhere) body.push(h('p.hint.lock-reason#member-hint', leaderText(leaders.filter(Boolean))));
  for (const day of list) {
    body.push(h('section.agenda-day', { dataset: { date: day.key, group: day.group } },
      h('h2.date', day.title),
      h('ul.agenda', day.list.map((e) => entryView(e, day)))));
  }
  clear(main, header(t('日程')), tabs('agenda'), body);
  document.getElementById('schedule-editor')?.querySelector('input')?.focus();
}
