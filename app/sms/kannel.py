"""Kannel, the open-source SMS gateway operators run, behind the ``SmsGateway`` port.

Out: smsbox's HTTP ``/cgi-bin/sendsms``. Chinese needs UCS-2, so the text goes as UTF-8
with ``charset=UTF-8&coding=2`` and smsbox converts it; a ``dlr-url`` carrying our
reference and secret brings the delivery reports back.

In: Kannel's ``sms-service`` calls the URL that ``sms_service_url()`` generates (put it in
kannel.conf as ``get-url``). It carries the message as ``%b``, the raw bytes, plus the
coding (``%c``) and charset (``%C``) to decode them with: ``%a`` is no good for UCS-2,
because Kannel squeezes "whitespace" bytes inside the UTF-16 code units and so breaks
characters like 服 (U+670D). Kannel cannot sign its calls, so both URLs carry a shared
secret, compared in constant time, and the caller's address can be restricted too.

Nor can anything in such a URL be trusted not to have been dropped or changed on a replay, the
message's id (``%I``) included. So a reply is stored once per what Kannel always sends about
it and the reply is read from: the sender, the time the SMSC took it (``%T``, required) and the
text. Its ``message_key`` is an HMAC of these under the shared secret (a key of the customer's
number that is no use without the secret). A replay that changes one of them is a new message
to us, as it would be to anyone without a signature.

Seen with Kannel 1.4.5 and its fake SMSC (tests/integration/test_sms_gateways.py).
"""
from __future__ import annotations

import codecs
import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Mapping
from urllib.parse import parse_qsl

import requests

from .gateway import (DeliveryReport, DeliveryStatus, GatewayError, InboundForbidden, InboundSms,
                      MalformedInbound, OutgoingSms, SendResult, normalize_msisdn)

URL_SAFE_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,}$")
DLR_MASK_ALL = 31  # delivered 1, failed 2, buffered 4, SMSC accepted 8, SMSC rejected 16
# Characters of the GSM 7-bit default alphabet that are also plain ASCII: such a text
# fits 160 to an SMS instead of UCS-2's 70, and Kannel converts it without loss.
GSM7_ASCII = set("@$\n\r _!\"#%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 "abcdefghijklmnopqrstuvwxyz")
UCS2_CHARSETS = {"UTF-16BE", "UTF16-BE", "UCS-2", "UCS2", "UCS-2BE", "UTF-16"}


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class KannelSettings:
    """Where smsbox is, how we sign in to it, and how Kannel reaches us back."""

    url: str  # smsbox's sendsms, e.g. http://kannel:13013/cgi-bin/sendsms
    username: str  # a sendsms-user of kannel.conf
    password: str
    sender: str  # the 'from' customers see, e.g. 10086 or a 106... service number
    secret: str  # carried by the callback URLs; letters, digits, '-' and '_' only
    inbound_url: str  # our reply endpoint as Kannel reaches it
    dlr_url: str  # our delivery report endpoint as Kannel reaches it
    allowed_ips: tuple[str, ...] = ()  # addresses or networks Kannel calls from; empty: any
    timeout_s: float = 10.0
    default_country: str = "86"

    @classmethod
    def from_dict(cls, config: Mapping) -> "KannelSettings":
        """Settings from configuration; a missing or unusable key is named in the error."""
        required = ("url", "username", "password", "sender", "secret", "inbound_url", "dlr_url")
        for key in required:
            if not config.get(key):
                raise ValueError(f"Kannel setting {key!r} is missing")
        if not URL_SAFE_SECRET.match(config["secret"]):
            raise ValueError("Kannel setting 'secret' must be at least 16 of A-Z a-z 0-9 - _ "
                             "(it is written into Kannel's callback URLs)")
        for key in ("inbound_url", "dlr_url"):
            if "%" in config[key]:
                raise ValueError(f"Kannel setting {key!r} must not contain '%' (Kannel reads it as an escape)")
        allowed = config.get("allowed_ips") or ()
        if isinstance(allowed, str):
            allowed = [part.strip() for part in allowed.split(",") if part.strip()]
        for entry in allowed:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"Kannel setting 'allowed_ips' has an unreadable entry {entry!r}") from None
        return cls(**{key: config[key] for key in required}, allowed_ips=tuple(allowed),
                   timeout_s=float(config.get("timeout_s", 10.0)),
                   default_country=str(config.get("default_country", "86")))


class KannelGateway:
    """Sends through smsbox and reads Kannel's sms-service and delivery report calls."""

    name = "kannel"

    def __init__(self, settings: KannelSettings | Mapping, *, session: requests.Session | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings if isinstance(settings, KannelSettings) else KannelSettings.from_dict(settings)
        self.session = session or requests.Session()
        self.clock = clock
        self._networks = [ipaddress.ip_network(entry, strict=False) for entry in self.settings.allowed_ips]

    # --- configuration Kannel needs from us ------------------------------------------

    def sms_service_url(self) -> str:
        """The ``get-url`` for kannel.conf's ``sms-service``: raw text with its coding, the
        sender, the send time as a Unix timestamp (``%t`` has no time zone) and the secret."""
        return (f"{self.settings.inbound_url}{_joiner(self.settings.inbound_url)}"
                f"secret={self.settings.secret}&from=%p&to=%P&text=%b&coding=%c&charset=%C"
                f"&ts=%T&smsc=%i&id=%I")

    def dlr_url_for(self, reference: str) -> str:
        """The ``dlr-url`` for one message; ``reference`` is URL-safe by ``OutgoingSms``'s rule."""
        return (f"{self.settings.dlr_url}{_joiner(self.settings.dlr_url)}"
                f"secret={self.settings.secret}&ref={reference}&status=%d&ts=%T&smsc=%i"
                f"&reply=%A&id=%F")

    # --- out ---------------------------------------------------------------------------

    def send(self, message: OutgoingSms) -> SendResult:
        """One sendsms call. smsbox answers 202 once it has queued the message; it gives no
        message id, so delivery reports are matched by our reference."""
        params = {
            "username": self.settings.username,
            "password": self.settings.password,
            "from": self.settings.sender,
            "to": message.to,
            "text": message.text,
            "charset": "UTF-8",
            "coding": "0" if set(message.text) <= GSM7_ASCII else "2",
            "dlr-mask": str(DLR_MASK_ALL),
            "dlr-url": self.dlr_url_for(message.reference),
        }
        try:
            response = self.session.get(self.settings.url, params=params, timeout=self.settings.timeout_s)
        except requests.RequestException as error:
            raise GatewayError(self.name, f"smsbox unreachable: {error}", retryable=True) from error
        return self._result(response)

    def _result(self, response: requests.Response) -> SendResult:
        detail = response.text.strip()[:200]
        if response.status_code in (401, 403):
            raise GatewayError(self.name, f"smsbox refused our sendsms-user: {detail}", retryable=False)
        if response.status_code >= 500 or response.status_code == 429:
            raise GatewayError(self.name, f"smsbox answered {response.status_code}: {detail}", retryable=True)
        return SendResult(gateway_id=None, accepted=200 <= response.status_code < 300, detail=detail)

    # --- in ----------------------------------------------------------------------------

    def parse_inbound(self, request) -> InboundSms:
        """A customer's message from the ``sms-service`` call, decoded by its coding."""
        params = self._authenticated_params(request)
        sender = normalize_msisdn(_text(params, "from"), "from", self.settings.default_country)
        text = decode_message(_required(params, "text"), _text(params, "coding", ""), _text(params, "charset", ""))
        if not _text(params, "ts", ""):  # part of what identifies the message
            raise MalformedInbound("the 'ts' parameter (Kannel's %T) is missing", field="ts")
        sent_at = self._time(params)
        return InboundSms(sender=sender, text=text, received_at=sent_at,
                          gateway_id=_text(params, "id", "") or None,
                          message_key=self._message_key(sender, sent_at, text))

    def _message_key(self, sender: str, sent_at: datetime, text: str) -> str:
        """What identifies a message whatever a replay leaves out (see the module's docstring)."""
        fields = "\x00".join((sender, str(int(sent_at.timestamp())), text))
        return hmac.new(self.settings.secret.encode(), fields.encode(), hashlib.sha256).hexdigest()

    def parse_delivery_report(self, request) -> DeliveryReport:
        """A delivery report from the ``dlr-url`` call, mapped to ``DeliveryStatus``."""
        params = self._authenticated_params(request)
        return DeliveryReport(reference=_text(params, "ref"),
                              gateway_id=_text(params, "id", "") or None,
                              status=kannel_dlr_status(_text(params, "status")),
                              detail=_text(params, "reply", ""),
                              reported_at=self._time(params))

    def _authenticated_params(self, request) -> dict[str, bytes]:
        """The query's values as raw bytes (``%b`` may be UTF-16, which a UTF-8 query parser
        would garble), after the source address and the secret have been checked."""
        if self._networks and not self._from_allowed_address(request.remote_addr):
            raise InboundForbidden("this address may not call the Kannel endpoints")
        query = request.query_string.decode("latin-1")
        params = {key: value.encode("latin-1")
                  for key, value in parse_qsl(query, keep_blank_values=True, encoding="latin-1")}
        secret = params.get("secret", b"")
        if not hmac.compare_digest(secret, self.settings.secret.encode()):
            raise InboundForbidden("missing or wrong secret", field="secret")
        return params

    def _from_allowed_address(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    def _time(self, params: dict[str, bytes]) -> datetime:
        raw = _text(params, "ts", "")
        if not raw:
            return self.clock()
        try:
            return datetime.fromtimestamp(int(raw), timezone.utc)
        except (ValueError, OverflowError):
            raise MalformedInbound(f"not a Unix time: {raw!r}", field="ts") from None


def decode_message(raw: bytes, coding: str, charset: str) -> str:
    """Kannel's ``%b`` back to text: UCS-2 (coding 2) is UTF-16BE; 7-bit texts arrive as
    UTF-8 (Kannel converts them); 8-bit ones as the phone sent them (UTF-8, else Latin-1)."""
    if coding == "2" or charset.upper() in UCS2_CHARSETS:
        if len(raw) % 2:
            raise MalformedInbound("UCS-2 text with an odd number of bytes", field="text")
        return raw.decode("utf-16-be", errors="replace")
    if charset and _known_codec(charset) and charset.upper() not in ("UTF-8", "UTF8"):
        return raw.decode(charset, errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def kannel_dlr_status(raw: str) -> DeliveryStatus:
    """Kannel's ``%d``: 1 delivered, 2 undeliverable, 4 buffered at the SMSC, 8 accepted by
    the SMSC, 16 rejected by the SMSC."""
    try:
        value = int(raw)
    except ValueError:
        raise MalformedInbound(f"not a Kannel delivery status: {raw!r}", field="status") from None
    for bit, status in ((1, DeliveryStatus.DELIVERED), (2, DeliveryStatus.FAILED),
                        (16, DeliveryStatus.FAILED), (8, DeliveryStatus.SENT), (4, DeliveryStatus.PENDING)):
        if value & bit:
            return status
    raise MalformedInbound(f"not a Kannel delivery status: {raw!r}", field="status")


def _required(params: dict[str, bytes], field: str) -> bytes:
    if field not in params:
        raise MalformedInbound(f"the {field!r} parameter is missing", field=field)
    return params[field]


def _text(params: dict[str, bytes], field: str, default: str | None = None) -> str:
    if field not in params and default is not None:
        return default
    try:
        return _required(params, field).decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedInbound(f"the {field!r} parameter is not UTF-8", field=field) from None


def _known_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
        return True
    except LookupError:
        return False


def _joiner(url: str) -> str:
    return "&" if "?" in url else "?"


__all__ = ["KannelGateway", "KannelSettings", "decode_message", "kannel_dlr_status"]
