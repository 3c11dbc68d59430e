// Items in two notations: DynamoDB JSON ({"price": {"N": "9.99"}}) and plain JSON
// ({"price": 9.99}). Numbers stay exact both ways: plain JSON is parsed and printed by this
// module's own code, which keeps a number's text (a JavaScript number would round 38 digits).
// Plain JSON cannot tell a set from a list or a binary from a string: such items are shown with
// sets as lists and binaries as base64 strings, and `hasSetsOrBinary` tells the editor to
// refuse saving them from plain JSON.

// A JSON number kept as its text.
export class Num {
  constructor(text) { this.text = text; }
}

// DynamoDB AttributeValue → plain value (Num for numbers).
export function toPlain(av) {
  const [type, v] = Object.entries(av)[0] || [];
  switch (type) {
    case "S": case "B": return v;
    case "N": return new Num(v);
    case "BOOL": return v;
    case "NULL": return null;
    case "SS": case "BS": return [...v];
    case "NS": return v.map((n) => new Num(n));
    case "L": return v.map(toPlain);
    case "M": return itemToPlain(v);
    default: return av;
  }
}

export function itemToPlain(item) {
  const out = {};
  for (const [k, v] of Object.entries(item)) out[k] = toPlain(v);
  return out;
}

// Plain value → AttributeValue.
export function fromPlain(v) {
  if (v === null) return { NULL: true };
  if (v instanceof Num) return { N: v.text };
  if (typeof v === "number") return { N: String(v) };
  if (typeof v === "string") return { S: v };
  if (typeof v === "boolean") return { BOOL: v };
  if (Array.isArray(v)) return { L: v.map(fromPlain) };
  return { M: itemFromPlain(v) };
}

export function itemFromPlain(obj) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj) || obj instanceof Num) {
    throw new SyntaxError("An item must be a JSON object");
  }
  const out = {};
  for (const [k, v] of Object.entries(obj)) out[k] = fromPlain(v);
  return out;
}

export function hasSetsOrBinary(av) {
  const [type, v] = Object.entries(av)[0] || [];
  if (["SS", "NS", "BS", "B"].includes(type)) return true;
  if (type === "L") return v.some(hasSetsOrBinary);
  if (type === "M") return Object.values(v).some(hasSetsOrBinary);
  return false;
}

export function itemHasSetsOrBinary(item) {
  return Object.values(item).some(hasSetsOrBinary);
}

// Parses JSON text keeping numbers as Num.
export function parseExact(text) {
  let i = 0;
  const fail = (what) => { throw new SyntaxError(`${what} at position ${i}`); };
  const ws = () => { while (i < text.length && " \t\r\n".includes(text[i])) i++; };
  const value = () => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++; const obj = {}; ws();
      if (text[i] === "}") { i++; return obj; }
      for (;;) {
        ws(); if (text[i] !== '"') fail("Expected a string key");
        const k = str(); ws();
        if (text[i] !== ":") fail("Expected ':'");
        i++; obj[k] = value(); ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "}") { i++; return obj; }
        fail("Expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++; const arr = []; ws();
      if (text[i] === "]") { i++; return arr; }
      for (;;) {
        arr.push(value()); ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "]") { i++; return arr; }
        fail("Expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (m && m[0]) { i += m[0].length; return new Num(m[0]); }
    for (const [word, v] of [["true", true], ["false", false], ["null", null]]) {
      if (text.startsWith(word, i)) { i += word.length; return v; }
    }
    return fail("Unexpected character");
  };
  const str = () => {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(text.slice(i));
    if (!m) fail("Bad string");
    i += m[0].length;
    return JSON.parse(m[0]);
  };
  const v = value(); ws();
  if (i < text.length) fail("Unexpected text after the value");
  return v;
}

// Prints a plain value (with Num) as JSON.
export function stringifyExact(v, indent = 2, depth = 0) {
  const pad = " ".repeat(indent * (depth + 1));
  const end = " ".repeat(indent * depth);
  const nl = indent ? "\n" : "";
  if (v instanceof Num) return v.text;
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) {
    if (!v.length) return "[]";
    return "[" + nl + v.map((x) => pad + stringifyExact(x, indent, depth + 1)).join("," + nl) + nl + end + "]";
  }
  const keys = Object.keys(v);
  if (!keys.length) return "{}";
  const sep = indent ? ": " : ":";
  return "{" + nl + keys.map((k) => pad + JSON.stringify(k) + sep + stringifyExact(v[k], indent, depth + 1)).join("," + nl) + nl + end + "}";
}

// One attribute value, short, for a grid cell: text and a type tag.
export function cellText(av) {
  const [type, v] = Object.entries(av)[0] || [];
  switch (type) {
    case "S": case "N": case "B": return [v, type];
    case "BOOL": return [String(v), type];
    case "NULL": return ["null", type];
    default: return [stringifyExact(toPlain(av), 0), type];
  }
}

// Parses editor text as an item in the given notation ("ddb" or "plain").
export function parseItem(text, notation) {
  if (notation === "ddb") {
    const item = JSON.parse(text);
    if (item === null || typeof item !== "object" || Array.isArray(item)) throw new SyntaxError("An item must be a JSON object");
    return item;
  }
  return itemFromPlain(parseExact(text));
}

// Parses a map of expression attribute values in the given notation.
export function parseValues(text, notation) {
  if (!text.trim()) return undefined;
  return parseItem(text, notation);
}

export function formatItem(item, notation) {
  return notation === "ddb" ? JSON.stringify(item, null, 2) : stringifyExact(itemToPlain(item));
}
