// One table: the overview (keys, indexes with their status and backfill, stream, TTL, tags,
// with the changes UpdateTable, UpdateTimeToLive and the tag calls make) and the tabs for its
// items, streams and capacity.

import { call, callAll, getText, session } from "./api.js";
import { badge, busy, clear, confirmDialog, facts, formatBytes, formatNumber, formatTime, grid, h, keyLabel, modal } from "./ui.js";
import { itemsTab } from "./items.js";
import { keyEditor } from "./keys.js";
import { streamsTab } from "./streams.js";
import { parsePrometheus, tableCapacityTab } from "./capacity.js";

export async function describe(name) {
  return (await call("DescribeTable", { TableName: name })).Table;
}

export async function tablePage(main, name, tab) {
  const table = await describe(name);
  const body = h("div");
  const base = `#/tables/${encodeURIComponent(name)}`;
  const tabs = h("nav.tabs", { "aria-label": "Table" }, [["overview", "Overview"], ["items", "Items"], ["streams", "Streams"], ["capacity", "Capacity"]].map(([id, title]) =>
    h(`a${id === tab ? ".active" : ""}`, { href: `${base}/${id}`, "aria-current": id === tab ? "page" : null }, title)));
  clear(main, h("h1", name, " ", badge(table.TableStatus)), tabs, body);
  const pages = { overview: overviewTab, items: itemsTab, streams: streamsTab, capacity: tableCapacityTab };
  return pages[tab](body, table);
}

// How far each backfilling global index of `table` has got, by index name: {read, total}
// items, from the server's /metrics (DescribeTable says only that an index is backfilling).
// Empty when the figures cannot be read: the page then shows an indeterminate bar.
async function backfillProgress(table) {
  const out = new Map();
  const figures = { binderdb_index_backfill_items: "read", binderdb_index_backfill_table_items: "total" };
  try {
    for (const s of parsePrometheus(await getText("/metrics"))) {
      const field = figures[s.name];
      if (!field || s.labels.TableName !== table || s.labels.Region !== session.region) continue;
      const index = s.labels.GlobalSecondaryIndexName;
      out.set(index, { ...out.get(index), [field]: s.value });
    }
  } catch { /* no figures */ }
  return out;
}

// A backfill's progress bar: a percentage of the table's items read, never 100% before the
// index is ACTIVE (writes during the backfill can add items to read).
function backfillBar(figures, since) {
  if (figures?.read === undefined || figures.total === undefined) {
    return [h("span.progress", { role: "progressbar", "aria-label": "Backfill in progress" }), ` ${since} s`];
  }
  const percent = figures.total > 0 ? Math.min(99, Math.floor((100 * figures.read) / figures.total)) : 0;
  return [
    h("progress", { max: 100, value: percent, role: "progressbar", "aria-label": "Backfill progress", "aria-valuenow": percent }),
    h("span.backfill-percent", ` ${percent}%`),
    ` (${formatNumber(figures.read, 0)} of ${formatNumber(figures.total, 0)} items, ${since} s)`,
  ];
}

function indexRows(t) {
  const throughput = (p) => p && (p.ReadCapacityUnits || p.WriteCapacityUnits) ? `${p.ReadCapacityUnits} RCU / ${p.WriteCapacityUnits} WCU` : "—";
  const projection = (p) => p.ProjectionType + (p.NonKeyAttributes ? ` (${p.NonKeyAttributes.join(", ")})` : "");
  return [
    ...(t.GlobalSecondaryIndexes || []).map((i) => ({ kind: "Global", i, status: i.IndexStatus, throughput: throughput(i.ProvisionedThroughput), projection: projection(i.Projection) })),
    ...(t.LocalSecondaryIndexes || []).map((i) => ({ kind: "Local", i, status: "ACTIVE", throughput: "table's", projection: projection(i.Projection) })),
  ];
}

async function overviewTab(body, table) {
  const name = table.TableName;
  const errors = h("div");
  const seenBackfilling = new Map();
  let timer = null;
  let stopped = false;

  const render = async (t) => {
    const [ttl, tags] = await Promise.all([
      call("DescribeTimeToLive", { TableName: name }).then((r) => r.TimeToLiveDescription, () => null),
      callAll("ListTagsOfResource", { ResourceArn: t.TableArn }, "Tags", "NextToken", "NextToken").catch(() => []),
    ]);
    const bm = t.BillingModeSummary?.BillingMode || "PROVISIONED";
    const rows = indexRows(t);
    const progress = rows.some((r) => r.i.Backfilling) ? await backfillProgress(name) : new Map();
    const now = Date.now();
    for (const r of rows) if (r.i.Backfilling && !seenBackfilling.has(r.i.IndexName)) seenBackfilling.set(r.i.IndexName, now);
    const stream = t.StreamSpecification;
    clear(body,
      errors,
      h("div.panel", facts([
        ["Status", badge(t.TableStatus)],
        ["ARN", t.TableArn],
        ["Created", formatTime(t.CreationDateTime)],
        ["Partition / sort key", keyLabel(t.KeySchema)],
        ["Attribute definitions", (t.AttributeDefinitions || []).map((d) => `${d.AttributeName} (${d.AttributeType})`).join(", ")],
        ["Billing mode", bm === "PAY_PER_REQUEST" ? "On-demand" : `Provisioned: ${t.ProvisionedThroughput.ReadCapacityUnits} RCU / ${t.ProvisionedThroughput.WriteCapacityUnits} WCU`],
        ["Table class", t.TableClassSummary?.TableClass || "STANDARD"],
        ["Items", formatNumber(t.ItemCount, 0)],
        ["Size", formatBytes(t.TableSizeBytes)],
        ["Deletion protection", t.DeletionProtectionEnabled ? "on" : "off"],
      ])),
      h("h2", "Indexes"),
      grid([
        ["Name", (r) => r.i.IndexName],
        ["Type", (r) => r.kind],
        ["Keys", (r) => keyLabel(r.i.KeySchema)],
        ["Projection", (r) => r.projection],
        ["Status", (r) => h("span", badge(r.status), r.i.Backfilling
          ? h("span", { title: "Backfilling: the index is being filled from the table's items" }, " Backfilling ",
            backfillBar(progress.get(r.i.IndexName), Math.round((now - seenBackfilling.get(r.i.IndexName)) / 1000)))
          : null)],
        ["Items", (r) => formatNumber(r.i.ItemCount, 0), "num"],
        ["Size", (r) => formatBytes(r.i.IndexSizeBytes), "num"],
        ["Throughput", (r) => r.throughput],
        ["", (r) => r.kind === "Global" ? h("button.danger", { type: "button", onclick: (ev) => deleteIndex(ev.target, r.i.IndexName) }, "Delete") : ""],
      ], rows, { empty: "No secondary indexes.", label: "Indexes" }),
      h("div.toolbar", h("button", { type: "button", onclick: (ev) => createIndex(ev.target, t) }, "Create global index")),
      h("h2", "Stream"),
      h("div.panel", facts([
        ["Stream", stream?.StreamEnabled ? stream.StreamViewType : "off"],
        ["Latest stream", t.LatestStreamArn || "—"],
        ["Label", t.LatestStreamLabel || "—"],
      ]), h("div.toolbar",
        stream?.StreamEnabled
          ? h("button", { type: "button", onclick: (ev) => setStream(ev.target, null) }, "Disable stream")
          : [h("select", { "aria-label": "Stream view type", id: "stream-view" }, ["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"].map((v) => h("option", v))),
            h("button", { type: "button", onclick: (ev) => setStream(ev.target, body.querySelector("#stream-view").value) }, "Enable stream")])),
      h("h2", "Time to live"),
      h("div.panel", facts([
        ["Status", badge(ttl?.TimeToLiveStatus)],
        ["Attribute", ttl?.AttributeName || "—"],
      ]), h("div.toolbar",
        ttl?.TimeToLiveStatus === "ENABLED"
          ? h("button", { type: "button", onclick: (ev) => setTtl(ev.target, ttl.AttributeName, false) }, "Disable TTL")
          : [h("input", { "aria-label": "TTL attribute", id: "ttl-attr", placeholder: "attribute name" }),
            h("button", { type: "button", onclick: (ev) => setTtl(ev.target, body.querySelector("#ttl-attr").value.trim(), true) }, "Enable TTL")])),
      h("h2", "Tags"),
      grid([["Key", (g) => g.Key], ["Value", (g) => g.Value],
        ["", (g) => h("button.danger", { type: "button", onclick: (ev) => untag(ev.target, t.TableArn, g.Key) }, "Remove")]],
      tags, { empty: "No tags.", label: "Tags" }),
      h("div.toolbar",
        h("input", { "aria-label": "New tag key", id: "tag-key", placeholder: "key" }),
        h("input", { "aria-label": "New tag value", id: "tag-value", placeholder: "value" }),
        h("button", { type: "button", onclick: (ev) => tag(ev.target, t.TableArn) }, "Add tag")));
    clearTimeout(timer);
    const changing = t.TableStatus !== "ACTIVE" || rows.some((r) => r.status !== "ACTIVE" || r.i.Backfilling) ||
      ["ENABLING", "DISABLING"].includes(ttl?.TimeToLiveStatus);
    if (changing && !stopped) timer = setTimeout(reload, 1500);
  };
  const reload = () => describe(name).then(render).catch((e) => { clear(errors, h("p.error", `${e.type}: ${e.message}`)); });
  const act = (button, work) => busy(button, errors, async () => { await work(); await reload(); });

  const setStream = (b, view) => act(b, () => call("UpdateTable", { TableName: name, StreamSpecification: view ? { StreamEnabled: true, StreamViewType: view } : { StreamEnabled: false } }));
  const setTtl = (b, attr, on) => act(b, () => call("UpdateTimeToLive", { TableName: name, TimeToLiveSpecification: { Enabled: on, AttributeName: attr } }));
  const tag = (b, arn) => act(b, () => call("TagResource", { ResourceArn: arn, Tags: [{ Key: body.querySelector("#tag-key").value, Value: body.querySelector("#tag-value").value }] }));
  const untag = (b, arn, key) => act(b, () => call("UntagResource", { ResourceArn: arn, TagKeys: [key] }));
  const deleteIndex = (b, index) => act(b, async () => {
    if (!(await confirmDialog(`Delete index ${index}?`, "The index and its entries are deleted. This cannot be undone.", { typeToConfirm: index }))) return;
    await call("UpdateTable", { TableName: name, GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: index } }] });
  });
  const createIndex = (b, t) => act(b, () => modal("Create global index", (close) => {
    const f = {
      name: h("input", { "aria-label": "Index name", autofocus: true, spellcheck: "false" }),
      key: keyEditor(""),
      proj: h("select", { "aria-label": "Projection" }, ["ALL", "KEYS_ONLY"].map((x) => h("option", x))),
    };
    const err = h("div");
    return h("form", {
      onsubmit: (ev) => {
        ev.preventDefault();
        busy(ev.submitter, err, async () => {
          const defs = f.key.definitions().map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));
          const ks = f.key.keySchema();
          const create = { IndexName: f.name.value.trim(), KeySchema: ks, Projection: { ProjectionType: f.proj.value } };
          if ((t.BillingModeSummary?.BillingMode || "PROVISIONED") === "PROVISIONED") {
            create.ProvisionedThroughput = { ReadCapacityUnits: t.ProvisionedThroughput.ReadCapacityUnits, WriteCapacityUnits: t.ProvisionedThroughput.WriteCapacityUnits };
          }
          await call("UpdateTable", { TableName: name, AttributeDefinitions: defs, GlobalSecondaryIndexUpdates: [{ Create: create }] });
          close(true);
        });
      },
    },
    h("div.stack", h("div.row", h("label", "Index name", f.name), h("label", "Projection", f.proj)), f.key.el),
    err,
    h("div.buttons", h("button", { type: "button", onclick: () => close(false) }, "Cancel"), h("button.primary", { type: "submit" }, "Create index")));
  }));

  await render(table);
  return () => { stopped = true; clearTimeout(timer); };
}
