"""The camera counter on real clips with hand counts (``shared/data/footfall``, beside the repository).

Hand counts (the clips' README): a horizontal line across the middle; with the line drawn left to
right, ``in`` is downwards and ``out`` upwards. Set HALLQ_SHARED_DATA to the ``shared/data``
folder when it is elsewhere; without the clips these tests skip.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

cv2 = pytest.importorskip("cv2")

from sensors import count as count_cli  # noqa: E402
from sensors.camera import CameraCounter, Crossing, SourceError, iter_crossings, open_source  # noqa: E402
from sensors.detectors import HogPeople, SsdlitePeople  # noqa: E402


def _footfall_data() -> Path:
    override = os.environ.get("HALLQ_SHARED_DATA")
    if override:
        base = Path(override)
        return base / "footfall" if (base / "footfall").is_dir() else base
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "footfall"


DATA = _footfall_data()
BUS = DATA / "overhead_busdoor_320x240.avi"  # 320x240, 15 fps: 7 up, 7 down, one U-turn
CORRIDOR = DATA / "overhead_footfall_240x240.mp4"  # 240x240, 25 fps: 3 up, 2 down, a large shadow
PLAZA = DATA / "pets09_s2l1_vtest_480x360.avi"  # 480x360, 10 fps, oblique

# Frames where the hand count saw each crossing (the README), widened by the 0.2 s a track needs
# to settle on the far side.
BUS_UP = [(160, 178), (182, 202), (226, 246), (496, 512), (496, 512), (756, 772), (820, 836)]
BUS_DOWN = [(300, 324), (352, 368), (384, 404), (588, 604), (612, 632), (820, 836), (880, 896)]
SETTLE_SLACK = 6


def needs(*clips: Path):
    missing = [c.name for c in clips if not c.is_file()]
    return pytest.mark.skipif(bool(missing), reason=f"footfall clips not found in {DATA}: {missing}")


def count_clip(path: Path, line, **options) -> tuple[CameraCounter, list[Crossing]]:
    capture = cv2.VideoCapture(str(path))
    counter = CameraCounter(line, fps=capture.get(cv2.CAP_PROP_FPS), **options)
    crossings = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        crossings += counter.process(frame)
    capture.release()
    return counter, crossings


def middle_line(path: Path) -> tuple[float, float, float, float]:
    capture = cv2.VideoCapture(str(path))
    width, height = capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
    capture.release()
    return (0.0, height / 2, width, height / 2)


def within_windows(frames: list[int], windows: list[tuple[int, int]]) -> bool:
    """Every crossing frame falls in a hand-count window, one crossing per window entry."""
    free = list(windows)
    for frame in sorted(frames):
        hit = next((w for w in free if w[0] <= frame <= w[1] + SETTLE_SLACK), None)
        if hit is None:
            return False
        free.remove(hit)
    return True


@needs(BUS)
@pytest.mark.parametrize("width, upscale", [(640, False), (640, True)], ids=["native-320", "upscaled-640"])
def test_bus_door_counts_7_up_and_7_down_and_not_the_u_turn(width, upscale):
    counter, crossings = count_clip(BUS, middle_line(BUS), width=width, upscale=upscale)
    assert abs(counter.counts["out"] - 7) <= 1, crossings
    assert abs(counter.counts["in"] - 7) <= 1, crossings
    assert not [c for c in crossings if c.frame_index > 900], "the U-turn at 896-924 counted"


@needs(BUS)
def test_bus_door_crossings_happen_when_the_hand_count_saw_them():
    _, crossings = count_clip(BUS, middle_line(BUS))
    assert within_windows([c.frame_index for c in crossings if c.direction == "out"], BUS_UP), crossings
    assert within_windows([c.frame_index for c in crossings if c.direction == "in"], BUS_DOWN), crossings


@needs(BUS)
def test_bus_door_two_abreast_count_two():
    _, crossings = count_clip(BUS, middle_line(BUS))
    abreast = [c for c in crossings if 496 <= c.frame_index <= 512 + SETTLE_SLACK]
    assert [c.direction for c in abreast] == ["out", "out"]
    assert len({c.track_id for c in abreast}) == 2


@needs(CORRIDOR)
@pytest.mark.parametrize("width, upscale", [(640, False), (640, True)], ids=["native-240", "upscaled-640"])
def test_corridor_with_a_large_shadow_counts_3_up_and_2_down(width, upscale):
    counter, crossings = count_clip(CORRIDOR, middle_line(CORRIDOR), width=width, upscale=upscale)
    assert abs(counter.counts["out"] - 3) <= 1, crossings
    assert abs(counter.counts["in"] - 2) <= 1, crossings


@needs(BUS)
def test_a_line_drawn_the_other_way_swaps_in_and_out():
    x1, y1, x2, y2 = middle_line(BUS)
    forward, _ = count_clip(BUS, (x1, y1, x2, y2))
    backward, _ = count_clip(BUS, (x2, y2, x1, y1))
    assert backward.counts == {"in": forward.counts["out"], "out": forward.counts["in"]}


@needs(BUS)
def test_a_zone_away_from_everyone_counts_nothing():
    counter, _ = count_clip(BUS, middle_line(BUS), zone=[(300, 0), (320, 0), (320, 240), (300, 240)])
    assert counter.counts == {"in": 0, "out": 0}


@needs(BUS)
def test_iter_crossings_stops_at_max_frames_and_when_asked():
    everything = list(iter_crossings(str(BUS), middle_line(BUS)))
    assert len(everything) == 14 and all(isinstance(c, Crossing) for c in everything)
    assert [c.frame_index for c in iter_crossings(str(BUS), middle_line(BUS), max_frames=250)] == [
        c.frame_index for c in everything if c.frame_index < 250]
    stop = threading.Event()
    stop.set()
    assert list(iter_crossings(str(BUS), middle_line(BUS), stop=stop)) == []


def test_sources_that_cannot_be_opened_raise_a_readable_source_error(tmp_path):
    with pytest.raises(SourceError, match="no video file"):
        open_source(str(tmp_path / "missing.avi"))
    not_video = tmp_path / "notes.avi"
    not_video.write_text("not a video")
    with pytest.raises(SourceError, match="cannot open"):
        list(iter_crossings(str(not_video), (0, 1, 2, 1)))


@needs(CORRIDOR)
def test_the_cli_prints_counts_as_the_last_json_line_and_writes_a_preview(tmp_path, capsys):
    preview = tmp_path / "preview.png"
    code = count_cli.main([str(CORRIDOR), "--line", "0,120,240,120", "--preview", str(preview), "--quiet"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert (result["in"], result["out"], result["frames"]) == (2, 3, 747)
    assert result["fps"] > 0 and result["width"] == 240
    assert cv2.imread(str(preview)).shape == (240, 240, 3)


def test_the_cli_names_a_bad_option_and_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        count_cli.main(["clip.avi", "--line", "0,120,240"])
    assert exit_.value.code == 2
    assert "--line" in capsys.readouterr().err


def test_the_cli_says_a_video_is_unreadable_and_exits_1(tmp_path, capsys):
    assert count_cli.main([str(tmp_path / "none.avi"), "--line", "0,1,2,1"]) == 1
    assert "no video file" in capsys.readouterr().err


@needs(PLAZA)
def test_ssdlite_finds_people_in_an_oblique_view_without_downloading_anything():
    capture = cv2.VideoCapture(str(PLAZA))
    ok, frame = capture.read()
    capture.release()
    assert ok
    boxes = SsdlitePeople().boxes(frame)
    assert len(boxes) >= 2  # three people are in the first frame, each about 55 px tall
    assert all(30 <= h <= 90 for _, _, _, h in boxes)
    assert isinstance(HogPeople().boxes(frame), list)


@needs(PLAZA)
def test_oblique_plaza_counts_the_first_nine_seconds_near_the_hand_count():
    # Hand count of frames 0-90 across the middle line (y = 180): 5 people walk up over it
    # (around frames 15, 35, 55, 55 and 72), nobody down.
    crossings = list(iter_crossings(str(PLAZA), (0, 180, 480, 180), view="oblique", max_frames=100))
    ups = [c for c in crossings if c.direction == "out"]
    assert 3 <= len(ups) <= 6, crossings
    assert not [c for c in crossings if c.direction == "in"], crossings
