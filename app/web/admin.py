"""Administration pages (管理后台): the organisation tree, a hall's settings, services, counters,
staff, devices, VIP roster and green channel, calling rules, and bulk import / export.

Server-rendered forms, each carrying its CSRF token (Flask-WTF). What a form says is checked by the
API's own request schemas (``web.schemas``) and then by the same use cases the API calls
(``services.config`` and friends), so a page and the API refuse the same things; a refusal is shown
next to the field it names. Every change lands in the audit trail as the signed-in person's.

Who sees what (the rules are ``web.access``'s):

- an administrator: everything, and changes everything;
- head office: every hall, read-only;
- a hall manager: their own hall only; changes its VIP roster and its counter staff (never a
  role); the rest read-only;
- counter staff: nothing here.

Nothing that history refers to is deleted: halls, services, counters, staff, devices and roster
entries are deactivated (with a confirmation), and stay in reports.
"""
from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError

from ..domain import imports as import_rules
from ..domain import media as media_rules
from ..domain.calling import CallingPolicy, preview
from ..domain import policy
from ..domain.errors import DomainError, Forbidden, Invalid, NotFound
from ..domain.hours import WEEKDAYS, OpeningHours, business_day, parse_zone
from ..domain.kiosks import IDLE_S_MAX, IDLE_S_MIN, KioskSettings
from ..domain.model import Role, Tier
from ..domain.roster import GreenChannel, STAR_FROM, VIP_FROM
from ..i18n import current_language
from ..services import (auth, config, footfall, hall_media, import_files, imports, pairing, roster,
                        service_levels)
from . import access, refusals
from .schemas import (CallingPolicyBody, CityBody, CounterBody, CounterPatch, GreenChannelBody, HallBody,
                      HallPatch, KioskBody, PairBody, RegionBody, ServiceBody, ServicePatch, StaffBody, StaffPatch,
                      MediaPatch, VipMemberBody, VipMemberPatch)

bp = access.signed_in_only(Blueprint("admin", __name__, url_prefix="/admin"))

SECTIONS = ("settings", "services", "counters", "staff", "devices", "vip", "calling")
IMPORT_KINDS = ("staff", "counters", "vip")
HALL_ROLES = (Role.COUNTER_STAFF, Role.HALL_MANAGER)


class Refused(Exception):
    """The page cannot be shown to this person (status, message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def rt():
    return current_app.extensions["hallq"]


@bp.before_request
def _who():
    """After the sign-in guard (``access.signed_in_only``): these pages at all, by the policy."""
    if not policy.may_use_manager_pages(access.principal()):
        return _refusal(403, _("These pages are for administrators, head office and hall managers."))
    return None


@bp.errorhandler(Refused)
def _refused(exc: Refused):
    return _refusal(exc.status, exc.message)


@bp.errorhandler(Forbidden)
def _forbidden(exc: Forbidden):
    return _refusal(403, _("You may not change this."))


def _refusal(status: int, message: str):
    return render_template("admin/refused.html", who=g.get("principal"), refused=message, lang=current_language()), status


# --------------------------------------------------------------------------- who may do what here

def _can_configure() -> bool:
    return policy.may_configure(g.principal)


def _hall_or_refuse(hall_id: int) -> dict:
    """The hall, if the signed-in person may see its administration pages."""
    who = g.principal
    if not policy.may_read_config(who, hall_id, access.region_halls):
        raise Refused(403, _("You may only see your own region's halls.") if access.region_of(who) is not None
                      else _("You may only see your own hall."))
    try:
        return config.get_hall(rt(), hall_id)
    except NotFound:
        raise Refused(404, _("There is no such hall.")) from None


def _configure():
    if not _can_configure():
        raise Refused(403, _("Only an administrator changes this."))


def _may_manage_roster(hall_id: int) -> bool:
    return policy.may_manage_hall(g.principal, hall_id)


# --------------------------------------------------------------------------- forms

def form_errors(exc: Exception) -> dict[str, str]:
    """Field → message, from a schema's refusal or a use case's (which names its field)."""
    if isinstance(exc, ValidationError):
        out = {}
        for err in exc.errors():
            loc = list(err["loc"])
            loc = loc[:next((i for i, x in enumerate(loc) if isinstance(x, int)), len(loc))]  # closures.1.date → closures
            field = ".".join(str(x) for x in loc) or "form"
            out.setdefault(field, _field_message(err, field))
        return out
    field = re.sub(r"\[\d+\].*$", "", getattr(exc, "field", None) or "form")  # opening_hours.mon[0] → .mon
    return {field: _domain_message(exc)}


# durations the forms ask for in minutes, while the API (and its limits) count seconds
_IN_MINUTES = ("target_wait_s", "handle_time_s", "head_start_s")


def _field_message(err: dict, field: str = "") -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if field.split(".")[0] in _IN_MINUTES and kind in ("greater_than_equal", "greater_than",
                                                         "less_than_equal", "less_than"):
        bound = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
        minutes = f"{bound / 60:g}" if isinstance(bound, (int, float)) else bound
        if kind.startswith("greater"):
            return _("At least %(n)s minutes", n=minutes)
        return _("At most %(n)s minutes", n=minutes)
    if kind == "missing":
        return _("Required")
    if kind == "string_too_short":
        return _("Required") if ctx.get("min_length") == 1 else _("At least %(n)s characters", n=ctx.get("min_length"))
    if kind == "string_too_long":
        return _("At most %(n)s characters", n=ctx.get("max_length"))
    if kind == "string_pattern_mismatch":
        return _("Not in the expected form")
    if kind in ("int_parsing", "int_type", "float_parsing"):
        return _("A number, please")
    if kind in ("greater_than_equal", "greater_than"):
        return _("At least %(n)s", n=ctx.get("ge", ctx.get("gt")))
    if kind in ("less_than_equal", "less_than"):
        return _("At most %(n)s", n=ctx.get("le", ctx.get("lt")))
    if kind.startswith("date"):
        return _("A date, YYYY-MM-DD")
    if kind == "enum" or kind == "literal_error":
        return _("Pick one of the choices")
    return err.get("msg", _("Not valid"))


def _domain_message(exc: Exception) -> str:
    """A use case's refusal in the page's language, by its stable code (``web.refusals``): the
    English sentence is for the API's integrators and never reaches a page."""
    if isinstance(exc, DomainError):
        return refusals.text_of(exc.code, exc.status, exc.detail)
    return refusals.text_of(None, 422)


def _text(name: str) -> str:
    return (request.form.get(name) or "").strip()


def _optional_int(name: str):
    value = _text(name)
    return int(value) if value.lstrip("-").isdigit() else (value or None)


def _checked(name: str) -> bool:
    return request.form.get(name) in ("on", "1", "true", "yes")


def _check(schema: type[BaseModel], data: dict) -> dict:
    """The form's data as the API's schema has it (raises ValidationError naming fields)."""
    return schema.model_validate(data).model_dump(mode="json", exclude_unset=True)


def _minutes_to_s(name: str):
    value = _text(name)
    try:
        return round(float(value) * 60) if value else None
    except ValueError:
        return value


def hours_from_form(form) -> tuple[dict, dict]:
    """Opening hours from one text box per weekday ("08:30-12:00, 13:30-18:00"; blank: closed);
    every bad day gets its own message, not only the first."""
    hours, errors = {}, {}
    for day in WEEKDAYS:
        text = (form.get(f"hours_{day}") or "").replace("，", ",").replace("–", "-").replace("—", "-")
        spans = []
        for part in [p.strip() for p in text.split(",") if p.strip()]:
            pieces = [x.strip() for x in part.split("-")]
            if len(pieces) != 2:
                errors[f"opening_hours.{day}"] = _("Write spans as 08:30-18:00, separated by commas")
                break
            spans.append(pieces)
        if spans:
            hours[day] = spans
            if f"opening_hours.{day}" not in errors:
                try:
                    OpeningHours.parse({day: spans})
                except Invalid as exc:
                    errors[f"opening_hours.{day}"] = _domain_message(exc)
    return hours, errors


def hours_text(hours: dict) -> dict[str, str]:
    return {day: ", ".join(f"{a}-{b}" for a, b in hours.get(day, [])) for day in WEEKDAYS}


def closures_from_form(text: str) -> list[dict]:
    """One closure per line: a date, then an optional note ("2026-10-01 国庆节")."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            day, _sep, note = line.partition(" ")
            out.append({"date": day.strip(), "note": note.strip()})
    return out


def closures_text(closures: list[dict]) -> str:
    return "\n".join(f"{c['date']} {c['note']}".strip() for c in closures)


def _name(item: dict) -> str:
    en = current_language() == "en"
    return (item.get("name_en") if en and item.get("name_en") else item.get("name_zh")) or ""


WEEKDAY_NAMES = {"mon": ("周一", "Mon"), "tue": ("周二", "Tue"), "wed": ("周三", "Wed"), "thu": ("周四", "Thu"),
                 "fri": ("周五", "Fri"), "sat": ("周六", "Sat"), "sun": ("周日", "Sun")}


@bp.context_processor
def _helpers():
    en = current_language() == "en"
    return {"options": lambda items: [(x["id"], f"{_name(x)} ({x['code']})") for x in items],
            "zone_options": [(z, z) for z in ZONES],
            "weekday_name": lambda day: WEEKDAY_NAMES[day][1 if en else 0],
            "role_name": lambda role: _role_name(role, en),
            "counter_options": lambda items: [(c["id"], f"{c['number']} {c['name']}".strip()) for c in items
                                              if c["active"]],
            "local": _local_time,
            "star_options": [(n, ("★" * n) + (f" {n} 星" if not en else f" {n} stars")) for n in range(7, 0, -1)],
            "region_label": lambda region_id, regions: next(
                (f"{_name(r)} ({r['code']})" for r in regions or [] if r["id"] == region_id),
                _("the whole company") if region_id is None else str(region_id)),
            "role_options": lambda roles: [(r.value, _role_name(r, en)) for r in roles]}


def _local_time(iso: str | None, hall: dict, seconds: bool = True) -> str:
    """A stored UTC time as the hall's people read it: its own clock."""
    if not iso:
        return "—"
    local = datetime.fromisoformat(iso).astimezone(parse_zone(hall["timezone"]))
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _role_name(role, en: bool) -> str:
    key = getattr(role, "value", role)
    return ROLE_NAMES.get(key, (key, key))[1 if en else 0]


def _import_reasons() -> dict:
    """Why a row of an import is refused, by the problem's code (domain.imports), in the page's language."""
    return {
        "too_long": lambda p: _("At most %(n)s characters", n=p.get("limit")),
        "bad_username": lambda p: _("2 to 64 letters, digits, _ . or -"),
        "bad_email": lambda p: _("Not an email address"),
        "bad_password": lambda p: _("8 to 200 characters"),
        "bad_role": lambda p: _("营业员 (counter staff) or 厅经理 (hall manager)"),
        "role_not_for_hall": lambda p: _("This role does not belong to one hall: the import takes 营业员 or 厅经理"),
        "bad_boolean": lambda p: _("是 or 否"),
        "bad_counter_number": lambda p: _("A whole number from 1 to 999"),
        "bad_display_mode": lambda p: _("完整 or 仅号码"),
        "mobile_scientific": lambda p: _("The number lost its digits (scientific notation): format the column as text and save again"),
        "bad_mobile": lambda p: _("An 11-digit mainland mobile number, please"),
        "bad_star_level": lambda p: _("A star level from 1 to 7"),
        "bad_date": lambda p: _("A date, YYYY-MM-DD"),
        "repeated_key": lambda p: _("Appears again: first on line %(n)s", n=p.get("first_line")),
        "required": lambda p: _("Required"),
        "required_for_new": lambda p: _("Required for a new row"),
        "not_hall_staff": lambda p: _("This username belongs to a head-office or administrator account"),
        "other_hall_staff": lambda p: _("This username belongs to staff of another hall"),
        "manager_by_admin_only": lambda p: _("A hall manager's account is changed by an administrator only"),
        "manager_imports_counter_staff_only": lambda p: _("A hall manager imports counter staff (营业员) only"),
        "unknown_services": lambda p: _("No active service %(prefixes)s in this hall", prefixes=p.get("prefixes")),
        "no_services": lambda p: _("Name at least one ticket prefix"),
    }


def _import_reason(problem: dict) -> str:
    said = _import_reasons().get(problem.get("code"))
    return said(problem.get("params") or {}) if said else problem.get("message", "")


def _import_cell(field: str, value, en: bool) -> str:
    """A value of the import's dry run as the file's reader wrote it: 是/否, role and display names,
    services as their prefixes; never ``True`` or ``counter_staff``."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if field == "role":
        return _role_name(value, en)
    if field == "display_mode":
        return {"full": _("Full"), "number": _("Number only")}.get(value, value)
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value)
    return str(value)


ROLE_NAMES = {"counter_staff": ("营业员", "Counter staff"), "hall_manager": ("营业厅经理", "Hall manager"),
              "head_office": ("总部", "Head office"), "admin": ("系统管理员", "Administrator")}


def _render(template: str, hall: dict | None = None, section: str | None = None, status: int = 200, **context):
    who = g.principal
    return render_template(template, who=who, hall=hall, section=section, name=_name,
                           can_configure=_can_configure(), lang=current_language(),
                           can_roster=hall is not None and _may_manage_roster(hall["id"]), **context), status


# --------------------------------------------------------------------------- the organisation tree

@bp.get("/")
def organisation():
    """Regions, their cities and halls; forms to add each (administrators)."""
    who = g.principal
    if who.hall_id is not None:  # a hall manager's administration is their hall's
        return redirect(url_for("admin.hall_settings", hall_id=who.hall_id))
    return _organisation_page()


def _organisation_page(errors: dict | None = None, form: dict | None = None, status: int = 200,
                       form_name: str | None = None):
    """``form``: what was sent with the form ``form_name`` (region, city, hall): shown again in
    that form only, beside its errors; the page's other forms start empty."""
    mine = access.region_of(g.principal)  # a region's head office: its region only
    regions = [r for r in config.list_regions(rt()) if mine is None or r["id"] == mine]
    cities = [c for c in config.list_cities(rt()) if mine is None or c["region_id"] == mine]
    halls = config.list_halls(rt(), access.hall_scope(g.principal))
    tree = [{**r, "cities": [{**c, "halls": [h for h in halls if h["city_id"] == c["id"]]}
                             for c in cities if c["region_id"] == r["id"]]} for r in regions]
    return _render("admin/organisation.html", tree=tree, cities=cities, regions=regions, errors=errors or {},
                   sent={form_name: form} if form_name and form else {}, status=status)


ZONES = ("Asia/Shanghai", "Asia/Urumqi", "Asia/Hong_Kong", "Asia/Macau")


@bp.post("/regions")
def add_region():
    return _add_place("region", RegionBody, config.create_region, lambda d: _("Region %(name)s added.", name=d),
                      {"code": _text("code"), "name_zh": _text("name_zh"), "name_en": _text("name_en")})


@bp.post("/cities")
def add_city():
    return _add_place("city", CityBody, config.create_city, lambda d: _("City %(name)s added.", name=d),
                      {"region_id": _optional_int("region_id"), "code": _text("code"), "name_zh": _text("name_zh"),
                       "name_en": _text("name_en")})


def _add_place(form_name: str, schema, create, said, fields: dict):
    """A region or a city from its form on the organisation page; a refusal beside its field there."""
    _configure()
    try:
        data = _check(schema, fields)
        create(rt(), data)
    except (ValidationError, DomainError) as exc:
        return _organisation_page({f"{form_name}.{k}": v for k, v in form_errors(exc).items()}, request.form, 400,
                                  form_name)
    flash(said(data["name_zh"]))
    return redirect(url_for("admin.organisation"))


@bp.post("/halls")
def add_hall():
    """A new hall: its place, names, time zone and weekday hours; the rest on its own page."""
    _configure()
    hours, errors = hours_from_form(request.form)
    if errors:  # every bad day at once
        return _organisation_page({f"hall.{k}": v for k, v in errors.items()}, request.form, 400, "hall")
    try:
        data = _check(HallBody, {"city_id": _optional_int("city_id"), "code": _text("code"),
                                 "name_zh": _text("name_zh"), "name_en": _text("name_en"),
                                 "address": _text("address"), "timezone": _text("timezone") or "Asia/Shanghai",
                                 "opening_hours": hours})
        hall = config.create_hall(rt(), data)
    except (ValidationError, DomainError) as exc:
        return _organisation_page({f"hall.{k}": v for k, v in form_errors(exc).items()}, request.form, 400, "hall")
    flash(_("Hall %(name)s created. Next: give it services and counters.", name=hall["name_zh"]))
    return redirect(url_for("admin.services", hall_id=hall["id"]))


# --------------------------------------------------------------------------- a hall's settings

@bp.route("/halls/<int:hall_id>", methods=["GET", "POST"])
def hall_settings(hall_id: int):
    """Names, address, time zone, weekday hours, holiday closures, remote tickets, appointments, active."""
    hall = _hall_or_refuse(hall_id)
    errors, form = {}, None
    if request.method == "POST":
        _configure()
        form = request.form
        hours, errors = hours_from_form(form)
        if not errors:
            try:
                changes = _check(HallPatch, {
                    "code": _text("code"), "name_zh": _text("name_zh"), "name_en": _text("name_en"),
                    "address": _text("address"), "timezone": _text("timezone"), "opening_hours": hours,
                    "closures": closures_from_form(form.get("closures", "")), "active": _checked("active"),
                    **({"remote_queue": {"enabled": _checked("remote_enabled"),
                                         "check_in_minutes": _optional_int("remote_check_in_minutes")
                                         or hall["remote_queue"]["check_in_minutes"]}}
                       if form.get("remote_form") else {}),
                    **({"booking": _booking_from_form(hall["booking"])} if form.get("booking_form") else {})})
                if not changes["active"] and hall["active"] and form.get("confirmed") != "yes":
                    raise Invalid(_("Confirm closing the hall for good"), field="active")
                config.update_hall(rt(), hall_id, changes)
            except (ValidationError, DomainError) as exc:
                errors = form_errors(exc)
        if not errors:
            flash(_("Saved."))
            return redirect(url_for("admin.hall_settings", hall_id=hall_id))
    return _render("admin/hall.html", hall, "settings", errors=errors, form=form,
                   weekdays=WEEKDAYS, hours=hours_text(hall["opening_hours"]),
                   closures=closures_text(hall["closures"]), status=400 if errors else 200)


def _booking_from_form(current: dict) -> dict:
    """The appointment settings of the hall form (预约): the share in percent, a blank field keeping
    what is stored; the schema refuses the rest beside its field (``booking.<name>``)."""
    percent = _text("booking_share")
    if percent:
        try:
            share = float(percent)
        except ValueError:
            raise Invalid(_("A percentage from 0 to 100"), field="booking.share") from None
        if not 0 <= share <= 100:
            raise Invalid(_("A percentage from 0 to 100"), field="booking.share")
        share = round(share / 100, 4)
    else:
        share = current["share"]

    def number(name: str, key: str):
        value = _optional_int(name)
        return current[key] if value is None else value

    return {"enabled": _checked("booking_enabled"), "share": share,
            "slot_minutes": number("booking_slot_minutes", "slot_minutes"),
            "head_start_minutes": number("booking_head_start_minutes", "head_start_minutes"),
            "grace_minutes": number("booking_grace_minutes", "grace_minutes"),
            "horizon_days": number("booking_horizon_days", "horizon_days")}


# --------------------------------------------------------------------------- services

def _service_data(form) -> dict:
    remind_ahead = _optional_int("remind_ahead")
    return {"code": _text("code"), "prefix": _text("prefix").upper(), "name_zh": _text("name_zh"),
            "name_en": _text("name_en"), "target_wait_s": _minutes_to_s("target_wait_min"),
            "handle_time_s": _minutes_to_s("handle_time_min"),
            "self_service_zh": _text("self_service_zh") or None, "self_service_en": _text("self_service_en") or None,
            **({"remind_ahead": remind_ahead} if remind_ahead is not None else {})}


@bp.route("/halls/<int:hall_id>/services", methods=["GET", "POST"])
def services(hall_id: int):
    """The hall's service types; add one; copy another hall's catalogue."""
    def store(form) -> str:
        _configure()
        if form.get("action") == "copy":
            done = config.copy_services(rt(), _optional_int("from_hall_id") or 0, hall_id)
            return _("%(n)s services copied; %(skipped)s skipped (prefix already used here).",
                     n=len(done["created"]), skipped=len(done["skipped"]))
        data = _check(ServiceBody, {k: v for k, v in _service_data(form).items() if v is not None})
        config.create_service(rt(), hall_id, data)
        return _("Service %(name)s added.", name=data["name_zh"])

    return _hall_page(hall_id, "services", "admin/services.html", store,
                      lambda hall: {"services": config.list_services(rt(), hall_id),  # and the halls to copy from
                                    "halls": config.list_halls(rt(), access.hall_scope(g.principal))})


def _hall_page(hall_id: int, section: str, template: str, store, context_of):
    """A page of a hall's (a list with its forms): shown to whoever sees the hall; a post is stored by
    ``store(form)``, which checks who may and returns the message to show, then the page again; a
    refusal of the input is shown beside its field, and nothing is stored."""
    hall = _hall_or_refuse(hall_id)
    errors, form = {}, None
    if request.method == "POST":
        form = request.form
        try:
            flash(store(form))
            return redirect(request.path)
        except (ValidationError, DomainError) as exc:
            if isinstance(exc, Forbidden):
                raise
            errors = form_errors(exc)
    return _render(template, hall, section, errors=errors, form=form, status=400 if errors else 200,
                   **context_of(hall))


@bp.route("/services/<int:service_id>", methods=["GET", "POST"])
def service(service_id: int):
    """One service type: its details; deactivation (off the kiosk) and back."""
    return _item_page(
        lambda: config.service_hall(rt(), service_id), _("There is no such service."),
        lambda hall_id: {"service": next(s for s in config.list_services(rt(), hall_id) if s["id"] == service_id)},
        lambda form: _check(ServicePatch, {k: v for k, v in _service_data(form).items()
                                           if v is not None or k.startswith("self_service")}),
        lambda changes: config.update_service(rt(), service_id, changes),
        lambda hall_id: _configure(), "admin.services", "admin/service.html", "services")


def _item_page(hall_of, missing: str, current_of, changes_of, update, guard, back: str, template: str,
               section: str):
    """The page of one thing of a hall (a service, a counter, a roster entry): shown to whoever sees
    the hall; on a post, after ``guard``, either its deactivation or activation (``action``) or the
    form's changes, then back to the list; a refusal beside its field."""
    try:
        hall_id = hall_of()
    except NotFound:
        raise Refused(404, missing) from None
    hall = _hall_or_refuse(hall_id)
    context = current_of(hall_id)
    errors, form = {}, None
    if request.method == "POST":
        guard(hall_id)
        form = request.form
        try:
            action = form.get("action")
            update({"active": action == "activate"} if action in ("deactivate", "activate") else changes_of(form))
            flash(_("Saved."))
            return redirect(url_for(back, hall_id=hall_id))
        except (ValidationError, DomainError) as exc:
            errors = form_errors(exc)
    return _render(template, hall, section, errors=errors, form=form, status=400 if errors else 200, **context)


# --------------------------------------------------------------------------- counters

def _counter_data(form) -> dict:
    return {"number": _optional_int("number"), "name": _text("name"),
            "service_ids": [int(x) for x in form.getlist("service_ids") if x.isdigit()],
            "display_mode": _text("display_mode") or "full"}


@bp.route("/halls/<int:hall_id>/counters", methods=["GET", "POST"])
def counters(hall_id: int):
    def store(form) -> str:
        _configure()
        created = config.create_counter(rt(), hall_id, _check(CounterBody, _counter_data(form)))
        return _("Counter %(n)s added.", n=created["number"])

    return _hall_page(hall_id, "counters", "admin/counters.html", store, lambda hall: {
        "counters": config.list_counters(rt(), hall_id), "services": config.list_services(rt(), hall_id)})


@bp.route("/counters/<int:counter_id>", methods=["GET", "POST"])
def counter(counter_id: int):
    """One counter: number, name, services, small screen; deactivation and back."""
    return _item_page(
        lambda: config.counter_hall(rt(), counter_id), _("There is no such counter."),
        lambda hall_id: {"counter": next(c for c in config.list_counters(rt(), hall_id) if c["id"] == counter_id),
                         "services": config.list_services(rt(), hall_id)},
        lambda form: _check(CounterPatch, _counter_data(form)),
        lambda changes: config.update_counter(rt(), counter_id, changes),
        lambda hall_id: _configure(), "admin.counters", "admin/counter.html", "counters")


# --------------------------------------------------------------------------- staff

@bp.route("/halls/<int:hall_id>/staff", methods=["GET", "POST"])
def staff(hall_id: int):
    """The hall's accounts; add one (an administrator any hall role, a manager counter staff)."""
    def store(form) -> str:
        data = _check(StaffBody, {"username": _text("username"), "name": _text("name"),
                                  "staff_number": _text("staff_number"), "email": _text("email") or None,
                                  "password": form.get("password", ""), "role": _text("role"), "hall_id": hall_id})
        access.manage_staff(hall_id, Role(data["role"]))
        config.create_staff(rt(), data)
        return _("Account %(name)s added.", name=data["username"])

    return _hall_page(hall_id, "staff", "admin/staff.html", store, lambda hall: {
        "staff": config.list_staff(rt(), hall_id), "roles": _roles_for(hall_id)})


@bp.route("/staff", methods=["GET", "POST"])
def staff_without_hall():
    """Administrators and head office accounts (no hall; head office of the company or of one
    region); administrators only."""
    _configure()
    errors, form = {}, None
    if request.method == "POST":
        form = request.form
        try:
            data = _check(StaffBody, {"username": _text("username"), "name": _text("name"),
                                      "staff_number": _text("staff_number"), "email": _text("email") or None,
                                      "password": form.get("password", ""), "role": _text("role"),
                                      "region_id": _optional_int("region_id") if _text("role") == "head_office" else None})
            if Role(data["role"]) not in OFFICE_ROLES:
                raise Invalid(_("Pick one of the choices"), field="role")
            config.create_staff(rt(), data)
            flash(_("Account %(name)s added.", name=data["username"]))
            return redirect(url_for("admin.staff_without_hall"))
        except (ValidationError, DomainError) as exc:
            errors = form_errors(exc)
    accounts = [s for s in config.list_staff(rt()) if s["hall_id"] is None]
    return _render("admin/staff.html", None, "staff", staff=accounts, roles=list(OFFICE_ROLES), errors=errors,
                   form=form, regions=config.list_regions(rt()), status=400 if errors else 200)


OFFICE_ROLES = (Role.HEAD_OFFICE, Role.ADMIN)


def _roles_for(hall_id: int) -> list[Role]:
    """The roles the signed-in person may give a new account of this hall."""
    return [role for role in HALL_ROLES if policy.may_manage_staff(g.principal, hall_id, role)]


@bp.route("/staff/<int:staff_id>", methods=["GET", "POST"])
def staff_member(staff_id: int):
    """One account: details, role (administrators), password reset, deactivation."""
    try:
        current = config.get_staff(rt(), staff_id)
    except NotFound:
        raise Refused(404, _("There is no such account.")) from None
    hall = _hall_or_refuse(current["hall_id"]) if current["hall_id"] is not None else None
    if hall is None and not policy.may_configure(g.principal):  # administrators' and head office's accounts
        raise Refused(403, _("Only an administrator sees this account."))
    errors, form = {}, None
    may_change = _may_change_staff(current)
    if request.method == "POST":
        form = request.form
        action = form.get("action")
        try:
            if action == "password":
                changes = _check(StaffPatch, {"password": form.get("password", "")})
            elif action in ("deactivate", "activate"):
                changes = {"active": action == "activate"}
            else:
                fields = {"name": _text("name"), "staff_number": _text("staff_number"), "email": _text("email") or None}
                if form.get("role"):
                    fields["role"] = _text("role")
                if "region_id" in form:  # a head-office account: its region, or 0 for the whole company
                    fields["region_id"] = _optional_int("region_id") or 0
                changes = {k: v for k, v in _check(StaffPatch, fields).items() if v is not None or k == "email"}
                if changes.get("email") is None:
                    changes.pop("email", None)
            changes_role = ("role" in changes and changes["role"] != current["role"]) or \
                ("region_id" in changes and (changes["region_id"] or None) != current["region_id"])
            deactivates = changes.get("active") is False
            if not policy.may_manage_staff(g.principal, current["hall_id"], Role(current["role"]), changes_role,
                                           current["id"], deactivates):
                if deactivates and current["id"] == g.principal.id:
                    raise Invalid(_("You cannot deactivate your own account"), field="active")
                raise Forbidden("changing this account")
            config.update_staff(rt(), staff_id, changes)
            flash(_("Password reset.") if action == "password" else _("Saved."))
            return redirect(url_for("admin.staff_member", staff_id=staff_id))
        except (ValidationError, DomainError) as exc:
            if isinstance(exc, Forbidden):
                raise
            errors = form_errors(exc)
    roles = list(HALL_ROLES) if _can_configure() and current["hall_id"] is not None else []
    regions = config.list_regions(rt()) if _can_configure() and current["role"] == "head_office" else []
    return _render("admin/staff_member.html", hall, "staff", member=current, errors=errors, form=form,
                   may_change=may_change, roles=roles, regions=regions, status=400 if errors else 200)


def _may_change_staff(member: dict) -> bool:
    return policy.may_manage_staff(g.principal, member["hall_id"], Role(member["role"]))


# --------------------------------------------------------------------------- devices

@bp.route("/halls/<int:hall_id>/devices", methods=["GET", "POST"])
def devices(hall_id: int):
    """Kiosks, displays and sensors of the hall: last seen, health; pair a new one by its code; each
    kiosk's elder-friendly mode and idle time."""
    def store(form) -> str:
        _configure()
        if form.get("action") == "kiosk":
            kiosk = _hall_kiosk(hall_id, _optional_int("device_id"))
            data = _check(KioskBody, {"elder_mode": _checked("elder_mode"), "idle_s": _optional_int("idle_s")})
            auth.set_kiosk_settings(rt(), kiosk["id"], data["elder_mode"], data["idle_s"])
            return _("Saved: %(name)s. An open kiosk takes the change at once.", name=kiosk["name"])
        data = _check(PairBody, {"code": _text("code").replace(" ", ""), "name": _text("name"),
                                 "counter_id": _optional_int("counter_id")})
        paired = pairing.pair(rt(), data["code"], hall_id, data["name"], data.get("counter_id"))
        return _("Paired: %(name)s. It starts by itself within a few seconds.", name=paired["name"])

    def context(hall: dict) -> dict:
        now = rt().now()
        devices = [{**d, "health": auth.device_health(d, now)} for d in config.list_devices(rt(), hall_id)]
        kiosks = [{**d, "kiosk": KioskSettings.from_dict(d["settings"].get("kiosk"))} for d in devices
                  if d["kind"] == "kiosk" and d["active"]]
        return {"devices": devices, "kiosks": kiosks, "idle_range": (IDLE_S_MIN, IDLE_S_MAX),
                "sensors": footfall.list_sensors(rt(), hall_id), "counters": config.list_counters(rt(), hall_id)}

    return _hall_page(hall_id, "devices", "admin/devices.html", store, context)


def _hall_kiosk(hall_id: int, device_id) -> dict:
    """The hall's kiosk a form names (a device of another hall is no device here)."""
    try:
        device = auth.device_by_id(rt(), device_id) if isinstance(device_id, int) else None
    except NotFound:
        device = None
    if device is None or device["hall_id"] != hall_id or device["kind"] != "kiosk":
        raise Refused(404, _("There is no such device."))
    return device


@bp.post("/devices/<int:device_id>/revoke")
def revoke_device(device_id: int):
    _configure()
    try:
        device = auth.device_by_id(rt(), device_id)
    except NotFound:
        raise Refused(404, _("There is no such device.")) from None
    auth.deactivate_device(rt(), device_id)
    flash(_("%(name)s revoked: its token no longer works.", name=device["name"]))
    return redirect(url_for("admin.devices", hall_id=device["hall_id"]))


# --------------------------------------------------------------------------- VIP roster, green channel

@bp.route("/halls/<int:hall_id>/vip", methods=["GET", "POST"])
def vip(hall_id: int):
    """The VIP roster (numbers masked) and the green-channel rules."""
    def store(form) -> str:
        if form.get("action") in ("pin", "no_pin"):  # the floor guide's PIN: the hall's manager or an administrator
            if not _may_manage_roster(hall_id):
                raise Forbidden("the floor guide's PIN")
            auth.set_guide_pin(rt(), hall_id, form.get("pin", "").strip() if form.get("action") == "pin" else None)
            return _("The floor guide's PIN is set.") if form.get("action") == "pin" else _("The PIN is removed.")
        if form.get("action") == "green":
            _configure()
            changes = _check(GreenChannelBody, {"enabled": _checked("enabled"), "self_declare": _checked("self_declare"),
                                                "note_zh": _text("note_zh"), "note_en": _text("note_en")})
            config.update_hall(rt(), hall_id, {"green_channel": changes})
        else:
            if not _may_manage_roster(hall_id):
                raise Forbidden("the roster")
            roster.add_member(rt(), hall_id, _check(VipMemberBody, {
                "mobile": _text("mobile"), "star_level": _optional_int("star_level"), "name": _text("name"),
                "valid_until": _text("valid_until") or None, "note": _text("note")}))
        return _("Saved.")

    return _hall_page(hall_id, "vip", "admin/vip.html", store, lambda hall: {
        "members": roster.list_members(rt(), hall_id), "green": GreenChannel.from_dict(hall["green_channel"]),
        "star_from": STAR_FROM, "vip_from": VIP_FROM})


@bp.route("/halls/<int:hall_id>/media", methods=["GET", "POST"])
def media(hall_id: int):
    """The displays' media area: the hall's images and short videos, in their order; each renamed,
    moved, switched off or removed here; a new one uploaded by the page's script to the API (with
    its progress), since a video is far larger than a form may be."""
    def store(form) -> str:
        if not _may_manage_roster(hall_id):
            raise Forbidden("the displays' media")
        item = _hall_media_item(hall_id, _optional_int("media_id"))
        action = form.get("action")
        if action == "delete":
            hall_media.delete_media(rt(), item["id"])
            return _("Removed: %(title)s.", title=item["title"])
        if action in ("up", "down"):
            changes = {"position": max(1, item["position"] + (-1 if action == "up" else 1))}
        elif action in ("on", "off"):
            changes = {"active": action == "on"}
        else:
            changes = _check(MediaPatch, {"title": _text("title") or None,
                                          "seconds": _optional_float("seconds") if item["kind"] == "image" else None})
        hall_media.update_media(rt(), item["id"], changes)
        return _("Saved: %(title)s. The displays show the change at once.", title=item["title"])

    return _hall_page(hall_id, "media", "admin/media.html", store, lambda hall: {
        "items": hall_media.list_media(rt(), hall_id), "limits": media_rules, "can_upload": _may_manage_roster(hall_id),
        "csrf_header": access.csrf_token(), "upload_strings": _media_upload_strings()})


def _media_upload_strings() -> dict:
    """What the upload's script says itself (the API's refusals come worded for the page)."""
    low, high = media_rules.IMAGE_SECONDS
    return {
        "choose": _("Choose a file first."),
        "seconds": _("An image stays %(low)s to %(high)s seconds on screen.", low=low, high=high),
        "other": _("The upload did not work just now. Please try again."),
        "too_large": _("The file is too large: at most {max_mb} MB."),
    }


def _hall_media_item(hall_id: int, media_id) -> dict:
    item = next((m for m in hall_media.list_media(rt(), hall_id) if m["id"] == media_id), None)
    if item is None:
        raise Refused(404, _("There is no such media file."))
    return item


def _optional_float(name: str):
    value = _text(name)
    try:
        return float(value) if value else None
    except ValueError:
        return value  # the schema names it


@bp.route("/vip/<int:member_id>", methods=["GET", "POST"])
def vip_member(member_id: int):
    """One roster entry: star level, name, validity, note; off the roster and back."""
    def guard(hall_id: int) -> None:
        if not _may_manage_roster(hall_id):
            raise Forbidden("the roster")

    return _item_page(
        lambda: roster.member_hall(rt(), member_id), _("There is no such roster entry."),
        lambda hall_id: {"member": next(m for m in roster.list_members(rt(), hall_id) if m["id"] == member_id)},
        lambda form: _check(VipMemberPatch, {"star_level": _optional_int("star_level"), "name": _text("name"),
                                             "valid_until": _text("valid_until") or None, "note": _text("note")}),
        lambda changes: roster.update_member(rt(), member_id, changes),
        guard, "admin.vip", "admin/vip_member.html", "vip")


# --------------------------------------------------------------------------- calling rules

def _policy_from_form(form) -> dict:
    head = {t.value: _minutes_to_s(f"head_start_{t.value}") for t in Tier if t != Tier.ORDINARY}
    return {"head_start_s": {k: v for k, v in head.items() if v is not None},
            "overdue_overtakes": _checked("overdue_overtakes"),
            "recalls_before_no_show": _optional_int("recalls_before_no_show"),
            "max_recalls": _optional_int("max_recalls")}


@bp.route("/halls/<int:hall_id>/calling", methods=["GET", "POST"])
def calling(hall_id: int):
    """Priority head starts, the overdue rule, recalls; a preview says what they mean before saving."""
    hall = _hall_or_refuse(hall_id)
    errors, form = {}, None
    policy = CallingPolicy.from_dict(hall["calling_policy"])
    if request.method == "POST":
        form = request.form
        try:
            body = _check(CallingPolicyBody, _policy_from_form(form))
            candidate = CallingPolicy.from_dict({**hall["calling_policy"], **body, "head_start_s": {
                **hall["calling_policy"]["head_start_s"], **body.get("head_start_s", {})}})
            for field, message in candidate.validate():
                raise Invalid(message, field=field)
            policy = candidate
            if form.get("action") == "save":
                _configure()
                config.update_hall(rt(), hall_id, {"calling_policy": candidate.to_dict()})
                flash(_("Saved. Counters call by the new rule from their next call."))
                return redirect(url_for("admin.calling", hall_id=hall_id))
        except (ValidationError, DomainError) as exc:
            if isinstance(exc, Forbidden):
                raise
            errors = {k.replace("head_start_s.", "head_start_"): v for k, v in form_errors(exc).items()}
    today = business_day(rt().now(), parse_zone(hall["timezone"]))
    rate = service_levels.busy_hour_arrivals(rt(), hall_id, today)
    targets = [s["target_wait_s"] for s in config.list_services(rt(), hall_id) if s["active"]]
    booking = hall["booking"]
    lines = None if errors else preview(  # never the saved rule's lines beside new values
        policy, rate, targets, booking["head_start_minutes"] * 60 if booking["enabled"] else None)
    return _render("admin/calling.html", hall, "calling", policy=policy, lines=lines, rate=rate,
                   warnings=[] if errors else policy.warnings(),
                   describe=policy.describe(), previewing=request.method == "POST", errors=errors, form=form,
                   tiers=[t for t in Tier if t != Tier.ORDINARY], status=400 if errors else 200)


# --------------------------------------------------------------------------- import and export

def _may_import(hall_id: int, kind: str) -> bool:
    """Staff: who may manage the hall's counter staff; the roster: who manages the hall; counters: an administrator."""
    if kind == "staff":
        return policy.may_manage_staff(g.principal, hall_id, Role.COUNTER_STAFF)
    if kind == "vip":
        return policy.may_manage_hall(g.principal, hall_id)
    return policy.may_configure(g.principal)


@bp.route("/halls/<int:hall_id>/import/<kind>", methods=["GET", "POST"])
def import_file(hall_id: int, kind: str):
    """Upload a spreadsheet: a dry run shows row by row what would be created, changed or refused
    and why; nothing is stored until the user applies it (the whole file, or its valid rows)."""
    hall = _hall_or_refuse(hall_id)
    if kind not in IMPORT_KINDS:
        raise Refused(404, _("There is no such import."))
    if request.method == "POST" and not _may_import(hall_id, kind):
        raise Forbidden("importing")
    manager_only = not _can_configure()
    plan, errors, done = None, {}, None
    filename, content = None, None
    if request.method == "POST":
        try:
            filename, content = _uploaded()
            action = request.form.get("action", "plan")
            if action in ("apply", "apply_valid"):
                done = imports.apply(rt(), hall_id, kind, filename, content, only_valid=action == "apply_valid",
                                     manager_only=manager_only)
                flash(_("Imported: %(c)s created, %(u)s changed, %(s)s rows skipped.",
                        c=done["created"], u=done["updated"], s=done["skipped"]))
                return redirect(url_for(f"admin.{'vip' if kind == 'vip' else kind}", hall_id=hall_id))
            plan = imports.plan(rt(), hall_id, kind, filename, content, manager_only=manager_only)
        except DomainError as exc:
            if isinstance(exc, Forbidden):
                raise
            errors = form_errors(exc)
    section = {"counters": "counters", "staff": "staff", "vip": "vip"}[kind]
    en = current_language() == "en"
    column_names = {c.field: (c.en[0] if en else c.zh[0]) for c in import_rules.COLUMNS[kind]}
    return _render("admin/import.html", hall, section, kind=kind, plan=plan, errors=errors, filename=filename,
                   column_names=column_names, cell=lambda field, value: _import_cell(field, value, en),
                   reason=_import_reason,
                   content=base64.b64encode(content).decode("ascii") if content and plan else "",
                   may_import=_may_import(hall_id, kind), status=400 if errors else 200)


def _uploaded() -> tuple[str, bytes]:
    """The file of this post: uploaded now, or carried from the dry run (base64) to be applied."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        return upload.filename, upload.read(import_files.MAX_BYTES + 1)
    carried = request.form.get("content", "")
    if carried and request.form.get("filename"):
        try:
            return request.form["filename"], base64.b64decode(carried, validate=True)
        except (binascii.Error, ValueError):
            raise Invalid(_("The file was damaged on the way; upload it again"), field="file") from None
    raise Invalid(_("Choose a file (.xlsx or .csv)"), field="file")


@bp.get("/halls/<int:hall_id>/export/<kind>.<fmt>")
def export_file(hall_id: int, kind: str, fmt: str):
    """The hall's staff, counters or roster as Excel or CSV, in the columns the import reads."""
    _hall_or_refuse(hall_id)
    if kind not in IMPORT_KINDS or fmt not in ("xlsx", "csv"):
        raise Refused(404, _("There is no such export."))
    if kind == "vip" and not _may_manage_roster(hall_id):
        raise Refused(403, _("The roster's numbers are for the hall's manager and administrators."))
    content, filename, mimetype = imports.export(rt(), hall_id, kind, fmt)
    return _download(content, filename, mimetype)


@bp.get("/templates/<kind>.<fmt>")
def import_template(kind: str, fmt: str):
    if kind not in IMPORT_KINDS or fmt not in ("xlsx", "csv"):
        raise Refused(404, _("There is no such template."))
    content, filename, mimetype = imports.template(kind, fmt)
    return _download(content, filename, mimetype)


def _download(content: bytes, filename: str, mimetype: str) -> Response:
    from urllib.parse import quote

    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename=\"{filename.encode('ascii', 'replace').decode()}\"; "
                               f"filename*=UTF-8''{quote(filename)}"})

