/* The hall's public page: a one-time SMS code, then a remote ticket; its page follows the queue. */
(function () {
  "use strict";
  var T = hallq.strings(), $ = function (id) { return document.getElementById(id); };
  var hall = window.JOIN.hall, base = "/api/v1/public/halls/" + hall.hall.id;
  var form = $("join-form"), message = $("message"), sendButton = $("send-code");

  // each service: people waiting and the estimated wait, as the hall's page says now
  Array.prototype.forEach.call(document.querySelectorAll(".queue"), function (el) {
    var waiting = Number(el.getAttribute("data-waiting")), wait = el.getAttribute("data-wait");
    var m = wait === "" ? null : hallq.minutes(Number(wait));
    el.textContent = waiting + " " + T.waiting + " · " + (m == null ? T.no_counter : "≈" + m + " " + T.min);
  });
  if (!sendButton) return;  // the hall takes no remote tickets now: the page only informs

  function say(text, bad) { message.textContent = text || ""; message.className = "message" + (bad ? " bad" : ""); }

  function problem(result) {
    var error = (result.data && result.data.error) || {}, text = T[error.code];
    if (!text && error.code === "hall_closed") text = T.hall_closed;
    if (!text && result.status === 0) text = T.network;
    return text ? hallq.fill(text, error) : T.other;  // never the API's English on a customer's phone
  }

  function post(path, body) {
    return fetch(base + path, { method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json" } })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          return { ok: r.ok, status: r.status, data: data };
        });
      }, function () { return { ok: false, status: 0, data: {} }; });
  }

  var countdown = null;
  function holdSendButton(seconds) {
    clearInterval(countdown);
    var left = seconds;
    sendButton.disabled = true;
    sendButton.textContent = hallq.fill(T.resend, { s: left });
    countdown = setInterval(function () {
      left -= 1;
      if (left <= 0) { clearInterval(countdown); sendButton.disabled = false; sendButton.textContent = T.send; }
      else sendButton.textContent = hallq.fill(T.resend, { s: left });
    }, 1000);
  }

  sendButton.onclick = function () {
    var mobile = $("mobile").value.replace(/\s+/g, "");
    if (!/^(\+?86)?1\d{10}$/.test(mobile)) { say(T.mobile_format, true); $("mobile").focus(); return; }
    sendButton.disabled = true;
    say(T.sending);
    post("/codes", { mobile: mobile }).then(function (result) {
      if (result.ok) {
        say(hallq.fill(T.sent, { mobile: result.data.mobile_masked }));
        holdSendButton(result.data.resend_after_s || 60);
        $("code").focus();
      } else {
        var error = (result.data && result.data.error) || {};
        say(problem(result), true);
        if (error.retry_after_s) holdSendButton(Math.min(error.retry_after_s, 3600)); else sendButton.disabled = false;
      }
    });
  };

  form.onsubmit = function (e) {
    e.preventDefault();
    var picked = form.querySelector("input[name=service]:checked");
    if (!picked) { say(T.pick_service, true); return; }
    var mobile = $("mobile").value.replace(/\s+/g, ""), code = $("code").value.replace(/[\s-]+/g, "");
    if (!/^(\+?86)?1\d{10}$/.test(mobile)) { say(T.mobile_format, true); $("mobile").focus(); return; }
    if (!/^\d{6}$/.test(code)) { say(T.code_format, true); $("code").focus(); return; }
    $("join").disabled = true;
    say(T.joining);
    post("/remote-tickets", { service_id: Number(picked.value), mobile: mobile, code: code }).then(function (result) {
      if (result.ok && result.data.public_token) {
        var lang = document.documentElement.lang === "en" ? "?lang=en" : "";
        window.location.assign("/t/" + encodeURIComponent(result.data.public_token) + lang);
        return;
      }
      $("join").disabled = false;
      say(problem(result), true);
    });
  };
})();
