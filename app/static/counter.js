/* Counter console: the counter's state arrives live ("counter" messages); actions go over the API. */
import { HallLive } from "./live.js";
import { postJSON } from "./lib/api.js";
import { $, el } from "./lib/dom.js";
import { T, en, fill } from "./lib/i18n.js";

const cfg = window.CONSOLE, counterId = cfg.counter.id, services = {};
let state = null, busy = false;
for (const s of cfg.services) services[s.id] = s;

function say(text, ok) { const m = $("msg"); m.textContent = text || ""; m.className = "msg" + (ok ? " ok" : ""); }
function svcName(id) { const s = services[id]; return s ? s.prefix + " " + (en ? s.name_en || s.name_zh : s.name_zh) : ""; }
function may(t, action) { return !!t && (t.actions || []).includes(action); }
// an appointment checked in early queues from before its slot: never a negative wait
function mins(s) { s = Math.max(0, s); return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0"); }
// a ticket taken on the customer's phone (远程取号) or booked ahead (预约), checked in at the kiosk
function remoteTag(t) {
  if (t && t.channel === "remote") return el("span", { "class": "remote-tag", title: T.remote_title }, T.remote);
  if (t && t.channel === "appointment") {
    return el("span", { "class": "remote-tag appointment-tag", title: T.appointment_title }, T.appointment);
  }
  return null;
}

function render() {
  if (!state) return;
  const c = state.counter, t = state.ticket;
  $("open-state").textContent = c.is_open ? (c.paused ? "· " + T.paused : "") : "· " + T.closed;
  $("btn-open").firstChild.textContent = (c.is_open ? T.close : T.open) + " ";
  $("btn-pause").firstChild.textContent = (c.paused ? T.resume : T.pause) + " ";
  $("paused").hidden = !c.paused;
  if (c.paused) {
    $("paused-text").textContent = fill(T.paused_since, { reason: T.reasons[c.paused] || c.paused,
      at: c.paused_at ? new Date(c.paused_at).toLocaleTimeString(en ? "en-GB" : "zh-CN",
        { hour: "2-digit", minute: "2-digit", timeZone: cfg.timezone }) : "" });
  }
  $("current-label").textContent = t ? t.label : "—";
  if (remoteTag(t)) $("current-label").appendChild(remoteTag(t));
  $("current-info").textContent = t ? [svcName(t.service_id), T["state_" + t.state] || t.state,
    fill(T.waited, { m: Math.round(Math.max(0, t.waited_s) / 60) }), t.recalls ? fill(T.recalls, { n: t.recalls }) : "",
    T.tiers[t.tier] || ""].filter(Boolean).join(" · ") : (c.is_open ? T.none : T.closed);
  renderHistory(t);
  $("queue-count").textContent = fill(T.waiting_n, { n: state.waiting });
  const held = heldBy();  // another's open counter: nothing here but taking it over
  $("held").hidden = !held;
  if (held) $("held-text").textContent = fill(T.held, { name: held.name || "" });
  const can = held ? {} : {
    // the moves on the ticket are the server's (domain.model.actions_at_counter), never a copy here
    "call-next": c.is_open && !t && !c.paused, recall: may(t, "recall"), start: may(t, "start"),
    finish: may(t, "finish"), "no-show": may(t, "no-show"), transfer: may(t, "transfer"), open: true,
    "call-ticket": c.is_open && !t && !c.paused, pause: c.is_open && !t,
  };
  for (const b of document.querySelectorAll(".actions button")) b.disabled = busy || !can[b.dataset.action];
  const rows = $("next"); rows.textContent = "";
  if (!state.next.length) rows.appendChild(el("tr", {})).appendChild(el("td", { colspan: 3 }, T.nobody));
  for (const n of state.next.slice(0, 20)) {
    const tr = el("tr", {}), label = el("td", {}, n.label);
    if (T.tiers[n.tier]) label.appendChild(el("span", { "class": "tier" }, T.tiers[n.tier]));
    if (remoteTag(n)) label.appendChild(remoteTag(n));
    tr.appendChild(label);
    tr.appendChild(el("td", {}, svcName(n.service_id)));
    tr.appendChild(el("td", {}, mins(n.waited_s)));
    rows.appendChild(tr);
  }
}

// a transferred customer: the counters they were at before, how long, and the notes sent along
function renderHistory(t) {
  const list = $("current-history"), steps = (t && t.history) || [];
  list.textContent = "";
  list.hidden = !steps.length;
  for (const h of steps) {
    const li = el("li", {}, fill(T.transferred_from, {
      n: h.counter_number === null ? "?" : h.counter_number, service: svcName(h.service_id),
      m: h.served_s === null ? "?" : Math.max(1, Math.round(h.served_s / 60)) }));
    if (h.note) li.appendChild(el("q", { "class": "note" }, h.note));
    list.appendChild(li);
  }
}

// an open counter belongs to who opened it (or took it over); anyone else takes it over explicitly
function heldBy() {
  const h = state && state.holder;
  return state && state.counter.is_open && h && h.id !== cfg.me ? h : null;
}
$("btn-take-over").onclick = () => {
  const h = heldBy();
  if (!h || !window.confirm(fill(T.take_over_confirm, { name: h.name || "" }))) return;
  act("take-over");
};

// the answer to our own action holds now: show it at once (the live link's "counter" message,
// asked for with resync, brings the queue too, however busy the live process is)
function applyAnswer(action, data) {
  if (!state || !data) return render();
  const counter = data.counter || (["open", "close", "pause", "resume"].includes(action) ? data : null);
  if (counter && counter.id === counterId) state.counter = counter;
  if (data.ticket !== undefined) {
    const t = data.ticket;
    state.ticket = t && (t.state === "called" || t.state === "serving") ? t : null;
  }
  render();
}

function act(action, body) {
  if (busy) return;
  if (action === "open" && state && state.counter.is_open) action = "close";
  if (action === "pause" && state && state.counter.paused) action = "resume";
  busy = true; render();
  const t = state && state.ticket;
  body = body || {};
  if (t && ["recall", "start", "finish", "no-show", "transfer"].includes(action)) body.ticket_id = t.id;
  postJSON("/api/v1/counters/" + counterId + "/" + action, body, cfg.csrf)
    .then((res) => {
      if (!res.parsed) throw new Error(String(res.status));  // not the API's answer: a proxy's page
      busy = false;
      if (!res.ok) {
        const err = res.data.error || {};
        if (err.code === "counter_held" && state) state.holder = { id: err.holder_id, name: err.holder_name };
        say(err.code === "counter_held" ? "" : refusal(err)); render(); live.resync(); return;
      }
      if (action === "take-over" && state) state.holder = { id: cfg.me, name: "" };
      if (action === "call-next" && !res.data.ticket) say(T.nobody, true);
      else say(T.done, true);
      applyAnswer(action, res.data);
      live.resync();
    })
    .catch(() => { busy = false; say(T.offline); render(); });
}

// a refusal in the page's language, by its stable code: never the API's English sentence
function refusal(err) {
  const text = T.errors[err.code] || (err.status === 422 ? T.errors.invalid : T.errors.other);
  return fill(text, err);
}

for (const b of document.querySelectorAll(".actions button")) {
  b.onclick = () => {
    let dialog = { transfer: "transfer-dialog", "call-ticket": "call-ticket-dialog" }[b.dataset.action];
    if (b.dataset.action === "pause" && !(state && state.counter.paused)) dialog = "pause-dialog";  // why?
    if (!dialog) return act(b.dataset.action);
    $(dialog).showModal();
    if (dialog === "call-ticket-dialog") { $("call-ticket-label").value = ""; $("call-ticket-label").focus(); }
  };
}
for (const b of document.querySelectorAll("#pause-dialog .reason")) {
  b.onclick = () => { act("pause", { reason: b.dataset.reason }); };
}
$("call-ticket-go").onclick = () => {
  const label = $("call-ticket-label").value.trim().toUpperCase();
  if (label) act("call-ticket", { label });
};
$("transfer-go").onclick = () => {
  const body = { to_service_id: +$("transfer-service").value };
  if ($("transfer-counter").value) body.to_counter_id = +$("transfer-counter").value;
  const note = $("transfer-note").value.trim();
  if (note) body.note = note;
  $("transfer-note").value = "";
  act("transfer", body);
};
const keys = { o: "open", n: "call-next", r: "recall", s: "start", f: "finish", x: "no-show", t: "transfer",
  g: "call-ticket", p: "pause" };
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || /INPUT|SELECT|TEXTAREA/.test(e.target.tagName) ||
      $("transfer-dialog").open || $("call-ticket-dialog").open || $("pause-dialog").open) return;
  const action = keys[e.key.toLowerCase()];
  if (!action) return;
  const b = document.querySelector('.actions button[data-action="' + action + '"]');
  if (b && !b.disabled) { e.preventDefault(); b.click(); }
});

const live = new HallLive({
  query: { counter_id: counterId },
  onCounter: (msg) => { state = msg; render(); },
  onDelta: (d) => {  // a colleague took this counter over: this console stops working it
    if (d.event === "CounterTakenOver" && d.counter_id === counterId && d.to_staff_id !== cfg.me) {
      if (state) state.holder = { id: d.to_staff_id, name: d.to_name };
      say(fill(T.taken_over, { name: d.to_name })); render();
    }
  },
  onSnapshot: (snap) => { for (const s of snap.services) services[s.id] = s; },
  // back online: only the offline notice goes; a refusal just shown stays (the link may come up after it)
  onStatus: (ok) => {
    $("link").className = "link " + (ok ? "up" : "down");
    if (!ok) say(T.offline); else if ($("msg").textContent === T.offline) say("");
  },
});
setInterval(() => {  // waited times tick between pushes
  if (state) { for (const n of state.next) n.waited_s += 1; render(); }
}, 1000);
