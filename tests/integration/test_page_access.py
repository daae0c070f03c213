"""Who may open which page: the role x page matrix, for every page route of the app.

Every route outside the JSON API is listed in ``PAGES`` with who may open it (a signed-in browser
session of each kind of staff member, or nobody signed in); a route without a row fails, so no page
ships without an access decision written down. The decisions are ``domain.policy``'s: the pages
ask it, as the API does (tests/integration/test_api_access.py), so the two cannot disagree. A page
for staff only is guarded by the one sign-in guard (``access.signed_in_only``), never by code of its own.

Targets are hall 1's. "Allowed" means the page answers (200, or a redirect to the signed-in person's
own place); "refused" means 403 for a signed-in person and a redirect to the sign-in page for nobody.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from app.services import config, queue, roster
from app.web import access

from ..world import sign_in

ANONYMOUS = "anonymous"
STAFF = ("admin", "hq", "hq_r2", "m1", "m2", "s1", "s2")  # hq_r2: head office of another region only
PUBLIC = frozenset({ANONYMOUS, *STAFF})
SIGNED_IN = frozenset(STAFF)
ADMIN = frozenset({"admin"})
HALL_1_READERS = frozenset({"admin", "hq", "m1"})            # hall 1's configuration, reports, live page
MANAGER_PAGES = frozenset({"admin", "hq", "hq_r2", "m1", "m2"})  # a page at all (each sees their own)
HEAD_OFFICE = frozenset({"admin", "hq", "hq_r2"})
OUTBOX = frozenset({"admin", "m1", "m2"})
OUTBOX_HALL_1 = frozenset({"admin", "m1"})
HALL_1_MANAGERS = frozenset({"admin", "m1"})
HALL_1_COUNTERS = frozenset({"admin", "m1", "s1"})


@dataclass(frozen=True)
class Page:
    url: str  # with {hall}, {counter}, {service}, {device}, {member}, {staff}, {token}, {appointment} from hall 1
    allowed: frozenset[str]
    method: str = "GET"
    to_sign_in: bool = False  # the page's own answer is the sign-in page (signing out)


PAGES: dict[str, Page] = {
    "pages.home": Page("/", PUBLIC),
    "pages.login": Page("/login", PUBLIC),
    "pages.logout": Page("/logout", PUBLIC, "POST", to_sign_in=True),
    "pages.healthz": Page("/healthz", PUBLIC),
    "pages.api_docs": Page("/api/docs", PUBLIC),
    "pages.api_docs_asset": Page("/api/docs/assets/swagger-ui.css", PUBLIC),
    "kiosk.kiosk_page": Page("/kiosk/", PUBLIC),  # a device page: its data come with its own token
    "kiosk.static": Page("/kiosk/static/kiosk.js", PUBLIC),
    "display.display_page": Page("/display/", PUBLIC),
    # what the screens play: the voice's clips (heard by all in the hall)
    "screen_files.voice_manifest": Page("/voice/manifest.json", PUBLIC),
    "screen_files.voice_clip": Page("/voice/zh/qing.ogg", PUBLIC),
    "phone.ticket_page": Page("/t/{token}", PUBLIC),  # the ticket's unguessable token is the key
    "phone.ticket_qr": Page("/t/{token}/qr.svg", PUBLIC),
    # the hall's public page (remote tickets), its door QR code and poster: what anyone may see
    "join.join_page": Page("/join/H1", PUBLIC),
    "join.join_qr": Page("/join/H1/qr.svg", PUBLIC),
    "join.join_poster": Page("/join/H1/poster", PUBLIC),
    # an appointment's page and its QR code for the kiosk's scanner: its unguessable token is the key
    "appointment.appointment_page": Page("/a/{appointment}", PUBLIC),
    "appointment.appointment_qr": Page("/a/{appointment}/qr.svg", PUBLIC),
    "counter.console": Page("/counter/?hall={hall}&counter={counter}", HALL_1_COUNTERS),
    "manager.dashboard": Page("/manager/?hall={hall}", HALL_1_READERS),
    "manager.overview": Page("/manager/overview", HEAD_OFFICE),
    "report_pages.satisfaction_page": Page("/manager/satisfaction?hall={hall}", HALL_1_READERS),
    "report_pages.service_levels_page": Page("/manager/service-levels?hall={hall}", HALL_1_READERS),
    "report_pages.service_level_tickets_page": Page("/manager/service-levels/tickets?hall={hall}", HALL_1_READERS),
    "report_pages.report_files_page": Page("/manager/report-files", MANAGER_PAGES),
    "report_pages.audit_page": Page("/manager/audit", MANAGER_PAGES),
    "survey_pages.outbox": Page("/manager/outbox?hall={hall}", OUTBOX_HALL_1),
    "survey_pages.follow_ups": Page("/manager/follow-ups?hall={hall}", HALL_1_READERS),
    "admin.organisation": Page("/admin/", MANAGER_PAGES),  # a manager is sent on to their own hall
    "admin.hall_settings": Page("/admin/halls/{hall}", HALL_1_READERS),
    "admin.calling": Page("/admin/halls/{hall}/calling", HALL_1_READERS),
    "admin.counters": Page("/admin/halls/{hall}/counters", HALL_1_READERS),
    "admin.devices": Page("/admin/halls/{hall}/devices", HALL_1_READERS),
    "admin.media": Page("/admin/halls/{hall}/media", HALL_1_READERS),
    "admin.services": Page("/admin/halls/{hall}/services", HALL_1_READERS),
    "admin.staff": Page("/admin/halls/{hall}/staff", HALL_1_READERS),
    "admin.vip": Page("/admin/halls/{hall}/vip", HALL_1_READERS),
    "admin.counter": Page("/admin/counters/{counter}", HALL_1_READERS),
    "admin.service": Page("/admin/services/{service}", HALL_1_READERS),
    "admin.staff_member": Page("/admin/staff/{staff}", HALL_1_READERS),
    "admin.vip_member": Page("/admin/vip/{member}", HALL_1_READERS),
    "admin.staff_without_hall": Page("/admin/staff", ADMIN),
    "admin.export_file": Page("/admin/halls/{hall}/export/staff.csv", HALL_1_READERS),
    "admin.import_file": Page("/admin/halls/{hall}/import/staff", HALL_1_READERS),
    "admin.import_template": Page("/admin/templates/staff.csv", MANAGER_PAGES),
    "admin.add_region": Page("/admin/regions", ADMIN, "POST"),
    "admin.add_city": Page("/admin/cities", ADMIN, "POST"),
    "admin.add_hall": Page("/admin/halls", ADMIN, "POST"),
    "admin.revoke_device": Page("/admin/devices/{device}/revoke", ADMIN, "POST"),
}
NOT_PAGES = {  # routes of this app that are not pages people open: the API's, machines' and static files
    "static", "headers.csp_report", "live.live_status", "ops.metrics_endpoint", "ops.readyz",
    "sms.kannel_dlr", "sms.kannel_inbound", "sms.twilio_inbound", "sms.twilio_status",
    "screen_files.media_file",  # a hall's display media: public files by unguessable names (test_hall_media)
}


@pytest.fixture
def pages_app(rt):
    from app import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "unused", "RUNTIME": rt,
                       "SMS_DATA_KEY": "test-sms-data-key-0123456789abcdef", "WTF_CSRF_ENABLED": False})


@pytest.fixture
def targets(rt, world):
    hall = world.one
    region = config.create_region(rt, {"code": "R2", "name_zh": "海南", "name_en": "Hainan"})
    config.create_staff(rt, {"username": "hq_r2", "name": "海南省公司", "password": "correct-horse-1",
                             "role": "head_office", "region_id": region["id"]})
    member = roster.add_member(rt, hall.id, {"mobile": "13900000001", "star_level": 5})
    with rt.reader() as tx:
        from sqlalchemy import select

        from app.storage.orm import Device
        device = tx.session.execute(select(Device.id).where(Device.hall_id == hall.id)).scalars().first()
    return {"hall": hall.id, "counter": hall.counters[1], "service": hall.services["A"], "device": device,
            "member": member["id"], "staff": hall.staff["t1"],
            "token": queue.issue_ticket(rt, hall.id, hall.services["A"])["public_token"],
            "appointment": booked_appointment(rt, hall)}


def booked_appointment(rt, hall) -> str:
    """The token of an appointment booked at ``hall`` tomorrow at 10:00 (stored as booking stores it;
    the page shows it whatever the hall's booking settings are now)."""
    from datetime import date, datetime, timezone

    from app.services import appointments

    token = "appt-page-access-token"
    with rt.uow() as tx:
        tx.session.execute(appointments.APPOINTMENTS.insert().values(
            hall_id=hall.id, service_id=hall.services["A"], business_day=date(2026, 11, 24),
            slot_start=datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc), slot_minutes=30, work_s=120.0,
            state="booked", number_cipher=None, number_key="k" * 64, number_masked="138****8000",
            public_token=token, created_at=datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)))
        tx.commit()
    return token


def page_routes(app) -> set[str]:
    return {r.endpoint for r in app.url_map.iter_rules() if not r.endpoint.startswith("api.")} - NOT_PAGES


def test_every_page_route_has_a_row_in_the_access_matrix(pages_app):
    routes = page_routes(pages_app)
    assert not sorted(routes - set(PAGES)), f"pages without an access row: {sorted(routes - set(PAGES))}"
    assert not sorted(set(PAGES) - routes), f"rows for pages that no longer exist: {sorted(set(PAGES) - routes)}"


def test_a_page_for_staff_only_is_behind_the_one_sign_in_guard_and_a_public_page_is_not(pages_app):
    """The matrix's public pages are exactly those outside ``access.signed_in_only``'s blueprints: a
    new page for staff put beside the public ones (or guarded by a check of its own) fails here."""
    guarded = {bp for bp, hooks in pages_app.before_request_funcs.items() if access.require_sign_in in hooks}
    assert guarded, "no blueprint declares access.signed_in_only"
    wrong = []
    for endpoint in sorted(page_routes(pages_app) & set(PAGES)):
        is_guarded = endpoint.rpartition(".")[0] in guarded
        if ANONYMOUS in PAGES[endpoint].allowed and is_guarded:
            wrong.append(f"{endpoint}: public in the matrix, behind the sign-in guard")
        elif ANONYMOUS not in PAGES[endpoint].allowed and not is_guarded:
            wrong.append(f"{endpoint}: for staff only, but its blueprint is not access.signed_in_only")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("endpoint", sorted(PAGES))
def test_each_person_opens_or_is_refused_each_page_as_the_matrix_says(endpoint, pages_app, targets):
    page = PAGES[endpoint]
    url = page.url.format(**targets)
    wrong = []
    for who in (ANONYMOUS, *STAFF):
        client = pages_app.test_client()
        if who != ANONYMOUS:
            assert sign_in(client, who).status_code == 302, who
        resp = client.open(url, method=page.method, data={})
        location = resp.headers.get("Location", "")
        if who in page.allowed:
            ok = (resp.status_code < 400 and ("/login" not in location or page.to_sign_in)
                  or resp.status_code in (400, 422))  # let in, and the empty form refused
        elif who == ANONYMOUS:
            ok = resp.status_code in (302, 401) and ("/login" in location or resp.status_code == 401)
        else:
            ok = resp.status_code == 403
        if not ok:
            wrong.append(f"{who}: {resp.status_code} {location}")
    assert not wrong, f"{page.method} {url}:\n" + "\n".join(wrong)


def test_a_counter_console_of_another_hall_shows_nothing_of_its_queue(pages_app, rt, world):
    other = world.two
    waiting = queue.issue_ticket(rt, other.id, other.services["A"])
    client = pages_app.test_client()
    sign_in(client, "s1")
    resp = client.get(f"/counter/?hall={other.id}&counter={other.counters[1]}")
    assert resp.status_code == 403
    page = resp.get_data(as_text=True)
    assert waiting["label"] not in page and not re.search(r"营业厅2|Hall 2", page)


def test_the_console_returns_to_its_counter_on_reload_and_labels_each_counter_once(app, world):
    """Issue 22: the console forgot its counter on reload, and the picker read "1号窗口 · 1号窗口"."""
    client = app.test_client()
    assert sign_in(client, "s1").status_code == 302
    hall, counter = world.one.id, world.one.counters[2]
    first = client.get("/counter/")
    assert first.status_code == 200 and first.get_data(as_text=True).count("1号窗口") == 1
    assert client.get(f"/counter/?hall={hall}&counter={counter}").status_code == 200
    again = client.get("/counter/")
    assert again.status_code == 302 and f"counter={counter}" in again.headers["Location"]
    assert client.get(f"/counter/?hall={hall}&pick=1").status_code == 200  # "change counter" still picks
