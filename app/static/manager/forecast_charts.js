/* The forecast's two charts: arrivals per interval (the p10–p90 band, the median, the tickets
 * taken so far) and counters (needed, planned, open now), on one time axis. */
import { $, HOUR, MIN, T, fill, hhmm, openCounters } from "./context.js";
import { niceStep, node, nowMarker, offsetMs, timeAxis, valueAxis } from "./svg.js";

// the day's time axis: whole hours of the hall's clock around its open intervals
export function forecastFrame(data, isToday) {
  const stepMs = data.interval_minutes * MIN;
  const starts = data.slots.map((p) => Date.parse(p.slot));
  const offset = offsetMs(data.slots[0].slot);
  const t0 = Math.floor((starts[0] + offset) / HOUR) * HOUR - offset;
  const t1 = Math.ceil((starts[starts.length - 1] + stepMs + offset) / HOUR) * HOUR - offset;
  const W = Math.max($("forecast-chart").clientWidth || $("forecast-card").clientWidth - 28, 300);
  const left = 34, right = 20, plotW = W - left - right;
  const runs = [];  // contiguous open intervals (a hall may close at noon)
  let run = null;
  starts.forEach((t, i) => {
    if (run && t === run.end) { run.end = t + stepMs; run.idx.push(i); }
    else { run = { start: t, end: t + stepMs, idx: [i] }; runs.push(run); }
  });
  const now = Date.now();
  return { W, left, right, plotW, t0, t1, stepMs, starts, runs,
    now: isToday && now > t0 && now < t1 ? now : null,
    x: (t) => left + (t - t0) / (t1 - t0) * plotW };
}

function round1(v) { return Math.round(v * 10) / 10; }

export function drawForecast(data, f) {
  const slots = data.slots, H = 250, top = 18, bottom = 24, plotH = H - top - bottom;
  const peak = Math.max(4, ...slots.map((p) => Math.max(p.p90, p.actual || 0)));
  const yStep = niceStep(peak * 1.1, 5), yMax = yStep * Math.ceil(peak * 1.1 / yStep);
  const y = (v) => top + plotH - v / yMax * plotH;
  const mid = (i) => f.x(f.starts[i] + f.stepMs / 2);
  const actualTotal = slots.reduce((a, p) => a + (p.actual || 0), 0);
  const svg = node("svg", { viewBox: "0 0 " + f.W + " " + H, "data-date": data.date, "data-slots": slots.length,
    "data-actual": actualTotal, "data-p90-peak": round1(Math.max(...slots.map((p) => p.p90))) });
  valueAxis(svg, f, y, yMax, yStep, fill(T.per_interval, { m: data.interval_minutes }), top);
  timeAxis(svg, f, top, plotH, H);
  for (const run of f.runs) {  // the band and the median, through the middle of each interval
    const upper = run.idx.map((i) => mid(i).toFixed(1) + "," + y(slots[i].p90).toFixed(1));
    const lower = run.idx.slice().reverse().map((i) => mid(i).toFixed(1) + "," + y(slots[i].p10).toFixed(1));
    svg.appendChild(node("polygon", { "class": "band", points: upper.concat(lower).join(" ") }));
  }
  const barW = Math.max(2, (f.x(f.t0 + f.stepMs) - f.x(f.t0)) * 0.6);
  slots.forEach((p, i) => {
    if (p.actual == null) return;
    svg.appendChild(node("rect", { "class": "bar-actual" + (p.actual > p.p90 ? " above" : ""), x: mid(i) - barW / 2,
      y: y(p.actual), width: barW, height: Math.max(0, y(0) - y(p.actual)), "data-slot": p.slot, "data-actual": p.actual }));
  });
  for (const run of f.runs) {
    svg.appendChild(node("polyline", { "class": "line-p50",
      points: run.idx.map((i) => mid(i).toFixed(1) + "," + y(slots[i].p50).toFixed(1)).join(" ") }));
  }
  slots.forEach((p, i) => {  // a tooltip per interval
    const hit = node("rect", { "class": "hit", x: f.x(f.starts[i]), y: top, width: Math.max(1, f.x(f.t0 + f.stepMs) - f.x(f.t0)),
      height: plotH });
    const words = [fill(T.forecast_slot, { from: hhmm(f.starts[i]), to: hhmm(f.starts[i] + f.stepMs), p50: round1(p.p50),
      p10: round1(p.p10), p90: round1(p.p90), mean: round1(p.mean) })];
    if (p.actual != null) words.push(fill(T.actual_slot, { n: p.actual }));
    hit.appendChild(node("title", {}, words.join(T.sep)));
    svg.appendChild(hit);
  });
  nowMarker(svg, f, top, plotH, T.now);
  const box = $("forecast-chart"); box.textContent = ""; box.appendChild(svg);
}

function stepPoints(f, run, values, y) {  // a step line across the run's intervals
  const pts = [];
  for (const i of run.idx) {
    const v = values[i];
    pts.push(f.x(f.starts[i]).toFixed(1) + "," + y(v).toFixed(1), f.x(f.starts[i] + f.stepMs).toFixed(1) + "," + y(v).toFixed(1));
  }
  return pts.join(" ");
}

export function drawNeeds(data, f, isToday) {
  const slots = data.slots, H = 150, top = 18, bottom = 24, plotH = H - top - bottom;
  const openNow = isToday ? openCounters(data.open_counters_now) : null;
  const needed = slots.map((p) => p.needed);
  const planned = slots.map((p) => p.planned);
  const hasPlan = planned.some((v) => v != null);
  const peak = Math.max(2, openNow || 0, ...needed, ...planned.map((v) => v || 0));
  const yStep = niceStep(peak + 1, 4), yMax = yStep * Math.ceil((peak + 1) / yStep);
  const y = (v) => top + plotH - v / yMax * plotH;
  const svg = node("svg", { viewBox: "0 0 " + f.W + " " + H, "data-date": data.date,
    "data-peak-needed": Math.max(...needed), "data-open-now": openNow == null ? "" : openNow,
    "data-planned": hasPlan ? "1" : "0" });
  valueAxis(svg, f, y, yMax, yStep, T.counters_axis, top);
  timeAxis(svg, f, top, plotH, H);
  if (openNow != null) {  // from now on, intervals that need more counters than are open
    slots.forEach((p, i) => {
      if (f.starts[i] + f.stepMs <= Date.now() || p.needed <= openNow) return;
      svg.appendChild(node("rect", { "class": "short", x: f.x(f.starts[i]), y: top, height: plotH,
        width: Math.max(1, f.x(f.t0 + f.stepMs) - f.x(f.t0)), "data-slot": p.slot }));
    });
  }
  for (const run of f.runs) {  // the plan under the need: where they agree, both show
    if (hasPlan) svg.appendChild(node("polyline", { "class": "step-planned",
      points: stepPoints(f, run, planned.map((v) => v || 0), y) }));
    svg.appendChild(node("polyline", { "class": "step-needed", points: stepPoints(f, run, needed, y) }));
  }
  if (openNow != null) {
    svg.appendChild(node("line", { "class": "open-now", x1: f.left, x2: f.W - f.right, y1: y(openNow), y2: y(openNow) }));
    svg.appendChild(node("text", { "class": "open-now-label", x: f.W - f.right - 2, y: y(openNow) - 4, "text-anchor": "end" },
      fill(T.open_now_line, { n: openNow })));
  }
  slots.forEach((p, i) => {
    const hit = node("rect", { "class": "hit", x: f.x(f.starts[i]), y: top, height: plotH,
      width: Math.max(1, f.x(f.t0 + f.stepMs) - f.x(f.t0)) });
    const words = [hhmm(f.starts[i]) + "–" + hhmm(f.starts[i] + f.stepMs), fill(T.needed_slot, { n: p.needed })];
    if (p.planned != null) words.push(fill(T.planned_slot, { n: p.planned }));
    hit.appendChild(node("title", {}, words.join(T.sep)));
    svg.appendChild(hit);
  });
  nowMarker(svg, f, top, plotH, null);
  const box = $("counters-chart"); box.textContent = ""; box.appendChild(svg);
}
