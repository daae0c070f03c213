"""Who may see and do what: every access rule, as a plain function of a principal and what it acts on.

This module is the one place that decides. The API (``web.access``), every page, the screens'
Socket.IO connect and the use cases that check their caller inside their own transaction
(``services.queue``) all ask these functions; none writes a rule of its own.

| rule                 | admin | head office        | hall manager            | counter staff | kiosk | display | sensor |
|----------------------|-------|--------------------|-------------------------|---------------|-------|---------|--------|
| configure            | all   | -                  | -                       | -             | -     | -       | -      |
| read configuration   | all   | its halls          | own hall                | -             | -     | -       | -      |
| view a hall's queue  | all   | its halls          | own hall                | own hall      | own   | own     | -      |
| issue a ticket       | all   | -                  | own hall                | own hall      | own   | -       | -      |
| operate a counter    | all   | -                  | own hall                | own hall      | -     | -       | -      |
| manage a hall (PIN, roster, warnings) | all | -    | own hall                | -             | -     | -       | -      |
| staff accounts       | all   | -                  | own hall's counter staff, never a role | - | -   | -       | -      |
| print a ticket       | -     | -                  | -                       | -             | own   | -       | -      |
| report door counts   | -     | -                  | -                       | -             | -     | -       | own    |
| follow-up cases      | all   | its halls          | own hall                | -             | -     | -       | -      |
| SMS outbox           | all   | -                  | own hall                | -             | -     | -       | -      |
| manager, report, admin and survey pages | all | its halls | own hall         | -             | -     | -       | -      |

"Its halls": every hall for the company's head office, its region's for a region's head office
(``region_halls`` tells which). Nobody changes their own role or deactivates their own account.
Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import Forbidden
from .model import DeviceKind, Role
from .principal import Principal

RegionHalls = Callable[[int | None], set[int]]  # a region's halls (for a region's head office; None: all)
MANAGERS = (Role.ADMIN, Role.HEAD_OFFICE, Role.HALL_MANAGER)


def require(allowed: bool, what: str) -> None:
    """403 naming what was refused."""
    if not allowed:
        raise Forbidden(f"not allowed: {what}")


def sees_every_hall(p: Principal) -> bool:
    """An administrator, or the whole company's head office."""
    return p.is_staff(Role.ADMIN) or (p.is_staff(Role.HEAD_OFFICE) and p.region_id is None)


def sees_hall(p: Principal, hall_id: int, region_halls: RegionHalls) -> bool:
    """Above hall level: an administrator sees every hall, head office its region's (or all)."""
    if sees_every_hall(p):
        return True
    return p.is_staff(Role.HEAD_OFFICE) and hall_id in region_halls(p.region_id)


def hall_scope(p: Principal, region_halls: RegionHalls) -> set[int] | None:
    """The halls a caller sees in a list across halls: None (every hall), a region's, or their own."""
    if sees_every_hall(p):
        return None
    if p.is_staff(Role.HEAD_OFFICE):
        return region_halls(p.region_id)
    return {p.hall_id} if p.hall_id else set()


def may_configure(p: Principal) -> bool:
    return p.is_staff(Role.ADMIN)


def may_read_config(p: Principal, hall_id: int | None, region_halls: RegionHalls) -> bool:
    """``hall_id`` None: configuration across halls (the organisation)."""
    if p.is_staff(Role.ADMIN, Role.HEAD_OFFICE):
        return hall_id is None or sees_hall(p, hall_id, region_halls)
    return hall_id is not None and p.is_staff(Role.HALL_MANAGER) and p.hall_id == hall_id


def may_view_hall(p: Principal, hall_id: int, region_halls: RegionHalls) -> bool:
    """A hall's live queue: above the hall, or its own staff and screens (not its door sensors)."""
    return sees_hall(p, hall_id, region_halls) or (p.hall_id == hall_id and p.device_kind != DeviceKind.SENSOR)


def may_issue_ticket(p: Principal, hall_id: int) -> bool:
    """An administrator anywhere; the hall's manager, counter staff and kiosks."""
    if p.is_staff(Role.ADMIN):
        return True
    return p.hall_id == hall_id and (
        p.is_staff(Role.HALL_MANAGER, Role.COUNTER_STAFF) or p.device_kind == DeviceKind.KIOSK
    )


def may_operate_counter(p: Principal, hall_id: int) -> bool:
    """An administrator anywhere; the hall's manager and counter staff (the counter console too)."""
    if p.is_staff(Role.ADMIN):
        return True
    return p.hall_id == hall_id and p.is_staff(Role.HALL_MANAGER, Role.COUNTER_STAFF)


def may_manage_hall(p: Principal, hall_id: int) -> bool:
    """The floor guide's PIN, the VIP roster, acknowledging warnings: an administrator, the hall's manager."""
    return p.is_staff(Role.ADMIN) or (p.is_staff(Role.HALL_MANAGER) and p.hall_id == hall_id)


def may_manage_staff(
    p: Principal,
    hall_id: int | None,
    role: Role | None,
    changes_role: bool = False,
    account_id: int | None = None,
    deactivates: bool = False,
) -> bool:
    """Create or change a staff account (``account_id``: an existing one): an administrator any; a hall
    manager their own hall's counter staff (name, number, email, password, active), never a role,
    never another hall's. Nobody changes their own role or deactivates their own account."""
    if account_id is not None and account_id == p.staff_id and (changes_role or deactivates):
        return False
    if p.is_staff(Role.ADMIN):
        return True
    return p.is_staff(Role.HALL_MANAGER) and hall_id == p.hall_id and role == Role.COUNTER_STAFF and not changes_role


def may_print_on_kiosk(p: Principal) -> bool:
    return p.kind == "device" and p.device_kind == DeviceKind.KIOSK


def may_report_counts(p: Principal) -> bool:
    return p.kind == "device" and p.device_kind == DeviceKind.SENSOR


def may_handle_follow_ups(p: Principal, hall_id: int | None, region_halls: RegionHalls) -> bool:
    """Follow-up cases: head office for its halls, a manager for their own (``None``: the caller's scope)."""
    if p.is_staff(Role.ADMIN, Role.HEAD_OFFICE):
        return hall_id is None or sees_hall(p, hall_id, region_halls)
    return p.is_staff(Role.HALL_MANAGER) and (hall_id is None or p.hall_id == hall_id)


def may_use_outbox(p: Principal, hall_id: int | None) -> bool:
    """The outbox gateway's messages: an administrator, or a manager for their own hall's."""
    if p.is_staff(Role.ADMIN):
        return True
    return p.is_staff(Role.HALL_MANAGER) and (hall_id is None or p.hall_id == hall_id)


def may_use_manager_pages(p: Principal) -> bool:
    """The manager's, report, survey and administration pages: administrators, head office, hall managers."""
    return p.is_staff(*MANAGERS)


def may_read_reports(
    p: Principal, hall_id: int | None, above_hall: bool, region_id: int | None, region_halls: RegionHalls
) -> bool:
    """A report at a hall (``hall_id``) or above one (``above_hall``: the company, a region, a city of
    ``region_id``): head office its own; a manager their own hall's only."""
    if not may_use_manager_pages(p):
        return False
    if p.is_staff(Role.HALL_MANAGER):
        return not above_hall and hall_id == p.hall_id
    if sees_every_hall(p):
        return True
    if above_hall:
        return region_id == p.region_id
    return hall_id is None or sees_hall(p, hall_id, region_halls)
