"""Scheduled satisfaction reports (满意度日报 / 月报) as stored Excel files.

The scheduler's ``satisfaction_reports`` job calls ``make_reports`` each morning for yesterday
(in Shanghai, the head office's zone): the head-office daily report and one daily report per
active hall that had surveys that day; when that day is the last of its month (the run on the
1st), also the monthly reports of that month. The files are the exports of the report endpoints
(``web.reports_api``), so a stored file and a download of the same period are laid out alike.

One row per kind, hall and period: a rerun replaces the file, never adds one. ``hall_id`` is NULL
for head-office files and a NULL never collides in a unique constraint, so every file is written
delete-then-insert in one transaction, which also holds a transaction lock on PostgreSQL (two
scheduler runs at once still leave one row each).
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import delete, func, select, text

from ..bootstrap import Runtime
from ..domain.errors import NotFound
from ..storage.orm import Hall, ReportFile, SatisfactionHallDay
from . import satisfaction

KINDS = ("head_office_day", "head_office_month", "hall_day", "hall_month")
FORMAT = "xlsx"
HALL_BREAKDOWN = "staff"  # a hall's file is its staff ranking
_LOCK_KEY = 0x68616C6C  # pg_advisory_xact_lock: one writer of report files at a time
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def _title(period: satisfaction.Period) -> tuple[str, str]:
    """(Chinese report name, the period as it appears in a file name)."""
    if period.kind == "month":
        return "满意度月报", period.first.strftime("%Y-%m")
    return "满意度日报", period.first.isoformat()


def file_name(kind: str, period: satisfaction.Period, hall: Hall | None = None) -> str:
    """e.g. ``满意度月报-2026-11.xlsx``, ``H1-人民路营业厅-满意度日报-2026-11-30.xlsx``."""
    name, when = _title(period)
    prefix = "" if hall is None else _UNSAFE.sub("_", f"{hall.code}-{hall.name_zh}") + "-"
    return f"{prefix}{name}-{when}.{FORMAT}"


def ascii_name(row: dict) -> str:
    """The ASCII fallback name of a file, for clients that cannot read RFC 5987 names."""
    when = row["period_first"][:7] if row["period_kind"] == "month" else row["period_first"]
    hall = f"hall-{_UNSAFE.sub('_', row['hall_code'] or str(row['hall_id']))}-" if row["hall_id"] else ""
    ascii_hall = hall.encode("ascii", "replace").decode().replace("?", "_")
    return f"{ascii_hall}satisfaction-{row['period_kind']}-{when}.{FORMAT}"


def _halls_with_surveys(rt: Runtime, period: satisfaction.Period) -> list[Hall]:
    h = SatisfactionHallDay
    with rt.reader() as tx:
        s = tx.session
        ids = select(h.hall_id).where(h.day >= period.first, h.day <= period.last).group_by(h.hall_id) \
            .having(func.sum(h.sent) + func.sum(h.rated) > 0)
        halls = list(s.execute(select(Hall).where(Hall.active.is_(True), Hall.id.in_(ids))
                               .order_by(Hall.code)).scalars())
        for hall in halls:
            s.expunge(hall)
    return halls


def _files_for(rt: Runtime, period: satisfaction.Period) -> list[dict]:
    """The head-office file and each hall's file of ``period``, laid out and rendered."""
    from ..web import reports_api  # the layout of the exports, shared with the download endpoints

    scope = "day" if period.kind == "day" else "month"
    report = satisfaction.head_office_report(rt, period)
    files = [{"kind": f"head_office_{scope}", "hall_id": None, "file_name": file_name(scope, period),
              "content": reports_api.table_bytes(FORMAT, reports_api.head_office_table(report))}]
    for hall in _halls_with_surveys(rt, period):
        report = satisfaction.hall_report(rt, hall.id, period, HALL_BREAKDOWN)
        files.append({"kind": f"hall_{scope}", "hall_id": hall.id, "file_name": file_name(scope, period, hall),
                      "content": reports_api.table_bytes(FORMAT, reports_api.hall_table(report))})
    return files


def make_reports(rt: Runtime, day: date) -> dict:
    """The daily reports of ``day`` and, when ``day`` ends its month, that month's reports; a file
    already made for the same kind, hall and period is replaced. Returns the counts per kind."""
    periods = [satisfaction.period_of("day", day)]
    if (day + timedelta(days=1)).day == 1:
        periods.append(satisfaction.period_of("month", day))
    files = [(p, f) for p in periods for f in _files_for(rt, p)]
    made = rt.now()
    with rt.uow() as tx:
        s = tx.session
        if tx.dialect == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        for period, f in files:
            same_hall = ReportFile.hall_id.is_(None) if f["hall_id"] is None else ReportFile.hall_id == f["hall_id"]
            s.execute(delete(ReportFile).where(ReportFile.kind == f["kind"], same_hall,
                                               ReportFile.period_first == period.first))
            s.add(ReportFile(kind=f["kind"], hall_id=f["hall_id"], period_kind=period.kind,
                             period_first=period.first, period_last=period.last, format=FORMAT,
                             file_name=f["file_name"], content=f["content"], size=len(f["content"]),
                             made_at=made))
        tx.commit()
    counts = {kind: sum(1 for _, f in files if f["kind"] == kind) for kind in KINDS}
    return {"day": day.isoformat(), **counts}


def _view(row: ReportFile, hall: Hall | None) -> dict:
    return {"id": row.id, "kind": row.kind, "hall_id": row.hall_id,
            "hall_code": hall.code if hall else None, "hall_name_zh": hall.name_zh if hall else None,
            "period_kind": row.period_kind, "period_first": row.period_first.isoformat(),
            "period_last": row.period_last.isoformat(), "format": row.format, "file_name": row.file_name,
            "size": row.size, "made_at": row.made_at.isoformat()}


def list_reports(rt: Runtime, hall_scope: set[int] | None = None, kind: str | None = None,
                 limit: int = 500) -> list[dict]:
    """Stored files, latest period first, without their content. ``hall_scope`` None: every file
    (head office); a set of hall ids: only those halls' files (a hall manager: no head-office file)."""
    with rt.reader() as tx:
        q = select(ReportFile, Hall).outerjoin(Hall, ReportFile.hall_id == Hall.id) \
            .options(_no_content())
        if hall_scope is not None:
            q = q.where(ReportFile.hall_id.in_(sorted(hall_scope)))
        if kind:
            q = q.where(ReportFile.kind == kind)
        q = q.order_by(ReportFile.period_first.desc(), ReportFile.kind, ReportFile.hall_id.is_not(None),
                       Hall.code).limit(limit)
        return [_view(row, hall) for row, hall in tx.session.execute(q).all()]


def _no_content():
    from sqlalchemy.orm import defer

    return defer(ReportFile.content)


def report_file(rt: Runtime, file_id: int, with_content: bool = True) -> dict:
    """One stored file: its listing fields and (``with_content``) its bytes as ``content``."""
    with rt.reader() as tx:
        q = select(ReportFile, Hall).outerjoin(Hall, ReportFile.hall_id == Hall.id) \
            .where(ReportFile.id == file_id)
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
