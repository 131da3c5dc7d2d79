// nitrosignal service worker: offline app shell, Web Push notifications and notification actions.
// Platform guidance (reference anchors §1.3): one notification per incident, replaced by tag; every
// handler passes its work to event.waitUntil, or iOS treats the push as silent and may drop the
// subscription. No API response is ever cached: incidents are live data and expire.

const SHELL_CACHE = "nitrosignal-shell-v1";
const SETTINGS_CACHE = "nitrosignal-settings";
const SHELL = [
  "/app/",
  "/static/app.css",
  "/static/app.js",
  "/static/api.js",
  "/static/i18n.js",
  "/static/live.js",
  "/static/push.js",
  "/static/ui.js",
  "/static/views/login.js",
  "/static/views/incidents.js",
  "/static/views/incident.js",
  "/static/views/location.js",
  "/static/views/coordinator.js",
  "/static/views/cameras.js",
  "/static/views/teams.js",
  "/static/views/privacy.js",
  "/static/views/precision.js",
  "/static/views/settings.js",
  "/static/views/shared.js",
  "/static/icons/icon.svg",
  "/i18n/nl.json",
  "/i18n/en.json",
  "/manifest.webmanifest",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL))
      .catch(() => undefined) // an incomplete offline copy must not block the worker
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("nitrosignal-shell-") && k !== SHELL_CACHE)
        .map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return; // live data: never from a cache
  const isShell = event.request.mode === "navigate" && url.pathname.startsWith("/app");
  const isAsset = url.pathname.startsWith("/static/") || url.pathname.startsWith("/i18n/");
  if (!isShell && !isAsset) return;
  // Network first, so officers always run the current app; the cache is only the offline fallback.
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          const key = isShell ? "/app/" : event.request;
          event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.put(key, copy)));
        }
        return response;
      })
      .catch(() => caches.match(isShell ? "/app/" : event.request, { ignoreSearch: true })
        .then((cached) => cached || Response.error())),
  );
});

// The page tells the worker which language the officer chose, so notifications speak it too.
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "language" && (data.lang === "nl" || data.lang === "en")) {
    event.waitUntil(caches.open(SETTINGS_CACHE).then((cache) => cache.put("/__language", new Response(data.lang))));
  }
});

async function messages() {
  let lang = "nl";
  const stored = await caches.open(SETTINGS_CACHE).then((cache) => cache.match("/__language"));
  if (stored) lang = await stored.text();
  const catalog = (await caches.match(`/i18n/${lang}.json`)) || (await fetch(`/i18n/${lang}.json`));
  return catalog.json();
}

function fill(text, params) {
  return String(text).replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : ""));
}

/**
 * Build the notification for one incident push (the platform's nitrosignal.push/1 payload: incident_id,
 * tag, state, camera_id, zone, people_involved, title, body, url, escalated). Texts come from the
 * officer's language catalog; the payload's own title and body are the fallback. Exposed for the tests.
 */
async function notificationFor(payload) {
  const incident = payload.incident || payload;
  const id = payload.incident_id || incident.id;
  let msg = {};
  try {
    msg = await messages();
  } catch {
    msg = {};
  }
  const params = {
    zone: incident.zone || msg["incident.no_zone"] || "",
    camera: incident.camera_name || incident.camera_id || "",
    people: incident.people_involved || "?",
  };
  let title = msg["push.title"] ? fill(msg["push.title"], params) : payload.title;
  if (payload.escalated && msg["push.escalated"]) title = fill(msg["push.escalated"], { title });
  const url = typeof payload.url === "string" && payload.url.startsWith("/app/") ? payload.url : `/app/incidents/${id}`;
  return {
    title: title || "nitrosignal",
    options: {
      body: msg["push.body"] ? fill(msg["push.body"], params) : payload.body,
      tag: payload.tag || String(id), // one notification per incident: updates replace it
      renotify: (incident.state || payload.state || "open") === "open",
      requireInteraction: true,
      icon: "/static/icons/icon.svg",
      badge: "/static/icons/badge.svg",
      lang: msg["push.title"] ? undefined : "nl",
      data: { incidentId: id, url },
      actions: [
        { action: "claim", title: msg["push.action_claim"] || "Claim" },
        { action: "open", title: msg["push.action_open"] || "Open" },
      ],
    },
  };
}
self.notificationFor = notificationFor;

async function showIncident(payload) {
  const { title, options } = await notificationFor(payload);
  const incident = payload.incident || payload;
  // A closed incident needs no officer: take its notification away instead of showing a new one.
  const existing = await self.registration.getNotifications({ tag: options.tag });
  for (const old of existing) old.close(); // WebKit does not always replace by tag (bug 258922)
  if ((incident.state || payload.state) === "closed") return;
  await self.registration.showNotification(title, options);
}
self.showIncident = showIncident;

self.addEventListener("push", (event) => {
  let payload = {};
  try {
    payload = event.data ? event.data.json() : {};
  } catch {
    payload = {};
  }
  event.waitUntil(showIncident(payload));
});

/** The URL a notification opens: the incident, with ?claim=1 for the "claim" action. */
function notificationTarget(data, action) {
  const target = new URL(data.url || "/app/", self.location.origin);
  if (action === "claim") target.searchParams.set("claim", "1");
  return target.href;
}
self.notificationTarget = notificationTarget;

/** Focus an open app window and navigate it, or open a new one. */
async function openIncident(data, action) {
  const target = notificationTarget(data, action);
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if (new URL(client.url).origin === self.location.origin && "focus" in client) {
      const focused = await client.focus();
      return focused.navigate ? focused.navigate(target) : focused;
    }
  }
  return self.clients.openWindow(target);
}
self.openIncident = openIncident;

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  // "claim" opens the incident with ?claim=1: the page claims it with the officer's session and CSRF
  // token, and shows the result. A tap on the body, or "open", just opens the incident.
  event.waitUntil(openIncident(event.notification.data || {}, event.action));
});

// Push services renew subscriptions now and then (and expire them: 404/410 on the platform side). Subscribe
// again with the same VAPID key; an open page registers the new one with the platform, which needs the
// officer's session, and the next start of the app does so otherwise (push.js syncSubscription).
self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil((async () => {
    const old = event.oldSubscription;
    const key = old && old.options ? old.options.applicationServerKey : null;
    if (key && !event.newSubscription) {
      await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    }
    const windows = await self.clients.matchAll({ type: "window" });
    for (const client of windows) client.postMessage({ type: "push-renewed" });
  })());
});
