/* Waits, times of day and days as the pages show them. A hall's times are shown in the hall's
 * zone, whatever the zone of the browser. */
export function minutes(seconds) {
  return seconds == null ? null : Math.max(1, Math.round(seconds / 60));
}

// "14:05" (or "14:05:09") in the zone, for a time in ms or ISO
export function timeOfDay(zone, { seconds = false } = {}) {
  const format = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit",
    second: seconds ? "2-digit" : undefined, hourCycle: "h23" });
  return (t) => format.format(new Date(t));
}

// "2026-12-06": the day in the zone, for a time in ms or ISO
export function dateIn(zone) {
  const format = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
  return (t) => format.format(new Date(t));
}

export function plusDays(iso, n) {
  return new Date(Date.parse(iso + "T00:00:00Z") + n * 864e5).toISOString().slice(0, 10);
}

// a day to pick ("2026-12-06") as a button says it: {name: "周二" (today and tomorrow by their
// words), date: "12/8"}; without a today, always the weekday
export function dayLabeller(en, words) {
  const dayName = new Intl.DateTimeFormat(en ? "en-GB" : "zh-CN", { timeZone: "UTC", weekday: "short" });
  const dayDate = new Intl.DateTimeFormat(en ? "en-GB" : "zh-CN", { timeZone: "UTC", month: "numeric", day: "numeric" });
  return (iso, today) => {
    const at = new Date(Date.parse(iso + "T00:00:00Z"));
    const n = today ? Math.round((at - Date.parse(today + "T00:00:00Z")) / 864e5) : null;
    return { name: n === 0 ? words.today : (n === 1 ? words.tomorrow : dayName.format(at)), date: dayDate.format(at) };
  };
}
