"""Demo data: a city with two halls, so the product can be tried with nothing configured."""
from __future__ import annotations

import math
import os
import random
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from .bootstrap import Runtime
from .config import INSTANCE_DIR
from .demo_history import HISTORY_WEEKS, SERVICE_MIX, poisson, seed_served_history
from .domain.footfall import MinuteCount
from .domain.hours import WEEKDAYS, business_day, parse_zone
from .services import auth, config, footfall, planning, service_levels
from .storage.orm import Region

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# prefix, code, 中文, English, target wait s, handle time s, self-service alternative (zh, en)
SERVICES = [
    ("A", "billing", "缴费充值", "Bill payment & top-up", 600, 120,
     "缴费充值可在自助终端办理，约 1 分钟", "Payments take about 1 minute at the self-service terminal"),
    ("B", "business", "业务办理", "SIM, number & package services", 1200, 420, None, None),
    ("C", "broadband", "宽带", "Broadband", 1200, 600, None, None),
    ("D", "handsets", "手机销售", "Handset sales", 900, 720, None, None),
    ("E", "enterprise", "集团客户", "Enterprise customers", 900, 600, None, None),
    ("F", "complaints", "投诉", "Complaints", 600, 600, None, None),
]
# counter number -> prefixes it serves
COUNTERS = {1: "A", 2: "AB", 3: "B", 4: "BC", 5: "D", 6: "EF"}

HALLS = [
    ("ZZ-JS", "郑州金水路营业厅", "Zhengzhou Jinshui Road Hall", "郑州市金水路 88 号",
     {day: [["08:30", "18:00"]] for day in WEEK}, "js"),
    ("ZZ-EQ", "郑州二七广场营业厅（演示：全天开放）", "Zhengzhou Erqi Square Hall (demo: open all day)",
     "郑州市二七广场 1 号", {day: [["00:00", "24:00"]] for day in WEEK}, "eq"),
]


# code, 中文, English, kind: the door counters of each demo hall
DOOR_SENSORS = [
    ("door1-cam", "正门摄像头", "Main door camera", "camera"),
    ("door2-ir", "侧门红外", "Side door infrared beam", "infrared"),
]

GUIDE_PIN = "2468"
BASE = f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"  # where `make run` serves


def create_demo(rt: Runtime, password: str) -> list[str]:
    """Create the demo organisation once; returns the lines to print (accounts and device tokens)."""
    with rt.reader() as tx:
        exists = tx.session.execute(select(Region.id).where(Region.code == "HA")).scalar() is not None
    lines = []
    if exists:
        lines.append("演示数据已存在 Demo data already present (device tokens were printed when it was created).")
    else:
        lines += _create(rt, password)
        _refresh_planner_statistics(rt)
    lines += [
        "",
        f"登录 Sign in at {BASE}/login  (password / 密码: {password})",
        "  admin       管理员 administrator",
        "  headoffice  省公司 head office",
        "  js-manager  金水路厅经理 hall manager     eq-manager  二七厅经理",
        "  js01..js06  金水路营业员 counter staff     eq01..eq06  二七营业员",
        f"API: {BASE}/api/docs",
    ]
    return lines


def _refresh_planner_statistics(rt: Runtime) -> None:
    """PostgreSQL plans by its statistics, which autovacuum refreshes only a while after a bulk load:
    until then it guessed the demo's weeks of history to be a few rows, and read a service's every
    finished ticket for its last handle times (2 ms an issue) instead of the index's last entries.
    SQLite plans from its indexes alone (BENCHMARKS.md, "The hot path") and is left as it is."""
    if rt.engine.dialect.name == "postgresql":
        with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


def _create(rt: Runtime, password: str) -> list[str]:
    paper = Path(auth.printer_places(rt).folder)  # where the demo kiosks print
    paper.mkdir(parents=True, exist_ok=True)
    region = config.create_region(rt, {"code": "HA", "name_zh": "河南", "name_en": "Henan"})
    city = config.create_city(rt, {"region_id": region["id"], "code": "ZZ", "name_zh": "郑州", "name_en": "Zhengzhou"})
    config.create_staff(rt, {"username": "admin", "name": "系统管理员", "password": password, "role": "admin"})
    config.create_staff(rt, {"username": "headoffice", "name": "省公司客服部", "password": password,
                             "role": "head_office"})
    lines = ["演示数据已创建 Demo data created.", "设备令牌 Device tokens (shown once):"]
    for code, name_zh, name_en, address, hours, short in HALLS:
        hall = config.create_hall(rt, {"city_id": city["id"], "code": code, "name_zh": name_zh, "name_en": name_en,
                                       "address": address, "timezone": "Asia/Shanghai", "opening_hours": hours,
                                       "remote_queue": {"enabled": True},  # /join/<code>: remote tickets
                                       "booking": {"enabled": True}})  # and appointments
        by_prefix = {}
        for prefix, scode, szh, sen, target, handle, self_zh, self_en in SERVICES:
            svc = config.create_service(rt, hall["id"], {
                "code": scode, "prefix": prefix, "name_zh": szh, "name_en": sen, "target_wait_s": target,
                "handle_time_s": handle, "self_service_zh": self_zh, "self_service_en": self_en})
            by_prefix[prefix] = svc["id"]
        for number, prefixes in COUNTERS.items():
            config.create_counter(rt, hall["id"], {"number": number, "name": f"{number}号窗口",
                                                   "service_ids": [by_prefix[p] for p in prefixes]})
        config.create_staff(rt, {"username": f"{short}-manager", "name": f"{name_zh[2:5]}厅经理",
                                 "password": password, "role": "hall_manager", "hall_id": hall["id"]})
        for i in range(1, 7):
            config.create_staff(rt, {"username": f"{short}{i:02d}", "name": f"营业员{short.upper()}{i:02d}",
                                     "staff_number": f"{code}-{i:03d}", "password": password,
                                     "role": "counter_staff", "hall_id": hall["id"]})
        kiosk = auth.register_device(rt, hall["id"], "kiosk", f"{name_zh[:7]} 取号机 1")
        display = auth.register_device(rt, hall["id"], "display", f"{name_zh[:7]} 大屏")
        auth.set_guide_pin(rt, hall["id"], GUIDE_PIN)
        # the demo kiosk "prints" ESC/POS bytes into a file of the printer folder (PRINTER_FOLDER)
        auth.set_device_printer(rt, kiosk["id"], {"kind": "file", "path": str(paper / f"printer-{code}.escpos")})
        lines.append(f"  {code} (hall {hall['id']}): kiosk {kiosk['token']}")
        lines.append(f"  {code} (hall {hall['id']}): display {display['token']}")
        lines.append(f"    取号机 Kiosk    {BASE}/kiosk/#token={kiosk['token']}")
        lines.append(f"    大屏 Display    {BASE}/display/#token={display['token']}")
        agent = auth.register_device(rt, hall["id"], "sensor", f"{name_zh[:7]} 客流采集")
        for code_, zh, en, kind in DOOR_SENSORS:
            footfall.register_sensor(rt, hall["id"], {"code": code_, "name_zh": zh, "name_en": en, "door": zh[:2],
                                                      "kind": kind, "device_id": agent["id"]})
        first = business_day(rt.now(), parse_zone(hall["timezone"])) - timedelta(weeks=HISTORY_WEEKS)
        config.update_hall(rt, hall["id"], {"opened_on": first.isoformat()})
        history = seed_served_history(rt, hall["id"], first, SURVEY_SETTINGS[code])
        summary = planning.forecast_hall(rt, hall["id"])
        lines.append(f"  {code} (hall {hall['id']}): {history['days']} days of history ({history['tickets']} tickets, "
                     f"{history['ratings']} survey ratings); forecast of {summary['slots']} intervals "
                     f"({len(summary['days'])} days: the appointments' horizon) and a counter plan made")
        people = seed_door_counts(rt, hall["id"], agent["id"], hours)
        agent_config = write_agent_config(code, agent["token"])
        lines.append(f"  {code} (hall {hall['id']}): sensor agent {agent['token']}  ({people} people counted so far today)")
        lines.append(f"    客流采集 Door-count agent: python -m sensors.agent --config {agent_config}")
    lines += seed_surveys(rt)
    service_levels.rebuild_recent(rt)  # the scheduler's quarter-hour, now: today's tickets in the reports
    lines += seed_report_files(rt)
    lines.append(f"  大堂经理优先取号 PIN (floor guide, priority tickets): {GUIDE_PIN}")
    lines.append(f"  窗口工作台 Counter console: {BASE}/counter/ (sign in as js01)")
    return lines


def write_agent_config(hall_code: str, token: str) -> str:
    """An edge-agent config for the demo hall: its side-door infrared counter over the local MQTT broker."""
    path = INSTANCE_DIR / f"agent-{hall_code}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"# Demo door-count agent of {hall_code} (see sensors/AGENT.md). Try:\n"
        f"#   mosquitto_pub -t hallq/{hall_code}/footfall/door2-ir -m '{{\"in\": 2, \"out\": 0}}'\n"
        f"[server]\nurl = \"{BASE}\"\ntoken = \"{token}\"\nsend_interval_s = 10\n\n"
        f"[spool]\npath = \"agent-{hall_code}.spool.sqlite3\"\n\n"
        f"[mqtt]\nhost = \"127.0.0.1\"\nport = 1883\nprefix = \"hallq/{hall_code}/footfall\"\nsensors = [\"door2-ir\"]\n",
        encoding="utf-8")
    return str(path)


def seed_door_counts(rt: Runtime, hall_id: int, device_id: int, hours: dict, seed: int = 7) -> int:
    """Today's door counts so far, from the hall's opening: customers arriving with the usual
    late-morning and afternoon peaks, each staying 10 to 40 minutes. Returns how many came in."""
    hall = config.get_hall(rt, hall_id)
    zone = parse_zone(hall["timezone"])
    now = rt.now()
    today = business_day(now, zone)
    spans = hours.get(WEEKDAYS[today.weekday()], [])
    if not spans:
        return 0
    opens = datetime.combine(today, time.fromisoformat(spans[0][0]), tzinfo=zone)
    opens = max(opens, datetime.combine(today, time(8, 0), tzinfo=zone))  # an all-day hall: from 08:00
    rng = random.Random(seed + hall_id)
    moves: dict[tuple[str, datetime], list[int]] = {}
    minute = opens.astimezone(timezone.utc)
    end = now.replace(second=0, microsecond=0)
    arrived = 0
    while minute <= end:
        hour = minute.astimezone(zone).hour + minute.minute / 60
        rate = 0.4 + 1.6 * math.exp(-((hour - 10.5) ** 2) / 1.5) + 1.2 * math.exp(-((hour - 15.5) ** 2) / 2)
        for _ in range(poisson(rng, rate)):
            sensor = "door1-cam" if rng.random() < 0.75 else "door2-ir"
            moves.setdefault((sensor, minute), [0, 0])[0] += 1
            arrived += 1
            leave = minute + timedelta(minutes=rng.randint(10, 40))
            if leave <= end:
                moves.setdefault((sensor, leave), [0, 0])[1] += 1
        minute += timedelta(minutes=1)
    counts = [MinuteCount(sensor, at, i, o) for (sensor, at), (i, o) in sorted(moves.items())]
    for start in range(0, len(counts), 1000):
        footfall.ingest(rt, device_id, hall_id, counts[start:start + 1000])
    return arrived


def rush(rt: Runtime, hall_code: str, tickets: int, seed: int = 3) -> list[str]:
    """``tickets`` customers take numbers now, in the demo's service mix (``flask demo-rush``)."""
    from .domain.errors import NotFound
    from .services import queue
    from .storage.orm import Hall

    with rt.reader() as tx:
        hall = tx.session.execute(select(Hall).where(Hall.code == hall_code)).scalar_one_or_none()
        if hall is None:
            raise NotFound(f"no hall with code {hall_code!r}", field="hall_code")
        hall_id = hall.id
    services = {s["prefix"]: s["id"] for s in config.list_services(rt, hall_id)}
    rng = random.Random(seed)
    mix = [p for p in SERVICE_MIX if p in services]
    weights = [SERVICE_MIX[p] for p in mix]
    issued = [queue.issue_ticket(rt, hall_id, services[rng.choices(mix, weights)[0]]) for _ in range(tickets)]
    return [f"高峰模拟 Rush: {len(issued)} tickets issued at {hall_code} "
            f"({issued[0]['label']} .. {issued[-1]['label']}); open /manager/ to see the warning within a minute."]


# --------------------------------------------------------------------------- satisfaction surveys

# per demo hall: its survey settings (the all-day hall asks at once, on the five-point scale)
SURVEY_SETTINGS = {
    "ZZ-JS": {"scale": "four_grade", "delay_minutes": 5, "quiet_hours": ["21:00", "08:00"]},
    "ZZ-EQ": {"scale": "five_point", "delay_minutes": 0, "quiet_hours": None,
              "template_en": "Please rate counter {counter} at {hall}: {prompt}. Reply TD to opt out"},
}
# customers served at the all-day hall (fictional numbers) and what they answer (None: not yet)
DEMO_CUSTOMERS = [("13800138001", "5 服务很周到"), ("13800138002", "2 排队太久了"), ("13800138003", None)]


def seed_surveys(rt: Runtime) -> list[str]:
    """Survey settings on the demo halls, and a few customers served at the all-day hall whose
    surveys are "sent" to the outbox at once: one answered happily, one unhappily (a follow-up
    case for eq-manager), one waiting for an answer (GET /api/v1/sms/outbox, then answer it with
    POST /api/v1/sms/outbox/reply)."""
    from . import event_handlers
    from .services import queue, surveys
    from .storage.orm import Hall

    with rt.reader() as tx:
        halls = {h.code: h.id for h in tx.session.execute(select(Hall)).scalars()}
    for code, settings in SURVEY_SETTINGS.items():
        config.update_hall(rt, halls[code], {"survey": settings})
    hall_id = halls["ZZ-EQ"]
    service = next(s["id"] for s in config.list_services(rt, hall_id) if s["prefix"] == "B")
    counter = next(c["id"] for c in config.list_counters(rt, hall_id) if c["number"] == 3)
    staff = next(s["id"] for s in config.list_staff(rt, hall_id) if s["username"] == "eq03")
    queue.open_counter(rt, counter, staff)
    for mobile, _ in DEMO_CUSTOMERS:
        queue.issue_ticket(rt, hall_id, service, mobile=mobile)
        queue.call_next(rt, counter, staff)
        queue.finish_service(rt, counter, staff)
    queue.close_counter(rt, counter)
    event_handlers.deliver(rt)  # the finishes' surveys (the scheduler's outbox job)
    surveys.dispatch(rt)
    messages = sorted(surveys.list_outbox(rt, {hall_id})["messages"], key=lambda m: m["id"])
    for message, (_, answer) in zip(messages, DEMO_CUSTOMERS):
        if answer:
            surveys.reply_from_outbox(rt, message["id"], answer)
    return [f"  ZZ-EQ (hall {hall_id}): {len(messages)} survey SMS in the outbox "
            f"(GET /api/v1/sms/outbox as admin or eq-manager); one low rating opened a follow-up case"]


def seed_report_files(rt: Runtime) -> list[str]:
    """The stored reports the scheduler would have made from the history: last month's, last week's
    and yesterday's (with the daily files of the days that ended them), satisfaction and service levels."""
    from .services import report_files, satisfaction

    today = rt.now().astimezone(parse_zone(satisfaction.HEAD_OFFICE_ZONE)).date()
    last_sunday = today - timedelta(days=today.weekday() + 1)
    made = [report_files.make_reports(rt, day, family)
            for family in report_files.FAMILIES
            for day in sorted({today.replace(day=1) - timedelta(days=1), last_sunday, today - timedelta(days=1)})]
    n = sum(v for m in made for k, v in m.items() if k != "day")
    return [f"  {n} stored reports, satisfaction and service levels (Excel): {BASE}/manager/report-files"]
