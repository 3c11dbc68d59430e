// A table's items: Scan and Query with paging, three views (a grid, DynamoDB JSON, plain JSON),
// and the item editor (PutItem) and DeleteItem. The chosen notation (DynamoDB JSON or plain)
// is also the one the editor and the expression-values field use.

import { call } from "./api.js";
import { cellText, formatItem, itemHasSetsOrBinary, itemToPlain, parseItem, parseValues, stringifyExact } from "./ddbjson.js";
import { busy, clear, h, keyNames, modal, confirmDialog, onCtrlEnter, formatNumber } from "./ui.js";

const VIEW_KEY = "binderdb.console.view";
const MAX_COLUMNS = 40;

export function currentView() {
  return localStorage.getItem(VIEW_KEY) || "table";
}

// The view switch: "table", "ddb" (DynamoDB JSON) or "plain" (plain JSON).
export function viewSwitch(onChange) {
  const sel = h("select", { "aria-label": "View", id: "view" },
    h("option", { value: "table" }, "Table view"), h("option", { value: "ddb" }, "DynamoDB JSON"), h("option", { value: "plain" }, "Plain JSON"));
  sel.value = currentView();
  sel.addEventListener("change", () => { localStorage.setItem(VIEW_KEY, sel.value); onChange(sel.value); });
  return h("label", "View", sel);
}

// The notation of editors and values: the JSON view's, plain JSON for the table view.
export function notation() {
  return currentView() === "ddb" ? "ddb" : "plain";
}

// Renders `items`: key attributes first, then the others in order of appearance.
export function renderItems(items, keyAttrs, { onOpen, onDelete } = {}) {
  const view = currentView();
  if (!items.length) return h("p.muted", "No items.");
  if (view !== "table") {
    return h("div", items.map((item, n) => h("div",
      h("pre.json", { "aria-label": `Item ${n + 1}` }, view === "ddb" ? JSON.stringify(item, null, 2) : stringifyExact(itemToPlain(item))),
      onOpen ? h("div.toolbar", h("button", { type: "button", onclick: () => onOpen(item) }, "Edit"),
        onDelete ? h("button.danger", { type: "button", onclick: (ev) => onDelete(ev.target, item) }, "Delete") : null) : null)));
  }
  const names = [...keyAttrs];
  for (const item of items) for (const k of Object.keys(item)) if (!names.includes(k)) names.push(k);
  const shown = names.slice(0, MAX_COLUMNS);
  const head = h("tr", onOpen ? h("th", "") : null, shown.map((n) => h("th", { scope: "col" }, n)),
    names.length > shown.length ? h("th", `+${names.length - shown.length} more`) : null);
  const rows = items.map((item) => {
    const tr = h("tr.selectable",
      onOpen ? h("td.actions", h("button.link", { type: "button", onclick: () => onOpen(item) }, "Edit"),
        onDelete ? h("button.link", { type: "button", onclick: (ev) => onDelete(ev.target, item) }, "Delete") : null) : null,
      shown.map((n) => {
        if (!(n in item)) return h("td.value.muted", "");
        const [text, type] = cellText(item[n]);
        return h("td.value", { title: text }, text, h("span.type", type));
      }));
    if (onOpen) tr.addEventListener("dblclick", () => onOpen(item));
    return tr;
  });
  return h("div.scroll", h("table.grid.items", { "aria-label": "Items" }, h("thead", head), h("tbody", rows)));
}

// The item editor: resolves to true when the item was saved.
export function editItem(table, item) {
  const keys = table.KeySchema.map((k) => k.AttributeName);
  let form = notation();
  if (item && form === "plain" && itemHasSetsOrBinary(item)) form = "ddb";
  return modal(item ? "Edit item" : "Create item", (close) => {
    const text = h("textarea.tall", { "aria-label": "Item JSON", spellcheck: "false", autofocus: true });
    // A new item starts with its key attributes, each of its defined type.
    const types = Object.fromEntries((table.AttributeDefinitions || []).map((d) => [d.AttributeName, d.AttributeType]));
    const blank = { S: { S: "" }, N: { N: "0" }, B: { B: "" } };
    text.value = formatItem(item || Object.fromEntries(keys.map((k) => [k, blank[types[k]] || blank.S])), form);
    const which = h("select", { "aria-label": "Notation" }, h("option", { value: "plain" }, "Plain JSON"), h("option", { value: "ddb" }, "DynamoDB JSON"));
    which.value = form;
    const err = h("div");
    which.addEventListener("change", () => {
      try {
        const parsed = parseItem(text.value, form);
        if (which.value === "plain" && itemHasSetsOrBinary(parsed)) throw new SyntaxError("This item has sets or binary values, which plain JSON cannot express: edit it as DynamoDB JSON.");
        form = which.value;
        text.value = formatItem(parsed, form);
        clear(err);
      } catch (e) {
        which.value = form;
        clear(err, h("p.error", e.message));
      }
    });
    const save = async (button) => busy(button, err, async () => {
      let parsed;
      try { parsed = parseItem(text.value, form); } catch (e) { throw new SyntaxError(`Not valid ${form === "ddb" ? "DynamoDB " : ""}JSON: ${e.message}`); }
      await call("PutItem", { TableName: table.TableName, Item: parsed });
      close(true);
    });
    const saveButton = h("button.primary", { type: "submit" }, "Save");
    onCtrlEnter(text, () => save(saveButton));
    return h("form", { onsubmit: (ev) => { ev.preventDefault(); save(saveButton); } },
      h("div.row", h("label", "Notation", which), item ? h("span.muted", "Saving replaces the item (PutItem); changing its key creates another item.") : null),
      text, err,
      h("div.buttons", h("button", { type: "button", onclick: () => close(false) }, "Cancel"), saveButton));
  });
}

export async function deleteItem(table, item) {
  const key = Object.fromEntries(table.KeySchema.map((k) => [k.AttributeName, item[k.AttributeName]]));
  if (!(await confirmDialog("Delete item?", `Delete the item with key ${stringifyExact(itemToPlain(key), 0)}?`))) return false;
  await call("DeleteItem", { TableName: table.TableName, Key: key });
  return true;
}

function typedValue(type, text) {
  return type === "N" ? { N: text.trim() } : type === "B" ? { B: text.trim() } : { S: text };
}

export async function itemsTab(body, table) {
  const errors = h("div");
  const results = h("div");
  const summary = h("p.muted", { "aria-live": "polite" });
  const attrType = Object.fromEntries((table.AttributeDefinitions || []).map((d) => [d.AttributeName, d.AttributeType]));
  const indexes = [
    ...(table.LocalSecondaryIndexes || []).map((i) => i),
    ...(table.GlobalSecondaryIndexes || []).map((i) => i),
  ];
  const mode = h("select", { "aria-label": "Operation", id: "mode" }, h("option", { value: "Scan" }, "Scan"), h("option", { value: "Query" }, "Query"));
  const index = h("select", { "aria-label": "Table or index", id: "index" }, h("option", { value: "" }, `Table ${table.TableName}`),
    indexes.map((i) => h("option", { value: i.IndexName }, `Index ${i.IndexName}`)));
  const limit = h("input", { type: "number", min: 1, value: 25, size: 5, "aria-label": "Page size" });
  const forward = h("select", { "aria-label": "Direction" }, h("option", { value: "true" }, "Ascending"), h("option", { value: "false" }, "Descending"));
  const consistent = h("input", { type: "checkbox", "aria-label": "Consistent read" });
  const filter = h("input.mono", { "aria-label": "Filter expression", placeholder: "e.g. price > :p", size: 30, spellcheck: "false" });
  const names = h("input.mono", { "aria-label": "Expression attribute names", placeholder: '{"#n": "name"}', size: 22, spellcheck: "false" });
  const values = h("input.mono", { "aria-label": "Expression attribute values", placeholder: '{":p": 10}', size: 22, spellcheck: "false" });
  const keyFields = h("div.row");
  let keyInputs = [];
  let pages = [undefined];
  let page = 0;
  let lastItems = [];
  let keyAttrs = table.KeySchema.map((k) => k.AttributeName);

  const schemaOf = () => (indexes.find((i) => i.IndexName === index.value) || table).KeySchema;
  const buildKeyFields = () => {
    const { hash, range } = keyNames(schemaOf());
    keyInputs = [
      ...hash.map((n) => ({ n, kind: "hash", value: h("input", { "aria-label": `Partition key ${n}`, "data-key": n, spellcheck: "false" }) })),
      ...range.map((n) => ({
        n, kind: "range",
        op: h("select", { "aria-label": `Sort key ${n} condition` }, ["", "=", "<", "<=", ">", ">=", "between", "begins_with"].map((o) => h("option", { value: o }, o || "(any)"))),
        value: h("input", { "aria-label": `Sort key ${n}`, spellcheck: "false" }),
        value2: h("input", { "aria-label": `Sort key ${n} upper bound`, placeholder: "and", size: 8, spellcheck: "false" }),
      })),
    ];
    clear(keyFields, keyInputs.map((k) => k.kind === "hash"
      ? h("label", `${k.n} =`, k.value)
      : h("label", `${k.n}`, h("span.row", k.op, k.value, k.value2))));
    keyFields.classList.toggle("hidden", mode.value !== "Query");
    forward.parentElement?.classList.toggle("hidden", mode.value !== "Query");
  };

  const request = () => {
    const req = { TableName: table.TableName, Limit: Number(limit.value) || 25, ReturnConsumedCapacity: "TOTAL" };
    if (index.value) req.IndexName = index.value;
    if (consistent.checked) req.ConsistentRead = true;
    const exprNames = names.value.trim() ? JSON.parse(names.value) : {};
    const exprValues = parseValues(values.value, notation()) || {};
    if (filter.value.trim()) req.FilterExpression = filter.value.trim();
    if (mode.value === "Query") {
      const parts = [];
      keyInputs.forEach((k, i) => {
        const op = k.kind === "hash" ? "=" : k.op.value;
        if (!op) return;
        const type = attrType[k.n] || "S";
        exprNames[`#k${i}`] = k.n;
        exprValues[`:k${i}`] = typedValue(type, k.value.value);
        if (op === "between") {
          exprValues[`:k${i}b`] = typedValue(type, k.value2.value);
          parts.push(`#k${i} BETWEEN :k${i} AND :k${i}b`);
        } else if (op === "begins_with") {
          parts.push(`begins_with(#k${i}, :k${i})`);
        } else {
          parts.push(`#k${i} ${op} :k${i}`);
        }
      });
      req.KeyConditionExpression = parts.join(" AND ");
      req.ScanIndexForward = forward.value === "true";
    }
    if (Object.keys(exprNames).length) req.ExpressionAttributeNames = exprNames;
    if (Object.keys(exprValues).length) req.ExpressionAttributeValues = exprValues;
    return req;
  };

  const show = () => {
    clear(results, renderItems(lastItems, keyAttrs, {
      onOpen: async (item) => { if (await editItem(table, item)) run(null, page); },
      onDelete: (b, item) => busy(b, errors, async () => { if (await deleteItem(table, item)) await run(null, page); }),
    }));
  };

  // Runs the page `n` of the current Scan or Query (0: the first).
  const run = (button, n = 0) => busy(button, errors, async () => {
    if (n === 0) pages = [undefined];
    let req;
    try { req = request(); } catch (e) { throw new SyntaxError(`Expression attribute names or values: ${e.message}`); }
    if (pages[n]) req.ExclusiveStartKey = pages[n];
    const resp = await call(mode.value, req);
    page = n;
    pages[n + 1] = resp.LastEvaluatedKey;
    pages.length = n + 2;
    lastItems = resp.Items || [];
    keyAttrs = [...new Set([...table.KeySchema, ...schemaOf()].map((k) => k.AttributeName))];
    clear(summary, `${mode.value}: page ${n + 1}, ${resp.Count} items (${resp.ScannedCount} scanned)`,
      resp.ConsumedCapacity ? `, ${formatNumber(resp.ConsumedCapacity.CapacityUnits)} capacity units` : "",
      resp.LastEvaluatedKey ? ", more pages" : "");
    prev.disabled = n === 0;
    next.disabled = !resp.LastEvaluatedKey;
    show();
  });

  const runButton = h("button.primary", { type: "submit", id: "run" }, "Run");
  const prev = h("button", { type: "button", disabled: true, onclick: (ev) => run(ev.target, page - 1) }, "◀ Previous page");
  const next = h("button", { type: "button", disabled: true, onclick: (ev) => run(ev.target, page + 1) }, "Next page ▶");
  const form = h("form.panel.stack", { onsubmit: (ev) => { ev.preventDefault(); run(runButton); } },
    h("div.row", h("label", "Operation", mode), h("label", "On", index), h("label", "Direction", forward), h("label", "Page size", limit),
      h("label.inline", consistent, "Consistent read")),
    keyFields,
    h("div.row", h("label", "Filter expression", filter), h("label", "Attribute names", names), h("label", "Attribute values", values)),
    h("div.toolbar", runButton, h("span.spacer"), viewSwitch(show),
      h("button", { type: "button", id: "create-item", onclick: async () => { if (await editItem(table, null)) run(null, page); } }, "Create item")));
  for (const el of [filter, names, values]) onCtrlEnter(el, () => run(runButton));
  mode.addEventListener("change", buildKeyFields);
  index.addEventListener("change", buildKeyFields);
  clear(body, form, errors, h("div.toolbar", summary, h("span.spacer"), prev, next), results);
  buildKeyFields();
  await run(runButton);
}
