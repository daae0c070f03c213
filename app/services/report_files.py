"""Scheduled reports (满意度 / 服务指标 日报、周报、月报) as stored Excel files.

Two families of report share this store, the scheduler and the download endpoints:

- satisfaction (``satisfaction_reports``, 05:17 in Shanghai): daily, and monthly on the 1st;
- service levels (``service_level_reports``, 05:27): daily, weekly on Mondays, monthly on the 1st.

Each morning ``make_reports`` makes, for yesterday (in Shanghai, the head office's zone), the
head-office file and one file per active hall that had surveys (or tickets) that day; when that
day ends a week or a month, also that week's or month's files. The files are the exports of the
report endpoints (``services.report_tables``), so a stored file and a download of the same period are
laid out alike.

One row per kind, hall and period: a rerun replaces the file, never adds one. ``hall_id`` is NULL
for head-office files and a NULL never collides in a unique constraint, so every file is written
delete-then-insert in one transaction, which also holds a transaction lock on PostgreSQL (two
scheduler runs at once still leave one row each).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, func, select, text

from ..bootstrap import Runtime
from ..domain.errors import NotFound
from ..storage.orm import Hall, ReportFile, SatisfactionHallDay, kpi_hall_days
from . import report_tables, satisfaction, service_levels

FORMAT = "xlsx"
_LOCK_KEY = 0x68616C6C  # pg_advisory_xact_lock: one writer of report files at a time
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')
PERIOD_NAMES = {"day": "日报", "week": "周报", "month": "月报"}


@dataclass(frozen=True)
class Family:
    """One kind of report the scheduler stores: its name, its periods and how a file is made."""

    key: str  # kinds are "{prefix}head_office_{period}" and "{prefix}hall_{period}"
    prefix: str
    name_zh: str
    name_en: str
    periods: tuple[str, ...]
    head_office: Callable  # (rt, period) -> a table of services.report_tables
    hall: Callable  # (rt, hall_id, period) -> the table
    halls_with_data: Callable  # (rt, period) -> [Hall]

    def kinds(self) -> tuple[str, ...]:
        return tuple(f"{self.prefix}{who}_{p}" for who in ("head_office", "hall") for p in self.periods)


def _halls_where(rt: Runtime, ids) -> list[Hall]:
    with rt.reader() as tx:
        s = tx.session
        halls = list(
            s.execute(select(Hall).where(Hall.active.is_(True), Hall.id.in_(ids)).order_by(Hall.code)).scalars()
        )
        for hall in halls:
            s.expunge(hall)
    return halls


def _halls_with_surveys(rt: Runtime, period: satisfaction.Period) -> list[Hall]:
    h = SatisfactionHallDay
    return _halls_where(
        rt,
        select(h.hall_id)
        .where(h.day >= period.first, h.day <= period.last)
        .group_by(h.hall_id)
        .having(func.sum(h.sent) + func.sum(h.rated) > 0),
    )


def _halls_with_tickets(rt: Runtime, period: satisfaction.Period) -> list[Hall]:
    h = kpi_hall_days
    return _halls_where(
        rt,
        select(h.c.hall_id)
        .where(h.c.day >= period.first, h.c.day <= period.last)
        .group_by(h.c.hall_id)
        .having(func.sum(h.c.arrivals) > 0),
    )


SATISFACTION = Family(
    "satisfaction",
    "",
    "满意度",
    "satisfaction",
    ("day", "month"),
    head_office=lambda rt, p: report_tables.head_office_table(satisfaction.head_office_report(rt, p)),
    hall=lambda rt, hall_id, p: report_tables.hall_table(satisfaction.hall_report(rt, hall_id, p, "staff")),
    halls_with_data=_halls_with_surveys,
)
SERVICE_LEVELS = Family(
    "service_levels",
    "kpi_",
    "服务指标",
    "service-levels",
    ("day", "week", "month"),
    head_office=lambda rt, p: report_tables.kpi_head_office_table(service_levels.head_office_report(rt, p)),
    hall=lambda rt, hall_id, p: report_tables.kpi_hall_table(service_levels.hall_report(rt, hall_id, p, "counter")),
    halls_with_data=_halls_with_tickets,
)
FAMILIES = (SATISFACTION, SERVICE_LEVELS)
KINDS = tuple(k for f in FAMILIES for k in f.kinds())


def family_of(kind: str) -> Family:
    return next(f for f in FAMILIES if kind in f.kinds())


def _when(period: satisfaction.Period) -> str:
    if period.kind == "month":
        return period.first.strftime("%Y-%m")
    if period.kind == "week":
        year, week, _ = period.first.isocalendar()
        return f"{year}-W{week:02d}"
    return period.first.isoformat()


def file_name(family: Family, period: satisfaction.Period, hall: Hall | None = None) -> str:
    """e.g. ``满意度月报-2026-11.xlsx``, ``H1-人民路营业厅-服务指标周报-2026-W48.xlsx``."""
    prefix = "" if hall is None else _UNSAFE.sub("_", f"{hall.code}-{hall.name_zh}") + "-"
    return f"{prefix}{family.name_zh}{PERIOD_NAMES[period.kind]}-{_when(period)}.{FORMAT}"


def ascii_name(row: dict) -> str:
    """The ASCII fallback name of a file, for clients that cannot read RFC 5987 names."""
    family = family_of(row["kind"])
    when = _when(satisfaction.period_of(row["period_kind"], date.fromisoformat(row["period_first"])))
    hall = f"hall-{_UNSAFE.sub('_', row['hall_code'] or str(row['hall_id']))}-" if row["hall_id"] else ""
    ascii_hall = hall.encode("ascii", "replace").decode().replace("?", "_")
    return f"{ascii_hall}{family.name_en}-{row['period_kind']}-{when}.{FORMAT}"


def _files_for(rt: Runtime, family: Family, period: satisfaction.Period) -> list[dict]:
    """The head-office file and each hall's file of ``period``, laid out and rendered."""
    files = [
        {
            "kind": f"{family.prefix}head_office_{period.kind}",
            "hall_id": None,
            "file_name": file_name(family, period),
            "content": report_tables.table_bytes(FORMAT, family.head_office(rt, period)),
        }
    ]
    for hall in family.halls_with_data(rt, period):
        files.append(
            {
                "kind": f"{family.prefix}hall_{period.kind}",
                "hall_id": hall.id,
                "file_name": file_name(family, period, hall),
                "content": report_tables.table_bytes(FORMAT, family.hall(rt, hall.id, period)),
            }
        )
    return files


def periods_ending(family: Family, day: date) -> list[satisfaction.Period]:
    """The family's periods that ``day`` completes: always its day; its week on a Sunday; its month
    on the month's last day."""
    out = [satisfaction.period_of("day", day)]
    if "week" in family.periods and day.weekday() == 6:
        out.append(satisfaction.period_of("week", day))
    if "month" in family.periods and (day + timedelta(days=1)).day == 1:
        out.append(satisfaction.period_of("month", day))
    return out


def make_reports(rt: Runtime, day: date, family: Family = SATISFACTION) -> dict:
    """The reports of ``day`` (and of the week or month it ends) of one family; a file already made
    for the same kind, hall and period is replaced. Returns the counts per kind."""
    files = [(p, f) for p in periods_ending(family, day) for f in _files_for(rt, family, p)]
    made = rt.now()
    with rt.uow() as tx:
        s = tx.session
        if tx.dialect == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        for period, f in files:
            same_hall = ReportFile.hall_id.is_(None) if f["hall_id"] is None else ReportFile.hall_id == f["hall_id"]
            s.execute(
                delete(ReportFile).where(
                    ReportFile.kind == f["kind"], same_hall, ReportFile.period_first == period.first
                )
            )
            s.add(
                ReportFile(
                    kind=f["kind"],
                    hall_id=f["hall_id"],
                    period_kind=period.kind,
                    period_first=period.first,
                    period_last=period.last,
                    format=FORMAT,
                    file_name=f["file_name"],
                    content=f["content"],
                    size=len(f["content"]),
                    made_at=made,
                )
            )
        tx.commit()
    counts = {kind: sum(1 for _, f in files if f["kind"] == kind) for kind in family.kinds()}
    return {"day": day.isoformat(), **counts}


def _view(row: ReportFile, hall: Hall | None) -> dict:
    return {
        "id": row.id,
        "kind": row.kind,
        "hall_id": row.hall_id,
        "hall_code": hall.code if hall else None,
        "hall_name_zh": hall.name_zh if hall else None,
        "period_kind": row.period_kind,
        "period_first": row.period_first.isoformat(),
        "period_last": row.period_last.isoformat(),
        "format": row.format,
        "file_name": row.file_name,
        "size": row.size,
        "made_at": row.made_at.isoformat(),
    }


def list_reports(
    rt: Runtime, hall_scope: set[int] | None = None, kind: str | None = None, limit: int = 500
) -> list[dict]:
    """Stored files, latest period first, without their content. ``hall_scope`` None: every file
    (head office); a set of hall ids: only those halls' files (a hall manager: no head-office file)."""
    with rt.reader() as tx:
        q = select(ReportFile, Hall).outerjoin(Hall, ReportFile.hall_id == Hall.id).options(_no_content())
        if hall_scope is not None:
            q = q.where(ReportFile.hall_id.in_(sorted(hall_scope)))
        if kind:
            q = q.where(ReportFile.kind == kind)
        q = q.order_by(
            ReportFile.period_first.desc(), ReportFile.kind, ReportFile.hall_id.is_not(None), Hall.code
        ).limit(limit)
        return [_view(row, hall) for row, hall in tx.session.execute(q).all()]


def _no_content():
    from sqlalchemy.orm import defer

    return defer(ReportFile.content)


def report_file(rt: Runtime, file_id: int, with_content: bool = True) -> dict:
    """One stored file: its listing fields and (``with_content``) its bytes as ``content``."""
    with rt.reader() as tx:
        q = select(ReportFile, Hall).outerjoin(Hall, ReportFile.hall_id == Hall.id).where(ReportFile.id == file_id)
        if not with_content:
            q = q.options(_no_content())
        found = tx.session.execute(q).first()
        if found is None:
            raise NotFound(f"no report file {file_id}", field="report_file_id")
        row, hall = found
        view = _view(row, hall)
        if with_content:
            view["content"] = bytes(row.content)
    view["ascii_name"] = ascii_name(view)
    return view
