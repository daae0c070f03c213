"""The SMS gateway port: what the survey jobs send and what the reply endpoints receive.

Adapters (Kannel, Twilio, the outbox) turn one operator's protocol into these plain
values, so the survey core never learns which gateway carried a message. Adapters hold no
database and no Flask app; the inbound side only reads the request object it is handed.

Errors follow the web layer's mapping of ``app.domain.errors``: a request that fails
authentication is ``InboundForbidden`` (403), a malformed one ``MalformedInbound`` (400)
naming the field. A failed send raises ``GatewayError``; its ``retryable`` flag tells the
sending job whether to try again later or to stop and alert.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from app.domain.errors import DomainError, Forbidden, Invalid

MSISDN = re.compile(r"^[1-9]\d{6,14}$")  # E.164 without the '+': country code first
REFERENCE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # travels inside gateways' callback URLs


class InboundForbidden(Forbidden):
    """The request did not prove it came from our gateway (secret, signature or source address)."""

    code = "sms_forbidden"


class MalformedInbound(DomainError):
    """The request came from the gateway (or claims to) but lacks or garbles a field."""

    status = 400
    code = "sms_malformed"


class GatewayError(Exception):
    """Sending failed before the gateway took responsibility for the message.

    ``retryable`` is true for what time may cure (network down, timeout, 5xx, rate limit),
    false for what it will not (credentials refused, gateway misconfigured).
    """

    def __init__(self, gateway: str, message: str, *, retryable: bool) -> None:
        super().__init__(f"{gateway}: {message}")
        self.gateway = gateway
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class OutgoingSms:
    """One message to one customer. ``reference`` is ours (e.g. the survey's id) and comes
    back on delivery reports, so it is restricted to characters safe in a callback URL."""

    to: str
    text: str
    reference: str

    def __post_init__(self) -> None:
        if not MSISDN.match(self.to):
            raise Invalid("the number must be digits in E.164 form without '+', e.g. 8613800138000",
                          field="to")
        if not self.text:
            raise Invalid("the message text is empty", field="text")
        if not REFERENCE.match(self.reference):
            raise Invalid("the reference must be 1-64 of A-Z a-z 0-9 . _ : -", field="reference")


@dataclass(frozen=True)
class SendResult:
    """The gateway's answer. ``accepted`` false means it refused this message for good
    (a bad number, say): do not retry it. ``gateway_id`` is the gateway's own id, when it
    gives one (Twilio's MessageSid; Kannel's sendsms returns none)."""

    gateway_id: str | None
    accepted: bool
    detail: str


@dataclass(frozen=True)
class InboundSms:
    """A customer's message, authenticated; ``sender`` is E.164 digits without '+'.

    ``message_key`` identifies the message at its gateway, so that a call delivered twice is stored
    once: what the gateway always sends about it and a replay cannot leave out. Without one, the
    gateway's id (``gateway_id``) serves, which suits a gateway that signs it (Twilio)."""

    sender: str
    text: str
    received_at: datetime
    gateway_id: str | None = None
    message_key: str | None = None

    @property
    def key(self) -> str | None:
        return self.message_key or self.gateway_id


class DeliveryStatus(enum.Enum):
    """Where a sent message is, in the few states every gateway can be mapped to."""

    PENDING = "pending"  # queued or buffered, no outcome yet
    SENT = "sent"  # handed to the operator's network
    DELIVERED = "delivered"  # the phone has it
    FAILED = "failed"  # undeliverable or rejected; final

    @property
    def is_final(self) -> bool:
        return self in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)


@dataclass(frozen=True)
class DeliveryReport:
    """A delivery report for a message we sent, matched by our ``reference`` when the
    gateway carries it back, else by its ``gateway_id``."""

    reference: str | None
    gateway_id: str | None
    status: DeliveryStatus
    detail: str = ""
    reported_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.reference is None and self.gateway_id is None:
            raise MalformedInbound("a delivery report needs our reference or the gateway's id",
                                   field="reference")


@runtime_checkable
class SmsGateway(Protocol):
    """What the survey jobs and reply endpoints need from any SMS gateway."""

    name: str

    def send(self, message: OutgoingSms) -> SendResult:
        """Hand one message over; raise ``GatewayError`` if the gateway could not take it."""
        ...

    def parse_inbound(self, request) -> InboundSms:
        """Authenticate and read a customer's message from the gateway's HTTP callback."""
        ...

    def parse_delivery_report(self, request) -> DeliveryReport:
        """Authenticate and read a delivery report from the gateway's HTTP callback."""
        ...


def normalize_msisdn(raw: str, field: str, default_country: str = "86") -> str:
    """A sender as gateways write it (+86..., 0086..., 138...) in our E.164-digits form
    (``app.services.mobiles.msisdn``); unreadable is a malformed request naming ``field``."""
    from ..domain.survey import BadMsisdn
    from ..services.mobiles import msisdn

    try:
        return msisdn(raw, default_country)
    except BadMsisdn as exc:
        raise MalformedInbound(f"not a phone number: {raw!r} ({exc})", field=field) from exc
