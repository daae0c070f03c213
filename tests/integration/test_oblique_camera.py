"""The oblique view on the real plaza clip, against the hand counts in ``tests/plaza_hand_count.py``.

Needs ``shared/data/footfall`` beside the repository (or HALLQ_SHARED_DATA); skips without it.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from sensors import count as count_cli  # noqa: E402
from sensors.camera import iter_crossings  # noqa: E402
from sensors.detectors import NanodetPeople, SsdlitePeople  # noqa: E402
from tests.integration.test_camera_clips import PLAZA, needs  # noqa: E402
from tests.plaza_hand_count import (PEOPLE, WALKWAY_IN, WALKWAY_LINE, WALKWAY_OUT,  # noqa: E402
                                    matched, people_found)


def plaza_frames(wanted) -> dict[int, np.ndarray]:
    capture = cv2.VideoCapture(str(PLAZA))
    frames, index = {}, 0
    while len(frames) < len(wanted):
        ok, frame = capture.read()
        if not ok:
            break
        if index in wanted:
            frames[index] = frame
        index += 1
    capture.release()
    return frames


@needs(PLAZA)
def test_nanodet_finds_all_but_the_person_hidden_behind_the_sign_on_five_hand_checked_frames():
    frames = plaza_frames(PEOPLE)
    nanodet, ssdlite = NanodetPeople(), SsdlitePeople()
    found = {k: people_found(nanodet.boxes(f), PEOPLE[k]) for k, f in frames.items()}
    assert sum(f for f, _ in found.values()) >= 33, found  # of 34; frame 100's hidden one is missed
    assert sum(extra for _, extra in found.values()) <= 3, found  # boxes on no one (a post, a cone)
    ssd = sum(people_found(ssdlite.boxes(f), PEOPLE[k])[0] for k, f in frames.items())
    assert ssd <= 25  # SSDLite misses a third of them (22 of 34 when measured)


@needs(PLAZA)
def test_cv2_dnn_and_onnxruntime_find_the_same_people():
    frame = plaza_frames([700])[700]
    fast = NanodetPeople(engine="onnxruntime").scored(frame)
    plain = NanodetPeople(engine="cv2").scored(frame)
    assert len(fast) == len(plain) == 8
    assert np.allclose(np.array(fast), np.array(plain), atol=0.5)


@needs(PLAZA)
def test_a_line_across_the_walkway_counts_the_whole_clip_close_to_the_hand_count():
    # 795 frames through NanoDet: about 40 s on one core
    crossings = list(iter_crossings(str(PLAZA), WALKWAY_LINE, view="oblique", width=0))
    ins = [c.frame_index for c in crossings if c.direction == "in"]
    outs = [c.frame_index for c in crossings if c.direction == "out"]
    right_in, wrong_in, missed_in = matched(ins, WALKWAY_IN)
    right_out, wrong_out, missed_out = matched(outs, WALKWAY_OUT)
    assert abs(len(ins) - len(WALKWAY_IN)) <= 2 and abs(len(outs) - len(WALKWAY_OUT)) <= 2, (ins, outs)
    assert right_in + right_out >= 26, (ins, outs)  # of 29 (28 when measured)
    assert wrong_in + wrong_out <= 3, (ins, outs)  # (2 when measured)


@needs(PLAZA)
def test_the_oblique_preview_shows_the_detected_people_in_yellow_boxes(tmp_path, capsys):
    preview = tmp_path / "preview.png"
    code = count_cli.main([str(PLAZA), "--line", "240,0,240,360", "--view", "oblique", "--max-frames", "12",
                           "--preview", str(preview), "--quiet"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and result["detector"] == "nanodet" and result["frames"] == 12
    image = cv2.imread(str(preview))
    assert image.shape == (360, 480, 3)
    yellow = np.all(image == (0, 220, 255), axis=2)  # the box colour, BGR
    assert yellow.sum() > 3 * 2 * 40  # three people in view, boxes about 50 px tall
