"""The agent process counting a real camera clip into its spool (OpenCV, ``sensors/camera.py``).

The clip is ``shared/data/footfall/overhead_busdoor_320x240.avi`` (hand count: 7 up, 7
down across a horizontal middle line). The server is not running: the counts stay spooled,
which is what the agent must do then.
"""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sensors.spool import Spool

from ..processes import free_port

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT.parent / "shared" / "data" / "footfall" / "overhead_busdoor_320x240.avi"
if not CLIP.exists():  # CI has shared/ beside main; a bare clone may not
    CLIP = Path("/work/shared/data/footfall/overhead_busdoor_320x240.avi")

pytestmark = pytest.mark.skipif(not CLIP.exists(), reason=f"the camera clip is not here ({CLIP})")


@pytest.fixture(scope="module")
def counted(tmp_path_factory):
    """Run the agent on the clip until the camera input says the file ended; (spool totals, agent log)."""
    pytest.importorskip("cv2")
    base = tmp_path_factory.mktemp("agent-camera")
    config = base / "agent.toml"
    config.write_text(
        f'[server]\nurl = "http://127.0.0.1:{free_port()}"\ntoken = "dv_unused"\nsend_interval_s = 1\n'
        f'[spool]\npath = "spool.sqlite3"\n'
        f'[[cameras]]\nsensor = "door1-cam"\nsource = "{CLIP}"\nline = [0, 120, 320, 120]\nview = "overhead"\n'
        f'width = 320\n')
    log_path = base / "agent.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "sensors.agent", "--config", str(config)], cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 45
        while "ended after" not in log_path.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    text = log_path.read_text()
    assert code == 0, text
    assert "ended after" in text, f"the clip did not finish in time:\n{text}"
    with Spool(base / "spool.sqlite3") as s:
        return s.totals().get("door1-cam", (0, 0)), text


def test_every_crossing_the_camera_saw_is_in_the_spool(counted):
    (in_, out), log = counted
    seen = int(re.search(r"ended after (\d+) crossing\(s\)", log).group(1))
    assert in_ + out == seen and seen > 0
    assert "server unreachable (connection refused)" in log  # and nothing was lost for it


def test_the_clip_gives_its_hand_count_of_7_in_and_7_out(counted):
    """The camera counter's aim (``sensors/camera.py``), seen through the agent."""
    assert counted[0] == (7, 7)
