// Coordinator: every camera with its status (active, inactive by schedule, gated, degraded, error, offline),
// as a sketch and as a list. Status is always spelled out, never shown by colour alone.

import { api, asList } from "../api.js";
import { formatTime, t } from "../i18n.js";
import { badge, h } from "../ui.js";
import { cameraSketch } from "./location.js";

const STATUS_KIND = {
  active: "ok", inactive_schedule: "info", gated: "warn", inactive_gated: "warn", degraded: "warn", error: "alert", offline: "alert",
};
const STATUS_ORDER = ["error", "offline", "degraded", "gated", "inactive_gated", "inactive_schedule", "active"];

function statusBadge(status) {
  return badge(STATUS_KIND[status] || "info", t(`camera_status.${status}`));
}

export async function view(ctx) {
  const cameras = asList(await api("/cameras"), "cameras");
  ctx.cameras = new Map(cameras.map((c) => [c.id ?? c.camera_id, c]));
  const counts = Object.fromEntries(STATUS_ORDER.map((s) => [s, cameras.filter((c) => c.status === s).length]));
  const sorted = [...cameras].sort((a, b) =>
    STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status) || String(a.name).localeCompare(String(b.name)));
  const sites = [...new Set(cameras.map((c) => c.site).filter(Boolean))];
  ctx.render(
    h("h1", {}, t("cameras.title")),
    h("ul", { class: "stats stats-inline", id: "camera-counts" },
      STATUS_ORDER.filter((s) => counts[s] > 0).map((s) =>
        h("li", {}, h("span", { class: "stat-value" }, String(counts[s])), statusBadge(s)))),
    h("section", { class: "card", "aria-labelledby": "camera-map-title" },
      h("h2", { id: "camera-map-title" }, t("cameras.map")),
      cameraSketch(cameras, { statusOf: (c) => c.status, title: t("cameras.map_title", { n: cameras.length }) }),
      h("p", { class: "muted" }, t("cameras.sites", { sites: sites.join(", ") || t("common.unknown") }))),
    h("h2", {}, t("cameras.list")),
    cameras.length === 0 ? h("p", { class: "empty" }, t("cameras.none")) : h(
      "ul",
      { class: "camera-list", id: "camera-list" },
      sorted.map((c) => h(
        "li",
        { class: "card camera-item", dataset: { cameraId: c.id ?? c.camera_id, status: c.status } },
        h("div", { class: "camera-head" }, h("strong", {}, c.name || c.id), statusBadge(c.status)),
        h("p", { class: "muted" }, [c.site, c.id].filter(Boolean).join(" · ")),
        c.last_reason ? h("p", {}, t("cameras.reason", { reason: c.last_reason })) : null,
        h("p", { class: "muted" }, c.last_heartbeat_at ? t("cameras.last_seen", { at: formatTime(c.last_heartbeat_at) }) : t("cameras.never_seen")),
      )),
    ),
  );
}
