"""Twilio behind the ``SmsGateway`` port, through the official ``twilio`` package.

Out: ``client.messages.create``, with a status callback that carries our reference, so a
delivery report finds its survey even before we have stored Twilio's MessageSid.

In: Twilio signs every webhook with ``X-Twilio-Signature`` (HMAC-SHA1 of the URL it called
and the POSTed form, keyed by the auth token). We check it with the SDK's
``RequestValidator`` over the URL *as Twilio called it*: behind a proxy or TLS terminator
the URL this process sees differs, so ``webhook_base_url`` (the public address) rebuilds it.

``api_base_url`` points the SDK at another host than ``https://api.twilio.com`` (a local
stand-in in tests, a corporate egress proxy in production); it works through the SDK's
documented ``http_client`` hook rather than by patching the client.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Mapping
from urllib.parse import quote

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from .gateway import (DeliveryReport, DeliveryStatus, GatewayError, InboundForbidden, InboundSms,
                      MalformedInbound, OutgoingSms, SendResult, normalize_msisdn)

TWILIO_API = "https://api.twilio.com"
SIGNATURE_HEADER = "X-Twilio-Signature"
STATUSES = {
    "accepted": DeliveryStatus.PENDING, "scheduled": DeliveryStatus.PENDING,
    "queued": DeliveryStatus.PENDING, "sending": DeliveryStatus.PENDING,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED, "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.FAILED, "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    sender: str  # a '+...' number, or a Messaging Service SID ('MG...')
    status_callback_url: str | None = None  # our delivery report endpoint, public address
    webhook_base_url: str | None = None  # scheme://host[:port] Twilio calls us at, if not what we see
    api_base_url: str | None = None  # instead of https://api.twilio.com
    timeout_s: float = 10.0
    default_country: str = "86"

    @classmethod
    def from_dict(cls, config: Mapping) -> "TwilioSettings":
        """Settings from configuration; a missing key is named in the error."""
        for key in ("account_sid", "auth_token", "sender"):
            if not config.get(key):
                raise ValueError(f"Twilio setting {key!r} is missing")
        known = {field for field in cls.__dataclass_fields__}
        unknown = set(config) - known
        if unknown:
            raise ValueError(f"unknown Twilio setting(s): {', '.join(sorted(unknown))}")
        return cls(**config)


class RebasedHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, sending what it would send to api.twilio.com elsewhere."""

    def __init__(self, base_url: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)


class TwilioGateway:
    """Sends with the Twilio SDK and reads Twilio's signed webhooks."""

    name = "twilio"

    def __init__(self, settings: TwilioSettings | Mapping, *, client: Client | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings if isinstance(settings, TwilioSettings) else TwilioSettings.from_dict(settings)
        self.client = client or self._client()
        self.validator = RequestValidator(self.settings.auth_token)
        self.clock = clock

    def _client(self) -> Client:
        s = self.settings
        http = (RebasedHttpClient(s.api_base_url, timeout=s.timeout_s) if s.api_base_url
                else TwilioHttpClient(timeout=s.timeout_s))
        return Client(s.account_sid, s.auth_token, http_client=http)

    # --- out ---------------------------------------------------------------------------

    def send(self, message: OutgoingSms) -> SendResult:
        """One Messages API call. Twilio refusing the message itself (a bad number, an
        opted-out one) is a final ``accepted=False``; credentials or outages raise."""
        try:
            created = self.client.messages.create(**self._create_args(message))
        except TwilioRestException as error:
            return self._refusal(error)
        except (requests.RequestException, TwilioException) as error:
            raise GatewayError(self.name, f"Twilio unreachable: {error}", retryable=True) from error
        accepted = STATUSES.get(created.status) is not DeliveryStatus.FAILED
        return SendResult(gateway_id=created.sid, accepted=accepted, detail=created.status or "")

    def _create_args(self, message: OutgoingSms) -> dict:
        args = {"to": "+" + message.to, "body": message.text}
        if self.settings.sender.startswith("MG"):
            args["messaging_service_sid"] = self.settings.sender
        else:
            args["from_"] = self.settings.sender
        if self.settings.status_callback_url:
            url = self.settings.status_callback_url
            args["status_callback"] = f"{url}{'&' if '?' in url else '?'}ref={message.reference}"
        return args

    def _refusal(self, error: TwilioRestException) -> SendResult:
        detail = f"{error.status} {error.code}: {error.msg}"
        if error.status in (401, 403):
            raise GatewayError(self.name, f"credentials refused: {detail}", retryable=False) from error
        if error.status >= 500 or error.status == 429:
            raise GatewayError(self.name, detail, retryable=True) from error
        return SendResult(gateway_id=None, accepted=False, detail=detail)

    # --- in ----------------------------------------------------------------------------

    def parse_inbound(self, request) -> InboundSms:
        """A customer's message from Twilio's incoming-message webhook."""
        params = self._verified_params(request)
        return InboundSms(sender=normalize_msisdn(_field(params, "From"), "From", self.settings.default_country),
                          text=_field(params, "Body"),
                          received_at=self.clock(),
                          gateway_id=_field(params, "MessageSid"))

    def parse_delivery_report(self, request) -> DeliveryReport:
        """A status callback; ``ref`` is the query parameter ``send`` added to its URL."""
        params = self._verified_params(request)
        raw_status = _field(params, "MessageStatus")
        if raw_status not in STATUSES:
            raise MalformedInbound(f"not a status of a sent message: {raw_status!r}", field="MessageStatus")
        error_code = params.get("ErrorCode") or ""
        return DeliveryReport(reference=request.args.get("ref") or None,
                              gateway_id=_field(params, "MessageSid"),
                              status=STATUSES[raw_status],
                              detail=f"{raw_status} {error_code}".strip(),
                              reported_at=self.clock())

    def _verified_params(self, request):
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            raise InboundForbidden(f"the {SIGNATURE_HEADER} header is missing", field=SIGNATURE_HEADER)
        params = request.form if request.method == "POST" else {}
        if not self.validator.validate(self.public_url(request), params, signature):
            raise InboundForbidden("the Twilio signature does not match", field=SIGNATURE_HEADER)
        return params if params else request.args

    def public_url(self, request) -> str:
        """The URL Twilio called: ``webhook_base_url`` when we sit behind a proxy."""
        base = (self.settings.webhook_base_url or request.host_url).rstrip("/")
        path = quote(request.script_root + request.path, safe="/:@!$&'()*+,;=-._~")
        query = request.query_string.decode("latin-1")
        return f"{base}{path}?{query}" if query else f"{base}{path}"


def _field(params, name: str) -> str:
    value = params.get(name)
    if value is None:
        raise MalformedInbound(f"the {name!r} field is missing", field=name)
    return value
