/* Counter console: the counter's state arrives live ("counter" messages); actions go over the API. */
(function () {
  "use strict";
  var T = hallq.strings(), cfg = window.CONSOLE, $ = function (id) { return document.getElementById(id); };
  var en = cfg.lang === "en", counterId = cfg.counter.id, state = null, busy = false;
  var services = {};
  cfg.services.forEach(function (s) { services[s.id] = s; });

  function say(text, ok) { var m = $("msg"); m.textContent = text || ""; m.className = "msg" + (ok ? " ok" : ""); }
  function svcName(id) { var s = services[id]; return s ? s.prefix + " " + (en ? s.name_en || s.name_zh : s.name_zh) : ""; }
  // an appointment checked in early queues from before its slot: never a negative wait
  function may(t, action) { return !!t && (t.actions || []).indexOf(action) >= 0; }
  function mins(s) { s = Math.max(0, s); return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0"); }
  // a ticket taken on the customer's phone (远程取号) or booked ahead (预约), checked in at the kiosk
  function remoteTag(t) {
    if (t && t.channel === "remote") return hallq.el("span", { "class": "remote-tag", title: T.remote_title }, T.remote);
    if (t && t.channel === "appointment") {
      return hallq.el("span", { "class": "remote-tag appointment-tag", title: T.appointment_title }, T.appointment);
    }
    return null;
  }

  function render() {
    if (!state) return;
    var c = state.counter, t = state.ticket;
    $("open-state").textContent = c.is_open ? (c.paused ? "· " + T.paused : "") : "· " + T.closed;
    $("btn-open").firstChild.textContent = (c.is_open ? T.close : T.open) + " ";
    $("btn-pause").firstChild.textContent = (c.paused ? T.resume : T.pause) + " ";
    $("paused").hidden = !c.paused;
    if (c.paused) {
      $("paused-text").textContent = hallq.fill(T.paused_since, { reason: T.reasons[c.paused] || c.paused,
        at: c.paused_at ? new Date(c.paused_at).toLocaleTimeString(cfg.lang === "en" ? "en-GB" : "zh-CN",
          { hour: "2-digit", minute: "2-digit", timeZone: cfg.timezone }) : "" });
    }
    $("current-label").textContent = t ? t.label : "—";
    if (remoteTag(t)) $("current-label").appendChild(remoteTag(t));
    $("current-info").textContent = t ? [svcName(t.service_id), T["state_" + t.state] || t.state,
      hallq.fill(T.waited, { m: Math.round(Math.max(0, t.waited_s) / 60) }), t.recalls ? hallq.fill(T.recalls, { n: t.recalls }) : "",
      T.tiers[t.tier] || ""].filter(Boolean).join(" · ") : (c.is_open ? T.none : T.closed);
    renderHistory(t);
    $("queue-count").textContent = hallq.fill(T.waiting_n, { n: state.waiting });
    var held = heldBy();  // another's open counter: nothing here but taking it over
    $("held").hidden = !held;
    if (held) $("held-text").textContent = hallq.fill(T.held, { name: held.name || "" });
    var can = held ? {} : {
      // the moves on the ticket are the server's (domain.model.actions_at_counter), never a copy here
      "call-next": c.is_open && !t && !c.paused, recall: may(t, "recall"), start: may(t, "start"),
      finish: may(t, "finish"), "no-show": may(t, "no-show"), transfer: may(t, "transfer"), open: true,
      "call-ticket": c.is_open && !t && !c.paused, pause: c.is_open && !t,
    };
    document.querySelectorAll(".actions button").forEach(function (b) { b.disabled = busy || !can[b.dataset.action]; });
    var rows = $("next"); rows.textContent = "";
    if (!state.next.length) rows.appendChild(hallq.el("tr", {})).appendChild(hallq.el("td", { colspan: 3 }, T.nobody));
    state.next.slice(0, 20).forEach(function (n) {
      var tr = hallq.el("tr", {}), label = hallq.el("td", {}, n.label);
      if (T.tiers[n.tier]) label.appendChild(hallq.el("span", { "class": "tier" }, T.tiers[n.tier]));
      if (remoteTag(n)) label.appendChild(remoteTag(n));
      tr.appendChild(label);
      tr.appendChild(hallq.el("td", {}, svcName(n.service_id)));
      tr.appendChild(hallq.el("td", {}, mins(n.waited_s)));
      rows.appendChild(tr);
    });
  }

  // a transferred customer: the counters they were at before, how long, and the notes sent along
  function renderHistory(t) {
    var list = $("current-history"), steps = (t && t.history) || [];
    list.textContent = "";
    list.hidden = !steps.length;
    steps.forEach(function (h) {
      var li = hallq.el("li", {}, hallq.fill(T.transferred_from, {
        n: h.counter_number === null ? "?" : h.counter_number, service: svcName(h.service_id),
        m: h.served_s === null ? "?" : Math.max(1, Math.round(h.served_s / 60)) }));
      if (h.note) li.appendChild(hallq.el("q", { "class": "note" }, h.note));
      list.appendChild(li);
    });
  }

  // an open counter belongs to who opened it (or took it over); anyone else takes it over explicitly
  function heldBy() {
    var h = state && state.holder;
    return state && state.counter.is_open && h && h.id !== cfg.me ? h : null;
  }
  $("btn-take-over").onclick = function () {
    var h = heldBy();
    if (!h || !window.confirm(hallq.fill(T.take_over_confirm, { name: h.name || "" }))) return;
    act("take-over");
  };

  // the answer to our own action holds now: show it at once (the live link's "counter" message,
  // asked for with resync, brings the queue too, however busy the live process is)
  function applyAnswer(action, data) {
    if (!state || !data) return render();
    var counter = data.counter || (["open", "close", "pause", "resume"].indexOf(action) >= 0 ? data : null);
    if (counter && counter.id === counterId) state.counter = counter;
    if (data.ticket !== undefined) {
      var t = data.ticket;
      state.ticket = t && (t.state === "called" || t.state === "serving") ? t : null;
    }
    render();
  }


  function act(action, body) {
    if (busy) return;
    if (action === "open" && state && state.counter.is_open) action = "close";
    if (action === "pause" && state && state.counter.paused) action = "resume";
    busy = true; render();
    var t = state && state.ticket;
    body = body || {};
    if (t && ["recall", "start", "finish", "no-show", "transfer"].indexOf(action) >= 0) body.ticket_id = t.id;
    fetch("/api/v1/counters/" + counterId + "/" + action, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": cfg.csrf }, body: JSON.stringify(body),
    }).then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (res) {
        busy = false;
        if (!res.ok) {
          var err = res.data.error || {};
          if (err.code === "counter_held" && state) state.holder = { id: err.holder_id, name: err.holder_name };
          say(err.code === "counter_held" ? "" : refusal(err)); render(); live.resync(); return;
        }
        if (action === "take-over" && state) state.holder = { id: cfg.me, name: "" };
        if (action === "call-next" && !res.data.ticket) say(T.nobody, true);
        else say(T.done, true);
        applyAnswer(action, res.data);
        live.resync();
      })
      .catch(function () { busy = false; say(T.offline); render(); });
  }

  // a refusal in the page's language, by its stable code: never the API's English sentence
  function refusal(err) {
    var text = T.errors[err.code] || (err.status === 422 ? T.errors.invalid : T.errors.other);
    return hallq.fill(text, err);
  }

  document.querySelectorAll(".actions button").forEach(function (b) {
    b.onclick = function () {
      var dialog = { transfer: "transfer-dialog", "call-ticket": "call-ticket-dialog" }[b.dataset.action];
      if (b.dataset.action === "pause" && !(state && state.counter.paused)) dialog = "pause-dialog";  // why?
      if (!dialog) return act(b.dataset.action);
      $(dialog).showModal();
      if (dialog === "call-ticket-dialog") { $("call-ticket-label").value = ""; $("call-ticket-label").focus(); }
    };
  });
  document.querySelectorAll("#pause-dialog .reason").forEach(function (b) {
    b.onclick = function () { act("pause", { reason: b.dataset.reason }); };
  });
  $("call-ticket-go").onclick = function () {
    var label = $("call-ticket-label").value.trim().toUpperCase();
    if (label) act("call-ticket", { label: label });
  };
  $("transfer-go").onclick = function () {
    var body = { to_service_id: +$("transfer-service").value };
    if ($("transfer-counter").value) body.to_counter_id = +$("transfer-counter").value;
    var note = $("transfer-note").value.trim();
    if (note) body.note = note;
    $("transfer-note").value = "";
    act("transfer", body);
  };
  var keys = { o: "open", n: "call-next", r: "recall", s: "start", f: "finish", x: "no-show", t: "transfer",
    g: "call-ticket", p: "pause" };
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || /INPUT|SELECT|TEXTAREA/.test(e.target.tagName) ||
        $("transfer-dialog").open || $("call-ticket-dialog").open || $("pause-dialog").open) return;
    var action = keys[e.key.toLowerCase()];
    if (!action) return;
    var b = document.querySelector('.actions button[data-action="' + action + '"]');
    if (b && !b.disabled) { e.preventDefault(); b.click(); }
  });

  var live = new HallLive({
    query: { counter_id: counterId },
    onCounter: function (msg) { state = msg; render(); },
    onDelta: function (d) {  // a colleague took this counter over: this console stops working it
      if (d.event === "CounterTakenOver" && d.counter_id === counterId && d.to_staff_id !== cfg.me) {
        if (state) state.holder = { id: d.to_staff_id, name: d.to_name };
        say(hallq.fill(T.taken_over, { name: d.to_name })); render();
      }
    },
    onSnapshot: function (snap) { snap.services.forEach(function (s) { services[s.id] = s; }); },
    onStatus: function (ok) { $("link").className = "link " + (ok ? "up" : "down"); if (!ok) say(T.offline); else say(""); },
  });
  setInterval(function () {  // waited times tick between pushes
    if (state) { state.next.forEach(function (n) { n.waited_s += 1; }); render(); }
  }, 1000);
})();
