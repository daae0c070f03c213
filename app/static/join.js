/* The hall's public page: a one-time SMS code, then a remote ticket; its page follows the queue.
 * A hall that takes appointments (预约) offers a second choice: a service, a day and a time slot
 * with places left (GET .../slots?date=), the no-show policy, then a code asked with purpose
 * "book" and POST .../appointments; the appointment's page (/a/<token>) follows. */
import { request } from "./lib/api.js";
import { $, el } from "./lib/dom.js";
import { dateIn, dayLabeller, minutes, plusDays, timeOfDay } from "./lib/format.js";
import { T, en, fill } from "./lib/i18n.js";

const B = T.book || {};
const hall = window.JOIN.hall, base = "/api/v1/public/halls/" + hall.hall.id, zone = hall.hall.timezone;
const MOBILE = /^(\+?86)?1\d{10}$/;

// each service: people waiting and the estimated wait, as the hall's page says now
for (const node of document.querySelectorAll(".queue")) {
  const waiting = Number(node.getAttribute("data-waiting")), wait = node.getAttribute("data-wait");
  const m = wait === "" ? null : minutes(Number(wait));
  node.textContent = waiting + " " + T.waiting + " · " + (m == null ? T.no_counter : "≈" + m + " " + T.min);
}

// ------------------------------------------------------------------ shared
function sayer(node) {
  return (text, bad) => { node.textContent = text || ""; node.className = "message" + (bad ? " bad" : ""); };
}

// an error's text by its code, in the page's language (never the API's English on a customer's phone)
function problem(result, extra, values) {
  const error = (result.data && result.data.error) || {};
  let text = (extra && extra[error.code]) || T[error.code];
  if (!text && result.status === 0) text = T.network;
  return text ? fill(text, Object.assign({}, error, values || {})) : T.other;
}

const call = (method, path, body) => request(method, base + path, body);
const post = (path, body) => call("POST", path, body);
const langQuery = () => (en ? "?lang=en" : "");
const clean = (value) => value.replace(/\s+/g, "");

// the "send code" button of a form: one a minute, counting down; ``purpose`` join or book
function codeButton(button, mobileInput, codeInput, say, purpose) {
  let countdown = null;
  function hold(seconds) {
    clearInterval(countdown);
    let left = seconds;
    button.disabled = true;
    button.textContent = fill(T.resend, { s: left });
    countdown = setInterval(() => {
      left -= 1;
      if (left <= 0) { clearInterval(countdown); button.disabled = false; button.textContent = T.send; }
      else button.textContent = fill(T.resend, { s: left });
    }, 1000);
  }
  button.onclick = () => {
    const mobile = clean(mobileInput.value);
    if (!MOBILE.test(mobile)) { say(T.mobile_format, true); mobileInput.focus(); return; }
    button.disabled = true;
    say(T.sending);
    const body = { mobile };
    if (purpose !== "join") body.purpose = purpose;
    post("/codes", body).then((result) => {
      if (result.ok) {
        say(fill(T.sent, { mobile: result.data.mobile_masked }));
        hold(result.data.resend_after_s || 60);
        codeInput.focus();
      } else {
        const error = (result.data && result.data.error) || {};
        say(problem(result, purpose === "book" ? B : null), true);
        if (error.retry_after_s) hold(Math.min(error.retry_after_s, 3600)); else button.disabled = false;
      }
    });
  };
}

// ------------------------------------------------------------------ a remote ticket (远程取号)
function remoteTicket() {
  const form = $("join-form"), sendButton = $("send-code");
  if (!sendButton) return;  // the hall takes no remote tickets now: this part only informs
  const say = sayer($("message"));
  codeButton(sendButton, $("mobile"), $("code"), say, "join");
  form.onsubmit = (e) => {
    e.preventDefault();
    const picked = form.querySelector("input[name=service]:checked");
    if (!picked) { say(T.pick_service, true); return; }
    const mobile = clean($("mobile").value), code = $("code").value.replace(/[\s-]+/g, "");
    if (!MOBILE.test(mobile)) { say(T.mobile_format, true); $("mobile").focus(); return; }
    if (!/^\d{6}$/.test(code)) { say(T.code_format, true); $("code").focus(); return; }
    $("join").disabled = true;
    say(T.joining);
    post("/remote-tickets", { service_id: Number(picked.value), mobile, code }).then((result) => {
      if (result.ok && result.data.public_token) {
        window.location.assign("/t/" + encodeURIComponent(result.data.public_token) + langQuery());
        return;
      }
      $("join").disabled = false;
      say(problem(result), true);
    });
  };
}

// ------------------------------------------------------------------ an appointment (预约)
function bookingForm() {
  const form = $("book-form"), settings = hall.booking || {};
  if (!form || !settings.enabled) return { start() {} };
  const say = sayer($("book-message"));
  let started = false, day = settings.today, listing = null, chosenSlot = null, asked = 0;
  const dayLabel = dayLabeller(en, B), hhmm = timeOfDay(zone), localDay = dateIn(zone);
  function service() {
    const picked = form.querySelector("input[name=book-service]:checked");
    return picked ? Number(picked.value) : null;
  }
  function serviceName(id) {
    const s = (listing && listing.services || hall.services).filter((x) => x.id === id)[0];
    return s ? (en && s.name_en ? s.name_en : s.name_zh) : "";
  }

  function drawDays() {
    const box = $("days");
    box.textContent = "";
    for (let i = 0; i <= settings.horizon_days; i += 1) {
      const iso = plusDays(settings.today, i), label = dayLabel(iso, settings.today);
      const b = el("button", { type: "button", "class": "day", "data-day": iso, "aria-pressed": String(iso === day) });
      b.appendChild(el("span", { "class": "day-name" }, label.name));
      b.appendChild(el("span", { "class": "day-date" }, label.date));
      b.onclick = () => { pickDay(iso); };
      box.appendChild(b);
    }
  }

  function pickDay(iso) {
    day = iso; chosenSlot = null;
    for (const b of document.querySelectorAll("#days .day")) b.setAttribute("aria-pressed", String(b.getAttribute("data-day") === iso));
    load();
  }

  function load() {
    const mine = asked += 1;
    listing = null;
    $("slots").textContent = "";
    $("slots").setAttribute("data-state", "loading");
    $("slots-note").textContent = B.loading;
    drawChosen();
    return call("GET", "/slots?date=" + encodeURIComponent(day)).then((result) => {
      if (mine !== asked) return;  // another day was picked meanwhile
      if (!result.ok) {
        $("slots").setAttribute("data-state", "failed");
        $("slots-note").textContent = problem(result, B, { horizon_days: settings.horizon_days });
        return;
      }
      listing = result.data;
      if (listing.policy) $("policy-text").textContent = en ? listing.policy.en : listing.policy.zh;
      drawSlots();
    });
  }

  function drawSlots() {
    const box = $("slots"), note = $("slots-note"), sid = service();
    box.textContent = "";
    if (!listing) return;
    if (!listing.planned) { box.setAttribute("data-state", "no-plan"); note.textContent = B.no_plan; return; }
    if (!listing.slots.length) { box.setAttribute("data-state", "empty"); note.textContent = B.no_slots; return; }
    if (sid == null) { box.setAttribute("data-state", "no-service"); note.textContent = B.pick_service; return; }
    let free = 0;
    for (const s of listing.slots) {
      const left = Number(s.services[String(sid)] || 0);
      if (left > 0) free += 1;
      const b = el("button", { type: "button", "class": "slot" + (s.start === chosenSlot ? " picked" : ""),
        "data-start": s.start, "data-left": left, "aria-pressed": String(s.start === chosenSlot) });
      b.appendChild(el("b", {}, s.local || hhmm(s.start)));
      b.appendChild(el("span", { "class": "left" }, left > 0 ? fill(B.left, { n: left }) : B.full));
      b.disabled = left <= 0;
      b.onclick = () => { chosenSlot = s.start; drawSlots(); say(""); };
      box.appendChild(b);
    }
    if (chosenSlot && !listing.slots.some((s) => s.start === chosenSlot && Number(s.services[String(sid)] || 0) > 0)) {
      chosenSlot = null;  // gone meanwhile, or not for this service
      return drawSlots();
    }
    box.setAttribute("data-state", "ready");
    note.textContent = free ? "" : B.no_slots;
    drawChosen();
  }

  function chosen() {
    if (!listing || !chosenSlot) return null;
    return listing.slots.filter((s) => s.start === chosenSlot)[0] || null;
  }

  function drawChosen() {
    const s = chosen(), p = $("chosen"), sid = service();
    p.hidden = !(s && sid != null);
    if (p.hidden) { p.textContent = ""; return; }
    const label = dayLabel(localDay(s.start), settings.today);
    p.textContent = fill(B.chosen, { service: serviceName(sid), day: label.name + " " + label.date,
      from: hhmm(s.start), to: hhmm(s.end) });
  }

  for (const r of form.querySelectorAll("input[name=book-service]")) {
    r.onchange = () => { drawSlots(); drawChosen(); say(""); };
  }
  codeButton($("book-send-code"), $("book-mobile"), $("book-code"), say, "book");

  form.onsubmit = (e) => {
    e.preventDefault();
    const sid = service(), s = chosen();
    if (sid == null) { say(T.pick_service, true); return; }
    if (!s) { say(B.pick_slot, true); return; }
    const mobile = clean($("book-mobile").value), code = $("book-code").value.replace(/[\s-]+/g, "");
    if (!MOBILE.test(mobile)) { say(T.mobile_format, true); $("book-mobile").focus(); return; }
    if (!/^\d{6}$/.test(code)) { say(T.code_format, true); $("book-code").focus(); return; }
    $("book").disabled = true;
    say(B.booking);
    post("/appointments", { service_id: sid, slot_start: s.start, mobile, code }).then((result) => {
      if (result.ok && result.data.public_token) {
        window.location.assign("/a/" + encodeURIComponent(result.data.public_token) + langQuery());
        return;
      }
      $("book").disabled = false;
      const error = (result.data && result.data.error) || {};
      say(problem(result, B, {
        until: error.until ? localDay(error.until) : "",
        at: error.at ? hhmm(error.at) : "", horizon_days: settings.horizon_days }), true);
      if (["slot_full", "slot_unavailable", "slot_past", "day_out_of_range"].includes(error.code)) {
        chosenSlot = null;
        if (error.code === "day_out_of_range") { settings.today = localDay(Date.now()); drawDays(); }
        load();  // the places as they are now
      }
    });
  };

  return {
    start() {
      if (started) return;
      started = true;
      drawDays();
      load();
    },
  };
}

// ------------------------------------------------------------------ two choices: a number now, or an appointment
const tabs = document.querySelectorAll(".modes [data-mode]");
remoteTicket();
const booking = bookingForm();
function showMode(mode) {
  for (const tab of tabs) {
    const on = tab.getAttribute("data-mode") === mode;
    tab.setAttribute("aria-selected", String(on));
    $("mode-" + tab.getAttribute("data-mode")).hidden = !on;
  }
  if (mode === "book") booking.start();
}
for (const tab of tabs) {
  tab.onclick = () => {
    const mode = tab.getAttribute("data-mode");
    history.replaceState(null, "", location.pathname + location.search + (mode === "book" ? "#book" : ""));
    showMode(mode);
  };
}

const remoteTaking = !!(hall.remote && hall.remote.taking);
if (tabs.length) showMode(location.hash === "#book" || !remoteTaking ? "book" : "ticket");
