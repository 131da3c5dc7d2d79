// The officer's home: open incidents, newest first, with age, zone and confidence. Updated live.

import { api, asList } from "../api.js";
import { formatAge, t } from "../i18n.js";
import { pushState, subscribePush } from "../push.js";
import { h, toast } from "../ui.js";
import { cameraIndex, cameraLabel, confidenceLabel, newestFirst, peopleLabel, stateBadge, zoneLabel } from "./shared.js";

function card(incident, cameras) {
  return h(
    "li",
    { class: "incident-item", dataset: { incidentId: incident.id, state: incident.state } },
    h(
      "a",
      { href: `/app/incidents/${incident.id}`, "data-link": true, class: "incident-link" },
      h("span", { class: "incident-zone" }, zoneLabel(incident)),
      h("span", { class: "incident-camera" }, cameraLabel(cameras, incident.camera_id)),
      h(
        "span",
        { class: "incident-meta" },
        stateBadge(incident.state),
        h("span", { class: "incident-age", dataset: { since: incident.opened_at } },
          t("incident.age", { age: formatAge(incident.opened_at) })),
        h("span", { class: "incident-confidence" }, confidenceLabel(incident)),
        h("span", { class: "incident-people" }, peopleLabel(incident)),
      ),
    ),
  );
}

export async function view(ctx) {
  const [data, cameras] = await Promise.all([api("/incidents?state=open"), cameraIndex(ctx)]);
  const fetched = asList(data, "incidents");
  // The list holds what is not closed; the stream adds new ones and removes closed ones.
  for (const incident of fetched) ctx.upsertIncident(incident);
  const fetchedIds = new Set(fetched.map((i) => i.id));
  for (const [id, incident] of ctx.incidents) if (incident.state !== "closed" && !fetchedIds.has(id)) ctx.incidents.delete(id);

  // Not a live region: re-reading the whole list on every change is noise; new incidents are announced
  // once by the toast (role=alert).
  const list = h("ul", { class: "incident-list", id: "incident-list" });
  const empty = h("p", { class: "empty", id: "no-incidents" }, t("incidents.empty"));
  const count = h("p", { class: "muted", id: "incident-count" });

  function draw() {
    const open = [...ctx.incidents.values()].filter((i) => i.state !== "closed").sort(newestFirst);
    list.replaceChildren(...open.map((i) => card(i, cameras)));
    empty.hidden = open.length > 0;
    list.hidden = open.length === 0;
    count.textContent = t("incidents.count", { n: open.length });
  }

  draw();
  ctx.on("incident", draw);
  ctx.on("reconnected", async () => {
    // After network loss the stream replays from the last event id; a list fetch covers anything older.
    try {
      for (const incident of asList(await api("/incidents?state=open"), "incidents")) ctx.upsertIncident(incident);
    } catch {
      /* still offline: the banner says so */
    }
  });
  // Ages tick in place, so a focused card keeps its focus.
  const timer = setInterval(() => {
    for (const el of list.querySelectorAll(".incident-age")) {
      el.textContent = t("incident.age", { age: formatAge(el.dataset.since) });
    }
  }, 15000);
  ctx.cleanups.push(() => clearInterval(timer));

  ctx.render(
    h("div", { class: "page-head" }, h("h1", {}, t("incidents.title")), count),
    empty,
    list,
    await pushPrompt(),
  );
}

/** Officers who have not turned on push yet get one button for it above the list. */
async function pushPrompt() {
  let state = "unsupported";
  try {
    state = await pushState();
  } catch {
    return null;
  }
  if (state !== "available") return null;
  const button = h("button", { type: "button", class: "button button-block", id: "push-prompt" }, t("push.subscribe"));
  const box = h("section", { class: "card push-prompt" }, h("p", {}, t("push.intro")), button);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await subscribePush();
      toast(t("push.done"), "ok");
      box.remove();
    } catch (error) {
      toast(t(error.message === "permission-denied" ? "push.state_denied" : "push.failed"), "error");
      button.disabled = false;
    }
  });
  return box;
}
