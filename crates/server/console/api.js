// The console's only ways to the server: the public DynamoDB and Streams JSON APIs (signed
// POST /), and GET /bill and /metrics. Every call is signed: with the key the user entered when
// the server checks signatures, else with a placeholder key (an unchecking server accepts any
// signature and reads the region from its scope, so the region picker works the same way).

import { sign } from "./sigv4.js";

const PLACEHOLDER = { accessKeyId: "console", secretAccessKey: "console" };
const SESSION_KEY = "binderdb.console.credentials";
const REGION_KEY = "binderdb.console.region";

// A failed call: `type` is the error's __type as the server sent it, `message` its message,
// both shown verbatim.
export class ApiError extends Error {
  constructor(type, message, status) {
    super(message || type);
    this.type = type;
    this.status = status;
  }
  get shortType() {
    return (this.type || "").split("#").pop();
  }
}

// Errors that mean "this key is not accepted here": the console then asks for a key.
const AUTH_ERRORS = new Set([
  "MissingAuthenticationTokenException", "UnrecognizedClientException",
  "InvalidSignatureException", "IncompleteSignatureException",
]);
export function isAuthError(e) {
  return e instanceof ApiError && AUTH_ERRORS.has(e.shortType);
}

export const session = {
  credentials: loadCredentials(),
  region: localStorage.getItem(REGION_KEY) || "us-east-1",
  get signedIn() { return this.credentials !== null; },
  signIn(accessKeyId, secretAccessKey, region) {
    this.credentials = { accessKeyId, secretAccessKey };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(this.credentials));
    this.setRegion(region);
  },
  signOut() {
    this.credentials = null;
    sessionStorage.removeItem(SESSION_KEY);
  },
  setRegion(region) {
    this.region = region;
    localStorage.setItem(REGION_KEY, region);
  },
};

function loadCredentials() {
  try {
    const c = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    return c && c.accessKeyId && c.secretAccessKey ? c : null;
  } catch {
    return null;
  }
}

// Calls `operation` of the DynamoDB API (or of the Streams API when `streams` is set) with the
// request object `body`; resolves to the response object, rejects with an ApiError.
export async function call(operation, body = {}, { streams = false, credentials } = {}) {
  const prefix = streams ? "DynamoDBStreams_20120810" : "DynamoDB_20120810";
  const text = JSON.stringify(body);
  const key = credentials || session.credentials || PLACEHOLDER;
  const region = credentials?.region || session.region;
  const plain = { "content-type": "application/x-amz-json-1.0", "x-amz-target": `${prefix}.${operation}` };
  let headers;
  if (globalThis.crypto?.subtle) {
    headers = await sign({ ...key, region, host: location.host, path: "/", headers: plain, body: text });
  } else if (key === PLACEHOLDER) {
    // Not a secure context (plain HTTP to an address other than localhost): no WebCrypto. A
    // server without keys checks no signature, so naming the region in the credential scope
    // is enough.
    const day = new Date().toISOString().slice(0, 10).replace(/-/g, "");
    headers = { ...plain, authorization: `AWS4-HMAC-SHA256 Credential=console/${day}/${region}/dynamodb/aws4_request, SignedHeaders=host, Signature=0` };
  } else {
    throw new ApiError("InsecureContext", "This page is not a secure context (use HTTPS or localhost), so the browser offers no WebCrypto to sign requests with your key.", 0);
  }
  let resp;
  try {
    resp = await fetch("/", { method: "POST", headers, body: text, cache: "no-store" });
  } catch (e) {
    throw new ApiError("NetworkError", `The server could not be reached: ${e.message}`, 0);
  }
  const raw = await resp.text();
  let json = null;
  try { json = raw ? JSON.parse(raw) : {}; } catch { /* not JSON: reported below */ }
  if (!resp.ok || json === null) {
    const type = json?.__type || `HTTP ${resp.status}`;
    const message = json?.message ?? json?.Message ?? (json === null ? raw : "");
    throw new ApiError(type, message, resp.status);
  }
  return json;
}

// All pages of a paginated call: `pageKey` names the response's continuation field and
// `startKey` the request's.
export async function callAll(operation, body, listField, pageKey, startKey, opts) {
  const out = [];
  let next;
  for (let i = 0; i < 1000; i++) {
    const resp = await call(operation, next ? { ...body, [startKey]: next } : body, opts);
    out.push(...(resp[listField] || []));
    next = resp[pageKey];
    if (!next) break;
  }
  return out;
}

export async function getJson(path) {
  const resp = await fetch(path, { cache: "no-store" });
  if (!resp.ok) throw new ApiError(`HTTP ${resp.status}`, await resp.text(), resp.status);
  return resp.json();
}

export async function getText(path) {
  const resp = await fetch(path, { cache: "no-store" });
  if (!resp.ok) throw new ApiError(`HTTP ${resp.status}`, await resp.text(), resp.status);
  return resp.text();
}
