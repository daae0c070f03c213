/* The counter plan of the forecast's day: peak need, counter-hours, the counters open now, and
 * each counter's shifts on a track across the day's open hours. */
import { $, T, el, fill, openCounters, text } from "./context.js";

function endOf(shift) { return shift.to === "00:00" ? "24:00" : shift.to; }  // a shift to midnight
function minutesOf(hm) { const m = /^(\d\d):(\d\d)$/.exec(hm); return m ? +m[1] * 60 + +m[2] : 0; }

export function renderPlan(data, isToday) {
  const plan = data.plan, list = $("shifts");
  text("plan-day", isToday ? T.today_word : T.tomorrow_word);
  text("open-now", isToday ? openCounters(data.open_counters_now) : "—");
  $("plan-card").setAttribute("data-plan", plan ? "1" : "0");
  list.textContent = "";
  $("plan-none").hidden = !!plan;
  text("peak-needed", plan ? plan.peak_needed : "—");
  text("counter-hours", plan ? fill(T.hours_value, { h: plan.counter_hours }) : "—");
  if (!plan) return;
  const byCounter = {}, order = [];
  for (const s of plan.shifts) {
    if (!byCounter[s.counter]) { byCounter[s.counter] = []; order.push(s.counter); }
    byCounter[s.counter].push(s);
  }
  // the day's span on every counter's track: the forecast's open hours
  const first = data.slots.length ? data.slots[0].slot.slice(11, 16) : "08:00";
  const lastSlot = data.slots.length ? data.slots[data.slots.length - 1].slot.slice(11, 16) : "20:00";
  const d0 = Math.min(minutesOf(first), ...plan.shifts.map((s) => minutesOf(s.from)));
  const d1 = Math.max(minutesOf(lastSlot) + data.interval_minutes, ...plan.shifts.map((s) => minutesOf(s.to) || 1440));
  const span = Math.max(d1 - d0, 1);
  for (const n of order.sort((a, b) => a - b)) {
    const li = el("li", { "data-counter": n });
    const times = byCounter[n].map((s) => s.from + "–" + endOf(s));
    li.appendChild(el("span", { "class": "who" }, fill(T.counter_n, { n })));
    li.appendChild(el("span", { "class": "times" }, times.join(T.list_sep)));
    const track = el("span", { "class": "track", "aria-hidden": "true" });
    for (const s of byCounter[n]) {
      const a = minutesOf(s.from), b = minutesOf(s.to) || 1440;
      const seg = el("span", { "class": "seg", title: fill(T.shift, { n, from: s.from, to: endOf(s) }) });
      seg.style.left = ((a - d0) / span * 100).toFixed(2) + "%";
      seg.style.width = (Math.max(b - a, 1) / span * 100).toFixed(2) + "%";
      track.appendChild(seg);
    }
    li.appendChild(track);
    list.appendChild(li);
  }
}
