// dynamodb-toolbox v2 against binderdb: a Table with a sparse GSI and a multi-attribute GSI
// (two partition-key and two sort-key attributes, DynamoDB's newer key schema), an Entity with
// a computed primary key, and the library's own commands: PutItem with conditions, GetItem,
// UpdateItem with $add / $append / $remove, DeleteItem, Query with filters and ranges, Scan,
// BatchWrite / BatchGet through its execute helpers and transactions, with its own readers of
// ConditionalCheckFailedException and TransactionCanceledException.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { Table } from "dynamodb-toolbox/table";
import { Entity } from "dynamodb-toolbox/entity";
import { item } from "dynamodb-toolbox/schema/item";
import { string } from "dynamodb-toolbox/schema/string";
import { number } from "dynamodb-toolbox/schema/number";
import { set } from "dynamodb-toolbox/schema/set";
import { list } from "dynamodb-toolbox/schema/list";
import { map } from "dynamodb-toolbox/schema/map";
import { PutItemCommand } from "dynamodb-toolbox/entity/actions/put";
import { GetItemCommand } from "dynamodb-toolbox/entity/actions/get";
import { DeleteItemCommand } from "dynamodb-toolbox/entity/actions/delete";
import {
  $add,
  $append,
  $delete,
  $get,
  $prepend,
  $remove,
  $set,
  $subtract,
  UpdateItemCommand,
  isConditionCheckFailed,
} from "dynamodb-toolbox/entity/actions/update";
import { QueryCommand } from "dynamodb-toolbox/table/actions/query";
import { ScanCommand } from "dynamodb-toolbox/table/actions/scan";
import { DeletePartitionCommand } from "dynamodb-toolbox/table/actions/deletePartition";
import { BatchWriteCommand, execute as executeBatchWrite } from "dynamodb-toolbox/table/actions/batchWrite";
import { BatchGetCommand, execute as executeBatchGet } from "dynamodb-toolbox/table/actions/batchGet";
import { BatchPutRequest } from "dynamodb-toolbox/entity/actions/batchPut";
import { BatchDeleteRequest } from "dynamodb-toolbox/entity/actions/batchDelete";
import { BatchGetRequest } from "dynamodb-toolbox/entity/actions/batchGet";
import { execute as executeTransactWrite, isTransactionCancelled } from "dynamodb-toolbox/entity/actions/transactWrite";
import { PutTransaction } from "dynamodb-toolbox/entity/actions/transactPut";
import { UpdateTransaction } from "dynamodb-toolbox/entity/actions/transactUpdate";
import { ConditionCheck } from "dynamodb-toolbox/entity/actions/transactCheck";
import { execute as executeTransactGet, GetTransaction } from "dynamodb-toolbox/entity/actions/transactGet";

import { createTable, makeClient, makeDocumentClient, rejection, startServer } from "./support.mjs";

const TABLE = "toolbox_store";

let server;
let client;
let StoreTable;
let Product;

before(async () => {
  server = await startServer();
  client = makeClient(server.endpoint);
  await createTable(client, {
    TableName: TABLE,
    AttributeDefinitions: [
      { AttributeName: "PK", AttributeType: "S" },
      { AttributeName: "SK", AttributeType: "S" },
      { AttributeName: "category", AttributeType: "S" },
      { AttributeName: "price", AttributeType: "N" },
      { AttributeName: "brand", AttributeType: "S" },
      { AttributeName: "color", AttributeType: "S" },
      { AttributeName: "size", AttributeType: "N" },
    ],
    KeySchema: [
      { AttributeName: "PK", KeyType: "HASH" },
      { AttributeName: "SK", KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: "byCategory",
        KeySchema: [
          { AttributeName: "category", KeyType: "HASH" },
          { AttributeName: "price", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
      {
        // A multi-attribute key: (brand, color) partitions, (price, size) sorts.
        IndexName: "byBrandColor",
        KeySchema: [
          { AttributeName: "brand", KeyType: "HASH" },
          { AttributeName: "color", KeyType: "HASH" },
          { AttributeName: "price", KeyType: "RANGE" },
          { AttributeName: "size", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
    ],
  });

  StoreTable = new Table({
    name: TABLE,
    partitionKey: { name: "PK", type: "string" },
    sortKey: { name: "SK", type: "string" },
    indexes: {
      byCategory: {
        type: "global",
        partitionKey: { name: "category", type: "string" },
        sortKey: { name: "price", type: "number" },
      },
      byBrandColor: {
        type: "global",
        partitionKeys: [
          { name: "brand", type: "string" },
          { name: "color", type: "string" },
        ],
        sortKeys: [
          { name: "price", type: "number" },
          { name: "size", type: "number" },
        ],
      },
    },
    documentClient: makeDocumentClient(client),
  });

  Product = new Entity({
    name: "Product",
    table: StoreTable,
    schema: item({
      productId: string().key(),
      // Optional: a product without a category is not in the (sparse) byCategory index.
      category: string().optional(),
      brand: string().optional(),
      color: string().optional(),
      size: number().optional(),
      price: number(),
      stock: number().default(0),
      tags: set(string()).optional(),
      history: list(string()).optional(),
      dimensions: map({ width: number(), height: number() }).optional(),
      note: string().optional(),
    }),
    computeKey: ({ productId }) => ({ PK: `PRODUCT#${productId}`, SK: "DETAILS" }),
  });
});

after(async () => {
  client?.destroy();
  if (server) assert.equal(await server.stop(), 0, `binderdb did not exit cleanly:\n${server.log()}`);
});

const put = (fields, options) => {
  const command = Product.build(PutItemCommand).item(fields);
  return (options ? command.options(options) : command).send();
};
const get = async (productId) => (await Product.build(GetItemCommand).key({ productId }).options({ consistent: true }).send()).Item;

describe("single items", () => {
  test("PutItem with a condition: created once, refused the second time", async () => {
    await put({ productId: "p1", category: "lamps", price: 30, tags: new Set(["new"]), note: "bright" }, { condition: { attr: "productId", exists: false } });
    const error = await rejection(
      put({ productId: "p1", category: "lamps", price: 1 }, { condition: { attr: "productId", exists: false }, returnValuesOnConditionFalse: "ALL_OLD" }),
    );
    assert.ok(isConditionCheckFailed(error, Product), `got ${error.name}: ${error.message}`);
    assert.equal(error.message, "The conditional request failed");
    // The library formats the returned old item through the entity's schema.
    assert.equal(error.FormattedItem.productId, "p1");
    assert.equal(error.FormattedItem.price, 30);
  });

  test("GetItem formats the stored item through the schema", async () => {
    const product = await get("p1");
    assert.equal(product.productId, "p1");
    assert.equal(product.category, "lamps");
    assert.equal(product.price, 30);
    assert.equal(product.stock, 0);
    assert.deepEqual(product.tags, new Set(["new"]));
    assert.equal(product.entity, undefined);
    assert.equal(await get("absent"), undefined);
  });

  test("UpdateItem with $add, $subtract, $append and $remove", async () => {
    const { Attributes } = await Product.build(UpdateItemCommand)
      .item({
        productId: "p1",
        stock: $add(10),
        price: $subtract($get("price"), 5),
        tags: $add(new Set(["sale"])),
        history: $append(["restocked"]),
        // A plain object would be a deep update (SET dimensions.width = ...), which DynamoDB
        // refuses on a missing map; $set writes the whole map.
        dimensions: $set({ width: 20, height: 45 }),
        note: $remove(),
      })
      .options({ returnValues: "ALL_NEW", condition: { attr: "price", gte: 25 } })
      .send();
    assert.equal(Attributes.stock, 10);
    assert.equal(Attributes.price, 25);
    assert.deepEqual(Attributes.tags, new Set(["new", "sale"]));
    assert.deepEqual(Attributes.history, ["restocked"]);
    assert.deepEqual(Attributes.dimensions, { width: 20, height: 45 });
    assert.equal(Attributes.note, undefined);

    const again = await Product.build(UpdateItemCommand)
      .item({ productId: "p1", history: $append(["sold"]), stock: $add(-1) })
      .options({ returnValues: "UPDATED_OLD" })
      .send();
    assert.deepEqual(again.Attributes.history, ["restocked"]);
    assert.equal(again.Attributes.stock, 10);
    assert.deepEqual((await get("p1")).history, ["restocked", "sold"]);
  });

  test("list elements by index, $prepend and $delete from a set", async () => {
    const { Attributes } = await Product.build(UpdateItemCommand)
      .item({ productId: "p1", history: { 0: "RESTOCKED" }, tags: $delete(new Set(["new"])) })
      .options({ returnValues: "UPDATED_NEW" })
      .send();
    assert.deepEqual(Attributes.history, ["RESTOCKED"]);
    assert.deepEqual(Attributes.tags, new Set(["sale"]));
    await Product.build(UpdateItemCommand).item({ productId: "p1", history: $prepend(["created"]) }).send();
    await Product.build(UpdateItemCommand).item({ productId: "p1", history: { 2: $remove() } }).send();
    const { Item } = await Product.build(GetItemCommand).key({ productId: "p1" }).options({ attributes: ["history", "tags"], consistent: true }).send();
    assert.deepEqual(Item, { history: ["created", "RESTOCKED"], tags: new Set(["sale"]) });
  });

  test("a failed update condition is ConditionalCheckFailedException and changes nothing", async () => {
    const error = await rejection(
      Product.build(UpdateItemCommand)
        .item({ productId: "p1", price: 1 })
        .options({ condition: { or: [{ attr: "stock", lt: 0 }, { attr: "category", eq: "chairs" }] } })
        .send(),
    );
    assert.ok(isConditionCheckFailed(error), `got ${error.name}`);
    assert.equal((await get("p1")).price, 25);
  });

  test("DeleteItem returns the old item", async () => {
    await put({ productId: "gone", price: 1 });
    const { Attributes } = await Product.build(DeleteItemCommand).key({ productId: "gone" }).options({ returnValues: "ALL_OLD" }).send();
    assert.equal(Attributes.productId, "gone");
    assert.equal(await get("gone"), undefined);
  });
});

describe("queries and scans", () => {
  before(async () => {
    const requests = [];
    for (let n = 0; n < 20; n++) {
      requests.push(
        Product.build(BatchPutRequest).item({
          productId: `q${n}`,
          // Every fifth product has no category: the byCategory index leaves it out.
          ...(n % 5 === 4 ? {} : { category: n % 2 ? "desks" : "chairs" }),
          brand: n % 3 ? "acme" : "globex",
          color: n % 4 ? "black" : "white",
          size: n % 7,
          price: 100 + n,
          stock: n,
        }),
      );
    }
    const answer = await executeBatchWrite({ maxAttempts: 3 }, StoreTable.build(BatchWriteCommand).requests(...requests));
    assert.deepEqual(answer.UnprocessedItems, {});
  });

  test("Query on the sparse GSI with a range and a filter", async () => {
    const { Items, Count, ScannedCount } = await StoreTable.build(QueryCommand)
      .entities(Product)
      .query({ index: "byCategory", partition: "desks", range: { between: [105, 115] } })
      .options({ filters: { Product: { attr: "stock", gt: 8 } } })
      .send();
    // Odd n in 105..115 with no category for n%5==4: 105, 107, (109 gone), 111, 113, 115 -> stock > 8.
    assert.deepEqual(Items.map((p) => p.productId), ["q11", "q13", "q15"]);
    assert.equal(Count, 3);
    assert.equal(ScannedCount, 5);
  });

  test("Query in reverse order with a limit and maxPages walks pages", async () => {
    const { Items } = await StoreTable.build(QueryCommand)
      .entities(Product)
      .query({ index: "byCategory", partition: "chairs" })
      .options({ reverse: true, limit: 3, maxPages: Infinity })
      .send();
    assert.deepEqual(
      Items.map((p) => p.price),
      [118, 116, 112, 110, 108, 106, 102, 100],
    );
  });

  test("Query on the multi-attribute GSI: two partition values, an equality and a range on the sort keys", async () => {
    const { Items } = await StoreTable.build(QueryCommand)
      .entities(Product)
      .query({ index: "byBrandColor", partition: ["acme", "black"], range: [{ gte: 110 }] })
      .send();
    const expected = [];
    for (let n = 10; n < 20; n++) if (n % 3 && n % 4) expected.push(`q${n}`);
    assert.deepEqual(Items.map((p) => p.productId), expected);

    const { Items: exact } = await StoreTable.build(QueryCommand)
      .entities(Product)
      .query({ index: "byBrandColor", partition: ["acme", "black"], range: [113, { lte: 6 }] })
      .send();
    assert.deepEqual(exact.map((p) => p.productId), ["q13"]);
  });

  test("Scan with an entity filter and Select COUNT", async () => {
    const { Items } = await StoreTable.build(ScanCommand)
      .entities(Product)
      .options({ filters: { Product: { attr: "brand", eq: "globex" } }, maxPages: Infinity })
      .send();
    assert.deepEqual(Items.map((p) => p.productId).sort(), ["q0", "q12", "q15", "q18", "q3", "q6", "q9"]);
    const { Count, Items: none } = await StoreTable.build(ScanCommand).options({ select: "COUNT", maxPages: Infinity }).send();
    // The library always answers a list; DynamoDB sent none to fill it.
    assert.deepEqual(none, []);
    assert.equal(Count, 21);
  });

  test("a segmented Scan covers the table once; Query with select COUNT", async () => {
    const ids = [];
    for (let segment = 0; segment < 3; segment++) {
      const { Items } = await StoreTable.build(ScanCommand)
        .entities(Product)
        .options({ segment, totalSegments: 3, maxPages: Infinity })
        .send();
      ids.push(...Items.map((p) => p.productId));
    }
    assert.equal(ids.length, new Set(ids).size);
    assert.equal(ids.length, 21);
    const { Count } = await StoreTable.build(QueryCommand)
      .query({ index: "byCategory", partition: "chairs", range: { lt: 110 } })
      .options({ select: "COUNT" })
      .send();
    // Even n below 10, q4 left out (no category): 100, 102, 106, 108.
    assert.equal(Count, 4);
  });

  test("BatchGet and BatchWrite deletes", async () => {
    await executeBatchWrite(StoreTable.build(BatchWriteCommand).requests(Product.build(BatchDeleteRequest).key({ productId: "q19" })));
    const { Responses } = await executeBatchGet(
      StoreTable.build(BatchGetCommand).requests(
        Product.build(BatchGetRequest).key({ productId: "q1" }),
        Product.build(BatchGetRequest).key({ productId: "q19" }),
        Product.build(BatchGetRequest).key({ productId: "q2" }),
      ),
    );
    // One list per table command, in request order, undefined where nothing was found.
    assert.deepEqual(Responses[0].map((p) => p?.productId), ["q1", undefined, "q2"]);
  });
});

describe("partition deletes", () => {
  test("DeletePartitionCommand queries a partition and batch-deletes what it finds", async () => {
    const requests = Array.from({ length: 30 }, (_, n) => Product.build(BatchPutRequest).item({ productId: `dp${n}`, category: "doomed", price: n }));
    await executeBatchWrite({ maxAttempts: 3 }, StoreTable.build(BatchWriteCommand).requests(...requests.slice(0, 25)));
    await executeBatchWrite({ maxAttempts: 3 }, StoreTable.build(BatchWriteCommand).requests(...requests.slice(25)));
    await StoreTable.build(DeletePartitionCommand)
      .entities(Product)
      .query({ index: "byCategory", partition: "doomed", range: { gte: 10 } })
      .send();
    const { Items } = await StoreTable.build(QueryCommand).entities(Product).query({ index: "byCategory", partition: "doomed" }).send();
    assert.deepEqual(Items.map((p) => p.price), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe("transactions", () => {
  test("put, update and condition check commit together", async () => {
    await executeTransactWrite(
      Product.build(PutTransaction).item({ productId: "t1", price: 9, category: "lamps" }),
      Product.build(UpdateTransaction).item({ productId: "p1", stock: $add(-2) }),
      Product.build(ConditionCheck).key({ productId: "q0" }).condition({ attr: "brand", eq: "globex" }),
    );
    assert.equal((await get("t1")).price, 9);
    assert.equal((await get("p1")).stock, 7);
  });

  test("a failing ConditionCheck cancels, and the library formats the reasons", async () => {
    const put = Product.build(PutTransaction).item({ productId: "t2", price: 9 });
    const check = Product.build(ConditionCheck)
      .key({ productId: "q0" })
      .condition({ attr: "brand", eq: "acme" })
      .options({ returnValuesOnConditionFalse: "ALL_OLD" });
    const error = await rejection(executeTransactWrite(put, check));
    assert.ok(isTransactionCancelled(error, put, check), `got ${error.name}: ${error.message}`);
    assert.deepEqual(error.CancellationReasons.map((reason) => reason.Code), ["None", "ConditionalCheckFailed"]);
    assert.equal(error.CancellationReasons[1].FormattedItem.productId, "q0");
    assert.equal(await get("t2"), undefined);
  });

  test("TransactGet returns formatted items in order", async () => {
    const { Responses } = await executeTransactGet(
      Product.build(GetTransaction).key({ productId: "t1" }),
      Product.build(GetTransaction).key({ productId: "missing" }),
      Product.build(GetTransaction).key({ productId: "q3" }),
    );
    assert.deepEqual(Responses.map((r) => r.Item?.productId), ["t1", undefined, "q3"]);
  });
});
