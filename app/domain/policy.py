"""Access rules as plain functions of a principal and a hall: the one place that decides.

Services check the rules of their use case inside its own transaction (the principal read
in it, so a revoked token or a deactivated account is refused at once); the web layer's
``access`` module applies the same functions to the request's caller.
"""
from __future__ import annotations

from .errors import Forbidden
from .model import DeviceKind, Role
from .principal import Principal


def may_issue_ticket(p: Principal, hall_id: int) -> bool:
    """An administrator anywhere; the hall's manager, counter staff and kiosks."""
    if p.is_staff(Role.ADMIN):
        return True
    return p.hall_id == hall_id and (p.is_staff(Role.HALL_MANAGER, Role.COUNTER_STAFF)
                                     or p.device_kind == DeviceKind.KIOSK)


def may_operate_counter(p: Principal, hall_id: int) -> bool:
    """An administrator anywhere; the hall's manager and counter staff."""
    if p.is_staff(Role.ADMIN):
        return True
    return p.hall_id == hall_id and p.is_staff(Role.HALL_MANAGER, Role.COUNTER_STAFF)


def require(allowed: bool, what: str) -> None:
    """403 naming what was refused."""
    if not allowed:
        raise Forbidden(f"not allowed: {what}")
