"""The network ticket printer against real TCP sockets on 127.0.0.1."""
from __future__ import annotations

import socket
import threading
import time
from contextlib import ExitStack

import pytest

from kiosk.printer import PrinterConfig, print_slip, render_slip
from tests.unit.test_printer import SLIP


class FakePrinter:
    """A port-9100 printer: takes one connection and keeps every byte until the kiosk hangs up."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(10)
        connection, _ = self.listener.accept()
        with connection:
            while chunk := connection.recv(65536):
                self.received += chunk

    def close(self) -> None:
        self.thread.join(timeout=10)
        self.listener.close()


@pytest.fixture
def fake_printer():
    printer = FakePrinter()
    yield printer
    printer.close()


@pytest.fixture
def silent_printer():
    """A listener whose queue is full: the kernel drops new connection attempts unanswered."""
    with ExitStack() as stack:
        listener = stack.enter_context(socket.create_server(("127.0.0.1", 0), backlog=0))
        port = listener.getsockname()[1]
        for _ in range(8):  # fill the accept queue (its length varies by kernel)
            filler = stack.enter_context(socket.socket())
            filler.settimeout(0.3)
            try:
                filler.connect(("127.0.0.1", port))
            except TimeoutError:
                break
        else:
            pytest.fail("could not fill the listener's queue")
        yield port


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def network(port: int, timeout_s: float = 3.0) -> PrinterConfig:
    return PrinterConfig.from_dict({"kind": "network", "host": "127.0.0.1", "port": port, "timeout_s": timeout_s})


def timed(config: PrinterConfig):
    started = time.monotonic()
    outcome = print_slip(SLIP, config)
    return outcome, time.monotonic() - started


@pytest.mark.parametrize("qr_native", [True, False])
def test_a_network_printer_receives_exactly_the_rendered_ticket(fake_printer, qr_native):
    config = PrinterConfig(kind="network", host="127.0.0.1", port=fake_printer.port, qr_native=qr_native)
    outcome = print_slip(SLIP, config)
    fake_printer.close()
    assert (outcome.ok, outcome.code) == (True, "ok")
    assert fake_printer.received == render_slip(SLIP, config)


def test_a_printer_nobody_listens_for_is_unreachable_at_once():
    outcome, elapsed = timed(network(free_port()))
    assert (outcome.ok, outcome.code) == (False, "unreachable")
    assert outcome.message_zh.startswith("打印机无法连接")
    assert elapsed < 1


def test_a_printer_that_never_answers_times_out_after_timeout_s(silent_printer):
    outcome, elapsed = timed(network(silent_printer, timeout_s=1))
    assert (outcome.ok, outcome.code) == (False, "timeout")
    assert outcome.message_zh.startswith("打印机无响应")
    assert 0.9 < elapsed < 2.5
