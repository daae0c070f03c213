"""The oblique view's counting with a scripted person detector (no model, blank frames)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2")

from sensors.camera import CameraCounter, ObliqueTuning  # noqa: E402

FRAME = np.zeros((360, 480, 3), np.uint8)
ACROSS = (240, 0, 240, 360)  # drawn top to bottom: "out" is left to right


class Scripted:
    """Person boxes (x, y, w, h) frame by frame: one person about 50 px tall whose feet are at xs[i]."""

    name = "scripted"

    def __init__(self, xs):
        self.xs = list(xs)
        self.frame = -1

    def boxes(self, frame):
        self.frame += 1
        x = self.xs[self.frame] if self.frame < len(self.xs) else None
        return [] if x is None else [(x - 10.0, 150.0, 20.0, 50.0)]


def count(xs, **options):
    counter = CameraCounter(ACROSS, view="oblique", detector=Scripted(xs), width=0, fps=10, **options)
    crossings = [c for _ in xs for c in counter.process(FRAME)]
    return counter.counts, crossings


def walk(start, stop, step=4.0):
    return list(np.arange(start, stop, step))


def test_a_person_walking_across_the_line_counts_once_in_their_direction():
    counts, crossings = count(walk(150, 330))
    assert counts == {"in": 0, "out": 1}
    assert len(crossings) == 1


def test_a_person_hidden_for_a_second_while_crossing_still_counts_once():
    xs = [None if 220 <= x <= 260 else x for x in walk(150, 330)]  # 11 frames unseen, behind a post
    assert count(xs)[0] == {"in": 0, "out": 1}
    # coasting 0.6 s (the setting before NanoDet) loses the track and the crossing with it
    assert count(xs, oblique=ObliqueTuning(coast_seconds=0.6))[0] == {"in": 0, "out": 0}


def test_a_person_standing_on_the_line_counts_nothing():
    xs = walk(200, 238) + [238.0 + (i % 3) * 3 for i in range(60)] + walk(238, 200, -4.0)
    assert count(xs)[0] == {"in": 0, "out": 0}


def test_a_crossing_counts_only_once_the_person_has_settled_on_the_far_side():
    xs = walk(200, 256) + [256.0]  # just past the band, seen there twice, then gone
    counter = CameraCounter(ACROSS, view="oblique", detector=Scripted(xs), width=0, fps=10)
    seen_at = [i for i in range(len(xs)) if counter.process(FRAME)]
    assert seen_at == [len(xs) - 1]  # 0.2 s = two frames beyond the band at 10 fps


def test_a_detector_object_without_boxes_is_refused():
    with pytest.raises(ValueError, match="boxes"):
        CameraCounter(ACROSS, view="oblique", detector=object())
