// Key schema fields: an attribute type choice, and the editor of an index key that may have
// several partition-key (HASH) and sort-key (RANGE) attributes, as a global secondary index's
// may (up to four of each). The console checks none of DynamoDB's rules on them: what the form
// says is sent as it is, and the server's refusal is shown verbatim.

import { h } from "./ui.js";

const TYPES = ["S", "N", "B"];
const TYPE_NAMES = { S: "String", N: "Number", B: "Binary" };

export function typeSelect(label, value = "S") {
  return h("select", { "aria-label": label }, TYPES.map((t) => h("option", { value: t, selected: t === value }, TYPE_NAMES[t])));
}

// The fields of one key: `prefix` names them for assistive technology and tests ("Index" →
// "Index partition key", "Index partition key 2 type", "Index sort key"; "" → "Partition key").
// The first partition-key attribute is always sent (an empty name draws DynamoDB's error);
// further ones and sort-key attributes only when named. `onchange` runs after any change.
export function keyEditor(prefix, onchange = () => {}) {
  const label = (role, n) => {
    const text = `${prefix ? `${prefix} ` : ""}${role === "HASH" ? "partition" : "sort"} key${n > 1 ? ` ${n}` : ""}`;
    return text.charAt(0).toUpperCase() + text.slice(1);
  };
  const parts = { HASH: [], RANGE: [] };
  const rows = { HASH: h("span.row.key-attrs"), RANGE: h("span.row.key-attrs") };
  const add = (role) => {
    const list = parts[role];
    const n = list.length + 1;
    const attr = {
      name: h("input", { "aria-label": label(role, n), spellcheck: "false", size: 12,
        placeholder: role === "HASH" ? "partition key" : "sort key (optional)" }),
      type: typeSelect(`${label(role, n)} type`),
    };
    const remove = n > 1 ? h("button", { type: "button", title: "Remove this attribute", "aria-label": `Remove ${label(role, n).toLowerCase()}`,
      onclick: () => { list.splice(list.indexOf(attr), 1); attr.el.remove(); relabel(role); onchange(); } }, "×") : null;
    attr.el = h("span.key-attr", attr.name, attr.type, remove);
    list.push(attr);
    rows[role].append(attr.el);
    return attr;
  };
  // After a removal the remaining attributes are numbered again, so labels follow positions.
  const relabel = (role) => parts[role].forEach((attr, i) => {
    attr.name.setAttribute("aria-label", label(role, i + 1));
    attr.type.setAttribute("aria-label", `${label(role, i + 1)} type`);
  });
  add("HASH");
  add("RANGE");
  const more = (role, text) => h("button", { type: "button", onclick: () => { add(role).name.focus(); onchange(); } }, text);
  const el = h("span.row.key-editor",
    h("label", "Partition key", rows.HASH), more("HASH", "Add partition key attribute"),
    h("label", "Sort key", rows.RANGE), more("RANGE", "Add sort key attribute"));
  const named = (role) => parts[role].filter((a, i) => (role === "HASH" && i === 0) || a.name.value.trim());
  return {
    el,
    // The KeySchema: the partition-key attributes in order, then the sort-key ones.
    keySchema: () => ["HASH", "RANGE"].flatMap((role) => named(role).map((a) => ({ AttributeName: a.name.value.trim(), KeyType: role }))),
    // [name, type] of every named attribute, for AttributeDefinitions (a name given twice is
    // defined once, with its first type: the KeySchema then draws DynamoDB's error about it).
    definitions: () => {
      const defs = new Map();
      for (const role of ["HASH", "RANGE"]) {
        for (const a of named(role)) if (!defs.has(a.name.value.trim())) defs.set(a.name.value.trim(), a.type.value);
      }
      return [...defs];
    },
  };
}
