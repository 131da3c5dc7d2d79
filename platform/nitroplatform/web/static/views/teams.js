// Coordinator: teams with their shifts and areas, routes (zone/camera + time → team) and silences.

import { api, ApiError, asList } from "../api.js";
import { formatDuration, formatTime, t } from "../i18n.js";
import { h, toast } from "../ui.js";
import { cameraIndex, definitionList } from "./shared.js";

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

const DURATIONS = [30, 60, 120, 240, 480];

/** Coordinators mute one camera for a while (pages only: the camera and incidents keep working). */
function suspendForm(ctx, cameras, reload) {
  const error = h("p", { class: "error-text", role: "alert", hidden: true });
  const camera = h("select", { id: "silence-camera", name: "camera_id", required: true },
    [...cameras.values()].map((c) => h("option", { value: c.id }, c.name ? `${c.name} (${c.id})` : c.id)));
  const minutes = h("select", { id: "silence-minutes", name: "minutes" },
    DURATIONS.map((m) => h("option", { value: m, selected: m === 60 }, formatDuration(m * 60))));
  const comment = h("input", {
    id: "silence-comment", name: "comment", type: "text", minlength: 3, maxlength: 500, required: true,
    "aria-describedby": "silence-warning",
  });
  const submit = h("button", { type: "submit", class: "button button-primary button-block" }, t("silence.submit"));
  const form = h("form", { class: "card form", id: "silence-form", novalidate: true },
    h("h3", {}, t("silence.title")),
    h("div", { class: "field" }, h("label", { for: "silence-camera" }, t("silence.camera")), camera),
    h("div", { class: "field" }, h("label", { for: "silence-minutes" }, t("silence.duration")), minutes),
    h("div", { class: "field" }, h("label", { for: "silence-comment" }, t("silence.comment")),
      h("p", { class: "warning", id: "silence-warning" }, t("silence.warning")), comment),
    error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (comment.value.trim().length < 3) {
      error.textContent = t("silence.comment_needed");
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      await api("/silences/suspend", {
        method: "POST", body: { camera_id: camera.value, minutes: Number(minutes.value), comment: comment.value.trim() },
      });
      toast(t("silence.created"), "ok");
      await reload();
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 403 ? t("error.forbidden") : t("error.generic");
      error.hidden = false;
      submit.disabled = false;
    }
  });
  return form;
}

export async function view(ctx) {
  const [teams, routes, silences, cameras] = await Promise.all([
    optional("/teams", "teams"), optional("/routes", "routes"), optional("/silences", "silences"), cameraIndex(ctx),
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
  ctx.render(
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
          ]),
          silence.status !== "expired" && ctx.hasRole("coordinator", "admin") ? h("button", {
            type: "button", class: "button button-block", dataset: { silenceId: silence.id },
            onclick: async () => {
              try {
                await api(`/silences/${silence.id}`, { method: "DELETE" });
                toast(t("silence.ended"), "ok");
                await view(ctx);
              } catch {
                toast(t("error.generic"), "error");
              }
            },
          }, t("silence.end")) : null)))),
    ctx.hasRole("coordinator", "admin") ? suspendForm(ctx, cameras, () => view(ctx)) : null,
  );
}
