#!/usr/bin/env python3
"""Oblique-view benchmark: each person detector on the plaza clip, against the hand counts, on one core.

    python bench/oblique_bench.py [--data DIR] [--cpu N] [--detectors a,b,...] [--ablation]

Per detector (default: NanoDet-g through onnxruntime and through cv2.dnn, and SSDLite; ``hog``
also when named, about 8 minutes more):

- people found on the five hand-checked frames (``tests/plaza_hand_count.py``: 34 people) and
  boxes on no one, at the native size;
- crossings of a line across the walkway (``240,0,240,360``) against the hand count (17 in,
  12 out): counted, and matched to hand-counted ones within 15 frames (right / wrong / missed);
- crossings of the middle line (``0,180,480,180``: along the walkway, no hand count for the
  whole clip);
- frames per second, wall clock, counting the whole clip with the walkway line at the native
  size (480x360) and at 640 px wide (each frame upscaled first, inside the timed loop, as a 640 px
  camera would deliver it); the clip is decoded once beforehand (decoding it costs under 1 ms a
  frame here); ``ref`` is a fixed OpenCV workload (runs per second) measured right before each run
  and ``fps/ref`` the figure to compare between runs on this noisy machine.

One core: cv2.setNumThreads(1), onnxruntime with one thread, OMP/BLAS threads 1, the process
pinned to one CPU. ``--ablation`` replays NanoDet's boxes (computed once) through the tracker and
the counter with one setting changed at a time. Progress goes to stderr; tables to stdout, then
one JSON line.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from footfall_bench import default_data, machine, machine_busy, pin, reference_rate  # noqa: E402
from sensors.camera import CameraCounter, ObliqueTuning  # noqa: E402
from sensors.detectors import HogPeople, NanodetPeople, SsdlitePeople  # noqa: E402
from tests.plaza_hand_count import (MIDDLE_LINE, PEOPLE, WALKWAY_IN, WALKWAY_LINE,  # noqa: E402
                                    WALKWAY_OUT, matched, people_found)

CLIP = "pets09_s2l1_vtest_480x360.avi"
DETECTORS = {  # name: (label, make)
    "nanodet": ("nanodet, onnxruntime", lambda: NanodetPeople(engine="onnxruntime")),
    "nanodet-cv2": ("nanodet, cv2.dnn", lambda: NanodetPeople(engine="cv2")),
    "ssdlite": ("ssdlite", SsdlitePeople),
    "hog": ("hog", HogPeople),
}


def main() -> int:
    args = parse()
    cv2.setNumThreads(1)
    pinned = pin(args.cpu)
    path = args.data / CLIP
    if not path.is_file():
        print(f"no plaza clip at {path}", file=sys.stderr)
        return 1
    frames = read(path)
    rows = [measure(*DETECTORS[name], frames) for name in args.detectors]
    print(table(rows))
    ablations = ablation(frames) if args.ablation else []
    if ablations:
        print()
        print(ablation_table(ablations))
    print(json.dumps({"machine": machine(), "onnxruntime": onnxruntime_version(),
                      "cv2_threads": cv2.getNumThreads(), "pinned_cpu": pinned, "rows": rows,
                      "ablation": ablations}))
    return 0


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=default_data(), help="the footfall clips folder")
    p.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1, help="CPU to pin to; -1: no pin")
    p.add_argument("--detectors", type=lambda text: text.split(","), default=["nanodet", "nanodet-cv2", "ssdlite"],
                   help=f"comma-separated, of {', '.join(DETECTORS)} (default all but hog)")
    p.add_argument("--ablation", action="store_true", help="also the counting settings one at a time")
    return p.parse_args()


def read(path: Path) -> list:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def measure(label: str, make, frames: list) -> dict:
    print(f"{label}: hand-checked frames", file=sys.stderr, flush=True)
    detector = make()
    found = [people_found(detector.boxes(frames[k]), points) for k, points in PEOPLE.items()]
    row = {"detector": label, "people": sum(f for f, _ in found),
           "of": sum(len(p) for p in PEOPLE.values()), "extra_boxes": sum(e for _, e in found),
           "per_frame": {k: f"{f}/{len(PEOPLE[k])}" for k, (f, _) in zip(PEOPLE, found)}}
    for size, width in (("native", 0), ("640", 640)):
        print(f"{label}: walkway line, {size}", file=sys.stderr, flush=True)
        run = count(frames, WALKWAY_LINE, make(), width)
        row[f"walkway_{size}"] = run
    print(f"{label}: middle line, native", file=sys.stderr, flush=True)
    row["middle_native"] = count(frames, MIDDLE_LINE, make(), 0)
    return row


def count(frames: list, line, detector, width: int, oblique: ObliqueTuning | None = None,
          timed: bool = True) -> dict:
    reference = reference_rate() if timed else None
    counter = CameraCounter(line, view="oblique", detector=detector, width=width or None,
                            upscale=width > frames[0].shape[1], fps=10.0, oblique=oblique)
    crossings = []
    busy_before = machine_busy()[0]
    cpu_start, start = time.process_time(), time.perf_counter()
    for frame in frames:
        crossings += counter.process(frame)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    others = max(0.0, machine_busy()[0] - busy_before - cpu) / seconds
    ins = [c.frame_index for c in crossings if c.direction == "in"]
    outs = [c.frame_index for c in crossings if c.direction == "out"]
    run = {"in": len(ins), "out": len(outs), "processed": "x".join(map(str, counter.processing_size))}
    if line == WALKWAY_LINE:
        right_in, wrong_in, missed_in = matched(ins, WALKWAY_IN)
        right_out, wrong_out, missed_out = matched(outs, WALKWAY_OUT)
        run.update(right=right_in + right_out, wrong=wrong_in + wrong_out, missed=missed_in + missed_out)
    if timed:
        run.update(fps=round(len(frames) / seconds, 1), ref=round(reference, 1),
                   fps_per_ref=round(len(frames) / seconds / reference, 4),
                   cpu_cores=round(cpu / seconds, 2), other_cores=round(others, 2))
        print(f"  in {run['in']} out {run['out']}, {run['fps']} fps, ref {run['ref']}", file=sys.stderr)
    return run


class Replay:
    """NanoDet's boxes computed once (at threshold 0.3, with scores), given back frame by frame."""

    name = "nanodet (replayed)"

    def __init__(self, scored: list, threshold: float = 0.45, centre: bool = False):
        self.scored, self.threshold, self.centre, self.frame = scored, threshold, centre, -1

    def boxes(self, frame):
        self.frame += 1
        found = [(x0, y0, x1 - x0, y1 - y0) for x0, y0, x1, y1, s in self.scored[self.frame] if s >= self.threshold]
        if self.centre:  # the box moved down by half its height: its "feet" are the box's centre
            found = [(x, y + h / 2, w, h) for x, y, w, h in found]
        return found


def ablation(frames: list) -> list[dict]:
    print("ablation: NanoDet over the clip once", file=sys.stderr, flush=True)
    detector = NanodetPeople(threshold=0.3)
    scored = [detector.scored(f) for f in frames]
    base = ObliqueTuning()
    variants = [
        ("as shipped (threshold 0.45, feet, gate 0.08 w, band 0.03 h, coast 1.5 s, settle 0.2 s)", {}, base),
        ("coast 0.6 s (before)", {}, replace(base, coast_seconds=0.6)),
        ("coast 1.0 s", {}, replace(base, coast_seconds=1.0)),
        ("coast 2.0 s", {}, replace(base, coast_seconds=2.0)),
        ("box centre instead of feet", {"centre": True}, base),
        ("gate 0.04 w", {}, replace(base, gate=0.04)),
        ("gate 0.12 w", {}, replace(base, gate=0.12)),
        ("settle 0.1 s (1 frame)", {}, replace(base, settle_seconds=0.1)),
        ("settle 0.3 s (3 frames)", {}, replace(base, settle_seconds=0.3)),
        ("band 0.02 h", {}, replace(base, band=0.02)),
        ("band 0.045 h", {}, replace(base, band=0.045)),
        ("threshold 0.3", {"threshold": 0.3}, base),
        ("threshold 0.5", {"threshold": 0.5}, base),
    ]
    rows = []
    for label, replay, tuning in variants:
        walkway = count(frames, WALKWAY_LINE, Replay(scored, **replay), 0, tuning, timed=False)
        middle = count(frames, MIDDLE_LINE, Replay(scored, **replay), 0, tuning, timed=False)
        rows.append({"variant": label, "walkway": walkway, "middle": middle})
    return rows


def onnxruntime_version() -> str | None:
    try:
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime.__version__


def table(rows: list[dict]) -> str:
    head = ("| detector | people found (5 frames) | boxes on no one | walkway in / out (hand 17 / 12) | "
            "right / wrong / missed | walkway at 640 px | middle in / out | fps native | fps 640 px | "
            "fps/ref native | fps/ref 640 |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        n, w, m = r["walkway_native"], r["walkway_640"], r["middle_native"]
        lines.append(f"| {r['detector']} | {r['people']} of {r['of']} ({', '.join(r['per_frame'].values())}) | "
                     f"{r['extra_boxes']} | {n['in']} / {n['out']} | {n['right']} / {n['wrong']} / {n['missed']} | "
                     f"{w['in']} / {w['out']} | {m['in']} / {m['out']} | {n['fps']} | {w['fps']} | "
                     f"{n['fps_per_ref']} | {w['fps_per_ref']} |")
    return "\n".join(lines)


def ablation_table(rows: list[dict]) -> str:
    head = "| NanoDet, one change | walkway in / out (hand 17 / 12) | right / wrong / missed | middle in / out |"
    lines = [head, "|---|---|---|---|"]
    for r in rows:
        w, m = r["walkway"], r["middle"]
        lines.append(f"| {r['variant']} | {w['in']} / {w['out']} | {w['right']} / {w['wrong']} / {w['missed']} | "
                     f"{m['in']} / {m['out']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
