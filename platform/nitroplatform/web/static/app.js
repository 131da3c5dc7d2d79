// The officer app: boot, routing, navigation by role, theme, network banner and the live stream.

import { api, ApiError, rememberCsrfToken } from "./api.js";
import { initI18n, onLanguageChange, setLanguage, currentLanguage, t } from "./i18n.js";
import { LiveStream } from "./live.js";
import { forgetSubscription, registerServiceWorker, syncSubscription } from "./push.js";
import { h, render, toast } from "./ui.js";

const ROUTES = [
  { path: /^\/app\/?$/, view: "incidents" },
  { path: /^\/app\/login\/?$/, view: "login", public: true },
  { path: /^\/app\/incidents\/([^/]+)\/?$/, view: "incident" },
  { path: /^\/app\/overview\/?$/, view: "coordinator", roles: ["coordinator", "admin"] },
  { path: /^\/app\/cameras\/?$/, view: "cameras", roles: ["coordinator", "admin", "privacy_officer"] },
  { path: /^\/app\/teams\/?$/, view: "teams", roles: ["coordinator", "admin"] },
  { path: /^\/app\/privacy\/?$/, view: "privacy", roles: ["privacy_officer", "auditor", "admin"] },
  { path: /^\/app\/precision\/?$/, view: "precision", roles: ["ml_engineer", "admin", "privacy_officer"] },
  { path: /^\/app\/settings\/?$/, view: "settings" },
];

const NAV = [
  { href: "/app/", key: "nav.incidents" },
  { href: "/app/overview", key: "nav.overview", roles: ["coordinator", "admin"] },
  { href: "/app/cameras", key: "nav.cameras", roles: ["coordinator", "admin", "privacy_officer"] },
  { href: "/app/teams", key: "nav.teams", roles: ["coordinator", "admin"] },
  { href: "/app/privacy", key: "nav.privacy", roles: ["privacy_officer", "auditor", "admin"] },
  { href: "/app/precision", key: "nav.precision", roles: ["ml_engineer", "admin", "privacy_officer"] },
  { href: "/app/settings", key: "nav.settings" },
];

/** Shared state and services; every view gets it through its screenContext. */
const ctx = {
  me: null,
  incidents: new Map(), // id -> IncidentOut, the officer's visible incidents
  events: new EventTarget(),
  live: null,
  cleanups: [],
  navigate,
  hasRole(...roles) {
    return Boolean(ctx.me) && (ctx.me.roles || []).some((r) => roles.includes(r));
  },
  /** Store an incident version from a fetch or the stream and tell the views. */
  upsertIncident(incident) {
    ctx.incidents.set(incident.id, incident);
    if (ctx.live) ctx.live.markSeen(incident);
    ctx.events.dispatchEvent(new CustomEvent("incident", { detail: incident }));
  },
  async logout() {
    await forgetSubscription();
    try {
      await api("/auth/logout", { method: "POST" });
    } catch {
      /* the session may already be gone */
    }
    ctx.me = null;
    ctx.pushSynced = false;
    ctx.incidents.clear();
    if (ctx.live) ctx.live.stop();
    ctx.live = null;
    sessionStorage.removeItem("nitrosignal.lastEventId");
    navigate("/app/login");
  },
};
window.nitrosignal = ctx; // for the browser tests and debugging; holds no secret

function userRoles() {
  return ctx.me ? ctx.me.roles || [] : [];
}

function allowed(entry) {
  return !entry.roles || entry.roles.some((r) => userRoles().includes(r));
}

/** Navigate within the app (pushState) and render the matching view. */
export function navigate(href, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  return route();
}

async function loadMe() {
  try {
    ctx.me = await api("/auth/me");
    rememberCsrfToken(ctx.me.csrf_token);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) ctx.me = null;
    else throw error;
  }
  return ctx.me;
}

function renderNav() {
  const nav = document.getElementById("mainnav");
  if (!ctx.me) {
    nav.hidden = true;
    nav.replaceChildren();
    return;
  }
  const here = location.pathname.replace(/\/$/, "") || "/app";
  const items = NAV.filter(allowed).map((item) => {
    const target = item.href.replace(/\/$/, "");
    const current = target === here || (target === "/app" && here.startsWith("/app/incidents"));
    return h("li", {}, h("a", { href: item.href, "data-link": true, "aria-current": current ? "page" : null }, t(item.key)));
  });
  nav.replaceChildren(h("ul", {}, items));
  nav.hidden = false;
}

let screen = 0; // which navigation the visible screen belongs to
let drawing = 0; // views still waiting for the API

/**
 * The view's context for one navigation. A view that is still waiting for the API when the user moves on
 * must not draw over the next screen or leave listeners behind: once its navigation is superseded, its
 * render is dropped and whatever it registers is undone at once.
 */
function screenContext(token) {
  const current = () => token === screen;
  const cleanups = { push: (fn) => (current() ? ctx.cleanups.push(fn) : fn()) };
  const own = {
    cleanups,
    /** Listen to an app event ("incident", "reconnected") until the next navigation. */
    on(type, fn) {
      const handler = (event) => fn(event.detail);
      ctx.events.addEventListener(type, handler);
      cleanups.push(() => ctx.events.removeEventListener(type, handler));
    },
    /** Draw the screen, unless the user has moved on. */
    render(...children) {
      if (current()) render(...children);
    },
  };
  // Shared state (caches such as ctx.cameras) is read from and written to the one app context.
  return new Proxy(ctx, {
    get: (target, key) => (Object.hasOwn(own, key) ? own[key] : target[key]),
    set: (target, key, value) => {
      target[key] = value;
      return true;
    },
  });
}

/** Count the views still waiting for the API, on <html data-drawing> for the browser tests. */
function showDrawing(change) {
  drawing += change;
  document.documentElement.dataset.drawing = String(drawing);
}

async function route() {
  const token = ++screen;
  for (const cleanup of ctx.cleanups.splice(0)) cleanup();
  const path = location.pathname;
  const match = ROUTES.map((r) => ({ r, m: path.match(r.path) })).find((x) => x.m) || { r: ROUTES[0], m: [] };
  if (!match.r.public && !ctx.me) {
    const next = location.pathname + location.search;
    history.replaceState(null, "", `/app/login?next=${encodeURIComponent(next)}`);
    return route();
  }
  if (ctx.me && !allowed(match.r)) {
    renderNav();
    render(h("h1", {}, t("error.forbidden_title")), h("p", {}, t("error.forbidden")));
    return undefined;
  }
  if (ctx.me) {
    startLive();
    if (!ctx.pushSynced) {
      ctx.pushSynced = true;
      syncSubscription();
    }
  }
  renderNav();
  showDrawing(+1);
  try {
    const module = await import(`./views/${match.r.view}.js`);
    await module.view(screenContext(token), match.m.slice(1));
  } catch (error) {
    if (token === screen) showError(error);
  } finally {
    showDrawing(-1);
  }
  return undefined;
}

/** Render an error the officer can act on; never a stack trace. */
export function showError(error) {
  if (error instanceof ApiError && error.status === 401) {
    ctx.me = null;
    navigate(`/app/login?next=${encodeURIComponent(location.pathname)}`, { replace: true });
    return;
  }
  const offline = !navigator.onLine || error instanceof TypeError;
  const key = offline ? "error.offline" : error instanceof ApiError && error.status === 404 ? "error.not_found"
    : error instanceof ApiError && error.status === 403 ? "error.forbidden" : "error.generic";
  render(
    h("h1", {}, t("error.title")),
    h("p", { class: "error-text" }, t(key)),
    h("p", {}, h("a", { href: "/app/", "data-link": true, class: "button" }, t("error.back"))),
  );
}
ctx.showError = showError;

function startLive() {
  if (ctx.live) return;
  ctx.live = new LiveStream(
    (incident) => {
      const isNew = !ctx.incidents.has(incident.id);
      ctx.upsertIncident(incident);
      if (isNew && incident.state === "open") toast(t("live.new_incident", { zone: incident.zone || t("incident.no_zone") }));
    },
    (state) => {
      ctx.streamState = state;
      updateBanner();
      if (state === "open" && ctx.live && ctx.live.reconnects > 0) {
        ctx.events.dispatchEvent(new CustomEvent("reconnected"));
      }
    },
    () => ctx.events.dispatchEvent(new CustomEvent("reconnected")),
    (reason) => {
      if (reason === "scope_changed") return;
      // Signed out elsewhere, deactivated or the session expired: back to the login page.
      ctx.me = null;
      ctx.live = null;
      navigate(`/app/login?next=${encodeURIComponent(location.pathname)}`, { replace: true });
    },
  );
  for (const incident of ctx.incidents.values()) ctx.live.markSeen(incident);
  ctx.live.start();
}

function updateBanner() {
  const banner = document.getElementById("net-banner");
  let key = null;
  if (!navigator.onLine) key = "net.offline";
  else if (ctx.me && ctx.streamState === "down") key = "net.reconnecting";
  banner.hidden = key === null;
  banner.dataset.state = navigator.onLine ? "online" : "offline";
  banner.textContent = key ? t(key) : "";
  document.body.classList.toggle("is-offline", !navigator.onLine);
}

// Theme: follows the phone (prefers-color-scheme) until the officer picks one with the toggle.
const THEME_KEY = "nitrosignal.theme";

function effectiveTheme() {
  const stored = localStorage.getItem(THEME_KEY);
  if (stored === "light" || stored === "dark") return stored;
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function applyTheme() {
  const theme = effectiveTheme();
  document.documentElement.dataset.theme = theme;
  const button = document.getElementById("theme-toggle");
  button.setAttribute("aria-pressed", String(theme === "dark"));
  button.setAttribute("aria-label", t(theme === "dark" ? "app.theme_to_light" : "app.theme_to_dark"));
  document.getElementById("theme-icon").textContent = theme === "dark" ? "☀" : "☾";
  document.querySelector('meta[name="theme-color"]').setAttribute("content", theme === "dark" ? "#132a4a" : "#0b3d91");
}

function updateLanguageButton() {
  const button = document.getElementById("lang-toggle");
  const other = currentLanguage() === "nl" ? "en" : "nl";
  button.textContent = other.toUpperCase();
  button.setAttribute("aria-label", t("app.language_switch"));
  button.setAttribute("lang", other);
}

function tellServiceWorkerLanguage() {
  if (!navigator.serviceWorker) return;
  navigator.serviceWorker.ready.then((registration) => {
    if (registration.active) registration.active.postMessage({ type: "language", lang: currentLanguage() });
  });
}

async function boot() {
  await initI18n();
  applyTheme();
  updateLanguageButton();
  updateBanner();
  document.getElementById("theme-toggle").addEventListener("click", () => {
    localStorage.setItem(THEME_KEY, effectiveTheme() === "dark" ? "light" : "dark");
    applyTheme();
  });
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", applyTheme);
  document.getElementById("lang-toggle").addEventListener("click", () => {
    setLanguage(currentLanguage() === "nl" ? "en" : "nl");
  });
  onLanguageChange(() => {
    updateLanguageButton();
    applyTheme();
    updateBanner();
    tellServiceWorkerLanguage();
    route();
  });
  window.addEventListener("online", updateBanner);
  window.addEventListener("offline", updateBanner);
  window.addEventListener("popstate", route);
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-link]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || link.target) return;
    event.preventDefault();
    navigate(link.getAttribute("href"));
  });
  ctx.config = await fetch("/app/config.json").then((r) => r.json()).catch(() => ({ tile_url: null }));
  registerServiceWorker().then((registration) => {
    ctx.serviceWorker = registration;
    tellServiceWorkerLanguage();
  });
  if (navigator.serviceWorker) {
    // The browser renewed the push subscription while no page was open to register it: do it now.
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data && event.data.type === "push-renewed" && ctx.me) syncSubscription();
    });
  }
  try {
    await loadMe();
  } catch (error) {
    showError(error);
    return;
  }
  await route();
  document.documentElement.dataset.ready = "true";
}

boot();
