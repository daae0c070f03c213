"""The SMS gateway adapters against real peers: a real Kannel on loopback, and Twilio's SDK
against a local stand-in for its Messages API (Twilio's cloud is out of reach here).

Kannel: bearerbox, smsbox and Kannel's fake SMSC (``kannel-extras``) run with a generated
config; "our server" is a real werkzeug HTTP server whose routes call the adapter, exactly
the calls Kannel's sms-service and dlr-url make. The fake SMSC does report delivery
(an "SMSC accepted" report, then "delivered"), so the delivery reports here are real too.
Without Kannel these tests skip on a developer's machine and fail in CI (``CI`` set).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace
from datetime import datetime, timezone
from itertools import count

import pytest
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from app.domain.errors import DomainError
from app.sms.gateway import (DeliveryStatus, GatewayError, InboundForbidden, InboundSms, MalformedInbound,
                             OutgoingSms, SmsGateway)
from app.sms.kannel import KannelGateway, KannelSettings, decode_message
from app.sms.twilio_gateway import TwilioGateway

from .kannel_harness import INSTALL_HINT, KannelLoopback, free_port, missing_binaries
from ..polling import wait_until

SURVEY = "【营业厅】请对本次服务评价：回复1非常满意，2满意，3一般，4不满意"
SECRET = "kannel-callback-secret-0123"
SERVICE_NUMBER = "10086"
numbers = count(8613800138000)


class OurServer:
    """A real HTTP server that hands each callback to the gateway and records the outcome,
    as the reply and delivery report endpoints will (without the database)."""

    def __init__(self) -> None:
        self.gateway = None
        self.inbound: list = []
        self.reports: list = []
        self.refused: list[DomainError] = []
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @Request.application
    def wsgi(self, request: Request) -> Response:
        parse, into = {"/sms/kannel/inbound": (self.gateway.parse_inbound, self.inbound),
                       "/sms/kannel/dlr": (self.gateway.parse_delivery_report, self.reports)}[request.path]
        try:
            into.append(parse(request))
        except DomainError as error:
            self.refused.append(error)
            return Response(error.message, status=error.status)
        return Response(status=204)  # nothing to answer the customer with (a text body would be sent back)

    def call(self, path: str, params: dict[str, str | bytes]) -> int:
        """Call an endpoint as Kannel would (GET, query string)."""
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


def require_kannel() -> None:
    missing = missing_binaries()
    if not missing:
        return
    message = f"Kannel is not installed (missing {', '.join(missing)}); install: {INSTALL_HINT}"
    if os.environ.get("CI"):
        pytest.fail(message + " -- CI must run the Kannel round trip, not skip it")
    pytest.skip(message)


@pytest.fixture(scope="module")
def our_server():
    server = OurServer()
    server.thread.start()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def kannel(tmp_path_factory, our_server):
    require_kannel()
    workdir = tmp_path_factory.mktemp("kannel")
    settings = KannelSettings.from_dict({
        "url": "http://127.0.0.1:1/cgi-bin/sendsms",  # replaced below, once smsbox has a port
        "username": "hallq", "password": "sendsms-secret", "sender": SERVICE_NUMBER, "secret": SECRET,
        "inbound_url": f"{our_server.base_url}/sms/kannel/inbound",
        "dlr_url": f"{our_server.base_url}/sms/kannel/dlr",
        "allowed_ips": ["127.0.0.1"],
    })
    generated = KannelGateway(settings).sms_service_url()
    with KannelLoopback(workdir, sms_service_url=generated, username="hallq", password="sendsms-secret") as box:
        our_server.gateway = KannelGateway(replace(settings, url=box.sendsms_url))
        yield box


@pytest.fixture
def gateway(kannel, our_server) -> KannelGateway:
    return our_server.gateway


# --- Kannel round trip ---------------------------------------------------------------------


def test_a_chinese_survey_reaches_the_customer_intact_through_kannel(kannel, gateway):
    customer = str(next(numbers))
    result = gateway.send(OutgoingSms(to=customer, text=SURVEY, reference="survey-1"))

    assert result.accepted, result.detail
    at_smsc = kannel.wait_for_message_to(customer)
    assert at_smsc.sender == SERVICE_NUMBER
    assert at_smsc.kind == "ucs-2"  # Kannel coded it as UCS-2 for the operator's network
    assert at_smsc.text == SURVEY


def test_an_english_survey_goes_as_7bit_text_so_it_fits_160_characters(kannel, gateway):
    customer = str(next(numbers))
    english = "Please rate our service: reply 1 very satisfied, 2 satisfied, 3 fair, 4 dissatisfied"
    gateway.send(OutgoingSms(to=customer, text=english, reference="survey-en"))

    at_smsc = kannel.wait_for_message_to(customer)
    assert (at_smsc.kind, at_smsc.text) == ("text", english)


def test_a_customer_reply_comes_back_through_kannel_with_sender_and_chinese_text_intact(kannel, our_server):
    customer = str(next(numbers))
    kannel.inject_reply(customer, SERVICE_NUMBER, "1 服务很好")

    reply = wait_until(lambda: next((m for m in our_server.inbound if m.sender == customer), None),
                       "the reply at our inbound endpoint")
    assert isinstance(reply, InboundSms)
    assert reply.text == "1 服务很好"
    assert abs((reply.received_at - datetime.now(timezone.utc)).total_seconds()) < 120
    assert reply.gateway_id  # Kannel's own message id (%I)
    assert reply.message_key and reply.message_key != reply.gateway_id  # from what Kannel always sends, %T too


def test_a_reply_from_a_number_with_a_plus_is_stored_in_e164_digits(kannel, our_server):
    kannel.inject_reply("+8613911112222", SERVICE_NUMBER, "退订")

    reply = wait_until(lambda: next((m for m in our_server.inbound if m.sender == "8613911112222"), None),
                       "the opt-out reply")
    assert reply.text == "退订"


def test_delivery_reports_for_a_survey_come_back_with_our_reference(kannel, gateway, our_server):
    customer = str(next(numbers))
    gateway.send(OutgoingSms(to=customer, text=SURVEY, reference="survey-42"))

    def reports():
        mine = [r for r in our_server.reports if r.reference == "survey-42"]
        return mine if any(r.status is DeliveryStatus.DELIVERED for r in mine) else None
    mine = wait_until(reports, "a 'delivered' report for survey-42")
    assert {r.status for r in mine} <= {DeliveryStatus.SENT, DeliveryStatus.DELIVERED}
    delivered = next(r for r in mine if r.status is DeliveryStatus.DELIVERED)
    assert delivered.gateway_id  # the SMSC's message id (%F)
    assert delivered.reported_at.tzinfo is timezone.utc


def test_an_inbound_call_without_the_secret_is_refused(kannel, our_server):
    before = len(our_server.inbound)
    forged = {"from": "8613800138999", "to": SERVICE_NUMBER, "text": "1", "coding": "0", "charset": "UTF-8"}

    assert our_server.call("/sms/kannel/inbound", forged) == 403
    assert our_server.call("/sms/kannel/inbound", {**forged, "secret": "guessed-" + SECRET[8:]}) == 403
    assert our_server.call("/sms/kannel/dlr", {"ref": "survey-1", "status": "1"}) == 403
    assert len(our_server.inbound) == before
    assert all(isinstance(e, InboundForbidden) for e in our_server.refused[-3:])


def test_an_inbound_call_from_an_address_not_allowed_is_refused(gateway):
    request = kannel_request({"secret": SECRET, "from": "8613800138000", "text": "1"}, remote_addr="10.1.2.3")

    with pytest.raises(InboundForbidden):
        gateway.parse_inbound(request)


def test_a_malformed_inbound_call_is_refused_naming_the_field(kannel, our_server):
    assert our_server.call("/sms/kannel/inbound", {"secret": SECRET, "text": "1"}) == 400
    assert our_server.refused[-1].field == "from"
    assert our_server.call("/sms/kannel/dlr", {"secret": SECRET, "ref": "survey-1", "status": "x"}) == 400
    assert our_server.refused[-1].field == "status"


def test_a_wrong_sendsms_password_is_a_permanent_gateway_error(kannel, gateway):
    wrong = KannelGateway(replace(gateway.settings, password="wrong"))

    with pytest.raises(GatewayError) as raised:
        wrong.send(OutgoingSms(to="8613800138000", text="x", reference="survey-2"))
    assert raised.value.retryable is False


def test_smsbox_down_is_a_retryable_gateway_error(gateway):
    down = KannelGateway(replace(gateway.settings, url=f"http://127.0.0.1:{free_port()}/cgi-bin/sendsms"))

    with pytest.raises(GatewayError) as raised:
        down.send(OutgoingSms(to="8613800138000", text=SURVEY, reference="survey-3"))
    assert raised.value.retryable is True


def test_the_kannel_gateway_is_an_sms_gateway():
    assert isinstance(KannelGateway(kannel_settings()), SmsGateway)


def kannel_settings(**overrides) -> KannelSettings:
    return KannelSettings.from_dict({
        "url": "http://kannel:13013/cgi-bin/sendsms", "username": "u", "password": "p",
        "sender": SERVICE_NUMBER, "secret": SECRET, "inbound_url": "http://hallq/sms/kannel/inbound",
        "dlr_url": "http://hallq/sms/kannel/dlr", "allowed_ips": "127.0.0.1, 10.0.0.0/24", **overrides})


def kannel_request(params: dict, remote_addr: str = "127.0.0.1") -> Request:
    query = urllib.parse.urlencode(params)
    return EnvironBuilder(path="/sms/kannel/inbound", query_string=query,
                          environ_base={"REMOTE_ADDR": remote_addr}).get_request()


@pytest.mark.parametrize("raw, coding, charset, text", [
    ("1 服务很好".encode("utf-16-be"), "2", "UTF-16BE", "1 服务很好"),
    (b"TD please", "0", "UTF-8", "TD please"),  # 7-bit: Kannel hands it over as UTF-8
    ("满意".encode("utf-8"), "1", "8-BIT", "满意"),  # 8-bit: bytes as the phone sent them
    (b"caf\xe9", "1", "8-BIT", "café"),
])
def test_kannel_message_bytes_are_decoded_by_their_coding(raw, coding, charset, text):
    assert decode_message(raw, coding, charset) == text


def test_a_settings_mistake_names_the_setting():
    with pytest.raises(ValueError, match="'secret'"):
        kannel_settings(secret="short")
    with pytest.raises(ValueError, match="'allowed_ips'"):
        kannel_settings(allowed_ips=["not-an-address"])
    with pytest.raises(DomainError) as raised:
        OutgoingSms(to="+8613800138000", text="x", reference="s-1")
    assert raised.value.field == "to"


# --- Twilio --------------------------------------------------------------------------------

ACCOUNT = "AC" + "0" * 32
TOKEN = "twilio-auth-token-for-tests"
WEBHOOK = "https://hallq.example.cn/sms/twilio/inbound"


class FakeTwilioApi:
    """A local server speaking the shape of Twilio's Messages API (the subset the SDK's
    ``messages.create`` uses): Basic auth, form body, JSON answers and error bodies."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_with: int | None = None
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @Request.application
    def wsgi(self, request: Request) -> Response:
        self.requests.append({"path": request.path, "form": request.form.to_dict(),
                              "auth": (request.authorization.username, request.authorization.password)
                              if request.authorization else None})
        if request.authorization is None or request.authorization.password != TOKEN:
            return self.error(401, 20003, "Authenticate")
        if self.fail_with:
            return self.error(self.fail_with, 20500, "Internal Server Error")
        if request.form["To"] == "+8613800000000":
            return self.error(400, 21211, "The 'To' number +8613800000000 is not a valid phone number.")
        return Response(json.dumps({
            "sid": "SM" + "a" * 32, "account_sid": ACCOUNT, "status": "queued",
            "to": request.form["To"], "from": request.form.get("From"), "body": request.form["Body"],
            "num_segments": "1", "direction": "outbound-api", "error_code": None, "error_message": None,
            "date_created": "Wed, 02 Dec 2026 03:00:00 +0000", "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/SM{'a' * 32}.json",
        }), status=201, content_type="application/json")

    @staticmethod
    def error(status: int, code: int, message: str) -> Response:
        body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status}
        return Response(json.dumps(body), status=status, content_type="application/json")


@pytest.fixture(scope="module")
def twilio_api():
    api = FakeTwilioApi()
    yield api
    api.server.shutdown()


@pytest.fixture
def twilio(twilio_api) -> TwilioGateway:
    twilio_api.fail_with = None
    return TwilioGateway({"account_sid": ACCOUNT, "auth_token": TOKEN, "sender": "+15005550006",
                          "status_callback_url": "https://hallq.example.cn/sms/twilio/status",
                          "webhook_base_url": "https://hallq.example.cn",
                          "api_base_url": f"http://127.0.0.1:{twilio_api.port}"})


def twilio_signature(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    """Twilio's documented scheme, written out independently of the SDK's validator:
    base64(HMAC-SHA1(token, url + each param name and value, sorted by name))."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def twilio_request(path: str, params: dict[str, str], signature: str | None, query: str = "") -> Request:
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    # Seen by this process as plain HTTP on an internal host: the TLS terminator is in front.
    return EnvironBuilder(method="POST", base_url="http://10.0.0.5:8000", path=path, query_string=query,
                          data=params, headers=headers).get_request()


INBOUND = {"MessageSid": "SM" + "b" * 32, "AccountSid": ACCOUNT, "From": "+8613800138000",
           "To": "+15005550006", "Body": "2 等了很久", "NumMedia": "0"}


def test_sending_through_twilio_posts_the_messages_api_with_our_reference_on_the_callback(twilio, twilio_api):
    result = twilio.send(OutgoingSms(to="8613800138000", text=SURVEY, reference="survey-7"))

    assert result.accepted and result.gateway_id == "SM" + "a" * 32 and result.detail == "queued"
    sent = twilio_api.requests[-1]
    assert sent["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert sent["auth"] == (ACCOUNT, TOKEN)
    assert sent["form"]["To"] == "+8613800138000" and sent["form"]["From"] == "+15005550006"
    assert sent["form"]["Body"] == SURVEY
    assert sent["form"]["StatusCallback"] == "https://hallq.example.cn/sms/twilio/status?ref=survey-7"


def test_twilio_refusing_the_number_is_a_final_refusal_not_an_error(twilio):
    result = twilio.send(OutgoingSms(to="8613800000000", text=SURVEY, reference="survey-8"))

    assert not result.accepted and "21211" in result.detail


def test_a_twilio_outage_is_retryable_and_wrong_credentials_are_not(twilio, twilio_api):
    twilio_api.fail_with = 503
    with pytest.raises(GatewayError) as outage:
        twilio.send(OutgoingSms(to="8613800138000", text="x", reference="survey-9"))
    assert outage.value.retryable is True

    twilio_api.fail_with = None
    wrong = TwilioGateway(replace(twilio.settings, auth_token="wrong"))
    with pytest.raises(GatewayError) as refused:
        wrong.send(OutgoingSms(to="8613800138000", text="x", reference="survey-9"))
    assert refused.value.retryable is False


def test_twilio_unreachable_is_retryable(twilio):
    down = TwilioGateway(replace(twilio.settings, api_base_url=f"http://127.0.0.1:{free_port()}"))

    with pytest.raises(GatewayError) as raised:
        down.send(OutgoingSms(to="8613800138000", text="x", reference="survey-10"))
    assert raised.value.retryable is True


def test_a_twilio_reply_with_a_valid_signature_is_read(twilio):
    request = twilio_request("/sms/twilio/inbound", INBOUND, twilio_signature(WEBHOOK, INBOUND))

    reply = twilio.parse_inbound(request)

    assert (reply.sender, reply.text, reply.gateway_id) == ("8613800138000", "2 等了很久", "SM" + "b" * 32)


def test_a_twilio_reply_with_a_forged_signature_is_refused(twilio):
    forged = twilio_signature(WEBHOOK, INBOUND, token="not-our-token")

    with pytest.raises(InboundForbidden):
        twilio.parse_inbound(twilio_request("/sms/twilio/inbound", INBOUND, forged))


def test_a_twilio_reply_without_a_signature_is_refused(twilio):
    with pytest.raises(InboundForbidden) as raised:
        twilio.parse_inbound(twilio_request("/sms/twilio/inbound", INBOUND, None))
    assert raised.value.field == "X-Twilio-Signature"


def test_a_twilio_reply_whose_params_were_tampered_with_is_refused(twilio):
    signature = twilio_signature(WEBHOOK, INBOUND)
    tampered = {**INBOUND, "Body": "1"}

    with pytest.raises(InboundForbidden):
        twilio.parse_inbound(twilio_request("/sms/twilio/inbound", tampered, signature))


def test_a_twilio_signature_for_another_url_is_refused(twilio):
    signature = twilio_signature("https://elsewhere.example.com/sms/twilio/inbound", INBOUND)

    with pytest.raises(InboundForbidden):
        twilio.parse_inbound(twilio_request("/sms/twilio/inbound", INBOUND, signature))


def test_a_signed_twilio_reply_missing_a_field_is_malformed_naming_it(twilio):
    params = {k: v for k, v in INBOUND.items() if k != "From"}

    with pytest.raises(MalformedInbound) as raised:
        twilio.parse_inbound(twilio_request("/sms/twilio/inbound", params, twilio_signature(WEBHOOK, params)))
    assert raised.value.field == "From"


@pytest.mark.parametrize("twilio_status, status", [
    ("queued", DeliveryStatus.PENDING), ("sent", DeliveryStatus.SENT),
    ("delivered", DeliveryStatus.DELIVERED), ("undelivered", DeliveryStatus.FAILED),
    ("failed", DeliveryStatus.FAILED),
])
def test_a_twilio_status_callback_becomes_a_delivery_report(twilio, twilio_status, status):
    params = {"MessageSid": "SM" + "a" * 32, "MessageStatus": twilio_status, "AccountSid": ACCOUNT,
              "To": "+8613800138000", "From": "+15005550006"}
    if twilio_status in ("undelivered", "failed"):
        params["ErrorCode"] = "30003"
    url = "https://hallq.example.cn/sms/twilio/status?ref=survey-7"
    request = twilio_request("/sms/twilio/status", params, twilio_signature(url, params), query="ref=survey-7")

    report = twilio.parse_delivery_report(request)

    assert (report.reference, report.gateway_id, report.status) == ("survey-7", "SM" + "a" * 32, status)
    if status is DeliveryStatus.FAILED:
        assert "30003" in report.detail


def test_a_twilio_status_callback_with_an_unknown_status_is_malformed(twilio):
    params = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "exploded"}
    url = "https://hallq.example.cn/sms/twilio/status"

    with pytest.raises(MalformedInbound) as raised:
        twilio.parse_delivery_report(twilio_request("/sms/twilio/status", params, twilio_signature(url, params)))
    assert raised.value.field == "MessageStatus"


def test_the_twilio_gateway_is_an_sms_gateway(twilio):
    assert isinstance(twilio, SmsGateway)
