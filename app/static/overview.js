/* Head office's table of every hall (/manager/overview): people waiting, open counters and the
 * standing peak warnings per hall, from GET /api/v1/overview, fetched every REFRESH_MS. Halls
 * with a critical warning come first, then those with a warning; each row leads to the hall's
 * live page. */
(function () {
  "use strict";
  var T = hallq.strings(), en = window.OVERVIEW.lang === "en", fill = hallq.fill, el = hallq.el;
  var REFRESH_MS = 30000, RANK = { critical: 0, warning: 1 };
  var $ = function (id) { return document.getElementById(id); };
  var page = hallq.overview = { fetches: 0, halls: [] };
  var clock = new Intl.DateTimeFormat("en-GB", { timeZone: window.OVERVIEW.zone, hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23" });  // head office's time zone, not the browser's

  function problem(message) { var p = $("problem"); p.textContent = message || ""; p.hidden = !message; }

  function fetchOverview() {
    var asked = page.fetches += 1;
    hallq.getJSON("/api/v1/overview")
      .then(function (data) {
        if (asked !== page.fetches) return;
        page.halls = data.halls; render(); problem("");
        $("updated").textContent = fill(T.updated, { t: clock.format(new Date()) });
      })
      .catch(function (e) {
        if (asked !== page.fetches) return;
        problem(e.message === "signed-out" ? T.signed_out : fill(T.load_failed, { why: e.message }));
      });
  }

  function render() {
    var only = $("only-warned").checked, rows = $("halls");
    var halls = page.halls.map(function (h, i) { return { h: h, i: i }; }).sort(function (a, b) {
      var ra = a.h.worst in RANK ? RANK[a.h.worst] : 2, rb = b.h.worst in RANK ? RANK[b.h.worst] : 2;
      return ra - rb || b.h.unacknowledged - a.h.unacknowledged || a.i - b.i;  // the server's order: region, city, code
    }).map(function (x) { return x.h; });
    var warned = halls.filter(function (h) { return h.warnings > 0; });
    var critical = halls.filter(function (h) { return h.worst === "critical"; });
    $("summary").textContent = fill(T.summary, { halls: halls.length, warned: warned.length, critical: critical.length });
    var shown = only ? warned : halls;
    rows.textContent = "";
    shown.forEach(function (h) {
      var tr = el("tr", { "data-hall": h.hall_id, "class": h.worst || "" });
      tr.appendChild(el("td", {}, h.region_zh));
      tr.appendChild(el("td", {}, h.city_zh));
      var cell = el("td", {}), link = el("a", { "class": "hall", href: "/manager/?hall=" + h.hall_id },
        en ? (h.name_en || h.name_zh) : h.name_zh);
      cell.appendChild(link);
      cell.appendChild(el("span", { "class": "code" }, h.code));
      tr.appendChild(cell);
      tr.appendChild(el("td", { "class": "n waiting" }, String(h.waiting)));
      tr.appendChild(el("td", { "class": "n open" }, String(h.open_counters)));
      var count = el("td", { "class": "n warn-count" });
      count.appendChild(el("span", { "class": "pill " + (h.worst || ""), title: h.worst ? T.severities[h.worst] : "" },
        String(h.warnings)));
      tr.appendChild(count);
      tr.appendChild(el("td", { "class": "n" + (h.unacknowledged ? " unack" : "") }, String(h.unacknowledged)));
      var messages = en ? h.messages_en : h.messages_zh, said = el("td", { "class": "said" });
      if (messages.length) {
        var ul = el("ul", { "class": "msgs" });
        messages.forEach(function (m) { ul.appendChild(el("li", {}, m)); });
        said.appendChild(ul);
      } else {
        said.textContent = "—";
      }
      tr.appendChild(said);
      rows.appendChild(tr);
    });
    var empty = $("ov-empty");
    empty.textContent = T.empty; empty.hidden = shown.length > 0;
  }

  $("only-warned").onchange = render;
  fetchOverview();
  setInterval(fetchOverview, REFRESH_MS);
})();
