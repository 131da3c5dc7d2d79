// The officer's own settings: who am I, push notifications, language and theme, sign out.

import { currentLanguage, setLanguage, t } from "../i18n.js";
import { pushState, subscribePush } from "../push.js";
import { h, toast } from "../ui.js";
import { definitionList } from "./shared.js";

export async function view(ctx) {
  const state = await pushState();
  const pushStatus = h("p", { id: "push-status", role: "status" }, t(`push.state_${state}`));
  const pushButton = h("button", {
    type: "button", class: "button button-primary button-block", id: "push-subscribe",
    disabled: state === "unsupported" || state === "denied",
  }, t(state === "subscribed" ? "push.resubscribe" : "push.subscribe"));
  pushButton.addEventListener("click", async () => {
    pushButton.disabled = true;
    try {
      await subscribePush();
      pushStatus.textContent = t("push.state_subscribed");
      toast(t("push.done"), "ok");
    } catch (error) {
      pushStatus.textContent = t(error.message === "permission-denied" ? "push.state_denied" : "push.failed");
    } finally {
      pushButton.disabled = false;
    }
  });
  const language = h("select", { id: "language-select", name: "language" },
    ["nl", "en"].map((lang) => h("option", { value: lang, selected: lang === currentLanguage(), lang }, t(`language.${lang}`))));
  language.addEventListener("change", () => setLanguage(language.value));
  const me = ctx.me || {};
  ctx.render(
    h("h1", {}, t("settings.title")),
    h("section", { class: "card" }, h("h2", {}, t("settings.account")), definitionList([
      [t("settings.user"), me.display_name || me.username || (me.user && (me.user.display_name || me.user.username)) || "—"],
      [t("settings.roles"), (me.roles || []).map((r) => t(`role.${r}`)).join(", ") || "—"],
      [t("settings.teams"), (me.teams || []).map((x) => (typeof x === "string" ? x : x.name)).join(", ") || "—"],
    ])),
    h("section", { class: "card" }, h("h2", {}, t("push.section_title")), h("p", {}, t("push.intro")), pushStatus, pushButton),
    h("section", { class: "card" }, h("h2", {}, t("settings.display")),
      h("div", { class: "field" }, h("label", { for: "language-select" }, t("settings.language")), language)),
    h("button", { type: "button", class: "button button-block", id: "logout", onclick: () => ctx.logout() }, t("settings.logout")),
  );
}
