// Create a table: keys, billing mode, local and global secondary indexes (a global index's key
// may have up to four partition-key and four sort-key attributes), stream, TTL, tags.
// The request is built from the form and sent as it is; DynamoDB's validation errors come back
// from the server and are shown verbatim. TTL is set by UpdateTimeToLive once the table is
// ACTIVE (CreateTable has no TTL parameter).

import { call } from "./api.js";
import { keyEditor, typeSelect } from "./keys.js";
import { busy, clear, h } from "./ui.js";

function projectionFields(prefix) {
  const type = h("select", { "aria-label": `${prefix} projection` }, ["ALL", "KEYS_ONLY", "INCLUDE"].map((t) => h("option", t)));
  const attrs = h("input", { placeholder: "attr1, attr2", "aria-label": `${prefix} projected attributes`, size: 16 });
  return { type, attrs, value: () => {
    const p = { ProjectionType: type.value };
    if (type.value === "INCLUDE") p.NonKeyAttributes = attrs.value.split(",").map((s) => s.trim()).filter(Boolean);
    return p;
  } };
}

export async function createTablePage(main) {
  const name = h("input", { name: "TableName", required: true, "aria-label": "Table name", autofocus: true, spellcheck: "false" });
  const pk = h("input", { "aria-label": "Partition key", value: "pk", spellcheck: "false" });
  const pkType = typeSelect("Partition key type");
  const sk = h("input", { "aria-label": "Sort key", placeholder: "(none)", spellcheck: "false" });
  const skType = typeSelect("Sort key type");
  const mode = h("select", { "aria-label": "Billing mode" }, h("option", { value: "PAY_PER_REQUEST" }, "On-demand"), h("option", { value: "PROVISIONED" }, "Provisioned"));
  const rcu = h("input", { type: "number", min: 1, value: 5, "aria-label": "Read capacity units", size: 6 });
  const wcu = h("input", { type: "number", min: 1, value: 5, "aria-label": "Write capacity units", size: 6 });
  const tableClass = h("select", { "aria-label": "Table class" }, h("option", "STANDARD"), h("option", "STANDARD_INFREQUENT_ACCESS"));
  const protect = h("input", { type: "checkbox", "aria-label": "Deletion protection" });
  const stream = h("select", { "aria-label": "Stream" }, h("option", { value: "" }, "Off"), ["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"].map((v) => h("option", v)));
  const ttl = h("input", { "aria-label": "TTL attribute", placeholder: "(off)", spellcheck: "false" });
  const gsiRows = h("div.stack");
  const lsiRows = h("div.stack");
  const tagRows = h("div.stack");
  const gsis = [], lsis = [], tags = [];
  const preview = h("pre.json", { "aria-label": "Request preview" });
  const errors = h("div");
  const status = h("div");

  const addGsi = () => {
    const row = {
      name: h("input", { "aria-label": "Index name", placeholder: "index name", spellcheck: "false" }),
      key: keyEditor("Index", update),
      proj: projectionFields("Index"),
    };
    row.el = h("div.gsi.stack",
      h("div.row", h("label", "Index name", row.name), h("label", "Projection", row.proj.type), h("label", "Projected attributes", row.proj.attrs),
        h("button", { type: "button", onclick: () => { gsis.splice(gsis.indexOf(row), 1); row.el.remove(); update(); } }, "Remove")),
      row.key.el);
    gsis.push(row);
    gsiRows.append(row.el);
    row.name.focus();
  };
  const addLsi = () => {
    const row = {
      name: h("input", { "aria-label": "Local index name", placeholder: "index name", spellcheck: "false" }),
      sk: h("input", { "aria-label": "Local index sort key", placeholder: "sort key", spellcheck: "false" }),
      skType: typeSelect("Local index sort key type"),
      proj: projectionFields("Local index"),
    };
    row.el = h("div.row", row.name, row.sk, row.skType, row.proj.type, row.proj.attrs,
      h("button", { type: "button", onclick: () => { lsis.splice(lsis.indexOf(row), 1); row.el.remove(); update(); } }, "Remove"));
    lsis.push(row);
    lsiRows.append(row.el);
    row.name.focus();
  };
  const addTag = () => {
    const row = { key: h("input", { "aria-label": "Tag key", placeholder: "key" }), value: h("input", { "aria-label": "Tag value", placeholder: "value" }) };
    row.el = h("div.row", row.key, row.value,
      h("button", { type: "button", onclick: () => { tags.splice(tags.indexOf(row), 1); row.el.remove(); update(); } }, "Remove"));
    tags.push(row);
    tagRows.append(row.el);
    row.key.focus();
  };

  const request = () => {
    const defs = new Map();
    const def = (n, t) => { if (n && !defs.has(n)) defs.set(n, t); };
    const key = (hash, range) => [{ AttributeName: hash, KeyType: "HASH" }, ...(range ? [{ AttributeName: range, KeyType: "RANGE" }] : [])];
    def(pk.value.trim(), pkType.value);
    def(sk.value.trim(), skType.value);
    const req = { TableName: name.value.trim(), KeySchema: key(pk.value.trim(), sk.value.trim()), BillingMode: mode.value };
    const throughput = () => ({ ReadCapacityUnits: Number(rcu.value), WriteCapacityUnits: Number(wcu.value) });
    if (mode.value === "PROVISIONED") req.ProvisionedThroughput = throughput();
    if (gsis.length) {
      req.GlobalSecondaryIndexes = gsis.map((g) => {
        for (const [n, t] of g.key.definitions()) def(n, t);
        const idx = { IndexName: g.name.value.trim(), KeySchema: g.key.keySchema(), Projection: g.proj.value() };
        if (mode.value === "PROVISIONED") idx.ProvisionedThroughput = throughput();
        return idx;
      });
    }
    if (lsis.length) {
      req.LocalSecondaryIndexes = lsis.map((l) => {
        def(l.sk.value.trim(), l.skType.value);
        return { IndexName: l.name.value.trim(), KeySchema: key(pk.value.trim(), l.sk.value.trim()), Projection: l.proj.value() };
      });
    }
    req.AttributeDefinitions = [...defs].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));
    if (stream.value) req.StreamSpecification = { StreamEnabled: true, StreamViewType: stream.value };
    if (tags.length) req.Tags = tags.map((t) => ({ Key: t.key.value, Value: t.value.value }));
    if (tableClass.value !== "STANDARD") req.TableClass = tableClass.value;
    if (protect.checked) req.DeletionProtectionEnabled = true;
    return req;
  };
  const update = () => {
    rcu.parentElement.classList.toggle("hidden", mode.value !== "PROVISIONED");
    wcu.parentElement.classList.toggle("hidden", mode.value !== "PROVISIONED");
    preview.textContent = JSON.stringify(request(), null, 2);
  };

  const submit = (button) => busy(button, errors, async () => {
    clear(status);
    const req = request();
    await call("CreateTable", req);
    const ttlName = ttl.value.trim();
    if (ttlName) {
      status.append(h("p.notice", "Table created; waiting for it to be ACTIVE to enable TTL…"));
      for (let i = 0; i < 300; i++) {
        const t = (await call("DescribeTable", { TableName: req.TableName })).Table;
        if (t.TableStatus === "ACTIVE") break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      await call("UpdateTimeToLive", { TableName: req.TableName, TimeToLiveSpecification: { Enabled: true, AttributeName: ttlName } });
    }
    location.hash = `#/tables/${encodeURIComponent(req.TableName)}`;
  });

  const form = h("form.stack", {
    oninput: update, onchange: update,
    onsubmit: (ev) => { ev.preventDefault(); submit(ev.submitter); },
  },
  h("div.panel.stack",
    h("div.row",
      h("label", "Table name", name),
      h("label", "Partition key", pk), h("label", "Type", pkType),
      h("label", "Sort key", sk), h("label", "Type", skType)),
    h("div.row",
      h("label", "Billing mode", mode), h("label", "Read capacity", rcu), h("label", "Write capacity", wcu),
      h("label", "Table class", tableClass), h("label.inline", protect, "Deletion protection"))),
  h("fieldset", h("legend", "Global secondary indexes"), gsiRows,
    h("div.toolbar", h("button", { type: "button", onclick: () => { addGsi(); update(); } }, "Add global index"))),
  h("fieldset", h("legend", "Local secondary indexes (same partition key)"), lsiRows,
    h("div.toolbar", h("button", { type: "button", onclick: () => { addLsi(); update(); } }, "Add local index"))),
  h("div.panel.row", h("label", "Stream", stream), h("label", "Time to live attribute", ttl)),
  h("fieldset", h("legend", "Tags"), tagRows,
    h("div.toolbar", h("button", { type: "button", onclick: () => { addTag(); update(); } }, "Add tag"))),
  errors, status,
  h("div.toolbar",
    h("button.primary", { type: "submit" }, "Create table"),
    h("button", { type: "button", onclick: () => { location.hash = "#/tables"; } }, "Cancel")),
  h("details", h("summary", "CreateTable request"), preview));

  update();
  clear(main, h("h1", "Create table"), form);
  name.focus();
}
