/* The live protocol, client side (see app/web/live.py).
 *
 * A full snapshot arrives on every (re)connect and whenever we ask ("resync"); deltas
 * carry the hall's sequence number. A delta that skips a number means we missed
 * something: apply it (a call must still be announced) and ask for a snapshot.
 * Snapshots older than what we already applied are ignored. A screen that hears
 * nothing for WATCHDOG_MS asks again, so a display left running for days heals itself.
 */
(function () {
  "use strict";
  var WATCHDOG_MS = 75 * 1000;

  function HallLive(options) {
    var self = this;
    self.seq = -1;
    self.options = options;
    self.lastMessage = Date.now();
    self.connected = false;
    var socket = io({
      transports: ["websocket"],
      auth: options.token ? { token: options.token } : undefined,
      query: options.query || {},
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    });
    self.socket = socket;

    function heard() { self.lastMessage = Date.now(); }
    function status(ok, why) {
      self.connected = ok;
      if (options.onStatus) options.onStatus(ok, why);
    }

    // the server sends the snapshot from its connect handler, which can reach us before
    // our own "connect" event: forget the sequence when the connection drops, not when it opens
    socket.on("connect", function () { heard(); status(true); });
    socket.on("disconnect", function (reason) {
      self.seq = -1;
      status(false, reason);
      // the server ended the session (e.g. its restart refused us): keep trying anyway
      if (reason === "io server disconnect") setTimeout(function () { socket.connect(); }, 1000);
    });
    socket.on("connect_error", function (err) {
      status(false, err && err.message);
      // a refused connection is not retried by the client library: a bad token stays bad,
      // but a restarting server also refuses for a moment, so retry slowly
      if (!socket.active) setTimeout(function () { socket.connect(); }, 3000);
    });
    socket.on("snapshot", function (snap) {
      heard();
      if (self.seq >= 0 && snap.seq < self.seq) return;  // older than what we hold
      self.seq = snap.seq;
      if (options.onSnapshot) options.onSnapshot(snap);
    });
    socket.on("delta", function (delta) {
      heard();
      if (self.seq >= 0 && delta.seq <= self.seq && !options.everyDelta) return;  // already in our state
      var gap = self.seq >= 0 && delta.seq > self.seq + 1 && !options.everyDelta;
      self.seq = Math.max(self.seq, delta.seq);
      if (options.onDelta) options.onDelta(delta);
      if (gap) socket.emit("resync");
    });
    ["counter", "ticket"].forEach(function (name) {
      socket.on(name, function (data) {
        heard();
        var handler = options["on" + name.charAt(0).toUpperCase() + name.slice(1)];
        if (handler) handler(data);
      });
    });
    setInterval(function () {
      if (self.connected && Date.now() - self.lastMessage > WATCHDOG_MS) {
        heard();
        socket.emit("resync");
      }
    }, 5000);
  }

  HallLive.prototype.resync = function () { this.socket.emit("resync"); };

  /* Helpers the pages share. */
  function strings() {
    var el = document.getElementById("i18n");
    return el ? JSON.parse(el.textContent) : {};
  }

  function minutes(seconds) {
    return seconds == null ? null : Math.max(1, Math.round(seconds / 60));
  }

  function deviceToken(storageKey) {
    // a device is set up by opening its page once as .../page#token=dv_...; the token then
    // lives in this browser only, and the address bar forgets it
    var m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
    if (m) {
      localStorage.setItem(storageKey, decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    return localStorage.getItem(storageKey);
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k] == null ? "" : values[k]; });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text != null) node.textContent = text;
    return node;
  }

  // JSON over a signed-in page's session: a 401 rejects with "signed-out", another failure with the
  // refusal as the API words it for this page (error.text, in its language), or the bare status
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) throw new Error("signed-out");
      return r.json().catch(function () { throw new Error(String(r.status)); }).then(function (data) {
        if (!r.ok) throw new Error(data.error ? data.error.text || String(r.status) : String(r.status));
        return data;
      });
    });
  }

  // a POST from a signed-in page carries the session's CSRF token; resolves with what happened,
  // the field the API named when it refused, and why
  function postJSON(url, body, csrf) {
    return fetch(url, { method: "POST", credentials: "same-origin", body: JSON.stringify(body || {}),
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf } })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          var error = data && data.error;
          return { ok: r.ok, status: r.status, data: data, field: error ? error.field : null,
            why: error ? error.text || String(r.status) : String(r.status) };
        });
      });
  }

  // a new screen with no token pairs itself: it asks for a six-digit code (kept across a reload
  // until it expires), shows it with ``onCode(code)``, and polls with its secret claim until an
  // administrator has entered the code for a hall; then it keeps its token and starts again
  function pairDevice(kind, storageKey, onCode) {
    var key = storageKey + ".pairing", pending = JSON.parse(localStorage.getItem(key) || "null");
    function post(url, body) {
      return fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } })
        .then(function (r) { return r.json(); });
    }
    function ask() {
      return post("/api/v1/pairing-codes", { kind: kind }).then(function (got) {
        pending = got; localStorage.setItem(key, JSON.stringify(got)); onCode(got.code); poll();
      });
    }
    function poll() {
      post("/api/v1/pairing-codes/" + pending.code + "/collect", { claim: pending.claim }).then(function (got) {
        if (got.state === "paired") {
          localStorage.setItem(storageKey, got.token); localStorage.removeItem(key);
          // paired as the screen above one window: open that screen
          if (got.device && got.device.counter_id && kind === "display") location.replace("/display/?counter=" + got.device.counter_id);
          else location.reload();
          return;
        }
        if (got.state !== "waiting") { localStorage.removeItem(key); ask(); return; }  // expired, gone
        setTimeout(poll, 3000);
      }).catch(function () { setTimeout(poll, 10000); });
    }
    if (pending && Date.parse(pending.expires_at) > Date.now()) { onCode(pending.code); poll(); } else ask();
  }

  window.HallLive = HallLive;
  window.hallq = window.hallq || {};
  window.hallq.pairDevice = pairDevice;
  window.hallq.getJSON = getJSON;
  window.hallq.postJSON = postJSON;
  window.hallq.strings = strings;
  window.hallq.minutes = minutes;
  window.hallq.deviceToken = deviceToken;
  window.hallq.fill = fill;
  window.hallq.el = el;
})();
