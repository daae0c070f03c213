"""Camera footfall counter: frames from a file, stream or local camera in, line crossings out.

Counts only: no frame is stored or sent anywhere (``draw`` exists for the installer's preview).
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .detectors import HogPeople, MovingBlobs, NanodetPeople, OverheadTuning, SsdlitePeople, feet
from .tracking import Crossing, CountingLine, LineCounter, Tracker, split_merged

__all__ = ["Crossing", "SourceError", "open_source", "CameraCounter", "iter_crossings", "OverheadTuning",
           "ObliqueTuning"]

VIEWS = ("overhead", "oblique")
DETECTORS = ("nanodet", "ssdlite", "hog")
DEFAULT_DETECTOR = "nanodet"
STREAM_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class ObliqueTuning:
    """The oblique view's tracking and counting settings (measured on the plaza clip, BENCHMARKS.md).

    ``gate``: how far (a fraction of the processing width) a person's feet may move between two
    frames and stay the same track. ``band``: the dead band either side of the line (a fraction of
    the height). ``coast_seconds``: how long a track lives unseen (a person behind a post, a sign or
    other people, or missed by the detector for a moment); 0.6 s lost 5 of 29 hand-counted
    crossings that 1.5 s keeps. ``settle_seconds``: how long a track must stay on the far side
    before its crossing counts (as in the overhead view).
    """

    gate: float = 0.08
    band: float = 0.03
    coast_seconds: float = 1.5
    settle_seconds: float = 0.2


class SourceError(Exception):
    """A video source that cannot be opened or read; the message is meant for an installer."""


def open_source(source: str) -> cv2.VideoCapture:
    """Open a video file, an rtsp:// or http(s):// stream, or a local camera given by its index ("0")."""
    source = str(source).strip()
    if source.isdigit():
        capture = cv2.VideoCapture(int(source))
        what = f"local camera {source}"
    elif "://" in source:
        timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                    STREAM_TIMEOUT_MS]
        capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG, timeouts)
        what = f"stream {source}"
    else:
        path = Path(source)
        if not path.is_file():
            raise SourceError(f"no video file at {source}")
        capture = cv2.VideoCapture(str(path))
        what = f"video file {source}"
    if not capture.isOpened():
        capture.release()
        raise SourceError(f"cannot open {what}: not a video OpenCV can read, or not reachable")
    return capture


class CameraCounter:
    """Counts people crossing a line, one BGR frame at a time.

    ``line`` is (x1, y1, x2, y2) in native frame pixels; ``in`` is a crossing from its negative side
    to its positive side (see ``tracking.CountingLine``: for a line drawn left to right, downwards).
    Frames are resized to ``width`` px wide (aspect kept; ``None`` or 0: native); a width above the
    native one is not upscaled unless ``upscale``. ``zone``: a polygon (native pixels) outside which
    nothing counts. ``view``: ``overhead`` (background subtraction) or ``oblique`` (a person
    detector, ``detector`` = ``nanodet`` (default), ``ssdlite`` or ``hog``, or any object with a
    ``name`` and ``boxes(frame)`` giving (x, y, w, h) person boxes). ``fps`` turns seconds into
    frames. ``tuning`` and ``oblique`` adjust the overhead and the oblique view.
    """

    def __init__(self, line: tuple[float, float, float, float], *, view: str = "overhead",
                 width: int | None = 640, zone: list[tuple[float, float]] | None = None,
                 detector: str | object | None = None, fps: float | None = None, upscale: bool = False,
                 tuning: OverheadTuning | None = None, oblique: ObliqueTuning | None = None) -> None:
        if view not in VIEWS:
            raise ValueError(f"view must be one of {', '.join(VIEWS)}, not {view!r}")
        own = view == "oblique" and detector is not None and not isinstance(detector, str)
        if own and not callable(getattr(detector, "boxes", None)):
            raise ValueError("a detector object needs a boxes(frame) method")
        if view == "oblique" and not own and (detector or DEFAULT_DETECTOR) not in DETECTORS:
            raise ValueError(f"detector must be one of {', '.join(DETECTORS)}, not {detector!r}")
        if view == "overhead" and detector not in (None, "blobs"):
            raise ValueError("the overhead view uses background subtraction: give no detector")
        self.line = CountingLine(*map(float, line))
        self.view = view
        self.width = width or None
        self.upscale = upscale
        self.zone = [tuple(map(float, p)) for p in zone] if zone else None
        if own:
            self.detector_name = getattr(detector, "name", type(detector).__name__)
        else:
            self.detector_name = "blobs" if view == "overhead" else (detector or DEFAULT_DETECTOR)
        self.fps = fps or 15.0
        self.tuning = tuning or OverheadTuning()
        self.oblique = oblique or ObliqueTuning()
        self.frame_index = -1
        self._scale: tuple[float, float] | None = None
        self._size: tuple[int, int] | None = None
        self._detector = detector if own else None
        self._seen: list = []  # the last frame's person boxes (oblique) or blobs (overhead), for draw()
        self._tracker: Tracker | None = None
        self._counter: LineCounter | None = None

    @property
    def counts(self) -> dict:
        """Crossings so far: ``{"in": n, "out": n}``."""
        return dict(self._counter.counts) if self._counter else {"in": 0, "out": 0}

    @property
    def processing_size(self) -> tuple[int, int] | None:
        """(width, height) frames are processed at, known once the first frame is in."""
        return self._size

    def process(self, frame: np.ndarray) -> list[Crossing]:
        """Count one native-size BGR frame; returns the crossings completed in it."""
        if self._size is None:
            self._start(frame.shape[1], frame.shape[0])
        self.frame_index += 1
        small = self._resize(frame)
        if self.view == "overhead":
            self._seen = self._detector.detect(small)
            detections = split_merged(self._seen, self._detector.person_area, self._tracker.heading)
        else:
            self._seen = self._detector.boxes(small)
            detections = [feet(box) for box in self._seen]
        tracks = self._tracker.update(detections)
        return self._counter.update(tracks, self.frame_index)

    @property
    def live_tracks(self) -> int:
        """How many confirmed tracks are followed now (for choosing a preview frame)."""
        return sum(t.confirmed for t in self._tracker.tracks) if self._tracker else 0

    def draw(self, frame: np.ndarray) -> np.ndarray:
        """A copy of the native frame with what was detected in the last frame processed (person
        boxes in yellow, or blob centres), the line, its band and ``in`` side, the zone and tracks."""
        out = frame.copy()
        thick = max(1, round(frame.shape[1] / 320))
        sx, sy = self._scale or (1.0, 1.0)
        for seen in self._seen:
            if self.view == "oblique":
                x, y, w, h = seen
                cv2.rectangle(out, _pt((x / sx, y / sy)), _pt(((x + w) / sx, (y + h) / sy)), (0, 220, 255), thick)
            else:
                cv2.drawMarker(out, _pt((seen.x / sx, seen.y / sy)), (0, 220, 255), cv2.MARKER_CROSS,
                               8 * thick, thick)
        band = self._counter.line.band / sy if self._counter else 0.0
        _draw_line(out, self.line, band, thick)
        if self.zone:
            cv2.polylines(out, [np.array([_pt(p) for p in self.zone])], True, (255, 160, 0), thick)
        for track in (self._tracker.tracks if self._tracker else []):
            colour = (0, 0, 255) if track.confirmed else (160, 160, 160)
            trail = np.array([(x / sx, y / sy) for x, y in track.trail], dtype=np.int32)
            if len(trail) > 1:
                cv2.polylines(out, [trail], False, colour, thick)
            x, y = track.position[0] / sx, track.position[1] / sy
            cv2.circle(out, _pt((x, y)), 3 * thick, colour, -1)
            _text(out, str(track.id), (x + 5, y - 5), colour, thick)
        _text(out, "in {in}  out {out}".format(**self.counts), (6, 16 * thick), (255, 255, 255), thick)
        return out

    def _start(self, native_width: int, native_height: int) -> None:
        width = native_width
        if self.width and (self.width < native_width or self.upscale):
            width = self.width
        height = max(1, round(native_height * width / native_width))
        self._size = (width, height)
        sx, sy = width / native_width, height / native_height
        self._scale = (sx, sy)
        if self.view == "overhead":
            self._detector = MovingBlobs(self._size, self.fps, self.tuning)
            person = math.sqrt(self._detector.person_area)  # one person's size in px
            band = 0.15 * person
            self._tracker = Tracker(person, min_hits=3, max_misses=self._frames(0.6),
                                    birth_area=self.tuning.birth_area * self._detector.person_area,
                                    person_area=self._detector.person_area)
            settle = self._frames(0.2)  # "firmly on a side" lasts 0.2 s: 3 frames at 15 fps, 5 at 25
        else:
            if self._detector is None:
                self._detector = {"nanodet": NanodetPeople, "ssdlite": SsdlitePeople,
                                  "hog": HogPeople}[self.detector_name]()
            band = self.oblique.band * height
            self._tracker = Tracker(self.oblique.gate * width, min_hits=2,
                                    max_misses=self._frames(self.oblique.coast_seconds))
            settle = self._frames(self.oblique.settle_seconds)
        zone = [(x * sx, y * sy) for x, y in self.zone] if self.zone else None
        self._counter = LineCounter(self.line.scaled(sx, sy, band=band), zone, settle=settle)

    def _frames(self, seconds: float) -> int:
        return max(1, round(seconds * self.fps))

    def _resize(self, frame: np.ndarray) -> np.ndarray:
        width, height = self._size
        if frame.shape[1] == width and frame.shape[0] == height:
            return frame
        shrink = width < frame.shape[1]
        return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def iter_crossings(source: str, line, *, view: str = "overhead", width: int | None = 640, zone=None,
                   detector=None, stop: threading.Event | None = None,
                   max_frames: int | None = None) -> Iterator[Crossing]:
    """Crossings from a source as they happen; reads until the file ends, ``stop`` is set or
    ``max_frames`` frames are read. Raises SourceError if the source cannot be opened or a stream fails."""
    capture = open_source(source)
    try:
        counter = CameraCounter(line, view=view, width=width, zone=zone, detector=detector,
                                fps=source_fps(capture))
        is_file = "://" not in str(source) and not str(source).strip().isdigit()
        frames = 0
        while (stop is None or not stop.is_set()) and (max_frames is None or frames < max_frames):
            ok, frame = capture.read()
            if not ok:
                if is_file and frames > 0:
                    return
                raise SourceError(f"cannot read a frame from {source} (after {frames} frames)")
            frames += 1
            yield from counter.process(frame)
    finally:
        capture.release()


def source_fps(capture: cv2.VideoCapture) -> float | None:
    """The source's frame rate if it reports a plausible one (streams and cameras often do not)."""
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    return fps if 1.0 <= fps <= 240.0 else None


def _draw_line(out: np.ndarray, line: CountingLine, band: float, thick: int) -> None:
    """The line (green), its band (orange) and an arrow to its positive side labelled "in"."""
    length = line.length
    nx, ny = -(line.y2 - line.y1) / length, (line.x2 - line.x1) / length  # towards the positive side
    for offset in (band, -band):
        ends = [(line.x1 + nx * offset, line.y1 + ny * offset), (line.x2 + nx * offset, line.y2 + ny * offset)]
        cv2.line(out, _pt(ends[0]), _pt(ends[1]), (0, 200, 255), 1, cv2.LINE_AA)
    cv2.line(out, _pt((line.x1, line.y1)), _pt((line.x2, line.y2)), (0, 255, 0), thick + 1, cv2.LINE_AA)
    middle = ((line.x1 + line.x2) / 2, (line.y1 + line.y2) / 2)
    reach = max(band * 2.5, out.shape[0] / 12)
    tip = (middle[0] + nx * reach, middle[1] + ny * reach)
    cv2.arrowedLine(out, _pt(middle), _pt(tip), (0, 255, 0), thick, cv2.LINE_AA, tipLength=0.3)
    _text(out, "in", (tip[0] + 4, tip[1]), (0, 255, 0), thick)


def _text(out: np.ndarray, text: str, at: tuple[float, float], colour, thick: int) -> None:
    cv2.putText(out, text, _pt(at), cv2.FONT_HERSHEY_SIMPLEX, 0.45 * thick, colour, thick, cv2.LINE_AA)


def _pt(p: tuple[float, float]) -> tuple[int, int]:
    return int(round(p[0])), int(round(p[1]))
