/* Kiosk: choose a service (seeing its queue), maybe go self-service, maybe leave a mobile number,
 * take the ticket, print it; priority tickets need the floor guide's PIN. A ticket taken on the
 * phone (远程取号) or an appointment (预约) is checked in here: its page's QR code under the
 * scanner, or mobile number + SMS code. An appointment too early for its slot may wait, or queue
 * now as a walk-in (the same check-in again, with as_walk_in).
 *
 * Each kiosk has its own settings (GET /devices/me/kiosk, read again when the hall's screens hear
 * HallSettingsChanged): the idle time after which it forgets everything and returns to the start
 * (a countdown shows in the last seconds; a touch anywhere keeps the customer's place), and the
 * elder-friendly mode (适老化: body.elder, larger type and keys, fewer words, spoken prompts). */
import { HallLive } from "../../static/live.js";
import { deviceToken, showPairing } from "../../static/lib/device.js";
import { $, el, showText } from "../../static/lib/dom.js";
import { minutes } from "../../static/lib/format.js";
import { T, en, fill, locale } from "../../static/lib/i18n.js";
import { voice } from "../../static/voice.js";

const token = deviceToken("hallq.kiosk.token");
const TICKET_MAX_S = 30;  // a ticket (its QR code follows and cancels it) is not left for the next customer long
const WARN_S = 10;  // the countdown shows in the last seconds of the idle time
if (token) start();
else {  // a new kiosk: show a pairing code for an administrator to enter
  document.querySelector("main").hidden = true;
  showPairing("kiosk", "hallq.kiosk.token");
}

function start() {
  let snap = null, choice = null, tier = "ordinary", pin = "";
  let settings = { elder_mode: false, idle_s: 45 }, settingsAt = 0;  // the kiosk's own, until read
  let idleUntil = null, greeted = false;
  const entries = { pin: { value: "", max: 8, mask: true }, mobile: { value: "", max: 11 },
    "ci-mobile": { value: "", max: 11 }, "ci-code": { value: "", max: 6 } };
  let checkinField = "ci-mobile";  // the check-in panel's keypad types into one of its two fields
  let tooEarly = null, checking = false;

  const problem = (text) => showText($("problem"), text);
  const name = (s) => (en ? (s.name_en || s.name_zh) : s.name_zh);
  function show(step) {
    const was = current();
    for (const s of ["services", "divert", "priority", "mobile", "checkin", "ticket"]) $("step-" + s).hidden = s !== step;
    touched();
    if (step === "mobile" && was !== "mobile") say("请输入手机号码，或者跳过");
  }
  function current() {
    const open = document.querySelector("main > section:not([hidden])");
    return open ? open.id.replace("step-", "") : "services";
  }
  function reset() {
    choice = null; tier = "ordinary"; pin = ""; greeted = false;
    for (const k of Object.keys(entries)) { entries[k].value = ""; $(k).textContent = ""; }
    $("pin-error").textContent = ""; $("mobile-error").textContent = ""; $("ci-error").textContent = "";
    $("scan").value = ""; early(null); mark(); render(); show("services");
  }

  // ------------------------------------------------------------------ walking away, and coming back
  // nothing chosen, typed or shown: nothing to forget, no countdown
  function untouched() {
    return current() === "services" && tier === "ordinary" && !pin && Object.values(entries).every((e) => !e.value);
  }
  function touched() {  // the customer is here: the idle time starts again
    const s = current() === "ticket" ? Math.min(settings.idle_s, TICKET_MAX_S) : settings.idle_s;
    idleUntil = untouched() ? null : Date.now() + s * 1000;
    tick();
  }
  function tick() {
    const left = idleUntil == null ? null : Math.ceil((idleUntil - Date.now()) / 1000);
    if (left != null && left <= 0) { $("idle").hidden = true; reset(); return; }
    $("idle").hidden = left == null || left > WARN_S;
    if (left != null && left <= WARN_S) $("idle-text").textContent = fill(T.idle, { n: left });
  }
  setInterval(tick, 250);
  // a touch anywhere (the countdown too) keeps the customer's place; the first touch after a reset
  // greets an elder-friendly kiosk's customer, unless it already chose a service
  document.addEventListener("pointerdown", (ev) => {
    if (!greeted && current() === "services" && !(ev.target.closest && ev.target.closest(".service"))) say("请选择业务");
    greeted = true;
    touched();
  }, true);
  document.addEventListener("click", touched);  // after the button did its part (a tier chosen: not untouched)
  document.addEventListener("keydown", () => { setTimeout(touched, 0); }, true);  // the scanner, a keyboard

  // ------------------------------------------------------------------ this kiosk's own settings
  function elder() { return settings.elder_mode; }
  function say(text) {  // the elder-friendly mode's spoken prompts, in Chinese (voice.js's clips say these)
    if (elder() && !en) voice.say(text, "zh-CN");
  }
  function readSettings() {
    settingsAt = Date.now();
    api("GET", "/devices/me/kiosk").then((got) => {
      settings = got;
      document.body.classList.toggle("elder", !!got.elder_mode);
      document.body.dataset.idleS = got.idle_s;
      render();
      if (idleUntil != null) touched();
    }).catch(() => { settingsAt = 0; });  // asked again with the next snapshot
  }

  // ------------------------------------------------------------------ services with their queues
  function render() {
    if (!snap) return;
    $("hall-name").textContent = name(snap.hall);
    $("priority").hidden = !snap.hall.priority_pin_set;
    const green = snap.hall.green_channel || {};
    $("green").hidden = !(green.enabled && green.self_declare);  // on the customer's word: no PIN
    $("green-note").textContent = en ? green.note_en : green.note_zh;
    $("green-chosen").hidden = !(tier === "green" && !pin);
    $("priority-on").hidden = !pin;  // the guide's PIN was right: this customer's ticket will be a priority one
    $("priority-on").textContent = pin ? fill(T.priority_on, { tier: T.tiers[tier] || "" }) : "";
    $("check-in-offer").hidden = !checkInOn();
    const ways = checkInWays();
    if (ways) {  // what the customer may have done on the phone: a remote ticket, an appointment, or either
      $("check-in-offer-text").textContent = T.offer[ways];
      $("ci-title").textContent = T.panel[ways];
      $("ci-scan-hint").textContent = T.scan_hint[ways];
    }
    const offer = document.querySelector('#tiers [data-tier="green"]');
    if (offer) offer.hidden = !green.enabled;
    const box = $("services"); box.textContent = "";
    box.dataset.columns = snap.services.length > 5 ? 2 : 1;  // in portrait: one column, two for many services
    for (const s of snap.services) {
      const b = el("button", { "class": "service", "data-prefix": s.prefix });
      // elder-friendly: the name alone, and how many wait (no prefix, no English, no estimate)
      const title = b.appendChild(el("span", { "class": "name" }, elder() ? name(s) : s.prefix + " · " + name(s)));
      if (!en && !elder() && s.name_en) title.appendChild(el("span", { "class": "en" }, s.name_en));  // for visitors
      const m = minutes(s.estimated_wait_s), waiting = fill(T.waiting, { n: s.waiting });
      b.appendChild(el("span", { "class": "load" }, elder() ? waiting : waiting + " · " +
        (s.open_counters ? (m == null ? fill(T.wait, { m: 1 }) : fill(T.wait, { m })) : T.no_counter)));
      b.disabled = !snap.hall.issuing;
      b.onclick = () => { choose(s); };
      box.appendChild(b);
    }
    problem(closedText());
  }
  // closed: say so, and when it opens again (today its time, another day the weekday too)
  function closedText() {
    if (!snap || snap.hall.issuing) return "";
    if (!snap.hall.opens_at) return T.closed;
    const opens = new Date(snap.hall.opens_at), zone = snap.hall.timezone;
    const day = (d) => d.toLocaleDateString(locale, { timeZone: zone });
    const when = opens.toLocaleString(locale, day(opens) === day(new Date()) ? { timeZone: zone, hour: "2-digit", minute: "2-digit" }
      : { timeZone: zone, weekday: "short", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
    return fill(T.closed_until, { t: when });
  }
  function choose(s) {
    choice = s;
    const alt = en ? s.self_service_en || s.self_service_zh : s.self_service_zh;
    if (s.self_service_first && tier === "ordinary") {  // the server's rule (domain.kiosks.self_service_first)
      $("divert-wait").textContent = fill(T.divert_wait, { service: name(s), m: minutes(s.estimated_wait_s) });
      $("divert-text").textContent = alt;
      return show("divert");
    }
    show("mobile");
  }
  $("divert-keep").onclick = () => { show("mobile"); };
  $("divert-go").onclick = reset;
  for (const b of document.querySelectorAll("[data-back]")) b.onclick = reset;

  // ------------------------------------------------------------------ keypads
  function shownValue(id) {
    const e = entries[id];
    if (e.mask) return e.value.replace(/./g, "●");
    return id === "ci-code" ? e.value : e.value.replace(/^(\d{3})(\d{0,4})(\d{0,4})$/, "$1 $2 $3").trim();
  }
  for (const pad of document.querySelectorAll(".keypad")) {
    for (const k of ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "C"]) {
      const b = el("button", { type: "button", "data-key": k }, k);
      b.onmousedown = (ev) => { ev.preventDefault(); };  // the scan field keeps the focus (the scanner types there)
      b.onclick = () => {
        const id = pad.dataset.for === "checkin" ? checkinField : pad.dataset.for, e = entries[id];
        if (k === "⌫") e.value = e.value.slice(0, -1);
        else if (k === "C") e.value = "";
        else if (e.value.length < e.max) e.value += k;
        $(id).textContent = shownValue(id);
        if (id === "ci-mobile" && k !== "⌫" && k !== "C" && e.value.length === e.max) pickField("ci-code");
      };
      pad.appendChild(b);
    }
  }

  // ------------------------------------------------------------------ priority path
  $("priority").onclick = () => { tier = "star"; mark(); show("priority"); };
  $("green").onclick = () => { tier = "green"; pin = ""; render(); };
  for (const b of document.querySelectorAll("#tiers button")) b.onclick = () => { tier = b.dataset.tier; mark(); };
  function mark() {
    for (const b of document.querySelectorAll("#tiers button")) b.className = "big" + (b.dataset.tier === tier ? "" : " secondary");
  }
  // the PIN is checked as soon as the guide has typed it, not after the customer's choices
  $("pin-ok").onclick = () => {
    const typed = entries.pin.value;
    $("pin-error").textContent = "";
    if (!typed) { $("pin-error").textContent = T.pin.wrong; return; }
    $("pin-ok").disabled = true;
    api("POST", "/halls/" + snap.hall.id + "/guide-pin/check", { pin: typed }).then((r) => {
      if (!r.valid) { $("pin-error").textContent = T.pin[r.outcome] || T.pin.wrong; return; }
      pin = typed; render(); show("services");
    }).catch(() => { $("pin-error").textContent = T.pin.wrong; })
      .then(() => { $("pin-ok").disabled = false; });
  };

  // ------------------------------------------------------------------ mobile, then the ticket
  $("mobile-skip").onclick = () => { issue(null); };
  $("mobile-ok").onclick = () => {
    const m = entries.mobile.value;
    // eleven digits that are not a mainland number are told so, not asked for eleven digits again
    // eleven digits typed, or none: whether they make a mobile number is the server's to say (mobile_invalid)
    if (m && m.length !== 11) { $("mobile-error").textContent = T.bad_mobile; return; }
    issue(m || null);
  };

  // the API as this kiosk (its device token); a refusal rejects with the API's error
  function api(method, path, body) {
    return fetch("/api/v1" + path, { method, headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token },
      body: body ? JSON.stringify(body) : undefined })
      .then((r) => r.json().then((d) => { if (!r.ok) throw d.error || d; return d; }));
  }

  function issue(mobile) {
    const body = { service_id: choice.id, tier };
    if (mobile) body.mobile = mobile;
    if (tier !== "ordinary" && pin) body.guide_pin = pin;
    $("mobile-ok").disabled = $("mobile-skip").disabled = true;
    api("POST", "/halls/" + snap.hall.id + "/tickets", body).then((t) => {
      showTicket(t);
      return printTicket(t);
    }).catch((err) => {
      if (err && err.field === "guide_pin") {  // changed or locked since it was checked: type it again
        pin = ""; render(); show("priority");
        $("pin-error").textContent = err.text || T.pin.wrong; return;
      }
      if (err && err.code === "mobile_invalid") { $("mobile-error").textContent = T.not_mobile; return; }
      // the refusal as the API words it for this page (never its English message)
      $("mobile-error").textContent = T.error + " " + ((err && err.text) || T.try_again);
    }).then(() => { $("mobile-ok").disabled = $("mobile-skip").disabled = false; });
  }

  // ------------------------------------------------------------------ check-in of a remote ticket (远程取号) or an appointment (预约)
  function remoteOn() { return !!(snap && snap.hall.remote_queue && snap.hall.remote_queue.enabled); }
  function bookingOn() { return !!(snap && snap.hall.booking && snap.hall.booking.enabled); }
  function checkInOn() { return remoteOn() || bookingOn(); }
  function checkInWays() { return remoteOn() ? (bookingOn() ? "both" : "remote") : (bookingOn() ? "booking" : null); }
  function pickField(id) {
    checkinField = id;
    for (const f of ["ci-mobile", "ci-code"]) $(f).classList.toggle("active", f === id);
  }
  function openCheckIn() {
    $("ci-error").textContent = ""; $("scan").value = ""; early(null);
    pickField(entries["ci-mobile"].value.length === 11 ? "ci-code" : "ci-mobile");
    show("checkin");
    $("scan").focus();
  }
  $("check-in").onclick = openCheckIn;
  for (const f of ["ci-mobile", "ci-code"]) $(f).onclick = () => { pickField(f); $("scan").focus(); };
  // the scanner types the phone page's address like a keyboard, then Enter
  $("scan").onkeydown = (ev) => {
    show("checkin");
    if (ev.key === "Enter") { ev.preventDefault(); const v = $("scan").value.trim(); if (v) checkIn({ scan: v }); }
  };
  $("scan").onblur = () => {  // whatever was touched, the next scan lands in the field
    setTimeout(() => { if (current() === "checkin" && document.activeElement !== $("scan")) $("scan").focus(); }, 0);
  };
  // a scan at the home screen (no button pressed first) checks in too: keys typed fast, then Enter
  let typed = "", typedAt = 0;
  document.addEventListener("keydown", (ev) => {
    if (ev.target === $("scan") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const step = current();
    if (step === "checkin") {  // the field lost its focus somehow: the keys still go there
      $("scan").focus();
      return;
    }
    if (step !== "services" || !checkInOn()) return;
    const at = Date.now();
    if (at - typedAt > 300) typed = "";  // a scanner types many keys a second; a person does not
    typedAt = at;
    if (ev.key === "Enter") {
      if (typed.length >= 8) { ev.preventDefault(); openCheckIn(); $("scan").value = typed; checkIn({ scan: typed }); }
      typed = "";
    } else if (ev.key.length === 1) typed += ev.key;
  });
  $("ci-ok").onclick = () => {
    const scanned = $("scan").value.trim();
    if (scanned) return checkIn({ scan: scanned });
    const m = entries["ci-mobile"].value, c = entries["ci-code"].value;
    if (m.length !== 11) { $("ci-error").textContent = T.checkin.mobile_format; pickField("ci-mobile"); return; }
    if (!/^\d{6}$/.test(c)) { $("ci-error").textContent = T.checkin.code_format; pickField("ci-code"); return; }
    checkIn({ mobile: m, code: c });
  };
  // an appointment checked in before its check-in opens: the same check-in again, queued from now
  function early(body) {
    tooEarly = body;
    $("ci-early").hidden = !body;
    $("ci-early-text").textContent = body ? T.walk_in_offer : "";
  }
  $("ci-walk-in").onmousedown = (ev) => { ev.preventDefault(); };  // the scan field keeps the focus
  $("ci-walk-in").onclick = () => {
    if (tooEarly) checkIn(Object.assign({}, tooEarly, { as_walk_in: true }));
  };
  function checkIn(body) {
    if (checking || !snap) return;
    checking = true; $("ci-ok").disabled = $("ci-walk-in").disabled = true; $("ci-error").textContent = "";
    early(null);
    api("POST", "/halls/" + snap.hall.id + "/check-ins", body).then((t) => {
      showTicket(t, true);
      printTicket(t).catch(() => { /* not printed: the ticket is on the screen, and on the phone */ });
    }).catch((err) => {
      // by the error's code, in the kiosk's language: never the API's English sentence
      const text = (err && T.checkin[err.code]) || T.checkin.other;
      $("ci-error").textContent = fill(text, err || {});
      $("ci-error").dataset.code = (err && err.code) || "";
      if (err && err.code === "code_wrong") { entries["ci-code"].value = ""; $("ci-code").textContent = ""; pickField("ci-code"); }
      if (err && err.code === "appointment_early" && !body.as_walk_in) early(body);
      $("scan").value = "";
      show("checkin");
      $("scan").focus();
    }).then(() => { checking = false; $("ci-ok").disabled = $("ci-walk-in").disabled = false; });
  }

  function printTicket(t) {
    return api("POST", "/tickets/" + encodeURIComponent(t.public_token) + "/print").then((printed) => {
      const p = $("t-print"); p.hidden = false;
      // the driver's message is a whole sentence: what went wrong and what to do instead
      p.textContent = printed.ok ? T.printed : (en ? printed.message_en : printed.message_zh);
      p.dataset.code = printed.code;
      say(printed.ok ? "请取走您的号票，谢谢" : "谢谢");  // no slip came out: nothing to take
    });
  }

  function showTicket(t, checkedIn) {
    $("t-label").textContent = t.label;
    $("t-tier").hidden = t.tier === "ordinary";  // a roster number, the guide's PIN or the green channel
    $("t-tier").textContent = T.tiers[t.tier] || "";
    $("t-service").textContent = name(t.service);
    $("t-ahead").textContent = fill(T.ahead, { n: t.people_ahead });
    const m = minutes(t.estimated_wait_s);
    $("t-wait").textContent = m == null ? T.wait_unknown : fill(T.wait, { m });
    $("t-time").textContent = T.issued_at + " " + new Date(t.issued_at).toLocaleString(locale,
      { timeZone: snap.hall.timezone, hour: "2-digit", minute: "2-digit", year: "numeric", month: "2-digit", day: "2-digit" });
    $("t-qr").innerHTML = "";
    $("t-qr").appendChild(el("img", { src: "/t/" + encodeURIComponent(t.public_token) + "/qr.svg", alt: "QR" }));
    $("t-print").hidden = true;
    $("t-checked-in").hidden = !checkedIn;
    $("step-ticket").dataset.token = t.public_token;
    show("ticket");
    say("您的号码是" + voice.spokenLabel(t.label) + "，前面还有" + voice.numberZh(t.people_ahead) + "人");
  }
  $("t-done").onclick = reset;

  // ------------------------------------------------------------------ live
  new HallLive({
    token,
    onSnapshot: (s) => {
      snap = s; render();
      if (Date.now() - settingsAt > 300000) readSettings();  // a change missed while away: at most 5 min late
    },
    onDelta: (d) => { if (d.event === "HallSettingsChanged") readSettings(); },
    onStatus: (ok, why) => {
      $("link").className = "link " + (ok ? "up" : "down");
      if (ok && Date.now() - settingsAt > 2000) readSettings();  // (re)connected: a change may have been missed
      problem(ok ? closedText() : (why === "Connection rejected by server" ? T.not_registered : T.offline));
    },
  });
  setInterval(() => {
    if (snap) $("clock").textContent = new Date().toLocaleTimeString(locale, { timeZone: snap.hall.timezone, hour: "2-digit", minute: "2-digit" });
  }, 1000);
}
