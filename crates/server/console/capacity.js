// Capacity and cost, from GET /bill (per-minute consumption of the last hour, totals since the
// server started, the estimated cost) and GET /metrics (sampled every few seconds while a
// capacity page is open: the request latency per operation, where the server's metrics carry
// SuccessfulRequestLatency as a summary or histogram with _sum and _count).

import { getJson, getText, session } from "./api.js";
import { lineChart } from "./chart.js";
import { clear, errorBox, formatBytes, formatDollars, formatNumber, grid, h } from "./ui.js";

const REFRESH_MS = 5000;
const WINDOW_S = 3600;
const MAX_SAMPLES = 720;

// /metrics samples kept for the tab's life: [{t, series: Map(key → value)}].
const samples = [];

// Prometheus text → [{name, labels, value, help}] (`help`: the HELP text of the sample's family).
export function parsePrometheus(text) {
  const out = [];
  const help = new Map();
  for (const line of text.split("\n")) {
    const doc = /^# HELP (\S+) (.*)$/.exec(line);
    if (doc) help.set(doc[1], doc[2]);
    if (!line || line.startsWith("#")) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, "$1");
    const family = m[1].replace(/_(sum|count|bucket)$/, "");
    out.push({ name: m[1], labels, value: Number(m[3]), help: help.get(family) || "" });
  }
  return out;
}

async function sampleMetrics() {
  try {
    const series = parsePrometheus(await getText("/metrics"));
    samples.push({ t: Date.now() / 1000, series });
    if (samples.length > MAX_SAMPLES) samples.shift();
  } catch { /* the charts say when there is nothing */ }
}

// Average latency per operation of `table` in `region` between consecutive samples, in
// milliseconds: the growth of SuccessfulRequestLatency's _sum over that of its _count (a
// histogram or a summary; CloudWatch's unit is milliseconds, and a family whose name or HELP
// says seconds is converted). Index-level series are left out.
export function latencyPoints(samples, table, region) {
  const sums = (sample) => {
    const acc = new Map();
    for (const s of sample.series) {
      const m = /^(SuccessfulRequestLatency\w*?)_(sum|count)$/.exec(s.name);
      if (!m || s.labels.TableName !== table || (s.labels.Region && s.labels.Region !== region)) continue;
      if (s.labels.GlobalSecondaryIndexName) continue;
      const op = s.labels.Operation || "all";
      const text = `${m[1]} ${s.help}`;
      const scale = /second/i.test(text) && !/milli/i.test(text) ? 1000 : 1;
      const a = acc.get(op) || { sum: 0, count: 0, scale };
      a[m[2]] += s.value;
      acc.set(op, a);
    }
    return acc;
  };
  const byOp = new Map();
  for (let i = 1; i < samples.length; i++) {
    const a = sums(samples[i - 1]), b = sums(samples[i]);
    for (const [op, now] of b) {
      const before = a.get(op);
      if (!before) continue;
      const dc = now.count - before.count;
      if (dc <= 0) continue;
      if (!byOp.has(op)) byOp.set(op, []);
      byOp.get(op).push([samples[i].t, ((now.sum - before.sum) / dc) * now.scale]);
    }
  }
  return [...byOp].map(([name, points]) => ({ name, points }));
}

function perMinute(minutes, field, from, to, scale = 1) {
  const by = new Map(minutes.map((m) => [m.minute, m]));
  const points = [];
  for (let t = Math.floor(from / 60) * 60; t <= to; t += 60) points.push([t, ((by.get(t)?.[field]) || 0) * scale]);
  return points;
}

function lines(bill) {
  return bill.tables.filter((l) => l.region === session.region);
}

export function billGrid(rows) {
  return grid([
    ["Table", (l) => l.deleted ? h("span.muted", `${l.table_name} (deleted)`) : h("a", { href: `#/tables/${encodeURIComponent(l.table_name)}/capacity` }, l.table_name)],
    ["Index", (l) => l.index_name || ""],
    ["Billing", (l) => l.billing_mode === "PAY_PER_REQUEST" ? "On-demand" : "Provisioned"],
    ["Read units", (l) => formatNumber(l.read_units, 1), "num"],
    ["Write units", (l) => formatNumber(l.write_units, 1), "num"],
    ["Txn read / write", (l) => `${formatNumber(l.transactional_read_units, 1)} / ${formatNumber(l.transactional_write_units, 1)}`, "num"],
    ["Stream reads", (l) => formatNumber(l.stream_read_requests, 0), "num"],
    ["Throttled", (l) => formatNumber(l.throttled_requests, 0), "num"],
    ["Size", (l) => formatBytes(l.size_bytes), "num"],
    ["Requests", (l) => formatDollars(l.request_cost), "num"],
    ["Provisioned", (l) => formatDollars(l.provisioned_cost), "num"],
    ["Storage", (l) => formatDollars(l.storage_cost), "num"],
    ["Streams", (l) => formatDollars(l.stream_cost), "num"],
    ["Cost", (l) => formatDollars(l.cost), "num"],
  ], rows, { empty: "Nothing billed in this region yet.", label: "Bill" });
}

function charts(line, table, now) {
  const from = now - WINDOW_S;
  const minutes = line?.minutes || [];
  const pt = table?.ProvisionedThroughput;
  const provisioned = (table?.BillingModeSummary?.BillingMode || "PROVISIONED") === "PROVISIONED" && pt?.ReadCapacityUnits;
  const flat = (v) => [[from, v], [now, v]];
  const perSecond = 1 / 60;
  return h("div.charts",
    lineChart({
      id: "chart-read", title: "Consumed read capacity", unit: "units/s, average per minute", from, to: now,
      series: [{ name: "Consumed RCU", points: perMinute(minutes, "read_units", from, now, perSecond) },
        ...(provisioned ? [{ name: "Provisioned RCU", points: flat(pt.ReadCapacityUnits), dashed: true, color: "#9aa6b8" }] : [])],
    }),
    lineChart({
      id: "chart-write", title: "Consumed write capacity", unit: "units/s, average per minute", from, to: now,
      series: [{ name: "Consumed WCU", points: perMinute(minutes, "write_units", from, now, perSecond), color: "#d1571b" },
        ...(provisioned ? [{ name: "Provisioned WCU", points: flat(pt.WriteCapacityUnits), dashed: true, color: "#9aa6b8" }] : [])],
    }),
    lineChart({
      id: "chart-throttles", title: "Throttled requests", unit: "per minute", from, to: now,
      series: [{ name: "Throttled", points: perMinute(minutes, "throttled_requests", from, now), color: "#b3261e" }],
    }),
    (() => {
      const lat = line ? latencyPoints(samples, line.table_name, session.region) : [];
      const t0 = samples.length ? Math.max(from, samples[0].t) : from;
      const chart = lineChart({ id: "chart-latency", title: "Request latency", unit: "ms, average per sample", from: t0, to: Math.max(now, t0 + 60), series: lat });
      if (!lat.length) {
        chart.append(h("p.muted", samples.some((s) => s.series.some((x) => x.name.startsWith("SuccessfulRequestLatency")))
          ? "Sampled from /metrics every 5 s while this page is open: no requests on this table since."
          : "This server's /metrics carries no SuccessfulRequestLatency series."));
      }
      return chart;
    })());
}

// The capacity tab of one table: its charts and its lines of the bill.
export async function tableCapacityTab(body, table) {
  const out = h("div");
  let timer = null;
  let stopped = false;
  const refresh = async () => {
    try {
      const [bill] = await Promise.all([getJson("/bill"), sampleMetrics()]);
      const mine = lines(bill).filter((l) => l.table_name === table.TableName && !l.deleted);
      const line = mine.find((l) => !l.index_name);
      clear(out, charts(line, table, bill.now), h("h2", "Bill"), billGrid(mine),
        h("p.muted", "Since the server started. Estimated at the prices in GET /bill; refreshed every 5 s."));
    } catch (e) {
      clear(out, errorBox(e));
    }
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  };
  clear(body, out);
  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}

// Every table of the region: the bill, and the charts of the table picked.
export async function capacityPage(main) {
  const summary = h("div");
  const chartSlot = h("div");
  const billSlot = h("div");
  const pick = h("select", { "aria-label": "Table", id: "capacity-table" });
  const picker = h("div.toolbar", h("label", "Charts of table ", pick));
  let timer = null;
  let stopped = false;
  const refresh = async () => {
    try {
      const [bill] = await Promise.all([getJson("/bill"), sampleMetrics()]);
      const mine = lines(bill);
      const tables = [...new Set(mine.filter((l) => !l.index_name && !l.deleted).map((l) => l.table_name))];
      const chosen = tables.includes(pick.value) ? pick.value : tables[0] || "";
      // The picker keeps its node (and so the keyboard focus); only its options are renewed.
      if ([...pick.options].map((o) => o.value).join("\n") !== tables.join("\n")) {
        clear(pick, tables.map((t) => h("option", { value: t }, t)));
      }
      pick.value = chosen;
      picker.classList.toggle("hidden", !tables.length);
      const line = mine.find((l) => l.table_name === chosen && !l.index_name && !l.deleted);
      const total = mine.reduce((a, l) => a + l.cost, 0);
      clear(summary, h("div.panel", h("strong", "Estimated cost in this region: ", formatDollars(total)),
        h("span.muted", ` (all regions ${formatDollars(bill.total_cost)}; since the server started)`)));
      clear(chartSlot, tables.length ? charts(line, null, bill.now) : null);
      clear(billSlot, billGrid(mine));
    } catch (e) {
      clear(summary, errorBox(e));
    }
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  };
  pick.addEventListener("change", () => { clearTimeout(timer); refresh(); });
  clear(main, h("h1", "Capacity and cost"), summary, picker, chartSlot, h("h2", "Bill"), billSlot);
  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}
