// The tables of the region: status, billing mode, item count and size, indexes, stream; delete.

import { call, callAll } from "./api.js";
import { badge, busy, clear, confirmDialog, formatBytes, formatNumber, grid, h, keyLabel } from "./ui.js";

export async function describeAll() {
  const names = await callAll("ListTables", {}, "TableNames", "LastEvaluatedTableName", "ExclusiveStartTableName");
  const out = [];
  // A few DescribeTables at a time: a region may hold hundreds of tables.
  for (let i = 0; i < names.length; i += 8) {
    const chunk = await Promise.all(names.slice(i, i + 8).map((n) =>
      call("DescribeTable", { TableName: n }).then((r) => r.Table, (e) => ({ TableName: n, error: e }))));
    out.push(...chunk);
  }
  return out;
}

export async function tablesPage(main) {
  const filter = h("input", { type: "search", placeholder: "Filter by name", "aria-label": "Filter tables" });
  const list = h("div");
  const errors = h("div");
  let tables = [];
  let timer = null;

  const render = () => {
    const q = filter.value.trim().toLowerCase();
    const rows = tables.filter((t) => t.TableName.toLowerCase().includes(q));
    clear(list, grid([
      ["Name", (t) => h("a", { href: `#/tables/${encodeURIComponent(t.TableName)}` }, t.TableName)],
      ["Status", (t) => t.error ? h("span.error", t.error.shortType) : badge(t.TableStatus)],
      ["Keys", (t) => keyLabel(t.KeySchema)],
      ["Billing mode", (t) => (t.BillingModeSummary?.BillingMode || "PROVISIONED") === "PAY_PER_REQUEST" ? "On-demand" : `Provisioned (${t.ProvisionedThroughput?.ReadCapacityUnits} RCU / ${t.ProvisionedThroughput?.WriteCapacityUnits} WCU)`],
      ["Items", (t) => formatNumber(t.ItemCount, 0), "num"],
      ["Size", (t) => formatBytes(t.TableSizeBytes), "num"],
      ["Indexes", (t) => String((t.GlobalSecondaryIndexes?.length || 0) + (t.LocalSecondaryIndexes?.length || 0)), "num"],
      ["Stream", (t) => t.StreamSpecification?.StreamEnabled ? t.StreamSpecification.StreamViewType : "off"],
      ["", (t) => h("button.danger", { type: "button", "aria-label": `Delete ${t.TableName}`, onclick: (ev) => remove(ev.target, t.TableName) }, "Delete")],
    ], rows, { empty: tables.length ? "No table matches." : "No tables in this region yet.", label: "Tables" }));
  };

  const load = async () => {
    tables = await describeAll();
    render();
    clearTimeout(timer);
    // Tables that are changing are polled until they settle.
    if (tables.some((t) => t.TableStatus && t.TableStatus !== "ACTIVE")) timer = setTimeout(() => load().catch(() => {}), 2000);
  };

  const remove = (button, name) => busy(button, errors, async () => {
    if (!(await confirmDialog(`Delete table ${name}?`, "The table, its indexes and its items are deleted. This cannot be undone.", { typeToConfirm: name }))) return;
    await call("DeleteTable", { TableName: name });
    await load();
  });

  filter.addEventListener("input", render);
  await load();
  clear(main,
    h("h1", "Tables"),
    h("div.toolbar", filter, h("span.spacer"),
      h("button", { type: "button", onclick: (ev) => busy(ev.target, errors, load) }, "Refresh"),
      h("button.primary", { type: "button", onclick: () => { location.hash = "#/create"; } }, "Create table")),
    errors, list);
  return () => clearTimeout(timer);
}

