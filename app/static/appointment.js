/* An appointment's page (预约): the service, day and slot in the hall's time, when check-in opens
 * and the late rule, the QR code for the kiosk's scanner; cancel (after a confirm) and move to
 * another slot of the same service (POST .../reschedule). Checked in at the kiosk, the
 * appointment is a ticket: the page goes to the ticket's page (/t/<ticket token>). */
import { request } from "./lib/api.js";
import { $, el } from "./lib/dom.js";
import { dateIn, dayLabeller, plusDays, timeOfDay } from "./lib/format.js";
import { T, en, fill } from "./lib/i18n.js";

const cfg = window.APPOINTMENT, token = cfg.token, settings = cfg.booking || {};
let status = cfg.status;
const zone = status.hall.timezone;
const api = "/api/v1/public/appointments/" + encodeURIComponent(token);
const slotsApi = "/api/v1/public/halls/" + status.hall.id + "/slots";
const POLL_MS = 30000;

const hhmm = timeOfDay(zone), localDay = dateIn(zone), dayLabel = dayLabeller(en, T);  // "11/24 周二", today and tomorrow by name
function whenText(start, end) {
  const label = dayLabel(localDay(start), settings.today);
  return fill(T.when, { day: label.name + " " + label.date, from: hhmm(start), to: hhmm(end) });
}
function say(text, bad) { const m = $("message"); m.textContent = text || ""; m.className = "message" + (bad ? " bad" : ""); }
function problem(result) {
  const error = (result.data && result.data.error) || {};
  let text = T.errors[error.code];
  if (!text && result.status === 0) text = T.network;
  return fill(text || T.errors.other, Object.assign({}, error, { horizon_days: settings.horizon_days,
    at: error.at ? hhmm(error.at) : "" }));
}

// ------------------------------------------------------------------ the appointment
function render() {
  const s = status, booked = s.state === "booked";
  if (s.ticket_token) {  // checked in at the kiosk: it is a ticket now
    window.location.replace("/t/" + encodeURIComponent(s.ticket_token));
    return;
  }
  $("when").textContent = whenText(s.slot_start, s.slot_end);
  const st = $("state");
  st.textContent = T.states[s.state] || s.state;
  st.setAttribute("data-state", s.state);
  st.className = "state" + (booked ? "" : " done");
  $("check-in").hidden = !booked;
  if (booked) {
    $("check-in-from").textContent = fill(T.check_in_from, { t: hhmm(s.check_in_from) });
    $("late-rule").textContent = fill(T.late_rule, { t: hhmm(s.late_after) });
    if (!$("qr").getAttribute("src")) $("qr").src = $("qr").dataset.src;
  }
  $("actions").hidden = !booked;
  $("reschedule").hidden = settings.enabled === false;  // the hall takes no bookings now: cancel only
  if (!booked) $("move").hidden = true;
  $("again").hidden = booked;
  if (s.policy) $("policy-text").textContent = en ? s.policy.en : s.policy.zh;
}

function refresh() {
  return request("GET", api).then((result) => {
    if (result.ok) { status = result.data; render(); }
  });
}

// ------------------------------------------------------------------ cancel
$("cancel").onclick = () => {
  if (!window.confirm(T.confirm_cancel)) return;
  $("cancel").disabled = true;
  request("POST", api + "/cancel").then((result) => {
    $("cancel").disabled = false;
    if (result.ok) { status = result.data; render(); say(T.cancelled_done); return; }
    say(problem(result), true);
    refresh();
  });
};

// ------------------------------------------------------------------ another time
let day = null, listing = null, picked = null, asked = 0;

function drawDays() {
  const box = $("days");
  box.textContent = "";
  for (let i = 0; i <= (settings.horizon_days || 0); i += 1) {
    const iso = plusDays(settings.today, i), label = dayLabel(iso, settings.today);
    const b = el("button", { type: "button", "class": "day", "data-day": iso, "aria-pressed": String(iso === day) });
    b.appendChild(el("span", { "class": "day-name" }, label.name));
    b.appendChild(el("span", { "class": "day-date" }, label.date));
    b.onclick = () => { pickDay(iso); };
    box.appendChild(b);
  }
}

function pickDay(iso) {
  day = iso; picked = null; listing = null;
  for (const b of document.querySelectorAll("#days .day")) b.setAttribute("aria-pressed", String(b.getAttribute("data-day") === iso));
  const mine = asked += 1;
  $("slots").textContent = ""; $("slots").setAttribute("data-state", "loading");
  $("slots-note").textContent = T.loading;
  drawPick();
  request("GET", slotsApi + "?date=" + encodeURIComponent(iso)).then((result) => {
    if (mine !== asked) return;
    if (!result.ok) { $("slots").setAttribute("data-state", "failed"); $("slots-note").textContent = problem(result); return; }
    listing = result.data;
    drawSlots();
  });
}

function drawSlots() {
  const box = $("slots"), note = $("slots-note"), sid = String(status.service ? status.service.id : "");
  box.textContent = "";
  if (!listing.planned) { box.setAttribute("data-state", "no-plan"); note.textContent = T.no_plan; return; }
  let free = 0;
  for (const s of listing.slots) {
    const mine = s.start === status.slot_start || Date.parse(s.start) === Date.parse(status.slot_start);
    const left = Number(s.services[sid] || 0);
    if (left > 0 && !mine) free += 1;
    const b = el("button", { type: "button", "class": "slot" + (s.start === picked ? " picked" : "") + (mine ? " current" : ""),
      "data-start": s.start, "data-left": left, "aria-pressed": String(s.start === picked) });
    b.appendChild(el("b", {}, s.local || hhmm(s.start)));
    b.appendChild(el("span", { "class": "left" }, mine ? T.current : (left > 0 ? fill(T.left, { n: left }) : T.full)));
    b.disabled = mine || left <= 0;
    b.onclick = () => { picked = s.start; drawSlots(); say(""); };
    box.appendChild(b);
  }
  box.setAttribute("data-state", "ready");
  note.textContent = free ? "" : T.no_slots;
  drawPick();
}

function drawPick() {
  const ok = $("move-ok");
  ok.disabled = !picked;
  ok.textContent = picked ? fill(T.move_to, { t: hhmm(picked) }) : ok.getAttribute("data-label");
}
$("move-ok").setAttribute("data-label", $("move-ok").textContent);

$("reschedule").onclick = () => {
  const open = $("move").hidden;
  $("move").hidden = !open;
  if (!open) return;
  say("");
  if (!settings.today) settings.today = localDay(Date.now());
  day = status.business_day >= settings.today ? status.business_day : settings.today;
  drawDays();
  pickDay(day);
  $("move").scrollIntoView({ block: "nearest" });
};
$("move-back").onclick = () => { $("move").hidden = true; picked = null; say(""); };

$("move-ok").onclick = () => {
  if (!picked) { say(T.pick_slot, true); return; }
  $("move-ok").disabled = true;
  request("POST", api + "/reschedule", { slot_start: picked }).then((result) => {
    if (result.ok) {
      status = result.data; picked = null; $("move").hidden = true; render();
      say(fill(T.moved, { when: whenText(status.slot_start, status.slot_end) }));
      return;
    }
    say(problem(result), true);
    const code = ((result.data && result.data.error) || {}).code;
    if (code === "appointment_not_booked" || code === "appointment_changed") { refresh(); return; }
    pickDay(day);  // the places as they are now
  });
};

render();
// checked in at the kiosk (or marked a no-show) meanwhile: the page follows
setInterval(() => { if (status.state === "booked") refresh(); }, POLL_MS);
