"""SMS gateways for the satisfaction surveys: one port (``gateway``), one adapter per gateway.

Import the adapters from their modules (``app.sms.kannel``, ``app.sms.twilio_gateway``);
this package only re-exports the port, so code that merely speaks of messages does not
load HTTP clients or the Twilio SDK.
"""
from .gateway import (DeliveryReport, DeliveryStatus, GatewayError, InboundForbidden, InboundSms,
                      MalformedInbound, OutgoingSms, SendResult, SmsGateway, normalize_msisdn)

__all__ = ["DeliveryReport", "DeliveryStatus", "GatewayError", "InboundForbidden", "InboundSms",
           "MalformedInbound", "OutgoingSms", "SendResult", "SmsGateway", "normalize_msisdn"]
