/* The hall now, from each live snapshot: the load (state and why, people inside, in and out
 * today), the queues against their targets, the counters, and the door counts' CSV link. */
import { minutes } from "../lib/format.js";
import { $, T, cfg, el, fill, hallId, name, text } from "./context.js";

// the server says why (app/domain/footfall.py load_reasons); the page only words it
function reasons(load) {
  return (load.reasons || []).map((r) => fill(T["why_" + r.code] || r.code, r));
}

function renderLoad(load) {
  const badge = $("load-state");
  badge.className = "badge " + load.state;
  badge.setAttribute("data-state", load.state);
  text("load-state", T.states[load.state] || load.state);
  text("load-why", reasons(load).join(T.sep));
  text("occupancy", load.occupancy == null ? "—" : load.occupancy);
  $("occupancy").title = load.occupancy == null ? T.no_door_counter : "";
  text("in-today", load.in == null ? "—" : load.in);
  text("out-today", load.out == null ? "—" : load.out);
  text("waiting", load.waiting);
  text("open-counters", load.open_counters);
}

function renderServices(services) {
  const rows = $("services"); rows.textContent = "";
  for (const s of services) {
    // over target: the estimated wait for a ticket taken now passes the service's target, or
    // people wait and no counter serves them
    const over = s.waiting > 0 && (s.estimated_wait_s == null || s.estimated_wait_s > s.target_wait_s);
    const tr = el("tr", { "data-prefix": s.prefix, "data-over": over ? "1" : "0", "class": over ? "over" : "" });
    const m = minutes(s.estimated_wait_s), target = minutes(s.target_wait_s);
    tr.appendChild(el("td", {}, s.prefix + " " + name(s)));
    tr.appendChild(el("td", { "class": "n waiting" }, String(s.waiting)));
    const wait = el("td", { "class": "wait" }, s.waiting === 0 ? "—" : (m == null ? T.no_counter : fill(T.wait_min, { m })));
    if (over) {
      wait.insertBefore(el("span", { "class": "flag", "aria-hidden": "true" }, "▲ "), wait.firstChild);
      wait.title = fill(T.over_target, { m: target });
    }
    tr.appendChild(wait);
    tr.appendChild(el("td", { "class": "target" }, target == null ? "—" : fill(T.target_min, { m: target })));
    tr.appendChild(el("td", { "class": "n" }, String(s.open_counters)));
    rows.appendChild(tr);
  }
}

function renderCounters(counters, services) {
  const prefixes = {}, rows = $("counters");
  for (const s of services) prefixes[s.id] = s.prefix;
  rows.textContent = "";
  for (const c of counters) {
    const tr = el("tr", { "data-counter": c.number, "class": c.is_open ? "open" : "closed" });
    const served = (c.service_ids || []).map((id) => prefixes[id]).filter(Boolean).join("");
    tr.appendChild(el("td", {}, fill(T.counter_n, { n: c.number }) + (served ? " · " + served : "")));
    tr.appendChild(el("td", {}, !c.is_open ? T.closed : (c.ticket ? T[c.ticket.state] || c.ticket.state
      : (c.paused ? fill(T.paused, { reason: T.reasons[c.paused] || c.paused }) : T.open))));
    const cell = el("td", {});
    if (c.ticket) cell.appendChild(el("span", { "class": "ticket-label" }, c.ticket.label));
    else cell.textContent = "—";
    tr.appendChild(cell);
    rows.appendChild(tr);
  }
}

function csvLink(businessDay) {
  const to = new Date(businessDay + "T00:00:00Z"), from = new Date(to.getTime() - (cfg.csv_days - 1) * 864e5);
  $("csv").href = "/api/v1/halls/" + hallId + "/footfall/hourly?from=" + from.toISOString().slice(0, 10) +
    "&to=" + businessDay + "&format=csv";
}

export function renderNow(s) {
  text("hall-name", name(s.hall));
  renderLoad(s.load);
  renderServices(s.services);
  renderCounters(s.counters, s.services);
  csvLink(s.business_day);
}
