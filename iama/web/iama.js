// IAMA screens for privacy officers: deployments, and a record editor with the live system facts beside
// each question, comments, review marks, DPO advice, residual-risk decisions, approval and exports.
// Everything goes through /api/v1/iama (the same service layer as `nitrosignal iama`).

const main = document.getElementById("main");
let me = null;

function csrf() {
  const m = document.cookie.split("; ").find((p) => p.startsWith("nitrosignal_csrf="));
  return m ? decodeURIComponent(m.slice(17)) : (me && me.csrf_token) || "";
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 204) return null;
  const data = (r.headers.get("content-type") || "").includes("json") ? await r.json() : null;
  if (!r.ok) throw new Error((data && data.error && data.error.message) || (data && data.detail) || `HTTP ${r.status}`);
  return data;
}

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = true;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c.nodeType ? c : String(c));
  return el;
}

function put(...items) {
  const nodes = items.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false && c !== "");
  main.replaceChildren(...nodes.map((c) => (c.nodeType ? c : document.createTextNode(String(c)))));
}

function toast(message, error = false) {
  const t = document.getElementById("toast");
  t.textContent = message;
  t.className = "show" + (error ? " error" : "");
  setTimeout(() => { t.className = ""; }, error ? 8000 : 3000);
}

async function act(fn, okMessage) {
  // Re-render before confirming, so the confirmation always describes what is on screen.
  try { await fn(); await route(); if (okMessage) toast(okMessage); } catch (e) { toast(e.message, true); }
}

// ---------- deployments ----------
async function deploymentsView() {
  const list = await api("/api/v1/iama/deployments");
  const form = h("form", { class: "card", id: "new-deployment", onsubmit: (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    act(() => api("/api/v1/iama/deployments", { method: "POST", body: Object.fromEntries(f.entries()) }), "Inzet geregistreerd");
  } },
    h("h2", {}, "Nieuwe inzet"),
    ["id", "name", "purpose", "legal_basis", "period_start", "period_end", "operator"].map((name) =>
      h("label", {}, name, h(name === "purpose" || name === "legal_basis" ? "textarea" : "input", { name, id: `dep-${name}`, required: name === "id" || name === "name" }))),
    h("button", { class: "button button-primary", type: "submit" }, "Registreren"));
  put(
    h("h1", {}, "IAMA per inzet"),
    h("p", { class: "lead" }, "Een camera wordt pas actief als de inzet een goedgekeurde, actuele IAMA heeft."),
    h("div", { class: "iama-actions" }, h("button", { class: "button", id: "load-example", onclick: () =>
      act(async () => { const r = await api("/api/v1/iama/example", { method: "POST" }); location.hash = `#/record/${r.id}`; }, "Uitgewerkt voorbeeld geladen") }, "Uitgewerkt voorbeeld laden (IAMA v2)")),
    list.length === 0 ? h("p", { class: "empty" }, "Nog geen inzetten.") : list.map((d) => h("section", { class: "card deployment", "data-id": d.id },
      h("h2", {}, `${d.name} `, h("small", { class: "muted" }, d.id)),
      h("p", {}, d.purpose),
      h("p", { class: "muted" }, `Camera's: ${d.cameras.join(", ") || "geen"}`),
      h("ul", {}, d.records.map((r) => h("li", {}, h("a", { href: `#/record/${r.id}` }, `IAMA ${r.id} – ${r.questionnaire_id} v${r.version}`), " ",
        h("span", { class: "status-pill" }, r.status), r.reassessment_needed ? h("strong", {}, " herbeoordeling nodig") : ""))),
      h("div", { class: "iama-actions" },
        ["iama-v2-2026", "iama-v1-2021"].map((q) => h("button", { class: "button", onclick: () => act(async () => {
          const r = await api("/api/v1/iama/records", { method: "POST", body: { deployment_id: d.id, questionnaire_id: q } });
          location.hash = `#/record/${r.id}`;
        }, "Nieuw record") }, `Nieuwe ${q}`))))),
    form);
}

// ---------- record editor ----------
function visible(q, answers) {
  return (q.show_if || []).every((c) => {
    const a = answers[c.question];
    return c.equals != null ? a === c.equals : Array.isArray(a) && a.includes(c.contains);
  });
}

function inputFor(q, value, editable, lang) {
  const name = `q-${q.id}`;
  if (q.type === "text") return h("textarea", { name, "data-q": q.id, rows: 3, disabled: !editable, value: value || "" });
  if (q.type === "choice" || q.type === "rating")
    return h("div", { "data-q": q.id, "data-type": q.type }, q.options.map((o) => h("label", { class: "choice-inline" },
      h("input", { type: "radio", name, value: o.key, checked: value === o.key, disabled: !editable }), ` ${o.label[lang]} `)));
  if (q.type === "multi")
    return h("div", { "data-q": q.id, "data-type": "multi" }, q.options.map((o) => h("label", { class: "choice-inline" },
      h("input", { type: "checkbox", name, value: o.key, checked: (value || []).includes(o.key), disabled: !editable }), ` ${o.label[lang]} `, h("br"))));
  const text = (value || []).map((p) => [p.title, p.detail || "", p.owner || "", p.due || ""].join(" | ")).join("\n");
  return h("div", {}, h("small", { class: "muted" }, "Eén punt per regel: titel | toelichting | eigenaar | datum (JJJJ-MM-DD)"),
    h("textarea", { name, "data-q": q.id, "data-type": "action_points", rows: 3, disabled: !editable, value: text }));
}

function collectAnswers() {
  const out = {};
  for (const el of main.querySelectorAll("[data-q]")) {
    const id = el.dataset.q;
    const type = el.dataset.type || "text";
    if (type === "choice" || type === "rating") { const c = el.querySelector("input:checked"); if (c) out[id] = c.value; }
    else if (type === "multi") out[id] = [...el.querySelectorAll("input:checked")].map((i) => i.value);
    else if (type === "action_points") out[id] = el.value.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
      const [title, detail = "", owner = "", due = ""] = l.split("|").map((s) => s.trim());
      return due ? { title, detail, owner, due } : { title, detail, owner };
    });
    else out[id] = el.value;
  }
  return out;
}

function factBoxes(keys, facts, lang) {
  return keys.map((k) => facts.find((f) => f.key === k)).filter(Boolean).map((f) => {
    let value = f.value;
    if (f.key === "alert_schema" && value) value = { fields: value.fields, sha256: value.sha256 };
    return h("div", { class: "factbox", "data-fact": f.key }, h("strong", {}, f.title[lang]), h("span", { class: "muted" }, ` · ${f.source}`),
      h("pre", {}, JSON.stringify(value, null, 1)));
  });
}

function actionBar(rec, doc, id) {
  const status = doc.record.status;
  const reason = h("input", { id: "reason", placeholder: "Toelichting / redenen" });
  const bar = h("div", { class: "iama-actions", id: "actions" });
  const post = (action, msg) => act(() => api(`/api/v1/iama/records/${id}/actions/${action}`, { method: "POST", body: { reason: reason.value } }), msg);
  if (status === "draft") bar.append(
    h("button", { class: "button button-primary", id: "save", onclick: () => act(() => api(`/api/v1/iama/records/${id}/answers`, { method: "PUT", body: { answers: collectAnswers() } }), "Opgeslagen") }, "Antwoorden opslaan"),
    h("button", { class: "button", id: "submit", onclick: () => post("submit", "Ter review aangeboden") }, "Indienen voor review"));
  if (status === "in_review") bar.append(
    h("button", { class: "button", id: "mark-all", onclick: () => act(() => api(`/api/v1/iama/records/${id}/review`, { method: "POST", body: {
      marks: Object.keys(doc.answers.reduce((m, a) => ({ ...m, [a.question_id]: 1 }), {})).filter((q) => !rec.marks[q]).map((q) => ({ question_id: q, mark: "acceptable" })) } }), "Gemarkeerd") }, "Overige antwoorden: acceptabel"),
    h("button", { class: "button button-primary", id: "finish-review", onclick: () => act(() => api(`/api/v1/iama/records/${id}/review`, { method: "POST", body: { finish: true } }), "Review afgerond") }, "Review afronden"));
  if (status === "dpo_advice") {
    const opinion = h("select", { id: "opinion" }, ["positive", "conditional", "negative"].map((o) => h("option", { value: o }, o)));
    const advice = h("textarea", { id: "advice", placeholder: "Advies van de FG" });
    bar.append(opinion, advice,
      h("button", { class: "button", id: "save-advice", onclick: () => act(() => api(`/api/v1/iama/records/${id}/advice`, { method: "POST", body: { opinion: opinion.value, advice: advice.value } }), "Advies vastgelegd") }, "FG-advies vastleggen"),
      reason,
      h("button", { class: "button button-primary", id: "approve", onclick: () => post("approve", "Goedgekeurd") }, "Goedkeuren (bestuurder)"),
      h("button", { class: "button", id: "refuse", onclick: () => post("refuse", "Afgewezen") }, "Afwijzen"));
  }
  if (["approved", "refused", "expired"].includes(status)) bar.append(reason,
    h("button", { class: "button", id: "reopen", onclick: () => post("reopen", "Heropend") }, "Heropenen (nieuwe versie)"));
  if (status !== "archived" && status !== "in_review" && status !== "dpo_advice") bar.append(h("button", { class: "button", id: "archive", onclick: () => post("archive", "Gearchiveerd") }, "Archiveren"));
  return bar;
}

function risksPanel(doc, id) {
  const current = doc.residual_risks.filter((r) => r.record_version === doc.record.version);
  if (current.length === 0) return null;
  return h("section", { class: "card", id: "risks" }, h("h2", {}, "Restrisico's"), current.map((r) => h("div", { class: "risk", "data-position": r.position, "data-decision": r.decision },
    h("strong", {}, `${r.position}. ${r.title}`), ` — ${r.decision}${r.decided_by ? ` (${r.decided_by})` : ""} `,
    doc.record.status === "dpo_advice" ? [
      h("button", { class: "button", "data-accept": r.position, onclick: () => act(() => api(`/api/v1/iama/records/${id}/risks/${r.position}`, { method: "POST", body: { accept: true } }), "Aanvaard") }, "Aanvaarden"),
      h("button", { class: "button", "data-reject": r.position, onclick: () => act(() => api(`/api/v1/iama/records/${id}/risks/${r.position}`, { method: "POST", body: { accept: false } }), "Verworpen") }, "Verwerpen")] : "")));
}

function exportsPanel(id) {
  const org = h("input", { id: "org", placeholder: "Organisatie (register)" });
  const mail = h("input", { id: "mail", placeholder: "Contactadres (register)" });
  const base = `/api/v1/iama/records/${id}/export`;
  return h("section", { class: "card", id: "exports" }, h("h2", {}, "Exporteren"),
    h("div", { class: "iama-actions" }, ["pdf", "html", "md", "json", "art27", "art5"].map((f) => h("a", { class: "button", href: `${base}/${f}`, download: "" }, f.toUpperCase())),
      org, mail, h("button", { class: "button", onclick: () => { location.href = `${base}/register?organization=${encodeURIComponent(org.value)}&contact_email=${encodeURIComponent(mail.value)}`; } }, "Algoritmeregister")));
}

function questionRow(q, ctx) {
  const { answers, rec, editable, lang, id } = ctx;
  const mark = rec.marks[q.id];
  const comments = rec.comments.filter((c) => c.question_id === q.id);
  const commentBox = h("input", { placeholder: "Opmerking…", class: "comment-input" });
  const row = h("div", { class: "qrow" + (visible(q, answers) ? "" : " hidden-q"), id: `row-${q.id}` },
    h("div", {},
      h("div", { class: "qhead" }, h("span", { class: "qid" }, q.id), q.text[lang], q.fria ? h("span", { class: "fria" }, `FRIA ${q.fria_element || ""}`) : "",
        q.required ? "" : h("small", { class: "muted" }, " (optioneel)")),
      inputFor(q, answers[q.id], editable, lang),
      mark ? h("div", { class: `mark-${mark.mark}` }, `Review: ${mark.mark}${mark.note ? ` — ${mark.note}` : ""} (${mark.reviewer})`) : "",
      rec.document.record.status === "in_review" ? h("select", { "data-mark": q.id, onchange: (ev) => act(() => api(`/api/v1/iama/records/${id}/review`, { method: "POST", body: { marks: [{ question_id: q.id, mark: ev.target.value }] } }), "Gemarkeerd") },
        h("option", { value: "" }, "— markeren —"), ["acceptable", "improvable", "to_fix"].map((m) => h("option", { value: m }, m))) : "",
      comments.map((c) => h("div", { class: "comment" + (c.resolved_by ? " resolved" : "") }, h("strong", {}, c.author), `: ${c.body} `,
        c.resolved_by ? `(opgelost door ${c.resolved_by})` : h("button", { class: "button", onclick: () => act(() => api(`/api/v1/iama/comments/${c.id}/resolve`, { method: "POST" }), "Opgelost") }, "Oplossen"))),
      h("div", {}, commentBox, h("button", { class: "button", onclick: () => act(() => api(`/api/v1/iama/records/${id}/comments`, { method: "POST", body: { question_id: q.id, body: commentBox.value } }), "Opmerking geplaatst") }, "Plaatsen"))),
    h("aside", {}, factBoxes(q.facts || [], rec.facts, lang)));
  return row;
}

async function recordView(id) {
  const rec = await api(`/api/v1/iama/records/${id}`);
  const doc = rec.document;
  const questionnaire = await api(`/api/v1/iama/questionnaires/${doc.record.questionnaire_id}`);
  const lang = doc.record.language;
  const answers = Object.fromEntries(doc.answers.map((a) => [a.question_id, a.value]));
  const ctx = { answers, rec, editable: doc.record.status === "draft", lang, id };
  const gates = Object.entries(rec.gates).map(([cam, g]) => h("li", {}, `${cam}: `, h("strong", {}, g.gated ? "gated" : "actief"), ` (${g.reason})`));
  put(
    h("div", { class: "sticky" },
      h("p", { class: "back" }, h("a", { href: "#/" }, "← Inzetten")),
      h("h1", {}, doc.record.title),
      h("p", {}, "Status: ", h("span", { class: "status-pill", id: "status" }, doc.record.status), ` · versie ${doc.record.version} · auteur ${doc.record.author}`,
        doc.record.reviewer ? ` · reviewer ${doc.record.reviewer}` : "", doc.record.dpo ? ` · FG ${doc.record.dpo}` : "", doc.record.approver ? ` · bestuurder ${doc.record.approver}` : ""),
      rec.missing.length ? h("p", { class: "warning", id: "missing" }, `${rec.missing.length} verplichte vragen open: ${rec.missing.join(", ")}`) : h("p", { class: "muted", id: "complete" }, "Alle verplichte vragen beantwoord."),
      rec.blocked.map((b) => h("p", { class: "error-text" }, b)),
      rec.imported_by ? h("p", { class: "warning", id: "imported" }, `Geïmporteerd door ${rec.imported_by}: een elders gegeven goedkeuring activeert hier geen camera's. Heropen het record om het hier te laten goedkeuren.`) : "",
      actionBar(rec, doc, id)),
    h("section", { class: "card", id: "gates" }, h("h2", {}, "Camera's"), h("ul", {}, gates.length ? gates : h("li", {}, "Geen camera's gekoppeld."))),
    rec.drift.length ? h("section", { class: "card warning", id: "drift" }, h("h2", {}, "Herbeoordeling nodig"), h("ul", {}, rec.drift.map((d) => h("li", {}, d.summary)))) : "",
    doc.dpo_advice.filter((a) => a.record_version === doc.record.version).map((a) => h("p", { class: "card" }, h("strong", {}, `FG-advies (${a.dpo}): ${a.opinion}`), ` — ${a.advice}`)),
    risksPanel(doc, id),
    exportsPanel(id),
    questionnaire.parts.map((part) => h("section", { class: "part" }, h("h2", {}, part.title[lang]),
      part.sections.map((s) => h("div", {}, h("h3", {}, `${s.id} ${s.title[lang]}`), s.questions.map((q) => questionRow(q, ctx)))))));
  // Re-evaluate conditions as the author types, so hidden questions fade without a reload.
  main.addEventListener("change", () => {
    const current = { ...answers, ...collectAnswers() };
    for (const part of questionnaire.parts) for (const s of part.sections) for (const q of s.questions)
      document.getElementById(`row-${q.id}`).classList.toggle("hidden-q", !visible(q, current));
  });
}

async function route() {
  const match = location.hash.match(/^#\/record\/(\d+)/);
  try {
    if (!me) {
      me = await api("/api/v1/auth/me");
      document.getElementById("whoami").textContent = `${me.display_name || me.username} (${(me.roles || []).join(", ")})`;
    }
    if (match) await recordView(Number(match[1])); else await deploymentsView();
  } catch (e) {
    put(h("p", { class: "error-text" }, e.message), h("p", {}, h("a", { href: "/app/" }, "Inloggen via de app")));
  }
}

window.addEventListener("hashchange", route);
route();
