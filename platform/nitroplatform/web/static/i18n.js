// Message catalogs (nl default, en) and locale-aware formatting. Every user-facing string comes from here.

const STORAGE_KEY = "nitrosignal.lang";
export const LANGUAGES = ["nl", "en"];
let language = "nl";
let messages = {};
const listeners = new Set();

/** The current language code. */
export function currentLanguage() {
  return language;
}

/** Load the stored (or default) language. */
export async function initI18n() {
  const stored = localStorage.getItem(STORAGE_KEY);
  await setLanguage(LANGUAGES.includes(stored) ? stored : "nl", { silent: true });
}

/** Switch language, persist the choice, translate the static shell and notify listeners. */
export async function setLanguage(lang, { silent = false } = {}) {
  const response = await fetch(`/i18n/${lang}.json`, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`catalog ${lang}: HTTP ${response.status}`);
  messages = await response.json();
  language = lang;
  localStorage.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = lang;
  translateStatic(document);
  if (!silent) for (const fn of listeners) fn(lang);
}

/** Call `fn(lang)` after every language switch. */
export function onLanguageChange(fn) {
  listeners.add(fn);
}

/** Translate a key, filling {placeholders} from `params`. A missing key shows itself, loudly. */
export function t(key, params = {}) {
  let text = messages[key];
  if (text === undefined) {
    console.warn(`missing message: ${key}`);
    text = key;
  }
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/** Translate elements marked with data-i18n (text) and data-i18n-aria (aria-label). */
export function translateStatic(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  document.title = t("app.title");
}

function locale() {
  return language === "nl" ? "nl-NL" : "en-GB";
}

/** "3 min", "1 h 5 min": the age of something that started at `iso`. */
export function formatAge(iso, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return formatDuration(seconds);
}

/** A duration in seconds as "45 s", "3 min", "1 h 5 min". */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return t("common.unknown");
  if (seconds < 60) return t("time.seconds", { n: seconds });
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return t("time.minutes", { n: minutes });
  if (minutes % 60 === 0) return t("time.hours", { h: minutes / 60 });
  return t("time.hours_minutes", { h: Math.floor(minutes / 60), m: minutes % 60 });
}

/** Date and time in the user's language, Europe/Amsterdam time. */
export function formatTime(iso) {
  if (!iso) return t("common.unknown");
  const date = new Date(iso);
  const day = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Amsterdam" }).format(d);
  const today = day(date) === day(new Date());
  return new Intl.DateTimeFormat(locale(), today
    ? { timeStyle: "short", timeZone: "Europe/Amsterdam" }
    : { dateStyle: "short", timeStyle: "short", timeZone: "Europe/Amsterdam" }).format(date);
}

/** A probability 0..1 as a whole percentage. */
export function formatPercent(value) {
  if (value === null || value === undefined) return t("common.unknown");
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 0 }).format(value);
}

/** A coordinate with 5 decimals (about a metre). */
export function formatCoord(value) {
  return new Intl.NumberFormat(locale(), { minimumFractionDigits: 5, maximumFractionDigits: 5 }).format(value);
}
