/* An appointment's page (预约): the service, day and slot in the hall's time, when check-in opens
 * and the late rule, the QR code for the kiosk's scanner; cancel (after a confirm) and move to
 * another slot of the same service (POST .../reschedule). Checked in at the kiosk, the
 * appointment is a ticket: the page goes to the ticket's page (/t/<ticket token>). */
(function () {
  "use strict";
  var T = hallq.strings(), $ = function (id) { return document.getElementById(id); };
  var cfg = window.APPOINTMENT, token = cfg.token, status = cfg.status, settings = cfg.booking || {};
  var en = document.documentElement.lang === "en", zone = status.hall.timezone;
  var api = "/api/v1/public/appointments/" + encodeURIComponent(token);
  var slotsApi = "/api/v1/public/halls/" + status.hall.id + "/slots";
  var POLL_MS = 30000;

  var clock = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  var localDay = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
  var dayName = new Intl.DateTimeFormat(en ? "en-GB" : "zh-CN", { timeZone: "UTC", weekday: "short" });
  var dayDate = new Intl.DateTimeFormat(en ? "en-GB" : "zh-CN", { timeZone: "UTC", month: "numeric", day: "numeric" });
  function hhmm(iso) { return clock.format(new Date(iso)); }
  function plusDays(iso, n) { return new Date(Date.parse(iso + "T00:00:00Z") + n * 864e5).toISOString().slice(0, 10); }
  function dayLabel(iso) {  // "11/24 周二", today and tomorrow by name
    var at = new Date(Date.parse(iso + "T00:00:00Z"));
    var n = settings.today ? Math.round((at - Date.parse(settings.today + "T00:00:00Z")) / 864e5) : null;
    return { name: n === 0 ? T.today : (n === 1 ? T.tomorrow : dayName.format(at)), date: dayDate.format(at) };
  }
  function whenText(start, end) {
    var label = dayLabel(localDay.format(new Date(start)));
    return hallq.fill(T.when, { day: label.name + " " + label.date, from: hhmm(start), to: hhmm(end) });
  }
  function say(text, bad) { var m = $("message"); m.textContent = text || ""; m.className = "message" + (bad ? " bad" : ""); }
  function problem(result) {
    var error = (result.data && result.data.error) || {}, text = T.errors[error.code];
    if (!text && result.status === 0) text = T.network;
    return hallq.fill(text || T.errors.other, Object.assign({}, error, { horizon_days: settings.horizon_days,
      at: error.at ? hhmm(error.at) : "" }));
  }
  function request(method, url, body) {
    return fetch(url, { method: method, body: body ? JSON.stringify(body) : undefined,
      headers: { "Content-Type": "application/json" } })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          return { ok: r.ok, status: r.status, data: data };
        });
      }, function () { return { ok: false, status: 0, data: {} }; });
  }

  // ------------------------------------------------------------------ the appointment
  function render() {
    var s = status, booked = s.state === "booked";
    if (s.ticket_token) {  // checked in at the kiosk: it is a ticket now
      window.location.replace("/t/" + encodeURIComponent(s.ticket_token));
      return;
    }
    $("when").textContent = whenText(s.slot_start, s.slot_end);
    var st = $("state");
    st.textContent = T.states[s.state] || s.state;
    st.setAttribute("data-state", s.state);
    st.className = "state" + (booked ? "" : " done");
    $("check-in").hidden = !booked;
    if (booked) {
      $("check-in-from").textContent = hallq.fill(T.check_in_from, { t: hhmm(s.check_in_from) });
      $("late-rule").textContent = hallq.fill(T.late_rule, { t: hhmm(s.late_after) });
      if (!$("qr").getAttribute("src")) $("qr").src = $("qr").dataset.src;
    }
    $("actions").hidden = !booked;
    $("reschedule").hidden = settings.enabled === false;  // the hall takes no bookings now: cancel only
    if (!booked) $("move").hidden = true;
    $("again").hidden = booked;
    if (s.policy) $("policy-text").textContent = en ? s.policy.en : s.policy.zh;
  }

  function refresh() {
    return request("GET", api).then(function (result) {
      if (result.ok) { status = result.data; render(); }
    });
  }

  // ------------------------------------------------------------------ cancel
  $("cancel").onclick = function () {
    if (!window.confirm(T.confirm_cancel)) return;
    $("cancel").disabled = true;
    request("POST", api + "/cancel").then(function (result) {
      $("cancel").disabled = false;
      if (result.ok) { status = result.data; render(); say(T.cancelled_done); return; }
      say(problem(result), true);
      refresh();
    });
  };

  // ------------------------------------------------------------------ another time
  var day = null, listing = null, picked = null, asked = 0;

  function drawDays() {
    var box = $("days");
    box.textContent = "";
    for (var i = 0; i <= (settings.horizon_days || 0); i += 1) {
      var iso = plusDays(settings.today, i), label = dayLabel(iso);
      var b = hallq.el("button", { type: "button", "class": "day", "data-day": iso, "aria-pressed": String(iso === day) });
      b.appendChild(hallq.el("span", { "class": "day-name" }, label.name));
      b.appendChild(hallq.el("span", { "class": "day-date" }, label.date));
      b.onclick = (function (d) { return function () { pickDay(d); }; })(iso);
      box.appendChild(b);
    }
  }

  function pickDay(iso) {
    day = iso; picked = null; listing = null;
    Array.prototype.forEach.call(document.querySelectorAll("#days .day"), function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-day") === iso));
    });
    var mine = asked += 1;
    $("slots").textContent = ""; $("slots").setAttribute("data-state", "loading");
    $("slots-note").textContent = T.loading;
    drawPick();
    request("GET", slotsApi + "?date=" + encodeURIComponent(iso)).then(function (result) {
      if (mine !== asked) return;
      if (!result.ok) { $("slots").setAttribute("data-state", "failed"); $("slots-note").textContent = problem(result); return; }
      listing = result.data;
      drawSlots();
    });
  }

  function drawSlots() {
    var box = $("slots"), note = $("slots-note"), sid = String(status.service ? status.service.id : "");
    box.textContent = "";
    if (!listing.planned) { box.setAttribute("data-state", "no-plan"); note.textContent = T.no_plan; return; }
    var free = 0;
    listing.slots.forEach(function (s) {
      var mine = s.start === status.slot_start || Date.parse(s.start) === Date.parse(status.slot_start);
      var left = Number(s.services[sid] || 0);
      if (left > 0 && !mine) free += 1;
      var b = hallq.el("button", { type: "button", "class": "slot" + (s.start === picked ? " picked" : "") + (mine ? " current" : ""),
        "data-start": s.start, "data-left": left, "aria-pressed": String(s.start === picked) });
      b.appendChild(hallq.el("b", {}, s.local || hhmm(s.start)));
      b.appendChild(hallq.el("span", { "class": "left" }, mine ? T.current : (left > 0 ? hallq.fill(T.left, { n: left }) : T.full)));
      b.disabled = mine || left <= 0;
      b.onclick = function () { picked = s.start; drawSlots(); say(""); };
      box.appendChild(b);
    });
    box.setAttribute("data-state", "ready");
    note.textContent = free ? "" : T.no_slots;
    drawPick();
  }

  function drawPick() {
    var ok = $("move-ok");
    ok.disabled = !picked;
    ok.textContent = picked ? hallq.fill(T.move_to, { t: hhmm(picked) }) : ok.getAttribute("data-label");
  }
  $("move-ok").setAttribute("data-label", $("move-ok").textContent);

  $("reschedule").onclick = function () {
    var open = $("move").hidden;
    $("move").hidden = !open;
    if (!open) return;
    say("");
    if (!settings.today) settings.today = localDay.format(new Date());
    day = status.business_day >= settings.today ? status.business_day : settings.today;
    drawDays();
    pickDay(day);
    $("move").scrollIntoView({ block: "nearest" });
  };
  $("move-back").onclick = function () { $("move").hidden = true; picked = null; say(""); };

  $("move-ok").onclick = function () {
    if (!picked) { say(T.pick_slot, true); return; }
    $("move-ok").disabled = true;
    request("POST", api + "/reschedule", { slot_start: picked }).then(function (result) {
      if (result.ok) {
        status = result.data; picked = null; $("move").hidden = true; render();
        say(hallq.fill(T.moved, { when: whenText(status.slot_start, status.slot_end) }));
        return;
      }
      say(problem(result), true);
      var code = ((result.data && result.data.error) || {}).code;
      if (code === "appointment_not_booked" || code === "appointment_changed") { refresh(); return; }
      pickDay(day);  // the places as they are now
    });
  };

  render();
  // checked in at the kiosk (or marked a no-show) meanwhile: the page follows
  setInterval(function () { if (status.state === "booked") refresh(); }, POLL_MS);
})();
