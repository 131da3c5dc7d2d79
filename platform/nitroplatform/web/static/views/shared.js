// Pieces shared by several views: camera lookup and incident labels.

import { api, asList } from "../api.js";
import { formatPercent, t } from "../i18n.js";
import { badge, h } from "../ui.js";

/** Cameras by id, fetched once per session; empty when the user may not list cameras. */
export async function cameraIndex(ctx, { refresh = false } = {}) {
  if (!ctx.cameras || refresh) {
    try {
      ctx.cameras = new Map(asList(await api("/cameras"), "cameras").map((c) => [c.id ?? c.camera_id, c]));
    } catch {
      ctx.cameras = new Map();
    }
  }
  return ctx.cameras;
}

export function cameraLabel(cameras, cameraId) {
  const camera = cameras.get(cameraId);
  return camera && camera.name ? camera.name : cameraId;
}

const STATE_KIND = { open: "alert", claimed: "warn", arrived: "info", closed: "ok" };

/** A badge with the incident state in words. */
export function stateBadge(state) {
  return badge(STATE_KIND[state] || "info", t(`state.${state}`));
}

export function zoneLabel(incident) {
  return incident.zone || t("incident.no_zone");
}

export function confidenceLabel(incident) {
  return t("incident.confidence_value", { value: formatPercent(incident.confidence) });
}

export function peopleLabel(incident) {
  return t("incident.people_value", { value: incident.people_involved || t("common.unknown") });
}

/** Sort newest first by opened_at. */
export function newestFirst(a, b) {
  return Date.parse(b.opened_at) - Date.parse(a.opened_at);
}

export function definitionList(rows) {
  return h("dl", { class: "facts" }, rows.filter(Boolean).map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}
