"""Stored reports e-mailed over SMTP (报表邮件), when ``REPORT_MAIL_SMTP_URL`` is set.

The scheduler's ``mail_reports`` job (every 10 minutes) sends each stored report file not yet
mailed (made within the last ``PENDING_DAYS``): the head-office files to ``REPORT_MAIL_HEAD_OFFICE``,
each hall's files to that hall's active managers who have an e-mail address. One message per
recipient group and run, the files attached as Excel with their Chinese names (RFC 2231). A file
is marked mailed only after the server accepted the message; a refused or unreachable server
leaves it for the next run (up to ``MAX_ATTEMPTS`` tries, the error kept on the file).

``REPORT_MAIL_SMTP_URL``: ``smtp://host:25`` (plain), ``smtp+starttls://user:password@host:587``
(STARTTLS, then login), ``smtps://user:password@host:465`` (TLS from the start).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from sqlalchemy import select, update

from ..bootstrap import Runtime
from ..domain.errors import Invalid
from ..storage.orm import Hall, ReportFile, Staff
from .report_files import PERIOD_NAMES, family_of

log = logging.getLogger(__name__)

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PENDING_DAYS = 3
MAX_ATTEMPTS = 5
SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class MailSettings:
    server: SmtpServer
    sender: str
    head_office: tuple[str, ...]

    @classmethod
    def from_config(cls, config: dict) -> MailSettings | None:
        url = config.get("REPORT_MAIL_SMTP_URL") or ""
        if not url:
            return None
        server = parse_smtp_url(url)
        sender = config.get("REPORT_MAIL_FROM") or ""
        if "@" not in sender:
            raise Invalid("REPORT_MAIL_FROM must be an e-mail address", field="REPORT_MAIL_FROM")
        return cls(server, sender, addresses(config.get("REPORT_MAIL_HEAD_OFFICE") or ""))


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://``, ``smtp+starttls://`` or ``smtps://`` [user[:password]@]host[:port]."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise Invalid(
            f"REPORT_MAIL_SMTP_URL is {'|'.join(SCHEMES)}://[user:password@]host[:port]", field="REPORT_MAIL_SMTP_URL"
        )
    return SmtpServer(
        parts.scheme,
        parts.hostname,
        parts.port or SCHEMES[parts.scheme],
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
    )


def addresses(text: str) -> tuple[str, ...]:
    found = tuple(a.strip() for a in text.replace(";", ",").split(",") if a.strip())
    bad = [a for a in found if "@" not in a or " " in a]
    if bad:
        raise Invalid(f"not an e-mail address: {bad[0]}", field="REPORT_MAIL_HEAD_OFFICE")
    return found


def subject(files: list[dict], hall_name: str | None) -> str:
    """e.g. ``【营业厅报表】郑州金水路营业厅 满意度日报、服务指标日报 2026-11-30 / Hall reports``."""
    names = sorted({f"{family_of(f['kind']).name_zh}{PERIOD_NAMES[f['period_kind']]}" for f in files})
    first = min(f["period_first"] for f in files)
    who = hall_name or "省公司"
    return f"【营业厅报表】{who} {'、'.join(names)} {first} / Hall reports"


def compose(sender: str, recipients: tuple[str, ...], files: list[dict], hall_name: str | None) -> EmailMessage:
    """One message with the files attached (names in Chinese, RFC 2231)."""
    message = EmailMessage()
    message["Subject"] = subject(files, hall_name)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip(">"))
    lines = [f"附件是{hall_name or '各营业厅'}的报表（Excel）：", ""]
    lines += [f"  · {f['file_name']}" for f in files]
    lines += ["", "The reports are attached as Excel files. 此邮件由系统自动发送，请勿回复。"]
    message.set_content("\n".join(lines))
    maintype, subtype = XLSX_MIMETYPE.split("/", 1)
    for f in files:
        message.add_attachment(f["content"], maintype=maintype, subtype=subtype, filename=f["file_name"])
    return message


def _connect(server: SmtpServer, timeout: float = 30) -> smtplib.SMTP:
    smtp: smtplib.SMTP
    if server.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
        if server.scheme == "smtp+starttls":
            smtp.starttls(context=ssl.create_default_context())
    if server.username:
        smtp.login(server.username, server.password or "")
    return smtp


def pending(rt: Runtime) -> dict[int | None, tuple[str | None, list[dict]]]:
    """Files to mail, by hall (None: head office): the hall's name and the files with their bytes."""
    since = rt.now() - timedelta(days=PENDING_DAYS)
    with rt.reader() as tx:
        rows = tx.session.execute(
            select(ReportFile, Hall.name_zh)
            .outerjoin(Hall, ReportFile.hall_id == Hall.id)
            .where(ReportFile.mailed_at.is_(None), ReportFile.made_at >= since, ReportFile.mail_attempts < MAX_ATTEMPTS)
            .order_by(ReportFile.hall_id, ReportFile.kind, ReportFile.period_first)
        ).all()
        groups: dict[int | None, tuple[str | None, list[dict]]] = {}
        for row, hall_name in rows:
            groups.setdefault(row.hall_id, (hall_name, []))[1].append(
                {
                    "id": row.id,
                    "kind": row.kind,
                    "period_kind": row.period_kind,
                    "period_first": row.period_first.isoformat(),
                    "file_name": row.file_name,
                    "content": bytes(row.content),
                }
            )
    return groups


def hall_recipients(rt: Runtime, hall_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """Each hall's active managers with an e-mail address."""
    with rt.reader() as tx:
        found: dict[int, list[str]] = defaultdict(list)
        for hall_id, email in tx.session.execute(
            select(Staff.hall_id, Staff.email)
            .where(
                Staff.hall_id.in_(hall_ids),
                Staff.role == "hall_manager",
                Staff.active.is_(True),
                Staff.email.is_not(None),
            )
            .order_by(Staff.id)
        ):
            if hall_id is not None and email:
                found[hall_id].append(email)
    return {k: tuple(v) for k, v in found.items()}


def send_unsent(rt: Runtime, settings: MailSettings) -> dict:
    """Mail every pending file to its recipients; returns counts (messages sent, files, failures,
    files left without a recipient)."""
    groups = pending(rt)
    by_hall = hall_recipients(rt, [h for h in groups if h is not None])
    done = {"messages": 0, "files": 0, "failed": 0, "no_recipient": 0}
    for hall_id, (hall_name, files) in groups.items():
        recipients = settings.head_office if hall_id is None else by_hall.get(hall_id, ())
        ids = [f["id"] for f in files]
        if not recipients:
            done["no_recipient"] += len(files)
            _mark(rt, ids, error="no recipient with an e-mail address", count_attempt=False)
            continue
        try:
            with _connect(settings.server) as smtp:
                smtp.send_message(compose(settings.sender, recipients, files, hall_name))
        except (OSError, smtplib.SMTPException) as exc:
            done["failed"] += len(files)
            log.warning("report mail to %s failed: %s", recipients, exc)
            _mark(rt, ids, error=f"{type(exc).__name__}: {exc}"[:400], count_attempt=True)
            continue
        done["messages"] += 1
        done["files"] += len(files)
        _mark(rt, ids, mailed=True)
    return done


def _mark(
    rt: Runtime, ids: list[int], mailed: bool = False, error: str | None = None, count_attempt: bool = False
) -> None:
    values: dict = {"mail_error": error}
    if mailed:
        values["mailed_at"] = rt.now()
    if count_attempt or mailed:
        values["mail_attempts"] = ReportFile.mail_attempts + 1
    with rt.uow() as tx:
        tx.session.execute(
            update(ReportFile)
            .where(ReportFile.id.in_(ids))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        tx.commit()
