// lib-dynamodb's DynamoDBDocumentClient against binderdb: native JavaScript values marshalled
// to AttributeValues and back (numbers, big numbers, sets, binary, nested maps and lists,
// removeUndefinedValues), its command wrappers (Put/Get/Update/Delete/Query/Scan/Batch/
// Transact), its paginators and the errors it passes through unchanged.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactGetCommand,
  TransactWriteCommand,
  NumberValue,
  UpdateCommand,
  paginateQuery,
} from "@aws-sdk/lib-dynamodb";

import { createTable, makeClient, makeDocumentClient, rejection, startServer } from "./support.mjs";

const TABLE = "doc_things";

let server;
let client;
let doc;

before(async () => {
  server = await startServer();
  client = makeClient(server.endpoint);
  doc = makeDocumentClient(client);
  await createTable(client, {
    TableName: TABLE,
    AttributeDefinitions: [
      { AttributeName: "id", AttributeType: "S" },
      { AttributeName: "at", AttributeType: "N" },
    ],
    KeySchema: [
      { AttributeName: "id", KeyType: "HASH" },
      { AttributeName: "at", KeyType: "RANGE" },
    ],
  });
});

after(async () => {
  client?.destroy();
  if (server) assert.equal(await server.stop(), 0, `binderdb did not exit cleanly:\n${server.log()}`);
});

describe("marshalling", () => {
  test("every native type round-trips, undefined values are dropped", async () => {
    const item = {
      id: "types",
      at: 1,
      int: 42,
      negative: -7.25,
      tiny: 1e-100,
      flag: false,
      nothing: null,
      text: "héllo ✓",
      bytes: new Uint8Array([0, 1, 2, 255]),
      strings: new Set(["b", "a"]),
      numbers: new Set([3, 1, 2]),
      list: [1, "two", { three: [3] }, null],
      nested: { deeper: { deepest: { leaf: "x", skipped: undefined } } },
      skipped: undefined,
    };
    await doc.send(new PutCommand({ TableName: TABLE, Item: item }));

    const raw = (await client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: "types" }, at: { N: "1" } } }))).Item;
    assert.deepEqual(raw.strings.SS.sort(), ["a", "b"]);
    assert.deepEqual(raw.numbers.NS.sort(), ["1", "2", "3"]);
    assert.deepEqual(raw.nested, { M: { deeper: { M: { deepest: { M: { leaf: { S: "x" } } } } } } });
    assert.equal(raw.skipped, undefined);
    assert.deepEqual(raw.nothing, { NULL: true });
    assert.equal(Number(raw.tiny.N), 1e-100);

    const read = (await doc.send(new GetCommand({ TableName: TABLE, Key: { id: "types", at: 1 }, ConsistentRead: true }))).Item;
    const { skipped, ...expected } = item;
    expected.nested = { deeper: { deepest: { leaf: "x" } } };
    assert.equal(skipped, undefined);
    assert.deepEqual(read, expected);
  });

  test("numbers beyond a double keep every digit as NumberValue", async (t) => {
    const big = "12345678901234567890123456789012345678";
    await doc.send(new PutCommand({ TableName: TABLE, Item: { id: "big", at: 1, big: NumberValue.from(big) } }));
    // lib-dynamodb turns an integer past Number.MAX_SAFE_INTEGER into a BigInt, every digit kept...
    const plain = (await doc.send(new GetCommand({ TableName: TABLE, Key: { id: "big", at: 1 } }))).Item;
    assert.equal(plain.big, BigInt(big));
    // ...and hands over the exact text when asked to wrap numbers.
    const base = makeClient(server.endpoint);
    t.after(() => base.destroy());
    const wrapped = makeDocumentClient(base, {}, { wrapNumbers: true });
    const read = (await wrapped.send(new GetCommand({ TableName: TABLE, Key: { id: "big", at: 1 } }))).Item;
    assert.equal(read.big.toString(), big);
    assert.equal(read.at.toString(), "1");
  });

  test("convertEmptyValues turns empty strings into NULL; empty strings and lists are stored as such", async (t) => {
    await doc.send(new PutCommand({ TableName: TABLE, Item: { id: "empty", at: 1, name: "", list: [], map: {} } }));
    const kept = (await doc.send(new GetCommand({ TableName: TABLE, Key: { id: "empty", at: 1 } }))).Item;
    assert.deepEqual(kept, { id: "empty", at: 1, name: "", list: [], map: {} });
    const base = makeClient(server.endpoint);
    t.after(() => base.destroy());
    const emptyStringSet = makeDocumentClient(base, { convertEmptyValues: true });
    await emptyStringSet.send(new PutCommand({ TableName: TABLE, Item: { id: "empty", at: 2, name: "", list: [] } }));
    const read = (await doc.send(new GetCommand({ TableName: TABLE, Key: { id: "empty", at: 2 } }))).Item;
    // convertEmptyValues turns "" into NULL; empty lists are legal AttributeValues and stay.
    assert.deepEqual(read, { id: "empty", at: 2, name: null, list: [] });
  });
});

describe("updates", () => {
  test("SET, ADD to sets and numbers, REMOVE, list_append, with ALL_NEW", async () => {
    await doc.send(
      new PutCommand({ TableName: TABLE, Item: { id: "upd", at: 1, count: 1, tags: new Set(["a"]), log: ["first"], gone: "x" } }),
    );
    const answer = await doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { id: "upd", at: 1 },
        UpdateExpression: "SET #log = list_append(#log, :more), #info = :info ADD #count :two, tags :tags REMOVE gone",
        ExpressionAttributeNames: { "#log": "log", "#info": "info", "#count": "count" },
        ExpressionAttributeValues: { ":more": ["second"], ":info": { when: 5 }, ":two": 2, ":tags": new Set(["b", "c"]) },
        ConditionExpression: "attribute_not_exists(#info)",
        ReturnValues: "ALL_NEW",
      }),
    );
    assert.deepEqual(answer.Attributes, {
      id: "upd",
      at: 1,
      count: 3,
      tags: new Set(["a", "b", "c"]),
      log: ["first", "second"],
      info: { when: 5 },
    });
  });

  test("a nested SET on a missing map is a ValidationException", async () => {
    const error = await rejection(
      doc.send(
        new UpdateCommand({
          TableName: TABLE,
          Key: { id: "upd", at: 1 },
          UpdateExpression: "SET absent.child = :v",
          ExpressionAttributeValues: { ":v": 1 },
        }),
      ),
    );
    assert.equal(error.name, "ValidationException");
    assert.equal(error.message, "The document path provided in the update expression is invalid for update");
  });

  test("Delete with a condition and ReturnValues", async () => {
    await doc.send(new PutCommand({ TableName: TABLE, Item: { id: "del", at: 1, owner: "me" } }));
    const refused = await rejection(
      doc.send(
        new DeleteCommand({
          TableName: TABLE,
          Key: { id: "del", at: 1 },
          ConditionExpression: "#o = :o",
          ExpressionAttributeNames: { "#o": "owner" },
          ExpressionAttributeValues: { ":o": "you" },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      ),
    );
    assert.equal(refused.name, "ConditionalCheckFailedException");
    // The DocumentClient passes the exception through: its Item is still in AttributeValue form.
    assert.deepEqual(refused.Item, { id: { S: "del" }, at: { N: "1" }, owner: { S: "me" } });
    const deleted = await doc.send(
      new DeleteCommand({
        TableName: TABLE,
        Key: { id: "del", at: 1 },
        ConditionExpression: "#o = :o",
        ExpressionAttributeNames: { "#o": "owner" },
        ExpressionAttributeValues: { ":o": "me" },
        ReturnValues: "ALL_OLD",
      }),
    );
    assert.deepEqual(deleted.Attributes, { id: "del", at: 1, owner: "me" });
  });
});

describe("reads, batches and transactions", () => {
  before(async () => {
    const items = Array.from({ length: 30 }, (_, i) => ({ id: "feed", at: i, kind: i % 3 === 0 ? "fizz" : "plain" }));
    for (let i = 0; i < items.length; i += 25) {
      const answer = await doc.send(
        new BatchWriteCommand({ RequestItems: { [TABLE]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }),
      );
      assert.deepEqual(answer.UnprocessedItems, {});
    }
  });

  test("paginateQuery with a filter and a Limit per page", async () => {
    const seen = [];
    for await (const page of paginateQuery(
      { client: doc, pageSize: 4 },
      {
        TableName: TABLE,
        KeyConditionExpression: "id = :id",
        FilterExpression: "kind = :k",
        ExpressionAttributeValues: { ":id": "feed", ":k": "fizz" },
        ScanIndexForward: false,
      },
    )) {
      assert.ok(page.ScannedCount <= 4);
      seen.push(...page.Items.map((item) => item.at));
    }
    assert.deepEqual(seen, [27, 24, 21, 18, 15, 12, 9, 6, 3, 0]);
  });

  test("Query with Select COUNT", async () => {
    const answer = await doc.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "id = :id AND #at < :n",
        ExpressionAttributeNames: { "#at": "at" },
        ExpressionAttributeValues: { ":id": "feed", ":n": 10 },
        Select: "COUNT",
      }),
    );
    assert.equal(answer.Count, 10);
    assert.equal(answer.Items, undefined);
  });

  test("Scan with a projection of nested attributes", async () => {
    const answer = await doc.send(
      new ScanCommand({
        TableName: TABLE,
        FilterExpression: "id = :id AND #at IN (:a, :b)",
        ProjectionExpression: "#at",
        ExpressionAttributeNames: { "#at": "at" },
        ExpressionAttributeValues: { ":id": "feed", ":a": 1, ":b": 2 },
      }),
    );
    assert.deepEqual(answer.Items.map((item) => item.at).sort(), [1, 2]);
    assert.deepEqual(Object.keys(answer.Items[0]), ["at"]);
  });

  test("BatchGet unmarshalls every response", async () => {
    const answer = await doc.send(
      new BatchGetCommand({ RequestItems: { [TABLE]: { Keys: [{ id: "feed", at: 3 }, { id: "feed", at: 4 }, { id: "none", at: 0 }] } } }),
    );
    const items = answer.Responses[TABLE].sort((a, b) => a.at - b.at);
    assert.deepEqual(items, [
      { id: "feed", at: 3, kind: "fizz" },
      { id: "feed", at: 4, kind: "plain" },
    ]);
  });

  test("TransactWrite cancelled by a ConditionCheck leaves nothing; TransactGet reads natively", async () => {
    const error = await rejection(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: TABLE, Item: { id: "tw", at: 1, v: "a" } } },
            { ConditionCheck: { TableName: TABLE, Key: { id: "feed", at: 1 }, ConditionExpression: "kind = :k", ExpressionAttributeValues: { ":k": "fizz" } } },
          ],
        }),
      ),
    );
    assert.equal(error.name, "TransactionCanceledException");
    assert.deepEqual(error.CancellationReasons.map((reason) => reason.Code), ["None", "ConditionalCheckFailed"]);

    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: TABLE, Item: { id: "tw", at: 1, v: "a" } } },
          { Update: { TableName: TABLE, Key: { id: "feed", at: 1 }, UpdateExpression: "SET kind = :k", ExpressionAttributeValues: { ":k": "moved" } } },
        ],
      }),
    );
    const read = await doc.send(
      new TransactGetCommand({
        TransactItems: [
          { Get: { TableName: TABLE, Key: { id: "tw", at: 1 } } },
          { Get: { TableName: TABLE, Key: { id: "feed", at: 1 }, ProjectionExpression: "kind" } },
        ],
      }),
    );
    assert.deepEqual(read.Responses.map((r) => r.Item), [{ id: "tw", at: 1, v: "a" }, { kind: "moved" }]);
  });
});
