// Small DOM helpers. Data is only ever put in the page as text (textContent), never as HTML,
// so item values and error messages cannot inject markup.

import { ApiError } from "./api.js";

// h("button.primary", {onclick}, "Save") → <button class="primary">Save</button>
export function h(spec, attrs, ...children) {
  if (attrs === null || typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs)) {
    if (attrs !== undefined) children.unshift(attrs);
    attrs = {};
  }
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
    else if (k === "style") el.style.cssText = v;
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// An error as the API returned it: its __type and message, verbatim.
export function errorBox(e) {
  const type = e instanceof ApiError ? e.type : e?.name || "Error";
  return h("div.error-box", { role: "alert", "data-error-type": type },
    h("span.etype", type), h("span.emsg", e?.message ?? String(e)));
}

export function badge(status) {
  return h(`span.badge.${status || "none"}`, status || "—");
}

export function formatBytes(n) {
  if (n === undefined || n === null) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = Number(n), u = 0;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return `${u ? v.toFixed(v < 10 ? 2 : 1) : v} ${units[u]}`;
}

export function formatNumber(n, digits = 2) {
  if (n === undefined || n === null || Number.isNaN(n)) return "—";
  return Number(n).toLocaleString("en-US", { maximumFractionDigits: digits });
}

export function formatDollars(n) {
  if (!n) return "$0";
  if (n < 0.000001) return "< $0.000001";
  return n < 0.01 ? `$${n.toFixed(6)}` : `$${n.toFixed(2)}`;
}

export function formatTime(seconds) {
  if (!seconds) return "—";
  return new Date(seconds * 1000).toLocaleString();
}

// A definition list from [label, value] pairs.
export function facts(pairs) {
  return h("dl.facts", pairs.filter(Boolean).flatMap(([k, v]) => [h("dt", k), h("dd", v ?? "—")]));
}

// A grid table: `columns` are [header, cell(row) → Node|string, className?].
export function grid(columns, rows, { onOpen, empty = "Nothing to show.", label } = {}) {
  if (!rows.length) return h("p.muted", empty);
  const head = h("tr", columns.map(([title, , cls]) => h(cls ? `th.${cls}` : "th", { scope: "col" }, title)));
  const body = rows.map((row) => {
    const tr = h("tr", columns.map(([, cell, cls]) => h(cls ? `td.${cls}` : "td", cell(row))));
    if (onOpen) {
      tr.className = "selectable";
      tr.addEventListener("dblclick", () => onOpen(row));
    }
    return tr;
  });
  return h("div.scroll", h("table.grid", { "aria-label": label }, h("thead", head), h("tbody", body)));
}

// A modal dialog built from `content`; resolves with the value passed to close() or null.
export function modal(title, build) {
  return new Promise((resolve) => {
    const dlg = h("dialog", { "aria-label": title });
    const close = (value) => { dlg.close(); dlg.remove(); resolve(value ?? null); };
    dlg.addEventListener("cancel", (ev) => { ev.preventDefault(); close(null); });
    dlg.append(h("h2", title), build(close));
    document.body.append(dlg);
    dlg.showModal();
    const first = dlg.querySelector("[autofocus], textarea, input, select");
    if (first) first.focus();
  });
}

// Asks to confirm a destructive action; with `typeToConfirm` the user must type that text.
export function confirmDialog(title, message, { action = "Delete", typeToConfirm } = {}) {
  return modal(title, (close) => {
    const input = typeToConfirm ? h("input", { "aria-label": "Confirmation", autocomplete: "off", spellcheck: "false" }) : null;
    const ok = h("button.danger", { type: "submit" }, action);
    const form = h("form", {
      onsubmit: (ev) => {
        ev.preventDefault();
        if (!input || input.value === typeToConfirm) close(true);
      },
    },
    h("p", message),
    input ? h("label", `Type ${typeToConfirm} to confirm`, input) : null,
    h("div.buttons", h("button", { type: "button", onclick: () => close(false) }, "Cancel"), ok));
    return form;
  });
}

// Runs `work` with `button` disabled meanwhile, putting any error into `errorSlot`.
export async function busy(button, errorSlot, work) {
  if (button) button.disabled = true;
  if (errorSlot) clear(errorSlot);
  try {
    return await work();
  } catch (e) {
    if (errorSlot) {
      errorSlot.append(errorBox(e));
      errorSlot.scrollIntoView({ block: "nearest" });
    }
    else console.error(e);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

// Ctrl+Enter (or Cmd+Enter) in `el` runs `action`.
export function onCtrlEnter(el, action) {
  el.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      action();
    }
  });
  return el;
}

export function keyNames(keySchema) {
  const hash = keySchema.filter((k) => k.KeyType === "HASH").map((k) => k.AttributeName);
  const range = keySchema.filter((k) => k.KeyType === "RANGE").map((k) => k.AttributeName);
  return { hash, range };
}

export function keyLabel(keySchema) {
  const { hash, range } = keyNames(keySchema || []);
  return [hash.join(" + "), range.length ? range.join(" + ") : null].filter(Boolean).join(" / ");
}
