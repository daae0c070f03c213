"""SQLite's write gate (storage.db.SqliteWriteGate): one writer at a time across the threads of a
process and across processes (several web workers on one database file), waiting in the kernel
rather than in SQLite's sleeping busy handler; and a gate made before a fork still keeps the parent
and the child apart."""
from __future__ import annotations

import multiprocessing
import os
import threading
import time

import pytest

from app.bootstrap import bootstrap
from app.storage.db import SqliteWriteGate, make_engine, write_gate

ROUNDS = 200


def _hold_and_log(gate: SqliteWriteGate, log_path: str, who: str, rounds: int) -> None:
    """Inside the gate, write an opening and a closing line; another holder in between would show."""
    for _ in range(rounds):
        gate.acquire()
        try:
            with open(log_path, "a") as f:
                f.write(f"open {who}\n")
                f.flush()
                time.sleep(0.0005)  # long enough for another holder to show up
                f.write(f"close {who}\n")
        finally:
            gate.release()


def _in_child(database_path: str, log_path: str, who: str, rounds: int) -> None:
    _hold_and_log(SqliteWriteGate(database_path), log_path, who, rounds)


def _never_interleaved(log_path: str, holds: int) -> None:
    lines = open(log_path).read().split("\n")[:-1]
    assert len(lines) == 2 * holds
    for i in range(0, len(lines), 2):
        assert lines[i].startswith("open ") and lines[i + 1] == "close " + lines[i][5:], lines[i:i + 2]


def test_processes_and_their_threads_hold_the_gate_one_at_a_time(tmp_path):
    database, log_path = str(tmp_path / "hall.sqlite3"), str(tmp_path / "holders.log")
    ctx = multiprocessing.get_context("spawn")
    children = [ctx.Process(target=_in_child, args=(database, log_path, f"p{i}", ROUNDS)) for i in range(2)]
    for child in children:
        child.start()
    gate = SqliteWriteGate(database)
    threads = [threading.Thread(target=_hold_and_log, args=(gate, log_path, f"t{i}", ROUNDS)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    _never_interleaved(log_path, 5 * ROUNDS)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_gate_made_before_a_fork_keeps_the_parent_and_the_child_apart(tmp_path):
    """gunicorn may build the app before it forks its workers: an inherited descriptor would share
    its lock with the parent, so each process opens its own."""
    database, log_path = str(tmp_path / "hall.sqlite3"), str(tmp_path / "holders.log")
    gate = SqliteWriteGate(database)
    _hold_and_log(gate, log_path, "before", 1)  # the parent has opened its descriptor
    child = multiprocessing.get_context("fork").Process(target=_hold_and_log, args=(gate, log_path, "child", ROUNDS))
    child.start()
    _hold_and_log(gate, log_path, "parent", ROUNDS)
    child.join(60)
    assert child.exitcode == 0
    lines = open(log_path).read().split("\n")[:-1]
    assert lines[:2] == ["open before", "close before"]
    _never_interleaved(log_path, 1 + 2 * ROUNDS)
    assert len([line for line in lines if line == "open child"]) == ROUNDS


def test_the_gate_follows_the_database(tmp_path):
    on_file = write_gate(make_engine(f"sqlite:///{tmp_path / 'hall.sqlite3'}"))
    assert isinstance(on_file, SqliteWriteGate) and on_file.path == str(tmp_path / "hall.sqlite3.write-lock")
    assert not isinstance(write_gate(make_engine("sqlite://")), SqliteWriteGate)  # in memory: one process
    assert write_gate(make_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")) is None


def test_a_runtime_on_a_sqlite_file_writes_through_the_gate(tmp_path):
    rt = bootstrap(f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    assert isinstance(rt.write_gate, SqliteWriteGate)
