/* The hall manager's live page: load, queues and counters from the hall's live snapshots; the
 * day's door counts from GET /api/v1/halls/{id}/footfall, fetched again when counts arrive
 * (a FootfallCounted delta, at most every REFETCH_MIN_MS) and every REFETCH_EVERY_MS anyway. */
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
      var tr = hallq.el("tr", { "data-prefix": s.prefix });
      var m = hallq.minutes(s.estimated_wait_s);
      tr.appendChild(hallq.el("td", {}, s.prefix + " " + name(s)));
      tr.appendChild(hallq.el("td", { "class": "n waiting" }, String(s.waiting)));
      tr.appendChild(hallq.el("td", {}, s.waiting === 0 ? "—" : (m == null ? T.no_counter : fill(T.wait_min, { m: m }))));
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
      tr.appendChild(hallq.el("td", {}, !c.is_open ? T.closed : (c.ticket ? T[c.ticket.state] || c.ticket.state : T.open)));
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
    if (newDay) fetchFootfall();  // past midnight: today's chart starts afresh
    else if (day) drawChart();  // the busy line follows the hall's rules
  }

  // ---------------------------------------------------------------- door counts of the day
  var lastFetch = 0, queued = null;

  function fetchFootfall() {
    var asked = page.footfallFetches += 1;
    lastFetch = Date.now();
    fetch("/api/v1/halls/" + hallId + "/footfall?interval=15", { credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401) throw new Error("signed-out");
        return r.json().then(function (data) {
          if (!r.ok) throw new Error(data.error ? data.error.message : String(r.status));
          return data;
        });
      })
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
    resized = setTimeout(function () { if (day) drawChart(); }, 150);
  });

  // ---------------------------------------------------------------- live
  var wasDown = false;
  page.live = new HallLive({
    query: { hall_id: hallId },
    onSnapshot: onSnapshot,
    onDelta: function (delta) { if (delta.event === "FootfallCounted") fetchSoon(); },
    onStatus: function (ok) {
      $("link").className = "link " + (ok ? "up" : "down");
      trouble.offline = !ok;
      problem();
      if (!ok) { wasDown = true; return; }
      if (wasDown) { wasDown = false; fetchSoon(); }  // counts may have come while we were away
    },
  });
  var pick = $("hall-pick");
  if (pick) pick.onchange = function () { location.search = "?hall=" + pick.value; };
  fetchFootfall();
  setInterval(fetchFootfall, REFETCH_EVERY_MS);
})();
