"""A real Kannel on loopback for the SMS tests: bearerbox, smsbox and Kannel's fake SMSC.

Why a harness rather than a mock: the survey must survive the real path an operator runs
(sendsms over HTTP, smsbox to bearerbox, the SMSC link, the UCS-2 coding of Chinese, the
sms-service calling us back). ``fakesmsc`` (Debian package ``kannel-extras``) plays the
operator's SMSC: it prints every message Kannel hands it, and sends the messages given
on its command line as customers' replies (MOs).

The config is written into a temporary folder with free ports, so several runs can share
one machine, and everything is stopped again even when a test fails.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")
INSTALL_HINT = "apt-get install kannel kannel-extras (or bash scripts/system-deps.sh)"
START_DEADLINE_S = 15


def binary(name: str) -> str | None:
    """Where a Kannel binary is; Debian puts the boxes in /usr/sbin, often not on a user's PATH."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")


def missing_binaries() -> list[str]:
    missing = [name for name in ("bearerbox", "smsbox") if binary(name) is None]
    if not os.access(FAKESMSC, os.X_OK):
        missing.append(str(FAKESMSC))
    return missing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class FakeSmscLine:
    """One message fakesmsc received from Kannel, as it prints it: ``sender receiver type data``.

    For a UCS-2 message Kannel 1.4.5 writes the type ``ucs-2`` and the data as URL-encoded
    UTF-16BE bytes; ``text`` decodes it back to what the customer's phone would show.
    """

    sender: str
    receiver: str
    kind: str
    data: str

    @property
    def text(self) -> str:
        if self.kind == "text":
            return self.data
        raw = urllib.parse.unquote_to_bytes(self.data.replace("+", " "))
        if self.kind in ("ucs2", "ucs-2"):
            return raw.decode("utf-16-be")
        return raw.decode("latin-1")


RECEIVED = re.compile(r"Got message \d+: <(?P<line>.*)>$")


@dataclass
class KannelLoopback:
    """bearerbox + smsbox + fakesmsc with a generated config; use as a context manager."""

    workdir: Path
    sms_service_url: str  # Kannel's get-url for replies, with its %-escapes
    username: str = "hallq"
    password: str = "sendsms-secret"
    admin_password: str = "admin-secret"
    ports: dict[str, int] = field(default_factory=lambda: {
        name: free_port() for name in ("admin", "smsbox", "sendsms", "smsc")})
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    fakesmsc_runs: int = 0

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['sendsms']}/cgi-bin/sendsms"

    @property
    def config_path(self) -> Path:
        return self.workdir / "kannel.conf"

    def write_config(self) -> Path:
        """The smallest config that carries MT, MO and delivery reports through a fake SMSC."""
        log = self.workdir
        self.config_path.write_text(f"""\
group = core
admin-port = {self.ports['admin']}
admin-password = {self.admin_password}
admin-allow-ip = "127.0.0.1"
smsbox-port = {self.ports['smsbox']}
box-allow-ip = "127.0.0.1"
log-file = "{log}/bearerbox.log"
log-level = 0
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = {self.ports['smsc']}
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {self.ports['sendsms']}
log-file = "{log}/smsbox.log"
log-level = 0
mo-recode = false

group = sendsms-user
username = {self.username}
password = {self.password}
max-messages = 10
concatenation = true

group = sms-service
keyword = default
catch-all = true
get-url = "{self.sms_service_url}"
max-messages = 0
omit-empty = true
""", encoding="utf-8")
        return self.config_path

    # --- life cycle -------------------------------------------------------------------

    def __enter__(self) -> "KannelLoopback":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        missing = missing_binaries()
        if missing:
            raise RuntimeError(f"Kannel is not installed ({', '.join(missing)}): {INSTALL_HINT}")
        self.write_config()
        self._spawn("bearerbox", [binary("bearerbox"), "-v", "0", str(self.config_path)])
        self._wait_for_port(self.ports["smsc"], "bearerbox's fake SMSC port")
        self._connect_fakesmsc()
        self._spawn("smsbox", [binary("smsbox"), "-v", "0", str(self.config_path)])
        self._wait_for_port(self.ports["sendsms"], "smsbox's sendsms port")
        self._wait_until(lambda: "online" in self.status() and "smsbox:" in self.status(),
                         "the fake SMSC and smsbox online in bearerbox's status")

    def stop(self) -> None:
        """smsbox first, then bearerbox (graceful on SIGTERM), then fakesmsc; kill what lingers."""
        for name in ("smsbox", "bearerbox", "fakesmsc"):
            self._stop(name)

    def _stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT if name == "fakesmsc" else signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def _connect_fakesmsc(self, mo_line: str | None = None) -> None:
        """(Re)start the fake SMSC: a listener (``-m 0``), or one that sends ``mo_line`` first.

        Each reply gets a fresh fakesmsc with the reply on its command line, the documented
        batch use, rather than a line typed into its interactive mode: that mode reads the
        SMSC link only between one-second waits for stdin, and the packaged 1.4.5 build
        aborts on exit ("double free"). bearerbox takes the new connection as the SMSC
        reconnecting, and holds messages for it meanwhile.
        """
        self._stop("fakesmsc")
        self.fakesmsc_runs += 1
        argv = [str(FAKESMSC), "-H", "127.0.0.1", "-r", str(self.ports["smsc"]), "-i", "0", "-v", "0"]
        argv += ["-m", "1", mo_line] if mo_line else ["-m", "0", "0 0 text never-sent"]
        self._spawn("fakesmsc", argv, log_name=f"fakesmsc-{self.fakesmsc_runs}")
        if mo_line:
            self._wait_until(lambda: "sent message 1" in self.output(f"fakesmsc-{self.fakesmsc_runs}"),
                             "fakesmsc to send the reply")

    def _spawn(self, name: str, argv: list[str], log_name: str | None = None) -> None:
        out = open(self.workdir / f"{log_name or name}.out", "wb")
        self.processes[name] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                                stderr=subprocess.STDOUT, cwd=self.workdir)
        out.close()

    def _wait_for_port(self, port: int, what: str) -> None:
        def listening() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                return False
        self._wait_until(listening, what)

    def _wait_until(self, check, what: str, deadline_s: float = START_DEADLINE_S):
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode} while waiting for {what}:\n"
                                       + self.output(name)[-3000:])
            value = check()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"gave up waiting for {what}; logs in {self.workdir}:\n" + self.logs_tail())

    # --- talking to it ----------------------------------------------------------------

    def status(self) -> str:
        url = (f"http://127.0.0.1:{self.ports['admin']}/status.txt?"
               + urllib.parse.urlencode({"password": self.admin_password}))
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def inject_reply(self, sender: str, receiver: str, text: str) -> None:
        """Send ``text`` from the customer's phone, UCS-2 coded as a Chinese phone would."""
        data = urllib.parse.quote_from_bytes(text.encode("utf-16-be"), safe="")
        self._connect_fakesmsc(f"{sender} {receiver} ucs2 {data}")

    def received(self) -> list[FakeSmscLine]:
        """Every message Kannel has handed to the fake SMSC so far."""
        lines = []
        output = "".join(self.output(f"fakesmsc-{run}") for run in range(1, self.fakesmsc_runs + 1))
        for raw in output.splitlines():
            match = RECEIVED.search(raw)
            if match:
                sender, receiver, kind, data = (match["line"].split(" ", 3) + ["", "", "", ""])[:4]
                lines.append(FakeSmscLine(sender, receiver, kind, data))
        return lines

    def wait_for_message_to(self, receiver: str, deadline_s: float = 10) -> FakeSmscLine:
        def arrived():
            return next((m for m in self.received() if m.receiver == receiver), None)
        return self._wait_until(arrived, f"a message to {receiver} at the fake SMSC", deadline_s)

    def output(self, name: str) -> str:
        path = self.workdir / f"{name}.out"
        return path.read_text("utf-8", "replace") if path.exists() else ""

    def logs_tail(self, chars: int = 2000) -> str:
        parts = []
        for path in sorted(self.workdir.glob("*.log")) + sorted(self.workdir.glob("*.out")):
            if path.exists():
                parts.append(f"--- {path.name}\n" + path.read_text("utf-8", "replace")[-chars:])
        return "\n".join(parts)
