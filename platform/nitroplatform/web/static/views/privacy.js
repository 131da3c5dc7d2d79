// Privacy officer and auditor: entry points to the IAMA screens, the public transparency page, and the
// audit log ("who saw and did what").

import { api, asList } from "../api.js";
import { formatTime, t } from "../i18n.js";
import { h } from "../ui.js";

function detailText(detail) {
  if (!detail || typeof detail !== "object") return detail ? String(detail) : "";
  return Object.entries(detail).map(([key, value]) => `${key}=${typeof value === "object" ? JSON.stringify(value) : value}`).join(", ");
}

function auditTable(entries) {
  if (entries.length === 0) return h("p", { class: "empty" }, t("audit.none"));
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": "audit-caption" },
    h("table", { id: "audit-table" },
      h("caption", { id: "audit-caption", class: "visually-hidden" }, t("audit.title")),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, t("audit.at")),
        h("th", { scope: "col" }, t("audit.actor")),
        h("th", { scope: "col" }, t("audit.action")),
        h("th", { scope: "col" }, t("audit.target")),
        h("th", { scope: "col" }, t("audit.detail")))),
      h("tbody", {}, entries.map((e) => h("tr", {},
        h("td", {}, formatTime(e.at || e.created_at || e.timestamp)),
        h("td", {}, e.actor || e.username || e.user || "—"),
        h("td", {}, e.action || e.event || "—"),
        h("td", {}, [e.target_type, e.target_id || e.target].filter(Boolean).join(" ") || "—"),
        h("td", { class: "cell-detail" }, detailText(e.detail)))))),
  );
}

export async function view(ctx) {
  const canAudit = ctx.hasRole("auditor", "privacy_officer", "admin");
  const auditSection = h("section", { "aria-labelledby": "audit-h" }, h("h2", { id: "audit-h" }, t("audit.title")));
  const filter = h("input", { id: "audit-filter", type: "search", name: "q" });
  let entries = [];
  const tableHolder = h("div", {});
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    tableHolder.replaceChildren(auditTable(q ? entries.filter((e) => JSON.stringify(e).toLowerCase().includes(q)) : entries));
  };
  filter.addEventListener("input", draw);
  if (canAudit) {
    try {
      entries = asList(await api("/audit?limit=200"), "entries", "events");
      auditSection.append(h("div", { class: "field" }, h("label", { for: "audit-filter" }, t("audit.filter")), filter), tableHolder);
      draw();
    } catch {
      auditSection.append(h("p", { class: "empty" }, t("common.unavailable")));
    }
  }
  ctx.render(
    h("h1", {}, t("privacy.title")),
    h("p", { class: "lead" }, t("privacy.intro")),
    h("ul", { class: "link-list" },
      h("li", {}, h("a", { href: "/iama/", class: "button button-block", id: "iama-link" }, t("privacy.iama"))),
      h("li", {}, h("a", { href: "/transparency", class: "button button-block" }, t("privacy.transparency"))),
      h("li", {}, h("a", { href: "/app/cameras", "data-link": true, class: "button button-block" }, t("privacy.cameras"))),
      h("li", {}, h("a", { href: "/app/precision", "data-link": true, class: "button button-block" }, t("privacy.precision")))),
    canAudit ? auditSection : null,
  );
}
