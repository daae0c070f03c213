"""Peak warnings: checked by the scheduler, stored, pushed, acknowledged by the hall manager.

The rules are in ``domain.peaks``; this module feeds them the stored forecast and the
live queue, and keeps one standing warning per (hall, kind, service) in ``peak_warnings``
(a partial unique index makes that hold even if two checkers race).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..bootstrap import Runtime
from ..domain import events as ev
from ..domain.errors import Conflict, NotFound
from ..domain.hours import parse_zone
from ..domain.peaks import (
    FORECAST,
    HORIZON,
    LIVE,
    ServiceNow,
    ServiceOutlook,
    WarningDraft,
    forecast_warnings,
    live_warnings,
    reconcile,
)
from ..domain.staffing import StaffingRules
from ..storage.orm import City, Counter, ForecastSlot, Hall, PeakWarning, Region, ServiceType, Ticket
from . import queue
from .config import _get
from .planning import open_counters_by_service

log = logging.getLogger(__name__)


def check_forecast(rt: Runtime, hall_id: int) -> dict:
    """Raise, update or resolve the hall's forecast warnings for the coming hour."""
    with rt.reader() as tx:
        s = tx.session
        hall = _get(s, Hall, hall_id, "hall_id")
        zone = parse_zone(hall.timezone)
        minutes = StaffingRules.from_dict(hall.staffing).interval_minutes
        now = rt.now()
        rows = s.execute(
            select(ForecastSlot, ServiceType)
            .join(ServiceType, ServiceType.id == ForecastSlot.service_id)
            .where(
                ForecastSlot.hall_id == hall_id,
                ForecastSlot.service_id.is_not(None),
                ForecastSlot.slot > now - timedelta(minutes=minutes),
                ForecastSlot.slot < now + HORIZON,
                ServiceType.active.is_(True),
            )
        ).all()
        open_by_service = open_counters_by_service(s, hall_id)
        outlooks = [
            ServiceOutlook(
                svc.id,
                svc.name_zh,
                svc.name_en,
                f.slot.astimezone(zone),
                minutes,
                f.p90,
                f.needed,
                open_by_service.get(svc.id, 0),
            )
            for f, svc in rows
        ]
    return _apply(rt, hall_id, forecast_warnings(outlooks, now.astimezone(zone)), (FORECAST,))


def check_live(rt: Runtime, hall_id: int) -> dict:
    """Raise, update or resolve the hall's live warnings from the queue now."""
    snapshot = queue.hall_snapshot(rt, hall_id)
    now = datetime.fromisoformat(snapshot["at"]).astimezone(parse_zone(snapshot["hall"]["timezone"]))
    services = [
        ServiceNow(
            s["id"],
            s["name_zh"],
            s["name_en"],
            s["waiting"],
            s["estimated_wait_s"],
            s["target_wait_s"],
            s["open_counters"],
        )
        for s in snapshot["services"]
    ]
    return _apply(rt, hall_id, live_warnings(services, now), (LIVE,))


def _apply(rt: Runtime, hall_id: int, drafts: list[WarningDraft], kinds: tuple[str, ...]) -> dict:
    with rt.uow() as tx:
        s = tx.session
        now = rt.now()
        standing_rows = (
            s.execute(
                select(PeakWarning).where(
                    PeakWarning.hall_id == hall_id, PeakWarning.resolved_at.is_(None), PeakWarning.kind.in_(kinds)
                )
            )
            .scalars()
            .all()
        )
        standing = {w.key: (w.id, w.severity, w.counters_needed) for w in standing_rows}
        by_id = {w.id: w for w in standing_rows}
        plan = reconcile(standing, drafts, kinds)
        raised = []
        for draft in plan.raise_:
            warning = PeakWarning(
                hall_id=hall_id,
                service_id=draft.service_id or None,
                kind=draft.kind,
                key=draft.key,
                raised_at=now,
                **_content(draft, now),
            )
            s.add(warning)
            raised.append(warning)
        for warning_id, draft in plan.update:
            warning = by_id[warning_id]
            for name, value in _content(draft, now).items():
                setattr(warning, name, value)
        for warning_id in plan.resolve:
            by_id[warning_id].resolved_at = now
        try:
            s.flush()
        except IntegrityError:  # another checker raised the same warning first: it stands, nothing to add
            log.info("peak warnings of hall %s: raised concurrently elsewhere", hall_id)
            return {"raised": 0, "updated": 0, "resolved": 0}
        for warning, change in (
            [(w, "raised") for w in raised]
            + [(by_id[i], "updated") for i, _ in plan.update]
            + [(by_id[i], "resolved") for i in plan.resolve]
        ):
            tx.record(_event(warning, change))
        tx.commit()
    return {"raised": len(raised), "updated": len(plan.update), "resolved": len(plan.resolve)}


def _content(draft: WarningDraft, now: datetime) -> dict:
    return {
        "severity": draft.severity,
        "window_start": draft.window_start,
        "window_end": draft.window_end,
        "counters_open": draft.counters_open,
        "counters_needed": draft.counters_needed,
        "figure": draft.figure,
        "message_zh": draft.message_zh,
        "message_en": draft.message_en,
        "updated_at": now,
    }


def _event(w: PeakWarning, change: str) -> ev.PeakWarningChanged:
    return ev.PeakWarningChanged(
        hall_id=w.hall_id,
        warning_id=w.id,
        change=change,
        kind=w.kind,
        severity=w.severity,
        service_id=w.service_id,
        message_zh=w.message_zh,
        message_en=w.message_en,
    )


def acknowledge(rt: Runtime, warning_id: int, staff_id: int | None) -> dict:
    """A manager saw the warning: it stays until its condition clears, but stops asking for attention."""
    with rt.uow() as tx:
        warning = tx.session.get(PeakWarning, warning_id)
        if warning is None:
            raise NotFound(f"no warning {warning_id}", field="warning_id")
        if warning.acknowledged_at is not None:
            raise Conflict("the warning is already acknowledged", field="warning_id")
        warning.acknowledged_at = rt.now()
        warning.acknowledged_by = staff_id
        tx.record(_event(warning, "acknowledged"))
        tx.commit()
        return warning_view(warning)


def warning_hall(rt: Runtime, warning_id: int) -> int:
    with rt.reader() as tx:
        warning = tx.session.get(PeakWarning, warning_id)
        if warning is None:
            raise NotFound(f"no warning {warning_id}", field="warning_id")
        return warning.hall_id


def list_warnings(rt: Runtime, hall_id: int, standing_only: bool = True, limit: int = 100) -> list[dict]:
    with rt.reader() as tx:
        _get(tx.session, Hall, hall_id, "hall_id")
        q = select(PeakWarning).where(PeakWarning.hall_id == hall_id)
        if standing_only:
            q = q.where(PeakWarning.resolved_at.is_(None))
        rows = tx.session.execute(q.order_by(PeakWarning.raised_at.desc()).limit(limit)).scalars()
        return [warning_view(w) for w in rows]


def standing_by_hall(rt: Runtime) -> dict[int, list[dict]]:
    with rt.reader() as tx:
        rows = tx.session.execute(
            select(PeakWarning).where(PeakWarning.resolved_at.is_(None)).order_by(PeakWarning.raised_at)
        ).scalars()
        out: dict[int, list[dict]] = {}
        for w in rows:
            out.setdefault(w.hall_id, []).append(warning_view(w))
        return out


def warning_view(w: PeakWarning) -> dict:
    return {
        "id": w.id,
        "hall_id": w.hall_id,
        "service_id": w.service_id,
        "kind": w.kind,
        "severity": w.severity,
        "window_start": w.window_start.isoformat(),
        "window_end": w.window_end.isoformat(),
        "counters_open": w.counters_open,
        "counters_needed": w.counters_needed,
        "figure": w.figure,
        "message_zh": w.message_zh,
        "message_en": w.message_en,
        "raised_at": w.raised_at.isoformat(),
        "updated_at": w.updated_at.isoformat(),
        "acknowledged_at": w.acknowledged_at.isoformat() if w.acknowledged_at else None,
        "acknowledged_by": w.acknowledged_by,
        "resolved_at": w.resolved_at.isoformat() if w.resolved_at else None,
    }


def halls_overview(rt: Runtime, hall_ids: set[int] | None = None) -> list[dict]:
    """Head office's table: every active hall with its queue now and its standing warnings."""
    standing = standing_by_hall(rt)
    with rt.reader() as tx:
        s = tx.session
        halls = s.execute(
            select(Hall, City, Region)
            .join(City, City.id == Hall.city_id)
            .join(Region, Region.id == City.region_id)
            .where(Hall.active.is_(True))
            .order_by(Region.name_zh, City.name_zh, Hall.code)
        ).all()
        waiting = dict(
            s.execute(
                select(Ticket.hall_id, func.count()).where(Ticket.state == "waiting").group_by(Ticket.hall_id)
            ).all()
        )
        open_counters = dict(
            s.execute(
                select(Counter.hall_id, func.count())
                .where(Counter.active.is_(True), Counter.is_open.is_(True))
                .group_by(Counter.hall_id)
            ).all()
        )
        rows = []
        for hall, city, region in halls:
            if hall_ids is not None and hall.id not in hall_ids:
                continue
            warnings = standing.get(hall.id, [])
            rows.append(
                {
                    "hall_id": hall.id,
                    "code": hall.code,
                    "name_zh": hall.name_zh,
                    "name_en": hall.name_en,
                    "city_zh": city.name_zh,
                    "region_zh": region.name_zh,
                    "waiting": waiting.get(hall.id, 0),
                    "open_counters": open_counters.get(hall.id, 0),
                    "warnings": len(warnings),
                    "unacknowledged": sum(1 for w in warnings if w["acknowledged_at"] is None),
                    "worst": "critical"
                    if any(w["severity"] == "critical" for w in warnings)
                    else ("warning" if warnings else None),
                    "messages_zh": [w["message_zh"] for w in warnings],
                    "messages_en": [w["message_en"] for w in warnings],
                }
            )
        return rows
