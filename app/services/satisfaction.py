"""Satisfaction reports (满意度报表): roll-ups of the surveys and the reports read from them.

**Storage.** Reports never scan ``surveys``. Two roll-up tables hold counts per hall and
business day (the hall's own calendar day, so "a day" and "a month" are in the hall's
time zone by construction): ``satisfaction_days`` also per staff member, counter, service
and wait band (hall reports, rankings, wait bands), ``satisfaction_hall_days`` per hall only
(the head-office report: 500 halls x 31 days = 15,500 rows a month, whatever the volume).
Each row counts surveys sent, surveys rated and ratings per score value, never "satisfied":
which grades are satisfied is the hall's setting, applied when the report is read.

**Maintenance: incremental, in the same transaction, plus an idempotent rebuild.**

- ``count_sent`` runs in the transaction that marks a survey sent (``sending → sent``,
  a compare-and-set that succeeds once), ``count_rating`` in the one that counts its first
  rating (a duplicate reply is not counted, so it is not counted here either). Each is an
  ``INSERT ... ON CONFLICT DO UPDATE SET n = n + 1``: atomic on both databases, so two
  concurrent replies in one hall never lose an increment, and a rolled-back transaction
  takes its increment with it. Reports are therefore live, to the last rating.
- ``rebuild`` recomputes a range of days from ``surveys`` (delete, then INSERT ... SELECT
  GROUP BY): exact and idempotent, run as often as wanted. It backfills (a new install, the
  bench's bulk load) and repairs (rows written around the service layer). Run it on closed
  days (older than the send window plus the reply expiry) so no increment races it.

A rebuild per day alone would have been simpler but leaves today's report stale until the
job runs; increments alone cannot recover from a bulk load. ``differences`` compares the
two for a range (the tests use it; an operator can too).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, case, delete, func, insert, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import load_only

from ..bootstrap import Runtime
from ..domain.errors import Invalid, NotFound
from ..domain.satisfaction import (  # noqa: F401 - the pure parts, re-exported for the web layer
    PERIODS,
    UNKNOWN_BAND,
    WAIT_BANDS,
    Period,
    band_label,
    combine,
    figures,
    parse_period,
    period_of,
    rank,
    wait_band,
)
from ..domain.survey import MAX_GRADE_VALUE, SurveyScale, SurveySettings
from ..storage.orm import (
    City,
    Counter,
    Hall,
    Region,
    SatisfactionDay,
    SatisfactionHallDay,
    ServiceType,
    Staff,
    Survey,
)

SENT = "sent"  # services.surveys.SENT (not imported: surveys imports this module)
SCORES = tuple(range(MAX_GRADE_VALUE + 1))
COUNTS = ("sent", "rated") + tuple(f"r{v}" for v in SCORES)
HEAD_OFFICE_ZONE = "Asia/Shanghai"  # "this month" for the head office when no date is given


def _band_sql() -> str:
    """``wait_band`` in SQL, from the same bounds (literal numbers: PostgreSQL groups by it)."""
    whens = " ".join(f"WHEN wait_s < {hi * 60} THEN {i}" for i, (_, hi) in enumerate(WAIT_BANDS) if hi is not None)
    return f"CASE WHEN wait_s IS NULL THEN {UNKNOWN_BAND} {whens} ELSE {len(WAIT_BANDS) - 1} END"


# --------------------------------------------------------------------------- maintenance


def _survey_key(survey: Survey) -> dict:
    return {
        "hall_id": survey.hall_id,
        "day": survey.business_day,
        "staff_id": survey.staff_id or 0,
        "counter_id": survey.counter_id or 0,
        "service_id": survey.service_id,
        "wait_band": wait_band(survey.wait_s),
    }


def _bump(s, dialect: str, model, key: dict, inc: dict) -> None:
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    table = model.__table__
    statement = insert_(model).values(**key, **{c: inc.get(c, 0) for c in COUNTS})
    s.execute(
        statement.on_conflict_do_update(index_elements=list(key), set_={c: table.c[c] + n for c, n in inc.items()})
    )


def _count(s, dialect: str, survey: Survey, inc: dict) -> None:
    key = _survey_key(survey)
    _bump(s, dialect, SatisfactionDay, key, inc)
    _bump(s, dialect, SatisfactionHallDay, {"hall_id": key["hall_id"], "day": key["day"]}, inc)


def count_sent(s, dialect: str, survey: Survey) -> None:
    """In the transaction that marks ``survey`` sent (once: the sending → sent compare-and-set)."""
    _count(s, dialect, survey, {"sent": 1})


def count_rating(s, dialect: str, survey: Survey, score: int) -> None:
    """In the transaction that counts the first rating of ``survey``."""
    _count(s, dialect, survey, {"rated": 1, f"r{score}": 1})


CLOSED_AFTER_DAYS = 3  # a business day this old gets no new sends or counted ratings (send window 1 day + expiry 48 h)


def rebuild_closed_days(rt: Runtime, days: int = 7) -> dict:
    """The nightly repair: rebuild the last ``days`` closed business days from the raw surveys, so
    a count written around the service layer (or lost) is right by the next morning."""
    last = rt.now().date() - timedelta(days=CLOSED_AFTER_DAYS)
    return rebuild(rt, last - timedelta(days=days - 1), last)


def rebuild(rt: Runtime, first: date, last: date, hall_ids: Iterable[int] | None = None) -> dict:
    """Recompute the roll-ups of business days ``first``..``last`` from the surveys: exact, idempotent."""
    with rt.uow() as tx:
        result = rebuild_in(tx.session, first, last, hall_ids)
        tx.commit()
    return result


def rebuild_in(s, first: date, last: date, hall_ids: Iterable[int] | None = None) -> dict:
    halls = sorted(set(hall_ids)) if hall_ids is not None else None
    for model in (SatisfactionDay, SatisfactionHallDay):
        where = [model.day >= first, model.day <= last] + ([model.hall_id.in_(halls)] if halls is not None else [])
        s.execute(delete(model).where(*where))
    zero: Any = literal_column("0")
    scores = [func.sum(_is(Survey.score, v)) for v in SCORES]
    where = [Survey.state == SENT, Survey.business_day >= first, Survey.business_day <= last]
    if halls is not None:
        where.append(Survey.hall_id.in_(halls))
    detail = (
        select(
            Survey.hall_id,
            Survey.business_day,
            func.coalesce(Survey.staff_id, zero),
            func.coalesce(Survey.counter_id, zero),
            Survey.service_id,
            literal_column(_band_sql()),
            func.count(),
            func.count(Survey.score),
            *scores,
        )
        .where(*where)
        .group_by(text("1, 2, 3, 4, 5, 6"))
    )
    keys = ["hall_id", "day", "staff_id", "counter_id", "service_id", "wait_band"]
    s.execute(insert(SatisfactionDay).from_select(keys + list(COUNTS), detail))
    d = SatisfactionDay
    per_hall = (
        select(d.hall_id, d.day, *[func.sum(d.__table__.c[c]) for c in COUNTS])
        .where(d.day >= first, d.day <= last, *([d.hall_id.in_(halls)] if halls is not None else []))
        .group_by(d.hall_id, d.day)
    )
    s.execute(insert(SatisfactionHallDay).from_select(["hall_id", "day", *COUNTS], per_hall))
    rows, hall_rows = (
        s.execute(
            select(func.count())
            .select_from(m)
            .where(m.day >= first, m.day <= last, *([m.hall_id.in_(halls)] if halls is not None else []))
        ).scalar_one()
        for m in (SatisfactionDay, SatisfactionHallDay)
    )
    return {"first_day": first.isoformat(), "last_day": last.isoformat(), "rows": rows, "hall_days": hall_rows}


def _is(column, value: int):
    """1 where ``column`` is ``value``, else 0 (literal numbers, so the statement is the same on both databases)."""
    return case((column == literal_column(str(value)), literal_column("1")), else_=literal_column("0"))


def differences(rt: Runtime, first: date, last: date) -> list[tuple]:
    """Roll-up rows that differ from what ``rebuild`` would write now (empty when exact)."""
    with rt.uow() as tx:
        s = tx.session
        before = {m: _snapshot(s, m, first, last) for m in (SatisfactionDay, SatisfactionHallDay)}
        rebuild_in(s, first, last)
        after = {m: _snapshot(s, m, first, last) for m in (SatisfactionDay, SatisfactionHallDay)}
        # roll back: this only looks
    return [
        (m.__tablename__, k, before[m].get(k), after[m].get(k))
        for m in before
        for k in sorted(set(before[m]) | set(after[m]), key=str)
        if before[m].get(k) != after[m].get(k)
    ]


def _snapshot(s, model, first: date, last: date) -> dict:
    keys = [c for c in model.__table__.primary_key.columns]
    rows = s.execute(select(model.__table__).where(model.day >= first, model.day <= last)).mappings().all()
    return {tuple(r[c.name] for c in keys): tuple(r[c] for c in COUNTS) for r in rows}


# --------------------------------------------------------------------------- reading


def _sums(model, *group) -> Select:
    return select(*group, *[func.sum(model.__table__.c[c]) for c in COUNTS])


def _line(row, offset: int, scale: SurveyScale) -> dict:
    sent, rated, *per_score = row[offset:]
    return figures({v: int(n or 0) for v, n in zip(SCORES, per_score)}, int(sent or 0), int(rated or 0), scale)


def _scale(hall: Hall) -> SurveyScale:
    return _scale_of(json.dumps(hall.survey or {}, sort_keys=True))


@lru_cache(maxsize=256)
def _scale_of(settings: str) -> SurveyScale:
    """Halls mostly share a few settings: read each once (500 halls, one report, ~3 distinct)."""
    return SurveySettings.from_dict(json.loads(settings)).scale


def _name(x) -> dict:
    return {"id": x.id, "code": x.code, "name_zh": x.name_zh, "name_en": x.name_en}


HALL_FIELDS = (Hall.id, Hall.code, Hall.name_zh, Hall.name_en, Hall.survey, Hall.active, Hall.city_id)


def head_office_report(rt: Runtime, period: Period) -> dict:
    """Every hall's figures for the period, rolled up city → region → all, each level ranked."""
    with rt.reader() as tx:
        s = tx.session
        h = SatisfactionHallDay
        rows = s.execute(
            _sums(h, h.hall_id).where(h.day >= period.first, h.day <= period.last).group_by(h.hall_id)
        ).all()
        by_hall = {r[0]: r for r in rows}
        halls = s.execute(
            select(Hall, City, Region)
            .options(load_only(*HALL_FIELDS))
            .join(City, Hall.city_id == City.id)
            .join(Region, City.region_id == Region.id)
            .where(Hall.active.is_(True) | Hall.id.in_(list(by_hall)))
            .order_by(Region.code, City.code, Hall.code)
        ).all()
        regions: dict[int, dict] = {}
        for hall, city, region in halls:
            scale = _scale(hall)
            row = by_hall.get(hall.id)
            line = _line(row, 1, scale) if row else figures({}, 0, 0, scale)
            r = regions.setdefault(region.id, {**_name(region), "cities": {}})
            c = r["cities"].setdefault(city.id, {**_name(city), "halls": []})
            c["halls"].append({**_name(hall), **line})
    out = []
    for r in regions.values():
        cities = []
        for c in r["cities"].values():
            halls_ = rank(c["halls"], "rank_in_city")
            cities.append({**{k: v for k, v in c.items() if k != "halls"}, **combine(halls_), "halls": halls_})
        region_halls = [x for c in cities for x in c["halls"]]
        rank(region_halls, "rank_in_region")
        out.append(
            {
                **{k: v for k, v in r.items() if k != "cities"},
                **combine(cities),
                "cities": rank(cities, "rank_in_region"),
            }
        )
    out = rank(out, "rank")
    return {"period": period.to_dict(), "totals": combine(out), "regions": out}


BREAKDOWNS = ("staff", "counter", "service", "day", "wait_band")


def hall_report(
    rt: Runtime, hall_id: int, period: Period, by: str = "staff", min_ratings: int = 1, staff_id: int | None = None
) -> dict:
    """One hall's figures for the period, broken down ``by`` staff member (a ranking), counter, service,
    business day or wait band; ``staff_id``: one staff member's ratings only."""
    if by not in BREAKDOWNS:
        raise Invalid(f"by is one of {', '.join(BREAKDOWNS)}", field="by")
    if staff_id is not None and by == "staff":
        raise Invalid("by is counter, service, day or wait_band for one staff member", field="by")
    d = SatisfactionDay
    column = {
        "staff": d.staff_id,
        "counter": d.counter_id,
        "service": d.service_id,
        "day": d.day,
        "wait_band": d.wait_band,
    }[by]
    with rt.reader() as tx:
        s = tx.session
        hall = s.get(Hall, hall_id)
        if hall is None:
            raise NotFound(f"no hall {hall_id}", field="hall_id")
        scale = _scale(hall)
        where = [d.hall_id == hall_id, d.day >= period.first, d.day <= period.last]
        staff_member = None
        if staff_id is not None:
            member = s.get(Staff, staff_id)
            if member is None or member.hall_id != hall_id:
                raise NotFound(f"no staff member {staff_id} at hall {hall_id}", field="staff_id")
            staff_member = {"id": member.id, "name": member.name, "staff_number": member.staff_number}
            where.append(d.staff_id == staff_id)
        rows = s.execute(_sums(d, column).where(*where).group_by(column)).all()
        names = line_names(s, by, hall_id)
        about = _name(hall)
    lines = {r[0]: {**names.get(r[0], _unnamed(by, r[0])), **_line(r, 1, scale)} for r in rows}
    if by in ("staff", "counter", "service"):  # everyone appears, rated or not
        for key, label in names.items():
            lines.setdefault(key, {**label, **figures({}, 0, 0, scale)})
    ordered = sorted(lines.values(), key=lambda x: str(x.get("key")))
    if by in ("staff", "counter", "service"):
        ordered = rank(ordered, "rank", min_ratings)
    if by == "day":
        ordered = sorted(ordered, key=lambda x: x["key"])
    if by == "wait_band":
        ordered = sorted(ordered, key=lambda x: (x["key"] == UNKNOWN_BAND, x["key"]))
    return {
        "period": period.to_dict(),
        "hall": about,
        "by": by,
        "scale": scale.name,
        "staff": staff_member,
        "totals": combine(ordered) if ordered else figures({}, 0, 0, scale),
        "lines": ordered,
    }


def line_names(s, by: str, hall_id: int) -> dict:
    """The names of a hall's report lines by id: its counter staff, counters or services (every one,
    so a line with nothing to count still shows)."""
    if by == "staff":
        return {
            x.id: {"key": x.id, "staff_number": x.staff_number, "name": x.name}
            for x in s.execute(select(Staff).where(Staff.hall_id == hall_id, Staff.role == "counter_staff")).scalars()
        }
    if by == "counter":
        return {
            x.id: {"key": x.id, "number": x.number, "name": x.name}
            for x in s.execute(select(Counter).where(Counter.hall_id == hall_id)).scalars()
        }
    if by == "service":
        return {
            x.id: {"key": x.id, "prefix": x.prefix, "name_zh": x.name_zh, "name_en": x.name_en}
            for x in s.execute(select(ServiceType).where(ServiceType.hall_id == hall_id)).scalars()
        }
    return {}


def _unnamed(by: str, key) -> dict:
    if by == "wait_band":
        return {"key": key, **band_label(key)}
    if by == "day":
        return {"key": key.isoformat() if hasattr(key, "isoformat") else str(key)}
    return {"key": key, "name": "—" if key == 0 else str(key)}  # 0: a survey with no staff / counter


def _per_key_across_halls(rt: Runtime, model, key, period: Period, hall_ids: set[int] | None) -> dict:
    """Each value of ``key`` (a wait band, a day) with one line per hall, each hall's ratings read on
    its own scale: ``combine`` them for the figures across halls."""
    with rt.reader() as tx:
        s = tx.session
        where = [model.day >= period.first, model.day <= period.last]
        if hall_ids is not None:
            where.append(model.hall_id.in_(sorted(hall_ids)))
        rows = s.execute(_sums(model, model.hall_id, key).where(*where).group_by(model.hall_id, key)).all()
        scales = {
            x.id: _scale(x)
            for x in s.execute(
                select(Hall).options(load_only(*HALL_FIELDS)).where(Hall.id.in_({r[0] for r in rows}))
            ).scalars()
        }
    per_key: dict = {}
    for r in rows:
        per_key.setdefault(r[1], []).append(_line(r, 2, scales[r[0]]))
    return per_key


def wait_band_report(rt: Runtime, period: Period, hall_ids: set[int] | None = None) -> dict:
    """Satisfaction by waiting-time band across halls (each hall's ratings read on its own scale):
    how much a long wait costs."""
    bands = _per_key_across_halls(rt, SatisfactionDay, SatisfactionDay.wait_band, period, hall_ids)
    lines = [
        {"key": b, **band_label(b), **combine(parts)}
        for b, parts in sorted(bands.items(), key=lambda kv: (kv[0] == UNKNOWN_BAND, kv[0]))
    ]
    return {"period": period.to_dict(), "totals": combine(lines) if lines else combine([]), "lines": lines}


def day_trend(rt: Runtime, period: Period, hall_ids: set[int] | None = None) -> list[dict]:
    """Each business day of the period across the halls (None: every hall): the trend line of the
    region, city or whole company."""
    days = _per_key_across_halls(rt, SatisfactionHallDay, SatisfactionHallDay.day, period, hall_ids)
    out, day = [], period.first
    while day <= period.last:
        out.append({"key": day.isoformat(), **combine(days.get(day, []))})
        day += timedelta(days=1)
    return out
