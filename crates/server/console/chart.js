// Time-series charts drawn as inline SVG: axes with rounded ticks, one line (with its points)
// per series, a legend, and each point's value in its tooltip.

import { h } from "./ui.js";

const NS = "http://www.w3.org/2000/svg";
export const COLORS = ["#2457a6", "#d1571b", "#1e7b3a", "#8a3ab9", "#b3261e", "#0f7c8c"];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// Ticks 1, 2 or 5 × 10^n covering [0, max].
function niceTicks(max, count = 5) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((m) => m >= raw);
  const ticks = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(v);
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

function label(v) {
  if (v === 0) return "0";
  if (Math.abs(v) >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toPrecision(3)}`;
}

function clock(t) {
  const d = new Date(t * 1000);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

// series: [{name, points: [[seconds, value], ...], color?, dashed?}]; from/to in seconds.
export function lineChart({ title, unit = "", series, from, to, id }) {
  const W = 640, H = 220, L = 48, R = 12, T = 10, B = 26;
  const all = series.flatMap((x) => x.points);
  const max = Math.max(0, ...all.map((p) => p[1]));
  const ticks = niceTicks(max);
  const top = ticks[ticks.length - 1] || 1;
  const x = (t) => L + ((t - from) / Math.max(1, to - from)) * (W - L - R);
  const y = (v) => H - B - (v / top) * (H - T - B);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  for (const v of ticks) {
    svg.append(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid-line" }));
    svg.append(s("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, label(v)));
  }
  const span = to - from;
  const stepX = span > 7200 ? 1800 : span > 1800 ? 600 : span > 600 ? 300 : 60;
  for (let t = Math.ceil(from / stepX) * stepX; t <= to; t += stepX) {
    svg.append(s("line", { x1: x(t), x2: x(t), y1: H - B, y2: H - B + 4, class: "axis" }));
    svg.append(s("text", { x: x(t), y: H - 8, "text-anchor": "middle" }, clock(t)));
  }
  svg.append(s("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
  series.forEach((ser, i) => {
    const color = ser.color || COLORS[i % COLORS.length];
    const pts = ser.points.filter((p) => p[0] >= from && p[0] <= to);
    if (pts.length > 1) {
      svg.append(s("polyline", {
        points: pts.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" "),
        fill: "none", stroke: color, "stroke-width": 2, "stroke-dasharray": ser.dashed ? "6 4" : "none",
        "stroke-linejoin": "round",
      }));
    }
    if (!ser.dashed) {
      for (const p of pts) {
        svg.append(s("circle", { cx: x(p[0]), cy: y(p[1]), r: pts.length > 90 ? 1.5 : 2.5, fill: color },
          s("title", {}, `${ser.name} at ${clock(p[0])}: ${label(p[1])}${unit ? " " + unit : ""}`)));
      }
    }
  });
  if (!all.length) {
    svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "No data in this period"));
  }
  const legend = h("div.legend", series.map((ser, i) =>
    h("span", h("span.swatch", { style: `background:${ser.color || COLORS[i % COLORS.length]}` }), ser.name)));
  return h("figure.chart", { id, "data-points": String(all.length), "data-max": String(max) }, h("h3", title, unit ? h("span.muted", ` (${unit})`) : null), svg, legend);
}
