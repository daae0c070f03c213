/* Peak warnings: GET /api/v1/halls/{id}/warnings, the standing ones. Fetched again when a
 * PeakWarningChanged delta arrives and every WARNINGS_EVERY_MS anyway (a checker in another
 * process may not reach this page's Socket.IO). A warning that appears while the page is open is
 * highlighted for FRESH_MS; those who manage the hall acknowledge them here. */
import { $, MIN, T, cfg, el, en, fill, getJSON, hallId, hhmm, page, postJSON, say, whyText } from "./context.js";

export const WARNINGS_EVERY_MS = 30000;
const FRESH_MS = 60000;
const freshUntil = {}, acking = {};
let seen = null, warnings = [], queued = null;
page.warningFetches = 0;
const baseTitle = document.title;

export function fetchWarnings() {
  const asked = page.warningFetches += 1;
  return getJSON("/api/v1/halls/" + hallId + "/warnings").then((data) => {
    if (asked !== page.warningFetches) return;
    say("warnings-problem", "");
    renderWarnings(data.warnings);
  }).catch((e) => {
    if (asked !== page.warningFetches) return;
    say("warnings-problem", whyText(e, T.warnings_failed));
  });
}

export function warningsSoon() {
  if (queued) return;
  queued = setTimeout(() => { queued = null; fetchWarnings(); }, 300);
}

// a PeakWarningChanged delta: a raised one is new to this page
export function warningChanged(delta) {
  if (delta.change === "raised") freshUntil[delta.warning_id] = Date.now() + FRESH_MS;
  warningsSoon();
}

function staffName(id) {
  if (id == null) return null;
  return (cfg.staff && cfg.staff[String(id)]) || fill(T.staff_n, { n: id });
}

function renderWarnings(list) {
  const now = Date.now();
  list = list.slice().sort((a, b) => Date.parse(b.raised_at) - Date.parse(a.raised_at) || b.id - a.id);
  for (const w of list) {
    if (seen && !seen[w.id] && !freshUntil[w.id]) freshUntil[w.id] = now + FRESH_MS;  // new since the page opened
  }
  seen = {};
  for (const w of list) seen[w.id] = true;
  warnings = list;
  const ul = $("warnings"), card = $("warnings-card");
  ul.textContent = "";
  for (const w of list) ul.appendChild(warningRow(w, now));
  const open = list.filter((w) => !w.acknowledged_at);
  $("warnings-none").hidden = list.length > 0;
  const count = $("warnings-count");
  count.textContent = fill(T.warnings_count, { n: list.length }); count.hidden = !list.length;
  card.setAttribute("data-standing", list.length);
  card.className = "card warnings-card" + (open.some((w) => w.severity === "critical") ? " alarm"
    : (open.length ? " alert-on" : ""));
  document.title = (open.length ? "(" + open.length + ") " : "") + baseTitle;
}

function warningRow(w, now) {
  const fresh = freshUntil[w.id] && freshUntil[w.id] > now && !w.acknowledged_at;
  const li = el("li", { "data-warning": w.id, "data-severity": w.severity, "data-kind": w.kind,
    "data-acknowledged": w.acknowledged_at ? "1" : "0",
    "class": ["warning", w.severity, w.acknowledged_at ? "acked" : "", fresh ? "fresh" : ""].join(" ").trim() });
  const head = el("div", { "class": "head" });
  head.appendChild(el("span", { "class": "sev" }, T.severities[w.severity] || w.severity));
  head.appendChild(el("span", { "class": "kind" }, T.kinds_warning[w.kind] || w.kind));
  const times = [fill(T.raised_at, { t: hhmm(Date.parse(w.raised_at)) })];
  if (w.updated_at && Math.abs(Date.parse(w.updated_at) - Date.parse(w.raised_at)) >= MIN) {
    times.push(fill(T.updated_at, { t: hhmm(Date.parse(w.updated_at)) }));
  }
  head.appendChild(el("span", { "class": "time" }, times.join(" · ")));
  li.appendChild(head);
  li.appendChild(el("p", { "class": "msg" }, en ? (w.message_en || w.message_zh) : w.message_zh));
  const act = el("div", { "class": "act" });
  if (w.acknowledged_at) {
    const who = staffName(w.acknowledged_by), at = hhmm(Date.parse(w.acknowledged_at));
    act.appendChild(el("span", { "class": "acked-by" }, "✓ " + T.acknowledged + " · " +
      (who ? fill(T.acknowledged_by, { who, t: at }) : fill(T.acknowledged_at, { t: at }))));
  } else if (cfg.can_manage) {
    const button = el("button", { type: "button", "class": "ack" }, acking[w.id] ? T.acknowledging : T.acknowledge);
    button.disabled = !!acking[w.id];
    button.onclick = () => { acknowledge(w.id, li); };
    act.appendChild(button);
  } else {
    act.appendChild(el("span", { "class": "unacked" }, T.unacknowledged));
  }
  li.appendChild(act);
  return li;
}

function acknowledge(id, li) {
  acking[id] = true;
  const button = li.querySelector("button.ack");
  if (button) { button.disabled = true; button.textContent = T.acknowledging; }
  postJSON("/api/v1/warnings/" + id + "/acknowledge").then((res) => {
    delete acking[id];
    if (res.ok) {
      renderWarnings(warnings.map((w) => (w.id === id ? res.data : w)));
    } else if (res.status === 409 || res.status === 404) {
      fetchWarnings();  // acknowledged (or resolved) meanwhile: show what stands
    } else {
      if (button) { button.disabled = false; button.textContent = T.acknowledge; }
      say("warnings-problem", fill(T.act_failed, { why: res.why }));
    }
  }).catch((e) => {
    delete acking[id];
    if (button) { button.disabled = false; button.textContent = T.acknowledge; }
    say("warnings-problem", fill(T.act_failed, { why: e.message }));
  });
}

setInterval(() => {  // the highlight of a new warning fades after FRESH_MS
  const now = Date.now();
  for (const li of document.querySelectorAll("#warnings li.fresh")) {
    const id = li.getAttribute("data-warning");
    if (!(freshUntil[id] > now)) li.classList.remove("fresh");
  }
}, 5000);
