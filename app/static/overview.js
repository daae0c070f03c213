/* Head office's table of every hall (/manager/overview): people waiting, open counters and the
 * standing peak warnings per hall, from GET /api/v1/overview, fetched every REFRESH_MS. Halls
 * with a critical warning come first, then those with a warning; each row leads to the hall's
 * live page. */
import { hallq } from "./hallq.js";
import { getJSON } from "./lib/api.js";
import { $, el, showText } from "./lib/dom.js";
import { timeOfDay } from "./lib/format.js";
import { T, en, fill } from "./lib/i18n.js";

const REFRESH_MS = 30000, RANK = { critical: 0, warning: 1 };
const page = hallq.overview = { fetches: 0, halls: [] };
const clock = timeOfDay(window.OVERVIEW.zone, { seconds: true });  // head office's time zone, not the browser's

const problem = (message) => showText($("problem"), message);

function fetchOverview() {
  const asked = page.fetches += 1;
  getJSON("/api/v1/overview")
    .then((data) => {
      if (asked !== page.fetches) return;
      page.halls = data.halls; render(); problem("");
      $("updated").textContent = fill(T.updated, { t: clock(Date.now()) });
    })
    .catch((e) => {
      if (asked !== page.fetches) return;
      problem(e.message === "signed-out" ? T.signed_out : fill(T.load_failed, { why: e.message }));
    });
}

function render() {
  const only = $("only-warned").checked, rows = $("halls");
  const rank = (h) => (h.worst in RANK ? RANK[h.worst] : 2);
  const halls = page.halls.map((h, i) => ({ h, i })).sort((a, b) =>
    // the server's order: region, city, code
    rank(a.h) - rank(b.h) || b.h.unacknowledged - a.h.unacknowledged || a.i - b.i).map((x) => x.h);
  const warned = halls.filter((h) => h.warnings > 0);
  const critical = halls.filter((h) => h.worst === "critical");
  $("summary").textContent = fill(T.summary, { halls: halls.length, warned: warned.length, critical: critical.length });
  const shown = only ? warned : halls;
  rows.textContent = "";
  for (const h of shown) {
    const tr = el("tr", { "data-hall": h.hall_id, "class": h.worst || "" });
    tr.appendChild(el("td", {}, h.region_zh));
    tr.appendChild(el("td", {}, h.city_zh));
    const cell = el("td", {}), link = el("a", { "class": "hall", href: "/manager/?hall=" + h.hall_id },
      en ? (h.name_en || h.name_zh) : h.name_zh);
    cell.appendChild(link);
    cell.appendChild(el("span", { "class": "code" }, h.code));
    tr.appendChild(cell);
    tr.appendChild(el("td", { "class": "n waiting" }, String(h.waiting)));
    tr.appendChild(el("td", { "class": "n open" }, String(h.open_counters)));
    const count = el("td", { "class": "n warn-count" });
    count.appendChild(el("span", { "class": "pill " + (h.worst || ""), title: h.worst ? T.severities[h.worst] : "" },
      String(h.warnings)));
    tr.appendChild(count);
    tr.appendChild(el("td", { "class": "n" + (h.unacknowledged ? " unack" : "") }, String(h.unacknowledged)));
    const messages = en ? h.messages_en : h.messages_zh, said = el("td", { "class": "said" });
    if (messages.length) {
      const ul = el("ul", { "class": "msgs" });
      for (const m of messages) ul.appendChild(el("li", {}, m));
      said.appendChild(ul);
    } else {
      said.textContent = "—";
    }
    tr.appendChild(said);
    rows.appendChild(tr);
  }
  const empty = $("ov-empty");
  empty.textContent = T.empty; empty.hidden = shown.length > 0;
}

$("only-warned").onchange = render;
fetchOverview();
setInterval(fetchOverview, REFRESH_MS);
