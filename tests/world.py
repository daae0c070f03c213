"""A small organisation for tests, built through the real services: two halls, services, counters, staff, devices."""
from __future__ import annotations

from dataclasses import dataclass, field

from app.bootstrap import Runtime
from app.services import auth, config, footfall

PASSWORD = "correct-horse-1"
ALL_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@dataclass
class HallSetup:
    id: int
    services: dict[str, int]  # prefix -> id
    counters: dict[int, int]  # number -> id
    staff: dict[str, int]  # username -> id
    tokens: dict[str, str] = field(default_factory=dict)  # "kiosk" / "display" / "sensor" -> device token
    devices: dict[str, int] = field(default_factory=dict)  # "sensor" -> device id
    sensors: dict[str, int] = field(default_factory=dict)  # sensor code -> id


@dataclass
class World:
    halls: list[HallSetup]
    staff: dict[str, int]

    @property
    def one(self) -> HallSetup:
        return self.halls[0]

    @property
    def two(self) -> HallSetup:
        return self.halls[1]


def build_world(rt: Runtime, hours: dict | None = None, counters: dict[int, str] | None = None) -> World:
    """Hall 1 and hall 2 alike: services A (target 10 min), B (20 min), C (20 min); counters 1:A 2:AB 3:BC."""
    counters = counters or {1: "A", 2: "AB", 3: "BC"}
    region = config.create_region(rt, {"code": "R1", "name_zh": "河南", "name_en": "Henan"})
    city = config.create_city(rt, {"region_id": region["id"], "code": "C1", "name_zh": "郑州", "name_en": "Zhengzhou"})
    staff = {
        "admin": config.create_staff(rt, {"username": "admin", "name": "管理员", "password": PASSWORD, "role": "admin"})["id"],
        "hq": config.create_staff(rt, {"username": "hq", "name": "省公司", "password": PASSWORD, "role": "head_office"})["id"],
    }
    halls = []
    for n in (1, 2):
        hall = config.create_hall(rt, {"city_id": city["id"], "code": f"H{n}", "name_zh": f"营业厅{n}",
                                       "name_en": f"Hall {n}", "timezone": "Asia/Shanghai",
                                       "opening_hours": hours or ALL_DAY})
        services = {}
        for prefix, target, handle in (("A", 600, 120), ("B", 1200, 420), ("C", 1200, 600)):
            services[prefix] = config.create_service(rt, hall["id"], {
                "code": f"svc{prefix.lower()}", "prefix": prefix, "name_zh": f"业务{prefix}", "name_en": f"Service {prefix}",
                "target_wait_s": target, "handle_time_s": handle})["id"]
        counter_ids = {
            number: config.create_counter(rt, hall["id"], {"number": number, "name": f"{number}号窗口",
                                                           "service_ids": [services[p] for p in prefixes]})["id"]
            for number, prefixes in counters.items()
        }
        hall_staff = {
            f"m{n}": config.create_staff(rt, {"username": f"m{n}", "name": f"厅经理{n}", "password": PASSWORD,
                                              "role": "hall_manager", "hall_id": hall["id"]})["id"],
            f"s{n}": config.create_staff(rt, {"username": f"s{n}", "name": f"营业员{n}", "password": PASSWORD,
                                              "role": "counter_staff", "hall_id": hall["id"]})["id"],
            f"t{n}": config.create_staff(rt, {"username": f"t{n}", "name": f"营业员{n}b", "password": PASSWORD,
                                              "role": "counter_staff", "hall_id": hall["id"]})["id"],
        }
        staff.update(hall_staff)
        setup = HallSetup(hall["id"], services, counter_ids, hall_staff)
        setup.tokens["kiosk"] = auth.register_device(rt, hall["id"], "kiosk", f"kiosk {n}")["token"]
        setup.tokens["display"] = auth.register_device(rt, hall["id"], "display", f"display {n}")["token"]
        agent = auth.register_device(rt, hall["id"], "sensor", f"door agent {n}")
        setup.tokens["sensor"], setup.devices["sensor"] = agent["token"], agent["id"]
        setup.sensors["door"] = footfall.register_sensor(rt, hall["id"], {
            "code": "door", "name_zh": "正门摄像头", "name_en": "Main door camera", "door": "正门",
            "kind": "camera", "device_id": agent["id"]})["id"]
        halls.append(setup)
    return World(halls, staff)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def staff_token(rt: Runtime, staff_id: int) -> str:
    return auth.issue_api_token(rt, staff_id)


def sign_in(client, username: str, password: str = PASSWORD):
    """Sign in through the form, as a browser does: the page's CSRF token, then the post."""
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def sign_out(client):
    import re

    page = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/logout", data={"csrf_token": token})

