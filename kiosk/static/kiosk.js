/* Kiosk: choose a service (seeing its queue), maybe go self-service, maybe leave a mobile number,
 * take the ticket, print it; priority tickets need the floor guide's PIN. */
(function () {
  "use strict";
  var T = hallq.strings(), cfg = window.KIOSK, en = cfg.lang === "en", $ = function (id) { return document.getElementById(id); };
  var token = hallq.deviceToken("hallq.kiosk.token");
  var snap = null, choice = null, tier = "ordinary", pin = "", idle = null;
  if (!token) {  // a new kiosk: show a pairing code for an administrator to enter
    document.querySelector("main").hidden = true;
    hallq.pairDevice("kiosk", "hallq.kiosk.token", function (code) {
      $("pairing").hidden = false;
      $("pairing-code").textContent = code.slice(0, 3) + " " + code.slice(3);
    });
    return;
  }

  function problem(text) { var p = $("problem"); p.textContent = text || ""; p.hidden = !text; }
  function name(s) { return en ? (s.name_en || s.name_zh) : s.name_zh; }
  function show(step) {
    ["services", "divert", "priority", "mobile", "ticket"].forEach(function (s) { $("step-" + s).hidden = s !== step; });
    clearTimeout(idle);
    if (step !== "services") idle = setTimeout(reset, step === "ticket" ? 30000 : 60000);  // walk-away
  }
  function reset() { choice = null; tier = "ordinary"; pin = ""; entries.pin.value = ""; entries.mobile.value = "";
    $("pin-error").textContent = ""; $("mobile-error").textContent = ""; render(); show("services"); }

  // ------------------------------------------------------------------ services with their queues
  function render() {
    if (!snap) return;
    $("hall-name").textContent = name(snap.hall);
    $("priority").hidden = !snap.hall.priority_pin_set;
    var green = snap.hall.green_channel || {};
    $("green").hidden = !(green.enabled && green.self_declare);  // on the customer's word: no PIN
    $("green-note").textContent = en ? green.note_en : green.note_zh;
    $("green-chosen").hidden = !(tier === "green" && !pin);
    $("priority-on").hidden = !pin;  // the guide's PIN was right: this customer's ticket will be a priority one
    $("priority-on").textContent = pin ? hallq.fill(T.priority_on, { tier: T.tiers[tier] || "" }) : "";
    var offer = document.querySelector('#tiers [data-tier="green"]');
    if (offer) offer.hidden = !green.enabled;
    var box = $("services"); box.textContent = "";
    snap.services.forEach(function (s) {
      var b = hallq.el("button", { "class": "service", "data-prefix": s.prefix });
      var title = b.appendChild(hallq.el("span", { "class": "name" }, s.prefix + " · " + name(s)));
      if (!en && s.name_en) title.appendChild(hallq.el("span", { "class": "en" }, s.name_en));  // for visitors
      var m = hallq.minutes(s.estimated_wait_s);
      b.appendChild(hallq.el("span", { "class": "load" }, hallq.fill(T.waiting, { n: s.waiting }) + " · " +
        (s.open_counters ? (m == null ? hallq.fill(T.wait, { m: 1 }) : hallq.fill(T.wait, { m: m })) : T.no_counter)));
      b.disabled = !snap.hall.issuing;
      b.onclick = function () { choose(s); };
      box.appendChild(b);
    });
    problem(closedText());
  }
  // closed: say so, and when it opens again (today its time, another day the weekday too)
  function closedText() {
    if (!snap || snap.hall.issuing) return "";
    if (!snap.hall.opens_at) return T.closed;
    var opens = new Date(snap.hall.opens_at), zone = snap.hall.timezone, lang = en ? "en-GB" : "zh-CN";
    var day = function (d) { return d.toLocaleDateString(lang, { timeZone: zone }); };
    var when = opens.toLocaleString(lang, day(opens) === day(new Date()) ? { timeZone: zone, hour: "2-digit", minute: "2-digit" }
      : { timeZone: zone, weekday: "short", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
    return hallq.fill(T.closed_until, { t: when });
  }
  function choose(s) {
    choice = s;
    var alt = en ? s.self_service_en || s.self_service_zh : s.self_service_zh;
    if (alt && tier === "ordinary" && (s.estimated_wait_s || 0) >= cfg.diversion_wait_s) {
      $("divert-wait").textContent = hallq.fill(T.divert_wait, { service: name(s), m: hallq.minutes(s.estimated_wait_s) });
      $("divert-text").textContent = alt;
      return show("divert");
    }
    show("mobile");
  }
  $("divert-keep").onclick = function () { show("mobile"); };
  $("divert-go").onclick = reset;
  document.querySelectorAll("[data-back]").forEach(function (b) { b.onclick = reset; });

  // ------------------------------------------------------------------ keypads
  var entries = { pin: { value: "", max: 8, mask: true }, mobile: { value: "", max: 11 } };
  document.querySelectorAll(".keypad").forEach(function (pad) {
    var e = entries[pad.dataset.for];
    ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "C"].forEach(function (k) {
      var b = hallq.el("button", { type: "button", "data-key": k }, k);
      b.onclick = function () {
        if (k === "⌫") e.value = e.value.slice(0, -1);
        else if (k === "C") e.value = "";
        else if (e.value.length < e.max) e.value += k;
        var shown = e.mask ? e.value.replace(/./g, "●") : e.value.replace(/^(\d{3})(\d{0,4})(\d{0,4})$/, "$1 $2 $3").trim();
        $(pad.dataset.for).textContent = shown;
        show(pad.dataset.for === "pin" ? "priority" : "mobile");  // keep the walk-away timer fresh
      };
      pad.appendChild(b);
    });
  });

  // ------------------------------------------------------------------ priority path
  $("priority").onclick = function () { tier = "star"; mark(); show("priority"); };
  $("green").onclick = function () { tier = "green"; pin = ""; render(); };
  document.querySelectorAll("#tiers button").forEach(function (b) { b.onclick = function () { tier = b.dataset.tier; mark(); }; });
  function mark() { document.querySelectorAll("#tiers button").forEach(function (b) { b.className = "big" + (b.dataset.tier === tier ? "" : " secondary"); }); }
  // the PIN is checked as soon as the guide has typed it, not after the customer's choices
  $("pin-ok").onclick = function () {
    var typed = entries.pin.value;
    $("pin-error").textContent = "";
    if (!typed) { $("pin-error").textContent = T.pin.wrong; return; }
    $("pin-ok").disabled = true;
    api("POST", "/halls/" + snap.hall.id + "/guide-pin/check", { pin: typed }).then(function (r) {
      if (!r.valid) { $("pin-error").textContent = T.pin[r.outcome] || T.pin.wrong; return; }
      pin = typed; render(); show("services");
    }).catch(function () { $("pin-error").textContent = T.pin.wrong; })
      .then(function () { $("pin-ok").disabled = false; });
  };

  // ------------------------------------------------------------------ mobile, then the ticket
  $("mobile-skip").onclick = function () { issue(null); };
  $("mobile-ok").onclick = function () {
    var m = entries.mobile.value;
    // eleven digits that are not a mainland number are told so, not asked for eleven digits again
    if (m && !/^1\d{10}$/.test(m)) { $("mobile-error").textContent = m.length === 11 ? T.not_mobile : T.bad_mobile; return; }
    issue(m || null);
  };

  function api(method, path, body) {
    return fetch("/api/v1" + path, { method: method, headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token },
      body: body ? JSON.stringify(body) : undefined })
      .then(function (r) { return r.json().then(function (d) { if (!r.ok) throw d.error || d; return d; }); });
  }

  function issue(mobile) {
    var body = { service_id: choice.id, tier: tier };
    if (mobile) body.mobile = mobile;
    if (tier !== "ordinary" && pin) body.guide_pin = pin;
    $("mobile-ok").disabled = $("mobile-skip").disabled = true;
    api("POST", "/halls/" + snap.hall.id + "/tickets", body).then(function (t) {
      showTicket(t);
      return api("POST", "/tickets/" + encodeURIComponent(t.public_token) + "/print");
    }).then(function (printed) {
      var p = $("t-print"); p.hidden = false;
      // the driver's message is a whole sentence: what went wrong and what to do instead
      p.textContent = printed.ok ? T.printed : (en ? printed.message_en : printed.message_zh);
      p.dataset.code = printed.code;
    }).catch(function (err) {
      if (err && err.field === "guide_pin") {  // changed or locked since it was checked: type it again
        pin = ""; render(); show("priority");
        $("pin-error").textContent = /too many/.test(err.message || "") ? T.pin.locked : T.pin.wrong; return;
      }
      $("mobile-error").textContent = T.error + " " + (err && err.message ? err.message : err);
    }).then(function () { $("mobile-ok").disabled = $("mobile-skip").disabled = false; });
  }

  function showTicket(t) {
    $("t-label").textContent = t.label;
    $("t-tier").hidden = t.tier === "ordinary";  // a roster number, the guide's PIN or the green channel
    $("t-tier").textContent = T.tiers[t.tier] || "";
    $("t-service").textContent = name(t.service);
    $("t-ahead").textContent = hallq.fill(T.ahead, { n: t.people_ahead });
    var m = hallq.minutes(t.estimated_wait_s);
    $("t-wait").textContent = m == null ? T.wait_unknown : hallq.fill(T.wait, { m: m });
    $("t-time").textContent = T.issued_at + " " + new Date(t.issued_at).toLocaleString(en ? "en-GB" : "zh-CN",
      { timeZone: snap.hall.timezone, hour: "2-digit", minute: "2-digit", year: "numeric", month: "2-digit", day: "2-digit" });
    $("t-qr").innerHTML = "";
    $("t-qr").appendChild(hallq.el("img", { src: "/t/" + encodeURIComponent(t.public_token) + "/qr.svg", alt: "QR" }));
    $("t-print").hidden = true;
    $("step-ticket").dataset.token = t.public_token;
    show("ticket");
  }
  $("t-done").onclick = reset;

  // ------------------------------------------------------------------ live
  new HallLive({
    token: token,
    onSnapshot: function (s) { snap = s; render(); },
    onStatus: function (ok, why) { $("link").className = "link " + (ok ? "up" : "down");
      problem(ok ? closedText() : (why === "Connection rejected by server" ? T.not_registered : T.offline)); },
  });
  setInterval(function () {
    if (snap) $("clock").textContent = new Date().toLocaleTimeString(en ? "en-GB" : "zh-CN",
      { timeZone: snap.hall.timezone, hour: "2-digit", minute: "2-digit" });
  }, 1000);
})();
