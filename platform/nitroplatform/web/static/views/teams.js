// Coordinator: teams with their shifts and areas, routes (zone/camera + time → team) and silences.

import { api, asList } from "../api.js";
import { formatTime, t } from "../i18n.js";
import { h, render } from "../ui.js";
import { definitionList } from "./shared.js";

function minuteLabel(minute) {
  if (minute === null || minute === undefined) return "";
  return `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;
}

function weekdaysLabel(weekdays) {
  const days = Array.isArray(weekdays) ? weekdays : String(weekdays || "").split(",").filter(Boolean);
  if (days.length === 0 || days.length === 7) return t("teams.every_day");
  return days.map((d) => t(`weekday.${String(d).trim()}`)).join(", ");
}

/** "ma, di 22:00–04:00" or "always" for a shift or route window. */
export function windowLabel(item) {
  const days = weekdaysLabel(item.weekdays);
  const start = item.start ?? minuteLabel(item.start_minute);
  const end = item.end ?? minuteLabel(item.end_minute);
  if (!start) return days === t("teams.every_day") ? t("teams.always") : days;
  return `${days} ${start}–${end}`;
}

function names(list, key = "name") {
  return (list || []).map((x) => (typeof x === "string" ? x : x[key] || x.username || x.display_name || x.id)).join(", ");
}

function teamCard(team, teamsById) {
  const escalate = team.escalate_to_team_id ? teamsById.get(team.escalate_to_team_id) : null;
  return h(
    "li",
    { class: "card", dataset: { teamId: team.id } },
    h("h3", {}, team.name, team.on_shift ? h("span", { class: "badge badge-ok" }, t("teams.on_shift")) : null),
    team.description ? h("p", { class: "muted" }, team.description) : null,
    definitionList([
      [t("teams.members"), names(team.members, "username") || "—"],
      [t("teams.areas"), (team.areas || []).map((a) => `${a.name} (${(a.camera_ids || []).join(", ")})`).join("; ") || "—"],
      [t("teams.shifts"), (team.shifts || []).map(windowLabel).join("; ") || "—"],
      escalate ? [t("teams.escalates_to"), t("teams.escalation_value", { team: escalate.name, s: team.escalate_after_s })] : null,
    ]),
  );
}

async function optional(path, ...keys) {
  try {
    return { items: asList(await api(path), ...keys), error: null };
  } catch (error) {
    return { items: [], error };
  }
}

export async function view(ctx) {
  const [teams, routes, silences] = await Promise.all([
    optional("/teams", "teams"), optional("/routes", "routes"), optional("/silences", "silences"),
  ]);
  // Members, areas and shifts are sub-resources of each team.
  await Promise.all(teams.items.map(async (team) => {
    const [members, areas, shifts] = await Promise.all([
      optional(`/teams/${team.id}/members`), optional(`/teams/${team.id}/areas`), optional(`/teams/${team.id}/shifts`),
    ]);
    Object.assign(team, { members: members.items, areas: areas.items, shifts: shifts.items });
  }));
  const teamsById = new Map(teams.items.map((team) => [team.id, team]));
  const teamName = (id) => (teamsById.get(id) ? teamsById.get(id).name : String(id ?? "—"));
  const unavailable = h("p", { class: "empty" }, t("common.unavailable"));
  render(
    h("h1", {}, t("teams.title")),
    h("section", { "aria-labelledby": "teams-h" }, h("h2", { id: "teams-h" }, t("teams.teams")),
      teams.error ? unavailable.cloneNode(true) : h("ul", { class: "card-list", id: "team-list" },
        teams.items.map((team) => teamCard(team, teamsById)))),
    h("section", { "aria-labelledby": "routes-h" }, h("h2", { id: "routes-h" }, t("teams.routes")),
      routes.error ? unavailable.cloneNode(true) : routes.items.length === 0 ? h("p", { class: "empty" }, t("teams.no_routes"))
        : h("ul", { class: "card-list", id: "route-list" }, routes.items
          .sort((a, b) => (a.priority ?? 100) - (b.priority ?? 100))
          .map((route) => h("li", { class: "card" },
            h("h3", {}, route.name || t("teams.route")),
            definitionList([
              [t("teams.matches"), [route.camera_id, route.zone].filter(Boolean).join(" · ") || t("teams.catch_all")],
              [t("teams.when"), windowLabel(route)],
              [t("teams.team"), teamName(route.team_id)],
              [t("teams.priority"), String(route.priority ?? "—")],
            ]))))),
    h("section", { "aria-labelledby": "silences-h" }, h("h2", { id: "silences-h" }, t("teams.silences")),
      silences.error ? unavailable.cloneNode(true) : silences.items.length === 0 ? h("p", { class: "empty" }, t("teams.no_silences"))
        : h("ul", { class: "card-list", id: "silence-list" }, silences.items.map((silence) => h("li", { class: "card" },
          h("h3", {}, [silence.camera_id, silence.zone].filter(Boolean).join(" · ") || t("teams.catch_all")),
          definitionList([
            [t("teams.status"), t(`silence_status.${silence.status || "active"}`)],
            [t("teams.until"), formatTime(silence.ends_at)],
            [t("teams.set_by"), silence.created_by || "—"],
            [t("teams.why"), silence.comment || "—"],
          ]))))),
  );
}
