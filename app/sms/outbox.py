"""The outbox gateway, the embedded default: "sending" stores the message in ``sms_outbox``.

Nothing leaves the building, so the demo and a fresh install work with no SMS gateway at
all. Staff see the outbox through the API (``GET /api/v1/sms/outbox``) and may answer a
message as the customer would (``POST /api/v1/sms/outbox/reply``), which goes through the
same reply handling as a real gateway's callback. Unlike the network adapters it writes to
the database, in its own transaction (the sending job calls it outside any other).
"""
from __future__ import annotations

from .gateway import InboundForbidden, OutgoingSms, SendResult


class OutboxGateway:
    """Stores messages instead of sending them; the number is kept protected like everywhere else."""

    name = "outbox"

    def __init__(self, rt, vault) -> None:
        self.rt = rt
        self.vault = vault

    def send(self, message: OutgoingSms) -> SendResult:
        from ..storage.orm import SmsOutboxMessage

        number = self.vault.protect(message.to)
        with self.rt.uow() as tx:
            row = SmsOutboxMessage(created_at=self.rt.now(), number_cipher=number.cipher, number_key=number.key,
                                   number_masked=number.masked, text=message.text, reference=message.reference)
            tx.session.add(row)
            tx.session.flush()
            gateway_id = f"outbox-{row.id}"
            tx.commit()
        return SendResult(gateway_id=gateway_id, accepted=True, detail="stored in the outbox")

    def parse_inbound(self, request):
        raise InboundForbidden("the outbox takes replies through POST /api/v1/sms/outbox/reply")

    def parse_delivery_report(self, request):
        raise InboundForbidden("the outbox has no delivery reports")


__all__ = ["OutboxGateway"]
