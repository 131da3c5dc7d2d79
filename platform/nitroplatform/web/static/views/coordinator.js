// Coordinator overview: open incidents and recently closed ones, with response times.

import { api, asList } from "../api.js";
import { formatAge, formatDuration, formatTime, t } from "../i18n.js";
import { h } from "../ui.js";
import { cameraIndex, cameraLabel, newestFirst, stateBadge, zoneLabel } from "./shared.js";

function seconds(from, to) {
  if (!from || !to) return null;
  return Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));
}

/** Time to claim, to arrive, and to close, from the incident's own timestamps. */
export function responseTimes(incident) {
  return {
    claim: seconds(incident.opened_at, incident.claimed_at),
    arrive: seconds(incident.opened_at, incident.arrived_at),
    close: incident.state === "closed" ? seconds(incident.opened_at, incident.closed_at) : null,
  };
}

function responseLine(times) {
  const part = (key, value) => h("span", {}, t(key, { value: value === null ? "—" : formatDuration(value) }));
  return h("p", { class: "response-times" },
    part("overview.claim_after", times.claim), part("overview.arrive_after", times.arrive),
    part("overview.close_after", times.close));
}

function item(incident, cameras) {
  return h(
    "li",
    { class: "card overview-item", dataset: { incidentId: incident.id } },
    h("div", { class: "camera-head" },
      h("a", { href: `/app/incidents/${incident.id}`, "data-link": true, class: "overview-zone" }, zoneLabel(incident)),
      stateBadge(incident.state)),
    h("p", { class: "muted" }, `${cameraLabel(cameras, incident.camera_id)} · ${
      incident.state === "closed" ? formatTime(incident.opened_at) : t("incident.age", { age: formatAge(incident.opened_at) })}`),
    responseLine(responseTimes(incident)),
  );
}

function list(id, incidents, cameras) {
  if (incidents.length === 0) return h("p", { class: "empty", id: `${id}-empty` }, t("overview.none"));
  return h("ul", { class: "card-list", id }, incidents.map((i) => item(i, cameras)));
}

function median(values) {
  const sorted = values.filter((v) => v !== null).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

export async function view(ctx) {
  const [data, cameras] = await Promise.all([api("/incidents?state=all"), cameraIndex(ctx)]);
  const section = h("div", {});
  let all = asList(data, "incidents");

  function draw() {
    const open = all.filter((i) => i.state !== "closed").sort(newestFirst);
    const recent = all.filter((i) => i.state === "closed").sort(newestFirst).slice(0, 30);
    const claimMedian = median(all.map((i) => responseTimes(i).claim));
    const arriveMedian = median(all.map((i) => responseTimes(i).arrive));
    section.replaceChildren(
      h("ul", { class: "stats" },
        h("li", {}, h("span", { class: "stat-value", id: "stat-open" }, String(open.length)), t("overview.open_count")),
        h("li", {}, h("span", { class: "stat-value" }, claimMedian === null ? "—" : formatDuration(claimMedian)),
          t("overview.median_claim")),
        h("li", {}, h("span", { class: "stat-value" }, arriveMedian === null ? "—" : formatDuration(arriveMedian)),
          t("overview.median_arrive"))),
      h("h2", {}, t("overview.open")),
      list("open-incidents", open, cameras),
      h("h2", {}, t("overview.recent")),
      list("recent-incidents", recent, cameras),
    );
  }

  ctx.on("incident", (incident) => {
    all = [incident, ...all.filter((i) => i.id !== incident.id)];
    draw();
  });
  draw();
  ctx.render(h("h1", {}, t("overview.title")), section);
}
