/* The hall manager's live page (manager.html), one module per panel:
 *   now.js           load, queues and counters from the hall's live snapshots
 *   footfall.js      the day's door counts and the door counters
 *   forecast.js      the arrival forecast (charts: forecast_charts.js) and the counter plan (plan.js)
 *   warnings.js      the standing peak warnings, acknowledged here
 *   appointments.js  today's appointments (预约) per slot against the capacity for booking
 * context.js holds what they share, svg.js the pieces of their hand-drawn inline SVG charts.
 * This entry joins them to the live link: snapshots, deltas, and what to fetch again when. */
import { HallLive } from "../live.js";
import { APPOINTMENTS_EVERY_MS, appointmentsSoon, fetchAppointments, redrawAppointments } from "./appointments.js";
import { $, T, clockSeconds, fill, hall, hallId, page, problem, text, trouble } from "./context.js";
import { REFETCH_EVERY_MS, fetchFootfall, fetchSoon, redrawFootfall } from "./footfall.js";
import { FORECAST_EVERY_MS, fc, fetchForecast, forecastNow, forecastShown, pickDay, redrawForecast, renderForecast }
  from "./forecast.js";
import { renderNow } from "./now.js";
import { WARNINGS_EVERY_MS, fetchWarnings, warningChanged, warningsSoon } from "./warnings.js";

function onSnapshot(s) {
  const newDay = hall.snap && hall.snap.business_day !== s.business_day;
  hall.snap = s;
  renderNow(s);
  text("updated", fill(T.updated, { t: clockSeconds(s.at) }));
  if (newDay) { fetchFootfall(); fetchForecast(); fetchAppointments(); }  // past midnight: today's charts start afresh
  else redrawFootfall();  // the busy line follows the hall's rules
  if (!newDay && forecastShown()) renderForecast();  // the counters open now
}

function onDelta(delta) {
  if (delta.event === "AppointmentChanged" || (delta.event === "TicketIssued" && delta.channel === "appointment")) {
    appointmentsSoon();
  } else if (delta.event === "FootfallCounted") fetchSoon();
  else if (delta.event === "PeakWarningChanged") warningChanged(delta);
  else if (delta.event === "ForecastUpdated") { fc.tomorrow = null; fetchForecast(); appointmentsSoon(); }
  else if (delta.event === "CounterPaused" || delta.event === "CounterResumed") page.live.resync();
}

let wasDown = false;
page.live = new HallLive({
  query: { hall_id: hallId },
  onSnapshot,
  onDelta,
  onStatus: (ok) => {
    $("link").className = "link " + (ok ? "up" : "down");
    trouble.offline = !ok;
    problem();
    if (!ok) { wasDown = true; return; }
    if (wasDown) { wasDown = false; fetchSoon(); warningsSoon(); appointmentsSoon(); }  // things may have happened while we were away
  },
});

let resized = null;
window.addEventListener("resize", () => {
  clearTimeout(resized);
  resized = setTimeout(() => { redrawFootfall(); redrawForecast(); redrawAppointments(); }, 150);
});

const pick = $("hall-pick");
if (pick) pick.onchange = () => { location.search = "?hall=" + pick.value; };
for (const b of document.querySelectorAll(".day-pick button")) b.onclick = () => { pickDay(b.getAttribute("data-day")); };
for (const id of ["forecast-now", "forecast-again"]) {
  const b = $(id);
  if (b) b.onclick = () => { forecastNow(b); };
}
fetchFootfall();
fetchForecast();
fetchWarnings();
fetchAppointments();
setInterval(fetchFootfall, REFETCH_EVERY_MS);
setInterval(fetchAppointments, APPOINTMENTS_EVERY_MS);
setInterval(() => { if (fc.which === "today") fetchForecast(); }, FORECAST_EVERY_MS);
setInterval(fetchWarnings, WARNINGS_EVERY_MS);
