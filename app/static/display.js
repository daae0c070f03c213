/* Hall display and one-counter screen: state from snapshots, calls from deltas, voice for each call. */
(function () {
  "use strict";
  var T = hallq.strings(), cfg = window.DISPLAY, en = cfg.lang === "en";
  var state = { hall: null, counters: {}, services: [], recent: [], screen: null };
  var announced = hallq.announced = [];  // what was said, newest last (tests read it)
  var $ = function (id) { return document.getElementById(id); };

  var token = hallq.deviceToken("hallq.display.token");
  if (!token) {  // a new screen: show a pairing code for an administrator to enter
    hallq.pairDevice("display", "hallq.display.token", function (code) {
      $("pairing").hidden = false;
      $("pairing-code").textContent = code.slice(0, 3) + " " + code.slice(3);
    });
    return;
  }

  function problem(text) { var p = $("problem"); p.textContent = text || ""; p.hidden = !text; }
  function name(o) { return en ? (o.name_en || o.name_zh) : o.name_zh; }

  // ---------------------------------------------------------------- clock (server time, local zone)
  var skew = 0;
  function tick() {
    if (!state.hall) return;
    var now = new Date(Date.now() + skew);
    $("clock").textContent = now.toLocaleString(en ? "en-GB" : "zh-CN", {
      timeZone: state.hall.timezone, hour: "2-digit", minute: "2-digit", second: "2-digit",
      month: "2-digit", day: "2-digit", weekday: "short" });
  }
  setInterval(tick, 1000);

  // ---------------------------------------------------------------- rendering
  function render() {
    if (!state.hall) return;
    $("hall-name").textContent = state.hall.name_zh;
    $("hall-name-en").textContent = state.hall.name_en || "";
    document.title = state.hall.name_zh;
    if (cfg.counter) return renderWindow();
    var box = $("counters"); box.textContent = "";
    Object.values(state.counters).sort(function (a, b) { return a.number - b.number; }).forEach(function (c) {
      var card = hallq.el("div", { "class": "counter" + (c.is_open ? (c.paused && !c.ticket ? " paused" : "") : " closed"),
        "data-counter": c.number });
      card.appendChild(hallq.el("span", { "class": "num" }, hallq.fill(T.counter_n, { n: c.number })));
      card.appendChild(hallq.el("span", { "class": "label" },
        c.ticket ? c.ticket.label : (c.is_open ? (c.paused ? T.paused : T.idle) : T.closed)));
      box.appendChild(card);
    });
    var rows = $("services"); rows.textContent = "";
    state.services.forEach(function (s) {
      var tr = hallq.el("tr", { "data-prefix": s.prefix });
      tr.appendChild(hallq.el("td", {}, s.prefix + " " + name(s)));
      tr.appendChild(hallq.el("td", { "class": "n" }, String(s.waiting)));
      var m = hallq.minutes(s.estimated_wait_s);
      tr.appendChild(hallq.el("td", {}, s.waiting === 0 ? "—" : (m == null ? T.no_counter : hallq.fill(T.wait_min, { m: m }))));
      rows.appendChild(tr);
    });
    var latest = $("latest");
    if (latest && shown && !counterOpen(shown.counter_number)) {  // its counter closed since: an old call, not news
      latest.textContent = ""; shown = null;
      latest.appendChild(hallq.el("span", { "class": "label" }, "—"));
    }
    var list = $("recent"); list.textContent = "";
    state.recent.slice(0, 8).forEach(function (r) {
      list.appendChild(hallq.el("li", {}, r.label + " → " + hallq.fill(T.counter_n, { n: r.counter_number })));
    });
    var notice = state.screen ? (en ? state.screen.notice_en : state.screen.notice_zh) : "";
    if ($("notice").textContent !== notice) $("notice").textContent = notice;
  }

  function renderWindow() {
    var c = state.counters[cfg.counter];
    var numberOnly = !!c && c.display_mode === "number";  // a small LED-like screen: the number alone
    document.body.classList.toggle("number-only", numberOnly);
    $("window-number").textContent = c && !numberOnly ? hallq.fill(T.counter_n, { n: c.number }) : "";
    $("window-ticket").textContent = c && c.ticket ? c.ticket.label
      : (c && c.is_open ? (c.paused ? T.paused : T.please_wait) : T.closed);
    var svc = c && c.ticket && state.services.filter(function (s) { return s.id === c.ticket.service_id; })[0];
    $("window-service").textContent = svc && !numberOnly ? name(svc) : "";
    document.body.classList.toggle("closed", !(c && c.is_open));
  }

  var shown = null;  // the call in the big box: {label, counter_number}

  function counterOpen(number) {
    return Object.keys(state.counters).some(function (id) {
      var c = state.counters[id]; return c.number === number && c.is_open;
    });
  }

  function showLatest(label, counterNumber) {
    var box = $("latest"); if (!box) return;
    shown = { label: label, counter_number: counterNumber };
    box.textContent = "";
    box.appendChild(hallq.el("span", { "class": "label" }, label));
    box.appendChild(hallq.el("span", { "class": "to" }, hallq.fill(T.counter_n, { n: counterNumber })));
    box.classList.remove("flash"); void box.offsetWidth; box.classList.add("flash");
  }

  // ---------------------------------------------------------------- media area: images and videos, calls first
  // The hall's playlist plays in turn beside the calls, muted (the calls are what the hall hears).
  // A call covers it at once and pauses a video; it comes back once the call has been said, and
  // stays covered at least CALL_MIN_MS. hallq.media tells the tests what is on.
  var media = (function () {
    var CALL_MIN_MS = 6000, CALL_MAX_MS = 20000;
    var items = [], key = "", index = -1, timer = null, calledAt = 0, releaseTimer = null, covered = false;
    var box = $("media"), stage = $("media-stage"), cover = $("media-call");
    var info = hallq.media = { state: "none", item: null, shown: [] };
    function playlist(list) {
      var k = list.map(function (m) { return m.id + ":" + m.url + ":" + m.seconds; }).join("|");
      if (!box || k === key) return;
      key = k; items = list; index = -1;
      box.hidden = !items.length;
      document.body.classList.toggle("with-media", items.length > 0);
      if (!items.length) { clearTimeout(timer); stage.textContent = ""; info.state = "none"; info.item = null; return; }
      advance();
    }
    function advance() {
      clearTimeout(timer);
      if (!items.length) return;
      index = (index + 1) % items.length;
      var m = items[index], el;
      stage.textContent = "";
      if (m.kind === "video") {
        el = hallq.el("video", { src: m.url, muted: "", playsinline: "", preload: "auto" });
        el.muted = true;  // a waiting-area video never speaks over the calls
        el.onended = advance;
        el.onerror = function () { info.errors = (info.errors || 0) + 1; timer = setTimeout(advance, 1000); };
        if (items.length === 1) el.loop = true;
      } else {
        el = hallq.el("img", { src: m.url, alt: m.title || "" });
        timer = setTimeout(advance, m.seconds * 1000);
      }
      stage.appendChild(el);
      info.item = { id: m.id, kind: m.kind }; info.shown.push(m.id);
      box.dataset.item = m.id;
      if (m.kind === "video" && !covered) el.play().catch(function () { /* played once allowed */ });
      info.state = covered ? "call" : "playing";
    }
    function video() { return stage.querySelector("video"); }
    function call(label, counterNumber) {
      if (!box || box.hidden) return;
      covered = true; calledAt = Date.now();
      cover.querySelector(".label").textContent = label;
      cover.querySelector(".to").textContent = hallq.fill(T.counter_n, { n: counterNumber });
      cover.hidden = false; box.dataset.state = info.state = "call";
      var v = video(); if (v) v.pause();
      clearTimeout(releaseTimer);
      releaseTimer = setTimeout(release, CALL_MAX_MS);  // a voice that never ends does not keep it covered
    }
    function calledOut() {
      if (!covered) return;
      clearTimeout(releaseTimer);
      releaseTimer = setTimeout(release, Math.max(1500, CALL_MIN_MS - (Date.now() - calledAt)));
    }
    function release() {
      covered = false; cover.hidden = true; box.dataset.state = info.state = items.length ? "playing" : "none";
      var v = video(); if (v) v.play().catch(function () {});
    }
    return { playlist: playlist, call: call, calledOut: calledOut };
  })();

  // ---------------------------------------------------------------- snapshot and deltas
  function onSnapshot(snap) {
    hallq.snapshots += 1;
    state.hall = snap.hall; state.screen = snap.hall.screen;
    state.services = snap.services; state.recent = snap.recent_calls;
    state.counters = {};
    snap.counters.forEach(function (c) { state.counters[c.id] = c; });
    if (snap.at) skew = new Date(snap.at).getTime() - Date.now();
    if (!cfg.counter) media.playlist(snap.media || []);
    var last = state.recent[0];
    if (!cfg.counter && last && $("latest").querySelector(".label").textContent === "—" && counterOpen(last.counter_number))
      showLatest(last.label, last.counter_number);
    problem(""); render(); tick();
  }

  function onDelta(d) {
    var c = state.counters[d.counter_id];
    switch (d.event) {
      case "TicketCalled":
        if (c) c.ticket = { id: d.ticket_id, label: d.label, service_id: d.service_id, state: "called" };
        state.recent = [{ label: d.label, counter_number: d.counter_number, recall: !!d.recall }]
          .concat(state.recent.filter(function (r) { return r.label !== d.label; })).slice(0, 10);
        if (!cfg.counter || d.counter_id === cfg.counter) {
          showLatest(d.label, d.counter_number);
          if (!cfg.counter) media.call(d.label, d.counter_number);
          announce(d.label, d.counter_number);
        }
        break;
      case "ServiceFinished": case "TicketNoShow": case "TicketTransferred":
        if (c && c.ticket && c.ticket.id === d.ticket_id) c.ticket = null;
        break;
      case "CounterOpened": if (c) c.is_open = true; break;
      case "CounterClosed": if (c) { c.is_open = false; c.ticket = null; c.paused = null; } break;
      case "CounterPaused": if (c) c.paused = d.reason; break;
      case "CounterResumed": if (c) c.paused = null; break;
    }
    render();
  }

  hallq.snapshots = 0;
  hallq.live = new HallLive({
    token: token, query: cfg.counter ? { counter_id: cfg.counter } : {},
    onSnapshot: onSnapshot, onDelta: onDelta,
    onStatus: function (ok, why) {
      $("link").className = "link " + (ok ? "up" : "down");
      if (ok) problem("");
      else if (why === "Connection rejected by server") problem(T.not_registered);
      else problem(T.offline);
    },
  });

  // ---------------------------------------------------------------- voice: chime, then the call in Chinese
  // hallq.voice speaks with the browser's zh-CN voice, or, on a box without one, with the app's clips
  var speaking = false, pending = [];
  function announce(label, counterNumber) {
    var s = state.screen || {};
    var texts = [{ lang: "zh-CN", text: hallq.fill(s.call_zh || "请{label}号到{counter}号窗口办理",
                                               { label: hallq.voice.spokenLabel(label), counter: counterNumber }) }];
    if (cfg.voice.indexOf("en") >= 0)
      texts.push({ lang: "en-GB", text: hallq.fill(s.call_en || "Number {label}, please go to counter {counter}",
                                                  { label: label.split("").join(" "), counter: counterNumber }) });
    announced.push({ label: label, counter: counterNumber, texts: texts.map(function (t) { return t.text; }) });
    pending.push(texts);
    next();
  }
  function next() {
    if (speaking || !pending.length) return;
    speaking = true;
    var texts = pending.shift();
    chime();
    setTimeout(function () { say(texts, 0); }, 900);
  }
  function say(texts, i) {
    if (i >= texts.length) {
      speaking = false;
      if (!pending.length && !cfg.counter) media.calledOut();  // the last call said: the media may come back
      return setTimeout(next, 300);
    }
    hallq.voice.say(texts[i].text, texts[i].lang).then(function (said) {
      if (said.missing.length) {  // the hall's own call text has words no clip says: tell whoever sets it up
        var note = $("voice-note");
        note.textContent = T.voice_clips + " " + hallq.fill(T.voice_missing, { words: said.missing.join(" ") });
        note.hidden = false;
      }
      say(texts, i + 1);
    });
  }
  function chime() {  // ding-dong from two sine tones; no audio file needed
    try {
      var audio = hallq.voice.audio();
      [[880, 0], [660, 0.35]].forEach(function (tone) {
        var o = audio.createOscillator(), g = audio.createGain(), t = audio.currentTime + tone[1];
        o.frequency.value = tone[0]; o.connect(g); g.connect(audio.destination);
        g.gain.setValueAtTime(0.0001, t); g.gain.exponentialRampToValueAtTime(0.4, t + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t + 0.6);
        o.start(t); o.stop(t + 0.65);
      });
    } catch (e) { /* no audio device: the call is still on screen */ }
  }
  // browsers allow sound only after a tap, unless started with --autoplay-policy=no-user-gesture-required
  try {
    var audio = hallq.voice.audio();
    if (audio && audio.state === "suspended") {
      var btn = $("sound"); btn.hidden = false;
      btn.onclick = function () { audio.resume(); btn.hidden = true; };
    }
  } catch (e) { /* no audio at all */ }
  // say how this screen speaks: its own zh-CN voice, the recorded clips (no voice here), or not at all
  hallq.voice.mode("zh-CN").then(function (how) {
    var note = $("voice-note");
    document.body.dataset.voice = how;
    if (how === "speech") return;
    note.textContent = how === "clips" ? T.voice_clips : T.voice_none;
    note.hidden = false;
  });

  // a signage screen runs for weeks: reload once a day at 04:00 for fresh code and memory
  var now = new Date(), at4 = new Date(now); at4.setHours(4, Math.floor(Math.random() * 30), 0, 0);
  if (at4 <= now) at4.setDate(at4.getDate() + 1);
  setTimeout(function () { location.reload(); }, at4 - now);
})();
