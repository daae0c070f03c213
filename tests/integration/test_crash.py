"""A web process killed (SIGKILL) while kiosks and counters are busy loses nothing it acknowledged.

The production web role (the Procfile's ``web:``, two gunicorn workers) on each database, with
eight kiosks issuing and two counters calling and finishing as fast as they can over HTTP. The
process group is killed mid-load, without warning. Every ticket a kiosk got a 201 for must be in
the database with the number it was given, every call a counter got a 200 for must be recorded,
and no number or call may be doubled; a new process then carries on from where the old one was.
"""
from __future__ import annotations

import signal
import threading
import time

import requests
from sqlalchemy import create_engine, func, select

from app.bootstrap import bootstrap, clock_from
from app.domain.model import Action
from app.storage.orm import Ticket, TicketEvent

from ..conftest import FAST_HASH
from ..e2e.conftest import START
from ..processes import Deployment
from ..world import bearer, build_world, staff_token

KIOSKS = 8
LOAD_S = 3.0


def _deployment(tmp_path, database_url: str):
    deployment = Deployment.create(tmp_path, database_url, START)  # the fixtures' databases are migrated
    rt = bootstrap(database_url, clock=clock_from(START, deployment.clock_origin), password_hash_method=FAST_HASH,
                   enforce_opening_hours=False)
    try:
        world = build_world(rt)
        tokens = {name: staff_token(rt, staff_id) for name, staff_id in world.staff.items()}
    finally:
        rt.engine.dispose()
    return deployment, world, tokens


def _load(url: str, world, tokens, stop: threading.Event, issued: list, called: list) -> list[threading.Thread]:
    hall = world.one

    def kiosk(i: int) -> None:
        with requests.Session() as http:
            http.headers.update(bearer(hall.tokens["kiosk"]))
            while not stop.is_set():
                try:
                    r = http.post(f"{url}/api/v1/halls/{hall.id}/tickets", timeout=5,
                                  json={"service_id": hall.services["ABC"[i % 3]]})
                except requests.RequestException:
                    continue  # the server died under it: no acknowledgement
                if r.status_code == 201:
                    issued.append((r.json()["id"], r.json()["label"]))

    def counter(number: int, staff: str) -> None:
        with requests.Session() as http:
            http.headers.update(bearer(tokens[staff]))
            base = f"{url}/api/v1/counters/{hall.counters[number]}"
            while not stop.is_set():
                try:
                    r = http.post(f"{base}/call-next", timeout=5)
                    if r.status_code == 200 and r.json()["ticket"]:
                        called.append(r.json()["ticket"]["id"])
                        http.post(f"{base}/finish", json={}, timeout=5)
                except requests.RequestException:
                    continue

    threads = [threading.Thread(target=kiosk, args=(i,), daemon=True) for i in range(KIOSKS)]
    threads += [threading.Thread(target=counter, args=(n, s), daemon=True) for n, s in ((1, "s1"), (2, "t1"))]
    for t in threads:
        t.start()
    return threads


def test_a_killed_web_process_lost_no_acknowledged_ticket_or_call(tmp_path, database_url):
    deployment, world, tokens = _deployment(tmp_path, database_url)
    hall = world.one
    deployment.start_web()
    for number, staff in ((1, "s1"), (2, "t1")):
        requests.post(f"{deployment.web.url}/api/v1/counters/{hall.counters[number]}/open", json={},
                      headers=bearer(tokens[staff]), timeout=10).raise_for_status()
    issued: list[tuple[int, str]] = []
    called: list[int] = []
    stop = threading.Event()
    threads = _load(deployment.web.url, world, tokens, stop, issued, called)
    try:
        time.sleep(LOAD_S)
        deployment.web.stop(signal.SIGKILL)  # mid-load, no goodbye
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert len(issued) > 20 and called, (len(issued), len(called))  # it was really under load

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            stored = dict(conn.execute(select(Ticket.id, Ticket.label).where(Ticket.hall_id == hall.id)).all())
            numbers = conn.execute(select(Ticket.label, func.count()).where(Ticket.hall_id == hall.id)
                                   .group_by(Ticket.label).having(func.count() > 1)).all()
            calls = conn.execute(select(TicketEvent.ticket_id, func.count()).where(TicketEvent.kind == Action.CALL.value)
                                 .group_by(TicketEvent.ticket_id).having(func.count() > 1)).all()
            recorded_calls = set(conn.execute(select(TicketEvent.ticket_id).where(TicketEvent.kind == Action.CALL.value))
                                 .scalars())
    finally:
        engine.dispose()
    assert all(stored.get(ticket_id) == label for ticket_id, label in issued)  # every acknowledged ticket, as given
    assert numbers == [] and calls == []  # no number handed out twice, no ticket called twice
    assert set(called) <= recorded_calls  # every acknowledged call recorded

    deployment.web = None
    try:  # a new process carries on: the next number follows the last one stored
        web = deployment.start_web()
        r = requests.post(f"{web.url}/api/v1/halls/{hall.id}/tickets", json={"service_id": hall.services["A"]},
                          headers=bearer(hall.tokens["kiosk"]), timeout=10)
        assert r.status_code == 201, r.text
        a_numbers = sorted(int(label[1:]) for label in stored.values() if label.startswith("A"))
        assert r.json()["label"] == f"A{a_numbers[-1] + 1:03d}"
    finally:
        deployment.stop()
