// The PartiQL editor: ExecuteStatement with parameters and paging (NextToken), results in the
// items views, and the last statements run kept in this browser.

import { call } from "./api.js";
import { parseExact, fromPlain } from "./ddbjson.js";
import { busy, clear, h, onCtrlEnter, formatNumber } from "./ui.js";
import { notation, renderItems, viewSwitch } from "./items.js";

const HISTORY_KEY = "binderdb.console.partiql";

function history() {
  try { return JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]"); } catch { return []; }
}

export async function partiqlPage(main) {
  const statement = h("textarea", { "aria-label": "PartiQL statement", id: "statement", spellcheck: "false", autofocus: true, rows: 6 });
  statement.value = history()[0] || 'SELECT * FROM "my-table" WHERE pk = \'a\'';
  const params = h("input.mono", { "aria-label": "Parameters", placeholder: '[10, "a"]', size: 40, spellcheck: "false" });
  const consistent = h("input", { type: "checkbox", "aria-label": "Consistent read" });
  const errors = h("div");
  const results = h("div");
  const summary = h("p.muted", { "aria-live": "polite" });
  const recent = h("select", { "aria-label": "Recent statements" });
  let items = [];
  let nextToken;

  const fillRecent = () => clear(recent, h("option", { value: "" }, "Recent statements…"), history().map((s) => h("option", { value: s }, s.length > 80 ? s.slice(0, 80) + "…" : s)));
  recent.addEventListener("change", () => { if (recent.value) statement.value = recent.value; statement.focus(); });

  const show = () => clear(results, renderItems(items, []));

  const run = (button, more = false) => busy(button, errors, async () => {
    const req = { Statement: statement.value, ReturnConsumedCapacity: "TOTAL" };
    if (params.value.trim()) {
      let list;
      try {
        list = notation() === "ddb" ? JSON.parse(params.value) : parseExact(params.value).map(fromPlain);
      } catch (e) { throw new SyntaxError(`Parameters must be a JSON list: ${e.message}`); }
      req.Parameters = list;
    }
    if (consistent.checked) req.ConsistentRead = true;
    if (more && nextToken) req.NextToken = nextToken;
    const resp = await call("ExecuteStatement", req);
    const h0 = history().filter((s) => s !== statement.value);
    localStorage.setItem(HISTORY_KEY, JSON.stringify([statement.value, ...h0].slice(0, 20)));
    fillRecent();
    items = more ? [...items, ...(resp.Items || [])] : resp.Items || [];
    nextToken = resp.NextToken;
    clear(summary, `${items.length} items`, resp.ConsumedCapacity ? `, ${formatNumber(resp.ConsumedCapacity.CapacityUnits)} capacity units` : "",
      nextToken ? ", more available" : "");
    nextButton.disabled = !nextToken;
    show();
  });

  const runButton = h("button.primary", { type: "submit", id: "run-statement" }, "Run");
  const nextButton = h("button", { type: "button", disabled: true, onclick: (ev) => run(ev.target, true) }, "Load more");
  onCtrlEnter(statement, () => run(runButton));
  fillRecent();
  clear(main, h("h1", "PartiQL"),
    h("form.panel.stack", { onsubmit: (ev) => { ev.preventDefault(); run(runButton); } },
      h("label", "Statement (Ctrl+Enter runs it)", statement),
      h("div.row", h("label", "Parameters (a JSON list, for ?)", params), h("label.inline", consistent, "Consistent read"), recent),
      h("div.toolbar", runButton, h("span.spacer"), viewSwitch(show))),
    errors, h("div.toolbar", summary, h("span.spacer"), nextButton), results);
  statement.focus();
}
