/* The manager's page's charts are hand-drawn inline SVG: these are their pieces. */
import { HOUR, hhmm } from "./context.js";

const SVG = "http://www.w3.org/2000/svg";

export function node(tag, attrs, content) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (content != null) n.textContent = content;
  return n;
}

export function niceStep(top, ticks) {  // 1, 2 or 5 × 10^k: at most `ticks` steps reach `top`
  const unit = Math.pow(10, Math.floor(Math.log10(Math.max(top / ticks, 1))));
  return [1, 2, 5, 10].map((f) => f * unit).filter((v) => v * ticks >= top)[0];
}

export function offsetMs(iso) {  // "…+08:00" → its offset from UTC in ms (the hall's zone that day)
  const m = /([+-])(\d\d):?(\d\d)$/.exec(iso);
  return m ? (m[1] === "-" ? -1 : 1) * (+m[2] * 60 + +m[3]) * 60000 : 0;
}

// how many hours between the time axis's labels: room for one every 44 px
export function hoursApart(plotW, hours) {
  return [1, 2, 3, 4, 6].filter((h) => plotW / hours * h >= 44)[0] || 6;
}

// hours of the day along the bottom (f: a chart's frame, see forecast_charts.js)
export function timeAxis(svg, f, top, plotH, H) {
  const every = hoursApart(f.plotW, (f.t1 - f.t0) / HOUR);
  for (let t = f.t0; t <= f.t1; t += every * HOUR) {
    svg.appendChild(node("line", { "class": "axis", x1: f.x(t), x2: f.x(t), y1: top + plotH, y2: top + plotH + 4 }));
    svg.appendChild(node("text", { "class": "tick", x: f.x(t), y: H - 6, "text-anchor": "middle" }, hhmm(t)));
  }
}

// a horizontal grid with its values, and what they count above it
export function valueAxis(svg, f, y, yMax, yStep, caption, top) {
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    svg.appendChild(node("line", { "class": v ? "grid" : "axis", x1: f.left, x2: f.W - f.right, y1: y(v), y2: y(v) }));
    svg.appendChild(node("text", { "class": "tick", x: f.left - 4, y: y(v) + 4, "text-anchor": "end" }, String(v)));
  }
  svg.appendChild(node("text", { "class": "caption", x: f.left + 4, y: top - 3 }, caption));
}

// a line at the frame's now (f.now: null when now is not on the chart)
export function nowMarker(svg, f, top, plotH, label) {
  if (f.now == null) return;
  svg.appendChild(node("line", { "class": "now", x1: f.x(f.now), x2: f.x(f.now), y1: top, y2: top + plotH }));
  if (label) svg.appendChild(node("text", { "class": "now-label", x: f.x(f.now) + 3, y: top + 10 }, label));
}
