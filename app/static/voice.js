/* Voice for the screens: hallq.voice.say(text, lang) speaks with the browser's own voice for the
 * language when it has one, and otherwise plays the app's recorded clips joined word by word
 * (domain.voice's vocabulary, /voice/manifest.json): many Linux and Android display boxes have no
 * zh-CN voice for speechSynthesis, and some have no voice at all. Nothing needs the internet.
 *
 * Utterances never overlap: each waits for the one before. Every one is logged in hallq.voice.log
 * ({text, lang, via: "speech" | "clips" | "none", clips: [names], missing: [what no clip says],
 * seconds: the clips' decoded length, heard: the audio was running, done}); the screens' tests read
 * what was played from it. */
import { hallq } from "./hallq.js";

const ZH_DIGITS = "零一二三四五六七八九";
const EN_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
  "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"];
const EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const PAUSE_S = 0.25, GAP_S = 0.04;
const buffers = {}, log = [];
let ctx = null, manifest = null, manifestLoad = null, queue = Promise.resolve(), voicesKnown = null;

export function audio() {  // one AudioContext for the page: the voice and the display's chime
  if (!ctx) { const A = window.AudioContext || window.webkitAudioContext; ctx = A ? new A() : null; }
  return ctx;
}

// ------------------------------------------------------------------ numbers as they are said
export function numberZh(n) {  // 12 -> 十二, 20 -> 二十, 105 -> 一百零五 (as domain.voice.number_zh)
  n = Math.floor(+n);
  if (n < 10) return ZH_DIGITS[n];
  if (n < 20) return "十" + (n > 10 ? ZH_DIGITS[n - 10] : "");
  if (n < 100) return ZH_DIGITS[Math.floor(n / 10)] + "十" + (n % 10 ? ZH_DIGITS[n % 10] : "");
  const rest = n % 100;
  return ZH_DIGITS[Math.floor(n / 100)] + "百" +
    (rest === 0 ? "" : rest < 10 ? "零" + ZH_DIGITS[rest] : (rest < 20 ? "一" : "") + numberZh(rest));
}
export function numberEn(n) {
  n = Math.floor(+n);
  if (n < 20) return EN_ONES[n];
  if (n < 100) return EN_TENS[Math.floor(n / 10)] + (n % 10 ? " " + EN_ONES[n % 10] : "");
  return EN_ONES[Math.floor(n / 100)] + " hundred" + (n % 100 ? " " + numberEn(n % 100) : "");
}
export function spokenLabel(label) {  // "A023" -> "A零二三": a ticket's digits are read one by one, as halls do
  return String(label).replace(/\d/g, (d) => ZH_DIGITS[+d]);
}
// digits left in a text: a ticket-like run (leading zero, or long) digit by digit, else as a number
function numbersSaid(text, zh) {
  return text.replace(/\d+/g, (run) => {
    const each = run.length > 3 || (run.length > 1 && run[0] === "0");
    if (zh) return each ? spokenLabel(run) : numberZh(+run);
    return " " + (each ? run.split("").map((d) => EN_ONES[+d]).join(" ") : numberEn(+run)) + " ";
  });
}

// ------------------------------------------------------------------ the browser's own voice, if any
function voices() { return window.speechSynthesis ? speechSynthesis.getVoices() : []; }
export function ready() {  // the voice list arrives late in some browsers: wait for it a moment
  if (voicesKnown) return voicesKnown;
  voicesKnown = new Promise((resolve) => {
    if (!window.speechSynthesis || voices().length) return resolve();
    const done = () => { speechSynthesis.removeEventListener("voiceschanged", done); resolve(); };
    speechSynthesis.addEventListener("voiceschanged", done);
    setTimeout(done, 1500);
  });
  return voicesKnown;
}
function voiceFor(lang) {
  const want = lang.toLowerCase().replace("_", "-"), primary = want.split("-")[0];
  const all = voices().map((v) => ({ v, lang: (v.lang || "").toLowerCase().replace("_", "-") }));
  const exact = all.filter((x) => x.lang === want)[0];
  const near = all.filter((x) => x.lang.split("-")[0] === primary)[0];
  return (exact || near || {}).v || null;
}
function speak(text, lang, voice) {
  return new Promise((resolve, reject) => {
    const u = new SpeechSynthesisUtterance(text);
    let done = false;
    u.lang = lang; u.rate = 0.9;
    try { u.voice = voice; } catch (e) { /* not the browser's own voice object: its language picks one */ }
    const finish = () => { if (!done) { done = true; resolve(); } };
    u.onend = finish;
    u.onerror = (ev) => {  // the synthesizer refused (no audio, a broken voice): the clips say it instead
      if (done) return;
      done = true;
      if (ev.error === "interrupted" || ev.error === "canceled") resolve(); else reject(new Error(ev.error));
    };
    setTimeout(finish, 3000 + 400 * text.length);  // a stuck synthesizer never ends its utterance
    speechSynthesis.speak(u);
  });
}

// ------------------------------------------------------------------ the app's clips
function loadManifest() {
  manifestLoad = manifestLoad || fetch("/voice/manifest.json").then((r) => {
    if (!r.ok) throw new Error("voice manifest " + r.status);
    return r.json();
  }).then((m) => {
    manifest = {};
    for (const lang of Object.keys(m.clips)) {  // words matched case-blind
      const byWords = manifest[lang] = {};
      for (const w of Object.keys(m.clips[lang])) byWords[w.toLowerCase()] = m.clips[lang][w];
    }
    return manifest;
  }).catch((e) => { manifestLoad = null; throw e; });
  return manifestLoad;
}
function clipName(url) { return url.split("/").pop().replace(/\.ogg.*$/, ""); }
// the text as clips: the longest phrase of the vocabulary at each place; punctuation a pause
function clipsFor(text, lang) {
  const zh = lang !== "en", words = manifest[zh ? "zh" : "en"], out = [], missing = [];
  const longest = Object.keys(words).reduce((m, w) => Math.max(m, zh ? w.length : w.split(" ").length), 1);
  if (zh) {
    const s = numbersSaid(text, true).toLowerCase();
    let i = 0;
    while (i < s.length) {
      const ch = s[i];
      if (/[，。、,.!！?？;；:：]/.test(ch)) { out.push(null); i++; continue; }
      if (!ch.trim() || /[·\-]/.test(ch)) { i++; continue; }
      let size = Math.min(longest, s.length - i);
      for (; size > 0; size--) if (words[s.substr(i, size)]) break;
      if (size) { out.push(words[s.substr(i, size)]); i += size; }
      else { missing.push(ch); i++; }
    }
  } else {
    const parts = numbersSaid(text, false).toLowerCase().replace(/[,.;:!?]/g, " , ").split(/\s+/).filter(Boolean);
    let j = 0;
    while (j < parts.length) {
      if (parts[j] === ",") { out.push(null); j++; continue; }
      let n = Math.min(longest, parts.length - j);
      for (; n > 0; n--) if (words[parts.slice(j, j + n).join(" ")]) break;
      if (n) { out.push(words[parts.slice(j, j + n).join(" ")]); j += n; continue; }
      const word = parts[j++];  // a word no clip says: spelled if it is a short code (A001 -> A 0 0 1)
      if (word.length <= 4 && word.split("").every((c) => words[c]))
        for (const c of word) out.push(words[c]);
      else missing.push(word);
    }
  }
  while (out.length && out[out.length - 1] === null) out.pop();
  return { urls: out, missing };
}
function buffer(url) {
  buffers[url] = buffers[url] || fetch(url).then((r) => {
    if (!r.ok) throw new Error(url + " " + r.status);
    return r.arrayBuffer();
  }).then((bytes) => new Promise((resolve, reject) => { audio().decodeAudioData(bytes, resolve, reject); }))
    .catch((e) => { delete buffers[url]; throw e; });
  return buffers[url];
}
function playClips(urls, entry) {
  const a = audio();
  if (!a) return Promise.reject(new Error("no Web Audio"));
  return Promise.all(urls.map((u) => (u ? buffer(u) : null))).then((decoded) => {
    let t = a.currentTime + 0.05;
    const start = t;
    for (const b of decoded) {
      if (!b) { t += PAUSE_S; continue; }
      const src = a.createBufferSource(); src.buffer = b; src.connect(a.destination); src.start(t);
      t += b.duration + GAP_S;
    }
    entry.seconds = Math.round((t - start) * 100) / 100;
    entry.heard = a.state === "running";  // a suspended context (no tap yet) plays nothing
    return new Promise((resolve) => { setTimeout(resolve, (t - a.currentTime) * 1000); });
  });
}

// ------------------------------------------------------------------ saying it
export function mode(lang) {  // how this screen speaks the language: its own voice, or the clips
  return ready().then(() => (voiceFor(lang || "zh-CN") ? "speech" : (audio() ? "clips" : "none")));
}
export function say(text, lang) {
  lang = lang || "zh-CN";
  const entry = { text, lang, via: null, clips: [], missing: [], seconds: 0, done: false };
  log.push(entry);
  function clips() {
    return loadManifest().then(() => {
      const c = clipsFor(text, lang.slice(0, 2));
      entry.via = "clips";
      entry.clips = c.urls.map((u) => (u ? clipName(u) : ","));
      entry.missing = c.missing;
      return playClips(c.urls, entry);
    });
  }
  const spoken = queue.then(() => ready()).then(() => {
    const v = voiceFor(lang);
    if (v && window.speechSynthesis) { entry.via = "speech"; return speak(text, lang, v); }
    return clips();
  }).catch((e) => {  // the voice failed to start: the clips instead
    if (entry.via !== "speech") throw e;
    entry.error = "speech: " + String(e && e.message || e);
    return clips();
  }).catch((e) => { entry.via = entry.via || "none"; entry.error = String(e && e.message || e); })
    .then(() => { entry.done = true; return entry; });
  queue = spoken;
  return spoken;
}

export const voice = hallq.voice = { say, mode, ready, audio, log, spokenLabel, numberZh, numberEn };
