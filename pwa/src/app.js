// The field app's shell: routes, screens (login, visit list, visit detail, settings), the sync
// triggers and the "有新版本" prompt. The on-site form lives in form.js, storage in db.js, the
// outbox in outbox.js.
import './style.css';
import * as api from './api.js';
import * as db from './db.js';
import { clear, fmtBytes, fmtTime, h } from './dom.js';
import { OBJECT_TYPE_LABELS, REGISTRATION_LABELS, VISIT_STATES, overlapsPeak, scheduleOf } from './domain.js';
import { closeForm, formIsOpen, myDepartment, renderForm, reviewBox, sectionReview } from './form.js';
import { dueLine, localEditNote, lockReason, scheduleEditorOpen, screenAgenda, stageBadge } from './schedule.js';
import { getLang, setLang, t } from './i18n.js';
import { nextDelay, runSync } from './outbox.js';

export const APP_VERSION = __APP_VERSION__;
const main = document.getElementById('app');
const banners = document.getElementById('banners');
const ui = { waiting: null, acceptedUpdate: false, syncing: false, timer: null };

// -- sync triggers ------------------------------------------------------------------------------

/** Run a sync now (app start, `online`, after each save, the timer, "立即同步"). */
export async function syncNow() {
  if (ui.syncing) { ui.again = true; return ui.running; } // asked during a run: run once more after it
  ui.syncing = true;
  renderSyncBar();
  let state;
  ui.running = (async () => {
    do {
      ui.again = false;
      state = await runSync();
    } while (ui.again);
    return state;
  })();
  try {
    state = await ui.running;
  } finally {
    ui.syncing = false;
  }
  schedule(state);
  await renderSyncBar();
  // refresh what shows sync state: the list, a visit, a locked record (never a form being filled)
  const showsState = ['', '#/', '#/list', '#/agenda'].includes(location.hash || '') || /^#\/visit\/\d+$/.test(location.hash)
    || document.getElementById('record-locked');
  if (showsState && !document.getElementById('onsite-form') && !scheduleEditorOpen()) await route();
  document.dispatchEvent(new CustomEvent('sync-done', { detail: state }));
  return state;
}

function schedule(state) {
  clearTimeout(ui.timer);
  ui.timer = setTimeout(syncNow, nextDelay(state));
}

/** Called by the form after each save: sync, and ask for a Background Sync where there is one. */
export async function afterSave() {
  try {
    const reg = await navigator.serviceWorker?.ready;
    await reg?.sync?.register('outbox');
  } catch { /* no Background Sync (iOS, Firefox): our own triggers cover it */ }
  syncNow();
}

// -- banners ------------------------------------------------------------------------------------

async function renderSyncBar() {
  const [count, sync, needsLogin, session] = await Promise.all([
    db.outboxCount(), db.getMeta('sync'), db.getMeta('needs_login'), db.getMeta('session')]);
  const bar = document.getElementById('syncbar') || h('div#syncbar.syncbar', { role: 'status' });
  if (!bar.isConnected) banners.prepend(bar);
  if (!session) { bar.hidden = true; return; }
  bar.hidden = false;
  const parts = [];
  if (needsLogin) {
    parts.push(h('p.warn#relogin', t('请重新登录以同步'), ' ',
      h('a.button', { href: '#/login' }, t('重新登录'))));
  }
  // "离线": the browser says it has no network, or the last attempt found no server at all
  const offline = !navigator.onLine || (!!sync && !sync.ok && !!sync.unreachable);
  if (offline) {
    parts.push(h('span.badge.offline#offline', { dataset: { why: navigator.onLine ? 'server' : 'network' } }, t('离线'),
      ' · ', navigator.onLine ? t('服务器无法连接') : t('没有网络'), ' · ', t('记录保存在本机')));
  }
  parts.push(h('span#outbox-count', { dataset: { count } },
    count ? t('待同步 {n} 条', { n: count }) : t('没有待同步的记录')));
  if (sync?.at && sync.ok) {
    parts.push(h('span.hint#last-sync', { dataset: { ok: '1' } }, ' · ', t('上次同步'), ' ', fmtTime(sync.at)));
  } else if (sync?.at && sync.reason !== 'login') {
    parts.push(h('span.error#last-sync', { dataset: { ok: '0' } }, ' · ',
      t('上次同步失败 {time}，原因：{why}', { time: fmtTime(sync.at), why: failureReason(sync) }),
      sync.last_ok_at ? h('span.hint', `（${t('上次成功 {time}', { time: fmtTime(sync.last_ok_at) })}）`) : null));
  }
  parts.push(h('button#sync-now.small', { type: 'button', disabled: ui.syncing, onclick: () => syncNow() },
    ui.syncing ? t('同步中…') : t('立即同步')));
  clear(bar, parts);
}

function failureReason(sync) {
  if (sync.timeout) return t('服务器无响应（超时）');
  if (sync.unreachable) return navigator.onLine ? t('无法连接服务器') : t('没有网络');
  return sync.message || t('未知错误');
}

function renderUpdateBanner() {
  let el = document.getElementById('update-banner');
  if (!ui.waiting) { el?.remove(); return; }
  if (!el) { el = h('div#update-banner.update', { role: 'alert' }); banners.append(el); }
  const blocked = formIsOpen();
  clear(el,
    h('strong', t('有新版本')), ' ',
    blocked ? h('span.hint#update-hint', t('正在填写记录，请先返回后再更新。')) : null,
    h('button#update-accept', { type: 'button', disabled: blocked, hidden: blocked, onclick: acceptUpdate }, t('更新')));
}

function acceptUpdate() {
  if (formIsOpen() || !ui.waiting) return;
  ui.acceptedUpdate = true;
  ui.waiting.postMessage({ type: 'SKIP_WAITING' });
}

async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  const reg = await navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' });
  const track = (sw) => {
    if (!sw) return;
    const check = () => {
      if (sw.state === 'installed' && navigator.serviceWorker.controller) { ui.waiting = sw; renderUpdateBanner(); }
    };
    sw.addEventListener('statechange', check);
    check();
  };
  track(reg.waiting);
  reg.addEventListener('updatefound', () => track(reg.installing));
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    // only a version the user accepted reloads the page; never under an open form
    if (ui.acceptedUpdate && !formIsOpen()) location.reload();
  });
  window.spotcheckCheckUpdate = () => reg.update(); // used by "检查更新" and the tests
}

// -- screens ------------------------------------------------------------------------------------

async function session() { return db.getMeta('session'); }

function header(title, back) {
  return h('header.top',
    back ? h('a.back', { href: back, 'aria-label': t('返回') }, '‹') : null,
    h('h1', title),
    h('a.icon', { href: '#/settings', 'aria-label': t('设置') }, '⚙'));
}

function screenLogin(message) {
  const err = h('p.error#login-error', { role: 'alert', hidden: !message }, message || '');
  const user = h('input#username', { name: 'username', autocomplete: 'username', required: true });
  const pass = h('input#password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const btn = h('button#login-submit', { type: 'submit' }, t('登录'));
  const form = h('form.card', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      btn.disabled = true;
      err.hidden = true;
      try {
        const prev = await session();
        if (prev && prev.user?.username && prev.user.username !== user.value && (await db.outboxCount())) {
          throw new Error(t('本机还有 {name} 未同步的记录，请用该账号登录。', { name: prev.user.name || prev.user.username }));
        }
        await api.login(user.value.trim(), pass.value);
        location.hash = '#/';
        await syncNow();
      } catch (e) {
        err.textContent = e instanceof api.NetworkError ? t('无法连接服务器。首次登录需要联网。') : (e.message || String(e));
        err.hidden = false;
      } finally {
        btn.disabled = false;
      }
    },
  },
  h('label', { for: 'username' }, t('用户名')), user,
  h('label', { for: 'password' }, t('密码')), pass,
  err, btn);
  clear(main, header(t('登录')), form, h('p.hint', t('登录一次后，无网络时也可以继续工作。')), langToggle());
}

function langToggle() {
  return h('p.lang', h('button.secondary.small#lang-toggle', { type: 'button', onclick: () => {
    setLang(getLang() === 'en' ? 'zh-CN' : 'en');
    route();
    renderSyncBar();
  } }, getLang() === 'en' ? '中文' : 'English'));
}

/** The state of `visit` as the list shows it, for my department's section. */
export function visitState(visit, records, deptId) {
  const mine = records.filter((r) => r.department_id === deptId);
  if (mine.some((r) => r.status === 'attention' || r.status === 'conflict')) return 'attention';
  if (sectionReview(visit, deptId, records).open) return 'returned';
  const latest = mine.filter((r) => r.status !== 'superseded').pop();
  if (latest?.status === 'draft') return 'in_progress';
  if (latest?.status === 'queued') return 'to_sync';
  if (visit.status === 'done') return 'done';
  if (latest?.status === 'synced') return 'synced';
  if ((visit.records || []).some((r) => r.department_id === deptId)) return 'synced';
  if (visit.status === 'in_progress') return 'in_progress';
  return 'todo';
}

const STATE_BADGE = { todo: '', in_progress: 'warn', done: 'ok', to_sync: 'warn', synced: 'ok', attention: 'danger',
  returned: 'danger' };

/** The two views of the user's visits: the list and the agenda (日程). */
function tabs(active) {
  const tab = (id, href, label) => h(`a.tab#tab-${id}`, { href, 'aria-current': active === id ? 'page' : null,
    dataset: { active: active === id ? '1' : '0' } }, label);
  return h('nav.tabs', { 'aria-label': t('视图') }, tab('list', '#/', t('检查任务')), tab('agenda', '#/agenda', t('日程')));
}

/** The day a visit is listed under: the leader's pending schedule edit (`pending`) wins. */
function visitDate(v, pending) {
  return scheduleOf(v, pending.get(v.id)).scheduled_on || v.task?.period_start || '';
}

async function screenList(current) {
  const s = await session();
  const [visits, records, pending] = await Promise.all([db.listVisits(), db.allRecords(), db.pendingSchedules()]);
  const byVisit = new Map();
  for (const r of records.sort((a, b) => (a.saved_at < b.saved_at ? -1 : 1))) {
    if (!byVisit.has(r.visit_id)) byVisit.set(r.visit_id, []);
    byVisit.get(r.visit_id).push(r);
  }
  visits.sort((a, b) => (visitDate(a, pending) + a.object?.name).localeCompare(visitDate(b, pending) + b.object?.name));
  const groups = new Map();
  for (const v of visits) {
    const d = visitDate(v, pending);
    if (!groups.has(d)) groups.set(d, []);
    groups.get(d).push(v);
  }
  if (!current()) return; // a newer navigation won: never draw over it
  const body = [];
  if (!visits.length) body.push(h('p.card.empty#no-visits', t('暂无检查任务。联网后会自动下载本组的检查对象。')));
  for (const [d, list] of groups) {
    body.push(h('h2.date', d || t('未定日期')));
    body.push(h('ul.visits', list.map((v) => {
      const mine = byVisit.get(v.id) || [];
      const state = visitState(v, mine, myDepartment(v, s));
      const why = state === 'attention' ? mine.find((r) => r.status === 'attention' || r.status === 'conflict')?.error
        : state === 'returned' ? sectionReview(v, myDepartment(v, s), mine).review?.comment : null;
      return h('li', h('a.visit', { href: `#/visit/${v.id}`, dataset: { visitId: v.id, state } },
        h('span.name', v.object?.name || `#${v.id}`),
        h('span.sub', v.object?.address || '', v.withdrawn ? ` · ${t('已撤回')}` : ''),
        why ? h('span.sub.error.attention-reason', why) : null,
        dueLine(v, undefined, { short: true }),
        h(`span.badge.${STATE_BADGE[state] || 'plain'}`, { dataset: { state } }, t(VISIT_STATES[state]))));
    })));
  }
  clear(main, header(t('检查任务')), tabs('list'), h('p.hint', s?.user?.name ? t('检查人员：{name}', { name: s.user.name }) : ''), body);
}

function prop(label, value) {
  return value == null || value === '' ? null : [h('dt', label), h('dd', String(value))];
}

function previousResult(r) {
  if (r == null) return '';
  if (typeof r !== 'object') return String(r);
  const label = r.result_label || r.result || r.label || '';
  return [r.date || r.published_at || r.year, r.task || r.task_name, r.department, label].filter(Boolean).join(' · ')
    || JSON.stringify(r);
}

async function screenVisit(id, current) {
  const [v, s, records, pending] = await Promise.all([db.getVisit(id), session(), db.recordsForVisit(id),
    db.pendingSchedules()]);
  if (!current()) return;
  if (!v) { clear(main, header(t('检查对象'), '#/'), h('p.card', t('本机没有这个检查对象。'))); return; }
  const o = v.object || {};
  const myDept = myDepartment(v, s);
  const flags = [o.abnormal_list ? t('经营异常名录') : null, o.serious_violation ? t('严重违法失信名单') : null].filter(Boolean);
  const team = v.team || {};
  clear(main, header(o.name || t('检查对象'), '#/'),
    v.withdrawn ? h('p.card.warn', t('该检查已撤回或人员已调整；本机记录仍会同步。')) : null,
    h('section.card#precheck', h('h2', t('预查信息')),
      h('dl.props', prop(t('统一社会信用代码'), o.code), prop(t('名称'), o.name), prop(t('住所'), o.address),
        prop(t('法定代表人'), o.legal_representative), prop(t('对象类型'), t(OBJECT_TYPE_LABELS[o.object_type] || o.object_type || '')),
        prop(t('登记状态'), t(REGISTRATION_LABELS[o.registration_status] || o.registration_status || '')),
        prop(t('标记'), flags.length ? flags.join('、') : t('无'))),
      h('h3', t('以往抽查结果')),
      (o.previous_results || []).length
        ? h('ul.plain', o.previous_results.map((r) => h('li', previousResult(r))))
        : h('p.hint', t('无'))),
    scheduleCard(v, s, pending.get(v.id)),
    h('section.card', h('h2', t('任务')),
      h('dl.props', prop(t('任务'), v.task?.name), prop(t('编号'), v.task?.code),
        prop(t('执行时间'), `${v.task?.period_start || ''} — ${v.task?.period_end || ''}`),
        prop(t('告知'), v.task?.unannounced ? t('不得事先告知') : t('可以事先告知')))),
    h('section.card#team', h('h2', t('检查小组 {n}', { n: team.number ?? '' })),
      h('p', t('组长'), '：', team.leader?.name || '—'),
      h('ul.plain', (team.members || []).map((m) => h('li', `${m.name} · ${m.department}`)))),
    h('section.card#sections', h('h2', t('各部门检查事项')),
      (v.sections || []).map((sec) => {
        const server = (v.records || []).filter((r) => r.department_id === sec.department_id);
        const local = records.filter((r) => r.department_id === sec.department_id);
        const conflict = local.find((r) => r.status === 'conflict' || r.status === 'attention');
        const rv = sectionReview(v, sec.department_id, local);
        return h('div.section', { dataset: { departmentId: sec.department_id, review: sec.review?.status || '' } },
          h('h3', sec.department),
          reviewBox(rv, { hint: t('请打开本部门记录，按审核意见修改后重新完成；新版本会同步到服务器，由组长重新汇总。') }),
          h('ul.plain', sec.items.map((it) => h('li', it.name))),
          server.length ? h('ul.plain.server-records', server.map((r) => h('li', { dataset: { status: r.status } },
            `v${r.version ?? '—'} · `, r.status === 'conflict' ? h('strong.error', t('冲突版本，待组长处理')) : t('已存服务器'),
            r.late ? ` · ${t('迟交')}` : '', r.attention?.message && r.attention.code !== 'returned' ? h('span.error', ` · ${r.attention.message}`) : null))) : null,
          conflict ? h('p.error.conflict', { role: 'alert' }, t('需处理'), '：', conflict.error || t('与其他设备的版本冲突，已交组长处理。')) : null,
          sec.department_id === myDept
            ? h('a.button#open-form', { href: `#/visit/${v.id}/form` },
              rv.open ? t('按审核意见修改') : local.length ? t('查看/填写本部门记录') : t('开始检查'))
            : null);
      })));
}

/** The visit's schedule (the leader's pending edit, if any, marked as such), stage and result deadline. */
function scheduleCard(v, s, item) {
  const sc = scheduleOf(v, item);
  const peak = v.object?.business_peak;
  const clash = peak && overlapsPeak(peak, sc.window_start, sc.window_end);
  const lock = lockReason(v, s);
  return h('section.card#visit-schedule', { dataset: { local: item ? item.state : '' } }, h('h2', t('日程')),
    h('dl.props',
      prop(t('检查日期'), sc.scheduled_on || t('待安排')),
      prop(t('时间段'), sc.window_start || sc.window_end ? `${sc.window_start || '…'}–${sc.window_end || '…'}` : null),
      prop(t('路线顺序'), sc.route_order),
      prop(t('经营高峰'), peak),
      prop(t('备注'), sc.note)),
    localEditNote(item, () => { renderSyncBar(); route(); }),
    clash ? h('p.warn.peak-clash', h('strong', `⚠ ${t('与经营高峰重叠')}`)) : null,
    h('p', stageBadge(v)),
    dueLine(v) || h('p.hint.due-pending', t('结果录入截止：实地检查后按 20 个工作日计算')),
    lock ? h('p.hint', lock) : h('a.button.secondary#edit-schedule', { href: '#/agenda' }, t('在日程中调整')));
}

async function screenSettings(current) {
  const [s, est, count, dev] = await Promise.all([session(), db.storageEstimate(), db.outboxCount(), db.deviceId()]);
  if (!current()) return;
  const msg = h('p.error#logout-error', { role: 'alert', hidden: true });
  clear(main, header(t('设置'), '#/'),
    h('section.card', h('h2', t('存储')),
      h('dl.props', prop(t('已用'), fmtBytes(est.usage)), prop(t('可用配额'), fmtBytes(est.quota)),
        prop(t('持久存储'), est.persisted ? t('已获准（不会被浏览器自动清除）') : t('未获准'))),
      h('p', h('button.secondary#retry-parked', { type: 'button', onclick: async () => { await db.retryParked(); syncNow(); } },
        t('重试需处理的记录或日程修改')))),
    h('section.card', h('h2', t('账号')),
      h('dl.props', prop(t('用户'), s?.user?.name || '—'), prop(t('会话到期'), fmtTime(s?.expires_at)),
        prop(t('待同步'), count), prop(t('设备编号'), dev), prop(t('版本'), APP_VERSION)),
      msg,
      h('button.danger#logout', { type: 'button', onclick: async () => {
        const waiting = await db.outboxItems();
        if (waiting.length) {
          // the outbox also holds the leader's schedule edits: say so when there are some
          msg.textContent = waiting.some((i) => i.kind === 'schedule')
            ? t('还有未同步的记录或日程修改，不能退出登录。请先联网同步。') : t('还有未同步的记录，不能退出登录。请先联网同步。');
          msg.hidden = false;
          return;
        }
        await api.logout();
        try { await db.wipeAll(); } catch (e) { msg.textContent = e.message; msg.hidden = false; return; }
        location.hash = '#/login';
      } }, t('退出登录'))),
    h('section.card', h('h2', t('语言 / Language')), langToggle(),
      h('button.secondary.small#check-update', { type: 'button', onclick: () => window.spotcheckCheckUpdate?.() }, t('检查更新'))));
}

// -- router -------------------------------------------------------------------------------------

let routeSeq = 0;

export async function route() {
  // screens load their data asynchronously: only the latest navigation may draw
  const token = ++routeSeq;
  const hash = location.hash || '#/';
  const current = () => token === routeSeq && (location.hash || '#/') === hash;
  const s = await session();
  if (!current()) return;
  let m;
  if (!/^#\/visit\/\d+\/form$/.test(hash)) closeForm();
  if (hash === '#/login' || !s) {
    screenLogin(s ? '' : null);
  } else if ((m = hash.match(/^#\/visit\/(\d+)\/form$/))) {
    await renderForm(main, Number(m[1]), { header, afterSave, current });
  } else if ((m = hash.match(/^#\/visit\/(\d+)$/))) {
    await screenVisit(Number(m[1]), current);
  } else if (hash === '#/settings') {
    await screenSettings(current);
  } else if (hash === '#/agenda') {
    await screenAgenda(main, { header, afterSave, current, session: s, tabs });
  } else {
    await screenList(current);
  }
  if (!current()) return;
  renderUpdateBanner();
  document.body.dataset.route = hash;
  document.dispatchEvent(new CustomEvent('screen', { detail: hash }));
}

async function start() {
  setLang(getLang());
  window.addEventListener('hashchange', route);
  window.addEventListener('online', () => { renderSyncBar(); syncNow(); });
  window.addEventListener('offline', () => renderSyncBar());
  document.addEventListener('form-state', renderUpdateBanner);
  try { await navigator.storage?.persist?.(); } catch { /* not granted: shown in 设置 */ }
  await route();
  document.body.dataset.readyMs = String(Math.round(performance.now())); // first screen drawn (bench_pwa)
  document.body.dataset.ready = '1';
  renderSyncBar();
  registerServiceWorker().catch((e) => console.warn('service worker', e));
  syncNow();
}

start();
