/* The hall manager's live page: load, queues and counters from the hall's live snapshots; the
 * day's door counts from GET /api/v1/halls/{id}/footfall, fetched again when counts arrive
 * (a FootfallCounted delta, at most every REFETCH_MIN_MS) and every REFETCH_EVERY_MS anyway;
 * the arrival forecast and counter plan from GET /api/v1/halls/{id}/forecast; the standing peak
 * warnings from GET /api/v1/halls/{id}/warnings (again on a PeakWarningChanged delta), with an
 * acknowledge button for those who manage the hall; today's appointments (预约) per slot against
 * the capacity for booking from GET /api/v1/halls/{id}/appointments (again on an
 * AppointmentChanged delta or an appointment's check-in). Charts are hand-drawn inline SVG. */
(function () {
  "use strict";
  var T = hallq.strings(), cfg = window.MANAGER, en = cfg.lang === "en", hallId = cfg.hall.id;
  var REFETCH_MIN_MS = 5000, REFETCH_EVERY_MS = 60000, SVG = "http://www.w3.org/2000/svg";
  var snap = null, day = null;
  var page = hallq.manager = { footfallFetches: 0 };  // tests and curious people read it
  var $ = function (id) { return document.getElementById(id); };
  var fill = hallq.fill;

  function name(o) { return en ? (o.name_en || o.name_zh) : o.name_zh; }
  function text(id, value) { var node = $(id); if (node.textContent !== String(value)) node.textContent = value; }
  var trouble = { offline: false, footfall: "" };
  function problem() {  // the connection first: while it is down nothing on the page is live
    var p = $("problem"), message = trouble.offline ? T.offline : trouble.footfall;
    p.textContent = message; p.hidden = !message;
  }

  // ---------------------------------------------------------------- the hall's time of day
  // Times are shown in the hall's zone, whatever the zone of this browser.
  var clock = new Intl.DateTimeFormat("en-GB", { timeZone: cfg.hall.timezone, hour: "2-digit", minute: "2-digit",
    hourCycle: "h23" });
  var clockSeconds = new Intl.DateTimeFormat("en-GB", { timeZone: cfg.hall.timezone, hour: "2-digit",
    minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  function hhmm(ms) { return clock.format(new Date(ms)); }

  // ---------------------------------------------------------------- the load: state and why
  // the server says why (app/domain/footfall.py load_reasons); the page only words it
  function reasons(load) {
    return (load.reasons || []).map(function (r) { return fill(T["why_" + r.code] || r.code, r); });
  }

  function renderLoad(load) {
    var badge = $("load-state");
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

  // ---------------------------------------------------------------- queues and counters
  function renderServices(services) {
    var rows = $("services"); rows.textContent = "";
    services.forEach(function (s) {
      // over target: the estimated wait for a ticket taken now passes the service's target, or
      // people wait and no counter serves them
      var over = s.waiting > 0 && (s.estimated_wait_s == null || s.estimated_wait_s > s.target_wait_s);
      var tr = hallq.el("tr", { "data-prefix": s.prefix, "data-over": over ? "1" : "0", "class": over ? "over" : "" });
      var m = hallq.minutes(s.estimated_wait_s), target = hallq.minutes(s.target_wait_s);
      tr.appendChild(hallq.el("td", {}, s.prefix + " " + name(s)));
      tr.appendChild(hallq.el("td", { "class": "n waiting" }, String(s.waiting)));
      var wait = hallq.el("td", { "class": "wait" },
        s.waiting === 0 ? "—" : (m == null ? T.no_counter : fill(T.wait_min, { m: m })));
      if (over) { wait.insertBefore(hallq.el("span", { "class": "flag", "aria-hidden": "true" }, "▲ "), wait.firstChild);
        wait.title = fill(T.over_target, { m: target }); }
      tr.appendChild(wait);
      tr.appendChild(hallq.el("td", { "class": "target" }, target == null ? "—" : fill(T.target_min, { m: target })));
      tr.appendChild(hallq.el("td", { "class": "n" }, String(s.open_counters)));
      rows.appendChild(tr);
    });
  }

  function renderCounters(counters, services) {
    var prefixes = {}, rows = $("counters");
    services.forEach(function (s) { prefixes[s.id] = s.prefix; });
    rows.textContent = "";
    counters.forEach(function (c) {
      var tr = hallq.el("tr", { "data-counter": c.number, "class": c.is_open ? "open" : "closed" });
      var served = (c.service_ids || []).map(function (id) { return prefixes[id]; }).filter(Boolean).join("");
      tr.appendChild(hallq.el("td", {}, fill(T.counter_n, { n: c.number }) + (served ? " · " + served : "")));
      tr.appendChild(hallq.el("td", {}, !c.is_open ? T.closed : (c.ticket ? T[c.ticket.state] || c.ticket.state
        : (c.paused ? fill(T.paused, { reason: T.reasons[c.paused] || c.paused }) : T.open))));
      var cell = hallq.el("td", {});
      if (c.ticket) cell.appendChild(hallq.el("span", { "class": "ticket-label" }, c.ticket.label));
      else cell.textContent = "—";
      tr.appendChild(cell);
      rows.appendChild(tr);
    });
  }

  function csvLink(businessDay) {
    var to = new Date(businessDay + "T00:00:00Z"), from = new Date(to.getTime() - (cfg.csv_days - 1) * 864e5);
    $("csv").href = "/api/v1/halls/" + hallId + "/footfall/hourly?from=" + from.toISOString().slice(0, 10) +
      "&to=" + businessDay + "&format=csv";
  }

  function onSnapshot(s) {
    var newDay = snap && snap.business_day !== s.business_day;
    snap = s;
    text("hall-name", name(s.hall));
    renderLoad(s.load);
    renderServices(s.services);
    renderCounters(s.counters, s.services);
    csvLink(s.business_day);
    text("updated", fill(T.updated, { t: clockSeconds.format(new Date(s.at)) }));
    if (newDay) { fetchFootfall(); fetchForecast(); fetchAppointments(); }  // past midnight: today's charts start afresh
    else if (day) drawChart();  // the busy line follows the hall's rules
    if (!newDay && forecastShown()) renderForecast();  // the counters open now
  }

  // ---------------------------------------------------------------- door counts of the day
  var lastFetch = 0, queued = null;

  function fetchFootfall() {
    var asked = page.footfallFetches += 1;
    lastFetch = Date.now();
    hallq.getJSON("/api/v1/halls/" + hallId + "/footfall?interval=15")
      .then(function (data) {
        if (asked !== page.footfallFetches) return;  // a later answer is on its way
        day = data; drawChart(); renderSensors(data.sensors); trouble.footfall = ""; problem();
      })
      .catch(function (e) {
        if (asked !== page.footfallFetches) return;
        trouble.footfall = e.message === "signed-out" ? T.signed_out : fill(T.load_failed, { why: e.message });
        problem();
      });
  }

  function fetchSoon() {  // door counts can arrive every few seconds: fetch at most every REFETCH_MIN_MS
    if (queued) return;
    queued = setTimeout(function () { queued = null; fetchFootfall(); },
      Math.max(0, lastFetch + REFETCH_MIN_MS - Date.now()));
  }

  function renderSensors(sensors) {
    var list = $("sensors"), silent = [];
    list.textContent = "";
    sensors.forEach(function (x) {
      var li = hallq.el("li", { "data-sensor": x.code, "class": x.stale ? "stale" : (x.active ? "" : "retired") });
      li.appendChild(hallq.el("div", { "class": "title" }, name(x) + (x.door ? " · " + x.door : "")));
      var meta = [T.kinds[x.kind] || x.kind, fill(T.sensor_today, { i: x.today.in, o: x.today.out }),
        x.last_report_at ? fill(T.last_report, { t: hhmm(Date.parse(x.last_report_at)) }) : T.never];
      if (!x.in_totals) meta.push(T.not_counted);
      li.appendChild(hallq.el("div", { "class": "meta" }, meta.join(" · ")));
      li.appendChild(hallq.el("div", { "class": "state" }, !x.active ? T.retired : (x.stale ? "⚠ " + T.stale : T.working)));
      if (x.stale) silent.push(fill(T.stale_short, { name: name(x) }));
      list.appendChild(li);
    });
    var alert = $("sensor-alert");
    alert.textContent = silent.length ? "⚠ " + silent.join(T.sep) : "";
    alert.hidden = !silent.length;
  }

  // ---------------------------------------------------------------- the chart (inline SVG)
  function node(tag, attrs, content) {
    var n = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (content != null) n.textContent = content;
    return n;
  }

  function niceStep(top, ticks) {  // 1, 2 or 5 × 10^k: at most `ticks` steps reach `top`
    var unit = Math.pow(10, Math.floor(Math.log10(Math.max(top / ticks, 1))));
    return [1, 2, 5, 10].map(function (f) { return f * unit; }).filter(function (v) { return v * ticks >= top; })[0];
  }

  function offsetMs(iso) {  // "…+08:00" → its offset from UTC in ms (the hall's zone that day)
    var m = /([+-])(\d\d):?(\d\d)$/.exec(iso);
    return m ? (m[1] === "-" ? -1 : 1) * (+m[2] * 60 + +m[3]) * 60000 : 0;
  }

  function drawChart() {
    var box = $("chart"), series = day.series, stepMs = day.interval_min * 60000;
    var W = Math.max(box.clientWidth, 300), H = 240, left = 34, right = 20, top = 14, bottom = 24;
    var offset = offsetMs(day.counting_from), HOUR = 3600000;
    var starts = series.map(function (p) { return Date.parse(p.start); });
    var now = Date.now();
    var t0 = Math.min(Date.parse(day.counting_from), starts.length ? starts[0] : now);
    var t1 = Math.max(starts.length ? starts[starts.length - 1] + stepMs : now, Math.min(now, t0 + 24 * HOUR));
    t0 = Math.floor((t0 + offset) / HOUR) * HOUR - offset;  // whole hours of the hall's clock
    t1 = Math.max(Math.ceil((t1 + offset) / HOUR) * HOUR - offset, t0 + HOUR);
    var busy = snap ? snap.load.rules.busy_occupancy : null;
    var peak = Math.max.apply(null, [5, busy || 0].concat(series.map(function (p) { return Math.max(p.in, p.occupancy); })));
    var yStep = niceStep(peak * 1.1, 5), yMax = yStep * Math.ceil(peak * 1.1 / yStep);
    var plotW = W - left - right, plotH = H - top - bottom;
    function x(t) { return left + (t - t0) / (t1 - t0) * plotW; }
    function y(v) { return top + plotH - v / yMax * plotH; }

    var totalIn = series.reduce(function (a, p) { return a + p.in; }, 0);
    var svg = node("svg", { viewBox: "0 0 " + W + " " + H, "data-in": totalIn, "data-slots": series.length,
      "data-inside": series.length ? series[series.length - 1].occupancy : 0 });
    for (var v = 0; v <= yMax; v += yStep) {  // horizontal grid and counts
      svg.appendChild(node("line", { "class": v ? "grid" : "axis", x1: left, x2: W - right, y1: y(v), y2: y(v) }));
      svg.appendChild(node("text", { "class": "tick", x: left - 4, y: y(v) + 4, "text-anchor": "end" }, String(v)));
    }
    var hours = (t1 - t0) / HOUR, every = [1, 2, 3, 4, 6].filter(function (h) { return plotW / hours * h >= 44; })[0] || 6;
    for (var t = t0; t <= t1; t += every * HOUR) {  // hours of the day along the bottom
      svg.appendChild(node("line", { "class": "axis", x1: x(t), x2: x(t), y1: top + plotH, y2: top + plotH + 4 }));
      svg.appendChild(node("text", { "class": "tick", x: x(t), y: H - 6, "text-anchor": "middle" }, hhmm(t)));
    }
    var slotW = Math.max(1, x(t0 + stepMs) - x(t0) - 1);
    series.forEach(function (p, i) {
      var bar = node("rect", { "class": "bar-in", x: x(starts[i]) + 0.5, y: y(p.in), width: slotW,
        height: Math.max(0, y(0) - y(p.in)), "data-start": p.start, "data-in": p.in });
      bar.appendChild(node("title", {}, fill(T.slot, { from: hhmm(starts[i]), to: hhmm(starts[i] + stepMs), "in": p.in,
        out: p.out, inside: p.occupancy })));
      svg.appendChild(bar);
    });
    if (series.length) {  // people inside at the end of each interval
      var points = series.map(function (p, i) { return x(starts[i] + stepMs).toFixed(1) + "," + y(p.occupancy).toFixed(1); });
      points.unshift(x(starts[0]).toFixed(1) + "," + y(0).toFixed(1));
      svg.appendChild(node("polyline", { "class": "line-inside", points: points.join(" ") }));
    } else {
      svg.appendChild(node("text", { "class": "empty", x: left + plotW / 2, y: top + plotH / 2, "text-anchor": "middle" },
        T.chart_empty));
    }
    if (busy != null) {
      svg.appendChild(node("line", { "class": "busy-line", x1: left, x2: W - right, y1: y(busy), y2: y(busy) }));
      svg.appendChild(node("text", { "class": "busy-label", x: left + 4, y: y(busy) - 4 },
        fill(T.busy_line, { n: busy })));
    }
    if (now > t0 && now < t1) {
      svg.appendChild(node("line", { "class": "now", x1: x(now), x2: x(now), y1: top, y2: top + plotH }));
    }
    box.textContent = "";
    box.appendChild(svg);
  }

  var resized = null;
  window.addEventListener("resize", function () {
    clearTimeout(resized);
    resized = setTimeout(function () {
      if (day) drawChart(); if (forecastShown()) renderForecast(); if (appt) drawAppointments(appt);
    }, 150);
  });


  // ---------------------------------------------------------------- JSON over the page's session
  var getJSON = hallq.getJSON;
  function postJSON(url, body) { return hallq.postJSON(url, body, cfg.csrf); }

  function say(id, message) { var p = $(id); p.textContent = message || ""; p.hidden = !message; }
  function whyText(e, failed) { return e.message === "signed-out" ? T.signed_out : fill(failed, { why: e.message }); }

  // ---------------------------------------------------------------- forecast and counter plan
  // GET /api/v1/halls/{id}/forecast: today's (and on request tomorrow's) forecast band per interval,
  // tickets taken so far, counters needed and planned. Fetched every FORECAST_EVERY_MS (the actual
  // arrivals grow) and when the server says a new forecast is made.
  var FORECAST_EVERY_MS = 60000, MIN = 60000;
  var fc = { which: "today", today: null, tomorrow: null };
  page.forecastFetches = 0;

  function nextDay(iso) { return new Date(Date.parse(iso + "T00:00:00Z") + 864e5).toISOString().slice(0, 10); }
  function forecastShown() { return !!fc[fc.which]; }

  function fetchForecast() {
    var asked = page.forecastFetches += 1, which = fc.which, base = "/api/v1/halls/" + hallId + "/forecast";
    return getJSON(base).then(function (today) {
      if (which !== "tomorrow") return [today, null];
      return getJSON(base + "?date=" + nextDay(today.date)).then(function (tomorrow) { return [today, tomorrow]; });
    }).then(function (both) {
      if (asked !== page.forecastFetches) return;  // a later answer is on its way
      fc.today = both[0]; if (both[1]) fc.tomorrow = both[1];
      say("forecast-problem", ""); renderForecast();
    }).catch(function (e) {
      if (asked !== page.forecastFetches) return;
      say("forecast-problem", whyText(e, T.forecast_failed));
      if (!forecastShown()) $("forecast-card").setAttribute("data-state", "failed");
    });
  }

  function pickDay(which) {
    fc.which = which;
    Array.prototype.forEach.call(document.querySelectorAll(".day-pick button"), function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-day") === which));
    });
    if (forecastShown()) renderForecast();
    fetchForecast();
  }

  function forecastNow(button) {  // managers: forecast today and tomorrow now, then show it
    var label = button.textContent;
    button.disabled = true; button.textContent = T.forecasting;
    say("forecast-problem", "");
    postJSON("/api/v1/halls/" + hallId + "/forecast").then(function (res) {
      button.disabled = false; button.textContent = label;
      if (!res.ok) { say("forecast-problem", fill(T.act_failed, { why: res.why })); return; }
      fc.tomorrow = null;
      fetchForecast(); warningsSoon();  // the forecast may raise warnings for the coming hour
    }).catch(function (e) {
      button.disabled = false; button.textContent = label;
      say("forecast-problem", fill(T.act_failed, { why: e.message }));
    });
  }

  function renderForecast() {
    var data = fc[fc.which], card = $("forecast-card");
    if (!data) return;
    var has = data.slots.length > 0;
    card.setAttribute("data-state", has ? "ready" : "empty");
    card.setAttribute("data-date", data.date);
    $("forecast-charts").hidden = !has;
    $("forecast-empty").hidden = has;
    var again = $("forecast-again");
    if (again) again.hidden = !has;
    if (has) {
      var frame = forecastFrame(data);
      drawForecast(data, frame);
      drawNeeds(data, frame);
      var source = data.slots[data.slots.length - 1].source || (data.model || {}).source;
      text("forecast-meta", [data.made_at ? fill(T.forecast_made, { t: dayTime(data.made_at) }) : "",
        T.sources[source] || source || ""].filter(Boolean).join(" · "));
    }
    renderPlan(data);
  }

  var hallDate = new Intl.DateTimeFormat("en-CA", { timeZone: cfg.hall.timezone, year: "numeric", month: "2-digit",
    day: "2-digit" });
  function dayTime(iso) {  // "08:12", or "11-21 22:00" when not on the hall's today
    var ms = Date.parse(iso), day = hallDate.format(new Date(ms));
    return (fc.today && day !== fc.today.date ? day.slice(5) + " " : "") + hhmm(ms);
  }

  function forecastFrame(data) {  // the day's time axis: whole hours of the hall's clock around its open intervals
    var stepMs = data.interval_minutes * MIN, HOUR = 3600000;
    var starts = data.slots.map(function (p) { return Date.parse(p.slot); });
    var offset = offsetMs(data.slots[0].slot);
    var t0 = Math.floor((starts[0] + offset) / HOUR) * HOUR - offset;
    var t1 = Math.ceil((starts[starts.length - 1] + stepMs + offset) / HOUR) * HOUR - offset;
    var W = Math.max($("forecast-chart").clientWidth || $("forecast-card").clientWidth - 28, 300);
    var left = 34, right = 20, plotW = W - left - right;
    var runs = [], run = null;  // contiguous open intervals (a hall may close at noon)
    starts.forEach(function (t, i) {
      if (run && t === run.end) { run.end = t + stepMs; run.idx.push(i); }
      else { run = { start: t, end: t + stepMs, idx: [i] }; runs.push(run); }
    });
    var now = Date.now(), today = fc.today && data.date === fc.today.date;
    return { W: W, left: left, right: right, plotW: plotW, t0: t0, t1: t1, stepMs: stepMs, starts: starts, runs: runs,
      now: today && now > t0 && now < t1 ? now : null,
      x: function (t) { return left + (t - t0) / (t1 - t0) * plotW; } };
  }

  function timeAxis(svg, f, top, plotH, H) {
    var HOUR = 3600000, hours = (f.t1 - f.t0) / HOUR;
    var every = [1, 2, 3, 4, 6].filter(function (h) { return f.plotW / hours * h >= 44; })[0] || 6;
    for (var t = f.t0; t <= f.t1; t += every * HOUR) {
      svg.appendChild(node("line", { "class": "axis", x1: f.x(t), x2: f.x(t), y1: top + plotH, y2: top + plotH + 4 }));
      svg.appendChild(node("text", { "class": "tick", x: f.x(t), y: H - 6, "text-anchor": "middle" }, hhmm(t)));
    }
  }

  function valueAxis(svg, f, y, yMax, yStep, caption, top) {
    for (var v = 0; v <= yMax + 1e-9; v += yStep) {
      svg.appendChild(node("line", { "class": v ? "grid" : "axis", x1: f.left, x2: f.W - f.right, y1: y(v), y2: y(v) }));
      svg.appendChild(node("text", { "class": "tick", x: f.left - 4, y: y(v) + 4, "text-anchor": "end" }, String(v)));
    }
    svg.appendChild(node("text", { "class": "caption", x: f.left + 4, y: top - 3 }, caption));
  }

  function nowMarker(svg, f, top, plotH, label) {
    if (f.now == null) return;
    svg.appendChild(node("line", { "class": "now", x1: f.x(f.now), x2: f.x(f.now), y1: top, y2: top + plotH }));
    if (label) svg.appendChild(node("text", { "class": "now-label", x: f.x(f.now) + 3, y: top + 10 }, label));
  }

  function round1(v) { return Math.round(v * 10) / 10; }

  function drawForecast(data, f) {
    var slots = data.slots, H = 250, top = 18, bottom = 24, plotH = H - top - bottom;
    var peak = Math.max.apply(null, [4].concat(slots.map(function (p) { return Math.max(p.p90, p.actual || 0); })));
    var yStep = niceStep(peak * 1.1, 5), yMax = yStep * Math.ceil(peak * 1.1 / yStep);
    function y(v) { return top + plotH - v / yMax * plotH; }
    function mid(i) { return f.x(f.starts[i] + f.stepMs / 2); }
    var actualTotal = slots.reduce(function (a, p) { return a + (p.actual || 0); }, 0);
    var svg = node("svg", { viewBox: "0 0 " + f.W + " " + H, "data-date": data.date, "data-slots": slots.length,
      "data-actual": actualTotal, "data-p90-peak": round1(Math.max.apply(null, slots.map(function (p) { return p.p90; }))) });
    valueAxis(svg, f, y, yMax, yStep, fill(T.per_interval, { m: data.interval_minutes }), top);
    timeAxis(svg, f, top, plotH, H);
    f.runs.forEach(function (run) {  // the band and the median, through the middle of each interval
      var upper = run.idx.map(function (i) { return mid(i).toFixed(1) + "," + y(slots[i].p90).toFixed(1); });
      var lower = run.idx.slice().reverse().map(function (i) { return mid(i).toFixed(1) + "," + y(slots[i].p10).toFixed(1); });
      svg.appendChild(node("polygon", { "class": "band", points: upper.concat(lower).join(" ") }));
    });
    var barW = Math.max(2, (f.x(f.t0 + f.stepMs) - f.x(f.t0)) * 0.6);
    slots.forEach(function (p, i) {
      if (p.actual == null) return;
      svg.appendChild(node("rect", { "class": "bar-actual" + (p.actual > p.p90 ? " above" : ""), x: mid(i) - barW / 2,
        y: y(p.actual), width: barW, height: Math.max(0, y(0) - y(p.actual)), "data-slot": p.slot, "data-actual": p.actual }));
    });
    f.runs.forEach(function (run) {
      svg.appendChild(node("polyline", { "class": "line-p50",
        points: run.idx.map(function (i) { return mid(i).toFixed(1) + "," + y(slots[i].p50).toFixed(1); }).join(" ") }));
    });
    slots.forEach(function (p, i) {  // a tooltip per interval
      var hit = node("rect", { "class": "hit", x: f.x(f.starts[i]), y: top, width: Math.max(1, f.x(f.t0 + f.stepMs) - f.x(f.t0)),
        height: plotH });
      var words = [fill(T.forecast_slot, { from: hhmm(f.starts[i]), to: hhmm(f.starts[i] + f.stepMs), p50: round1(p.p50),
        p10: round1(p.p10), p90: round1(p.p90), mean: round1(p.mean) })];
      if (p.actual != null) words.push(fill(T.actual_slot, { n: p.actual }));
      hit.appendChild(node("title", {}, words.join(T.sep)));
      svg.appendChild(hit);
    });
    nowMarker(svg, f, top, plotH, T.now);
    var box = $("forecast-chart"); box.textContent = ""; box.appendChild(svg);
  }

  function stepPoints(f, run, values, y) {  // a step line across the run's intervals
    var pts = [];
    run.idx.forEach(function (i) {
      var v = values[i];
      pts.push(f.x(f.starts[i]).toFixed(1) + "," + y(v).toFixed(1), f.x(f.starts[i] + f.stepMs).toFixed(1) + "," + y(v).toFixed(1));
    });
    return pts.join(" ");
  }

  function drawNeeds(data, f) {
    var slots = data.slots, H = 150, top = 18, bottom = 24, plotH = H - top - bottom;
    var isToday = fc.today && data.date === fc.today.date;
    var openNow = isToday ? (snap ? snap.load.open_counters : data.open_counters_now) : null;
    var needed = slots.map(function (p) { return p.needed; });
    var planned = slots.map(function (p) { return p.planned; });
    var hasPlan = planned.some(function (v) { return v != null; });
    var peak = Math.max.apply(null, [2, openNow || 0].concat(needed, planned.map(function (v) { return v || 0; })));
    var yStep = niceStep(peak + 1, 4), yMax = yStep * Math.ceil((peak + 1) / yStep);
    function y(v) { return top + plotH - v / yMax * plotH; }
    var svg = node("svg", { viewBox: "0 0 " + f.W + " " + H, "data-date": data.date,
      "data-peak-needed": Math.max.apply(null, needed), "data-open-now": openNow == null ? "" : openNow,
      "data-planned": hasPlan ? "1" : "0" });
    valueAxis(svg, f, y, yMax, yStep, T.counters_axis, top);
    timeAxis(svg, f, top, plotH, H);
    if (openNow != null) {  // from now on, intervals that need more counters than are open
      slots.forEach(function (p, i) {
        if (f.starts[i] + f.stepMs <= Date.now() || p.needed <= openNow) return;
        svg.appendChild(node("rect", { "class": "short", x: f.x(f.starts[i]), y: top, height: plotH,
          width: Math.max(1, f.x(f.t0 + f.stepMs) - f.x(f.t0)), "data-slot": p.slot }));
      });
    }
    f.runs.forEach(function (run) {  // the plan under the need: where they agree, both show
      if (hasPlan) svg.appendChild(node("polyline", { "class": "step-planned",
        points: stepPoints(f, run, planned.map(function (v) { return v || 0; }), y) }));
      svg.appendChild(node("polyline", { "class": "step-needed", points: stepPoints(f, run, needed, y) }));
    });
    if (openNow != null) {
      svg.appendChild(node("line", { "class": "open-now", x1: f.left, x2: f.W - f.right, y1: y(openNow), y2: y(openNow) }));
      svg.appendChild(node("text", { "class": "open-now-label", x: f.W - f.right - 2, y: y(openNow) - 4, "text-anchor": "end" },
        fill(T.open_now_line, { n: openNow })));
    }
    slots.forEach(function (p, i) {
      var hit = node("rect", { "class": "hit", x: f.x(f.starts[i]), y: top, height: plotH,
        width: Math.max(1, f.x(f.t0 + f.stepMs) - f.x(f.t0)) });
      var words = [hhmm(f.starts[i]) + "–" + hhmm(f.starts[i] + f.stepMs), fill(T.needed_slot, { n: p.needed })];
      if (p.planned != null) words.push(fill(T.planned_slot, { n: p.planned }));
      hit.appendChild(node("title", {}, words.join(T.sep)));
      svg.appendChild(hit);
    });
    nowMarker(svg, f, top, plotH, null);
    var box = $("counters-chart"); box.textContent = ""; box.appendChild(svg);
  }

  function endOf(shift) { return shift.to === "00:00" ? "24:00" : shift.to; }  // a shift to midnight
  function minutesOf(hm) { var m = /^(\d\d):(\d\d)$/.exec(hm); return m ? +m[1] * 60 + +m[2] : 0; }

  function renderPlan(data) {
    var plan = data.plan, list = $("shifts"), isToday = fc.today && data.date === fc.today.date;
    text("plan-day", isToday ? T.today_word : T.tomorrow_word);
    text("open-now", isToday ? (snap ? snap.load.open_counters : data.open_counters_now) : "—");
    $("plan-card").setAttribute("data-plan", plan ? "1" : "0");
    list.textContent = "";
    $("plan-none").hidden = !!plan;
    text("peak-needed", plan ? plan.peak_needed : "—");
    text("counter-hours", plan ? fill(T.hours_value, { h: plan.counter_hours }) : "—");
    if (!plan) return;
    var byCounter = {}, order = [];
    plan.shifts.forEach(function (s) {
      if (!byCounter[s.counter]) { byCounter[s.counter] = []; order.push(s.counter); }
      byCounter[s.counter].push(s);
    });
    // the day's span on every counter's track: the forecast's open hours
    var first = data.slots.length ? data.slots[0].slot.slice(11, 16) : "08:00";
    var lastSlot = data.slots.length ? data.slots[data.slots.length - 1].slot.slice(11, 16) : "20:00";
    var d0 = Math.min(minutesOf(first), Math.min.apply(null, plan.shifts.map(function (s) { return minutesOf(s.from); })));
    var d1 = Math.max(minutesOf(lastSlot) + data.interval_minutes,
      Math.max.apply(null, plan.shifts.map(function (s) { return minutesOf(s.to) || 1440; })));
    var span = Math.max(d1 - d0, 1);
    order.sort(function (a, b) { return a - b; }).forEach(function (n) {
      var li = hallq.el("li", { "data-counter": n });
      var times = byCounter[n].map(function (s) { return s.from + "–" + endOf(s); });
      li.appendChild(hallq.el("span", { "class": "who" }, fill(T.counter_n, { n: n })));
      li.appendChild(hallq.el("span", { "class": "times" }, times.join(T.list_sep)));
      var track = hallq.el("span", { "class": "track", "aria-hidden": "true" });
      byCounter[n].forEach(function (s) {
        var a = minutesOf(s.from), b = minutesOf(s.to) || 1440;
        var seg = hallq.el("span", { "class": "seg", title: fill(T.shift, { n: n, from: s.from, to: endOf(s) }) });
        seg.style.left = ((a - d0) / span * 100).toFixed(2) + "%";
        seg.style.width = (Math.max(b - a, 1) / span * 100).toFixed(2) + "%";
        track.appendChild(seg);
      });
      li.appendChild(track);
      list.appendChild(li);
    });
  }

  // ---------------------------------------------------------------- peak warnings
  // GET /api/v1/halls/{id}/warnings: the standing ones. Fetched again when a PeakWarningChanged
  // delta arrives and every WARNINGS_EVERY_MS anyway (a checker in another process may not reach
  // this page's Socket.IO). A warning that appears while the page is open is highlighted.
  var WARNINGS_EVERY_MS = 30000, FRESH_MS = 60000;
  var seen = null, freshUntil = {}, warnings = [], warnQueued = null, acking = {};
  page.warningFetches = 0;
  var baseTitle = document.title;

  function fetchWarnings() {
    var asked = page.warningFetches += 1;
    return getJSON("/api/v1/halls/" + hallId + "/warnings").then(function (data) {
      if (asked !== page.warningFetches) return;
      say("warnings-problem", "");
      renderWarnings(data.warnings);
    }).catch(function (e) {
      if (asked !== page.warningFetches) return;
      say("warnings-problem", whyText(e, T.warnings_failed));
    });
  }

  function warningsSoon() {
    if (warnQueued) return;
    warnQueued = setTimeout(function () { warnQueued = null; fetchWarnings(); }, 300);
  }

  function staffName(id) {
    if (id == null) return null;
    return (cfg.staff && cfg.staff[String(id)]) || fill(T.staff_n, { n: id });
  }

  function renderWarnings(list) {
    var now = Date.now();
    list = list.slice().sort(function (a, b) { return Date.parse(b.raised_at) - Date.parse(a.raised_at) || b.id - a.id; });
    list.forEach(function (w) {
      if (seen && !seen[w.id] && !freshUntil[w.id]) freshUntil[w.id] = now + FRESH_MS;  // new since the page opened
    });
    seen = {};
    list.forEach(function (w) { seen[w.id] = true; });
    warnings = list;
    var ul = $("warnings"), card = $("warnings-card");
    ul.textContent = "";
    list.forEach(function (w) { ul.appendChild(warningRow(w, now)); });
    var open = list.filter(function (w) { return !w.acknowledged_at; });
    $("warnings-none").hidden = list.length > 0;
    var count = $("warnings-count");
    count.textContent = fill(T.warnings_count, { n: list.length }); count.hidden = !list.length;
    card.setAttribute("data-standing", list.length);
    card.className = "card warnings-card" + (open.some(function (w) { return w.severity === "critical"; }) ? " alarm"
      : (open.length ? " alert-on" : ""));
    document.title = (open.length ? "(" + open.length + ") " : "") + baseTitle;
  }

  function warningRow(w, now) {
    var fresh = freshUntil[w.id] && freshUntil[w.id] > now && !w.acknowledged_at;
    var li = hallq.el("li", { "data-warning": w.id, "data-severity": w.severity, "data-kind": w.kind,
      "data-acknowledged": w.acknowledged_at ? "1" : "0",
      "class": ["warning", w.severity, w.acknowledged_at ? "acked" : "", fresh ? "fresh" : ""].join(" ").trim() });
    var head = hallq.el("div", { "class": "head" });
    head.appendChild(hallq.el("span", { "class": "sev" }, T.severities[w.severity] || w.severity));
    head.appendChild(hallq.el("span", { "class": "kind" }, T.kinds_warning[w.kind] || w.kind));
    var times = [fill(T.raised_at, { t: hhmm(Date.parse(w.raised_at)) })];
    if (w.updated_at && Math.abs(Date.parse(w.updated_at) - Date.parse(w.raised_at)) >= MIN) {
      times.push(fill(T.updated_at, { t: hhmm(Date.parse(w.updated_at)) }));
    }
    head.appendChild(hallq.el("span", { "class": "time" }, times.join(" · ")));
    li.appendChild(head);
    li.appendChild(hallq.el("p", { "class": "msg" }, en ? (w.message_en || w.message_zh) : w.message_zh));
    var act = hallq.el("div", { "class": "act" });
    if (w.acknowledged_at) {
      var who = staffName(w.acknowledged_by), at = hhmm(Date.parse(w.acknowledged_at));
      act.appendChild(hallq.el("span", { "class": "acked-by" }, "✓ " + T.acknowledged + " · " +
        (who ? fill(T.acknowledged_by, { who: who, t: at }) : fill(T.acknowledged_at, { t: at }))));
    } else if (cfg.can_manage) {
      var button = hallq.el("button", { type: "button", "class": "ack" }, acking[w.id] ? T.acknowledging : T.acknowledge);
      button.disabled = !!acking[w.id];
      button.onclick = function () { acknowledge(w.id, li); };
      act.appendChild(button);
    } else {
      act.appendChild(hallq.el("span", { "class": "unacked" }, T.unacknowledged));
    }
    li.appendChild(act);
    return li;
  }

  function acknowledge(id, li) {
    acking[id] = true;
    var button = li.querySelector("button.ack");
    if (button) { button.disabled = true; button.textContent = T.acknowledging; }
    postJSON("/api/v1/warnings/" + id + "/acknowledge").then(function (res) {
      delete acking[id];
      if (res.ok) {
        renderWarnings(warnings.map(function (w) { return w.id === id ? res.data : w; }));
      } else if (res.status === 409 || res.status === 404) {
        fetchWarnings();  // acknowledged (or resolved) meanwhile: show what stands
      } else {
        if (button) { button.disabled = false; button.textContent = T.acknowledge; }
        say("warnings-problem", fill(T.act_failed, { why: res.why }));
      }
    }).catch(function (e) {
      delete acking[id];
      if (button) { button.disabled = false; button.textContent = T.acknowledge; }
      say("warnings-problem", fill(T.act_failed, { why: e.message }));
    });
  }

  setInterval(function () {  // the highlight of a new warning fades after FRESH_MS
    var now = Date.now();
    Array.prototype.forEach.call(document.querySelectorAll("#warnings li.fresh"), function (li) {
      var id = li.getAttribute("data-warning");
      if (!(freshUntil[id] > now)) li.classList.remove("fresh");
    });
  }, 5000);

  // ---------------------------------------------------------------- today's appointments (预约)
  // GET /api/v1/halls/{id}/appointments: per slot, the counter-seconds the plan leaves for booking
  // and what bookings hold, and the appointments by state. Fetched again when one is booked,
  // cancelled, moved or checked in, when a new plan is made, and every APPOINTMENTS_EVERY_MS
  // (the scheduler marks no-shows without telling this page).
  var APPOINTMENTS_EVERY_MS = 60000, APPT_STATES = ["booked", "checked_in", "cancelled", "no_show"];
  var appt = null, apptQueued = null;
  page.appointmentFetches = 0;

  function fetchAppointments() {
    var asked = page.appointmentFetches += 1;
    return getJSON("/api/v1/halls/" + hallId + "/appointments").then(function (data) {
      if (asked !== page.appointmentFetches) return;
      appt = data; say("appt-problem", ""); renderAppointments();
    }).catch(function (e) {
      if (asked !== page.appointmentFetches) return;
      say("appt-problem", whyText(e, T.appt_failed));
    });
  }

  function appointmentsSoon() {
    if (apptQueued) return;
    apptQueued = setTimeout(function () { apptQueued = null; fetchAppointments(); }, 300);
  }

  function renderAppointments() {
    var card = $("appointments-card"), data = appt;
    var totals = { booked: 0, checked_in: 0, cancelled: 0, no_show: 0 };
    data.slots.forEach(function (p) {
      Object.keys(p.appointments || {}).forEach(function (k) { totals[k] = (totals[k] || 0) + p.appointments[k]; });
    });
    var any = APPT_STATES.some(function (k) { return totals[k] > 0; });
    card.hidden = !data.enabled && !any;  // a hall that takes none shows nothing of it
    card.setAttribute("data-state", !data.planned ? "no-plan" : (data.slots.length ? "ready" : "empty"));
    card.setAttribute("data-date", data.day);
    APPT_STATES.forEach(function (k) { text("appt-" + k, totals[k] || 0); });
    text("appt-total", fill(T.appt_total, { n: totals.booked + totals.checked_in + totals.no_show }));
    var meta = [];
    if (!data.enabled) meta.push(T.appt_off);
    else if (!data.planned) meta.push(T.appt_no_plan);
    else meta.push(fill(T.appt_share, { p: Math.round(data.share * 100) + "%" }));
    text("appt-meta", meta.join(T.sep));
    drawAppointments(data);
  }

  function drawAppointments(data) {
    var box = $("appt-chart"), slots = data.slots, H = 150, top = 18, bottom = 24, left = 40, right = 20;
    var W = Math.max(box.clientWidth || $("appointments-card").clientWidth - 28, 300), plotW = W - left - right;
    var plotH = H - top - bottom, n = Math.max(slots.length, 1), slotW = plotW / n;
    var cap = slots.map(function (p) { return p.capacity_s / 60; }), held = slots.map(function (p) { return p.booked_s / 60; });
    var peak = Math.max.apply(null, [10].concat(cap, held));
    var yStep = niceStep(peak * 1.1, 4), yMax = yStep * Math.ceil(peak * 1.1 / yStep);
    function y(v) { return top + plotH - v / yMax * plotH; }
    function x(i) { return left + i * slotW; }
    var booked = held.reduce(function (a, v) { return a + v; }, 0), offered = cap.reduce(function (a, v) { return a + v; }, 0);
    var svg = node("svg", { viewBox: "0 0 " + W + " " + H, "data-slots": slots.length, "data-booked-min": Math.round(booked),
      "data-capacity-min": Math.round(offered) });
    for (var v = 0; v <= yMax + 1e-9; v += yStep) {
      svg.appendChild(node("line", { "class": v ? "grid" : "axis", x1: left, x2: W - right, y1: y(v), y2: y(v) }));
      svg.appendChild(node("text", { "class": "tick", x: left - 4, y: y(v) + 4, "text-anchor": "end" }, String(v)));
    }
    svg.appendChild(node("text", { "class": "caption", x: left + 4, y: top - 3 }, T.appt_axis));
    if (!slots.length) {
      svg.appendChild(node("text", { "class": "empty", x: left + plotW / 2, y: top + plotH / 2, "text-anchor": "middle" },
        data.planned ? T.appt_none : T.appt_no_plan));
    }
    var every = Math.max(1, Math.ceil(44 / slotW));  // a time under every slot that has room for one
    var step = slots.length > 1 ? Date.parse(slots[1].start) - Date.parse(slots[0].start) : 30 * MIN;
    slots.forEach(function (p, i) {
      var w = Math.max(1, slotW - 2);
      svg.appendChild(node("rect", { "class": "bar-capacity", x: x(i) + 1, y: y(cap[i]), width: w,
        height: Math.max(0, y(0) - y(cap[i])), "data-start": p.start, "data-capacity-s": p.capacity_s }));
      svg.appendChild(node("rect", { "class": "bar-booked" + (p.booked_s > 0 && p.booked_s >= p.capacity_s ? " full" : ""),
        x: x(i) + 1 + w * 0.2, y: y(held[i]), width: Math.max(1, w * 0.6), height: Math.max(0, y(0) - y(held[i])),
        "data-start": p.start, "data-booked-s": p.booked_s }));
      if (i % every === 0) {
        svg.appendChild(node("text", { "class": "tick", x: x(i) + slotW / 2, y: H - 6, "text-anchor": "middle" }, p.local));
      }
      var count = APPT_STATES.reduce(function (a, k) { return a + ((p.appointments || {})[k] || 0); }, 0);
      var hit = node("rect", { "class": "hit", x: x(i), y: top, width: Math.max(1, slotW), height: plotH });
      var words = [fill(T.appt_slot, { from: p.local, to: hhmm(Date.parse(p.start) + step),
        booked: Math.round(held[i]), capacity: Math.round(cap[i]) })];
      if (count) {
        words.push(fill(T.appt_count, { n: count }) + ": " + APPT_STATES.filter(function (k) { return (p.appointments || {})[k]; })
          .map(function (k) { return $("appt-" + k).previousElementSibling.textContent + " " + p.appointments[k]; }).join(T.list_sep));
      }
      hit.appendChild(node("title", {}, words.join(T.sep)));
      svg.appendChild(hit);
    });
    var now = Date.now();
    if (slots.length && now > Date.parse(slots[0].start) && now < Date.parse(slots[slots.length - 1].start) + step) {
      var at = slots.filter(function (p) { return Date.parse(p.start) <= now; }).length - 1;
      var nx = x(at) + (now - Date.parse(slots[at].start)) / step * slotW;
      svg.appendChild(node("line", { "class": "now", x1: nx, x2: nx, y1: top, y2: top + plotH }));
    }
    box.textContent = "";
    box.appendChild(svg);
  }

  function onDelta(delta) {
    if (delta.event === "AppointmentChanged" || (delta.event === "TicketIssued" && delta.channel === "appointment")) {
      appointmentsSoon();
    } else if (delta.event === "FootfallCounted") fetchSoon();
    else if (delta.event === "PeakWarningChanged") {
      if (delta.change === "raised") freshUntil[delta.warning_id] = Date.now() + FRESH_MS;
      warningsSoon();
    } else if (delta.event === "ForecastUpdated") { fc.tomorrow = null; fetchForecast(); appointmentsSoon(); }
    else if (delta.event === "CounterPaused" || delta.event === "CounterResumed") page.live.resync();
  }

  // ---------------------------------------------------------------- live
  var wasDown = false;
  page.live = new HallLive({
    query: { hall_id: hallId },
    onSnapshot: onSnapshot,
    onDelta: onDelta,
    onStatus: function (ok) {
      $("link").className = "link " + (ok ? "up" : "down");
      trouble.offline = !ok;
      problem();
      if (!ok) { wasDown = true; return; }
      if (wasDown) { wasDown = false; fetchSoon(); warningsSoon(); appointmentsSoon(); }  // things may have happened while we were away
    },
  });
  var pick = $("hall-pick");
  if (pick) pick.onchange = function () { location.search = "?hall=" + pick.value; };
  Array.prototype.forEach.call(document.querySelectorAll(".day-pick button"), function (b) {
    b.onclick = function () { pickDay(b.getAttribute("data-day")); };
  });
  ["forecast-now", "forecast-again"].forEach(function (id) {
    var b = $(id);
    if (b) b.onclick = function () { forecastNow(b); };
  });
  fetchFootfall();
  fetchForecast();
  fetchWarnings();
  fetchAppointments();
  setInterval(fetchFootfall, REFETCH_EVERY_MS);
  setInterval(fetchAppointments, APPOINTMENTS_EVERY_MS);
  setInterval(function () { if (fc.which === "today") fetchForecast(); }, FORECAST_EVERY_MS);
  setInterval(fetchWarnings, WARNINGS_EVERY_MS);
})();
