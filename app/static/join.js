/* The hall's public page: a one-time SMS code, then a remote ticket; its page follows the queue.
 * A hall that takes appointments (预约) offers a second choice: a service, a day and a time slot
 * with places left (GET .../slots?date=), the no-show policy, then a code asked with purpose
 * "book" and POST .../appointments; the appointment's page (/a/<token>) follows. */
(function () {
  "use strict";
  var T = hallq.strings(), B = T.book || {}, $ = function (id) { return document.getElementById(id); };
  var hall = window.JOIN.hall, base = "/api/v1/public/halls/" + hall.hall.id;
  var en = document.documentElement.lang === "en", zone = hall.hall.timezone;
  var MOBILE = /^(\+?86)?1\d{10}$/;

  // each service: people waiting and the estimated wait, as the hall's page says now
  Array.prototype.forEach.call(document.querySelectorAll(".queue"), function (el) {
    var waiting = Number(el.getAttribute("data-waiting")), wait = el.getAttribute("data-wait");
    var m = wait === "" ? null : hallq.minutes(Number(wait));
    el.textContent = waiting + " " + T.waiting + " · " + (m == null ? T.no_counter : "≈" + m + " " + T.min);
  });

  // ------------------------------------------------------------------ shared
  function sayer(node) {
    return function (text, bad) { node.textContent = text || ""; node.className = "message" + (bad ? " bad" : ""); };
  }

  // an error's text by its code, in the page's language (never the API's English on a customer's phone)
  function problem(result, extra, values) {
    var error = (result.data && result.data.error) || {}, text = (extra && extra[error.code]) || T[error.code];
    if (!text && result.status === 0) text = T.network;
    return text ? hallq.fill(text, Object.assign({}, error, values || {})) : T.other;
  }

  function request(method, path, body) {
    return fetch(base + path, { method: method, body: body ? JSON.stringify(body) : undefined,
      headers: { "Content-Type": "application/json" } })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          return { ok: r.ok, status: r.status, data: data };
        });
      }, function () { return { ok: false, status: 0, data: {} }; });
  }
  function post(path, body) { return request("POST", path, body); }

  function langQuery() { return en ? "?lang=en" : ""; }
  function clean(value) { return value.replace(/\s+/g, ""); }

  // the "send code" button of a form: one a minute, counting down; ``purpose`` join or book
  function codeButton(button, mobileInput, codeInput, say, purpose) {
    var countdown = null;
    function hold(seconds) {
      clearInterval(countdown);
      var left = seconds;
      button.disabled = true;
      button.textContent = hallq.fill(T.resend, { s: left });
      countdown = setInterval(function () {
        left -= 1;
        if (left <= 0) { clearInterval(countdown); button.disabled = false; button.textContent = T.send; }
        else button.textContent = hallq.fill(T.resend, { s: left });
      }, 1000);
    }
    button.onclick = function () {
      var mobile = clean(mobileInput.value);
      if (!MOBILE.test(mobile)) { say(T.mobile_format, true); mobileInput.focus(); return; }
      button.disabled = true;
      say(T.sending);
      var body = { mobile: mobile };
      if (purpose !== "join") body.purpose = purpose;
      post("/codes", body).then(function (result) {
        if (result.ok) {
          say(hallq.fill(T.sent, { mobile: result.data.mobile_masked }));
          hold(result.data.resend_after_s || 60);
          codeInput.focus();
        } else {
          var error = (result.data && result.data.error) || {};
          say(problem(result, purpose === "book" ? B : null), true);
          if (error.retry_after_s) hold(Math.min(error.retry_after_s, 3600)); else button.disabled = false;
        }
      });
    };
  }

  // ------------------------------------------------------------------ two choices: a number now, or an appointment
  var tabs = document.querySelectorAll(".modes [data-mode]");
  function showMode(mode) {
    Array.prototype.forEach.call(tabs, function (tab) {
      var on = tab.getAttribute("data-mode") === mode;
      tab.setAttribute("aria-selected", String(on));
      $("mode-" + tab.getAttribute("data-mode")).hidden = !on;
    });
    if (mode === "book") booking.start();
  }
  Array.prototype.forEach.call(tabs, function (tab) {
    tab.onclick = function () {
      var mode = tab.getAttribute("data-mode");
      history.replaceState(null, "", location.pathname + location.search + (mode === "book" ? "#book" : ""));
      showMode(mode);
    };
  });

  // ------------------------------------------------------------------ a remote ticket (远程取号)
  (function remoteTicket() {
    var form = $("join-form"), sendButton = $("send-code");
    if (!sendButton) return;  // the hall takes no remote tickets now: this part only informs
    var say = sayer($("message"));
    codeButton(sendButton, $("mobile"), $("code"), say, "join");
    form.onsubmit = function (e) {
      e.preventDefault();
      var picked = form.querySelector("input[name=service]:checked");
      if (!picked) { say(T.pick_service, true); return; }
      var mobile = clean($("mobile").value), code = $("code").value.replace(/[\s-]+/g, "");
      if (!MOBILE.test(mobile)) { say(T.mobile_format, true); $("mobile").focus(); return; }
      if (!/^\d{6}$/.test(code)) { say(T.code_format, true); $("code").focus(); return; }
      $("join").disabled = true;
      say(T.joining);
      post("/remote-tickets", { service_id: Number(picked.value), mobile: mobile, code: code }).then(function (result) {
        if (result.ok && result.data.public_token) {
          window.location.assign("/t/" + encodeURIComponent(result.data.public_token) + langQuery());
          return;
        }
        $("join").disabled = false;
        say(problem(result), true);
      });
    };
  })();

  // ------------------------------------------------------------------ an appointment (预约)
  var booking = (function () {
    var form = $("book-form"), settings = hall.booking || {};
    if (!form || !settings.enabled) return { start: function () {} };
    var say = sayer($("book-message"));
    var started = false, day = settings.today, listing = null, chosenSlot = null, asked = 0;
    var dayName = new Intl.DateTimeFormat(en ? "en-GB" : "zh-CN", { timeZone: "UTC", weekday: "short" });
    var dayDate = new Intl.DateTimeFormat(en ? "en-GB" : "zh-CN", { timeZone: "UTC", month: "numeric", day: "numeric" });
    var clock = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    var localDay = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
    function hhmm(iso) { return clock.format(new Date(iso)); }
    function plusDays(iso, n) { return new Date(Date.parse(iso + "T00:00:00Z") + n * 864e5).toISOString().slice(0, 10); }
    function dayLabel(iso) {
      var at = new Date(Date.parse(iso + "T00:00:00Z")), n = Math.round((at - Date.parse(settings.today + "T00:00:00Z")) / 864e5);
      return { name: n === 0 ? B.today : (n === 1 ? B.tomorrow : dayName.format(at)), date: dayDate.format(at) };
    }
    function service() {
      var picked = form.querySelector("input[name=book-service]:checked");
      return picked ? Number(picked.value) : null;
    }
    function serviceName(id) {
      var s = (listing && listing.services || hall.services).filter(function (x) { return x.id === id; })[0];
      return s ? (en && s.name_en ? s.name_en : s.name_zh) : "";
    }

    function drawDays() {
      var box = $("days");
      box.textContent = "";
      for (var i = 0; i <= settings.horizon_days; i += 1) {
        var iso = plusDays(settings.today, i), label = dayLabel(iso);
        var b = hallq.el("button", { type: "button", "class": "day", "data-day": iso, "aria-pressed": String(iso === day) });
        b.appendChild(hallq.el("span", { "class": "day-name" }, label.name));
        b.appendChild(hallq.el("span", { "class": "day-date" }, label.date));
        b.onclick = (function (picked) { return function () { pickDay(picked); }; })(iso);
        box.appendChild(b);
      }
    }

    function pickDay(iso) {
      day = iso; chosenSlot = null;
      Array.prototype.forEach.call(document.querySelectorAll("#days .day"), function (b) {
        b.setAttribute("aria-pressed", String(b.getAttribute("data-day") === iso));
      });
      load();
    }

    function load() {
      var mine = asked += 1;
      listing = null;
      $("slots").textContent = "";
      $("slots").setAttribute("data-state", "loading");
      $("slots-note").textContent = B.loading;
      drawChosen();
      return request("GET", "/slots?date=" + encodeURIComponent(day)).then(function (result) {
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
      var box = $("slots"), note = $("slots-note"), sid = service();
      box.textContent = "";
      if (!listing) return;
      if (!listing.planned) { box.setAttribute("data-state", "no-plan"); note.textContent = B.no_plan; return; }
      if (!listing.slots.length) { box.setAttribute("data-state", "empty"); note.textContent = B.no_slots; return; }
      if (sid == null) { box.setAttribute("data-state", "no-service"); note.textContent = B.pick_service; return; }
      var free = 0;
      listing.slots.forEach(function (s) {
        var left = Number(s.services[String(sid)] || 0);
        if (left > 0) free += 1;
        var b = hallq.el("button", { type: "button", "class": "slot" + (s.start === chosenSlot ? " picked" : ""),
          "data-start": s.start, "data-left": left, "aria-pressed": String(s.start === chosenSlot) });
        b.appendChild(hallq.el("b", {}, s.local || hhmm(s.start)));
        b.appendChild(hallq.el("span", { "class": "left" }, left > 0 ? hallq.fill(B.left, { n: left }) : B.full));
        b.disabled = left <= 0;
        b.onclick = function () { chosenSlot = s.start; drawSlots(); say(""); };
        box.appendChild(b);
      });
      if (chosenSlot && !listing.slots.some(function (s) { return s.start === chosenSlot && Number(s.services[String(sid)] || 0) > 0; })) {
        chosenSlot = null;  // gone meanwhile, or not for this service
        return drawSlots();
      }
      box.setAttribute("data-state", "ready");
      note.textContent = free ? "" : B.no_slots;
      drawChosen();
    }

    function chosen() {
      if (!listing || !chosenSlot) return null;
      return listing.slots.filter(function (s) { return s.start === chosenSlot; })[0] || null;
    }

    function drawChosen() {
      var s = chosen(), p = $("chosen"), sid = service();
      p.hidden = !(s && sid != null);
      if (p.hidden) { p.textContent = ""; return; }
      var label = dayLabel(localDay.format(new Date(s.start)));
      p.textContent = hallq.fill(B.chosen, { service: serviceName(sid), day: label.name + " " + label.date,
        from: hhmm(s.start), to: hhmm(s.end) });
    }

    Array.prototype.forEach.call(form.querySelectorAll("input[name=book-service]"), function (r) {
      r.onchange = function () { drawSlots(); drawChosen(); say(""); };
    });
    codeButton($("book-send-code"), $("book-mobile"), $("book-code"), say, "book");

    form.onsubmit = function (e) {
      e.preventDefault();
      var sid = service(), s = chosen();
      if (sid == null) { say(T.pick_service, true); return; }
      if (!s) { say(B.pick_slot, true); return; }
      var mobile = clean($("book-mobile").value), code = $("book-code").value.replace(/[\s-]+/g, "");
      if (!MOBILE.test(mobile)) { say(T.mobile_format, true); $("book-mobile").focus(); return; }
      if (!/^\d{6}$/.test(code)) { say(T.code_format, true); $("book-code").focus(); return; }
      $("book").disabled = true;
      say(B.booking);
      post("/appointments", { service_id: sid, slot_start: s.start, mobile: mobile, code: code }).then(function (result) {
        if (result.ok && result.data.public_token) {
          window.location.assign("/a/" + encodeURIComponent(result.data.public_token) + langQuery());
          return;
        }
        $("book").disabled = false;
        var error = (result.data && result.data.error) || {};
        say(problem(result, B, {
          until: error.until ? localDay.format(new Date(error.until)) : "",
          at: error.at ? hhmm(error.at) : "", horizon_days: settings.horizon_days }), true);
        if (["slot_full", "slot_unavailable", "slot_past", "day_out_of_range"].indexOf(error.code) >= 0) {
          chosenSlot = null;
          if (error.code === "day_out_of_range") { settings.today = localDay.format(new Date()); drawDays(); }
          load();  // the places as they are now
        }
      });
    };

    return {
      start: function () {
        if (started) return;
        started = true;
        drawDays();
        load();
      },
    };
  })();

  var remoteTaking = !!(hall.remote && hall.remote.taking);
  if (tabs.length) showMode(location.hash === "#book" || !remoteTaking ? "book" : "ticket");
})();
