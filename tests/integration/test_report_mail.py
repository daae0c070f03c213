"""Stored reports e-mailed through a real SMTP server on loopback (aiosmtpd), on SQLite and
PostgreSQL: head office's files to head office, a hall's files to its managers with an address,
attachments that open in Excel under their Chinese names; a server that is down leaves the files
for the next run, which sends them once; nothing is mailed twice."""
from __future__ import annotations

import email
import io
import socket
from datetime import date
from email import policy

import pytest
from aiosmtpd.controller import Controller
from openpyxl import load_workbook

from app.domain.errors import Invalid
from app.services import config, report_files, report_mail
from app.storage.orm import ReportFile

from .test_satisfaction_reports import rated  # noqa: F401  (fixture)
from .test_surveys import sapp, srt, sworld  # noqa: F401  (fixtures)

DAY = date(2026, 11, 23)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((tuple(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def settings_for(port: int) -> report_mail.MailSettings:
    return report_mail.MailSettings.from_config({
        "REPORT_MAIL_SMTP_URL": f"smtp://127.0.0.1:{port}", "REPORT_MAIL_FROM": "报表 <reports@hall.example>",
        "REPORT_MAIL_HEAD_OFFICE": "hq@hall.example, kefu@hall.example"})


def test_reports_go_to_head_office_and_to_each_halls_managers_once(srt, rated, smtp):
    controller, inbox = smtp
    config.update_staff(srt, rated.staff["m1"], {"email": "m1@hall.example"})  # hall 2's manager has none
    report_files.make_reports(srt, DAY)
    done = report_mail.send_unsent(srt, settings_for(controller.port))
    assert (done["messages"], done["no_recipient"]) == (2, 1)  # head office, hall 1; hall 2: nobody to send to
    by_to = {to: message for to, message in inbox.messages}
    head = by_to[("hq@hall.example", "kefu@hall.example")]
    assert "省公司" in head["Subject"] and "满意度日报" in head["Subject"] and "2026-11-23" in head["Subject"]
    (attachment,) = list(head.iter_attachments())
    assert attachment.get_filename() == "满意度日报-2026-11-23.xlsx"
    sheet = load_workbook(io.BytesIO(attachment.get_content())).active
    assert "满意度" in sheet["A1"].value
    hall = by_to[("m1@hall.example",)]
    assert "营业厅1" in hall["Subject"]
    assert [a.get_filename() for a in hall.iter_attachments()] == ["H1-营业厅1-满意度日报-2026-11-23.xlsx"]
    assert report_mail.send_unsent(srt, settings_for(controller.port))["messages"] == 0  # never twice
    assert len(inbox.messages) == 2


def test_a_server_that_is_down_leaves_the_files_for_the_next_run(srt, rated, smtp):
    controller, inbox = smtp
    report_files.make_reports(srt, DAY)
    down = report_mail.send_unsent(srt, settings_for(free_port()))  # nothing listens there
    assert down["messages"] == 0 and down["failed"] >= 1
    with srt.reader() as tx:
        head = tx.session.query(ReportFile).filter(ReportFile.hall_id.is_(None)).one()
        assert head.mailed_at is None and head.mail_attempts == 1 and "Connection" in head.mail_error
    again = report_mail.send_unsent(srt, settings_for(controller.port))
    assert again["messages"] == 1 and len(inbox.messages) == 1
    with srt.reader() as tx:
        head = tx.session.query(ReportFile).filter(ReportFile.hall_id.is_(None)).one()
        assert head.mailed_at is not None and head.mail_error is None


def test_mail_settings_are_checked_naming_the_setting():
    assert report_mail.MailSettings.from_config({}) is None  # off unless configured
    server = report_mail.parse_smtp_url("smtp+starttls://user%40corp:p%40ss@mail.example:2587")
    assert (server.scheme, server.host, server.port, server.username, server.password) == (
        "smtp+starttls", "mail.example", 2587, "user@corp", "p@ss")
    assert report_mail.parse_smtp_url("smtps://mail.example").port == 465
    for cfg, field in (({"REPORT_MAIL_SMTP_URL": "http://x"}, "REPORT_MAIL_SMTP_URL"),
                       ({"REPORT_MAIL_SMTP_URL": "smtp://x", "REPORT_MAIL_FROM": "nobody"}, "REPORT_MAIL_FROM"),
                       ({"REPORT_MAIL_SMTP_URL": "smtp://x", "REPORT_MAIL_FROM": "a@b.c",
                         "REPORT_MAIL_HEAD_OFFICE": "hq@x, not an address"}, "REPORT_MAIL_HEAD_OFFICE")):
        with pytest.raises(Invalid) as bad:
            report_mail.MailSettings.from_config(cfg)
        assert bad.value.field == field


def test_a_managers_address_is_set_over_the_api_and_a_bad_one_is_422_naming_the_field(srt, sworld, sapp):
    from .test_surveys import headers

    client = sapp.test_client()
    admin = headers(srt, sworld, "admin")
    bad = client.patch(f"/api/v1/staff/{sworld.staff['m1']}", json={"email": "not-an-address"}, headers=admin)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "email"
    ok = client.patch(f"/api/v1/staff/{sworld.staff['m1']}", json={"email": "m1@hall.example"}, headers=admin)
    assert ok.status_code == 200 and ok.get_json()["email"] == "m1@hall.example"
    assert report_mail.hall_recipients(srt, [sworld.one.id]) == {sworld.one.id: ("m1@hall.example",)}
