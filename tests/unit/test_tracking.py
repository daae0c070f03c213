"""The footfall core on synthetic tracks: tracker, line counter with hysteresis, merged blobs."""
from __future__ import annotations

import math

import numpy as np
import pytest

from sensors.tracking import (IN, OUT, CountingLine, Detection, LineCounter, Tracker, people_in_blob,
                              split_blob, split_merged)

# A horizontal line across a 200x200 frame, drawn left to right: its positive side is below it.
LINE = CountingLine(0, 100, 200, 100, band=10)


def straight(start, end, frames):
    """A walk from start to end in equal steps, one point per frame."""
    return [(start[0] + (end[0] - start[0]) * i / (frames - 1),
             start[1] + (end[1] - start[1]) * i / (frames - 1)) for i in range(frames)]


def count(*paths, line=LINE, settle=1, gate=30, zone=None, min_hits=3, max_misses=8):
    """Feed the paths (lists of points, None where unseen) frame by frame; returns counts, crossings,
    and the ids of every track that ever lived."""
    tracker = Tracker(gate, min_hits=min_hits, max_misses=max_misses)
    counter = LineCounter(line, zone, settle=settle)
    crossings, ids = [], set()
    for frame, points in enumerate(zip(*paths)):
        detections = [Detection(x, y, 100.0) for p in points if p is not None for x, y in [p]]
        tracks = tracker.update(detections)
        ids.update(t.id for t in tracks)
        crossings += counter.update(tracks, frame)
    return counter.counts, crossings, ids


def test_walking_down_across_a_left_to_right_line_counts_one_in():
    counts, crossings, _ = count(straight((100, 20), (100, 180), 20))
    assert counts == {IN: 1, OUT: 0}
    assert crossings[0].direction == IN


def test_walking_up_across_a_left_to_right_line_counts_one_out():
    counts, _, _ = count(straight((100, 180), (100, 20), 20))
    assert counts == {IN: 0, OUT: 1}


def test_the_line_drawn_right_to_left_swaps_in_and_out():
    counts, _, _ = count(straight((100, 20), (100, 180), 20), line=CountingLine(200, 100, 0, 100, band=10))
    assert counts == {IN: 0, OUT: 1}


def test_sign_convention_on_a_diagonal_line():
    # side = sign((X2-X1)*(y-Y1) - (Y2-Y1)*(x-X1)): for (0,0)->(100,100), (0,50) is positive.
    line = CountingLine(0, 0, 100, 100, band=5)
    assert line.side(0, 50) == 1
    assert line.side(50, 0) == -1
    assert line.offset(0, 50) == pytest.approx((100 * 50 - 100 * 0) / math.hypot(100, 100))
    counts, _, _ = count(straight((80, 20), (20, 80), 20), line=line)  # negative side to positive
    assert counts == {IN: 1, OUT: 0}
    counts, _, _ = count(straight((20, 80), (80, 20), 20), line=line)
    assert counts == {IN: 0, OUT: 1}


def test_sign_convention_on_a_vertical_line():
    # (50,0)->(50,100): side = -100*(x-50), positive left of the line.
    line = CountingLine(50, 0, 50, 100, band=5)
    assert line.side(10, 50) == 1 and line.side(90, 50) == -1
    counts, _, _ = count(straight((90, 50), (10, 50), 20), line=line)
    assert counts == {IN: 1, OUT: 0}


def test_jitter_inside_the_band_never_counts():
    rng = np.random.default_rng(1)
    jitter = [(100 + rng.uniform(-5, 5), 100 + rng.uniform(-9, 9)) for _ in range(200)]
    counts, _, _ = count(jitter)
    assert counts == {IN: 0, OUT: 0}


def test_standing_just_off_the_line_and_jittering_over_it_counts_nothing():
    # Firm on top, then jitters across the line but never leaves the band below.
    path = straight((100, 20), (100, 95), 10) + [(100, 100 + 9 * (-1) ** i) for i in range(100)]
    counts, _, _ = count(path)
    assert counts == {IN: 0, OUT: 0}


def test_a_u_turn_that_does_not_leave_the_band_counts_nothing():
    path = straight((150, 190), (150, 95), 12) + straight((150, 95), (150, 190), 12)[1:]
    counts, _, _ = count(path)
    assert counts == {IN: 0, OUT: 0}


def test_a_u_turn_that_fully_crosses_counts_out_then_in():
    path = straight((150, 190), (150, 60), 14) + straight((150, 60), (150, 190), 14)[1:]
    counts, crossings, _ = count(path)
    assert [c.direction for c in crossings] == [OUT, IN]
    assert counts[IN] - counts[OUT] == 0


def test_walking_in_then_out_again_counts_one_each_way():
    path = straight((100, 20), (100, 180), 15) + straight((100, 180), (100, 20), 15)[1:]
    counts, crossings, ids = count(path)
    assert counts == {IN: 1, OUT: 1}
    assert len(ids) == 1 and crossings[0].track_id == crossings[1].track_id


def test_two_people_abreast_count_two():
    counts, crossings, _ = count(straight((80, 20), (80, 180), 20), straight((120, 20), (120, 180), 20))
    assert counts == {IN: 2, OUT: 0}
    assert len({c.track_id for c in crossings}) == 2


def test_a_crossing_beyond_the_segment_does_not_count():
    door = CountingLine(60, 100, 140, 100, band=10)
    counts, _, _ = count(straight((180, 20), (180, 180), 20), line=door)
    assert counts == {IN: 0, OUT: 0}
    counts, _, _ = count(straight((100, 20), (100, 180), 20), line=door)
    assert counts == {IN: 1, OUT: 0}


def test_crossing_just_past_the_end_counts_within_the_margin():
    door = CountingLine(60, 100, 140, 100, band=10, margin=0.1)
    counts, _, _ = count(straight((145, 20), (145, 180), 20), line=door)  # 6% past the end
    assert counts == {IN: 1, OUT: 0}


def test_an_occlusion_gap_keeps_one_track_and_one_count():
    path = straight((100, 20), (100, 180), 21)
    hidden = [None if 8 <= i <= 13 else p for i, p in enumerate(path)]  # unseen over the line
    counts, _, ids = count(hidden)
    assert counts == {IN: 1, OUT: 0}
    assert len(ids) == 1


def test_a_track_never_confirmed_does_not_count():
    path = [None] * 5 + [(100, 90), (100, 112)] + [None] * 10
    counts, _, _ = count(path, min_hits=3)
    assert counts == {IN: 0, OUT: 0}


def test_a_crossing_made_while_tentative_counts_once_confirmed():
    path = [(100, 85), (100, 112), (100, 116), (100, 120)]
    counts, crossings, _ = count(path, min_hits=3)
    assert counts == {IN: 1, OUT: 0}
    assert crossings[0].frame_index == 1


def test_settling_ignores_a_centroid_that_jumps_over_for_one_frame():
    path = straight((100, 20), (100, 80), 8) + [(100, 125)] + straight((100, 80), (100, 20), 8)
    assert count(path, settle=1, gate=60)[0] == {IN: 1, OUT: 1}
    assert count(path, settle=3, gate=60)[0] == {IN: 0, OUT: 0}


def test_only_positions_inside_the_zone_count():
    zone = [(0, 0), (100, 0), (100, 200), (0, 200)]  # the left half
    assert count(straight((150, 20), (150, 180), 20), zone=zone)[0] == {IN: 0, OUT: 0}
    assert count(straight((50, 20), (50, 180), 20), zone=zone)[0] == {IN: 1, OUT: 0}


# --- merged blobs -----------------------------------------------------------------------------

PERSON = 700.0  # px²


def test_a_blob_of_two_person_areas_holds_two_people_if_it_is_long():
    assert people_in_blob(1.0 * PERSON, 3.0, PERSON) == 1
    assert people_in_blob(2.0 * PERSON, 3.0, PERSON) == 2
    assert people_in_blob(3.0 * PERSON, 3.0, PERSON) == 3
    assert people_in_blob(3.0 * PERSON, 1.2, PERSON) == 1  # one person close to the camera


def test_a_merged_blob_of_two_abreast_splits_across_its_long_axis():
    bar = Detection(100, 50, 2.1 * PERSON, spread=(400.0, 0.0, 60.0))
    parts = split_blob(bar, PERSON)
    assert len(parts) == 2
    assert sorted(round(p.x) for p in parts) == [83, 117]  # ± sqrt(12 * 400) / 4
    assert all(p.y == pytest.approx(50) for p in parts)


def test_a_blob_long_along_its_heading_is_not_split():
    bar = Detection(100, 50, 2.1 * PERSON, spread=(60.0, 0.0, 400.0))  # long in y
    assert len(split_blob(bar, PERSON, heading=(0.0, 8.0))) == 1
    assert len(split_blob(bar, PERSON, heading=(8.0, 0.0))) == 2


def test_two_abreast_in_one_merged_blob_count_two():
    tracker, counter = Tracker(40), LineCounter(LINE)
    for frame, (x, y) in enumerate(straight((100, 20), (100, 180), 20)):
        blob = Detection(x, y, 2.1 * PERSON, spread=(400.0, 0.0, 60.0))
        counter.update(tracker.update(split_merged([blob], PERSON, tracker.heading)), frame)
    assert counter.counts == {IN: 2, OUT: 0}


def test_one_big_round_blob_counts_one():
    tracker, counter = Tracker(40), LineCounter(LINE)
    for frame, (x, y) in enumerate(straight((100, 20), (100, 180), 20)):
        blob = Detection(x, y, 3.0 * PERSON, spread=(200.0, 0.0, 180.0))
        counter.update(tracker.update(split_merged([blob], PERSON, tracker.heading)), frame)
    assert counter.counts == {IN: 1, OUT: 0}


def disc(cx, cy, r=12):
    ys, xs = np.mgrid[-r:r + 1, -r:r + 1]
    keep = xs ** 2 + ys ** 2 <= r * r
    return np.column_stack((xs[keep] + cx, ys[keep] + cy)).astype(float)


def blobs(*centres, r=12):
    """Detections for discs at the centres, with discs that touch merged into one blob."""
    groups = []
    for c in centres:
        near = [g for g in groups if any(math.dist(c, o) <= 2 * r + 1 for o in g)]
        merged = [c] + [o for g in near for o in g]
        groups = [g for g in groups if g not in near] + [merged]
    out = []
    for group in groups:
        pixels = np.unique(np.vstack([disc(x, y, r) for x, y in group]), axis=0)
        cov = np.cov(pixels, rowvar=False)
        x, y = pixels.mean(axis=0)
        out.append(Detection(x, y, float(len(pixels)), (cov[0, 0], cov[0, 1], cov[1, 1]), pixels=pixels))
    return out


def test_people_who_merge_while_crossing_keep_their_own_tracks():
    area = float(len(disc(0, 0)))
    def walk(x_far, x_near):
        return (straight((x_far, 20), (x_near, 70), 8) + straight((x_near, 70), (x_near, 130), 16)[1:]
                + straight((x_near, 130), (x_far, 180), 8)[1:])
    # 16 px apart over the line: one blob for longer than a track may go unseen
    left, right = walk(60, 92), walk(140, 108)
    tracker = Tracker(30, max_misses=8, person_area=area)
    counter = LineCounter(LINE)
    merged_frames = 0
    for frame, (a, b) in enumerate(zip(left, right)):
        detections = blobs(a, b)
        merged_frames += len(detections) == 1
        counter.update(tracker.update(detections), frame)  # the tracker alone, no splitting by area
    assert merged_frames > 8
    assert counter.counts == {IN: 2, OUT: 0}
    assert len(tracker.tracks) == 2


def test_pieces_of_one_person_that_join_up_become_one_track():
    area = float(len(disc(0, 0)))
    tracker = Tracker(40, min_hits=2, person_area=area)
    counter = LineCounter(LINE)
    path = straight((100, 20), (100, 180), 20)
    for frame, (x, y) in enumerate(path):
        if frame < 4:  # seen as a head and a shoulder, 26 px apart, for the first frames
            detections = [Detection(x - 13, y, area / 2, pixels=disc(x - 13, y, 8)),
                          Detection(x + 13, y, area / 2, pixels=disc(x + 13, y, 8))]
        else:
            detections = blobs((x, y))
        counter.update(tracker.update(detections), frame)
    assert counter.counts == {IN: 1, OUT: 0}
    assert len(tracker.tracks) == 1


def test_small_detections_continue_tracks_but_never_start_them():
    tracker = Tracker(30, birth_area=50.0)
    assert tracker.update([Detection(10, 10, 20.0)]) == []
    tracker.update([Detection(10, 10, 80.0)])
    assert len(tracker.update([Detection(12, 10, 20.0)])) == 1
    assert tracker.tracks[0].misses == 0
