/* The survey pages (满意度短信), over the signed-in session:
 * - the SMS outbox (/manager/outbox): GET /api/v1/sms/outbox, each message's survey from
 *   GET /api/v1/halls/{id}/surveys, and a form per message that answers as the customer
 *   (POST /api/v1/sms/outbox/reply); the reply's outcome and the updated survey show at once;
 * - follow-up cases (/manager/follow-ups): GET /api/v1/follow-ups?state=&hall_id=, the first response
 *   (POST .../respond) and closing with a resolution (POST .../close; a 422 shows beside the field),
 *   and the hall's kept replies (GET /api/v1/halls/{id}/survey-replies).
 * Times are shown in each hall's zone. */
import { hallq } from "./hallq.js";
import { getJSON, postJSON as post } from "./lib/api.js";
import { $, el, showText } from "./lib/dom.js";
import { T, en, fill } from "./lib/i18n.js";

const cfg = window.SURVEYS;
const REFRESH_MS = 30000, KEPT = ["late", "unmatched", "comment"];
const page = hallq.surveys = { fetches: 0 };  // tests and curious people read it
const halls = {};
cfg.halls.forEach((h) => { halls[h.id] = h; });

function hallName(id) { const h = halls[id]; return h ? (en ? (h.name_en || h.name_zh) : h.name_zh) : "#" + id; }
const clocks = {};
function when(iso, hallId) {  // "12-02 14:05" in the hall's zone
  if (!iso) return "—";
  const zone = (halls[hallId] || {}).timezone || "Asia/Shanghai";
  if (!clocks[zone]) clocks[zone] = new Intl.DateTimeFormat("en-GB", { timeZone: zone, month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const parts = {};
  clocks[zone].formatToParts(new Date(iso)).forEach((p) => { parts[p.type] = p.value; });
  return parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
}
function problem(message) { showText($("problem"), message); }
function updated() { $("updated").textContent = fill(T.updated, { t: when(new Date().toISOString(), cfg.hall) }); }

function postJSON(url, body) { return post(url, body, cfg.csrf); }
function failed(e) { return e.message === "signed-out" ? T.signed_out : fill(T.load_failed, { why: e.message }); }

function surveyWords(s) {  // "sent · score 4 · not satisfied · comment: 等太久了"
  if (!s) return T.no_survey;
  const words = [T.survey_states[s.state] || s.state];
  if (s.score != null) {
    words.push(fill(T.score, { score: s.score }));
    words.push(s.satisfied ? T.satisfied : T.unsatisfied);
  } else if (s.state === "sent") words.push(T.not_rated);
  if (s.comment) words.push(fill(T.comment, { c: s.comment }));
  return words.join(" · ");
}

const hallPick = $("hall-pick");
if (hallPick) hallPick.onchange = () => {
  const q = new URLSearchParams(location.search);
  if (hallPick.value) q.set("hall", hallPick.value); else q.delete("hall");
  location.search = q.toString();
};

// ================================================================= the SMS outbox
function outboxPage() {
  const results = {}, busy = {};
  let messages = [], surveys = {};

  function load() {
    const asked = page.fetches += 1;
    return getJSON("/api/v1/sms/outbox").then((data) => {
      const list = data.messages.filter((m) => !cfg.hall || m.hall_id === cfg.hall);
      const hallIds = list.map((m) => m.hall_id)
        .filter((id, i, all) => id != null && all.indexOf(id) === i);
      return Promise.all(hallIds.map((id) => getJSON("/api/v1/halls/" + id + "/surveys")))
        .then((answers) => {
          if (asked !== page.fetches) return;
          surveys = {};
          answers.forEach((a) => { a.surveys.forEach((s) => { surveys[s.id] = s; }); });
          messages = list; render(); problem(""); updated();
        });
    }).catch((e) => { if (asked === page.fetches) problem(failed(e)); });
  }

  function render() {
    const ul = $("messages");
    ul.textContent = "";
    messages.forEach((m) => { ul.appendChild(row(m)); });
    $("none").hidden = messages.length > 0;
  }

  function row(m) {
    const s = surveys[m.survey_id];
    const li = el("li", { "class": "sms", "data-message": m.id, "data-survey": m.survey_id == null ? "" : m.survey_id,
      "data-state": s ? s.state : "" });
    const head = el("div", { "class": "head" });
    head.appendChild(el("b", { "class": "to" }, fill(T.message_to, { to: m.to })));
    if (m.hall_id != null) head.appendChild(el("span", { "class": "hall" }, hallName(m.hall_id)));
    head.appendChild(el("span", { "class": "time" }, when(m.created_at, m.hall_id)));
    li.appendChild(head);
    li.appendChild(el("p", { "class": "text" }, m.text));
    const state = el("p", { "class": "survey" + (s && s.score != null ? (s.satisfied ? " good" : " bad") : "") },
      s || m.survey_id == null ? surveyWords(s) : "—");  // older than the hall's latest 100 surveys
    li.appendChild(state);
    li.appendChild(form(m));
    const result = results[m.id];
    if (result) li.appendChild(result);
    return li;
  }

  function form(m) {
    const f = el("form", { "class": "reply", autocomplete: "off" });
    const box = el("input", { type: "text", name: "text", "class": "reply-text", maxlength: "1600",
      placeholder: "4 等太久了", "aria-label": T.send });
    const send = el("button", { type: "submit", "class": "send primary" }, busy[m.id] ? T.sending : T.send);
    send.disabled = !!busy[m.id];
    f.appendChild(box);
    ["1", "2", "3", "4", "5", "TD"].forEach((k) => {
      const quick = el("button", { type: "button", "class": "quick", "data-text": k }, k);
      quick.disabled = !!busy[m.id];
      quick.onclick = () => { reply(m, k); };
      f.appendChild(quick);
    });
    f.appendChild(send);
    f.onsubmit = (e) => {
      e.preventDefault();
      if (!box.value.trim()) { results[m.id] = note(T.empty_text, "bad"); render(); return; }
      reply(m, box.value);
    };
    return f;
  }

  function note(text, kind, link) {
    const p = el("p", { "class": "result " + (kind || ""), role: "status" }, text);
    if (link) { p.appendChild(document.createTextNode(" ")); p.appendChild(el("a", { href: link }, T.to_cases + " →")); }
    return p;
  }

  function reply(m, text) {
    busy[m.id] = true; render();
    postJSON("/api/v1/sms/outbox/reply", { to: m.id, text: text }).then((res) => {
      delete busy[m.id];
      if (res.ok) {
        const outcome = res.data.outcome, p = note(fill(T.reply_result, { text: text, outcome: T.outcomes[outcome] || outcome }),
          outcome, outcome === "counted" || outcome === "comment"
            ? "/manager/follow-ups" + (cfg.every_hall && m.hall_id ? "?hall=" + m.hall_id : "") : null);
        p.setAttribute("data-outcome", outcome);
        results[m.id] = p;
      } else {
        results[m.id] = note(fill(T.not_sent, { why: res.why }), "bad");
      }
      return load();
    }).catch((e) => { delete busy[m.id]; results[m.id] = note(fill(T.act_failed, { why: e.message }), "bad"); render(); });
  }

  load();
  setInterval(() => { if (!Object.keys(busy).length && !document.activeElement.matches("input")) load(); }, REFRESH_MS);
}

// ================================================================= follow-up cases and kept replies
function casesPage() {
  const busy = {}, errors = {}, drafts = {};
  let state = cfg.state, cases = [], replies = [];

  function query() {
    const q = new URLSearchParams();
    if (cfg.hall) q.set("hall", cfg.hall);
    if (state !== "open") q.set("state", state);
    if (new URLSearchParams(location.search).get("lang")) q.set("lang", cfg.lang);
    const s = q.toString();
    return s ? "?" + s : location.pathname;
  }

  function pick(next) {
    state = next;
    history.replaceState(null, "", query());
    document.querySelectorAll(".tabs button").forEach((b) => {
      b.setAttribute("aria-pressed", b.getAttribute("data-state") === state ? "true" : "false");
    });
    $("cases-view").hidden = state === "replies";
    $("replies-view").hidden = state !== "replies";
    load();
  }

  function load() { return state === "replies" ? loadReplies() : loadCases(); }

  function loadCases() {
    const asked = page.fetches += 1;
    const url = "/api/v1/follow-ups?state=" + state + (cfg.hall ? "&hall_id=" + cfg.hall : "");
    return getJSON(url).then((data) => {
      if (asked !== page.fetches) return;
      cases = data.follow_ups; renderCases(); problem(""); updated();
    }).catch((e) => { if (asked === page.fetches) problem(failed(e)); });
  }

  function span(ms) {
    const m = Math.max(0, Math.round(Math.abs(ms) / 60000)), h = Math.floor(m / 60);
    return h ? fill(T.hours_minutes, { h: h, m: m % 60 }) : fill(T.just_minutes, { m: m });
  }

  function renderCases() {
    const rows = $("cases"), now = Date.now();
    rows.textContent = "";
    cases.forEach((c) => { rows.appendChild(caseRow(c, now)); });
    $("cases-none").hidden = cases.length > 0;
    const overdue = cases.filter((c) => c.overdue && c.state === "open").length;
    $("summary").textContent = fill(T.summary, { n: cases.length, overdue: overdue });
  }

  function caseRow(c, now) {
    const closed = c.state === "closed", overdue = c.overdue && !closed;
    const tr = el("tr", { "data-case": c.id, "data-clock": c.clock, "data-state": c.state,
      "class": ["case", closed ? "closed" : "", overdue ? "overdue" : "", c.clock === "due_soon" ? "due-soon" : ""].join(" ").trim() });
    tr.appendChild(el("td", {}, hallName(c.hall_id)));
    tr.appendChild(el("td", {}, c.counter_id && cfg.counters[c.counter_id] != null
      ? fill(T.counter_n, { n: cfg.counters[c.counter_id] }) : "—"));
    tr.appendChild(el("td", {}, (c.staff_id && cfg.staff[c.staff_id]) || "—"));
    tr.appendChild(el("td", { "class": "n score" }, c.score == null ? "—" : String(c.score)));
    const comment = el("td", { "class": "comment" }, c.comment || "—");
    comment.appendChild(el("small", { "class": "reason" }, " · " + (T.reasons[c.reason] || c.reason)));
    tr.appendChild(comment);
    tr.appendChild(el("td", { "class": "mobile" }, c.mobile));
    tr.appendChild(el("td", {}, when(c.opened_at, c.hall_id)));
    tr.appendChild(el("td", {}, when(c.due_at, c.hall_id)));
    const due = Date.parse(c.due_at);
    let left;
    if (closed) left = fill(T.closed_at, { t: when(c.closed_at, c.hall_id) });
    else if (c.first_response_at) left = fill(T.responded_at, { t: when(c.first_response_at, c.hall_id) });
    else left = due >= now ? fill(T.left, { t: span(due - now) }) : fill(T.overdue_by, { t: span(now - due) });
    tr.appendChild(el("td", { "class": "left" }, left));
    const badge = el("span", { "class": "clock " + c.clock }, closed ? T.closed : (T.clocks[c.clock] || c.clock));
    const stateCell = el("td", { "class": "state" });
    stateCell.appendChild(badge);
    if (overdue && c.first_response_at == null) badge.insertBefore(el("span", { "aria-hidden": "true" }, "⚠ "), badge.firstChild);
    tr.appendChild(stateCell);
    tr.appendChild(actions(c));
    return tr;
  }

  function actions(c) {
    const td = el("td", { "class": "act" });
    if (c.state === "closed") {
      td.appendChild(el("p", { "class": "resolution" }, c.resolution || ""));
      return td;
    }
    if (!c.first_response_at) {
      const respond = el("button", { type: "button", "class": "respond" }, busy[c.id] === "respond" ? T.responding : T.respond);
      respond.disabled = !!busy[c.id];
      respond.onclick = () => { act(c, "respond", {}); };
      td.appendChild(respond);
    }
    const f = el("form", { "class": "close-form", novalidate: "" });
    const id = "resolution-" + c.id, label = el("label", { "for": id }, T.resolution);
    const box = el("textarea", { id: id, name: "resolution", rows: "2", maxlength: "4000", "class": "resolution-text" });
    box.value = drafts[c.id] || "";
    box.oninput = () => { drafts[c.id] = box.value; };
    const error = el("span", { "class": "field-error", id: id + "-error", role: "alert" }, errors[c.id] || "");
    error.hidden = !errors[c.id];
    if (errors[c.id]) { box.setAttribute("aria-invalid", "true"); box.setAttribute("aria-describedby", id + "-error"); }
    const close = el("button", { type: "submit", "class": "close" }, busy[c.id] === "close" ? T.closing : T.close);
    close.disabled = !!busy[c.id];
    f.appendChild(label); f.appendChild(box); f.appendChild(error); f.appendChild(close);
    f.onsubmit = (e) => { e.preventDefault(); act(c, "close", { resolution: box.value }); };
    td.appendChild(f);
    return td;
  }

  function act(c, what, body) {
    busy[c.id] = what; delete errors[c.id]; renderCases();
    postJSON("/api/v1/follow-ups/" + c.id + "/" + what, body).then((res) => {
      delete busy[c.id];
      if (res.ok) {
        if (what === "close") delete drafts[c.id];
        return loadCases();
      }
      if (res.status === 422 && res.field === "resolution") errors[c.id] = T.resolution_required;
      else if (res.status === 409) { problem(fill(T.act_failed, { why: res.why })); return loadCases(); }
      else problem(fill(T.act_failed, { why: res.why }));
      renderCases();
    }).catch((e) => { delete busy[c.id]; problem(fill(T.act_failed, { why: e.message })); renderCases(); });
  }

  // ---------------------------------------------------------------- kept replies
  function replyHall() { return cfg.hall || (!cfg.every_hall && cfg.halls.length ? cfg.halls[0].id : null); }

  function loadReplies() {
    const asked = page.fetches += 1, hallId = replyHall(), outcome = $("outcome-pick").value;
    $("summary").textContent = "";
    if (hallId == null && !cfg.every_hall) { replies = []; renderReplies(T.pick_hall); return Promise.resolve(); }
    // head office with no hall picked: the replies that reached no hall
    const url = (hallId == null ? "/api/v1/survey-replies" : "/api/v1/halls/" + hallId + "/survey-replies") +
      (outcome && outcome !== "kept" ? "?outcome=" + outcome : "");
    $("replies-scope").hidden = hallId != null;
    return getJSON(url).then((data) => {
      if (asked !== page.fetches) return;
      replies = outcome === "kept" ? data.replies.filter((r) => KEPT.indexOf(r.outcome) >= 0) : data.replies;
      renderReplies(T.no_replies); problem(""); updated();
    }).catch((e) => { if (asked === page.fetches) problem(failed(e)); });
  }

  function renderReplies(empty) {
    const rows = $("replies");
    rows.textContent = "";
    replies.forEach((r) => {
      const tr = el("tr", { "data-reply": r.id, "data-outcome": r.outcome, "class": "reply " + r.outcome });
      tr.appendChild(el("td", {}, when(r.received_at, r.hall_id)));
      tr.appendChild(el("td", { "class": "mobile" }, r.mobile));
      tr.appendChild(el("td", { "class": "text" }, r.text));
      const outcome = el("td", {});
      outcome.appendChild(el("span", { "class": "outcome " + r.outcome }, T.outcomes[r.outcome] || r.outcome));
      tr.appendChild(outcome);
      tr.appendChild(el("td", {}, r.survey_id == null ? "—" : "#" + r.survey_id));
      rows.appendChild(tr);
    });
    const none = $("replies-none");
    none.textContent = empty; none.hidden = replies.length > 0;
  }

  document.querySelectorAll(".tabs button").forEach((b) => {
    b.onclick = () => { pick(b.getAttribute("data-state")); };
  });
  $("outcome-pick").onchange = () => { loadReplies(); };
  load();
  setInterval(() => {  // the clocks move; a form being typed in is left alone
    if (Object.keys(busy).length || (document.activeElement && document.activeElement.matches("textarea, input"))) return;
    load();
  }, REFRESH_MS);
}

if (cfg.page === "outbox") outboxPage(); else casesPage();
