// zh-CN first; English by a small dictionary keyed by the Chinese text. A missing entry shows the
// Chinese text (never an empty label). `{name}` placeholders are filled from `vars`.
import EN from './i18n-en.js';

const KEY = 'spotcheck-lang';
let lang = (typeof localStorage !== 'undefined' && localStorage.getItem(KEY)) || 'zh-CN';

export function getLang() { return lang; }

export function setLang(value) {
  lang = value === 'en' ? 'en' : 'zh-CN';
  localStorage.setItem(KEY, lang);
  document.documentElement.lang = lang;
}

export function t(zh, vars) {
  let s = lang === 'en' ? (EN[zh] ?? zh) : zh;
  if (vars) s = s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ''));
  return s;
}
