"""The satisfaction report pages (满意度报表): figures, charts and the drill-down, drawn on the server.

- ``/manager/satisfaction``: one page for every level. Query: ``period`` (day, week, month),
  ``date`` (any day in it), and where in the organisation: nothing (the whole company), ``region``,
  ``city``, ``hall`` (with ``by`` = staff, counter or service) or ``hall`` + ``staff`` (one staff
  member). Each level shows its figures, its lines ranked with a bar chart (a line's name drills
  down one level), satisfaction by waiting time and the trend by day, and links to the same
  figures as Excel or CSV (the API's ``format``). Administrators and head office start at the
  company; a hall manager sees their own hall and its staff, nothing above or beside it.
- ``/manager/report-files``: the daily and monthly reports the scheduler stored, to download.

Figures come from ``services.satisfaction`` (the roll-ups), charts from ``web.charts``. The page
needs no script; it is plain links and forms, so it prints and bookmarks.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _

from ..domain import policy
from ..domain.errors import DomainError
from ..domain.hours import parse_zone
from ..i18n import current_language
from ..services import audit, config, report_files, satisfaction, service_levels
from . import access, charts
from .charts import Bar, band_bars, minutes, pct, rate_bars, trend

bp = access.signed_in_only(Blueprint("report_pages", __name__, url_prefix="/manager"))

HALL_BREAKDOWNS = ("staff", "counter", "service")
LEVELS = ("company", "region", "city", "hall", "staff")


# --------------------------------------------------------------------------- the drill-down, pure

def find_place(report: dict, region: int | None = None, city: int | None = None) -> list[tuple[str, dict]] | None:
    """The path from the company to a region or city in a head-office report: [("region", r),
    ("city", c)] as deep as asked; None when it is not in the report (or a city is asked under the
    wrong region). A hall's place comes from ``config.hall_place`` (no report needed)."""
    for r in report["regions"]:
        for c in r["cities"]:
            if city is not None and c["id"] == city and region in (None, r["id"]):
                return [("region", r), ("city", c)]
        if city is None and region is not None and r["id"] == region:
            return [("region", r)]
    return [] if region is None and city is None else None


def children(report: dict, path: list[tuple[str, dict]]) -> tuple[str, list[dict]]:
    """The level below the place and its lines, ranked as the report ranked them."""
    if not path:
        return "region", report["regions"]
    level, node = path[-1]
    if level == "region":
        return "city", node["cities"]
    return "hall", node["halls"]


def hall_ids_under(path: list[tuple[str, dict]], report: dict) -> set[int] | None:
    """Every hall under the place (None: the whole company)."""
    if not path:
        return None
    level, node = path[-1]
    cities = node["cities"] if level == "region" else [node]
    return {h["id"] for c in cities for h in c["halls"]}


def rank_key(level: str) -> str:
    return {"region": "rank", "city": "rank_in_region", "hall": "rank_in_city"}.get(level, "rank")


# --------------------------------------------------------------------------- the page

def _int(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


def _name(x: dict, en: bool) -> str:
    return (x.get("name_en") or x.get("name_zh") or x.get("code") or "") if en else (x.get("name_zh") or x.get("code") or "")


class Page:
    """What the template draws: the place, its crumbs, figures, lines, charts and links."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


class Refused(Exception):
    """A report page that cannot be shown: the message and the status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message, self.status = message, status


def _open_report(view: str, head_office_report, extra_args: tuple[str, ...] = ()):
    """What every report page starts with: who is signed in and may see which place, the period, the
    links that keep the place while changing the period, and the crumbs from the company down.
    Raises ``Refused``; returns a context (a dict) for the page's own part."""
    who = access.principal()
    if not policy.may_use_manager_pages(who):
        raise Refused(_("This page is for hall managers, head office and administrators."), 403)
    rt = current_app.extensions["hallq"]
    en = current_language() == "en"
    region, city, hall_id = _int("region"), _int("city"), _int("hall")
    every_hall = who.hall_id is None  # administrators and head office start above the halls; a manager at theirs
    if not every_hall and hall_id is None and not (region or city):
        hall_id = who.hall_id
    mine = access.region_of(who)  # a region's head office starts at, and stays in, its region
    if mine is not None and region is None and hall_id is None:
        region = mine
    if not policy.may_read_reports(who, hall_id, hall_id is None, region, access.region_halls):
        raise Refused(_("You may see only your own region's reports.") if mine is not None
                      else _("You may see only your own hall's reports."), 403)
    try:
        zone = config.get_hall(rt, hall_id)["timezone"] if hall_id else satisfaction.HEAD_OFFICE_ZONE
        period = satisfaction.parse_period(request.args.get("period") or "month", request.args.get("date"),
                                           rt.now(), zone)
    except DomainError as exc:
        raise Refused(exc.message, 404 if exc.status == 404 else 400) from None
    query = {"period": period.kind, "date": period.first.isoformat()}

    def link(endpoint: str = view, **place) -> str:
        return url_for(endpoint, **query, **{k: v for k, v in place.items() if v is not None})

    crumbs, path, company = [], [], None
    if every_hall and hall_id is not None:  # a hall: its crumbs need only where it sits
        place = config.hall_place(rt, hall_id)
        path = [(level, place[level]) for level in ("region", "city", "hall")]
    elif every_hall:  # the company, a region or a city: the head-office report holds them and their lines
        company = head_office_report(rt, period)
        path = find_place(company, region, city)
        if path is None:
            raise Refused(_("There is no such place in this report."), 404)
    if every_hall:
        crumbs.append({"label": _("All halls"), "href": link()})
        for level, node in path:
            crumbs.append({"label": _name(node, en), "href": link(**{level: node["id"]})})
    today = satisfaction.parse_period("day", None, rt.now(), zone).first
    before = satisfaction.period_of(period.kind, period.first - timedelta(days=1))
    after = satisfaction.period_of(period.kind, period.last + timedelta(days=1))
    here = {k: request.args[k] for k in ("region", "city", "hall", "staff", "by") + extra_args if request.args.get(k)}
    anchor = today if period.first <= today <= period.last else period.first  # month -> day: today, if in it
    frame = {
        "period": period.to_dict(), "here": here,
        "period_links": {
            "kinds": [(k, label, url_for(view, period=k, date=anchor.isoformat(), **here))
                      for k, label in (("day", _("Day")), ("week", _("Week")), ("month", _("Month")))],
            "before": url_for(view, period=period.kind, date=before.first.isoformat(), **here),
            "after": url_for(view, period=period.kind, date=after.first.isoformat(), **here)
            if after.first <= today else None,
        },
    }
    return {"who": who, "rt": rt, "en": en, "hall_id": hall_id, "every_hall": every_hall, "period": period,
            "today": today, "link": link, "crumbs": crumbs, "path": path, "company": company, "frame": frame}


def _show(template: str, ctx: dict, page: "Page"):
    page.crumbs = ctx["crumbs"] if len(ctx["crumbs"]) > 1 or not ctx["every_hall"] else []
    page.__dict__.update(ctx["frame"])
    return render_template(template, who=ctx["who"], refused=None, page=page, en=ctx["en"], pct=pct,
                           minutes=minutes, lang=current_language())


def _report_page(template: str, view: str, head_office_report, build, extra_args: tuple[str, ...] = ()):
    """A report page: the frame, then ``build(ctx)``; a refusal as a page."""
    who = access.principal()
    try:
        ctx = _open_report(view, head_office_report, extra_args)
        return _show(template, ctx, build(ctx))
    except Refused as no:
        return render_template(template, who=who, refused=no.message, page=None), no.status
    except DomainError as exc:
        return render_template(template, who=who, refused=exc.message, page=None), \
            exc.status if exc.status in (400, 404, 422) else 400


@bp.get("/satisfaction")
def satisfaction_page():
    def build(ctx):
        if ctx["hall_id"] is None:
            return _above_hall(ctx["rt"], ctx["company"], ctx["path"], ctx["period"], ctx["en"], ctx["link"],
                               ctx["today"])
        return _hall(ctx["rt"], ctx["hall_id"], _int("staff"), ctx["period"], ctx["en"], ctx["link"], ctx["crumbs"],
                     ctx["today"])
    return _report_page("satisfaction.html", "report_pages.satisfaction_page", satisfaction.head_office_report, build)


def _figures(line: dict) -> dict:
    return {k: line.get(k) for k in ("ratings", "satisfied", "satisfaction_rate", "average_score", "score_index",
                                     "sent", "response_rate", "scale")}


def _band_chart(lines: list[dict], en: bool) -> object:
    bars = [Bar(x["label_en"] if en else x["label_zh"], x["satisfaction_rate"], x["ratings"],
                note=_("{n} ratings").format(n=x["ratings"])) for x in lines if x["key"] != satisfaction.UNKNOWN_BAND]
    return band_bars(bars, empty=_("No ratings in this period."))


def _trend_chart(days: list[dict], period, today) -> object:
    """The period's days up to today (the days to come are left out, not drawn empty)."""
    by_day = {d["key"]: d for d in days}
    points, day = [], period.first
    while day <= min(period.last, today):
        d = by_day.get(day.isoformat(), {})
        n = d.get("ratings") or 0
        points.append(Bar(day.isoformat(), d.get("satisfaction_rate") if n else None, n,
                          note=_("{n} ratings").format(n=n)))
        day += timedelta(days=1)
    return trend(points, empty=_("No ratings in this period."))


def _above_hall(rt, company: dict, path, period, en: bool, link, today) -> Page:
    level, lines = children(company, path)
    node = path[-1][1] if path else company["totals"]
    halls = hall_ids_under(path, company)
    key = rank_key(level)
    rows = [{**_figures(x), "rank": x.get(key), "label": _name(x, en), "code": x.get("code"),
             "href": link(**{level: x["id"]})} for x in lines]
    parent = node.get("satisfaction_rate")
    bars = [Bar(r["label"], r["satisfaction_rate"], r["ratings"], r["href"],
                _("{n} ratings").format(n=r["ratings"])) for r in rows]
    bands = satisfaction.wait_band_report(rt, period, halls)
    days = satisfaction.day_trend(rt, period, halls) if period.kind != "day" else []
    fmt_query = {"period": period.kind, "date": period.first.isoformat()}
    wait_query = {**fmt_query, **({"hall_id": next(iter(halls))} if halls and len(halls) == 1 else {})}
    return Page(
        level=path[-1][0] if path else "company", title=_name(path[-1][1], en) if path else _("All halls"),
        figures=_figures(node), child_level=level, rows=rows, tabs=[],
        chart=rate_bars(bars, parent, _("overall"), empty=_("No halls here.")),
        bands=_band_chart(bands["lines"], en), band_lines=bands["lines"],
        trend=_trend_chart(days, period, today) if days else None,
        exports=[(_("All halls (Excel)"), "/api/v1/satisfaction/halls?" + urlencode({**fmt_query, "format": "xlsx"})),
                 (_("All halls (CSV)"), "/api/v1/satisfaction/halls?" + urlencode({**fmt_query, "format": "csv"})),
                 (_("By waiting time (Excel)"),
                  "/api/v1/satisfaction/wait-bands?" + urlencode({**wait_query, "format": "xlsx"}))],
        scale_note=None)


def _hall(rt, hall_id: int, staff_id: int | None, period, en: bool, link, crumbs: list, today) -> Page:
    by = request.args.get("by") if request.args.get("by") in HALL_BREAKDOWNS else "staff"
    if staff_id is not None and by == "staff":
        by = "service"
    report = satisfaction.hall_report(rt, hall_id, period, by, staff_id=staff_id)
    hall = report["hall"]
    if not crumbs:  # a hall manager: the crumbs start at their hall
        crumbs.append({"label": _name(hall, en), "href": link(hall=hall_id)})
    member = report["staff"]
    if member:
        crumbs.append({"label": _staff_label(member), "href": link(hall=hall_id, staff=staff_id)})
    rows = []
    for x in report["lines"]:
        if member and not x["sent"]:
            continue  # one staff member: only what they served
        label = {"staff": lambda: _staff_label(x),
                 "counter": lambda: _("Counter {n}").format(n=x.get("number")) if x.get("number") else "—",
                 "service": lambda: f"{x.get('prefix') or ''} {_name(x, en)}".strip() or "—"}[by]()
        href = link(hall=hall_id, staff=x["key"]) if by == "staff" and x.get("key") else None
        rows.append({**_figures(x), "rank": x.get("rank"), "label": label, "href": href})
    parent = report["totals"].get("satisfaction_rate")
    bars = [Bar(r["label"], r["satisfaction_rate"], r["ratings"], r["href"],
                _("{n} ratings").format(n=r["ratings"])) for r in rows]
    bands = satisfaction.hall_report(rt, hall_id, period, "wait_band", staff_id=staff_id)
    days = satisfaction.hall_report(rt, hall_id, period, "day", staff_id=staff_id) if period.kind != "day" else None
    base = {"period": period.kind, "date": period.first.isoformat(), **({"staff_id": staff_id} if staff_id else {})}
    api = f"/api/v1/halls/{hall_id}/satisfaction?"
    tabs = [] if member else [
        (b, label, link(hall=hall_id, by=b), b == by)
        for b, label in (("staff", _("By staff member")), ("counter", _("By counter")), ("service", _("By service")))]
    return Page(
        level="staff" if member else "hall", title=_staff_label(member) if member else _name(hall, en),
        figures=_figures(report["totals"]), child_level=by, rows=rows, tabs=tabs,
        chart=rate_bars(bars, parent, _("hall") if not member else _("overall"), empty=_("No ratings in this period.")),
        bands=_band_chart(bands["lines"], en), band_lines=bands["lines"],
        trend=_trend_chart(days["lines"], period, today) if days else None,
        exports=[(_("This table (Excel)"), api + urlencode({**base, "by": by, "format": "xlsx"})),
                 (_("This table (CSV)"), api + urlencode({**base, "by": by, "format": "csv"})),
                 (_("By day (Excel)"), api + urlencode({**base, "by": "day", "format": "xlsx"})),
                 (_("By waiting time (Excel)"), api + urlencode({**base, "by": "wait_band", "format": "xlsx"}))],
        scale_note=report["scale"])


def _staff_label(x: dict) -> str:
    return f"{x['name']} ({x['staff_number']})" if x.get("staff_number") else (x.get("name") or "—")


# --------------------------------------------------------------------------- stored report files

def kind_label(kind: str, en: bool) -> str:
    """e.g. 满意度·省公司日报 / Satisfaction, head office, daily."""
    family = report_files.family_of(kind)
    who, period = kind[len(family.prefix):].rsplit("_", 1)
    if en:
        return f"{family.name_en.replace('-', ' ').capitalize()}, {'head office' if who == 'head_office' else 'hall'}, " \
               f"{ {'day': 'daily', 'week': 'weekly', 'month': 'monthly'}[period]}"
    return f"{family.name_zh}·{'省公司' if who == 'head_office' else '营业厅'}{report_files.PERIOD_NAMES[period]}"


@bp.get("/report-files")
def report_files_page():
    """The stored daily and monthly reports, latest first, each a download link; ``?kind=`` one kind."""
    who = access.principal()
    if not policy.may_use_manager_pages(who):
        return render_template("report_files.html", who=who, refused=_(
            "This page is for hall managers, head office and administrators."), files=[]), 403
    rt = current_app.extensions["hallq"]
    kind = request.args.get("kind") if request.args.get("kind") in report_files.KINDS else None
    scope = access.hall_scope(who)
    zone = parse_zone(satisfaction.HEAD_OFFICE_ZONE)
    files = [{**f, "made_local": datetime.fromisoformat(f["made_at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M")}
             for f in report_files.list_reports(rt, scope, kind)]
    en = current_language() == "en"
    kinds = [k for k in report_files.KINDS if scope is None or "head_office" not in k]
    return render_template("report_files.html", who=who, refused=None, files=files, kind=kind, kinds=kinds,
                           kind_labels={k: kind_label(k, en) for k in report_files.KINDS}, lang=current_language())


# --------------------------------------------------------------------------- service levels (服务指标)

WEEKDAYS = (("周一", "Mon"), ("周二", "Tue"), ("周三", "Wed"), ("周四", "Thu"), ("周五", "Fri"), ("周六", "Sat"),
            ("周日", "Sun"))
HALL_KPI_BREAKDOWNS = ("counter", "staff", "service", "tier", "channel", "hour", "weekday")
TICKET_FILTERS = ("counter_id", "staff_id", "service_id", "hour", "weekday", "tier", "channel", "outcome")


def kpi_columns(level: str) -> list[tuple[str, str, str]]:
    """The table's columns: (figure, heading, kind: int | min | pct)."""
    columns = [("arrivals", _("Tickets"), "int"), ("served", _("Served"), "int"),
               ("wait_avg_s", _("Average wait (min)"), "min"), ("wait_p90_s", _("P90 wait (min)"), "min"),
               ("within_target_rate", _("Called within target"), "pct"),
               ("busy_hour_wait_avg_s", _("Busy-hour wait (min)"), "min"),
               ("handle_avg_s", _("Average handle time (min)"), "min"), ("no_show_rate", _("No-show rate"), "pct"),
               ("cancel_rate", _("Cancellation rate"), "pct"), ("transfers", _("Transfers"), "int")]
    if level not in ("region", "city", "hall"):
        columns = [c for c in columns if c[0] != "busy_hour_wait_avg_s"]
    if level in ("region", "city", "hall"):  # the head office's channel mix: the share that queued before coming
        columns.append(("remote_appointment_share", _("Remote + appointment"), "mix"))
    if level == "channel":
        columns.insert(columns.index(("no_show_rate", _("No-show rate"), "pct")),
                       ("expired", _("Released or expired"), "int"))
    if level == "counter":
        columns.append(("utilisation", _("Utilisation"), "pct"))
        columns.append(("paused_s", _("Paused (min)"), "min"))  # open, but not calling: its own category
    if level in ("staff", "service"):
        columns.append(("handle_norm_s", _("Norm handle time (min)"), "min"))
    return columns


def _kpi_bars(rows: list[dict], parent: float | None, reference_label: str, empty: str):
    bars = [Bar(r["label"], r["within_target_rate"], r["arrivals"], r["href"],
                _("{n} tickets, average wait {m} min").format(n=r["arrivals"], m=minutes(r["wait_avg_s"])))
            for r in rows if r["arrivals"] or r.get("href")]
    return rate_bars(bars, parent, reference_label, empty=empty)


def _kpi_above_hall(ctx: dict) -> Page:
    company, path, period, en, link = ctx["company"], ctx["path"], ctx["period"], ctx["en"], ctx["link"]
    level, lines = children(company, path)
    node = path[-1][1] if path else company["totals"]
    key = rank_key(level)
    names = channel_names(en)
    rows = [{**x, "rank": x.get(key), "label": _name(x, en), "href": link(**{level: x["id"]}),
             "mix_note": mix_note(x, names)} for x in lines]
    query = {"period": period.kind, "date": period.first.isoformat()}
    days = service_levels.day_trend(ctx["rt"], period, hall_ids_under(path, company)) if period.kind != "day" else []
    return Page(
        level=path[-1][0] if path else "company", title=_name(path[-1][1], en) if path else _("All halls"),
        figures=node, child_level=level, rows=rows, columns=kpi_columns(level), tabs=[], comparisons=[],
        mix_note=mix_note(node, names), appointments=None,
        chart=_kpi_bars(rows, node.get("within_target_rate"), _("overall"), _("No halls here.")),
        heatmap=None, histogram=_wait_histogram(node), trend=_wait_trend(days, period, ctx["today"]),
        exports=[(_("All halls (Excel)"), "/api/v1/service-levels/halls?" + urlencode({**query, "format": "xlsx"})),
                 (_("All halls (CSV)"), "/api/v1/service-levels/halls?" + urlencode({**query, "format": "csv"}))])


def tier_names() -> dict[str, str]:
    return {"ordinary": _("Ordinary"), "vip": _("VIP"), "star": _("Star"), "green": _("Green channel")}


def channel_names(en: bool) -> dict[str, str]:
    """kiosk → 现场取号机 / Kiosk, ...: the names the reports and their files use."""
    return {k: names[1 if en else 0] for k, names in service_levels.CHANNEL_NAMES.items()}


def mix_note(line: dict, names: dict[str, str]) -> str:
    """A line's tickets by channel in words (the channels it has), e.g. 现场取号机 40 · 远程取号 6."""
    return " · ".join(f"{names.get(k, k)} {n}" for k, n in (line.get("channels") or {}).items() if n)


def _kpi_label(by: str, x: dict, en: bool) -> str:
    if by == "counter":
        return _("Counter {n}").format(n=x["number"]) if x.get("number") else _("not called")
    if by == "staff":
        return _staff_label(x) if x.get("key") else _("not called")
    if by == "service":
        return f"{x.get('prefix') or ''} {_name(x, en)}".strip()
    if by == "tier":
        return tier_names().get(x["key"], x["key"])
    return x.get("label_en" if en else "label_zh") or str(x["key"])


def _kpi_hall(ctx: dict) -> Page:
    rt, hall_id, period, en, link = ctx["rt"], ctx["hall_id"], ctx["period"], ctx["en"], ctx["link"]
    by = request.args.get("by") if request.args.get("by") in HALL_KPI_BREAKDOWNS else "counter"
    report = service_levels.hall_report(rt, hall_id, period, by)
    hall = report["hall"]
    if not ctx["crumbs"]:
        ctx["crumbs"].append({"label": _name(hall, en), "href": link(hall=hall_id)})
    tickets = "report_pages.service_level_tickets_page"
    filter_of = {"counter": "counter_id", "staff": "staff_id", "service": "service_id", "tier": "tier",
                 "channel": "channel", "hour": "hour", "weekday": "weekday"}[by]
    rows = [{**x, "label": _kpi_label(by, x, en), "rank": x.get("rank"),
             "href": link(tickets, hall=hall_id, **{filter_of: x["key"]})} for x in report["lines"]]
    t, before, city = report["totals"], report["previous"], report["city"]
    comparisons = [
        (_("Average wait (min)"), minutes(t["wait_avg_s"]), minutes(before["wait_avg_s"]), minutes(city["wait_avg_s"]),
         _worse(t["wait_avg_s"], city["wait_avg_s"], higher_is_worse=True)),
        (_("P90 wait (min)"), minutes(t["wait_p90_s"]), minutes(before["wait_p90_s"]), minutes(city["wait_p90_s"]),
         _worse(t["wait_p90_s"], city["wait_p90_s"], higher_is_worse=True)),
        (_("Called within target"), pct(t["within_target_rate"]), pct(before["within_target_rate"]),
         pct(city["within_target_rate"]), _worse(t["within_target_rate"], city["within_target_rate"], False)),
        (_("Busy-hour wait (min)"), minutes(t["busy_hour_wait_avg_s"]), minutes(before["busy_hour_wait_avg_s"]),
         minutes(city["busy_hour_wait_avg_s"]), _worse(t["busy_hour_wait_avg_s"], city["busy_hour_wait_avg_s"], True)),
        (_("Tickets"), t["arrivals"], before["arrivals"], city["arrivals"], False),
    ]
    cells = {}
    for c in service_levels.heatmap(rt, hall_id, period)["cells"]:
        if c["wait_avg_s"] is not None:
            cells[(c["weekday"], c["hour"])] = c
    hours = sorted({h for _, h in cells})
    grid = {(wd, hours.index(h)): (c["wait_avg_s"], _("{d} {h}:00 · average wait {m} min · {n} tickets a day").format(
        d=WEEKDAYS[wd][1 if en else 0], h=h, m=minutes(c["wait_avg_s"]), n=f"{c['arrivals_per_day']:.1f}"),
        link(tickets, hall=hall_id, weekday=wd, hour=h)) for (wd, h), c in cells.items()}
    days = service_levels.day_trend(rt, period, {hall_id}) if period.kind != "day" else []
    query = {"period": period.kind, "date": period.first.isoformat()}
    api = f"/api/v1/halls/{hall_id}/service-levels?"
    return Page(
        level="hall", title=_name(hall, en), figures=t, child_level=by, rows=rows, columns=kpi_columns(by),
        tabs=[(b, label, link(hall=hall_id, by=b), b == by) for b, label in (
            ("counter", _("By counter")), ("staff", _("By staff member")), ("service", _("By service")),
            ("tier", _("By customer tier")), ("channel", _("By channel")), ("hour", _("By hour")),
            ("weekday", _("By weekday")))],
        comparisons=comparisons, appointments=report["appointments"], mix_note=None,
        previous_label=(before["period"]["label_en"] if en else before["period"]["label_zh"]),
        city_label=_name(city, en),
        chart=_kpi_bars(rows, t["within_target_rate"], _("hall"), _("No tickets in this period.")),
        heatmap=charts.heatmap([w[1 if en else 0] for w in WEEKDAYS], [str(h) for h in hours], grid,
                               empty=_("No tickets in this period.")) if grid else None,
        histogram=_wait_histogram(t),
        trend=_wait_trend(days, period, ctx["today"]),
        exports=[(_("This table (Excel)"), api + urlencode({**query, "by": by, "format": "xlsx"})),
                 (_("This table (CSV)"), api + urlencode({**query, "by": by, "format": "csv"})),
                 (_("By day (Excel)"), api + urlencode({**query, "by": "day", "format": "xlsx"})),
                 (_("Every ticket (Excel)"), f"/api/v1/halls/{hall_id}/service-levels/tickets?"
                  + urlencode({**query, "format": "xlsx"}))])


def _wait_histogram(figures: dict):
    bins = [(f"{b['from_s'] // 60}", b["count"]) for b in figures.get("wait_histogram", [])]
    return charts.histogram(bins, empty=_("No tickets in this period.")) if bins else None


def _wait_trend(days: list[dict], period, today):
    """The average wait per day of the period up to today (None for a one-day period)."""
    if period.kind == "day":
        return None
    by_day = {d["key"]: d for d in days}
    points, day = [], period.first
    while day <= min(period.last, today):
        d = by_day.get(day.isoformat(), {})
        points.append((day.isoformat(), d["wait_avg_s"] / 60 if d.get("wait_avg_s") is not None else None,
                       d.get("arrivals", 0)))
        day += timedelta(days=1)
    return charts.value_trend(points, _(" min"), empty=_("No tickets in this period."))


def _worse(value, other, higher_is_worse: bool) -> bool:
    if value is None or other is None:
        return False
    return value > other if higher_is_worse else value < other


@bp.get("/service-levels")
def service_levels_page():
    """``/manager/service-levels``: waits, handle times, busy hours and no-shows, company to hall."""
    def build(ctx):
        return _kpi_above_hall(ctx) if ctx["hall_id"] is None else _kpi_hall(ctx)
    return _report_page("service_levels.html", "report_pages.service_levels_page",
                        service_levels.head_office_report, build)


@bp.get("/service-levels/tickets")
def service_level_tickets_page():
    """``/manager/service-levels/tickets``: the tickets behind a figure (a counter, a staff member, an hour)."""
    def build(ctx):
        if ctx["hall_id"] is None:
            raise Refused(_("Choose a hall first."), 400)
        filters = {}
        for name in TICKET_FILTERS:
            value = request.args.get(name)
            if value:
                filters[name] = int(value) if value.isdigit() else value
        listing = service_levels.ticket_list(ctx["rt"], ctx["hall_id"], ctx["period"], filters, limit=500)
        hall = listing["hall"]
        if not ctx["crumbs"]:
            ctx["crumbs"].append({"label": _name(hall, ctx["en"]), "href": ctx["link"](hall=ctx["hall_id"])})
        ctx["crumbs"].append({"label": _("Tickets"), "href": request.full_path})
        query = {"period": ctx["period"].kind, "date": ctx["period"].first.isoformat(), **filters}
        api = f"/api/v1/halls/{ctx['hall_id']}/service-levels/tickets?"
        return Page(level="tickets", title=_name(hall, ctx["en"]), listing=listing, tiers=tier_names(),
                    channels=channel_names(ctx["en"]), channel=filters.get("channel"),
                    back=ctx["link"]("report_pages.service_levels_page", hall=ctx["hall_id"]),
                    exports=[(_("These tickets (Excel)"), api + urlencode({**query, "format": "xlsx"})),
                             (_("These tickets (CSV)"), api + urlencode({**query, "format": "csv"}))])
    return _report_page("service_level_tickets.html", "report_pages.service_level_tickets_page",
                        service_levels.head_office_report, build, TICKET_FILTERS)


# --------------------------------------------------------------------------- the audit trail (操作日志)

AUDIT_ENTITIES = (("hall", "营业厅", "Hall"), ("service", "业务", "Service"), ("counter", "窗口", "Counter"),
                  ("staff", "员工", "Staff"), ("device", "设备", "Device"), ("sensor", "客流计数器", "Door counter"),
                  ("region", "省区", "Region"), ("city", "城市", "City"), ("vip", "贵宾名单", "VIP roster"),
                  ("media", "大屏媒体", "Display media"))


@bp.get("/audit")
def audit_page():
    """``/manager/audit``: configuration changes, latest first, filtered by kind, hall, person and
    days; each with the fields changed, before and after, in words and in the hall's local time.
    Administrators and head office: every hall; a hall manager: their hall's. Read-only: the trail
    cannot be edited or deleted. Paged: 100 entries, then "earlier changes"."""
    who = access.principal()
    if not policy.may_use_manager_pages(who):
        return render_template("audit.html", who=who, refused=_(
            "This page is for hall managers, head office and administrators."), page=None), 403
    rt = current_app.extensions["hallq"]
    en = current_language() == "en"
    every_hall = who.hall_id is None
    scope = access.hall_scope(who)
    hall_id = _int("hall") if every_hall else None
    entity = request.args.get("entity") if request.args.get("entity") in audit.ENTITIES else None
    halls = {h["id"]: h for h in config.list_halls(rt, scope)}
    zone = parse_zone(halls[who.hall_id]["timezone"] if who.hall_id in halls else satisfaction.HEAD_OFFICE_ZONE)
    since, until = _day_start(request.args.get("from"), zone), _day_start(request.args.get("to"), zone, next_day=True)
    listing = audit.list_entries(rt, scope, entity, _int("entity_id"), hall_id, _int("actor"),
                                 since=since, until=until, before_id=_int("before"), limit=100)
    people = [p for p in config.list_staff(rt) if scope is None or p.get("hall_id") in scope]  # whom they may see
    here = {k: request.args[k] for k in ("entity", "entity_id", "hall", "actor", "from", "to") if request.args.get(k)}
    more = url_for("report_pages.audit_page", **here, before=listing["next_before_id"]) \
        if listing["next_before_id"] else None
    reader = AuditReader(rt, halls, zone, en)
    return render_template("audit.html", who=who, refused=None, entries=listing["entries"], more=more, here=here,
                           halls=halls, every_hall=every_hall, entity=entity, hall_id=hall_id, en=en,
                           entities=[(k, en_ if en else zh) for k, zh, en_ in AUDIT_ENTITIES], reader=reader,
                           people=people, actor=_int("actor"), lang=current_language(), page=True)


def _day_start(text: str | None, zone, next_day: bool = False) -> datetime | None:
    """The local midnight starting a ``YYYY-MM-DD`` (or the next one), in UTC; None if not a date."""
    try:
        day = datetime.strptime(text or "", "%Y-%m-%d")
    except ValueError:
        return None
    if not 2000 <= day.year <= 2099:
        return None
    return (day + timedelta(days=1 if next_day else 0)).replace(tzinfo=zone).astimezone(timezone.utc)


class AuditReader:
    """Entries as people read them: local times, fields in words, ids as names, durations in minutes."""

    SECONDS = ("target_wait_s", "handle_time_s", "patience_s")

    def __init__(self, rt, halls: dict, zone, en: bool) -> None:
        self.rt, self.halls, self.zone, self.en = rt, halls, zone, en
        self._services: dict[int, dict[int, str]] = {}
        self.labels = {
            "name_zh": _("Name (Chinese)"), "name_en": _("Name (English)"), "name": _("Name"), "code": _("Code"),
            "prefix": _("Prefix"), "target_wait_s": _("Target wait"), "handle_time_s": _("Handle time"),
            "service_ids": _("Services"), "opening_hours": _("Opening hours"), "closures": _("Closures"),
            "active": _("Active"), "role": _("Role"), "hall_id": _("Hall"), "password": _("Password"),
            "guide_pin": _("Floor guide PIN"), "number": _("Number"), "display_mode": _("Window screen shows"),
            "address": _("Address"), "timezone": _("Time zone"), "username": _("Username"),
            "staff_number": _("Staff number"), "email": _("Email"), "region_id": _("Region"), "city_id": _("City"),
            "calling_policy": _("Calling rules"), "green_channel": _("Green channel"), "screen": _("Screen texts"),
            "staffing": _("Staffing rules"), "survey": _("Survey settings"), "kind": _("Kind"),
            "counter_id": _("Counter"), "mobile": _("Mobile number"), "star_level": _("Star level"),
            "valid_until": _("Valid until"), "note": _("Note"), "self_service_zh": _("Self-service (Chinese)"),
            "self_service_en": _("Self-service (English)"), "printer": _("Printer"),
            "title": _("Title"), "size_bytes": _("Size (bytes)"), "seconds": _("Seconds on screen"),
            "position": _("Order"),
        }

    def when(self, entry: dict) -> str:
        hall = self.halls.get(entry.get("hall_id"))
        zone = parse_zone(hall["timezone"]) if hall else self.zone
        return datetime.fromisoformat(entry["at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    def field(self, name: str) -> str:
        return self.labels.get(name, name)

    def value(self, entry: dict, name: str, value) -> str:
        if value is None:
            return "—"
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if name in self.SECONDS and isinstance(value, (int, float)):
            return _("%(n)s min", n=f"{value / 60:g}")
        if name == "hall_id" and value in self.halls:
            return _name(self.halls[value], self.en)
        if name == "service_ids" and isinstance(value, list):
            names = self._service_names(entry.get("hall_id"))
            return "、".join(names.get(v, f"#{v}") for v in value) or "—"
        return _shown(value)

    def _service_names(self, hall_id: int | None) -> dict[int, str]:
        if hall_id is None or hall_id not in self.halls:
            return {}
        if hall_id not in self._services:
            self._services[hall_id] = {s["id"]: f"{s['prefix']} {_name(s, self.en)}"
                                       for s in config.list_services(self.rt, hall_id)}
        return self._services[hall_id]


def _shown(value) -> str:
    """A recorded value as people read it: text as it is, nothing as —, the rest as JSON (Chinese kept)."""
    import json

    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
