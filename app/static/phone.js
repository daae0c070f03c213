/* The customer's phone: its ticket's status from snapshots and pushes, the call itself from deltas. */
(function () {
  "use strict";
  var T = hallq.strings(), $ = function (id) { return document.getElementById(id); };
  var token = window.TICKET.token, status = window.TICKET.status, calledAt = null;
  var en = document.documentElement.lang === "en";

  function render() {
    var s = status, st = $("state");
    $("ahead").textContent = s.state === "waiting" ? s.people_ahead : "—";
    var m = hallq.minutes(s.estimated_wait_s);
    $("wait").textContent = s.state !== "waiting" ? "—" : (m == null ? T.no_counter : m + " " + T.min);
    st.className = "state";
    var n = s.counter ? s.counter.number : "";
    if (s.state === "waiting") st.textContent = T.waiting;
    else if (s.state === "called") { st.textContent = hallq.fill(T.called, { n: n }); st.className = "state called"; }
    else if (s.state === "serving") st.textContent = hallq.fill(T.serving, { n: n });
    else { st.textContent = T[s.state] || s.state; st.className = "state done"; }
    $("cancel").hidden = $("facts").hidden = s.state !== "waiting";
    // a transfer changes the service; once the ticket has ended there is nothing left to wait for
    if (s.service) $("service").textContent = en && s.service.name_en ? s.service.name_en : s.service.name_zh;
    $("hint").hidden = s.state !== "waiting" && s.state !== "called";
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
      .then(function (r) { return r.json(); }).then(function (s) { if (s.state) { status = s; render(); } });
  };
  render();
})();
