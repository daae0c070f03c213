/* What the manager's page's panels share: the page's settings (window.MANAGER), the hall's latest
 * snapshot, the hall's clock, and the page's messages. hallq.manager tells the tests (and curious
 * people) how often each panel fetched, and holds the live link. */
import { hallq } from "../hallq.js";
import { postJSON as post } from "../lib/api.js";
import { $, showText } from "../lib/dom.js";
import { timeOfDay } from "../lib/format.js";
import { T, en, fill } from "../lib/i18n.js";

export { getJSON } from "../lib/api.js";
export { $, el } from "../lib/dom.js";
export { T, en, fill } from "../lib/i18n.js";

export const cfg = window.MANAGER, hallId = cfg.hall.id;
export const page = hallq.manager = { footfallFetches: 0 };
export const hall = { snap: null };  // the hall's latest live snapshot
export const MIN = 60000, HOUR = 3600000;

export function name(o) { return en ? (o.name_en || o.name_zh) : o.name_zh; }
export function text(id, value) { const node = $(id); if (node.textContent !== String(value)) node.textContent = value; }

// Times are shown in the hall's zone, whatever the zone of this browser.
export const hhmm = timeOfDay(cfg.hall.timezone);
export const clockSeconds = timeOfDay(cfg.hall.timezone, { seconds: true });

// the open counters now: the live snapshot's, else what the answer said
export function openCounters(fallback) { return hall.snap ? hall.snap.load.open_counters : fallback; }

// ---------------------------------------------------------------- JSON over the page's session
export function postJSON(url, body) { return post(url, body, cfg.csrf); }
export function say(id, message) { showText($(id), message); }
export function whyText(e, failed) { return e.message === "signed-out" ? T.signed_out : fill(failed, { why: e.message }); }

// the page's problem line: the connection first, while it is down nothing on the page is live
export const trouble = { offline: false, footfall: "" };
export function problem() {
  say("problem", trouble.offline ? T.offline : trouble.footfall);
}
