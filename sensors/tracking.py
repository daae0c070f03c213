"""Footfall core: merged blobs to people, a multi-object tracker, and a line counter with hysteresis.

numpy and scipy only (no OpenCV), so it is tested in milliseconds on synthetic tracks.
Coordinates are image pixels: x to the right, y downwards.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

IN = "in"
OUT = "out"


@dataclass(frozen=True)
class Crossing:
    """One person crossing the counting line; ``in`` is from its negative side to its positive side."""

    direction: str
    track_id: int
    frame_index: int


@dataclass(frozen=True)
class Detection:
    """One thing seen in one frame, reduced to the point that is tracked.

    The point is a blob's centroid (overhead) or the feet of a person box (oblique). ``area`` is in
    px²; ``spread`` is the covariance (sxx, sxy, syy) of the blob's pixels, used to split merged
    blobs; the detections split from one blob share a ``blob`` number. ``pixels`` (an (n, 2) array
    of x, y, optionally a sample) lets the tracker share a blob between the people merged in it.
    """

    x: float
    y: float
    area: float = 0.0
    spread: tuple[float, float, float] | None = None
    blob: int | None = None
    pixels: np.ndarray | None = field(default=None, compare=False, repr=False)


# --- merged blobs -------------------------------------------------------------------------------

def people_in_blob(area: float, elongation: float, person_area: float, *,
                   split_at: float = 1.6, min_elongation: float = 1.7) -> int:
    """How many people one blob holds.

    One below ``split_at`` person areas; from there one more per person area (1.6 -> 2, 2.6 -> 3).
    A blob must also be elongated (long axis / short axis >= ``min_elongation``; two touching
    discs make 2.2) to count as more than one: people side by side make a bar, while one person
    close to the camera makes a big round blob (the bus clip's U-turn is 3.5 person areas of one
    person, elongation 1.4).
    """
    ratio = area / person_area
    if ratio < split_at or elongation < min_elongation:
        return 1
    return min(int(ratio + 2.0 - split_at), 4)


def elongation(detection: Detection) -> float:
    """Long axis over short axis of the blob (1 for a disc); infinite when its spread is unknown."""
    if detection.spread is None:
        return math.inf
    sxx, sxy, syy = detection.spread
    variances = np.linalg.eigvalsh(np.array([[sxx, sxy], [sxy, syy]], dtype=float))
    return math.sqrt(max(float(variances[1]), 1e-9) / max(float(variances[0]), 1e-9))


def split_blob(detection: Detection, person_area: float, heading: tuple[float, float] | None = None,
               **rule) -> list[Detection]:
    """One detection per person in a merged blob, spaced evenly along the blob's long axis.

    ``heading``: the velocity of the track the blob continues, if known. A blob long along its
    heading is one person stretched by motion, a shadow or a lighting change (or people in single
    file, who cross one after the other), not people abreast, and is not split.
    """
    if detection.spread is None:
        return [detection]
    sxx, sxy, syy = detection.spread
    variances, axes = np.linalg.eigh(np.array([[sxx, sxy], [sxy, syy]], dtype=float))
    minor, major = max(float(variances[0]), 1e-9), max(float(variances[1]), 1e-9)
    people = people_in_blob(detection.area, elongation(detection), person_area, **rule)
    if people == 1:
        return [detection]
    ux, uy = axes[:, 1]
    if heading is not None and math.hypot(*heading) > 0:
        if abs(ux * heading[0] + uy * heading[1]) / math.hypot(*heading) > math.cos(math.radians(45)):
            return [detection]
    length = math.sqrt(12.0 * major)  # the extent of an even bar with that variance
    offsets = ((np.arange(people) + 0.5) / people - 0.5) * length
    centres = np.array([[detection.x + o * ux, detection.y + o * uy] for o in offsets])
    return _share(detection, centres)


def _share(detection: Detection, centres: np.ndarray) -> list[Detection]:
    """The blob cut between the given centres (each pixel to the nearest), one detection per part.

    Without pixels, the centres themselves with equal shares of the area.
    """
    if detection.pixels is None or len(detection.pixels) < len(centres):
        share = detection.area / len(centres)
        return [Detection(float(x), float(y), share, None, detection.blob) for x, y in centres]
    pixels = detection.pixels
    nearest = np.argmin(((pixels[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
    parts = []
    for k, (cx, cy) in enumerate(centres):
        mine = pixels[nearest == k]
        if len(mine):
            cx, cy = mine.mean(axis=0)
        share = detection.area * len(mine) / len(pixels)
        parts.append(Detection(float(cx), float(cy), share, None, detection.blob))
    return parts


def split_merged(detections: Iterable[Detection], person_area: float,
                 heading: Callable[[float, float], tuple[float, float] | None] | None = None,
                 **rule) -> list[Detection]:
    """All detections with merged blobs split into people; the parts of one blob share a number.

    ``heading(x, y)`` gives the velocity of the track a blob at (x, y) continues, or None.
    """
    people: list[Detection] = []
    for number, detection in enumerate(detections):
        course = heading(detection.x, detection.y) if heading else None
        parts = split_blob(detection, person_area, course, **rule)
        if len(parts) > 1:
            parts = [replace(part, blob=number) for part in parts]
        people.extend(parts)
    return people


# --- tracker ------------------------------------------------------------------------------------

_MOVE = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
_SEE = np.array([[1, 0, 0, 0], [0, 1, 0, 0]], dtype=float)


@dataclass
class Track:
    """One person followed over frames: a constant-velocity Kalman state [x, y, vx, vy] per frame."""

    id: int
    state: np.ndarray
    cov: np.ndarray
    hits: int = 1
    misses: int = 0
    confirmed: bool = False
    parent: int | None = None  # the track this one was split from, if it was born from a merged blob
    trail: list[tuple[float, float]] = field(default_factory=list)

    @property
    def position(self) -> tuple[float, float]:
        return float(self.state[0]), float(self.state[1])


class Tracker:
    """Follows detections from frame to frame: predict, assign, correct, give birth, drop.

    ``gate`` (px) is the farthest a detection may be from a track's predicted position to be
    assigned to it (widened while the track is unseen); assignment minimises total distance
    (``linear_sum_assignment``). A track is confirmed after ``min_hits`` hits and dropped after
    ``max_misses`` frames unseen (a tentative one after two); while unseen its speed decays by
    ``coast`` a frame (people who vanish into a merged blob slow down, they do not fly on).
    Only detections of at least ``birth_area`` px² start tracks; smaller ones only continue them
    (a person half out of the frame). ``person_area`` (px²), when known, says how many people a
    blob that several tracks walked into can hold (see ``_share_merged``). Noises default to
    fractions of the gate.
    """

    def __init__(self, gate: float, *, min_hits: int = 3, max_misses: int = 10, birth_area: float = 0.0,
                 person_area: float | None = None, coast: float = 0.7,
                 measurement_noise: float | None = None, motion_noise: float | None = None,
                 trail: int = 40) -> None:
        self.gate = float(gate)
        self.person_area = person_area
        self.min_hits = min_hits
        self.max_misses = max_misses
        self.birth_area = birth_area
        self.coast = coast
        self.trail = trail
        seen = measurement_noise if measurement_noise is not None else 0.1 * gate
        moved = motion_noise if motion_noise is not None else 0.05 * gate
        self._seen_noise = seen * seen * np.eye(2)
        kick = np.array([[0.5, 0.0], [0.0, 0.5], [1.0, 0.0], [0.0, 1.0]])
        self._motion_noise = moved * moved * kick @ kick.T
        self._birth_cov = np.diag([seen * seen, seen * seen, (0.5 * gate) ** 2, (0.5 * gate) ** 2])
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, detections: Sequence[Detection]) -> list[Track]:
        """Advance one frame; returns the live tracks (``misses == 0`` for those seen in it)."""
        for track in self.tracks:
            self._predict(track)
        shared, fused, detections = self._share_merged(list(detections))
        for t, detection in shared:
            self._correct(self.tracks[t], detection)
        matches, unseen, new = self._assign(detections, exclude={t for t, _ in shared} | fused)
        for t, d in matches:
            self._correct(self.tracks[t], detections[d])
        for t in unseen:
            self.tracks[t].misses += 1
        split_from = {detections[d].blob: self.tracks[t].id for t, d in matches
                      if detections[d].blob is not None}
        for d in new:
            if detections[d].area >= self.birth_area:
                self._give_birth(detections[d], split_from.get(detections[d].blob))
        self.tracks = [t for i, t in enumerate(self.tracks)
                       if i not in fused and t.misses <= (self.max_misses if t.confirmed else 1)]
        return list(self.tracks)

    def heading(self, x: float, y: float) -> tuple[float, float] | None:
        """The velocity (px/frame) of the confirmed track nearest (x, y) within the gate, if any."""
        near = [(math.hypot(t.state[0] - x, t.state[1] - y), t) for t in self.tracks if t.confirmed]
        near = [(d, t) for d, t in near if d <= self.gate]
        if not near:
            return None
        track = min(near, key=lambda pair: pair[0])[1]
        return float(track.state[2]), float(track.state[3])

    def _predict(self, track: Track) -> None:
        if track.misses:
            track.state[2:] *= self.coast
        track.state = _MOVE @ track.state
        track.cov = _MOVE @ track.cov @ _MOVE.T + self._motion_noise

    def _correct(self, track: Track, detection: Detection) -> None:
        innovation = np.array([detection.x, detection.y]) - _SEE @ track.state
        spread = _SEE @ track.cov @ _SEE.T + self._seen_noise
        gain = track.cov @ _SEE.T @ np.linalg.inv(spread)
        track.state = track.state + gain @ innovation
        track.cov = (np.eye(4) - gain @ _SEE) @ track.cov
        track.hits += 1
        track.misses = 0
        track.confirmed = track.confirmed or track.hits >= self.min_hits
        track.trail = (track.trail + [track.position])[-self.trail:]

    def _give_birth(self, detection: Detection, parent: int | None) -> None:
        state = np.array([detection.x, detection.y, 0.0, 0.0])
        track = Track(self._next_id, state, self._birth_cov.copy(), parent=parent,
                      trail=[(detection.x, detection.y)], confirmed=self.min_hits <= 1)
        self._next_id += 1
        self.tracks.append(track)

    def _share_merged(self, detections: list[Detection]) -> tuple[list, set[int], list[Detection]]:
        """Blobs that two or more tracks seen last frame walked into.

        If the blob is big enough for them all (``person_area``), each pixel goes to the nearest
        track's predicted position and each track is corrected with its part: following the blob's
        centroid instead would drag one track to the middle of the merged people, and maybe over
        the line. Tracks beyond what the blob can hold were pieces of one person and are fused
        into the oldest. Returns (track index, part) pairs, the fused tracks' indexes and the
        detections left for the assignment.
        """
        shared, fused, rest = [], set(), []
        walking = [i for i, t in enumerate(self.tracks) if t.misses == 0]
        for detection in detections:
            inside = [i for i in walking if self._within(detection, self.tracks[i].state[:2])]
            if len(inside) < 2:
                rest.append(detection)
                continue
            walking = [i for i in walking if i not in inside]
            inside.sort(key=lambda i: -self.tracks[i].hits)
            room = len(inside) if self.person_area is None else people_in_blob(
                detection.area, elongation(detection), self.person_area)
            fused.update(inside[room:])
            inside = inside[:room]
            parts = _share(detection, np.array([self.tracks[i].state[:2] for i in inside]))
            shared.extend((i, part) for i, part in zip(inside, parts) if part.area > 0)
        return shared, fused, rest

    def _within(self, detection: Detection, point: np.ndarray) -> bool:
        if detection.pixels is None or not len(detection.pixels):
            return False
        reach = 0.1 * self.gate
        lo, hi = detection.pixels.min(axis=0) - reach, detection.pixels.max(axis=0) + reach
        if not (np.all(point >= lo) and np.all(point <= hi)):
            return False
        return bool(((detection.pixels - point) ** 2).sum(axis=1).min() <= reach * reach)

    def _assign(self, detections: Sequence[Detection], exclude: set[int]) -> tuple[list, list, list]:
        free = [t for t in range(len(self.tracks)) if t not in exclude]
        if not free or not detections:
            return [], free, list(range(len(detections)))
        predicted = np.array([self.tracks[t].state[:2] for t in free])
        seen = np.array([[d.x, d.y] for d in detections])
        distance = np.linalg.norm(predicted[:, None, :] - seen[None, :, :], axis=2)
        gates = np.array([self.gate * min(1.0 + 0.5 * self.tracks[t].misses, 2.0) for t in free])
        allowed = distance <= gates[:, None]
        rows, cols = linear_sum_assignment(np.where(allowed, distance, 1e9))
        matches = [(free[r], c) for r, c in zip(rows, cols) if allowed[r, c]]
        matched_t = {t for t, _ in matches}
        matched_d = {d for _, d in matches}
        return (matches, [t for t in free if t not in matched_t],
                [d for d in range(len(detections)) if d not in matched_d])


# --- counting line ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CountingLine:
    """A counting segment (x1, y1, x2, y2) with a dead band of ±``band`` px around it.

    side = sign((x2-x1)*(y-y1) - (y2-y1)*(x-x1)), and ``in`` is a crossing from the negative side
    to the positive side. For a horizontal line drawn left to right (x1 < x2) the positive side is
    below it (y grows downwards), so ``in`` is downwards and ``out`` upwards. The segment's ends
    are extended by ``margin`` (a fraction of its length) when deciding whether a path crossed it.
    """

    x1: float
    y1: float
    x2: float
    y2: float
    band: float = 0.0
    margin: float = 0.05

    def __post_init__(self) -> None:
        if self.length == 0:
            raise ValueError("the counting line needs two different end points")

    @property
    def length(self) -> float:
        return math.hypot(self.x2 - self.x1, self.y2 - self.y1)

    def offset(self, x: float, y: float) -> float:
        """Signed distance (px) from the line's infinite extension; positive on the positive side."""
        return ((self.x2 - self.x1) * (y - self.y1) - (self.y2 - self.y1) * (x - self.x1)) / self.length

    def along(self, x: float, y: float) -> float:
        """Where the point projects onto the segment: 0 at (x1, y1), 1 at (x2, y2)."""
        dx, dy = self.x2 - self.x1, self.y2 - self.y1
        return ((x - self.x1) * dx + (y - self.y1) * dy) / (dx * dx + dy * dy)

    def side(self, x: float, y: float) -> int:
        """+1 or -1 when firmly on a side (beyond the band), 0 inside the band."""
        offset = self.offset(x, y)
        if abs(offset) <= self.band:
            return 0
        return 1 if offset > 0 else -1

    def meets(self, start: tuple[float, float], end: tuple[float, float]) -> bool:
        """Whether the path start -> end (on opposite sides) passes through the segment's extent."""
        before, after = self.offset(*start), self.offset(*end)
        if before == after:
            return False
        s = before / (before - after)
        x, y = start[0] + s * (end[0] - start[0]), start[1] + s * (end[1] - start[1])
        return -self.margin <= self.along(x, y) <= 1.0 + self.margin

    def scaled(self, sx: float, sy: float, band: float | None = None) -> "CountingLine":
        """The same line in a frame resized by (sx, sy)."""
        return CountingLine(self.x1 * sx, self.y1 * sy, self.x2 * sx, self.y2 * sy,
                            self.band if band is None else band, self.margin)


def inside(polygon: np.ndarray, x: float, y: float) -> bool:
    """Whether (x, y) lies inside the polygon (an (n, 2) array of vertices), by ray casting."""
    xs, ys = polygon[:, 0], polygon[:, 1]
    xn, yn = np.roll(xs, -1), np.roll(ys, -1)
    straddles = (ys > y) != (yn > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        cut = xs + (y - ys) * (xn - xs) / (yn - ys)
    return bool(np.count_nonzero(straddles & (x < cut)) % 2)


@dataclass
class _Passage:
    side: int = 0  # the side the track is firmly on; 0 before it has settled on one
    point: tuple[float, float] | None = None  # where it last was firmly on that side
    heading_for: int = 0  # the other side, while it is being seen there but has not settled yet
    seen_there: int = 0  # how many times in a row it has been seen there
    start: tuple[float, float] | None = None  # where it was first seen there
    pending: list[Crossing] = field(default_factory=list)  # crossings made while still tentative


class LineCounter:
    """Counts tracks that go from firmly one side of the line to firmly the other (hysteresis).

    "Firmly" is in space and time: beyond the band, in ``settle`` observations in a row (positions
    in the band neither add to nor break the run), so a blob centroid that jumps across for a frame
    or two when blobs merge does not count. Positions inside the band change nothing, so jitter on
    the line never counts; a U-turn that does not leave the band on the far side counts nothing,
    and one that does counts in then out, so occupancy (in - out) stays right. A track may cross
    any number of times. A crossing whose path passes beyond the segment's ends moves the track to
    the new side without counting. Only
    positions inside ``zone`` (a polygon), when given, are looked at. Tentative tracks' crossings
    wait and count once the track is confirmed; a track born from a split blob starts on the side
    its parent is on, so two people abreast whose blob splits on the line still count two.
    """

    def __init__(self, line: CountingLine, zone: Sequence[tuple[float, float]] | None = None, *,
                 settle: int = 1) -> None:
        self.line = line
        self.settle = settle
        self.zone = np.asarray(zone, dtype=float) if zone else None
        self.counts = {IN: 0, OUT: 0}
        self._passages: dict[int, _Passage] = {}

    def update(self, tracks: Iterable[Track], frame_index: int) -> list[Crossing]:
        """Look at the tracks seen in this frame; returns the crossings counted now."""
        crossings: list[Crossing] = []
        live = set()
        for track in tracks:
            live.add(track.id)
            if track.misses == 0:
                crossings.extend(self._observe(track, frame_index))
        for gone in set(self._passages) - live:
            del self._passages[gone]
        return crossings

    def _observe(self, track: Track, frame_index: int) -> list[Crossing]:
        passage = self._passages.get(track.id)
        if passage is None:
            passage = self._passages[track.id] = self._start(track)
        x, y = track.position
        side = self.line.side(x, y)
        if side and (self.zone is None or inside(self.zone, x, y)):
            self._see(passage, side, (x, y), track.id, frame_index)
        if not track.confirmed or not passage.pending:
            return []
        counted, passage.pending = passage.pending, []
        for crossing in counted:
            self.counts[crossing.direction] += 1
        return counted

    def _see(self, passage: _Passage, side: int, point: tuple[float, float], track_id: int,
             frame_index: int) -> None:
        if side == passage.side:
            passage.point, passage.heading_for, passage.seen_there = point, 0, 0
            return
        if side != passage.heading_for:
            passage.heading_for, passage.seen_there, passage.start = side, 0, point
        passage.seen_there += 1
        if passage.seen_there < self.settle:
            return
        if passage.side and self.line.meets(passage.point, passage.start):
            passage.pending.append(Crossing(IN if side > 0 else OUT, track_id, frame_index))
        passage.side, passage.point, passage.heading_for, passage.seen_there = side, point, 0, 0

    def _start(self, track: Track) -> _Passage:
        parent = self._passages.get(track.parent) if track.parent is not None else None
        if parent is None:
            return _Passage()
        return _Passage(parent.side, parent.point)
