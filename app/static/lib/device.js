/* A screen's device token (the hall's display, a kiosk): set up by opening its page once as
 * .../page#token=dv_..., or by pairing with a six-digit code an administrator enters. */
import { $ } from "./dom.js";

export function deviceToken(storageKey) {
  // the token then lives in this browser only, and the address bar forgets it
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    localStorage.setItem(storageKey, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return localStorage.getItem(storageKey);
}

// a new screen with no token pairs itself: it asks for a six-digit code (kept across a reload
// until it expires), shows it with ``onCode(code)``, and polls with its secret claim until an
// administrator has entered the code for a hall; then it keeps its token and starts again
export function pairDevice(kind, storageKey, onCode) {
  const key = storageKey + ".pairing";
  let pending = JSON.parse(localStorage.getItem(key) || "null");
  function post(url, body) {
    return fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } })
      .then((r) => r.json());
  }
  function ask() {
    return post("/api/v1/pairing-codes", { kind }).then((got) => {
      pending = got; localStorage.setItem(key, JSON.stringify(got)); onCode(got.code); poll();
    });
  }
  function poll() {
    post("/api/v1/pairing-codes/" + pending.code + "/collect", { claim: pending.claim }).then((got) => {
      if (got.state === "paired") {
        localStorage.setItem(storageKey, got.token); localStorage.removeItem(key);
        // paired as the screen above one window: open that screen
        if (got.device && got.device.counter_id && kind === "display") location.replace("/display/?counter=" + got.device.counter_id);
        else location.reload();
        return;
      }
      if (got.state !== "waiting") { localStorage.removeItem(key); ask(); return; }  // expired, gone
      setTimeout(poll, 3000);
    }).catch(() => { setTimeout(poll, 10000); });
  }
  if (pending && Date.parse(pending.expires_at) > Date.now()) { onCode(pending.code); poll(); } else ask();
}

// the page's pairing box (#pairing) shows the code as "123 456"
export function showPairing(kind, storageKey) {
  pairDevice(kind, storageKey, (code) => {
    $("pairing").hidden = false;
    $("pairing-code").textContent = code.slice(0, 3) + " " + code.slice(3);
  });
}
