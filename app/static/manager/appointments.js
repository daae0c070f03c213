/* Today's appointments (预约): GET /api/v1/halls/{id}/appointments, per slot the counter-seconds
 * the plan leaves for booking and what bookings hold, and the appointments by state. Fetched
 * again when one is booked, cancelled, moved or checked in, when a new plan is made, and every
 * APPOINTMENTS_EVERY_MS (the scheduler marks no-shows without telling this page). */
import { $, MIN, T, fill, getJSON, hallId, hhmm, page, say, text, whyText } from "./context.js";
import { niceStep, node, valueAxis } from "./svg.js";

export const APPOINTMENTS_EVERY_MS = 60000;
const STATES = ["booked", "checked_in", "cancelled", "no_show"];
let appt = null, queued = null;
page.appointmentFetches = 0;

export function fetchAppointments() {
  const asked = page.appointmentFetches += 1;
  return getJSON("/api/v1/halls/" + hallId + "/appointments").then((data) => {
    if (asked !== page.appointmentFetches) return;
    appt = data; say("appt-problem", ""); renderAppointments();
  }).catch((e) => {
    if (asked !== page.appointmentFetches) return;
    say("appt-problem", whyText(e, T.appt_failed));
  });
}

export function appointmentsSoon() {
  if (queued) return;
  queued = setTimeout(() => { queued = null; fetchAppointments(); }, 300);
}

export function redrawAppointments() { if (appt) drawAppointments(appt); }

function renderAppointments() {
  const card = $("appointments-card"), data = appt;
  const totals = { booked: 0, checked_in: 0, cancelled: 0, no_show: 0 };
  for (const p of data.slots) {
    for (const [k, n] of Object.entries(p.appointments || {})) totals[k] = (totals[k] || 0) + n;
  }
  const any = STATES.some((k) => totals[k] > 0);
  card.hidden = !data.enabled && !any;  // a hall that takes none shows nothing of it
  card.setAttribute("data-state", !data.planned ? "no-plan" : (data.slots.length ? "ready" : "empty"));
  card.setAttribute("data-date", data.day);
  for (const k of STATES) text("appt-" + k, totals[k] || 0);
  text("appt-total", fill(T.appt_total, { n: totals.booked + totals.checked_in + totals.no_show }));
  const meta = [];
  if (!data.enabled) meta.push(T.appt_off);
  else if (!data.planned) meta.push(T.appt_no_plan);
  else meta.push(fill(T.appt_share, { p: Math.round(data.share * 100) + "%" }));
  text("appt-meta", meta.join(T.sep));
  drawAppointments(data);
}

function drawAppointments(data) {
  const box = $("appt-chart"), slots = data.slots, H = 150, top = 18, bottom = 24, left = 40, right = 20;
  const W = Math.max(box.clientWidth || $("appointments-card").clientWidth - 28, 300), plotW = W - left - right;
  const plotH = H - top - bottom, n = Math.max(slots.length, 1), slotW = plotW / n;
  const cap = slots.map((p) => p.capacity_s / 60), held = slots.map((p) => p.booked_s / 60);
  const peak = Math.max(10, ...cap, ...held);
  const yStep = niceStep(peak * 1.1, 4), yMax = yStep * Math.ceil(peak * 1.1 / yStep);
  const y = (v) => top + plotH - v / yMax * plotH;
  const x = (i) => left + i * slotW;
  const booked = held.reduce((a, v) => a + v, 0), offered = cap.reduce((a, v) => a + v, 0);
  const svg = node("svg", { viewBox: "0 0 " + W + " " + H, "data-slots": slots.length, "data-booked-min": Math.round(booked),
    "data-capacity-min": Math.round(offered) });
  valueAxis(svg, { left, right, W }, y, yMax, yStep, T.appt_axis, top);
  if (!slots.length) {
    svg.appendChild(node("text", { "class": "empty", x: left + plotW / 2, y: top + plotH / 2, "text-anchor": "middle" },
      data.planned ? T.appt_none : T.appt_no_plan));
  }
  const every = Math.max(1, Math.ceil(44 / slotW));  // a time under every slot that has room for one
  const step = slots.length > 1 ? Date.parse(slots[1].start) - Date.parse(slots[0].start) : 30 * MIN;
  slots.forEach((p, i) => {
    const w = Math.max(1, slotW - 2);
    svg.appendChild(node("rect", { "class": "bar-capacity", x: x(i) + 1, y: y(cap[i]), width: w,
      height: Math.max(0, y(0) - y(cap[i])), "data-start": p.start, "data-capacity-s": p.capacity_s }));
    svg.appendChild(node("rect", { "class": "bar-booked" + (p.booked_s > 0 && p.booked_s >= p.capacity_s ? " full" : ""),
      x: x(i) + 1 + w * 0.2, y: y(held[i]), width: Math.max(1, w * 0.6), height: Math.max(0, y(0) - y(held[i])),
      "data-start": p.start, "data-booked-s": p.booked_s }));
    if (i % every === 0) {
      svg.appendChild(node("text", { "class": "tick", x: x(i) + slotW / 2, y: H - 6, "text-anchor": "middle" }, p.local));
    }
    const states = p.appointments || {};
    const count = STATES.reduce((a, k) => a + (states[k] || 0), 0);
    const hit = node("rect", { "class": "hit", x: x(i), y: top, width: Math.max(1, slotW), height: plotH });
    const words = [fill(T.appt_slot, { from: p.local, to: hhmm(Date.parse(p.start) + step),
      booked: Math.round(held[i]), capacity: Math.round(cap[i]) })];
    if (count) {
      words.push(fill(T.appt_count, { n: count }) + ": " + STATES.filter((k) => states[k])
        .map((k) => $("appt-" + k).previousElementSibling.textContent + " " + states[k]).join(T.list_sep));
    }
    hit.appendChild(node("title", {}, words.join(T.sep)));
    svg.appendChild(hit);
  });
  const now = Date.now();
  if (slots.length && now > Date.parse(slots[0].start) && now < Date.parse(slots[slots.length - 1].start) + step) {
    const at = slots.filter((p) => Date.parse(p.start) <= now).length - 1;
    const nx = x(at) + (now - Date.parse(slots[at].start)) / step * slotW;
    svg.appendChild(node("line", { "class": "now", x1: nx, x2: nx, y1: top, y2: top + plotH }));
  }
  box.textContent = "";
  box.appendChild(svg);
}
