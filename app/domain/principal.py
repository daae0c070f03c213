"""Who is calling: a staff member or a device, as the access rules see them (``domain.policy``)."""

from __future__ import annotations

from dataclasses import dataclass

from .model import DeviceKind, Role


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    kind: str  # "staff" or "device"
    id: int
    name: str
    hall_id: int | None
    role: Role | None = None
    device_kind: DeviceKind | None = None
    counter_id: int | None = None
    region_id: int | None = None  # head office of one region (None: the whole company)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "hall_id": self.hall_id,
            "role": self.role.value if self.role else None,
            "device_kind": self.device_kind.value if self.device_kind else None,
            "counter_id": self.counter_id,
        }

    def is_staff(self, *roles: Role) -> bool:
        return self.kind == "staff" and self.role in roles

    @property
    def staff_id(self) -> int | None:
        """The staff member acting, for the ticket's history (a device acts for nobody)."""
        return self.id if self.kind == "staff" else None

    @property
    def device_id(self) -> int | None:
        return self.id if self.kind == "device" else None
