"""NanoDet-g's output decoding (sensors/detectors.py), on hand-made outputs and on a fixed frame.

The outputs are made here cell by cell, so every expected box is worked out by hand: a cell's centre
is ((col + 0.5) * stride, (row + 0.5) * stride) and each edge's distance the softmax-weighted mean of
the bins 0..10, times the stride.
"""
from __future__ import annotations

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from sensors.detectors import NANODET_MODEL, NanodetPeople, decode_nanodet, nanodet_input  # noqa: E402

STRIDES = (8, 16, 32)
SURE = 40.0  # a logit that takes all the weight of its edge's softmax


def blank_outputs(width: int, height: int) -> dict[str, np.ndarray]:
    outputs = {}
    for s in STRIDES:
        cells = (height // s) * (width // s)
        outputs[f"scores_{s}"] = np.zeros((1, cells, 80), np.float32)
        outputs[f"boxes_{s}"] = np.zeros((1, cells, 44), np.float32)
    return outputs


def put(outputs, width, stride, row, col, score, bins, label=0):
    """One cell scoring ``score`` for ``label`` with edges (left, top, right, bottom) ``bins`` strides
    away, each given as one bin (sure) or as a pair of equally likely bins."""
    cell = row * (width // stride) + col
    outputs[f"scores_{stride}"][0, cell, label] = score
    logits = np.full((4, 11), -SURE, np.float32)
    for edge, where in enumerate(bins):
        for b in (where if isinstance(where, tuple) else (where,)):
            logits[edge, b] = SURE
    outputs[f"boxes_{stride}"][0, cell] = logits.ravel()


def test_a_sure_cell_decodes_to_its_centre_plus_the_edge_distances_in_strides():
    out = blank_outputs(64, 64)
    put(out, 64, 8, row=3, col=5, score=0.9, bins=(2, 4, 1, 3))  # centre (44, 28)
    [(x0, y0, x1, y1, score)] = decode_nanodet(out, 64, 64, threshold=0.5)
    assert (x0, y0, x1, y1) == pytest.approx((44 - 16, 28 - 32, 44 + 8, 28 + 24))
    assert score == pytest.approx(0.9)


def test_an_edge_split_between_two_bins_lies_halfway_and_coarse_strides_scale_it():
    out = blank_outputs(96, 64)
    put(out, 96, 32, row=1, col=2, score=0.8, bins=((1, 2), 1, 1, (0, 3)))  # centre (80, 48)
    [(x0, y0, x1, y1, _)] = decode_nanodet(out, 96, 64, threshold=0.5)
    assert (x0, y0, x1, y1) == pytest.approx((80 - 48, 48 - 32, 80 + 32, 48 + 48))


def test_only_people_above_the_threshold_are_kept_and_the_best_of_overlapping_boxes_wins():
    out = blank_outputs(64, 64)
    put(out, 64, 8, row=3, col=3, score=0.9, bins=(2, 3, 2, 3))
    put(out, 64, 8, row=3, col=4, score=0.7, bins=(3, 3, 1, 3))  # the same box from the next cell
    put(out, 64, 16, row=0, col=3, score=0.6, bins=(1, 0, 0, 1))  # a small one elsewhere
    put(out, 64, 8, row=6, col=1, score=0.4, bins=(1, 1, 1, 1))  # below the threshold
    put(out, 64, 8, row=1, col=6, score=0.99, bins=(1, 1, 1, 1), label=2)  # a car, not a person
    found = decode_nanodet(out, 64, 64, threshold=0.5)
    assert [round(f[4], 2) for f in found] == [0.9, 0.6]
    assert found[0][:4] == pytest.approx((12, 4, 44, 52))
    assert found[1][:4] == pytest.approx((40, 8, 56, 24))


def test_nothing_scoring_above_the_threshold_decodes_to_no_box():
    assert decode_nanodet(blank_outputs(64, 32), 64, 32, threshold=0.1) == []


def test_a_4_3_frame_becomes_416_by_320_normalised_and_padded_with_the_mean_colour():
    frame = np.full((360, 480, 3), (103, 116, 124), np.uint8)  # about NanoDet's mean colour
    frame[:, :240] = (255, 255, 255)
    image, scale = nanodet_input(frame, 416)
    assert image.shape == (1, 3, 320, 416) and image.dtype == np.float32
    assert scale == pytest.approx(416 / 480)
    assert np.abs(image[0, :, :, 300:]).max() < 0.02  # the mean colour is zero
    assert image[0, :, :312, :200].min() > 2.0  # white, (255 - mean) / std
    assert not image[0, :, 312:].any()  # 312 rows of picture, 8 of padding


def test_boxes_come_back_in_the_frames_own_pixels_clipped_to_it(monkeypatch):
    detector = NanodetPeople()
    seen = []

    def fake_model(image):
        seen.append(image.shape)
        out = blank_outputs(416, 320)
        put(out, 416, 8, row=20, col=10, score=0.8, bins=(2, 6, 2, 4))  # centre (84, 164)
        put(out, 416, 8, row=39, col=51, score=0.7, bins=(3, 2, 3, 5))  # centre (412, 316): overhangs
        return out

    monkeypatch.setattr(detector, "_run", fake_model)
    frame = np.zeros((360, 480, 3), np.uint8)
    boxes = detector.boxes(frame)
    k = 480 / 416
    assert seen == [(1, 3, 320, 416)]
    assert boxes[0] == pytest.approx((68 * k, 116 * k, 32 * k, 80 * k))
    x, y, w, h = boxes[1]
    assert (x + w, y + h) == pytest.approx((480, 360))  # clipped at the frame's edges
    assert detector.detect(frame)[0].y == pytest.approx(196 * k)  # the feet: the box's bottom


def test_the_shipped_model_gives_the_decoded_layout_and_finds_nobody_in_an_empty_grey_frame():
    assert NANODET_MODEL.is_file() and NANODET_MODEL.stat().st_size > 10_000_000
    detector = NanodetPeople()
    image, _ = nanodet_input(np.full((360, 480, 3), 128, np.uint8), 416)
    out = detector._run(image)
    assert {k: v.shape for k, v in out.items()} == {
        "scores_8": (1, 2080, 80), "scores_16": (1, 520, 80), "scores_32": (1, 130, 80),
        "boxes_8": (1, 2080, 44), "boxes_16": (1, 520, 44), "boxes_32": (1, 130, 44)}
    assert all(0.0 <= v.min() and v.max() <= 1.0 for k, v in out.items() if k.startswith("scores"))
    assert detector.boxes(np.full((360, 480, 3), 128, np.uint8)) == []


def test_an_input_width_that_is_not_a_multiple_of_32_is_refused():
    with pytest.raises(ValueError, match="multiple of 32"):
        NanodetPeople(input_width=400)
