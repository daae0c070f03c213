/* Hall display and one-counter screen: state from snapshots and deltas, voice for each call (HallLive's
 * onCall: from its delta, or from a later snapshot when the delta was missed; each call once). */
import { hallq } from "./hallq.js";
import { HallLive } from "./live.js";
import { deviceToken, showPairing } from "./lib/device.js";
import { $, el, showText } from "./lib/dom.js";
import { minutes } from "./lib/format.js";
import { T, en, fill } from "./lib/i18n.js";
import { voice } from "./voice.js";
import { mediaArea } from "./display_media.js";

const cfg = window.DISPLAY;
const state = { hall: null, counters: {}, services: [], recent: [], screen: null };
const announced = hallq.announced = [];  // what was said, newest last (tests read it)

const token = deviceToken("hallq.display.token");
if (token) start();
else showPairing("display", "hallq.display.token");  // a new screen: a pairing code for an administrator to enter

function start() {
  const problem = (text) => showText($("problem"), text);
  const name = (o) => (en ? (o.name_en || o.name_zh) : o.name_zh);
  const counterN = (n) => fill(T.counter_n, { n });

  // ---------------------------------------------------------------- clock (server time, local zone)
  let skew = 0;
  function tick() {
    if (!state.hall) return;
    const now = new Date(Date.now() + skew);
    $("clock").textContent = now.toLocaleString(en ? "en-GB" : "zh-CN", {
      timeZone: state.hall.timezone, hour: "2-digit", minute: "2-digit", second: "2-digit",
      month: "2-digit", day: "2-digit", weekday: "short" });
  }
  setInterval(tick, 1000);

  // ---------------------------------------------------------------- rendering
  let shown = null;  // the call in the big box: {label, counter_number}

  function render() {
    if (!state.hall) return;
    $("hall-name").textContent = state.hall.name_zh;
    $("hall-name-en").textContent = state.hall.name_en || "";
    document.title = state.hall.name_zh;
    if (cfg.counter) return renderWindow();
    const box = $("counters"); box.textContent = "";
    for (const c of Object.values(state.counters).sort((a, b) => a.number - b.number)) {
      const card = el("div", { "class": "counter" + (c.is_open ? (c.paused && !c.ticket ? " paused" : "") : " closed"),
        "data-counter": c.number });
      card.appendChild(el("span", { "class": "num" }, counterN(c.number)));
      card.appendChild(el("span", { "class": "label" },
        c.ticket ? c.ticket.label : (c.is_open ? (c.paused ? T.paused : T.idle) : T.closed)));
      box.appendChild(card);
    }
    const rows = $("services"); rows.textContent = "";
    for (const s of state.services) {
      const tr = el("tr", { "data-prefix": s.prefix });
      tr.appendChild(el("td", {}, s.prefix + " " + name(s)));
      tr.appendChild(el("td", { "class": "n" }, String(s.waiting)));
      const m = minutes(s.estimated_wait_s);
      tr.appendChild(el("td", {}, s.waiting === 0 ? "—" : (m == null ? T.no_counter : fill(T.wait_min, { m }))));
      rows.appendChild(tr);
    }
    const latest = $("latest");
    if (latest && shown && !counterOpen(shown.counter_number)) {  // its counter closed since: an old call, not news
      latest.textContent = ""; shown = null;
      latest.appendChild(el("span", { "class": "label" }, "—"));
    }
    const list = $("recent"); list.textContent = "";
    for (const r of state.recent.slice(0, 8)) list.appendChild(el("li", {}, r.label + " → " + counterN(r.counter_number)));
    const notice = state.screen ? (en ? state.screen.notice_en : state.screen.notice_zh) : "";
    if ($("notice").textContent !== notice) $("notice").textContent = notice;
  }

  function renderWindow() {
    const c = state.counters[cfg.counter];
    const numberOnly = !!c && c.display_mode === "number";  // a small LED-like screen: the number alone
    document.body.classList.toggle("number-only", numberOnly);
    $("window-number").textContent = c && !numberOnly ? counterN(c.number) : "";
    $("window-ticket").textContent = c && c.ticket ? c.ticket.label
      : (c && c.is_open ? (c.paused ? T.paused : T.please_wait) : T.closed);
    const svc = c && c.ticket && state.services.filter((s) => s.id === c.ticket.service_id)[0];
    $("window-service").textContent = svc && !numberOnly ? name(svc) : "";
    document.body.classList.toggle("closed", !(c && c.is_open));
  }

  function counterOpen(number) {
    return Object.values(state.counters).some((c) => c.number === number && c.is_open);
  }

  function showLatest(label, counterNumber) {
    const box = $("latest"); if (!box) return;
    shown = { label, counter_number: counterNumber };
    box.textContent = "";
    box.appendChild(el("span", { "class": "label" }, label));
    box.appendChild(el("span", { "class": "to" }, counterN(counterNumber)));
    box.classList.remove("flash"); void box.offsetWidth; box.classList.add("flash");
  }

  const media = mediaArea(counterN);

  // ---------------------------------------------------------------- snapshot and deltas
  function onSnapshot(snap) {
    hallq.snapshots += 1;
    state.hall = snap.hall; state.screen = snap.hall.screen;
    state.services = snap.services; state.recent = snap.recent_calls;
    state.counters = {};
    for (const c of snap.counters) state.counters[c.id] = c;
    if (snap.at) skew = new Date(snap.at).getTime() - Date.now();
    if (!cfg.counter) media.playlist(snap.media || []);
    const last = state.recent[0];
    if (!cfg.counter && last && $("latest").querySelector(".label").textContent === "—" && counterOpen(last.counter_number))
      showLatest(last.label, last.counter_number);
    problem(""); render(); tick();
  }

  function onDelta(d) {
    const c = state.counters[d.counter_id];
    switch (d.event) {
      case "TicketCalled":
        if (c) c.ticket = { id: d.ticket_id, label: d.label, service_id: d.service_id, state: "called" };
        state.recent = [{ label: d.label, counter_number: d.counter_number, recall: !!d.recall }]
          .concat(state.recent.filter((r) => r.label !== d.label)).slice(0, 10);
        break;  // shown and said by onCall
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

  function onCall(call) {  // a call not yet said: from its delta, or from a snapshot after a missed delta
    if (cfg.counter && call.counter_id !== cfg.counter) return;
    showLatest(call.label, call.counter_number);
    if (!cfg.counter) media.call(call.label, call.counter_number);
    announce(call.label, call.counter_number);
  }

  hallq.snapshots = 0;
  hallq.live = new HallLive({
    token, query: cfg.counter ? { counter_id: cfg.counter } : {},
    onSnapshot, onDelta, onCall,
    onStatus: (ok, why) => {
      $("link").className = "link " + (ok ? "up" : "down");
      if (ok) problem("");
      else if (why === "Connection rejected by server") problem(T.not_registered);
      else problem(T.offline);
    },
  });

  // ---------------------------------------------------------------- voice: chime, then the call in Chinese
  // the voice speaks with the browser's zh-CN voice, or, on a box without one, with the app's clips
  let speaking = false;
  const pending = [];
  function announce(label, counterNumber) {
    const s = state.screen || {};
    const texts = [{ lang: "zh-CN", text: fill(s.call_zh || "请{label}号到{counter}号窗口办理",
                                               { label: voice.spokenLabel(label), counter: counterNumber }) }];
    if (cfg.voice.includes("en"))
      texts.push({ lang: "en-GB", text: fill(s.call_en || "Number {label}, please go to counter {counter}",
                                            { label: label.split("").join(" "), counter: counterNumber }) });
    announced.push({ label, counter: counterNumber, texts: texts.map((t) => t.text) });
    pending.push(texts);
    next();
  }
  function next() {
    if (speaking || !pending.length) return;
    speaking = true;
    const texts = pending.shift();
    chime();
    setTimeout(() => { say(texts, 0); }, 900);
  }
  function say(texts, i) {
    if (i >= texts.length) {
      speaking = false;
      if (!pending.length && !cfg.counter) media.calledOut();  // the last call said: the media may come back
      return setTimeout(next, 300);
    }
    voice.say(texts[i].text, texts[i].lang).then((said) => {
      if (said.missing.length) {  // the hall's own call text has words no clip says: tell whoever sets it up
        const note = $("voice-note");
        note.textContent = T.voice_clips + " " + fill(T.voice_missing, { words: said.missing.join(" ") });
        note.hidden = false;
      }
      say(texts, i + 1);
    });
  }
  function chime() {  // ding-dong from two sine tones; no audio file needed
    try {
      const audio = voice.audio();
      for (const [frequency, after] of [[880, 0], [660, 0.35]]) {
        const o = audio.createOscillator(), g = audio.createGain(), t = audio.currentTime + after;
        o.frequency.value = frequency; o.connect(g); g.connect(audio.destination);
        g.gain.setValueAtTime(0.0001, t); g.gain.exponentialRampToValueAtTime(0.4, t + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t + 0.6);
        o.start(t); o.stop(t + 0.65);
      }
    } catch (e) { /* no audio device: the call is still on screen */ }
  }
  // browsers allow sound only after a tap, unless started with --autoplay-policy=no-user-gesture-required
  try {
    const audio = voice.audio();
    if (audio && audio.state === "suspended") {
      const btn = $("sound"); btn.hidden = false;
      btn.onclick = () => { audio.resume(); btn.hidden = true; };
    }
  } catch (e) { /* no audio at all */ }
  // say how this screen speaks: its own zh-CN voice, the recorded clips (no voice here), or not at all
  voice.mode("zh-CN").then((how) => {
    const note = $("voice-note");
    document.body.dataset.voice = how;
    if (how === "speech") return;
    note.textContent = how === "clips" ? T.voice_clips : T.voice_none;
    note.hidden = false;
  });

  // a signage screen runs for weeks: reload once a day at 04:00 for fresh code and memory
  const now = new Date(), at4 = new Date(now);
  at4.setHours(4, Math.floor(Math.random() * 30), 0, 0);
  if (at4 <= now) at4.setDate(at4.getDate() + 1);
  setTimeout(() => { location.reload(); }, at4 - now);
}
