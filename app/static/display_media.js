/* The hall display's media area: images and videos, calls first. The hall's playlist plays in
 * turn beside the calls, muted (the calls are what the hall hears). A call covers it at once and
 * pauses a video; it comes back once the call has been said, and stays covered at least
 * CALL_MIN_MS. hallq.media tells the tests what is on. */
import { hallq } from "./hallq.js";
import { $, el } from "./lib/dom.js";

const CALL_MIN_MS = 6000, CALL_MAX_MS = 20000;

// counterN(n): "n号窗口" in the page's language
export function mediaArea(counterN) {
  const box = $("media"), stage = $("media-stage"), cover = $("media-call");
  const info = hallq.media = { state: "none", item: null, shown: [] };
  let items = [], key = "", index = -1, timer = null, calledAt = 0, releaseTimer = null, covered = false;

  function playlist(list) {
    const k = list.map((m) => m.id + ":" + m.url + ":" + m.seconds).join("|");
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
    const m = items[index];
    let node;
    stage.textContent = "";
    if (m.kind === "video") {
      node = el("video", { src: m.url, muted: "", playsinline: "", preload: "auto" });
      node.muted = true;  // a waiting-area video never speaks over the calls
      node.onended = advance;
      node.onerror = () => { info.errors = (info.errors || 0) + 1; timer = setTimeout(advance, 1000); };
      if (items.length === 1) node.loop = true;
    } else {
      node = el("img", { src: m.url, alt: m.title || "" });
      timer = setTimeout(advance, m.seconds * 1000);
    }
    stage.appendChild(node);
    info.item = { id: m.id, kind: m.kind }; info.shown.push(m.id);
    box.dataset.item = m.id;
    if (m.kind === "video" && !covered) node.play().catch(() => { /* played once allowed */ });
    info.state = covered ? "call" : "playing";
  }
  function video() { return stage.querySelector("video"); }
  function call(label, counterNumber) {
    if (!box || box.hidden) return;
    covered = true; calledAt = Date.now();
    cover.querySelector(".label").textContent = label;
    cover.querySelector(".to").textContent = counterN(counterNumber);
    cover.hidden = false; box.dataset.state = info.state = "call";
    const v = video(); if (v) v.pause();
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
    const v = video(); if (v) v.play().catch(() => {});
  }
  return { playlist, call, calledOut };
}
