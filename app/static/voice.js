/* Voice for the screens: hallq.voice.say(text, lang) speaks with the browser's own voice for the
 * language when it has one, and otherwise plays the app's recorded clips joined word by word
 * (domain.voice's vocabulary, /voice/manifest.json): many Linux and Android display boxes have no
 * zh-CN voice for speechSynthesis, and some have no voice at all. Nothing needs the internet.
 *
 * Utterances never overlap: each waits for the one before. Every one is logged in hallq.voice.log
 * ({text, lang, via: "speech" | "clips" | "none", clips: [names], missing: [what no clip says],
 * seconds: the clips' decoded length, heard: the audio was running, done}); the screens' tests read
 * what was played from it. */
(function () {
  "use strict";
  var hallq = window.hallq = window.hallq || {};
  var ZH_DIGITS = "零一二三四五六七八九";
  var EN_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"];
  var EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
  var PAUSE_S = 0.25, GAP_S = 0.04;
  var ctx = null, manifest = null, manifestLoad = null, buffers = {}, queue = Promise.resolve(), voicesKnown = null;
  var log = [];

  function audio() {  // one AudioContext for the page: the voice and the display's chime
    if (!ctx) { var A = window.AudioContext || window.webkitAudioContext; ctx = A ? new A() : null; }
    return ctx;
  }

  // ------------------------------------------------------------------ numbers as they are said
  function numberZh(n) {  // 12 -> 十二, 20 -> 二十, 105 -> 一百零五 (as domain.voice.number_zh)
    n = Math.floor(+n);
    if (n < 10) return ZH_DIGITS[n];
    if (n < 20) return "十" + (n > 10 ? ZH_DIGITS[n - 10] : "");
    if (n < 100) return ZH_DIGITS[Math.floor(n / 10)] + "十" + (n % 10 ? ZH_DIGITS[n % 10] : "");
    var rest = n % 100;
    return ZH_DIGITS[Math.floor(n / 100)] + "百" +
      (rest === 0 ? "" : rest < 10 ? "零" + ZH_DIGITS[rest] : (rest < 20 ? "一" : "") + numberZh(rest));
  }
  function numberEn(n) {
    n = Math.floor(+n);
    if (n < 20) return EN_ONES[n];
    if (n < 100) return EN_TENS[Math.floor(n / 10)] + (n % 10 ? " " + EN_ONES[n % 10] : "");
    return EN_ONES[Math.floor(n / 100)] + " hundred" + (n % 100 ? " " + numberEn(n % 100) : "");
  }
  function spokenLabel(label) {  // "A023" -> "A零二三": a ticket's digits are read one by one, as halls do
    return String(label).replace(/\d/g, function (d) { return ZH_DIGITS[+d]; });
  }
  // digits left in a text: a ticket-like run (leading zero, or long) digit by digit, else as a number
  function numbersSaid(text, zh) {
    return text.replace(/\d+/g, function (run) {
      var each = run.length > 3 || (run.length > 1 && run[0] === "0");
      if (zh) return each ? spokenLabel(run) : numberZh(+run);
      return " " + (each ? run.split("").map(function (d) { return EN_ONES[+d]; }).join(" ") : numberEn(+run)) + " ";
    });
  }

  // ------------------------------------------------------------------ the browser's own voice, if any
  function voices() { return window.speechSynthesis ? speechSynthesis.getVoices() : []; }
  function ready() {  // the voice list arrives late in some browsers: wait for it a moment
    if (voicesKnown) return voicesKnown;
    voicesKnown = new Promise(function (resolve) {
      if (!window.speechSynthesis || voices().length) return resolve();
      var done = function () { speechSynthesis.removeEventListener("voiceschanged", done); resolve(); };
      speechSynthesis.addEventListener("voiceschanged", done);
      setTimeout(done, 1500);
    });
    return voicesKnown;
  }
  function voiceFor(lang) {
    var want = lang.toLowerCase().replace("_", "-"), primary = want.split("-")[0];
    var all = voices().map(function (v) { return { v: v, lang: (v.lang || "").toLowerCase().replace("_", "-") }; });
    var exact = all.filter(function (x) { return x.lang === want; })[0];
    var near = all.filter(function (x) { return x.lang.split("-")[0] === primary; })[0];
    return (exact || near || {}).v || null;
  }
  function speak(text, lang, voice) {
    return new Promise(function (resolve, reject) {
      var u = new SpeechSynthesisUtterance(text), done = false;
      u.lang = lang; u.rate = 0.9;
      try { u.voice = voice; } catch (e) { /* not the browser's own voice object: its language picks one */ }
      var finish = function () { if (!done) { done = true; resolve(); } };
      u.onend = finish;
      u.onerror = function (ev) {  // the synthesizer refused (no audio, a broken voice): the clips say it instead
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
    manifestLoad = manifestLoad || fetch("/voice/manifest.json").then(function (r) {
      if (!r.ok) throw new Error("voice manifest " + r.status);
      return r.json();
    }).then(function (m) {
      manifest = {};
      Object.keys(m.clips).forEach(function (lang) {  // words matched case-blind
        var byWords = manifest[lang] = {};
        Object.keys(m.clips[lang]).forEach(function (w) { byWords[w.toLowerCase()] = m.clips[lang][w]; });
      });
      return manifest;
    }).catch(function (e) { manifestLoad = null; throw e; });
    return manifestLoad;
  }
  function clipName(url) { return url.split("/").pop().replace(/\.ogg.*$/, ""); }
  // the text as clips: the longest phrase of the vocabulary at each place; punctuation a pause
  function clipsFor(text, lang) {
    var zh = lang !== "en", words = manifest[zh ? "zh" : "en"], out = [], missing = [];
    var longest = Object.keys(words).reduce(function (m, w) { return Math.max(m, zh ? w.length : w.split(" ").length); }, 1);
    if (zh) {
      var s = numbersSaid(text, true).toLowerCase(), i = 0;
      while (i < s.length) {
        var ch = s[i];
        if (/[，。、,.!！?？;；:：]/.test(ch)) { out.push(null); i++; continue; }
        if (!ch.trim() || /[·\-]/.test(ch)) { i++; continue; }
        var size = Math.min(longest, s.length - i);
        for (; size > 0; size--) if (words[s.substr(i, size)]) break;
        if (size) { out.push(words[s.substr(i, size)]); i += size; }
        else { missing.push(ch); i++; }
      }
    } else {
      var parts = numbersSaid(text, false).toLowerCase().replace(/[,.;:!?]/g, " , ").split(/\s+/).filter(Boolean), j = 0;
      while (j < parts.length) {
        if (parts[j] === ",") { out.push(null); j++; continue; }
        var n = Math.min(longest, parts.length - j);
        for (; n > 0; n--) if (words[parts.slice(j, j + n).join(" ")]) break;
        if (n) { out.push(words[parts.slice(j, j + n).join(" ")]); j += n; continue; }
        var word = parts[j++];  // a word no clip says: spelled if it is a short code (A001 -> A 0 0 1)
        if (word.length <= 4 && word.split("").every(function (c) { return words[c]; }))
          word.split("").forEach(function (c) { out.push(words[c]); });
        else missing.push(word);
      }
    }
    while (out.length && out[out.length - 1] === null) out.pop();
    return { urls: out, missing: missing };
  }
  function buffer(url) {
    buffers[url] = buffers[url] || fetch(url).then(function (r) {
      if (!r.ok) throw new Error(url + " " + r.status);
      return r.arrayBuffer();
    }).then(function (bytes) {
      return new Promise(function (resolve, reject) { audio().decodeAudioData(bytes, resolve, reject); });
    }).catch(function (e) { delete buffers[url]; throw e; });
    return buffers[url];
  }
  function playClips(urls, entry) {
    var a = audio();
    if (!a) return Promise.reject(new Error("no Web Audio"));
    return Promise.all(urls.map(function (u) { return u ? buffer(u) : null; })).then(function (decoded) {
      var t = a.currentTime + 0.05, start = t;
      decoded.forEach(function (b) {
        if (!b) { t += PAUSE_S; return; }
        var src = a.createBufferSource(); src.buffer = b; src.connect(a.destination); src.start(t);
        t += b.duration + GAP_S;
      });
      entry.seconds = Math.round((t - start) * 100) / 100;
      entry.heard = a.state === "running";  // a suspended context (no tap yet) plays nothing
      return new Promise(function (resolve) { setTimeout(resolve, (t - a.currentTime) * 1000); });
    });
  }

  // ------------------------------------------------------------------ saying it
  function mode(lang) {  // how this screen speaks the language: its own voice, or the clips
    return ready().then(function () { return voiceFor(lang || "zh-CN") ? "speech" : (audio() ? "clips" : "none"); });
  }
  function say(text, lang) {
    lang = lang || "zh-CN";
    var entry = { text: text, lang: lang, via: null, clips: [], missing: [], seconds: 0, done: false };
    log.push(entry);
    var spoken = queue.then(function () { return ready(); }).then(function () {
      var v = voiceFor(lang);
      if (v && window.speechSynthesis) { entry.via = "speech"; return speak(text, lang, v); }
      return clips();
    }).catch(function (e) {  // the voice failed to start: the clips instead
      if (entry.via !== "speech") throw e;
      entry.error = "speech: " + String(e && e.message || e);
      return clips();
    }).catch(function (e) { entry.via = entry.via || "none"; entry.error = String(e && e.message || e); })
      .then(function () { entry.done = true; return entry; });
    function clips() {
      return loadManifest().then(function () {
        var c = clipsFor(text, lang.slice(0, 2));
        entry.via = "clips";
        entry.clips = c.urls.map(function (u) { return u ? clipName(u) : ","; });
        entry.missing = c.missing;
        return playClips(c.urls, entry);
      });
    }
    queue = spoken;
    return spoken;
  }

  hallq.voice = { say: say, mode: mode, ready: ready, audio: audio, log: log,
    spokenLabel: spokenLabel, numberZh: numberZh, numberEn: numberEn };
})();
