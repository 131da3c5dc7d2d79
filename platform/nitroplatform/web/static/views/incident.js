// One incident: what, where (camera location, geo: link), and the officer's actions: claim, arrived,
// outcome. The outcome is structured: categories only. There is no free-text box, so no personal data can be
// typed into it (names, addresses, phone numbers and licence plates were, when there was one).

import { api, ApiError, asList } from "../api.js";
import { formatAge, formatTime, t } from "../i18n.js";
import { h, toast } from "../ui.js";
import { locationSection } from "./location.js";
import {
  cameraIndex, cameraLabel, confidenceLabel, definitionList, peopleLabel, stateBadge, zoneLabel,
} from "./shared.js";

const OUTCOMES = ["confirmed_use", "nobody_there", "false_alarm", "not_handled"];
const FALLBACK_CATEGORIES = [
  "drink", "phone", "cigarette_vape", "balloon_on_string", "balloon_held_away", "ball", "beach_bucket", "other",
];

function categoryKey(category) {
  return typeof category === "string" ? category : category.key || category.code || category.id || category.name;
}

function categoryLabel(category) {
  const key = categoryKey(category);
  const translated = t(`category.${key}`);
  if (translated !== `category.${key}`) return translated;
  return typeof category === "object" && category.label ? category.label : key;
}

async function loadCategories(ctx) {
  if (!ctx.outcomeCategories) {
    try {
      const vocabulary = await api("/outcome-categories");
      ctx.outcomeCategories = asList(vocabulary, "false_alarm_categories", "categories");
    } catch {
      ctx.outcomeCategories = [];
    }
    if (ctx.outcomeCategories.length === 0) ctx.outcomeCategories = FALLBACK_CATEGORIES;
  }
  return ctx.outcomeCategories;
}

function radio(name, value, label, { checked = false, onChange } = {}) {
  const id = `${name}-${value}`;
  return h(
    "div",
    { class: "choice" },
    h("input", { type: "radio", name, id, value, checked, onchange: onChange }),
    h("label", { for: id }, label),
  );
}

function outcomeForm(ctx, incident, categories, done) {
  const error = h("p", { class: "error-text", role: "alert", hidden: true });
  const categoryFieldset = h(
    "fieldset",
    { class: "choices", id: "category-fieldset", hidden: true },
    h("legend", {}, t("outcome.category_legend")),
    categories.map((c) => radio("category", categoryKey(c), categoryLabel(c))),
  );
  const showCategories = () => {
    const chosen = form.querySelector('input[name="outcome"]:checked');
    categoryFieldset.hidden = !chosen || chosen.value !== "false_alarm";
  };
  const submit = h("button", { type: "submit", class: "button button-primary button-block", id: "save-outcome" },
    t("outcome.submit"));
  const form = h(
    "form",
    { class: "card form", id: "outcome-form", novalidate: true },
    h("h2", {}, t("outcome.title")),
    h(
      "fieldset",
      { class: "choices" },
      h("legend", {}, t("outcome.legend")),
      OUTCOMES.map((o) => radio("outcome", o, t(`outcome.${o}`), { onChange: showCategories })),
    ),
    categoryFieldset,
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const outcome = form.querySelector('input[name="outcome"]:checked');
    const category = form.querySelector('input[name="category"]:checked');
    error.hidden = true;
    if (!outcome) {
      error.textContent = t("outcome.choose");
      error.hidden = false;
      return;
    }
    if (outcome.value === "false_alarm" && !category) {
      error.textContent = t("outcome.choose_category");
      error.hidden = false;
      return;
    }
    const body = { outcome: outcome.value };
    if (outcome.value === "false_alarm") body.category = category.value;
    submit.disabled = true;
    // The incident API does not echo the outcome back: remember what this officer records. Set before the
    // request, because the live stream may announce the closed incident before the response arrives.
    ctx.recordedOutcomes = ctx.recordedOutcomes || new Map();
    ctx.recordedOutcomes.set(incident.id, body);
    try {
      await done(await api(`/incidents/${incident.id}/outcome`, { method: "POST", body }), "outcome.saved");
    } catch (err) {
      ctx.recordedOutcomes.delete(incident.id);
      submit.disabled = false;
      error.textContent = actionError(err);
      error.hidden = false;
    }
  });
  return form;
}

function actionError(err) {
  if (err instanceof ApiError) {
    if (err.status === 409) return t("action.conflict");
    if (err.status === 403) return t("error.forbidden");
    if (err.status === 422 || err.status === 400) return typeof err.detail === "string" ? err.detail : t("error.invalid");
  }
  if (err instanceof TypeError) return t("error.offline");
  return t("error.generic");
}

function outcomeSummary(ctx, incident) {
  const mine = ctx.recordedOutcomes && ctx.recordedOutcomes.get(incident.id);
  const outcome = incident.outcome && typeof incident.outcome === "object" ? incident.outcome : mine || incident;
  const kind = outcome.outcome || (typeof incident.outcome === "string" ? incident.outcome : null);
  if (!kind) return null;
  return h(
    "section",
    { class: "card", id: "outcome-summary" },
    h("h2", {}, t("outcome.recorded")),
    definitionList([
      [t("outcome.legend"), t(`outcome.${kind}`)],
      outcome.category ? [t("outcome.category_legend"), t(`category.${outcome.category}`)] : null,
    ]),
  );
}

export async function view(ctx, [id]) {
  const [incident, cameras, categories] = await Promise.all([
    api(`/incidents/${encodeURIComponent(id)}`), cameraIndex(ctx), loadCategories(ctx),
  ]);
  ctx.upsertIncident(incident);
  let current = incident;
  const actions = h("section", { class: "actions", id: "actions", "aria-label": t("incident.actions") });
  const status = h("div", { id: "incident-status" });
  const details = h("section", { class: "card", id: "incident-details" });
  let form = null;

  async function done(result, messageKey) {
    const updated = result && result.id ? result : await api(`/incidents/${encodeURIComponent(id)}`);
    ctx.upsertIncident(updated);
    if (updated.state === "closed") window.scrollTo(0, 0);
    toast(t(messageKey), "ok");
  }

  async function act(path, messageKey, button) {
    button.disabled = true;
    try {
      await done(await api(`/incidents/${encodeURIComponent(id)}/${path}`, { method: "POST", body: {} }), messageKey);
    } catch (err) {
      button.disabled = false;
      toast(actionError(err), "error");
      if (err instanceof ApiError && err.status === 409) {
        ctx.upsertIncident(await api(`/incidents/${encodeURIComponent(id)}`));
      }
    }
  }

  function draw() {
    const inc = current;
    status.replaceChildren(
      h("p", { class: "incident-headline" }, stateBadge(inc.state),
        h("span", {}, t("incident.age", { age: formatAge(inc.opened_at) }))),
      h("p", { class: "incident-summary" },
        h("span", {}, confidenceLabel(inc)), h("span", {}, peopleLabel(inc)),
        h("span", {}, cameraLabel(cameras, inc.camera_id))),
    );
    details.replaceChildren(
      h("h2", {}, t("incident.details")),
      definitionList([
        [t("incident.opened_at"), formatTime(inc.opened_at)],
        inc.state === "closed" ? [t("incident.closed_at"), formatTime(inc.closed_at)]
          : [t("incident.expires_at"), formatTime(inc.expires_at)],
        inc.state === "closed" && inc.close_reason ? [t("incident.close_reason"), t(`close_reason.${inc.close_reason}`)] : null,
        inc.claimed_by ? [t("incident.claimed_by"),
          t("incident.claimed_by_value", { name: inc.claimed_by, time: formatTime(inc.claimed_at) })] : null,
        inc.arrived_at ? [t("incident.arrived_at"), formatTime(inc.arrived_at)] : null,
        [t("incident.alerts"), String(inc.alert_count ?? 1)],
        [t("incident.model"), inc.model_version || t("common.unknown")],
      ]),
    );
    const parts = [];
    if (inc.state === "open") {
      const claim = h("button", { type: "button", class: "button button-primary button-block", id: "claim" },
        t("action.claim"));
      claim.addEventListener("click", () => act("claim", "action.claimed", claim));
      parts.push(claim);
    }
    if (inc.state === "claimed") {
      const arrive = h("button", { type: "button", class: "button button-primary button-block", id: "arrive" },
        t("action.arrive"));
      arrive.addEventListener("click", () => act("arrive", "action.arrived", arrive));
      parts.push(arrive);
    }
    if (inc.state === "claimed" || inc.state === "arrived") {
      // Keep the same form from "claimed" to "arrived", so a choice made meanwhile is not lost.
      form = form || outcomeForm(ctx, inc, categories, done);
      parts.push(form);
    }
    if (inc.state === "closed") {
      parts.push(outcomeSummary(ctx, inc) || h("p", { class: "card", id: "closed-note" }, t("incident.closed_note")));
    }
    actions.replaceChildren(...parts.filter(Boolean));
  }

  ctx.on("incident", (updated) => {
    if (updated.id !== current.id) return;
    const stateChanged = updated.state !== current.state;
    current = updated;
    if (stateChanged) draw();
  });

  const camera = cameras.get(incident.camera_id);
  ctx.render(
    h("p", { class: "back" }, h("a", { href: "/app/", "data-link": true }, `← ${t("nav.back_to_list")}`)),
    h("h1", {}, zoneLabel(incident)),
    status,
    actions,
    locationSection(ctx, camera, cameras, incident.camera_id),
    details,
  );
  draw();

  // A notification's "claim" action opens /app/incidents/{id}?claim=1: claim once, then drop the flag.
  if (new URLSearchParams(location.search).get("claim") === "1") {
    history.replaceState(null, "", location.pathname);
    const claim = document.getElementById("claim");
    if (claim) await act("claim", "action.claimed", claim);
  }
}
