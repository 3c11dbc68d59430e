// The console's entry point: sign-in, the region, the router (the URL's fragment names the
// page: #/tables, #/tables/NAME/items, ...) and the keyboard shortcuts.

import { call, session, isAuthError } from "./api.js";
import { clear, errorBox, h } from "./ui.js";
import { tablesPage } from "./tables.js";
import { createTablePage } from "./create_table.js";
import { tablePage } from "./table.js";
import { partiqlPage } from "./partiql.js";
import { capacityPage } from "./capacity.js";

const main = document.getElementById("main");
let stopCurrent = null;

// Pages get the main element and their route's parts; they may return a function that stops
// their timers when the page is left.
const routes = [
  [/^#\/tables\/?$/, () => tablesPage(main)],
  [/^#\/create\/?$/, () => createTablePage(main)],
  [/^#\/tables\/([^/]+)(?:\/(overview|items|streams|capacity))?\/?$/, (m) => tablePage(main, decodeURIComponent(m[1]), m[2] || "overview")],
  [/^#\/partiql\/?$/, () => partiqlPage(main)],
  [/^#\/capacity\/?$/, () => capacityPage(main)],
];

async function route() {
  if (stopCurrent) { stopCurrent(); stopCurrent = null; }
  const hash = location.hash || "#/tables";
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", hash.startsWith(`#/${a.dataset.nav}`)));
  for (const [re, page] of routes) {
    const m = re.exec(hash);
    if (m) {
      clear(main, h("p.muted", "Loading…"));
      try {
        const stop = await page(m);
        if (typeof stop === "function") stopCurrent = stop;
      } catch (e) {
        if (isAuthError(e)) return askForKey(e);
        clear(main, errorBox(e));
      }
      return;
    }
  }
  location.hash = "#/tables";
}

// Asks for an access key; resolves once a ListTables signed with it succeeds.
function askForKey(why) {
  const dlg = document.getElementById("signin");
  const form = document.getElementById("signin-form");
  const error = document.getElementById("signin-error");
  form.elements.region.value = session.region;
  error.textContent = why && session.signedIn ? `${why.type}: ${why.message}` : "";
  if (!dlg.open) dlg.showModal();
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const id = form.elements.id.value.trim();
    const secret = form.elements.secret.value;
    const region = form.elements.region.value.trim();
    try {
      await call("ListTables", { Limit: 1 }, { credentials: { accessKeyId: id, secretAccessKey: secret, region } });
    } catch (e) {
      error.textContent = `${e.type}: ${e.message}`;
      return;
    }
    session.signIn(id, secret, region);
    form.elements.secret.value = "";
    dlg.close();
    showSession();
    route();
  };
  // A key is required: Esc must not leave an unusable page behind.
  dlg.oncancel = (ev) => ev.preventDefault();
}

function showSession() {
  document.getElementById("region").value = session.region;
  document.getElementById("who").textContent = session.signedIn ? `key ${session.credentials.accessKeyId}` : "";
  document.getElementById("signout").hidden = !session.signedIn;
}

function setupChrome() {
  const region = document.getElementById("region");
  region.addEventListener("change", () => {
    if (region.value.trim()) { session.setRegion(region.value.trim()); route(); }
  });
  document.getElementById("signout").addEventListener("click", () => {
    session.signOut();
    showSession();
    route();
  });
  document.getElementById("help").addEventListener("click", () => document.getElementById("shortcuts").showModal());
  let pendingG = false;
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    const typing = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey || document.querySelector("dialog[open]")) return;
    if (pendingG) {
      pendingG = false;
      const to = { t: "#/tables", p: "#/partiql", c: "#/capacity" }[ev.key];
      if (to) { ev.preventDefault(); location.hash = to; }
      return;
    }
    if (ev.key === "g") { pendingG = true; setTimeout(() => { pendingG = false; }, 1500); }
    else if (ev.key === "?") { ev.preventDefault(); document.getElementById("shortcuts").showModal(); }
    else if (ev.key === "/") {
      const first = main.querySelector("input:not([type=checkbox]), textarea, select");
      if (first) { ev.preventDefault(); first.focus(); }
    }
  });
}

setupChrome();
showSession();
window.addEventListener("hashchange", route);
route();
