"""A staff member's new password, or their deactivation, ends every bearer token and browser
session they hold, in the same transaction.

The rule lives here, once, for every path that changes an account (the API, the administration
pages, a staff import): the ORM reports what a flush changed, and the tokens of each account
whose password hash or active flag changed are revoked. Whoever knew the old password, or copied
a session cookie, is out at once in every process (credentials are read on every request).
"""

from __future__ import annotations

from sqlalchemy import event, inspect, update
from sqlalchemy.orm import Session

from .orm import ApiToken, Staff

_ENDS_CREDENTIALS = ("password_hash", "active")


def _ends_credentials(obj) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in _ENDS_CREDENTIALS)


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _context, _instances) -> None:
    staff = {obj.id for obj in session.dirty if isinstance(obj, Staff) and _ends_credentials(obj)}
    if staff:
        session.info.setdefault("credentials_ended", set()).update(staff)


@event.listens_for(Session, "after_flush")
def _revoke(session: Session, _context) -> None:
    staff = session.info.pop("credentials_ended", None)
    if staff:
        session.execute(
            update(ApiToken)
            .where(ApiToken.staff_id.in_(sorted(staff)), ApiToken.revoked.is_(False))
            .values(revoked=True)
            .execution_options(synchronize_session=False)
        )
