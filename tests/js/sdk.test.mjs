// The AWS SDK for JavaScript v3's low-level client (@aws-sdk/client-dynamodb) against binderdb:
// every call goes through the SDK's own serializers and its error parser, so the assertions are
// on what an application sees (the exception class's `name`, its `message`, the fields the SDK
// deserialises onto it).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  QueryCommand,
  ResourceNotFoundException,
  ScanCommand,
  TransactGetItemsCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  paginateQuery,
  paginateScan,
} from "@aws-sdk/client-dynamodb";

import { createTable, makeClient, rejection, startServer } from "./support.mjs";

const TABLE = "sdk_orders";

let server;
let client;

before(async () => {
  server = await startServer();
  client = makeClient(server.endpoint);
  await createTable(client, {
    TableName: TABLE,
    AttributeDefinitions: [
      { AttributeName: "pk", AttributeType: "S" },
      { AttributeName: "sk", AttributeType: "N" },
    ],
    KeySchema: [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ],
  });
});

after(async () => {
  client?.destroy();
  if (server) assert.equal(await server.stop(), 0, `binderdb did not exit cleanly:\n${server.log()}`);
});

const key = (pk, sk) => ({ pk: { S: pk }, sk: { N: String(sk) } });

describe("single-item writes with ReturnValues", () => {
  test("PutItem returns ALL_OLD only when it replaced an item", async () => {
    const first = await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { ...key("rv", 1), v: { S: "one" } }, ReturnValues: "ALL_OLD" }),
    );
    assert.equal(first.Attributes, undefined);
    const second = await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { ...key("rv", 1), v: { S: "two" } }, ReturnValues: "ALL_OLD" }),
    );
    assert.deepEqual(second.Attributes, { ...key("rv", 1), v: { S: "one" } });
  });

  test("UpdateItem answers each ReturnValues mode", async () => {
    await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { ...key("rv", 2), n: { N: "10" }, tag: { S: "a" } } }),
    );
    const update = (ReturnValues, expr = "SET n = n + :one") =>
      client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: key("rv", 2),
          UpdateExpression: expr,
          ExpressionAttributeValues: { ":one": { N: "1" } },
          ReturnValues,
        }),
      );
    assert.equal((await update("NONE")).Attributes, undefined);
    assert.deepEqual((await update("UPDATED_OLD")).Attributes, { n: { N: "11" } });
    assert.deepEqual((await update("UPDATED_NEW")).Attributes, { n: { N: "13" } });
    assert.deepEqual((await update("ALL_OLD")).Attributes, { ...key("rv", 2), n: { N: "13" }, tag: { S: "a" } });
    assert.deepEqual((await update("ALL_NEW")).Attributes, { ...key("rv", 2), n: { N: "15" }, tag: { S: "a" } });
  });

  test("DeleteItem returns the deleted item with ALL_OLD, nothing for a missing one", async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key("rv", 3), v: { BOOL: true } } }));
    const gone = await client.send(new DeleteItemCommand({ TableName: TABLE, Key: key("rv", 3), ReturnValues: "ALL_OLD" }));
    assert.deepEqual(gone.Attributes, { ...key("rv", 3), v: { BOOL: true } });
    const again = await client.send(new DeleteItemCommand({ TableName: TABLE, Key: key("rv", 3), ReturnValues: "ALL_OLD" }));
    assert.equal(again.Attributes, undefined);
    const read = await client.send(new GetItemCommand({ TableName: TABLE, Key: key("rv", 3), ConsistentRead: true }));
    assert.equal(read.Item, undefined);
  });

  test("GetItem with a ProjectionExpression and placeholders", async () => {
    await client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { ...key("proj", 1), name: { S: "n" }, nested: { M: { a: { L: [{ N: "1" }, { N: "2" }] } } }, other: { S: "x" } },
      }),
    );
    const read = await client.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: key("proj", 1),
        ProjectionExpression: "#n, nested.a[1]",
        ExpressionAttributeNames: { "#n": "name" },
      }),
    );
    assert.deepEqual(read.Item, { name: { S: "n" }, nested: { M: { a: { L: [{ N: "2" }] } } } });
  });
});

describe("conditional writes", () => {
  test("ConditionalCheckFailedException carries the old item with ReturnValuesOnConditionCheckFailure", async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key("cond", 1), state: { S: "open" } } }));
    const error = await rejection(
      client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { ...key("cond", 1), state: { S: "new" } },
          ConditionExpression: "attribute_not_exists(pk)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      ),
    );
    assert.ok(error instanceof ConditionalCheckFailedException, `got ${error.name}: ${error.message}`);
    assert.equal(error.name, "ConditionalCheckFailedException");
    assert.equal(error.message, "The conditional request failed");
    assert.equal(error.$metadata.httpStatusCode, 400);
    assert.deepEqual(error.Item, { ...key("cond", 1), state: { S: "open" } });
  });

  test("without ReturnValuesOnConditionCheckFailure the exception has no item", async () => {
    const error = await rejection(
      client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: key("cond", 1),
          UpdateExpression: "SET #s = :closed",
          ConditionExpression: "#s = :expected",
          ExpressionAttributeNames: { "#s": "state" },
          ExpressionAttributeValues: { ":closed": { S: "closed" }, ":expected": { S: "pending" } },
        }),
      ),
    );
    assert.equal(error.name, "ConditionalCheckFailedException");
    assert.equal(error.Item, undefined);
  });

  test("a missing table is ResourceNotFoundException", async () => {
    const error = await rejection(client.send(new GetItemCommand({ TableName: "no_such_table", Key: key("x", 1) })));
    assert.ok(error instanceof ResourceNotFoundException, `got ${error.name}`);
    assert.equal(error.message, "Requested resource not found");
  });

  test("a bad expression is a ValidationException with DynamoDB's text", async () => {
    const error = await rejection(
      client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: key("cond", 1),
          UpdateExpression: "SET a = :missing",
        }),
      ),
    );
    assert.equal(error.name, "ValidationException");
    assert.equal(
      error.message,
      "Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :missing",
    );
  });
});

describe("reads over many items", () => {
  before(async () => {
    const writes = [];
    for (let sk = 0; sk < 45; sk++) {
      writes.push({ PutRequest: { Item: { ...key("many", sk), even: { BOOL: sk % 2 === 0 }, pad: { S: "x".repeat(100) } } } });
    }
    for (let i = 0; i < writes.length; i += 25) {
      const answer = await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: writes.slice(i, i + 25) } }));
      assert.deepEqual(answer.UnprocessedItems, {});
    }
  });

  test("paginateQuery walks every page in sort-key order", async () => {
    const seen = [];
    let pages = 0;
    for await (const page of paginateQuery(
      { client, pageSize: 10 },
      {
        TableName: TABLE,
        KeyConditionExpression: "pk = :p AND sk >= :from",
        ExpressionAttributeValues: { ":p": { S: "many" }, ":from": { N: "5" } },
      },
    )) {
      pages += 1;
      assert.ok(page.Count <= 10);
      seen.push(...page.Items.map((item) => Number(item.sk.N)));
    }
    assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => i + 5));
    // 40 items in pages of 10: four full pages, and DynamoDB cannot know the fourth was the last.
    assert.equal(pages, 5);
  });

  test("descending Query with a filter counts scanned and matched items", async () => {
    const page = await client.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "pk = :p AND sk BETWEEN :lo AND :hi",
        FilterExpression: "even = :t",
        ExpressionAttributeValues: { ":p": { S: "many" }, ":lo": { N: "10" }, ":hi": { N: "19" }, ":t": { BOOL: true } },
        ScanIndexForward: false,
      }),
    );
    assert.equal(page.ScannedCount, 10);
    assert.equal(page.Count, 5);
    assert.deepEqual(page.Items.map((item) => Number(item.sk.N)), [18, 16, 14, 12, 10]);
    assert.equal(page.LastEvaluatedKey, undefined);
  });

  test("Scan with Select COUNT returns counts and no items", async () => {
    const page = await client.send(
      new ScanCommand({
        TableName: TABLE,
        Select: "COUNT",
        FilterExpression: "pk = :p AND even = :t",
        ExpressionAttributeValues: { ":p": { S: "many" }, ":t": { BOOL: false } },
      }),
    );
    assert.equal(page.Items, undefined);
    assert.equal(page.Count, 22);
    assert.ok(page.ScannedCount >= 45);
  });

  test("paginateScan with a Limit sees every item once", async () => {
    const keys = new Set();
    for await (const page of paginateScan({ client, pageSize: 7 }, { TableName: TABLE })) {
      for (const item of page.Items) {
        const id = `${item.pk.S}/${item.sk.N}`;
        assert.ok(!keys.has(id), `${id} returned twice`);
        keys.add(id);
      }
    }
    const all = await client.send(new ScanCommand({ TableName: TABLE, Select: "COUNT" }));
    assert.equal(keys.size, all.Count);
  });
});

describe("batches", () => {
  test("BatchGetItem returns the items that exist, with a projection", async () => {
    const answer = await client.send(
      new BatchGetItemCommand({
        RequestItems: {
          [TABLE]: {
            Keys: [key("many", 1), key("many", 2), key("many", 999)],
            ProjectionExpression: "sk, #e",
            ExpressionAttributeNames: { "#e": "even" },
          },
        },
      }),
    );
    const items = answer.Responses[TABLE].sort((a, b) => Number(a.sk.N) - Number(b.sk.N));
    assert.deepEqual(items, [
      { sk: { N: "1" }, even: { BOOL: false } },
      { sk: { N: "2" }, even: { BOOL: true } },
    ]);
    assert.deepEqual(answer.UnprocessedKeys, {});
  });

  test("BatchWriteItem mixes puts and deletes", async () => {
    await client.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [TABLE]: [
            { PutRequest: { Item: { ...key("bw", 1), v: { S: "a" } } } },
            { PutRequest: { Item: { ...key("bw", 2), v: { S: "b" } } } },
            { DeleteRequest: { Key: key("many", 0) } },
          ],
        },
      }),
    );
    const query = await client.send(
      new QueryCommand({ TableName: TABLE, KeyConditionExpression: "pk = :p", ExpressionAttributeValues: { ":p": { S: "bw" } } }),
    );
    assert.deepEqual(query.Items.map((item) => item.v.S), ["a", "b"]);
    const deleted = await client.send(new GetItemCommand({ TableName: TABLE, Key: key("many", 0) }));
    assert.equal(deleted.Item, undefined);
  });

  test("BatchWriteItem with two writes to one key is a ValidationException", async () => {
    const error = await rejection(
      client.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [TABLE]: [{ PutRequest: { Item: key("dup", 1) } }, { DeleteRequest: { Key: key("dup", 1) } }],
          },
        }),
      ),
    );
    assert.equal(error.name, "ValidationException");
    assert.equal(error.message, "Provided list of item keys contains duplicates");
  });
});

describe("transactions", () => {
  test("a failing condition cancels the whole TransactWriteItems, reasons in action order", async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key("tx", 1), stock: { N: "1" } } }));
    const error = await rejection(
      client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: TABLE, Item: { ...key("tx", 2), v: { S: "new" } } } },
            {
              Update: {
                TableName: TABLE,
                Key: key("tx", 1),
                UpdateExpression: "SET stock = stock - :n",
                ConditionExpression: "stock >= :n",
                ExpressionAttributeValues: { ":n": { N: "2" } },
                ReturnValuesOnConditionCheckFailure: "ALL_OLD",
              },
            },
          ],
        }),
      ),
    );
    assert.ok(error instanceof TransactionCanceledException, `got ${error.name}: ${error.message}`);
    assert.equal(error.name, "TransactionCanceledException");
    assert.equal(
      error.message,
      "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]",
    );
    assert.equal(error.CancellationReasons.length, 2);
    assert.equal(error.CancellationReasons[0].Code, "None");
    assert.equal(error.CancellationReasons[1].Code, "ConditionalCheckFailed");
    assert.equal(error.CancellationReasons[1].Message, "The conditional request failed");
    assert.deepEqual(error.CancellationReasons[1].Item, { ...key("tx", 1), stock: { N: "1" } });
    const untouched = await client.send(new GetItemCommand({ TableName: TABLE, Key: key("tx", 2), ConsistentRead: true }));
    assert.equal(untouched.Item, undefined);
  });

  test("a successful TransactWriteItems is visible to TransactGetItems", async () => {
    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: TABLE, Item: { ...key("tx", 3), v: { S: "three" } }, ConditionExpression: "attribute_not_exists(pk)" } },
          { ConditionCheck: { TableName: TABLE, Key: key("tx", 1), ConditionExpression: "stock = :one", ExpressionAttributeValues: { ":one": { N: "1" } } } },
          { Delete: { TableName: TABLE, Key: key("rv", 1) } },
        ],
        ClientRequestToken: "sdk-token-1",
      }),
    );
    const read = await client.send(
      new TransactGetItemsCommand({
        TransactItems: [
          { Get: { TableName: TABLE, Key: key("tx", 3) } },
          { Get: { TableName: TABLE, Key: key("rv", 1) } },
        ],
      }),
    );
    assert.deepEqual(read.Responses[0].Item, { ...key("tx", 3), v: { S: "three" } });
    assert.deepEqual(read.Responses[1], {});
  });

  test("DescribeTable reports the key schema the SDK parses", async () => {
    const table = (await client.send(new DescribeTableCommand({ TableName: TABLE }))).Table;
    assert.equal(table.TableStatus, "ACTIVE");
    assert.deepEqual(table.KeySchema, [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
    assert.ok(table.CreationDateTime instanceof Date);
  });
});

describe("configuration", () => {
  test("AWS_ENDPOINT_URL alone points an unconfigured client at binderdb", async () => {
    // This file runs in its own process: the environment is this test's to change.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: server.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
    const plain = new DynamoDBClient({});
    try {
      const tables = await plain.send(new ListTablesCommand({}));
      assert.deepEqual(tables.TableNames, [TABLE]);
    } finally {
      plain.destroy();
    }
  });
});
