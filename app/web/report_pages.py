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

from datetime import datetime, timedelta
from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..domain.errors import DomainError
from ..domain.hours import parse_zone
from ..domain.model import Role
from ..i18n import current_language
from ..services import config, report_files, satisfaction
from . import access
from .charts import Bar, band_bars, pct, rate_bars, trend

bp = Blueprint("report_pages", __name__, url_prefix="/manager")

READERS = (Role.ADMIN, Role.HEAD_OFFICE, Role.HALL_MANAGER)
HALL_BREAKDOWNS = ("staff", "counter", "service")
LEVELS = ("company", "region", "city", "hall", "staff")


# --------------------------------------------------------------------------- the drill-down, pure

def find_place(report: dict, region: int | None = None, city: int | None = None,
               hall: int | None = None) -> list[tuple[str, dict]] | None:
    """The path from the company to the place asked for in a head-office report: [("region", r),
    ("city", c), ("hall", h)] as deep as asked; None when the place is not in the report (or a
    city is asked under the wrong region)."""
    for r in report["regions"]:
        for c in r["cities"]:
            for h in c["halls"]:
                if hall is not None and h["id"] == hall:
                    return [("region", r), ("city", c), ("hall", h)]
            if hall is None and city is not None and c["id"] == city and region in (None, r["id"]):
                return [("region", r), ("city", c)]
        if hall is None and city is None and region is not None and r["id"] == region:
            return [("region", r)]
    return [] if region is None and city is None and hall is None else None


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


def _refuse(who, message: str, status: int):
    return render_template("satisfaction.html", who=who, refused=message, page=None), status


@bp.get("/satisfaction")
def satisfaction_page():
    who = access.session_staff()
    if who is None:
        return redirect(url_for("pages.login", next=request.full_path))
    if who.role not in READERS:
        return _refuse(who, _("This page is for hall managers, head office and administrators."), 403)
    rt = current_app.extensions["hallq"]
    en = current_language() == "en"
    region, city, hall_id, staff_id = _int("region"), _int("city"), _int("hall"), _int("staff")
    every_hall = who.role in (Role.ADMIN, Role.HEAD_OFFICE)
    if not every_hall:
        if (region or city) or (hall_id is not None and hall_id != who.hall_id):
            return _refuse(who, _("You may see only your own hall's reports."), 403)
        hall_id = who.hall_id
    kind = request.args.get("period") or "month"
    try:
        zone = config.get_hall(rt, hall_id)["timezone"] if hall_id else satisfaction.HEAD_OFFICE_ZONE
        period = satisfaction.parse_period(kind, request.args.get("date"), rt.now(), zone)
    except DomainError as exc:
        return _refuse(who, exc.message, 404 if exc.status == 404 else 400)
    query = {"period": period.kind, "date": period.first.isoformat()}

    def link(**place) -> str:
        return url_for("report_pages.satisfaction_page", **query, **{k: v for k, v in place.items() if v is not None})

    crumbs, path = [], []
    if every_hall:
        company = satisfaction.head_office_report(rt, period)
        path = find_place(company, region, city, hall_id)
        if path is None:
            return _refuse(who, _("There is no such place in this report."), 404)
        crumbs.append({"label": _("All halls"), "href": link()})
        for level, node in path:
            crumbs.append({"label": _name(node, en), "href": link(**{level: node["id"]})})
    today = satisfaction.parse_period("day", None, rt.now(), zone).first
    try:
        if hall_id is None:
            page = _above_hall(rt, company, path, period, en, link, today)
        else:
            page = _hall(rt, hall_id, staff_id, period, en, link, crumbs, today)
    except DomainError as exc:
        return _refuse(who, exc.message, exc.status if exc.status in (400, 404, 422) else 400)
    before = satisfaction.period_of(period.kind, period.first - timedelta(days=1))
    after = satisfaction.period_of(period.kind, period.last + timedelta(days=1))
    here = {k: request.args[k] for k in ("region", "city", "hall", "staff", "by") if request.args.get(k)}
    page.crumbs = crumbs if len(crumbs) > 1 or not every_hall else []
    page.period = period.to_dict()
    page.period_links = {
        "kinds": [(k, label, url_for("report_pages.satisfaction_page", period=k, date=period.first.isoformat(), **here))
                  for k, label in (("day", _("Day")), ("week", _("Week")), ("month", _("Month")))],
        "before": url_for("report_pages.satisfaction_page", period=period.kind, date=before.first.isoformat(), **here),
        "after": (url_for("report_pages.satisfaction_page", period=period.kind, date=after.first.isoformat(), **here)
                  if after.first <= today else None),
    }
    page.here = here
    return render_template("satisfaction.html", who=who, refused=None, page=page, en=en, pct=pct,
                           lang=current_language())


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
    who = access.session_staff()
    if who is None:
        return redirect(url_for("pages.login", next=request.full_path))
    if who.role not in READERS:
        return render_template("report_files.html", who=who, refused=_(
            "This page is for hall managers, head office and administrators."), files=[]), 403
    rt = current_app.extensions["hallq"]
    kind = request.args.get("kind") if request.args.get("kind") in report_files.KINDS else None
    scope = None if who.role in (Role.ADMIN, Role.HEAD_OFFICE) else {who.hall_id}
    zone = parse_zone(satisfaction.HEAD_OFFICE_ZONE)
    files = [{**f, "made_local": datetime.fromisoformat(f["made_at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M")}
             for f in report_files.list_reports(rt, scope, kind)]
    en = current_language() == "en"
    kinds = [k for k in report_files.KINDS if scope is None or "head_office" not in k]
    return render_template("report_files.html", who=who, refused=None, files=files, kind=kind, kinds=kinds,
                           kind_labels={k: kind_label(k, en) for k in report_files.KINDS}, lang=current_language())
