"""JSON API under /api/v1. Each view: check access, parse, call one service function, return its view."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, request, session, url_for
from werkzeug.exceptions import HTTPException

from kiosk.printer import print_slip

from ..domain.errors import DomainError, Forbidden, Invalid
from ..domain.footfall import MinuteCount
from ..domain.model import Role
from ..services import (
    audit, auth, config, footfall, pairing, peaks, planning, queue, report_files, report_tables, satisfaction,
    service_levels,
    appointments, hall_media, printing, remote, roster, surveys,
)
from ..domain import media as media_rules
from . import access, reports_api, throttle
from . import responses as R
from .api_kit import Api, error_response, openapi_document
from .schemas import (
    BookBody, CallTicketBody, CheckInBody, CityBody, CodeRequestBody, RemoteJoinBody, RescheduleBody, CloseFollowUpBody, CounterActionBody, CounterBody, CounterPatch, DeviceBody, FootfallBatchBody, GuidePinBody, GuidePinCheckBody, HallBody,
    HallPatch, IssueBody, KioskBody, LoginBody, OutboxReplyBody, PrinterBody, OpenCounterBody, RegionBody, SensorBody, SensorPatch, ServiceBody,
    ServicePatch, StaffBody, StaffPatch, TransferBody, PauseBody, PairingCodeBody, CollectBody, PairBody,
    VipMemberBody, VipMemberPatch, MediaPatch, MediaUploadQuery,
    AuditQuery, DayQuery, FollowUpsQuery, FootfallQuery, HallSatisfactionQuery, HallServiceLevelsQuery,
    HourlyFootfallQuery, OutboxQuery, PeriodQuery, RepliesQuery, SurveysQuery, ReportFilesQuery, TicketsQuery, WaitBandsQuery, WarningsQuery,
)

log = logging.getLogger(__name__)
PREFIX = "/api/v1"
NO_STORE = {"Cache-Control": "no-store"}
bp = Blueprint("api", __name__, url_prefix=PREFIX)
api = Api(bp)


def rt():
    return current_app.extensions["hallq"]


def _patch(body) -> dict:
    """Fields a PATCH body set; ``null`` means leave unchanged."""
    return body.model_dump(exclude_unset=True, exclude_none=True, mode="json")


@bp.before_request
def _authenticate():
    access.load_principal()


@bp.teardown_request
def _forget_actor(_exc):
    audit.clear()  # the thread serves another request next
    try:
        auth.write_devices_seen(rt())  # outside the request's transactions, at most once a minute a device
    except Exception:  # noqa: BLE001 - a last-seen time must never fail a request
        log.exception("writing devices' last-seen times failed")


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    response, status = error_response(exc.status, exc.code, exc.message, exc.field, **exc.detail)
    if "retry_after_s" in exc.detail:
        response.headers["Retry-After"] = str(exc.detail["retry_after_s"])
    return response, status


@bp.errorhandler(throttle.RateLimitExceeded)
def _too_many_sign_ins(_exc):
    """Too many sign-in attempts on one account or from one address, or too many requests to the
    public operations from one address: wait, as Retry-After says."""
    wait_s = throttle.retry_after_s()
    if request.endpoint in throttle.PUBLIC_ENDPOINTS:
        response, status = error_response(429, "too_many_requests",
                                          f"too many requests from this address: try again in {wait_s} seconds")
    else:
        response, status = error_response(429, "too_many_requests",
                                          f"too many sign-in attempts: try again in {wait_s} seconds", "username")
    response.headers["Retry-After"] = str(wait_s)
    return response, status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return error_response(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description)


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
@bp.app_errorhandler(413)
def _api_routing_error(exc: HTTPException):
    """Routing fails before a blueprint is chosen, so the blueprint handler above never sees these
    (nor a body too large for ``MAX_CONTENT_LENGTH`` met outside the API's views)."""
    if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
        return _http_error(exc)
    return exc


# --------------------------------------------------------------------------- auth

@api.route("/auth/tokens", "POST", tag="auth", access="public", body=LoginBody, status=201, returns=R.Token)
def create_token(body: LoginBody):
    """Sign in and get a bearer token for API clients.

    The token is shown once; send it as `Authorization: Bearer <token>`. It expires
    after API_TOKEN_TTL_HOURS (12 by default).
    """
    who = auth.verify_login(rt(), body.username, body.password)
    throttle.signed_in()
    # the token must not stay in a cache (the browser's, a proxy's)
    return jsonify({"token": auth.issue_api_token(rt(), who.id), "principal": who.to_dict()}), 201, NO_STORE


@api.route("/auth/tokens/current", "DELETE", tag="auth", access="any signed-in caller", returns=R.Revoked)
def revoke_token():
    """Sign out: revoke the bearer token used for this request."""
    access.principal()
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        auth.revoke_api_token(rt(), header[len("Bearer "):].strip())
        session.clear()
    else:
        access.sign_out_browser()
    return {"revoked": True}


@api.route("/me", "GET", tag="auth", access="any signed-in caller", returns=R.Principal)
def me():
    """Who the caller is: staff member or device, role and hall.

    For a signed-in browser session it also returns `csrf_token` (the session's, the one its
    forms carry), which pages send back as the `X-CSRF-Token` header on POST / PUT / PATCH / DELETE.
    """
    who = access.principal().to_dict()
    if access.credential().session is not None:
        who["csrf_token"] = access.csrf_token()
    return who


# --------------------------------------------------------------------------- organisation

@api.route("/regions", "GET", tag="organisation", access="administrator, head office", returns=R.Regions)
def list_regions():
    """List regions (a region's head office: its own)."""
    p = access.read_config()
    mine = access.region_of(p)
    return {"regions": [r for r in config.list_regions(rt()) if mine is None or r["id"] == mine]}


@api.route("/regions", "POST", tag="organisation", access="administrator", body=RegionBody, status=201,
           returns=R.Region)
def create_region(body: RegionBody):
    """Create a region (e.g. a province company)."""
    access.configure()
    return config.create_region(rt(), body.model_dump(mode="json"))


@api.route("/cities", "GET", tag="organisation", access="administrator, head office", returns=R.Cities)
def list_cities():
    """List cities (a region's head office: its region's)."""
    p = access.read_config()
    mine = access.region_of(p)
    return {"cities": [c for c in config.list_cities(rt()) if mine is None or c["region_id"] == mine]}


@api.route("/cities", "POST", tag="organisation", access="administrator", body=CityBody, status=201,
           returns=R.City)
def create_city(body: CityBody):
    """Create a city company within a region."""
    access.configure()
    return config.create_city(rt(), body.model_dump(mode="json"))


@api.route("/halls", "GET", tag="organisation",
           access="administrator, head office: all (a region's: its region's); hall staff: their hall",
           returns=R.Halls)
def list_halls():
    """List halls the caller may see."""
    p = access.principal()
    if p.kind == "staff":
        return {"halls": config.list_halls(rt(), access.hall_scope(p))}
    return {"halls": config.list_halls(rt(), {p.hall_id} if p.hall_id else set())}


@api.route("/halls", "POST", tag="organisation", access="administrator", body=HallBody, status=201,
           returns=R.Hall)
def create_hall(body: HallBody):
    """Create a hall with its time zone, opening hours and calling rule."""
    access.configure()
    return config.create_hall(rt(), body.model_dump(mode="json", exclude_none=True))


@api.route("/halls/<int:hall_id>", "GET", tag="organisation", access="administrator, head office, the hall's manager",
           returns=R.Hall)
def get_hall(hall_id: int):
    """One hall, with its calling rule in words."""
    access.read_config(hall_id)
    return config.get_hall(rt(), hall_id)


@api.route("/halls/<int:hall_id>", "PATCH", tag="organisation", access="administrator", body=HallPatch,
           returns=R.Hall)
def update_hall(hall_id: int, body: HallPatch):
    """Change a hall; `active: false` retires it (history is kept)."""
    access.configure()
    return config.update_hall(rt(), hall_id, _patch(body))


# --------------------------------------------------------------------------- services and counters

@api.route("/halls/<int:hall_id>/services", "GET", tag="services",
           access="administrator, head office, the hall's staff and devices", returns=R.Services)
def list_services(hall_id: int):
    """Service types offered at a hall."""
    access.view_hall(hall_id)
    return {"services": config.list_services(rt(), hall_id)}


@api.route("/halls/<int:hall_id>/services", "POST", tag="services", access="administrator", body=ServiceBody,
           status=201, returns=R.Service)
def create_service(hall_id: int, body: ServiceBody):
    """Add a service type: ticket prefix, names, target wait, expected handle time, self-service alternative."""
    access.configure()
    return config.create_service(rt(), hall_id, body.model_dump(mode="json"))


@api.route("/services/<int:service_id>", "PATCH", tag="services", access="administrator", body=ServicePatch,
           returns=R.Service)
def update_service(service_id: int, body: ServicePatch):
    """Change a service type; `active: false` stops issuing its tickets."""
    access.configure()
    return config.update_service(rt(), service_id, _patch(body))


@api.route("/halls/<int:hall_id>/counters", "GET", tag="counters",
           access="administrator, head office, the hall's staff and devices", returns=R.Counters)
def list_counters(hall_id: int):
    """Counters of a hall with the services each serves."""
    access.view_hall(hall_id)
    return {"counters": config.list_counters(rt(), hall_id)}


@api.route("/halls/<int:hall_id>/counters", "POST", tag="counters", access="administrator", body=CounterBody,
           status=201, returns=R.Counter)
def create_counter(hall_id: int, body: CounterBody):
    """Add a counter (窗口) and the services it serves."""
    access.configure()
    return config.create_counter(rt(), hall_id, body.model_dump(mode="json"))


@api.route("/counters/<int:counter_id>", "PATCH", tag="counters", access="administrator", body=CounterPatch,
           returns=R.Counter)
def update_counter(counter_id: int, body: CounterPatch):
    """Change a counter's number, name or services."""
    access.configure()
    return config.update_counter(rt(), counter_id, _patch(body))


# --------------------------------------------------------------------------- staff and devices

@api.route("/staff", "GET", tag="staff", access="administrator, head office: all; manager: their hall",
           returns=R.StaffList)
def list_staff():
    """Staff accounts."""
    p = access.principal()
    if p.kind == "staff" and p.role and p.role.value == "hall_manager":
        return {"staff": config.list_staff(rt(), p.hall_id)}
    access.read_config()
    return {"staff": config.list_staff(rt())}


@api.route("/staff", "POST", tag="staff", access="administrator; a hall manager: counter staff of their hall",
           body=StaffBody, status=201, returns=R.Staff)
def create_staff(body: StaffBody):
    """Create a staff account; counter staff and managers belong to one hall."""
    access.manage_staff(body.hall_id, body.role)
    return config.create_staff(rt(), body.model_dump(mode="json"))


@api.route("/staff/<int:staff_id>", "PATCH", tag="staff",
           access="administrator; a hall manager: counter staff of their hall, never a role", body=StaffPatch,
           returns=R.Staff)
def update_staff(staff_id: int, body: StaffPatch):
    """Change a staff account, reset its password, or deactivate it (`active: false`)."""
    changes = _patch(body)
    current = config.get_staff(rt(), staff_id)
    access.manage_staff(current["hall_id"], Role(current["role"]),
                        changes_role=any(k in changes and changes[k] != current[k] for k in ("role", "hall_id", "region_id")),
                        account_id=staff_id, deactivates=changes.get("active") is False)
    return config.update_staff(rt(), staff_id, changes)


@api.route("/halls/<int:hall_id>/vip-members", "GET", tag="organisation", access="administrator, the hall's manager",
           returns=R.VipMembers)
def list_vip_members(hall_id: int):
    """The hall's VIP roster (numbers masked): star levels 3-4 queue as star customers, 5-7 as VIP."""
    access.manage_hall(hall_id)
    return {"members": roster.list_members(rt(), hall_id)}


@api.route("/halls/<int:hall_id>/vip-members", "POST", tag="organisation", access="administrator, the hall's manager",
           body=VipMemberBody, status=201, returns=R.VipMember)
def add_vip_member(hall_id: int, body: VipMemberBody):
    """Put a number on the hall's roster: at the kiosk it takes its tier without the floor guide."""
    access.manage_hall(hall_id)
    return roster.add_member(rt(), hall_id, body.model_dump(exclude_none=True))


@api.route("/vip-members/<int:member_id>", "PATCH", tag="organisation", access="administrator, the hall's manager",
           body=VipMemberPatch, returns=R.VipMember)
def update_vip_member(member_id: int, body: VipMemberPatch):
    """Change a roster entry, or take it off (`active: false`); the number itself never changes."""
    access.manage_hall(roster.member_hall(rt(), member_id))
    return roster.update_member(rt(), member_id, body.model_dump(exclude_unset=True))


@api.route("/halls/<int:hall_id>/devices", "GET", tag="devices", access="administrator, the hall's manager",
           returns=R.Devices)
def list_devices(hall_id: int):
    """Kiosks and screens registered for a hall."""
    access.read_config(hall_id)
    return {"devices": config.list_devices(rt(), hall_id)}


@api.route("/halls/<int:hall_id>/devices", "POST", tag="devices", access="administrator", body=DeviceBody,
           status=201, returns=R.NewDevice)
def register_device(hall_id: int, body: DeviceBody):
    """Register a kiosk or screen; the response carries its token, shown this once."""
    access.configure()
    return auth.register_device(rt(), hall_id, body.kind.value, body.name, body.counter_id)


@api.route("/devices/<int:device_id>/deactivate", "POST", tag="devices", access="administrator",
           returns=R.Device)
def deactivate_device(device_id: int):
    """Revoke a device (lost, replaced): its token stops working at once; the device stays listed."""
    access.configure()
    return auth.deactivate_device(rt(), device_id)


# --------------------------------------------------------------------------- the displays' media area

@api.route("/halls/<int:hall_id>/media", "GET", tag="devices", access="administrator, head office, the hall's manager",
           returns=R.MediaList)
def list_hall_media(hall_id: int):
    """The images and short videos the hall's displays play beside the calls, in their order."""
    access.read_config(hall_id)
    return {"media": hall_media.list_media(rt(), hall_id)}


@api.route("/halls/<int:hall_id>/media", "POST", tag="devices", access="administrator, the hall's manager",
           query=MediaUploadQuery, status=201, returns=R.Media, upload_max=media_rules.VIDEO_MAX_BYTES)
def upload_hall_media(hall_id: int, query: MediaUploadQuery, upload: bytes):
    """Add an image (JPEG, PNG, WebP; at most 5 MB) or a short video (MP4 H.264 or WebM VP8/VP9; at most
    50 MB and 120 s) to the displays: the file is the request's body. Judged by its own bytes and decoded
    before it is kept; a hall keeps at most 20 files, 200 MB in all."""
    access.manage_hall(hall_id)
    return hall_media.add_media(rt(), hall_id, upload, query.title or "", query.seconds)


@api.route("/media/<int:media_id>", "PATCH", tag="devices", access="administrator, the hall's manager",
           body=MediaPatch, returns=R.Media)
def update_hall_media(media_id: int, body: MediaPatch):
    """Rename, reorder, switch on or off, or set an image's seconds on screen."""
    access.manage_hall(hall_media.media_hall(rt(), media_id))
    return hall_media.update_media(rt(), media_id, body.model_dump(exclude_none=True))


@api.route("/media/<int:media_id>", "DELETE", tag="devices", access="administrator, the hall's manager",
           returns=R.Media)
def delete_hall_media(media_id: int):
    """Remove a file from the displays and from the server."""
    access.manage_hall(hall_media.media_hall(rt(), media_id))
    return hall_media.delete_media(rt(), media_id)


@api.route("/pairing-codes", "POST", tag="devices", access="public", body=PairingCodeBody, status=201,
           returns=R.PairingCode)
def request_pairing_code(body: PairingCodeBody):
    """A new kiosk or display asks for a six-digit code to show on its screen, with a secret `claim`
    it keeps; valid 15 minutes. An administrator then pairs the code with a hall. One address asks
    for at most 20 codes in 10 minutes (429 past that)."""
    pairing.check_rate(rt(), request.remote_addr or "?")
    return pairing.request_code(rt(), body.kind)


@api.route("/pairing-codes/<code>/collect", "POST", tag="devices", access="public",
           body=CollectBody, returns=R.Pairing)
def collect_pairing(code: str, body: CollectBody):
    """The new device's poll, with the claim only it knows: `waiting`, then `paired` with its token
    (once), then `collected`; a wrong claim is 404 (the code alone gives nothing)."""
    return pairing.collect(rt(), code, body.claim)


@api.route("/halls/<int:hall_id>/devices/pair", "POST", tag="devices", access="administrator", body=PairBody,
           status=201, returns=R.Device)
def pair_device(hall_id: int, body: PairBody):
    """Pair the device showing `code` with this hall (its kind is the one it asked as); the device
    collects its token itself, so no token is ever copied by hand."""
    access.configure()
    return pairing.pair(rt(), body.code, hall_id, body.name, body.counter_id)


# --------------------------------------------------------------------------- kiosk and customer

@api.route("/halls/<int:hall_id>/tickets", "POST", tag="tickets", access="the hall's kiosks, staff and manager",
           body=IssueBody, status=201, checks_caller=True, returns=R.IssuedTicket)
def issue_ticket(hall_id: int, body: IssueBody):
    """Issue a ticket number for a service (kiosk).

    Numbers restart each local business day per hall and prefix. The response has
    the number, people ahead, the estimated wait in seconds (null when no counter
    serving it is open) and `public_token` for the customer's status page. A kiosk's
    star, VIP or green-channel ticket needs the floor guide's PIN (`guide_pin`).
    """
    return queue.issue_ticket(rt(), hall_id, body.service_id, body.tier.value, body.mobile,
                              caller=access.credential(), guide_pin=body.guide_pin)


@api.route("/halls/<int:hall_id>/check-ins", "POST", tag="tickets", access="the hall's kiosks, staff and manager",
           body=CheckInBody, checks_caller=True, returns=R.IssuedTicket)
def check_in(hall_id: int, body: CheckInBody):
    """Check in a remote ticket whose customer has arrived (kiosk).

    By what the kiosk's scanner read from the QR code on the customer's phone (`scan`), or by
    `mobile` and the check-in `code` of the confirmation SMS. From now on the ticket is called in
    the place it took when it was taken. 409 with a `code` when it is checked in already
    (`checked_in_already`), was released (`remote_expired`, `remote_ended`) or needs none
    (`not_remote`); a wrong code is 422 `code_wrong`, and after five, 429 `code_locked`.
    """
    return remote.check_in(rt(), hall_id, access.credential(), scan=body.scan, mobile=body.mobile, code=body.code,
                           as_walk_in=body.as_walk_in)


@api.route("/halls/<int:hall_id>/appointments", "GET", tag="appointments",
           access="administrator, head office, the hall's staff, manager and screens", query=DayQuery,
           returns=R.DayBookings)
def hall_appointments(hall_id: int, query: DayQuery):
    """A day's appointments per slot against what the counter plan lets the hall book.

    `capacity_s` is the slot's room for bookings in counter-seconds (the plan's counters beyond
    the forecast walk-ins' p90 work, times the hall's `booking.share`), `booked_s` what bookings
    hold, `appointments` the count by state. Query: `date` (default today)."""
    access.view_hall(hall_id)
    return appointments.bookings_against_capacity(rt(), hall_id, query.date)


# --------------------------------------------------------------------------- public: remote tickets

@api.route("/public/halls/<string:hall_code>", "GET", tag="public", access="public", returns=R.PublicHall)
def public_hall(hall_code: str):
    """A hall as anyone sees it before coming: open or not, and per service the people waiting and
    the estimated wait; whether it takes remote tickets now (`remote.taking`)."""
    return remote.public_hall(rt(), remote.hall_by_code(rt(), hall_code))


@api.route("/public/halls/<int:hall_id>/slots", "GET", tag="public", access="public", query=DayQuery,
           returns=R.DaySlots)
def appointment_slots(hall_id: int, query: DayQuery):
    """The slots of a day a customer may book (预约), with how many more of each service fit.

    Offered only from the day's counter plan: what its counters can serve beyond the forecast
    walk-ins, times the hall's share (`planned` false: no plan yet, nothing offered). Query:
    `date` (the hall's local day, default today; up to `booking.horizon_days` ahead)."""
    return appointments.day_slots(rt(), hall_id, query.date)


@api.route("/public/halls/<int:hall_id>/appointments", "POST", tag="public", access="public", body=BookBody,
           status=201, returns=R.AppointmentView)
def book_appointment(hall_id: int, body: BookBody):
    """Book a service and slot with the code just sent (a code asked with `purpose` `book`).

    409 with a `code`: `slot_full` (the last place went to someone else), `slot_unavailable`,
    `booking_blocked` (the no-show policy, with `until`), `appointment_held` (one a day per
    number), `booking_off`. The answer's `public_token` is the appointment's page; an SMS brings
    the check-in code."""
    return appointments.book(rt(), hall_id, body.service_id, body.slot_start, body.mobile, body.code)


@api.route("/public/appointments/<string:token>", "GET", tag="public", access="public",
           returns=R.AppointmentView)
def appointment_status(token: str):
    """An appointment's page: service, slot, state, when check-in opens, its ticket once checked in."""
    return appointments.appointment_status(rt(), token)


@api.route("/public/appointments/<string:token>/cancel", "POST", tag="public", access="public",
           returns=R.AppointmentView)
def cancel_appointment(token: str):
    """Cancel a booked appointment; its place in the slot is given back."""
    return appointments.cancel(rt(), token)


@api.route("/public/appointments/<string:token>/reschedule", "POST", tag="public", access="public",
           body=RescheduleBody, returns=R.AppointmentView)
def reschedule_appointment(token: str, body: RescheduleBody):
    """Move a booked appointment to another slot (same hall and service): held first, then the old
    one given back; 409 `slot_full` leaves it where it was."""
    return appointments.reschedule(rt(), token, body.slot_start)


@api.route("/public/halls/<int:hall_id>/codes", "POST", tag="public", access="public", body=CodeRequestBody,
           status=201, returns=R.CodeSent)
def request_code(hall_id: int, body: CodeRequestBody):
    """Send a one-time code by SMS to prove a mobile number (before taking a remote ticket).

    One a minute and (by the hall's settings) five an hour to a number, twenty an hour from one
    address: beyond, 429 with `Retry-After` and a `code` (`resend_too_soon`, `number_limit`,
    `address_limit`). The code lives ten minutes. 503 `sms_not_sent` if the gateway failed.
    """
    return remote.send_code(rt(), hall_id, body.mobile, throttle.client_address(), body.purpose)


@api.route("/public/halls/<int:hall_id>/remote-tickets", "POST", tag="public", access="public",
           body=RemoteJoinBody, status=201, returns=R.IssuedTicket)
def take_remote_ticket(hall_id: int, body: RemoteJoinBody):
    """Take a ticket from the phone with the code just sent (远程取号).

    The ticket (state `remote`) keeps its place in line from now but is called only once its
    customer checks in at the kiosk, by `check_in_by`; after that it is released. The answer has
    `public_token`, the ticket page's key, and an SMS brings the check-in code. A wrong code is
    422 `code_wrong`; after five, 429 `code_locked`; one open remote ticket per number and hall
    (409 `remote_ticket_held`).
    """
    return remote.join(rt(), hall_id, body.service_id, body.mobile, body.code)


@api.route("/tickets/<string:token>/print", "POST", tag="tickets", access="the ticket's hall's kiosks",
           returns=R.Printed)
def print_ticket(token: str):
    """Print the ticket on the calling kiosk's thermal printer (ESC/POS).

    A printer fault is not an error of the request: the answer is 200 with
    `ok: false`, a `code` and a message in Chinese and English for the kiosk's
    screen, which shows the ticket anyway.
    """
    p = access.print_on_kiosk()
    return printing.print_ticket(rt(), p.id, token, url_for("phone.ticket_page", token=token, _external=True),
                                 print_slip)


@api.route("/halls/<int:hall_id>/guide-pin/check", "POST", tag="tickets", access="the hall's kiosks",
           body=GuidePinCheckBody, checks_caller=True, returns=R.GuidePinChecked)
def check_guide_pin(hall_id: int, body: GuidePinCheckBody):
    """Whether the floor guide's PIN typed at a kiosk is right, before the customer picks a service.

    A wrong PIN counts against the kiosk as one sent with a ticket does (`outcome`: `right`,
    `wrong`, `locked` after too many wrong ones, `none` when the hall has no PIN).
    """
    return queue.check_guide_pin(rt(), hall_id, body.pin, caller=access.credential())


@api.route("/halls/<int:hall_id>/guide-pin", "PUT", tag="organisation", access="administrator, the hall's manager",
           body=GuidePinBody, returns=R.GuidePin)
def set_guide_pin(hall_id: int, body: GuidePinBody):
    """Set or remove the floor guide's PIN for priority tickets at the hall's kiosks."""
    access.manage_hall(hall_id)
    return auth.set_guide_pin(rt(), hall_id, body.pin)


@api.route("/devices/<int:device_id>/printer", "PUT", tag="devices", access="administrator", body=PrinterBody,
           returns=R.Device)
def set_device_printer(device_id: int, body: PrinterBody):
    """Configure a kiosk's ticket printer: network (host, port 9100), USB (vendor and product id) or file."""
    access.configure()
    return auth.set_device_printer(rt(), device_id, body.model_dump(exclude_none=True))


@api.route("/devices/<int:device_id>/kiosk", "PUT", tag="devices", access="administrator", body=KioskBody,
           returns=R.Device)
def set_kiosk_settings(device_id: int, body: KioskBody):
    """Switch a kiosk's elder-friendly mode (适老化) and set its idle time (15 to 300 s, 45 by default).

    Its open page takes them at once: it hears `HallSettingsChanged` and reads `GET /devices/me/kiosk`.
    A device that is not a kiosk is 422 naming `device_id`.
    """
    access.configure()
    return auth.set_kiosk_settings(rt(), device_id, body.elder_mode, body.idle_s)


@api.route("/devices/me/kiosk", "GET", tag="devices", access="a kiosk (its own)", returns=R.KioskSettings)
def own_kiosk_settings():
    """The calling kiosk's own settings, defaults filled in: elder-friendly mode and idle time."""
    return auth.kiosk_settings(rt(), access.kiosk_itself().id)


@api.route("/tickets/<string:token>", "GET", tag="tickets", access="public", returns=R.IssuedTicket)
def ticket_status(token: str):
    """A ticket's status for the customer's phone, by its unguessable token."""
    return queue.ticket_status(rt(), token)


@api.route("/tickets/<string:token>/cancel", "POST", tag="tickets", access="public", returns=R.Ticket)
def cancel_ticket(token: str):
    """The customer gives up their place in line."""
    return queue.cancel_ticket(rt(), token)


@api.route("/halls/<int:hall_id>/queue", "GET", tag="tickets",
           access="administrator, head office, the hall's staff and devices", returns=R.HallQueue)
def hall_queue(hall_id: int):
    """The hall's live queue: waiting and estimated wait per service, counters, recent calls."""
    access.view_hall(hall_id)
    return queue.hall_snapshot(rt(), hall_id)


# --------------------------------------------------------------------------- counter actions

@api.route("/counters/<int:counter_id>", "GET", tag="counter actions",
           access="administrator, head office, the hall's staff and devices", returns=R.CounterState)
def counter_state(counter_id: int):
    """A counter's console view: current ticket and the queue it serves, in calling order."""
    access.principal()
    access.view_hall(config.counter_hall(rt(), counter_id))
    return queue.counter_state(rt(), counter_id)


# Counter actions authenticate and check their caller inside their own transaction (checks_caller).

@api.route("/counters/<int:counter_id>/open", "POST", tag="counter actions", access="the hall's counter staff",
           body=OpenCounterBody, checks_caller=True, returns=R.CounterBrief)
def open_counter(counter_id: int, body: OpenCounterBody):
    """Open the counter with the caller at it."""
    return queue.open_counter(rt(), counter_id, None, body.service_ids, caller=access.credential())


@api.route("/counters/<int:counter_id>/close", "POST", tag="counter actions", access="the hall's counter staff",
           checks_caller=True, returns=R.CounterBrief)
def close_counter(counter_id: int):
    """Close the counter (refused while a customer is at it)."""
    return queue.close_counter(rt(), counter_id, caller=access.credential())


@api.route("/counters/<int:counter_id>/pause", "POST", tag="counter actions", access="the hall's counter staff",
           body=PauseBody, checks_caller=True, returns=R.CounterBrief)
def pause_counter(counter_id: int, body: PauseBody):
    """Stop calling at an open counter for a while, with a reason (break 小休, training 业务学习, system
    系统故障); refused with a customer at it (409). The display and the manager's page show it paused;
    the reports count the time as paused."""
    return queue.pause_counter(rt(), counter_id, body.reason.value, caller=access.credential())


@api.route("/counters/<int:counter_id>/resume", "POST", tag="counter actions", access="the hall's counter staff",
           checks_caller=True, returns=R.CounterBrief)
def resume_counter(counter_id: int):
    """Call again at a paused counter."""
    return queue.resume_counter(rt(), counter_id, caller=access.credential())


@api.route("/counters/<int:counter_id>/take-over", "POST", tag="counter actions", access="the hall's counter staff",
           checks_caller=True, returns=R.CounterBrief)
def take_over_counter(counter_id: int):
    """Take over an open counter a colleague holds: from now the caller works at it (the customer at it
    stays); audited, and the colleague's console is told. Every other action at a counter held by
    someone else answers 409 `counter_held`, naming the holder."""
    return queue.take_over_counter(rt(), counter_id, caller=access.credential())


@api.route("/counters/<int:counter_id>/call-next", "POST", tag="counter actions", access="the hall's counter staff",
           checks_caller=True, returns=R.CounterAction)
def call_next(counter_id: int):
    """Call the next customer by the hall's calling rule; `ticket` is null when nobody waits."""
    return queue.call_next(rt(), counter_id, caller=access.credential())


@api.route("/counters/<int:counter_id>/call-ticket", "POST", tag="counter actions",
           access="the hall's counter staff", body=CallTicketBody, checks_caller=True, returns=R.CounterAction)
def call_ticket(counter_id: int, body: CallTicketBody):
    """Call one waiting ticket by its number, out of turn (指定叫号).

    For a customer who stepped out and came back, or a ticket the manager points to: today's
    ticket of this hall, still waiting, for a service this counter serves or sent to it. It is
    kept in the ticket's history as called out of turn (`out_of_turn` in its call event).
    """
    return queue.call_ticket(rt(), counter_id, body.label, caller=access.credential())


@api.route("/counters/<int:counter_id>/recall", "POST", tag="counter actions", access="the hall's counter staff",
           body=CounterActionBody, checks_caller=True, returns=R.CounterAction)
def recall(counter_id: int, body: CounterActionBody):
    """Announce the called ticket again."""
    return queue.recall(rt(), counter_id, ticket_id=body.ticket_id, caller=access.credential())


@api.route("/counters/<int:counter_id>/start", "POST", tag="counter actions", access="the hall's counter staff",
           body=CounterActionBody, checks_caller=True, returns=R.CounterAction)
def start_service(counter_id: int, body: CounterActionBody):
    """The customer is at the counter: service starts."""
    return queue.start_service(rt(), counter_id, ticket_id=body.ticket_id, caller=access.credential())


@api.route("/counters/<int:counter_id>/finish", "POST", tag="counter actions", access="the hall's counter staff",
           body=CounterActionBody, checks_caller=True, returns=R.CounterAction)
def finish_service(counter_id: int, body: CounterActionBody):
    """Service finished; the counter is free."""
    return queue.finish_service(rt(), counter_id, ticket_id=body.ticket_id, caller=access.credential())


@api.route("/counters/<int:counter_id>/no-show", "POST", tag="counter actions", access="the hall's counter staff",
           body=CounterActionBody, checks_caller=True, returns=R.CounterAction)
def no_show(counter_id: int, body: CounterActionBody):
    """The called customer did not come (after the hall's minimum recalls)."""
    return queue.mark_no_show(rt(), counter_id, ticket_id=body.ticket_id, caller=access.credential())


@api.route("/counters/<int:counter_id>/transfer", "POST", tag="counter actions", access="the hall's counter staff",
           body=TransferBody, checks_caller=True, returns=R.CounterAction)
def transfer(counter_id: int, body: TransferBody):
    """Send the customer to another service (optionally one counter); they keep their place in time."""
    return queue.transfer(rt(), counter_id, body.to_service_id, body.to_counter_id, ticket_id=body.ticket_id,
                          note=body.note, caller=access.credential())


# --------------------------------------------------------------------------- footfall

@api.route("/halls/<int:hall_id>/sensors", "GET", tag="footfall", access="administrator, head office, the hall's manager",
           returns=R.Sensors)
def list_sensors(hall_id: int):
    """Door counters (cameras, infrared beams) of a hall, with when each last reported."""
    access.read_config(hall_id)
    return {"sensors": footfall.list_sensors(rt(), hall_id)}


@api.route("/halls/<int:hall_id>/sensors", "POST", tag="footfall", access="administrator", body=SensorBody,
           status=201, returns=R.Sensor)
def register_sensor(hall_id: int, body: SensorBody):
    """Register a door counter and the sensor device (its edge agent) that reports for it.

    Counting convention: a sensor's `in` is people crossing its line from the
    negative to the positive side. Set `reversed` when that is people leaving.
    """
    access.configure()
    return footfall.register_sensor(rt(), hall_id, body.model_dump())


@api.route("/sensors/<int:sensor_id>", "PATCH", tag="footfall", access="administrator", body=SensorPatch,
           returns=R.Sensor)
def update_sensor(sensor_id: int, body: SensorPatch):
    """Change a door counter; `active: false` retires it (its counts are kept)."""
    access.configure()
    return footfall.update_sensor(rt(), sensor_id, _patch(body))


@api.route("/footfall/counts", "POST", tag="footfall", access="sensor devices, for their own sensors",
           body=FootfallBatchBody, returns=R.CountsTaken)
def report_counts(body: FootfallBatchBody):
    """Report door counts per sensor and minute, in a batch.

    `{"counts": [{"sensor": "door1-cam", "minute": "2026-11-22T09:15:00+08:00", "in": 3, "out": 1}]}`.
    Idempotent: the latest report of a (sensor, minute) is kept, so the minute in
    progress may be sent again as it grows, and a retried batch changes nothing.
    Any bad entry rejects the whole batch (422 naming `counts[i].field`).
    The answer counts minutes `stored` (new), `replaced` and `unchanged`.
    """
    p = access.report_counts()
    counts = [MinuteCount(c.sensor, c.minute, c.in_, c.out) for c in body.counts]
    return footfall.ingest(rt(), p.id, p.hall_id, counts)


# --------------------------------------------------------------------------- forecast and warnings

@api.route("/halls/<int:hall_id>/forecast", "GET", tag="forecast",
           access="administrator, head office, the hall's manager", query=DayQuery, returns=R.Forecast)
def hall_forecast(hall_id: int, query: DayQuery):
    """A day's arrival forecast per interval (mean, p10, p50, p90; whole hall and per service),
    actual arrivals so far, counters needed (to serve the upper forecast within target) and the
    counter plan. Query: `date` (YYYY-MM-DD, the hall's local day; default today)."""
    access.read_config(hall_id)
    return planning.hall_forecast(rt(), hall_id, query.date)


@api.route("/halls/<int:hall_id>/forecast", "POST", tag="forecast", access="administrator, the hall's manager",
           returns=R.ForecastMade)
def make_forecast(hall_id: int):
    """Forecast today and tomorrow and plan counters now, as the nightly job does (takes a few seconds)."""
    access.manage_hall(hall_id)
    summary = planning.forecast_hall(rt(), hall_id, source="manual")
    peaks.check_forecast(rt(), hall_id)
    return summary


@api.route("/halls/<int:hall_id>/warnings", "GET", tag="forecast",
           access="administrator, head office, the hall's manager", query=WarningsQuery, returns=R.Warnings)
def hall_warnings(hall_id: int, query: WarningsQuery):
    """The hall's peak warnings: standing ones (default) or, with `all=1`, the latest 100 of any state."""
    access.read_config(hall_id)
    return {"warnings": peaks.list_warnings(rt(), hall_id, standing_only=not query.all)}


@api.route("/warnings/<int:warning_id>/acknowledge", "POST", tag="forecast",
           access="administrator, the hall's manager", returns=R.Warning)
def acknowledge_warning(warning_id: int):
    """The manager has seen the warning. It stands until its condition clears; 409 if already acknowledged."""
    p = access.manage_hall(peaks.warning_hall(rt(), warning_id))
    return peaks.acknowledge(rt(), warning_id, access.staff_id_of(p))


@api.route("/overview", "GET", tag="forecast", access="administrator, head office", returns=R.HallsOverview)
def halls_overview():
    """Every active hall: people waiting, open counters, standing warnings (head office's table)."""
    p = access.read_config()
    return {"halls": peaks.halls_overview(rt(), access.hall_scope(p))}


@api.route("/halls/<int:hall_id>/footfall", "GET", tag="footfall",
           access="administrator, head office, the hall's manager", query=FootfallQuery, returns=R.FootfallDay)
def hall_footfall(hall_id: int, query: FootfallQuery):
    """A day's door counts: in, out, people inside, per-interval series, each sensor's health.

    Query: `date` (YYYY-MM-DD, the hall's local day; default today), `interval`
    (minutes per step of the series: 5, 10, 15, 30 or 60; default 15).
    """
    access.read_config(hall_id)
    return footfall.hall_day(rt(), hall_id, query.date, int(query.interval))


@api.route("/halls/<int:hall_id>/footfall/hourly", "GET", tag="footfall",
           access="administrator, head office, the hall's manager", query=HourlyFootfallQuery,
           returns=R.FootfallHours, files=("csv",))
def hall_footfall_hourly(hall_id: int, query: HourlyFootfallQuery):
    """Hourly door counts between two local days (`from`, `to`, at most 366 days; `format=csv` for Excel)."""
    access.read_config(hall_id)
    start, end = query.from_, query.to
    if start is None or end is None:
        raise Invalid("give from and to as YYYY-MM-DD", field="from" if start is None else "to")
    if end < start or (end - start).days > 366:
        raise Invalid("to must be on or after from, at most 366 days later", field="to")
    rows = footfall.hourly(rt(), hall_id, start, end)
    if query.format == "csv":
        return Response(footfall.hourly_csv(rows), mimetype="text/csv", headers={
            "Content-Disposition": f"attachment; filename=footfall-{hall_id}-{start}-{end}.csv"})
    return {"hours": rows}


# --------------------------------------------------------------------------- satisfaction surveys

@api.route("/halls/<int:hall_id>/surveys", "GET", tag="surveys",
           access="administrator, head office, the hall's manager", query=SurveysQuery, returns=R.Surveys)
def hall_surveys(hall_id: int, query: SurveysQuery):
    """The hall's SMS surveys, latest first, a page at a time: state, score, comment; numbers masked.

    `limit` rows (default 100, at most 500); `next_before` in the answer, passed as `before`,
    gives the next page (null: the last). `since` / `until` bound the service's finish time,
    `state` filters (`scheduled`, `sending`, `sent`, `failed`, `skipped`).
    """
    access.read_config(hall_id)
    return surveys.list_surveys(rt(), hall_id, query.limit, query.before, query.since, query.until, query.state)


@api.route("/surveys/<int:survey_id>", "GET", tag="surveys", access="administrator, head office, the hall's manager",
           returns=R.SurveyView)
def get_survey(survey_id: int):
    """One survey: its state, sending attempts, delivery, score and comment; the number masked."""
    access.read_config(surveys.survey_hall(rt(), survey_id))
    return surveys.get_survey(rt(), survey_id)


@api.route("/halls/<int:hall_id>/survey-replies", "GET", tag="surveys",
           access="administrator, head office, the hall's manager", query=RepliesQuery, returns=R.Replies)
def hall_survey_replies(hall_id: int, query: RepliesQuery):
    """Every reply kept for the hall, latest first; `outcome` filters (`unmatched`, `late`, `duplicate`,
    `counted`, `comment`, `opt_out`, `empty`). Late and unmatched replies are kept and shown, never dropped."""
    access.read_config(hall_id)
    return surveys.list_replies(rt(), hall_id, query.outcome, query.limit, query.before, query.since, query.until)


@api.route("/survey-replies", "GET", tag="surveys", access="administrator, head office", query=RepliesQuery,
           returns=R.Replies)
def unplaced_survey_replies(query: RepliesQuery):
    """Replies that reached no hall, latest first: from numbers no survey was sent to (or whose
    surveys are gone). Kept and shown, never dropped; `outcome` filters as for a hall's replies."""
    access.read_config()
    return surveys.list_replies(rt(), None, query.outcome, query.limit, query.before, query.since, query.until)


@api.route("/follow-ups", "GET", tag="surveys",
           access="administrator, head office: all halls; a hall manager: their hall", query=FollowUpsQuery,
           returns=R.FollowUps)
def list_follow_ups(query: FollowUpsQuery):
    """Follow-up cases of low ratings and complaints, the most urgent first.

    Query: `state` (`open`, the default, with overdue ones; `overdue`: no first response by the
    deadline; `closed`; `all`), `hall_id` (one hall).
    """
    p = access.handle_follow_up()
    scope = access.hall_scope(p)
    if query.hall_id is not None:
        access.handle_follow_up(query.hall_id)
        scope = {query.hall_id}
    return {"follow_ups": surveys.list_follow_ups(rt(), scope, query.state or "open")}


@api.route("/follow-ups/<int:follow_up_id>/respond", "POST", tag="surveys",
           access="administrator, head office, the hall's manager", returns=R.FollowUp)
def respond_follow_up(follow_up_id: int):
    """The customer has had a first response (a call, a visit); 409 if already recorded or closed."""
    p = access.handle_follow_up(surveys.case_hall(rt(), follow_up_id))
    return surveys.respond(rt(), follow_up_id, access.staff_id_of(p))


@api.route("/follow-ups/<int:follow_up_id>/close", "POST", tag="surveys",
           access="administrator, head office, the hall's manager", body=CloseFollowUpBody, returns=R.FollowUp)
def close_follow_up(follow_up_id: int, body: CloseFollowUpBody):
    """Close a case, saying what was done (`resolution`, required); 409 if already closed."""
    p = access.handle_follow_up(surveys.case_hall(rt(), follow_up_id))
    return surveys.close(rt(), follow_up_id, access.staff_id_of(p), body.resolution)


@api.route("/sms/outbox", "GET", tag="surveys", access="administrator: all; a hall manager: their hall's",
           query=OutboxQuery, returns=R.Outbox)
def sms_outbox(query: OutboxQuery):
    """Messages the outbox gateway (the embedded default, SMS_GATEWAY=outbox) "sent", latest first,
    numbers masked, a page at a time (`limit`, `before` = the last page's `next_before`, `since`, `until`)."""
    p = access.use_outbox()
    return surveys.list_outbox(rt(), access.hall_scope(p), query.limit, query.before, query.since, query.until)


@api.route("/sms/outbox/reply", "POST", tag="surveys", access="administrator, the message's hall's manager",
           body=OutboxReplyBody, returns=R.Reply)
def sms_outbox_reply(body: OutboxReplyBody):
    """Answer an outbox message as its customer would (`to`: the message's id); handled exactly like
    a reply through a real gateway. The answer is the reply kept, with its `outcome`."""
    access.principal()
    access.use_outbox(surveys.outbox_hall(rt(), body.to) or 0)
    return surveys.reply_from_outbox(rt(), body.to, body.text)


# --------------------------------------------------------------------------- satisfaction reports

def _report_period(query: PeriodQuery, zone: str):
    return satisfaction.parse_period(query.period, query.date, rt().now(), zone)


def _report(query: PeriodQuery, report: dict, table, name: str):
    """JSON, or the report as a file when ``format`` is csv or xlsx."""
    fmt = query.format or "json"
    if fmt == "json":
        return report
    return reports_api.file_response(fmt, f"{name}-{report['period']['first_day']}", table(report))


@api.route("/satisfaction/halls", "GET", tag="reports", access="administrator, head office", query=PeriodQuery,
           returns=R.SatisfactionOverview, files=("csv", "xlsx"))
def satisfaction_overview(query: PeriodQuery):
    """Every hall's satisfaction for a period, rolled up by city and region and ranked at each level.

    Query: `period` (`day`, `week`, `month`: the default), `date` (any day in it; default today in
    Shanghai), `format` (`json`, `csv`, `xlsx`). Per hall: ratings, satisfied, satisfaction rate,
    average score and score index (0-100, comparable across scales), surveys sent, response rate.
    """
    p = access.read_config()
    period = _report_period(query, satisfaction.HEAD_OFFICE_ZONE)
    return _report(query, access.own_region(p, satisfaction.head_office_report(rt(), period)),
                   report_tables.head_office_table, "satisfaction")


@api.route("/satisfaction/wait-bands", "GET", tag="reports", access="administrator, head office",
           query=WaitBandsQuery, returns=R.WaitBands, files=("csv", "xlsx"))
def satisfaction_wait_bands(query: WaitBandsQuery):
    """Satisfaction by waiting-time band (0-5, 5-10, 10-20, 20-30, 30+ minutes) across every hall.

    Query: `period`, `date`, `format` as for `/satisfaction/halls`; `hall_id` for one hall.
    """
    p = access.read_config(query.hall_id)
    report = satisfaction.wait_band_report(rt(), _report_period(query, satisfaction.HEAD_OFFICE_ZONE),
                                           {query.hall_id} if query.hall_id else access.hall_scope(p))
    return _report(query, report, report_tables.wait_band_table, "wait-bands")


@api.route("/halls/<int:hall_id>/satisfaction", "GET", tag="reports",
           access="administrator, head office, the hall's manager", query=HallSatisfactionQuery,
           returns=R.HallSatisfaction, files=("csv", "xlsx"))
def hall_satisfaction(hall_id: int, query: HallSatisfactionQuery):
    """One hall's satisfaction for a period, by staff member (a ranking: the default), counter, service,
    day or waiting-time band.

    Query: `by` (`staff`, `counter`, `service`, `day`, `wait_band`), `period`, `date` (default: today
    in the hall's time zone), `min_ratings` (fewer ratings: not ranked), `staff_id` (one staff member's
    ratings, by counter, service, day or wait band), `format` (`json`, `csv`, `xlsx`).
    """
    access.read_config(hall_id)
    zone = config.get_hall(rt(), hall_id)["timezone"]
    report = satisfaction.hall_report(rt(), hall_id, _report_period(query, zone),
                                      query.by or ("day" if query.staff_id else "staff"),
                                      query.min_ratings or 1, query.staff_id)
    return _report(query, report, report_tables.hall_table, f"hall-{hall_id}-satisfaction")


def _report_files_reader(hall_id: int | None = None):
    """Head office and administrators: every file; a hall manager: their own hall's (``hall_id``
    ``None``: the caller's scope); anyone else: 403."""
    p = access.principal()
    return access.read_config(p.hall_id if hall_id is None else hall_id)


@api.route("/satisfaction/report-files", "GET", tag="reports",
           access="administrator, head office: all files; a hall manager: their hall's", query=ReportFilesQuery,
           returns=R.ReportFiles)
def list_report_files(query: ReportFilesQuery):
    """The daily and monthly satisfaction reports the scheduler made (Excel), latest period first.

    Made each morning for the day before (and on the 1st for the month before) by the
    `satisfaction_reports` job. Per file: `id`, `kind` (`head_office_day`, `head_office_month`,
    `hall_day`, `hall_month`), hall, period, `file_name`, `size`, `made_at`. Query: `kind` (one kind).
    """
    p = _report_files_reader()
    return {"report_files": report_files.list_reports(rt(), access.hall_scope(p), query.kind)}


@api.route("/satisfaction/report-files/<int:report_file_id>/download", "GET", tag="reports",
           access="administrator, head office; the file's hall's manager", files=("xlsx",))
def download_report_file(report_file_id: int):
    """One stored report as its Excel file (`Content-Disposition` with the Chinese name as RFC 5987
    `filename*` and an ASCII `filename`); 403 for another hall's (or a head-office) file."""
    _report_files_reader()
    about = report_files.report_file(rt(), report_file_id, with_content=False)
    if about["hall_id"] is None:  # a head-office file (every hall's lines): the company's head office only
        if access.hall_scope(access.read_config()) is not None:
            raise Forbidden("a region's head office reads its halls' files, not the company's", field="report_file_id")
    else:
        _report_files_reader(about["hall_id"])
    found = report_files.report_file(rt(), report_file_id)
    return Response(found["content"], mimetype=report_tables.XLSX_MIMETYPE,
                    headers={"Content-Disposition": reports_api.attachment(found["file_name"], found["ascii_name"])})


# --------------------------------------------------------------------------- the audit trail

@api.route("/audit", "GET", tag="audit", access="administrator, head office: every entry; a hall manager: their hall's",
           query=AuditQuery, returns=R.AuditTrail)
def audit_trail(query: AuditQuery):
    """Configuration changes, latest first: who (`actor`), when (`at`), what (`entity`, `entity_id`,
    `action`: create or update, `changed`: the fields), `before` and `after`. Passwords and PINs appear
    as changed, never by value. Entries cannot be changed or deleted.

    Query: `entity` (region, city, hall, service, counter, staff, device, sensor), `entity_id`,
    `hall_id`, `actor_id` (a staff member), `since`, `until` (ISO times with an offset),
    `before_id` (the next page: the response's `next_before_id`), `limit` (at most 200).
    """
    p = access.read_config(access.principal().hall_id)
    scope = access.hall_scope(p)
    return audit.list_entries(rt(), scope, query.entity, query.entity_id, query.hall_id, query.actor_id,
                              query.since, query.until, query.before_id, query.limit or audit.PAGE)


# --------------------------------------------------------------------------- service-level reports

@api.route("/service-levels/halls", "GET", tag="reports", access="administrator, head office", query=PeriodQuery,
           returns=R.ServiceLevelOverview, files=("csv", "xlsx"))
def service_levels_overview(query: PeriodQuery):
    """Every hall's service levels for a period, rolled up by city and region and ranked at each level.

    Per line: tickets taken (`arrivals`), served, average, median and P90 wait (`wait_*_s`, the
    customer's whole wait, across transfers), the share called within the service's target wait
    (`within_target_rate`), the busy hour's average wait, handle time (average, P90), no-show and
    cancellation rates, transfers, and the channel mix: `channels` (tickets taken at a `kiosk`, by
    `staff`, by the `system`, `remote` on the phone, by `appointment`) and `remote_appointment_share`
    (the share taken before coming). Query: `period` (`day`, `week`, `month`: the default), `date`,
    `format` (`json`, `csv`, `xlsx`). Figures lag the queue by at most 15 minutes (the scheduler's roll-up).
    """
    p = access.read_config()
    period = _report_period(query, satisfaction.HEAD_OFFICE_ZONE)
    return _report(query, access.own_region(p, service_levels.head_office_report(rt(), period)),
                   report_tables.kpi_head_office_table, "service-levels")


@api.route("/halls/<int:hall_id>/service-levels", "GET", tag="reports",
           access="administrator, head office, the hall's manager", query=HallServiceLevelsQuery,
           returns=R.HallServiceLevels, files=("csv", "xlsx"))
def hall_service_levels(hall_id: int, query: HallServiceLevelsQuery):
    """One hall's service levels for a period, by `counter` (the default), `staff`, `service`, `tier`,
    `channel` (how the ticket was taken: `kiosk`, `staff`, `system`, `remote`, `appointment`; a remote
    ticket waits from its check-in), `hour` (of day, local), `weekday` or `day`; counters, staff and
    services ranked (share within target, then the shorter wait). Query: `by`, `period`, `date`
    (default: today in the hall's zone), `format`. Each line also carries `previous`: the same
    figures for the period before. `appointments`: the appointments booked for the period's days,
    checked in on time (by the slot's start plus the hall's grace minutes) or late, no-shows,
    cancelled and still booked."""
    access.read_config(hall_id)
    zone = config.get_hall(rt(), hall_id)["timezone"]
    report = service_levels.hall_report(rt(), hall_id, _report_period(query, zone), query.by or "counter")
    return _report(query, report, report_tables.kpi_hall_table, f"hall-{hall_id}-service-levels")


@api.route("/halls/<int:hall_id>/service-levels/heatmap", "GET", tag="reports",
           access="administrator, head office, the hall's manager", query=PeriodQuery, returns=R.Heatmap)
def hall_service_levels_heatmap(hall_id: int, query: PeriodQuery):
    """Average wait and tickets per day for each weekday and local hour of the period (`period`, `date`)."""
    access.read_config(hall_id)
    zone = config.get_hall(rt(), hall_id)["timezone"]
    return service_levels.heatmap(rt(), hall_id, _report_period(query, zone))


@api.route("/halls/<int:hall_id>/service-levels/tickets", "GET", tag="reports",
           access="administrator, head office, the hall's manager", query=TicketsQuery,
           returns=R.TicketList, files=("csv", "xlsx"))
def hall_service_level_tickets(hall_id: int, query: TicketsQuery):
    """The tickets behind a figure, each with its wait, handle time, outcome and who served it last.

    Query: `period`, `date`, and any of `hour`, `weekday` (0 = Monday), `counter_id`, `staff_id`
    (0: none), `service_id` (the service taken), `tier`, `channel` (`kiosk`, `staff`, `system`,
    `remote`, `appointment`), `outcome` (`served`, `no_show`, `cancelled`, `expired`, `open`);
    `format` (`json`, `csv`, `xlsx`). At most 2,000 tickets (`matched` and `truncated` say how many
    there were). Each ticket carries its `channel`.
    """
    access.read_config(hall_id)
    zone = config.get_hall(rt(), hall_id)["timezone"]
    filters = query.model_dump(mode="json", include=set(service_levels.TICKET_FILTERS))
    listing = service_levels.ticket_list(rt(), hall_id, _report_period(query, zone), filters)
    fmt = query.format or "json"
    if fmt == "json":
        return listing
    listing["title_zh"] = listing["title_en"] = listing["period"]["first_day"]
    return reports_api.file_response(fmt, f"hall-{hall_id}-tickets-{listing['period']['first_day']}",
                                     report_tables.kpi_tickets_table(listing))


# --------------------------------------------------------------------------- the document itself

@bp.get("/openapi.json")
def openapi():
    """This API's OpenAPI 3.1 document, generated from the routes above."""
    return jsonify(document())


def document() -> dict:
    return openapi_document(
        api, PREFIX, "营业厅排队与满意度系统 Hall queue API", "1.0",
        "Queue core of the retail-hall queue and satisfaction system. Errors share one shape: "
        "`{\"error\": {\"status\", \"code\", \"message\", \"field\"}}`.",
    )
