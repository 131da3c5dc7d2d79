// ML engineer: field precision (confirmed use / (confirmed use + false alarms)) per model version and
// camera, from officers' outcomes. Drawn as an inline SVG bar chart, with the same numbers in a table.

import { api, asList } from "../api.js";
import { formatPercent, t } from "../i18n.js";
import { h, svg } from "../ui.js";

/** Normalise the platform's rows to {model, camera, confirmed, falseAlarms, precision, n}. */
export function normaliseRows(data) {
  let rows = asList(data, "rows", "by_model_camera", "cameras", "precision");
  if (rows.length === 0 && data && Array.isArray(data.models)) {
    rows = data.models.flatMap((m) => (m.cameras || [m]).map((c) => ({ model_version: m.model_version || m.version, ...c })));
  }
  return rows.map((r) => {
    const confirmed = r.confirmed ?? r.confirmed_use ?? r.true_positives ?? null;
    const falseAlarms = r.false_alarms ?? r.false_alarm ?? r.false_positives ?? null;
    let precision = r.precision ?? r.field_precision ?? null;
    if (precision === null && confirmed !== null && falseAlarms !== null && confirmed + falseAlarms > 0) {
      precision = confirmed / (confirmed + falseAlarms);
    }
    return {
      model: r.model_version || r.model || (r.model_ref && r.model_ref.version) || "?",
      camera: r.camera_id || r.camera || null,
      confirmed,
      falseAlarms,
      precision,
      n: r.n ?? r.outcomes ?? r.total ?? (confirmed !== null && falseAlarms !== null ? confirmed + falseAlarms : null),
    };
  });
}

function group(rows) {
  const byModel = new Map();
  for (const row of rows) {
    if (!byModel.has(row.model)) byModel.set(row.model, []);
    byModel.get(row.model).push(row);
  }
  return [...byModel.entries()].map(([model, list]) => {
    const confirmed = list.reduce((s, r) => s + (r.confirmed || 0), 0);
    const falseAlarms = list.reduce((s, r) => s + (r.falseAlarms || 0), 0);
    const overall = confirmed + falseAlarms > 0 ? confirmed / (confirmed + falseAlarms)
      : list.length === 1 ? list[0].precision : null;
    return { model, overall, n: confirmed + falseAlarms, cameras: list.filter((r) => r.camera) };
  }).sort((a, b) => String(b.model).localeCompare(String(a.model), undefined, { numeric: true }));
}

function chart(groups) {
  const rowHeight = 30;
  const labelWidth = 150;
  const barWidth = 118;
  const lines = groups.flatMap((g) => [
    { label: t("precision.model_label", { model: g.model }), value: g.overall, n: g.n, strong: true },
    ...g.cameras.map((c) => ({ label: c.camera, value: c.precision, n: c.n, strong: false })),
  ]);
  const height = lines.length * rowHeight + 30;
  const root = svg("svg", {
    viewBox: `0 0 ${labelWidth + barWidth + 96} ${height}`, class: "chart", role: "img", "aria-labelledby": "chart-title",
    id: "precision-chart",
  }, svg("title", { id: "chart-title" }, t("precision.chart_title")));
  [0, 0.5, 1].forEach((tick) => {
    const x = labelWidth + tick * barWidth;
    root.append(svg("line", { x1: x, y1: 4, x2: x, y2: height - 22, class: "chart-grid" }),
      svg("text", { x, y: height - 8, "text-anchor": "middle", class: "chart-tick" }, formatPercent(tick)));
  });
  lines.forEach((line, i) => {
    const y = 6 + i * rowHeight;
    root.append(svg("text", { x: labelWidth - 8, y: y + 18, "text-anchor": "end", class: line.strong ? "chart-label strong" : "chart-label" },
      line.label));
    if (line.value === null || line.value === undefined) {
      root.append(svg("text", { x: labelWidth + 4, y: y + 18, class: "chart-value" }, t("precision.no_data")));
      return;
    }
    const width = Math.max(2, line.value * barWidth);
    root.append(
      svg("rect", { x: labelWidth, y: y + 3, width, height: rowHeight - 8, rx: 3, class: line.strong ? "chart-bar strong" : "chart-bar" }),
      svg("text", { x: labelWidth + width + 6, y: y + 18, class: "chart-value" },
        `${formatPercent(line.value)}${line.n ? ` (n=${line.n})` : ""}`),
    );
  });
  return root;
}

export async function view(ctx) {
  const rows = normaliseRows(await api("/precision"));
  const groups = group(rows);
  ctx.render(
    h("h1", {}, t("precision.title")),
    h("p", { class: "lead" }, t("precision.intro")),
    groups.length === 0 ? h("p", { class: "empty", id: "precision-empty" }, t("precision.none")) : [
      h("section", { class: "card" }, chart(groups)),
      h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": "precision-caption" },
        h("table", { id: "precision-table" },
          h("caption", { id: "precision-caption" }, t("precision.table_caption")),
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, t("precision.model")),
            h("th", { scope: "col" }, t("precision.camera")),
            h("th", { scope: "col" }, t("precision.confirmed_false")),
            h("th", { scope: "col" }, t("precision.precision")))),
          h("tbody", {}, rows.map((r) => h("tr", {},
            h("td", {}, r.model), h("td", {}, r.camera || t("precision.all_cameras")),
            h("td", {}, `${r.confirmed ?? "—"} / ${r.falseAlarms ?? "—"}`),
            h("td", {}, r.precision === null ? "—" : formatPercent(r.precision))))))),
    ],
  );
}
