/* The arrival forecast and the counter plan: GET /api/v1/halls/{id}/forecast, today's (and on
 * request tomorrow's) forecast band per interval, tickets taken so far, counters needed and
 * planned. Fetched every FORECAST_EVERY_MS (the actual arrivals grow) and when the server says a
 * new forecast is made; those who manage the hall may forecast now. */
import { dateIn, plusDays } from "../lib/format.js";
import { $, T, cfg, fill, getJSON, hallId, hhmm, page, postJSON, say, text, whyText } from "./context.js";
import { drawForecast, drawNeeds, forecastFrame } from "./forecast_charts.js";
import { renderPlan } from "./plan.js";
import { warningsSoon } from "./warnings.js";

export const FORECAST_EVERY_MS = 60000;
export const fc = { which: "today", today: null, tomorrow: null };
page.forecastFetches = 0;
const hallDate = dateIn(cfg.hall.timezone);

export function forecastShown() { return !!fc[fc.which]; }
export function redrawForecast() { if (forecastShown()) renderForecast(); }

export function fetchForecast() {
  const asked = page.forecastFetches += 1, which = fc.which, base = "/api/v1/halls/" + hallId + "/forecast";
  return getJSON(base).then((today) => {
    if (which !== "tomorrow") return [today, null];
    return getJSON(base + "?date=" + plusDays(today.date, 1)).then((tomorrow) => [today, tomorrow]);
  }).then((both) => {
    if (asked !== page.forecastFetches) return;  // a later answer is on its way
    fc.today = both[0]; if (both[1]) fc.tomorrow = both[1];
    say("forecast-problem", ""); renderForecast();
  }).catch((e) => {
    if (asked !== page.forecastFetches) return;
    say("forecast-problem", whyText(e, T.forecast_failed));
    if (!forecastShown()) $("forecast-card").setAttribute("data-state", "failed");
  });
}

export function pickDay(which) {
  fc.which = which;
  for (const b of document.querySelectorAll(".day-pick button")) {
    b.setAttribute("aria-pressed", String(b.getAttribute("data-day") === which));
  }
  if (forecastShown()) renderForecast();
  fetchForecast();
}

export function forecastNow(button) {  // managers: forecast today and tomorrow now, then show it
  const label = button.textContent;
  button.disabled = true; button.textContent = T.forecasting;
  say("forecast-problem", "");
  postJSON("/api/v1/halls/" + hallId + "/forecast").then((res) => {
    button.disabled = false; button.textContent = label;
    if (!res.ok) { say("forecast-problem", fill(T.act_failed, { why: res.why })); return; }
    fc.tomorrow = null;
    fetchForecast(); warningsSoon();  // the forecast may raise warnings for the coming hour
  }).catch((e) => {
    button.disabled = false; button.textContent = label;
    say("forecast-problem", fill(T.act_failed, { why: e.message }));
  });
}

export function renderForecast() {
  const data = fc[fc.which], card = $("forecast-card");
  if (!data) return;
  const has = data.slots.length > 0, isToday = !!fc.today && data.date === fc.today.date;
  card.setAttribute("data-state", has ? "ready" : "empty");
  card.setAttribute("data-date", data.date);
  $("forecast-charts").hidden = !has;
  $("forecast-empty").hidden = has;
  const again = $("forecast-again");
  if (again) again.hidden = !has;
  if (has) {
    const frame = forecastFrame(data, isToday);
    drawForecast(data, frame);
    drawNeeds(data, frame, isToday);
    const source = data.slots[data.slots.length - 1].source || (data.model || {}).source;
    text("forecast-meta", [data.made_at ? fill(T.forecast_made, { t: dayTime(data.made_at) }) : "",
      T.sources[source] || source || ""].filter(Boolean).join(" · "));
  }
  renderPlan(data, isToday);
}

function dayTime(iso) {  // "08:12", or "11-21 22:00" when not on the hall's today
  const ms = Date.parse(iso), day = hallDate(ms);
  return (fc.today && day !== fc.today.date ? day.slice(5) + " " : "") + hhmm(ms);
}
