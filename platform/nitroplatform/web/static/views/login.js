// Login: username and password; the platform sets the session and CSRF cookies.

import { api, ApiError, rememberCsrfToken } from "../api.js";
import { t } from "../i18n.js";
import { h } from "../ui.js";

function safeNext() {
  const next = new URLSearchParams(location.search).get("next") || "/app/";
  // Only same-app paths: never an open redirect to another site.
  return next.startsWith("/app/") && !next.startsWith("/app/login") && !next.startsWith("//") ? next : "/app/";
}

export async function view(ctx) {
  if (ctx.me) {
    ctx.navigate(safeNext(), { replace: true });
    return;
  }
  const error = h("p", { class: "error-text", id: "login-error", role: "alert", hidden: true });
  const username = h("input", {
    id: "username", name: "username", type: "text", autocomplete: "username", required: true,
    autocapitalize: "none", spellcheck: "false",
  });
  const password = h("input", {
    id: "password", name: "password", type: "password", autocomplete: "current-password", required: true,
  });
  const submit = h("button", { type: "submit", class: "button button-primary button-block" }, t("login.submit"));
  const form = h(
    "form",
    { class: "card form", novalidate: true, "aria-describedby": "login-error" },
    h("div", { class: "field" }, h("label", { for: "username" }, t("login.username")), username),
    h("div", { class: "field" }, h("label", { for: "password" }, t("login.password")), password),
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!username.value || !password.value) {
      error.textContent = t("login.missing");
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      ctx.me = await api("/auth/login", {
        method: "POST", body: { username: username.value.trim(), password: password.value },
      });
      rememberCsrfToken(ctx.me.csrf_token);
      ctx.navigate(safeNext(), { replace: true });
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 0;
      error.textContent = t(status === 401 || status === 400 || status === 422 ? "login.failed"
        : status === 429 ? "login.rate_limited" : status === 0 ? "error.offline" : "error.generic");
      error.hidden = false;
      submit.disabled = false;
      password.select();
    }
  });
  ctx.render(
    h("h1", {}, t("login.title")),
    h("p", { class: "lead" }, t("login.intro")),
    form,
  );
  username.focus();
}
