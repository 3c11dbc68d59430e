// Shared by the JavaScript suite: start and stop a real binderdb, and build SDK v3 clients for it.
//
// Each test file starts its own server (`serve --in-memory --port 0`), reads the endpoint from
// the "listening on http://..." line on stderr (as tests/python/support.py does) and stops it
// with SIGTERM at the end, expecting exit code 0. The binary is $BINDERDB_BIN, or the
// workspace's debug build.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { DynamoDBClient, CreateTableCommand, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const ADDRESS = /listening on (https?:\/\/[0-9.]+:[0-9]+)/;
export const REGION = "us-east-1";

export function binaryPath() {
  return process.env.BINDERDB_BIN || join(REPO_ROOT, "target", "debug", "binderdb");
}

/** A running server: `endpoint`, `log()` (its stderr so far) and `stop()` (resolves to the exit code). */
export async function startServer(extraArgs = []) {
  const binary = binaryPath();
  if (!existsSync(binary)) {
    throw new Error(`binderdb binary not found at ${binary}; run \`cargo build --workspace\` or set BINDERDB_BIN`);
  }
  const child = spawn(binary, ["serve", "--host", "127.0.0.1", "--port", "0", "--in-memory", ...extraArgs], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "info", NO_COLOR: "1" },
  });
  // Whatever happens to this test process (a crash, an uncaught error), the server goes with it.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const lines = [];
  const exited = new Promise((resolve) =>
    child.once("exit", (code, signal) => {
      process.removeListener("exit", killOnExit);
      resolve(code ?? signal);
    }),
  );
  const endpoint = await new Promise((resolve, reject) => {
    let pending = "";
    const timer = setTimeout(() => reject(new Error(`binderdb did not start within ${READY_TIMEOUT_MS} ms:\n${lines.join("\n")}`)), READY_TIMEOUT_MS);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop();
      for (const line of parts) {
        lines.push(line);
        const found = ADDRESS.exec(line);
        if (found) {
          clearTimeout(timer);
          resolve(found[1]);
        }
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`binderdb exited (${code}) before listening:\n${lines.join("\n")}`));
    });
  });
  return {
    endpoint,
    log: () => lines.slice(-200).join("\n"),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
      child.kill("SIGTERM");
      let timer;
      const timeout = new Promise((resolve) => {
        timer = setTimeout(() => resolve("timeout"), STOP_TIMEOUT_MS);
      });
      const code = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (code === "timeout") {
        child.kill("SIGKILL");
        await exited;
        throw new Error(`binderdb did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM:\n${lines.join("\n")}`);
      }
      return code;
    },
  };
}

/** An SDK v3 client for `endpoint` with dummy credentials. `maxAttempts: 1` unless asked: error
 * tests must see the first answer, not a retry's. */
export function makeClient(endpoint, { maxAttempts = 1 } = {}) {
  return new DynamoDBClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts,
  });
}

/** lib-dynamodb's DocumentClient over `client`; `removeUndefinedValues` as most applications set it.
 *
 * DynamoDBDocumentClient.from() keeps its translate options in the base client's config, so
 * the last DocumentClient made over a base client decides for all of them: one with other
 * options needs a base client of its own. */
export function makeDocumentClient(client, marshallOptions = {}, unmarshallOptions = {}) {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, ...marshallOptions },
    unmarshallOptions,
  });
}

/** Creates an on-demand table and waits until it is ACTIVE (the server may report CREATING first). */
export async function createTable(client, input) {
  await client.send(new CreateTableCommand({ BillingMode: "PAY_PER_REQUEST", ...input }));
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: input.TableName });
}

/** Awaits `promise` and returns the error it rejects with; fails if it resolves. */
export async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail, it succeeded");
}
