/* The customer's phone: its ticket's status from snapshots and pushes, the call itself from deltas.
 * A ticket taken on the phone (state remote) shows by when to check in, and its QR code for the
 * kiosk's scanner; one released because it was not checked in in time says so. */
import { HallLive } from "./live.js";
import { $ } from "./lib/dom.js";
import { minutes } from "./lib/format.js";
import { T, en, fill, locale } from "./lib/i18n.js";

const token = window.TICKET.token;
let status = window.TICKET.status;
const LEFT = "hallq.left." + token;  // this phone left the queue itself (not released by the hall)
const RELEASE_SLACK_MS = 60000;  // the phone's clock may run a little behind the hall's

// a time of day in the hall's zone (the phone may be set to another)
function hhmm(iso) {
  const opts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  try { return new Date(iso).toLocaleTimeString(locale, Object.assign({ timeZone: (status.hall || {}).timezone }, opts)); }
  catch (e) { return new Date(iso).toLocaleTimeString(locale, opts); }
}
function leftHere() { try { return !!localStorage.getItem(LEFT); } catch (e) { return false; } }
// cancelled, taken on the phone, never checked in, its deadline past, and not left from here
function released(s) {
  return s.state === "cancelled" && s.channel === "remote" && !s.checked_in_at && !!s.check_in_by &&
    Date.parse(s.check_in_by) <= Date.now() + RELEASE_SLACK_MS && !leftHere();
}

function render() {
  const s = status, st = $("state"), queued = s.state === "waiting" || s.state === "remote";
  $("ahead").textContent = queued ? s.people_ahead : "—";
  const m = minutes(s.estimated_wait_s);
  $("wait").textContent = !queued ? "—" : (m == null ? T.no_counter : m + " " + T.min);
  st.className = "state";
  const n = s.counter ? s.counter.number : "";
  const remote = s.state === "remote";
  $("check-in").hidden = !remote;
  if (remote && !$("qr").getAttribute("src")) $("qr").src = $("qr").dataset.src;
  if (remote) { st.textContent = fill(T.remote, { t: hhmm(s.check_in_by) }); st.className = "state remote"; }
  else if (s.state === "waiting") st.textContent = T.waiting;
  else if (s.state === "called") { st.textContent = fill(T.called, { n }); st.className = "state called"; }
  else if (s.state === "serving") st.textContent = fill(T.serving, { n });
  else if (released(s)) { st.textContent = T.released; st.className = "state done released"; }
  else { st.textContent = T[s.state] || s.state; st.className = "state done"; }
  $("cancel").hidden = $("facts").hidden = !queued;
  // a transfer changes the service; once the ticket has ended there is nothing left to wait for
  if (s.service) $("service").textContent = en && s.service.name_en ? s.service.name_en : s.service.name_zh;
  $("hint").hidden = !queued && s.state !== "called";
}

function onDelta(d) {
  if (d.event === "TicketCalled") {
    status.state = "called";
    status.counter = { id: d.counter_id, number: d.counter_number };
    if (navigator.vibrate) navigator.vibrate([400, 200, 400]);
    render();
    if (d.recall) $("state").textContent += " · " + fill(T.recall, { n: d.recall });
  } else {
    live.resync();
  }
}

const live = new HallLive({
  query: { ticket: token }, everyDelta: true,
  onSnapshot: (snap) => { status = snap.ticket; render(); },
  onTicket: (msg) => { status = msg.ticket; render(); },
  onDelta,
  onStatus: (ok) => {
    $("link").className = "link " + (ok ? "up" : "down");
    $("problem").hidden = ok; $("problem").textContent = ok ? "" : T.offline;
  },
});

$("cancel").onclick = () => {
  if (!confirm(T.confirm_cancel)) return;
  fetch("/api/v1/tickets/" + encodeURIComponent(token) + "/cancel", { method: "POST" })
    .then((r) => r.json()).then((s) => {
      if (s.state === "cancelled") {  // the customer's own choice, not a release: say "you left"
        try { localStorage.setItem(LEFT, "1"); } catch (e) { /* private mode: nothing kept */ }
      }
      if (s.state) { status = s; render(); }
    });
};
render();
