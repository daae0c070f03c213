/* The customer's phone: its ticket's status from snapshots and pushes, the call itself from deltas.
 * A ticket taken on the phone (state remote) shows by when to check in, and its QR code for the
 * kiosk's scanner; one released because it was not checked in in time says so. */
(function () {
  "use strict";
  var T = hallq.strings(), $ = function (id) { return document.getElementById(id); };
  var token = window.TICKET.token, status = window.TICKET.status, calledAt = null;
  var en = document.documentElement.lang === "en";
  var LEFT = "hallq.left." + token;  // this phone left the queue itself (not released by the hall)
  var RELEASE_SLACK_MS = 60000;  // the phone's clock may run a little behind the hall's

  // a time of day in the hall's zone (the phone may be set to another)
  function hhmm(iso) {
    var opts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }, lang = en ? "en-GB" : "zh-CN";
    try { return new Date(iso).toLocaleTimeString(lang, Object.assign({ timeZone: (status.hall || {}).timezone }, opts)); }
    catch (e) { return new Date(iso).toLocaleTimeString(lang, opts); }
  }
  function leftHere() { try { return !!localStorage.getItem(LEFT); } catch (e) { return false; } }
  // cancelled, taken on the phone, never checked in, its deadline past, and not left from here
  function released(s) {
    return s.state === "cancelled" && s.channel === "remote" && !s.checked_in_at && !!s.check_in_by &&
      Date.parse(s.check_in_by) <= Date.now() + RELEASE_SLACK_MS && !leftHere();
  }

  function render() {
    var s = status, st = $("state"), queued = s.state === "waiting" || s.state === "remote";
    $("ahead").textContent = queued ? s.people_ahead : "—";
    var m = hallq.minutes(s.estimated_wait_s);
    $("wait").textContent = !queued ? "—" : (m == null ? T.no_counter : m + " " + T.min);
    st.className = "state";
    var n = s.counter ? s.counter.number : "";
    var remote = s.state === "remote";
    $("check-in").hidden = !remote;
    if (remote && !$("qr").getAttribute("src")) $("qr").src = $("qr").dataset.src;
    if (remote) { st.textContent = hallq.fill(T.remote, { t: hhmm(s.check_in_by) }); st.className = "state remote"; }
    else if (s.state === "waiting") st.textContent = T.waiting;
    else if (s.state === "called") { st.textContent = hallq.fill(T.called, { n: n }); st.className = "state called"; }
    else if (s.state === "serving") st.textContent = hallq.fill(T.serving, { n: n });
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
      calledAt = Date.now();
      if (navigator.vibrate) navigator.vibrate([400, 200, 400]);
      render();
      if (d.recall) $("state").textContent += " · " + hallq.fill(T.recall, { n: d.recall });
    } else {
      live.resync();
    }
  }

  var live = new HallLive({
    query: { ticket: token }, everyDelta: true,
    onSnapshot: function (snap) { status = snap.ticket; render(); },
    onTicket: function (msg) { status = msg.ticket; render(); },
    onDelta: onDelta,
    onStatus: function (ok) {
      $("link").className = "link " + (ok ? "up" : "down");
      $("problem").hidden = ok; $("problem").textContent = ok ? "" : T.offline;
    },
  });

  $("cancel").onclick = function () {
    if (!confirm(T.confirm_cancel)) return;
    fetch("/api/v1/tickets/" + encodeURIComponent(token) + "/cancel", { method: "POST" })
      .then(function (r) { return r.json(); }).then(function (s) {
        if (s.state === "cancelled") {  // the customer's own choice, not a release: say "you left"
          try { localStorage.setItem(LEFT, "1"); } catch (e) { /* private mode: nothing kept */ }
        }
        if (s.state) { status = s; render(); }
      });
  };
  render();
})();
