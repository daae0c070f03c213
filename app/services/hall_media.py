"""A hall's waiting-area media: images and short videos its displays play beside the calls.

Uploaded files are judged by their bytes (``domain.media``), then decoded with OpenCV (an image's
size; a video's codec, frames and length) before a row is stored: a file a display could not show
is refused with the rule it breaks, and nothing is kept of it. Files live in the instance folder's
``media/<hall_id>/`` under unguessable names; the row and the file appear together (the file is in
place before the commit, and removed again if the commit fails). Every change is audited and sends
the hall's screens a fresh snapshot.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import func, select

from ..bootstrap import Runtime
from ..domain import events as ev
from ..domain import media as rules
from ..domain.errors import Invalid, NotFound
from ..storage.orm import Hall, HallMedia
from . import audit

FOLDER_KEY = "media_folder"


def configure(rt: Runtime, folder: Path) -> None:
    rt.settings[FOLDER_KEY] = Path(folder)


def folder(rt: Runtime) -> Path:
    return rt.settings[FOLDER_KEY]


def file_path(rt: Runtime, hall_id: int, file_name: str) -> Path:
    return folder(rt) / str(hall_id) / file_name


def media_view(m: HallMedia) -> dict:
    return {
        "id": m.id,
        "hall_id": m.hall_id,
        "title": m.title,
        "kind": m.kind,
        "content_type": m.content_type,
        "size_bytes": m.size_bytes,
        "width": m.width,
        "height": m.height,
        "seconds": m.seconds,
        "position": m.position,
        "active": m.active,
        "url": f"/media/{m.hall_id}/{m.file_name}",
        "created_at": m.created_at.isoformat(),
    }


def list_media(rt: Runtime, hall_id: int, active_only: bool = False) -> list[dict]:
    with rt.reader() as tx:
        return _listed(tx.session, hall_id, active_only)


def _listed(s, hall_id: int, active_only: bool) -> list[dict]:
    q = select(HallMedia).where(HallMedia.hall_id == hall_id)
    if active_only:
        q = q.where(HallMedia.active.is_(True))
    return [media_view(m) for m in s.scalars(q.order_by(HallMedia.position, HallMedia.id))]


def playlist(s, hall_id: int) -> list[dict]:
    """What the displays play, in order: for the hall's snapshot."""
    return [
        {"id": m["id"], "kind": m["kind"], "url": m["url"], "seconds": m["seconds"], "title": m["title"]}
        for m in _listed(s, hall_id, active_only=True)
    ]


def _decoded(media: rules.MediaType, path: Path, data: bytes) -> tuple[int, int, float | None, str]:
    """(width, height, seconds, codec) as OpenCV reads the file; zeros when it cannot."""
    import cv2  # only an upload decodes: the hall snapshot's playlist (every screen) needs no OpenCV
    import numpy as np

    if media.kind == "image":
        picture = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        return (0, 0, None, "") if picture is None else (picture.shape[1], picture.shape[0], None, "")
    video = cv2.VideoCapture(str(path))
    try:
        if not video.isOpened():
            return 0, 0, None, ""
        ok, frame = video.read()
        frames, fps = video.get(cv2.CAP_PROP_FRAME_COUNT), video.get(cv2.CAP_PROP_FPS)
        codec = int(video.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("latin-1").strip("\0 ")
        if not ok or frame is None:
            return 0, 0, None, codec
        seconds = frames / fps if fps > 0 and frames > 0 else None
        return frame.shape[1], frame.shape[0], seconds, codec
    finally:
        video.release()


def _hall_usage(s, hall_id: int) -> tuple[int, int]:
    count, size = s.execute(
        select(func.count(HallMedia.id), func.coalesce(func.sum(HallMedia.size_bytes), 0)).where(
            HallMedia.hall_id == hall_id
        )
    ).one()
    return int(count), int(size)


def add_media(rt: Runtime, hall_id: int, data: bytes, title: str, seconds: float | None = None) -> dict:
    """Check, decode and store one file for the hall's displays; returns its row."""
    title = (title or "").strip()[: rules.TITLE_MAX] or "media"
    with rt.reader() as tx:
        if tx.session.get(Hall, hall_id) is None:
            raise NotFound(f"no hall {hall_id}", field="hall_id")
        count, used = _hall_usage(tx.session, hall_id)
    media = rules.check_upload(data[:64], len(data), count, used)
    if media.kind == "image":
        seconds = rules.IMAGE_DEFAULT_S if seconds is None else seconds
        if problem := rules.image_seconds_problem(seconds):
            raise Invalid(problem, field="seconds")
    place = folder(rt) / str(hall_id)
    place.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{media.extension}"
    final, part = place / name, place / f"{name}.part"
    part.write_bytes(data)
    try:
        width, height, length, codec = _decoded(media, part, data)
        rules.check_decoded(media, width, height, length, codec)
        with rt.uow() as tx:
            s = tx.session
            s.get(Hall, hall_id, with_for_update=True)  # two uploads at once: one at a time against the limits
            count, used = _hall_usage(s, hall_id)
            rules.check_upload(data[:64], len(data), count, used)
            last = s.scalar(select(func.max(HallMedia.position)).where(HallMedia.hall_id == hall_id))
            row = HallMedia(
                hall_id=hall_id,
                file_name=name,
                title=title,
                kind=media.kind,
                content_type=media.content_type,
                size_bytes=len(data),
                width=width,
                height=height,
                seconds=round(float((seconds if media.kind == "image" else length) or 0), 2),
                position=(last or 0) + 1,
                active=True,
                created_at=rt.now(),
            )
            s.add(row)
            s.flush()
            view = media_view(row)
            audit.record(s, rt.now(), "create", "media", row.id, hall_id, None, _audited(view))
            part.replace(final)
            try:
                tx.commit()
            except BaseException:
                final.unlink(missing_ok=True)
                raise
    finally:
        part.unlink(missing_ok=True)
    rt.bus.publish([ev.HallSettingsChanged(hall_id=hall_id)])
    return view


def _audited(view: dict) -> dict:
    return {k: view[k] for k in ("title", "kind", "size_bytes", "seconds", "position", "active")}


def update_media(rt: Runtime, media_id: int, changes: dict) -> dict:
    """Title, an image's seconds, its place in the order, on or off the screens."""
    with rt.uow() as tx:
        s = tx.session
        row = s.get(HallMedia, media_id)
        if row is None:
            raise NotFound(f"no media {media_id}", field="media_id")
        before = media_view(row)
        if "seconds" in changes:
            if row.kind != "image":
                raise Invalid("a video plays for its own length", field="seconds")
            if problem := rules.image_seconds_problem(changes["seconds"]):
                raise Invalid(problem, field="seconds")
            row.seconds = float(changes["seconds"])
        if "title" in changes:
            row.title = changes["title"].strip()[: rules.TITLE_MAX] or row.title
        if "active" in changes:
            row.active = bool(changes["active"])
        if "position" in changes:
            _move(s, row, changes["position"])
        view = media_view(row)
        audit.record(s, rt.now(), "update", "media", media_id, row.hall_id, _audited(before), _audited(view))
        tx.commit()
    rt.bus.publish([ev.HallSettingsChanged(hall_id=view["hall_id"])])
    return view


def _move(s, row: HallMedia, position: int) -> None:
    """Put ``row`` at 1-based ``position`` among its hall's media, the others renumbered after it."""
    others = [
        m
        for m in s.scalars(
            select(HallMedia).where(HallMedia.hall_id == row.hall_id).order_by(HallMedia.position, HallMedia.id)
        )
        if m.id != row.id
    ]
    index = max(0, min(int(position) - 1, len(others)))
    for n, m in enumerate(others[:index] + [row] + others[index:], start=1):
        m.position = n


def delete_media(rt: Runtime, media_id: int) -> dict:
    with rt.uow() as tx:
        s = tx.session
        row = s.get(HallMedia, media_id)
        if row is None:
            raise NotFound(f"no media {media_id}", field="media_id")
        view = media_view(row)
        path = file_path(rt, row.hall_id, row.file_name)
        s.delete(row)
        audit.record(s, rt.now(), "delete", "media", media_id, view["hall_id"], _audited(view), None)
        tx.commit()
    path.unlink(missing_ok=True)  # after the commit: a failed delete keeps the file its row names
    rt.bus.publish([ev.HallSettingsChanged(hall_id=view["hall_id"])])
    return view


def media_hall(rt: Runtime, media_id: int) -> int:
    """The hall a media row belongs to (for the access rule)."""
    with rt.reader() as tx:
        row = tx.session.get(HallMedia, media_id)
        if row is None:
            raise NotFound(f"no media {media_id}", field="media_id")
        return row.hall_id
