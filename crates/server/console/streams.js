// A table's streams (the Streams API, as any consumer reads it): the streams of the table, the
// shards of one with their lineage (ParentShardId), and the latest records of a shard.

import { call, callAll } from "./api.js";
import { itemToPlain, stringifyExact } from "./ddbjson.js";
import { badge, busy, clear, facts, grid, h } from "./ui.js";

const STREAMS = { streams: true };
const KEEP_RECORDS = 50;
const MAX_READS = 20;

async function describeStream(arn) {
  let desc = null;
  let start;
  for (let i = 0; i < 100; i++) {
    const d = (await call("DescribeStream", { StreamArn: arn, ...(start ? { ExclusiveStartShardId: start } : {}) }, STREAMS)).StreamDescription;
    if (desc) desc.Shards.push(...(d.Shards || []));
    else desc = { ...d, Shards: [...(d.Shards || [])] };
    start = d.LastEvaluatedShardId;
    if (!start) break;
  }
  return desc;
}

// The latest records of a shard: reads from its oldest record on, keeping the last ones, until
// the shard is caught up (an empty page) or closed, or MAX_READS pages were read.
async function latestRecords(arn, shardId) {
  let it = (await call("GetShardIterator", { StreamArn: arn, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }, STREAMS)).ShardIterator;
  let records = [];
  let reads = 0;
  while (it && reads < MAX_READS) {
    const resp = await call("GetRecords", { ShardIterator: it, Limit: 1000 }, STREAMS);
    reads++;
    records = [...records, ...(resp.Records || [])].slice(-KEEP_RECORDS);
    if (!resp.Records?.length) break;
    it = resp.NextShardIterator;
  }
  return { records, reads, complete: !it || reads < MAX_READS };
}

function lineage(shards, onPick) {
  const ids = new Set(shards.map((s) => s.ShardId));
  const children = new Map();
  for (const s of shards) {
    const parent = s.ParentShardId && ids.has(s.ParentShardId) ? s.ParentShardId : "";
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(s);
  }
  const tree = (parent, root) => h(`ul.tree${root ? ".root" : ""}`, (children.get(parent) || []).map((s) => h("li",
    h("button.link", { type: "button", "data-shard": s.ShardId, onclick: () => onPick(s.ShardId) }, s.ShardId),
    " ", s.SequenceNumberRange?.EndingSequenceNumber ? h("span.muted", "closed") : badge("OPEN"),
    s.ParentShardId && !ids.has(s.ParentShardId) ? h("span.muted", ` (parent ${s.ParentShardId}, trimmed)`) : null,
    children.has(s.ShardId) ? tree(s.ShardId, false) : null)));
  return tree("", true);
}

export async function streamsTab(body, table) {
  const errors = h("div");
  const detail = h("div");
  const records = h("div");
  const streams = await callAll("ListStreams", { TableName: table.TableName }, "Streams", "LastEvaluatedStreamArn", "ExclusiveStartStreamArn", STREAMS);

  const showRecords = (arn, shardId, button) => busy(button, errors, async () => {
    clear(records, h("p.muted", `Reading ${shardId}…`));
    const r = await latestRecords(arn, shardId);
    clear(records, h("h3", `Latest records of ${shardId}`),
      h("p.muted", `${r.records.length} records shown (the last ${KEEP_RECORDS} at most), ${r.reads} GetRecords calls`, r.complete ? "" : "; stopped before the end of the shard"),
      grid([
        ["Event", (x) => x.eventName],
        ["Time", (x) => x.dynamodb?.ApproximateCreationDateTime ? new Date(x.dynamodb.ApproximateCreationDateTime * 1000).toLocaleString() : "—"],
        ["Sequence number", (x) => x.dynamodb?.SequenceNumber, "value"],
        ["Keys", (x) => stringifyExact(itemToPlain(x.dynamodb?.Keys || {}), 0), "value"],
        ["New image", (x) => x.dynamodb?.NewImage ? stringifyExact(itemToPlain(x.dynamodb.NewImage), 0) : "", "value"],
        ["Old image", (x) => x.dynamodb?.OldImage ? stringifyExact(itemToPlain(x.dynamodb.OldImage), 0) : "", "value"],
        ["By", (x) => x.userIdentity?.principalId || ""],
      ], [...r.records].reverse(), { empty: "No records in this shard.", label: "Records" }));
  });

  const open = (arn, button) => busy(button, errors, async () => {
    const d = await describeStream(arn);
    clear(records);
    clear(detail, h("div.panel", facts([
      ["Stream", d.StreamArn], ["Label", d.StreamLabel], ["Status", badge(d.StreamStatus)], ["View type", d.StreamViewType],
      ["Shards", `${d.Shards.length} (${d.Shards.filter((s) => !s.SequenceNumberRange?.EndingSequenceNumber).length} open)`],
    ])),
    h("h3", "Shards and lineage"),
    h("p.muted", "Children are listed under the shard they succeed. Pick a shard to read its latest records."),
    h("div.panel", lineage(d.Shards, (id) => showRecords(arn, id))), records);
  });

  clear(body, errors,
    grid([
      ["Stream", (s) => h("button.link", { type: "button", onclick: (ev) => open(s.StreamArn, ev.target) }, s.StreamLabel)],
      ["ARN", (s) => s.StreamArn],
    ], streams, { empty: "This table has no stream. Enable one on the Overview tab.", label: "Streams" }),
    detail);
  // The table's current stream first (older, disabled ones stay readable for a day).
  const latest = streams.find((s) => s.StreamArn === table.LatestStreamArn) || streams[0];
  if (latest) await open(latest.StreamArn);
}
