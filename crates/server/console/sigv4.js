// AWS Signature Version 4 for the console's API calls, computed with WebCrypto
// (SubtleCrypto's HMAC and SHA-256; localhost is a secure context, so it is available there).
// Only what a JSON POST to "/" needs: no query string, the signed headers given.

const enc = new TextEncoder();

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(text) {
  return hex(await crypto.subtle.digest("SHA-256", enc.encode(text)));
}

async function hmac(key, text) {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", k, enc.encode(text));
}

// "20261206T051500Z" and "20261206" for a Date.
export function amzDate(now) {
  const iso = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  return { stamp: iso, day: iso.slice(0, 8) };
}

// Signing keys by (secret, day, region): deriving one costs four HMACs.
const signingKeys = new Map();

async function signingKey(secret, day, region, service) {
  const id = `${secret}\n${day}\n${region}\n${service}`;
  let key = signingKeys.get(id);
  if (!key) {
    const kDate = await hmac(enc.encode("AWS4" + secret), day);
    const kRegion = await hmac(kDate, region);
    const kService = await hmac(kRegion, service);
    key = await hmac(kService, "aws4_request");
    signingKeys.clear();
    signingKeys.set(id, key);
  }
  return key;
}

// The headers that sign a POST of `body` to `path` on `host`: returns the headers to send
// (x-amz-date and authorization added to `headers`). Header names must be lower case.
export async function sign({ accessKeyId, secretAccessKey, region, host, path, headers, body, now = new Date() }) {
  const service = "dynamodb";
  const { stamp, day } = amzDate(now);
  const all = { ...headers, host, "x-amz-date": stamp };
  const names = Object.keys(all).sort();
  const canonicalHeaders = names.map((n) => `${n}:${String(all[n]).trim().replace(/\s+/g, " ")}\n`).join("");
  const signedHeaders = names.join(";");
  const payloadHash = await sha256Hex(body);
  const canonicalRequest = ["POST", path, "", canonicalHeaders, signedHeaders, payloadHash].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, await sha256Hex(canonicalRequest)].join("\n");
  const signature = hex(await hmac(await signingKey(secretAccessKey, day, region, service), stringToSign));
  const out = { ...headers, "x-amz-date": stamp };
  out.authorization = `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return out;
}
