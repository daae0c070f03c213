"""Count people crossing a line in a video file, for installers checking a camera's placement.

    python -m sensors.count VIDEO --line X1,Y1,X2,Y2 [--view overhead|oblique] [--detector nanodet|ssdlite|hog]
                            [--width 640|0] [--zone x,y;x,y;...] [--preview PNG] [--max-frames N] [--quiet]

Progress goes to stderr; the last line on stdout is one JSON object with the counts.
Exit status: 0, 1 if the video cannot be read, 2 for bad arguments.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import cv2

from .camera import DEFAULT_DETECTOR, DETECTORS, VIEWS, CameraCounter, SourceError, open_source, source_fps

PROGRESS_SECONDS = 3.0


def _line(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"expected X1,Y1,X2,Y2 (four numbers), got {text!r}")
    if values[:2] == values[2:]:
        raise argparse.ArgumentTypeError("the two end points must differ")
    return values


def _zone(text: str) -> list[tuple[float, float]]:
    try:
        points = [tuple(float(v) for v in p.split(",")) for p in text.split(";") if p.strip()]
    except ValueError:
        points = []
    if len(points) < 3 or any(len(p) != 2 for p in points):
        raise argparse.ArgumentTypeError(f"expected at least three points x,y;x,y;x,y, got {text!r}")
    return points


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sensors.count",
        description="Count people crossing a line in a video (统计视频中穿过计数线的人数). "
                    "'in' is a crossing from the line's negative side to its positive side: for a "
                    "line drawn left to right, downwards in the image.")
    p.add_argument("video", help="video file (or rtsp:// / http(s):// URL, or a camera index such as 0)")
    p.add_argument("--line", required=True, type=_line, metavar="X1,Y1,X2,Y2",
                   help="the counting line in the video's own pixels (计数线, 原始分辨率像素)")
    p.add_argument("--view", choices=VIEWS, default="overhead",
                   help="overhead: camera looking down at a doorway (default); oblique: people seen from the side")
    p.add_argument("--detector", choices=DETECTORS, default=None,
                   help=f"person detector for --view oblique (default {DEFAULT_DETECTOR})")
    p.add_argument("--width", type=_count, default=640, metavar="PX",
                   help="processing width in px, aspect kept; 0 = native; never upscaled (default 640)")
    p.add_argument("--zone", type=_zone, default=None, metavar="x,y;x,y;...",
                   help="only count inside this polygon (native pixels)")
    p.add_argument("--preview", metavar="PNG",
                   help="write one frame with the detections, the line, its 'in' side, the band and the "
                        "tracks drawn (the frame with the most people followed)")
    p.add_argument("--max-frames", type=_count, default=None, metavar="N", help="stop after N frames")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.detector and args.view != "oblique":
        parser().error("argument --detector: only with --view oblique")
    try:
        capture = open_source(args.video)
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        return _run(args, capture)
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        capture.release()


def _run(args: argparse.Namespace, capture: cv2.VideoCapture) -> int:
    clip_fps = source_fps(capture)
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    if args.max_frames is not None:
        total = min(total, args.max_frames) if total > 0 else args.max_frames
    counter = CameraCounter(args.line, view=args.view, width=args.width, zone=args.zone,
                            detector=args.detector, fps=clip_fps)
    frames, best, preview = 0, -1, None
    started = last_report = time.perf_counter()
    while args.max_frames is None or frames < args.max_frames:
        ok, frame = capture.read()
        if not ok:
            break
        counter.process(frame)
        frames += 1
        if args.preview and counter.live_tracks > best:
            best, preview = counter.live_tracks, counter.draw(frame)
        if not args.quiet and time.perf_counter() - last_report >= PROGRESS_SECONDS:
            last_report = time.perf_counter()
            print(f"{frames}/{total or '?'} frames, in {counter.counts['in']} out {counter.counts['out']}",
                  file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    if frames == 0:
        raise SourceError(f"no frame could be read from {args.video}")
    if args.preview:
        if not cv2.imwrite(args.preview, preview):
            print(f"error: cannot write the preview to {args.preview}", file=sys.stderr)
            return 1
    width, height = counter.processing_size
    print(json.dumps({**counter.counts, "frames": frames, "fps": round(frames / seconds, 1),
                      "seconds": round(seconds, 2), "clip_fps": clip_fps, "view": args.view,
                      "detector": counter.detector_name, "width": width, "height": height,
                      "preview": args.preview}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
