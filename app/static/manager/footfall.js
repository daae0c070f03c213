/* The day's door counts: GET /api/v1/halls/{id}/footfall, fetched again when counts arrive (a
 * FootfallCounted delta, at most every REFETCH_MIN_MS) and every REFETCH_EVERY_MS anyway; the
 * chart of people in per interval and inside, and the door counters (sensors) with their state. */
import { $, HOUR, T, el, fill, getJSON, hall, hallId, hhmm, name, page, problem, trouble } from "./context.js";
import { niceStep, node, offsetMs, hoursApart } from "./svg.js";

export const REFETCH_EVERY_MS = 60000;
const REFETCH_MIN_MS = 5000;
let day = null, lastFetch = 0, queued = null;

export function fetchFootfall() {
  const asked = page.footfallFetches += 1;
  lastFetch = Date.now();
  getJSON("/api/v1/halls/" + hallId + "/footfall?interval=15")
    .then((data) => {
      if (asked !== page.footfallFetches) return;  // a later answer is on its way
      day = data; drawChart(); renderSensors(data.sensors); trouble.footfall = ""; problem();
    })
    .catch((e) => {
      if (asked !== page.footfallFetches) return;
      trouble.footfall = e.message === "signed-out" ? T.signed_out : fill(T.load_failed, { why: e.message });
      problem();
    });
}

export function fetchSoon() {  // door counts can arrive every few seconds: fetch at most every REFETCH_MIN_MS
  if (queued) return;
  queued = setTimeout(() => { queued = null; fetchFootfall(); }, Math.max(0, lastFetch + REFETCH_MIN_MS - Date.now()));
}

export function redrawFootfall() { if (day) drawChart(); }

function renderSensors(sensors) {
  const list = $("sensors"), silent = [];
  list.textContent = "";
  for (const x of sensors) {
    const li = el("li", { "data-sensor": x.code, "class": x.stale ? "stale" : (x.active ? "" : "retired") });
    li.appendChild(el("div", { "class": "title" }, name(x) + (x.door ? " · " + x.door : "")));
    const meta = [T.kinds[x.kind] || x.kind, fill(T.sensor_today, { i: x.today.in, o: x.today.out }),
      x.last_report_at ? fill(T.last_report, { t: hhmm(Date.parse(x.last_report_at)) }) : T.never];
    if (!x.in_totals) meta.push(T.not_counted);
    li.appendChild(el("div", { "class": "meta" }, meta.join(" · ")));
    li.appendChild(el("div", { "class": "state" }, !x.active ? T.retired : (x.stale ? "⚠ " + T.stale : T.working)));
    if (x.stale) silent.push(fill(T.stale_short, { name: name(x) }));
    list.appendChild(li);
  }
  const alert = $("sensor-alert");
  alert.textContent = silent.length ? "⚠ " + silent.join(T.sep) : "";
  alert.hidden = !silent.length;
}

function drawChart() {
  const box = $("chart"), series = day.series, stepMs = day.interval_min * 60000;
  const W = Math.max(box.clientWidth, 300), H = 240, left = 34, right = 20, top = 14, bottom = 24;
  const offset = offsetMs(day.counting_from);
  const starts = series.map((p) => Date.parse(p.start));
  const now = Date.now();
  let t0 = Math.min(Date.parse(day.counting_from), starts.length ? starts[0] : now);
  let t1 = Math.max(starts.length ? starts[starts.length - 1] + stepMs : now, Math.min(now, t0 + 24 * HOUR));
  t0 = Math.floor((t0 + offset) / HOUR) * HOUR - offset;  // whole hours of the hall's clock
  t1 = Math.max(Math.ceil((t1 + offset) / HOUR) * HOUR - offset, t0 + HOUR);
  const busy = hall.snap ? hall.snap.load.rules.busy_occupancy : null;
  const peak = Math.max(5, busy || 0, ...series.map((p) => Math.max(p.in, p.occupancy)));
  const yStep = niceStep(peak * 1.1, 5), yMax = yStep * Math.ceil(peak * 1.1 / yStep);
  const plotW = W - left - right, plotH = H - top - bottom;
  const x = (t) => left + (t - t0) / (t1 - t0) * plotW;
  const y = (v) => top + plotH - v / yMax * plotH;

  const totalIn = series.reduce((a, p) => a + p.in, 0);
  const svg = node("svg", { viewBox: "0 0 " + W + " " + H, "data-in": totalIn, "data-slots": series.length,
    "data-inside": series.length ? series[series.length - 1].occupancy : 0 });
  for (let v = 0; v <= yMax; v += yStep) {  // horizontal grid and counts
    svg.appendChild(node("line", { "class": v ? "grid" : "axis", x1: left, x2: W - right, y1: y(v), y2: y(v) }));
    svg.appendChild(node("text", { "class": "tick", x: left - 4, y: y(v) + 4, "text-anchor": "end" }, String(v)));
  }
  const every = hoursApart(plotW, (t1 - t0) / HOUR);
  for (let t = t0; t <= t1; t += every * HOUR) {  // hours of the day along the bottom
    svg.appendChild(node("line", { "class": "axis", x1: x(t), x2: x(t), y1: top + plotH, y2: top + plotH + 4 }));
    svg.appendChild(node("text", { "class": "tick", x: x(t), y: H - 6, "text-anchor": "middle" }, hhmm(t)));
  }
  const slotW = Math.max(1, x(t0 + stepMs) - x(t0) - 1);
  series.forEach((p, i) => {
    const bar = node("rect", { "class": "bar-in", x: x(starts[i]) + 0.5, y: y(p.in), width: slotW,
      height: Math.max(0, y(0) - y(p.in)), "data-start": p.start, "data-in": p.in });
    bar.appendChild(node("title", {}, fill(T.slot, { from: hhmm(starts[i]), to: hhmm(starts[i] + stepMs), "in": p.in,
      out: p.out, inside: p.occupancy })));
    svg.appendChild(bar);
  });
  if (series.length) {  // people inside at the end of each interval
    const points = series.map((p, i) => x(starts[i] + stepMs).toFixed(1) + "," + y(p.occupancy).toFixed(1));
    points.unshift(x(starts[0]).toFixed(1) + "," + y(0).toFixed(1));
    svg.appendChild(node("polyline", { "class": "line-inside", points: points.join(" ") }));
  } else {
    svg.appendChild(node("text", { "class": "empty", x: left + plotW / 2, y: top + plotH / 2, "text-anchor": "middle" },
      T.chart_empty));
  }
  if (busy != null) {
    svg.appendChild(node("line", { "class": "busy-line", x1: left, x2: W - right, y1: y(busy), y2: y(busy) }));
    svg.appendChild(node("text", { "class": "busy-label", x: left + 4, y: y(busy) - 4 }, fill(T.busy_line, { n: busy })));
  }
  if (now > t0 && now < t1) {
    svg.appendChild(node("line", { "class": "now", x1: x(now), x2: x(now), y1: top, y2: top + plotH }));
  }
  box.textContent = "";
  box.appendChild(svg);
}
