// The libraries' retry paths against binderdb's realism features: the SDK v3's retry strategy
// on injected throttling and server errors (`/binderdb/faults`), and the batch helpers that
// send UnprocessedItems / UnprocessedKeys again, on a PROVISIONED table that really throttles
// (`--throttling`, 5 WCU: a new bucket holds one second of capacity, so a batch of 15 writes
// cannot all be admitted at once).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { BatchGetItemCommand, BatchWriteItemCommand, GetItemCommand, PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand } from "@aws-sdk/lib-dynamodb";
import { Entity } from "electrodb";
import { Table } from "dynamodb-toolbox/table";
import { Entity as ToolboxEntity } from "dynamodb-toolbox/entity";
import { item } from "dynamodb-toolbox/schema/item";
import { string } from "dynamodb-toolbox/schema/string";
import { number } from "dynamodb-toolbox/schema/number";
import { BatchWriteCommand as ToolboxBatchWrite, execute as executeBatchWrite } from "dynamodb-toolbox/table/actions/batchWrite";
import { BatchPutRequest } from "dynamodb-toolbox/entity/actions/batchPut";
import { BatchGetCommand as ToolboxBatchGet, execute as executeBatchGet } from "dynamodb-toolbox/table/actions/batchGet";
import { BatchGetRequest } from "dynamodb-toolbox/entity/actions/batchGet";

import { createTable, makeClient, makeDocumentClient, rejection, startServer } from "./support.mjs";

let server;
let client;

before(async () => {
  server = await startServer(["--throttling"]);
  client = makeClient(server.endpoint);
  // On-demand tables (createTable's default) are throttled only far above this test's load.
  await createTable(client, {
    TableName: "retry_faults",
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
  });
});

after(async () => {
  client?.destroy();
  if (server) assert.equal(await server.stop(), 0, `binderdb did not exit cleanly:\n${server.log()}`);
});

async function setFaults(rules) {
  const answer = await fetch(`${server.endpoint}/binderdb/faults`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ seed: 1, rules }),
  });
  assert.equal(answer.status, 200, await answer.text());
}

/** A PROVISIONED table with `units` read and write capacity units. */
async function provisionedTable(TableName, units, keys = [{ AttributeName: "pk", AttributeType: "S" }]) {
  await createTable(client, {
    TableName,
    BillingMode: "PROVISIONED",
    ProvisionedThroughput: { ReadCapacityUnits: units, WriteCapacityUnits: units },
    AttributeDefinitions: keys,
    KeySchema: keys.map(({ AttributeName }, i) => ({ AttributeName, KeyType: i === 0 ? "HASH" : "RANGE" })),
  });
}

describe("the SDK's retry strategy", () => {
  test("retries a throttled call and succeeds", async () => {
    await setFaults([{ table: "retry_faults", operation: "PutItem", error: "ProvisionedThroughputExceededException", nth: 1 }]);
    const retrying = makeClient(server.endpoint, { maxAttempts: 3 });
    try {
      const answer = await retrying.send(new PutItemCommand({ TableName: "retry_faults", Item: { pk: { S: "a" } } }));
      assert.equal(answer.$metadata.attempts, 2);
      assert.ok(answer.$metadata.totalRetryDelay > 0);
    } finally {
      retrying.destroy();
    }
    const read = await client.send(new GetItemCommand({ TableName: "retry_faults", Key: { pk: { S: "a" } } }));
    assert.deepEqual(read.Item, { pk: { S: "a" } });
  });

  test("without retries the error is surfaced as the SDK classifies DynamoDB's", async () => {
    await setFaults([
      { table: "retry_faults", operation: "GetItem", error: "ThrottlingException", nth: 1 },
      { table: "retry_faults", operation: "GetItem", error: "InternalServerError", nth: 2 },
    ]);
    const throttled = await rejection(client.send(new GetItemCommand({ TableName: "retry_faults", Key: { pk: { S: "a" } } })));
    assert.equal(throttled.name, "ThrottlingException");
    assert.equal(throttled.$metadata.httpStatusCode, 400);
    assert.equal(throttled.$fault, "client");
    const failed = await rejection(client.send(new GetItemCommand({ TableName: "retry_faults", Key: { pk: { S: "a" } } })));
    assert.equal(failed.name, "InternalServerError");
    assert.equal(failed.$metadata.httpStatusCode, 500);
    assert.equal(failed.$fault, "server");
  });

  test("a 500 is retried like a throttle", async () => {
    await setFaults([{ table: "retry_faults", operation: "GetItem", error: "InternalServerError", nth: 1 }]);
    const retrying = makeClient(server.endpoint, { maxAttempts: 3 });
    try {
      const answer = await retrying.send(new GetItemCommand({ TableName: "retry_faults", Key: { pk: { S: "a" } } }));
      assert.equal(answer.$metadata.attempts, 2);
      assert.deepEqual(answer.Item, { pk: { S: "a" } });
    } finally {
      retrying.destroy();
      await setFaults([]);
    }
  });
});

describe("batch helpers and UnprocessedItems", () => {
  test("a throttled BatchWriteItem returns the rest in UnprocessedItems, in the request's shape", async () => {
    await provisionedTable("retry_raw", 5);
    const writes = Array.from({ length: 15 }, (_, n) => ({ PutRequest: { Item: { pk: { S: `k${n}` }, n: { N: String(n) } } } }));
    const first = await client.send(new BatchWriteItemCommand({ RequestItems: { retry_raw: writes } }));
    const left = first.UnprocessedItems.retry_raw ?? [];
    assert.ok(left.length >= 5, `only ${left.length} of 15 unprocessed with 5 WCU`);
    for (const request of left) {
      const n = Number(request.PutRequest.Item.n.N);
      assert.deepEqual(request, writes[n]);
    }
  });

  test("lib-dynamodb unmarshalls UnprocessedItems, and sending them again completes the batch", async () => {
    await provisionedTable("retry_doc", 5);
    const doc = makeDocumentClient(client);
    let requestItems = { retry_doc: Array.from({ length: 15 }, (_, n) => ({ PutRequest: { Item: { pk: `k${n}`, n } } })) };
    let rounds = 0;
    let sawUnprocessed = false;
    while (Object.keys(requestItems).length > 0) {
      rounds += 1;
      assert.ok(rounds < 60, "UnprocessedItems never emptied");
      const answer = await doc.send(new BatchWriteCommand({ RequestItems: requestItems }));
      requestItems = answer.UnprocessedItems ?? {};
      if (requestItems.retry_doc) {
        sawUnprocessed = true;
        // Native values: lib-dynamodb unmarshalled the unprocessed items.
        assert.equal(typeof requestItems.retry_doc[0].PutRequest.Item.n, "number");
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    assert.ok(sawUnprocessed);
    const count = await client.send(new ScanCommand({ TableName: "retry_doc", Select: "COUNT", ConsistentRead: true }));
    assert.equal(count.Count, 15);
  });

  test("ElectroDB's batch put reports the unprocessed records as entity keys", async () => {
    await provisionedTable("retry_electro", 5, [
      { AttributeName: "pk", AttributeType: "S" },
      { AttributeName: "sk", AttributeType: "S" },
    ]);
    const Reading = new Entity(
      {
        model: { entity: "reading", version: "1", service: "meters" },
        attributes: { meter: { type: "string", required: true }, at: { type: "number", required: true }, kwh: { type: "number" } },
        indexes: { byMeter: { pk: { field: "pk", composite: ["meter"] }, sk: { field: "sk", composite: ["at"] } } },
      },
      { table: "retry_electro", client: makeDocumentClient(client) },
    );
    const readings = Array.from({ length: 15 }, (_, at) => ({ meter: "m1", at, kwh: at / 2 }));
    const { unprocessed } = await Reading.put(readings).go();
    assert.ok(unprocessed.length >= 5, `only ${unprocessed.length} unprocessed`);
    // ElectroDB hands back each unprocessed record, unmarshalled and stripped of its keys.
    for (const record of unprocessed) {
      assert.deepEqual(record, readings[record.at]);
    }
    let pending = readings.filter((r) => unprocessed.some((u) => u.at === r.at));
    for (let round = 0; pending.length > 0; round++) {
      assert.ok(round < 60, "ElectroDB's unprocessed never emptied");
      await new Promise((resolve) => setTimeout(resolve, 250));
      const again = await Reading.put(pending).go();
      pending = pending.filter((r) => again.unprocessed.some((u) => u.at === r.at));
    }
    const all = await Reading.query.byMeter({ meter: "m1" }).go({ pages: "all" });
    // ElectroDB writes numbers into the sort key unpadded: "m1#at_10" sorts before "m1#at_2".
    assert.deepEqual(all.data.map((r) => r.at), readings.map((r) => r.at).sort((a, b) => String(a).localeCompare(String(b))));
  });

  test("dynamodb-toolbox's execute() sends UnprocessedItems again up to maxAttempts", async (t) => {
    const retrying = makeClient(server.endpoint, { maxAttempts: 10 });
    t.after(() => retrying.destroy());
    await provisionedTable("retry_toolbox", 5, [
      { AttributeName: "PK", AttributeType: "S" },
      { AttributeName: "SK", AttributeType: "S" },
    ]);
    const table = new Table({
      name: "retry_toolbox",
      partitionKey: { name: "PK", type: "string" },
      sortKey: { name: "SK", type: "string" },
      documentClient: makeDocumentClient(retrying),
    });
    const Event = new ToolboxEntity({
      name: "Event",
      table,
      schema: item({ stream: string().key(), seq: number().key() }),
      computeKey: ({ stream, seq }) => ({ PK: stream, SK: String(seq).padStart(4, "0") }),
    });
    const requests = () => Array.from({ length: 15 }, (_, seq) => Event.build(BatchPutRequest).item({ stream: "s", seq }));
    const once = await executeBatchWrite({ maxAttempts: 1 }, table.build(ToolboxBatchWrite).requests(...requests()));
    assert.ok((once.UnprocessedItems.retry_toolbox ?? []).length >= 5);
    // toolbox sends UnprocessedItems again at once, without waiting; a batch of which nothing
    // could be admitted fails whole with ProvisionedThroughputExceededException (as DynamoDB's
    // does), and the SDK's retry strategy waits that out: the two together finish the batch.
    const answer = await executeBatchWrite({ maxAttempts: 100 }, table.build(ToolboxBatchWrite).requests(...requests()));
    assert.deepEqual(answer.UnprocessedItems, {});
    const count = await client.send(new ScanCommand({ TableName: "retry_toolbox", Select: "COUNT", ConsistentRead: true }));
    assert.equal(count.Count, 15);
  });
});

describe("UnprocessedKeys: a BatchGetItem answer stops at 16 MB", () => {
  const COUNT = 60;
  const BODY = "x".repeat(390_000);
  // A server of its own, without --throttling: 23 MB of writes in a moment would exceed a new
  // on-demand table's 4,000 WCU per second, as on DynamoDB.
  let bigServer;
  let client;
  let Blob;
  let table;

  after(async () => {
    client?.destroy();
    if (bigServer) assert.equal(await bigServer.stop(), 0, bigServer.log());
  });

  before(async () => {
    bigServer = await startServer();
    client = makeClient(bigServer.endpoint);
    await createTable(client, {
      TableName: "retry_big",
      AttributeDefinitions: [
        { AttributeName: "PK", AttributeType: "S" },
        { AttributeName: "SK", AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: "PK", KeyType: "HASH" },
        { AttributeName: "SK", KeyType: "RANGE" },
      ],
    });
    table = new Table({
      name: "retry_big",
      partitionKey: { name: "PK", type: "string" },
      sortKey: { name: "SK", type: "string" },
      documentClient: makeDocumentClient(client),
    });
    Blob = new ToolboxEntity({
      name: "Blob",
      table,
      schema: item({ id: string().key(), body: string() }),
      computeKey: ({ id }) => ({ PK: id, SK: "blob" }),
    });
    for (let start = 0; start < COUNT; start += 5) {
      const requests = Array.from({ length: 5 }, (_, i) => Blob.build(BatchPutRequest).item({ id: `b${start + i}`, body: BODY }));
      const answer = await executeBatchWrite(table.build(ToolboxBatchWrite).requests(...requests));
      assert.equal(Object.keys(answer.UnprocessedItems).length, 0);
    }
  });

  test("the raw answer returns what fits and the rest as UnprocessedKeys", async () => {
    const keys = Array.from({ length: COUNT }, (_, n) => ({ PK: { S: `b${n}` }, SK: { S: "blob" } }));
    const whole = await client.send(new BatchGetItemCommand({ RequestItems: { retry_big: { Keys: keys } } }));
    const returned = whole.Responses.retry_big.length;
    const left = whole.UnprocessedKeys.retry_big.Keys;
    assert.ok(returned > 0 && returned * 390_000 <= 16 * 1024 * 1024, `${returned} items of 390 KB returned`);
    assert.equal(returned + left.length, COUNT);
    const seen = new Set([...whole.Responses.retry_big.map((i) => i.PK.S), ...left.map((k) => k.PK.S)]);
    assert.equal(seen.size, COUNT);
  });

  test("dynamodb-toolbox's execute() asks again for the UnprocessedKeys", async () => {
    const requests = Array.from({ length: COUNT }, (_, n) => Blob.build(BatchGetRequest).key({ id: `b${n}` }));
    const { Responses, UnprocessedKeys } = await executeBatchGet({ maxAttempts: 5 }, table.build(ToolboxBatchGet).requests(...requests));
    assert.equal(Object.keys(UnprocessedKeys).length, 0);
    assert.deepEqual(Responses[0].map((b) => b?.id), requests.map((_, n) => `b${n}`));
    assert.ok(Responses[0].every((b) => b.body.length === BODY.length));
  });
});
