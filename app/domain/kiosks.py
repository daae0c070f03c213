"""A kiosk's own settings (per device, kept in ``Device.settings["kiosk"]``): the elder-friendly
mode (适老化: larger type and keys, fewer words, spoken prompts) and how long the kiosk waits,
untouched, before it forgets the customer's choices and returns to its start screen."""

from __future__ import annotations

from dataclasses import asdict, dataclass

DIVERSION_WAIT_S = 600  # from this estimated wait, a service with a self-service alternative suggests it first
IDLE_S_DEFAULT = 45
IDLE_S_MIN = 15  # less, and a customer reading the services is sent back while still reading
IDLE_S_MAX = 300  # more, and the next customer finds the last one's number half typed


def self_service_first(self_service_zh: str | None, estimated_wait_s: float | None) -> bool:
    """Whether the kiosk suggests the self-service way before issuing (分流): the service has one,
    and the wait is long (``DIVERSION_WAIT_S`` or more). A priority customer is never diverted (the
    kiosk's part: it knows the tier chosen)."""
    return bool(self_service_zh) and (estimated_wait_s or 0) >= DIVERSION_WAIT_S


@dataclass(frozen=True)
class KioskSettings:
    elder_mode: bool = False
    idle_s: int = IDLE_S_DEFAULT

    @classmethod
    def from_dict(cls, stored: dict | None) -> KioskSettings:
        """What a kiosk runs with: the stored settings, the defaults for what was never set."""
        stored = stored or {}
        return cls(elder_mode=bool(stored.get("elder_mode", False)), idle_s=int(stored.get("idle_s", IDLE_S_DEFAULT)))

    def problem(self) -> tuple[str, str] | None:
        """(field, what is wrong), or None when the kiosk may run with these settings."""
        if not IDLE_S_MIN <= self.idle_s <= IDLE_S_MAX:
            return "idle_s", f"the idle time is {IDLE_S_MIN} to {IDLE_S_MAX} seconds"
        return None

    def to_dict(self) -> dict:
        return asdict(self)
