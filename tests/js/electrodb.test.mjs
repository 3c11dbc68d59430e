// ElectroDB (single-table design over lib-dynamodb's DocumentClient) against binderdb: two
// entities in one service over one table with two GSIs, one of them a collection shared by
// both entities. ElectroDB builds its own expressions (many #placeholders, begins_with and
// BETWEEN on composite sort keys, attribute_not_exists guards on create, attribute_exists on
// patch), pages with its own cursors, batches with its own retry of UnprocessedItems and reads
// TransactionCanceledException's CancellationReasons itself.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { Entity, Service } from "electrodb";

import { createTable, makeClient, makeDocumentClient, rejection, startServer } from "./support.mjs";

const TABLE = "electro_app";

let server;
let client;
let Task;
let Employee;
let app;

before(async () => {
  server = await startServer();
  client = makeClient(server.endpoint);
  const doc = makeDocumentClient(client);
  await createTable(client, {
    TableName: TABLE,
    AttributeDefinitions: ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk"].map((AttributeName) => ({
      AttributeName,
      AttributeType: "S",
    })),
    KeySchema: [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: "gsi1",
        KeySchema: [
          { AttributeName: "gsi1pk", KeyType: "HASH" },
          { AttributeName: "gsi1sk", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
      {
        IndexName: "gsi2",
        KeySchema: [
          { AttributeName: "gsi2pk", KeyType: "HASH" },
          { AttributeName: "gsi2sk", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
      {
        // Keys only: ElectroDB's `hydrate` reads the items themselves with BatchGetItem.
        IndexName: "gsi3",
        KeySchema: [
          { AttributeName: "gsi3pk", KeyType: "HASH" },
          { AttributeName: "gsi3sk", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "KEYS_ONLY" },
      },
    ],
  });

  Task = new Entity(
    {
      model: { entity: "task", version: "1", service: "tracker" },
      attributes: {
        taskId: { type: "string", required: true },
        project: { type: "string", required: true },
        employee: { type: "string", required: true },
        status: { type: ["open", "in_progress", "closed"], required: true, default: "open" },
        due: { type: "string", required: true },
        points: { type: "number", default: 0 },
        tags: { type: "set", items: "string" },
        comments: { type: "list", items: { type: "map", properties: { by: { type: "string" }, text: { type: "string" } } } },
        description: { type: "string" },
      },
      indexes: {
        byId: { pk: { field: "pk", composite: ["taskId"] }, sk: { field: "sk", composite: [] } },
        byProject: {
          index: "gsi1",
          pk: { field: "gsi1pk", composite: ["project"] },
          sk: { field: "gsi1sk", composite: ["status", "due", "taskId"] },
        },
        assigned: {
          collection: "workload",
          index: "gsi2",
          pk: { field: "gsi2pk", composite: ["employee"] },
          sk: { field: "gsi2sk", composite: ["project", "taskId"] },
        },
        byPoints: {
          index: "gsi3",
          pk: { field: "gsi3pk", composite: ["project"] },
          sk: { field: "gsi3sk", composite: ["points", "taskId"] },
        },
      },
    },
    { table: TABLE, client: doc },
  );

  Employee = new Entity(
    {
      model: { entity: "employee", version: "1", service: "tracker" },
      attributes: {
        employee: { type: "string", required: true },
        name: { type: "string", required: true },
        office: { type: "string" },
        capacity: { type: "number", default: 10 },
      },
      indexes: {
        byId: { pk: { field: "pk", composite: ["employee"] }, sk: { field: "sk", composite: [] } },
        // Sparse: remote employees are written without its keys, so the GSI leaves them out.
        byOffice: {
          index: "gsi1",
          condition: (attributes) => attributes.office !== "remote",
          pk: { field: "gsi1pk", composite: ["office"] },
          sk: { field: "gsi1sk", composite: ["employee"] },
        },
        profile: {
          collection: "workload",
          index: "gsi2",
          pk: { field: "gsi2pk", composite: ["employee"] },
          sk: { field: "gsi2sk", composite: [] },
        },
      },
    },
    { table: TABLE, client: doc },
  );

  app = new Service({ task: Task, employee: Employee });
});

after(async () => {
  client?.destroy();
  if (server) assert.equal(await server.stop(), 0, `binderdb did not exit cleanly:\n${server.log()}`);
});

const task = (n, fields = {}) => ({
  taskId: `t${String(n).padStart(3, "0")}`,
  project: "apollo",
  employee: "ada",
  due: `2025-0${1 + (n % 9)}-15`,
  ...fields,
});

describe("entity writes", () => {
  test("create, then create again is refused by its attribute_not_exists guard", async () => {
    const created = await Task.create(task(1, { tags: ["red"], description: "first" })).go();
    assert.equal(created.data.taskId, "t001");
    assert.equal(created.data.status, "open");
    assert.equal(created.data.points, 0);

    const error = await rejection(Task.create(task(1)).go());
    assert.match(error.message, /^Error thrown by DynamoDB client: "The conditional request failed"/);
    assert.equal(error.cause.name, "ConditionalCheckFailedException");
  });

  test("get returns the stored item, null for a missing one", async () => {
    const found = await Task.get({ taskId: "t001" }).go();
    assert.deepEqual(found.data, {
      taskId: "t001",
      project: "apollo",
      employee: "ada",
      status: "open",
      due: "2025-02-15",
      points: 0,
      tags: ["red"],
      description: "first",
    });
    const missing = await Task.get({ taskId: "nope" }).go();
    assert.equal(missing.data, null);
  });

  test("patch sets, adds, appends and removes in one UpdateItem", async () => {
    const patched = await Task.patch({ taskId: "t001" })
      // gsi1's sort key is status#due#taskId: ElectroDB needs every part to rewrite it.
      .set({ status: "in_progress", due: "2025-02-15" })
      .add({ points: 5, tags: ["blue"] })
      .append({ comments: [{ by: "ada", text: "started" }] })
      .remove(["description"])
      .go({ response: "all_new" });
    assert.equal(patched.data.status, "in_progress");
    assert.equal(patched.data.points, 5);
    assert.deepEqual(patched.data.tags.sort(), ["blue", "red"]);
    assert.deepEqual(patched.data.comments, [{ by: "ada", text: "started" }]);
    assert.equal(patched.data.description, undefined);

    // ElectroDB rewrote the index key in the same UpdateItem: the GSI follows.
    const byProject = await Task.query.byProject({ project: "apollo", status: "in_progress" }).go();
    assert.deepEqual(byProject.data.map((t) => t.taskId), ["t001"]);
  });

  test("patch of a missing item fails its attribute_exists guard", async () => {
    const error = await rejection(Task.patch({ taskId: "ghost" }).set({ points: 1 }).go());
    assert.equal(error.cause.name, "ConditionalCheckFailedException");
  });

  test("upsert creates, then merges into, the item", async () => {
    await Task.upsert(task(2, { points: 3 })).go();
    await Task.upsert(task(2, { status: "closed", points: 8 })).go();
    const read = await Task.get({ taskId: "t002" }).go();
    assert.equal(read.data.status, "closed");
    assert.equal(read.data.points, 8);
  });

  test("a conditional update with where() is refused when the condition is false", async () => {
    const error = await rejection(
      Task.update({ taskId: "t002" })
        .set({ points: 100 })
        .where(({ status }, { eq }) => eq(status, "open"))
        .go(),
    );
    assert.equal(error.cause.name, "ConditionalCheckFailedException");
    assert.equal((await Task.get({ taskId: "t002" }).go()).data.points, 8);
  });

  test("remove deletes the item and its index entries", async () => {
    await Task.create(task(3)).go();
    const removed = await Task.remove({ taskId: "t003" }).go({ response: "all_old" });
    assert.equal(removed.data.taskId, "t003");
    assert.equal((await Task.get({ taskId: "t003" }).go()).data, null);
    const assigned = await Task.query.assigned({ employee: "ada", project: "apollo", taskId: "t003" }).go();
    assert.deepEqual(assigned.data, []);
  });
});

describe("access patterns", () => {
  before(async () => {
    const tasks = [];
    for (let n = 10; n < 40; n++) {
      tasks.push(task(n, { project: "gemini", employee: n % 2 ? "ada" : "grace", status: n % 3 ? "open" : "closed", points: n }));
    }
    const { unprocessed } = await Task.put(tasks).go();
    assert.deepEqual(unprocessed, []);
    await Employee.put([
      { employee: "ada", name: "Ada", office: "london" },
      { employee: "grace", name: "Grace", office: "arlington" },
      { employee: "remote", name: "Remote", office: "remote" },
    ]).go();
  });

  test("begins_with on a partial composite sort key", async () => {
    const open = await Task.query.byProject({ project: "gemini", status: "open" }).go({ pages: "all" });
    assert.equal(open.data.length, 20);
    assert.ok(open.data.every((t) => t.status === "open"));
    // gsi1sk is status#due#taskId: items come back in due-date order.
    const dues = open.data.map((t) => t.due);
    assert.deepEqual(dues, [...dues].sort());
    const prefixed = await Task.query.byProject({ project: "gemini" }).begins({ status: "clo" }).go({ pages: "all" });
    assert.equal(prefixed.data.length, 10);
  });

  test("between two composite sort keys", async () => {
    const spring = await Task.query
      .byProject({ project: "gemini", status: "open" })
      .between({ due: "2025-03-01" }, { due: "2025-05-31" })
      .go({ pages: "all" });
    const expected = [];
    for (let n = 10; n < 40; n++) {
      const month = 1 + (n % 9);
      if (n % 3 && month >= 3 && month <= 5) expected.push(`t0${n}`);
    }
    assert.deepEqual(spring.data.map((t) => t.taskId).sort(), expected.sort());
    assert.ok(expected.length > 0);
  });

  test("gt / lte range conditions and where() filters", async () => {
    const late = await Task.query.byProject({ project: "gemini", status: "open" }).gt({ due: "2025-08" }).go({ pages: "all" });
    assert.ok(late.data.length > 0);
    assert.ok(late.data.every((t) => t.due > "2025-08"));
    const heavy = await Task.query
      .assigned({ employee: "ada", project: "gemini" })
      .where(({ points, status }, { gte, eq }) => `${gte(points, 30)} AND ${eq(status, "open")}`)
      .go({ pages: "all" });
    const expected = [];
    for (let n = 31; n < 40; n += 2) if (n % 3) expected.push(`t0${n}`);
    assert.deepEqual(heavy.data.map((t) => t.taskId), expected);
  });

  test("pagination with cursors visits every item once, in order", async () => {
    const seen = [];
    let cursor = null;
    let pages = 0;
    do {
      const page = await Task.query.assigned({ employee: "grace" }).go({ limit: 4, cursor });
      seen.push(...page.data.map((t) => t.taskId));
      cursor = page.cursor;
      pages += 1;
      assert.ok(pages < 20, "cursor never ran out");
    } while (cursor);
    const expected = [];
    for (let n = 10; n < 40; n += 2) expected.push(`t0${n}`);
    assert.deepEqual(seen, expected);
    assert.ok(pages >= 4);
  });

  test("hydrate: a KEYS_ONLY index query, then the items by BatchGetItem", async () => {
    const keysOnly = await Task.query.byPoints({ project: "gemini" }).go({ pages: "all" });
    // Without hydrate ElectroDB drops index entries that lack its entity identifiers.
    assert.deepEqual(keysOnly.data, []);
    const hydrated = await Task.query.byPoints({ project: "gemini" }).gte({ points: 35 }).go({ hydrate: true, pages: "all" });
    // ElectroDB writes numbers into keys unpadded; gemini's points are all two digits.
    assert.deepEqual(hydrated.data.map((t) => t.points), [35, 36, 37, 38, 39]);
    assert.ok(hydrated.data.every((t) => t.due && t.employee));
  });

  test("a sparse index holds only the items with its key attributes", async () => {
    const london = await Employee.query.byOffice({ office: "london" }).go();
    assert.deepEqual(london.data.map((e) => e.name), ["Ada"]);
    assert.deepEqual((await Employee.query.byOffice({ office: "remote" }).go()).data, []);
    const raw = await Employee.get({ employee: "remote" }).go({ data: "raw" });
    assert.equal(raw.data.Item.gsi1pk, undefined);
  });

  test("a collection query returns both entities of the partition", async () => {
    const workload = await app.collections.workload({ employee: "grace" }).go({ pages: "all" });
    assert.deepEqual(workload.data.employee.map((e) => e.name), ["Grace"]);
    assert.equal(workload.data.task.length, 15);
    assert.ok(workload.data.task.every((t) => t.employee === "grace"));
  });

  test("scan with a filter", async () => {
    const closed = await Task.scan.where(({ status, project }, { eq }) => `${eq(status, "closed")} AND ${eq(project, "gemini")}`).go({ pages: "all" });
    assert.equal(closed.data.length, 10);
  });

  test("batch get returns found items and leaves out missing ones", async () => {
    const { data, unprocessed } = await Task.get([{ taskId: "t010" }, { taskId: "t011" }, { taskId: "t999" }]).go();
    assert.deepEqual(unprocessed, []);
    assert.deepEqual(data.map((t) => t.taskId).sort(), ["t010", "t011"]);
  });
});

describe("transactions", () => {
  test("a write transaction across both entities commits together", async () => {
    const result = await app.transaction
      .write(({ task: t, employee }) => [
        t.create(task(50, { employee: "ada", project: "mercury" })).commit(),
        employee.patch({ employee: "ada" }).add({ capacity: -1 }).commit(),
      ])
      .go();
    assert.equal(result.canceled, false, JSON.stringify(result));
    assert.equal((await Employee.get({ employee: "ada" }).go()).data.capacity, 9);
    assert.equal((await Task.get({ taskId: "t050" }).go()).data.project, "mercury");
  });

  test("a failing condition cancels it, with ElectroDB's per-item reasons", async () => {
    const result = await app.transaction
      .write(({ task: t, employee }) => [
        t.create(task(51)).commit(),
        employee
          .patch({ employee: "grace" })
          .set({ capacity: 0 })
          .where(({ capacity }, { lt }) => lt(capacity, 5))
          .commit({ response: "all_old" }),
      ])
      .go();
    assert.equal(result.canceled, true);
    assert.deepEqual(result.data.map((r) => [r.rejected, r.code]), [
      [false, "None"],
      [true, "ConditionalCheckFailed"],
    ]);
    assert.equal(result.data[1].item.name, "Grace");
    assert.equal((await Task.get({ taskId: "t051" }).go()).data, null);
  });

  test("a get transaction reads both entities", async () => {
    const result = await app.transaction
      .get(({ task: t, employee }) => [t.get({ taskId: "t050" }).commit(), employee.get({ employee: "nobody" }).commit()])
      .go();
    assert.equal(result.canceled, false);
    assert.equal(result.data[0].item.taskId, "t050");
    assert.equal(result.data[1].item, null);
  });
});
