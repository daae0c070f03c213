"""The displays' media area (issue 22): a hall's images and short videos, uploaded through the API,
judged by their bytes and decoded before they are kept, served to the displays, ordered, switched
off and removed; nothing of a refused file is kept."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select

from app.domain import media as rules
from app.services import audit, hall_media, queue
from app.storage.orm import HallMedia

from app.bootstrap import bootstrap

from ..conftest import FAST_HASH
from ..world import bearer, build_world, staff_token
from .public_env import all_at_once

API = "/api/v1"


def picture(width=640, height=360, ext=".png") -> bytes:
    image = np.zeros((height, width, 3), np.uint8)
    cv2.putText(image, "5G", (20, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 3, (0, 200, 255), 5)
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


def video(tmp_path: Path, fourcc: str, ext: str, frames=30, fps=10) -> bytes:
    path = tmp_path / f"clip.{ext}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (320, 180))
    for i in range(frames):
        writer.write(np.full((180, 320, 3), (i * 8) % 255, np.uint8))
    writer.release()
    return path.read_bytes()


def upload(client, rt, world, data: bytes, who="admin", hall=None, **query):
    hall_id = hall or world.one.id
    return client.post(f"{API}/halls/{hall_id}/media", data=data, query_string=query,
                       headers={**bearer(staff_token(rt, world.staff[who])), "Content-Type": "application/octet-stream"})


def stored(rt) -> tuple[int, list[str]]:
    folder = hall_media.folder(rt)
    with rt.reader() as tx:
        rows = tx.session.scalar(select(func.count(HallMedia.id)))
    return rows, sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_an_image_and_a_video_are_kept_listed_and_played_by_the_displays(client, rt, world, tmp_path):
    r = upload(client, rt, world, picture(), title="5G 套餐海报", seconds=8)
    assert r.status_code == 201, r.get_json()
    image = r.get_json()
    assert (image["kind"], image["content_type"], image["width"], image["height"]) == ("image", "image/png", 640, 360)
    assert image["seconds"] == 8 and image["position"] == 1 and image["title"] == "5G 套餐海报"
    r = upload(client, rt, world, video(tmp_path, "VP80", "webm"), title="宽带安装")
    assert r.status_code == 201, r.get_json()
    clip = r.get_json()
    assert clip["kind"] == "video" and clip["content_type"] == "video/webm" and clip["seconds"] == pytest.approx(3.0)
    assert clip["position"] == 2
    # served to anyone (a display fetches it by address), with its type, ranges answered for videos
    got = client.get(image["url"])
    assert got.status_code == 200 and got.mimetype == "image/png" and got.data == picture()
    part = client.get(clip["url"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.data) == 100 and part.mimetype == "video/webm"
    assert client.get(image["url"].replace(".png", ".exe")).status_code == 404
    assert client.get(f"/media/{world.one.id}/../secret_key").status_code == 404
    # the hall's snapshot carries the playlist, in order
    snapshot = queue.hall_snapshot(rt, world.one.id)
    assert [(m["id"], m["kind"], m["seconds"]) for m in snapshot["media"]] == [
        (image["id"], "image", 8), (clip["id"], "video", pytest.approx(3.0))]
    listed = client.get(f"{API}/halls/{world.one.id}/media", headers=bearer(staff_token(rt, world.staff["m1"])))
    assert [m["id"] for m in listed.get_json()["media"]] == [image["id"], clip["id"]]
    assert [e["action"] for e in audit.list_entries(rt, None, entity="media")["entries"]] == ["create", "create"]


@pytest.mark.parametrize("make, code", [
    (lambda tmp: b"", "media_empty"),
    (lambda tmp: b"MZ\x90\x00 not a picture at all", "media_type"),
    (lambda tmp: b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "media_type"),
    (lambda tmp: picture()[:40] + b"\x00" * 500, "media_unreadable"),  # a PNG's header, then nothing a PNG is
    (lambda tmp: video(tmp, "mp4v", "mp4"), "media_codec"),  # MPEG-4 part 2: no display's browser plays it
    (lambda tmp: picture()[:100] + b"\x00" * (rules.IMAGE_MAX_BYTES + 1), "media_too_large"),
])
def test_a_file_a_display_could_not_show_is_refused_by_its_rule_and_nothing_is_kept(client, rt, world, tmp_path,
                                                                                   make, code):
    r = upload(client, rt, world, make(tmp_path))
    assert r.status_code == 422, r.get_data(as_text=True)
    error = r.get_json()["error"]
    assert error["code"] == code and error["field"] == "file"
    assert stored(rt) == (0, [])


def test_a_body_past_the_video_limit_is_refused_before_it_is_read(client, rt, world):
    r = upload(client, rt, world, b"\x1a\x45\xdf\xa3" + b"\x00" * rules.VIDEO_MAX_BYTES)
    assert r.status_code == 413
    assert stored(rt) == (0, [])


def test_an_image_stays_3_to_60_seconds(client, rt, world):
    r = upload(client, rt, world, picture(), seconds=2)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "seconds"
    image = upload(client, rt, world, picture()).get_json()
    assert image["seconds"] == rules.IMAGE_DEFAULT_S
    admin = bearer(staff_token(rt, world.staff["admin"]))
    r = client.patch(f"{API}/media/{image['id']}", json={"seconds": 61}, headers=admin)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "seconds"
    assert client.patch(f"{API}/media/{image['id']}", json={"seconds": 20}, headers=admin).get_json()["seconds"] == 20


def test_media_are_reordered_switched_off_and_removed_with_their_file(client, rt, world, tmp_path):
    admin = bearer(staff_token(rt, world.staff["m1"]))
    first, second, third = (upload(client, rt, world, picture(ext=".jpg"), who="m1", title=t).get_json()
                            for t in ("一", "二", "三"))
    assert first["content_type"] == "image/jpeg"
    r = client.patch(f"{API}/media/{third['id']}", json={"position": 1}, headers=admin)
    assert r.get_json()["position"] == 1
    assert [m["title"] for m in hall_media.list_media(rt, world.one.id)] == ["三", "一", "二"]
    client.patch(f"{API}/media/{first['id']}", json={"active": False}, headers=admin)
    assert [m["title"] for m in queue.hall_snapshot(rt, world.one.id)["media"]] == ["三", "二"]
    video_row = upload(client, rt, world, video(tmp_path, "VP90", "webm"), who="m1").get_json()
    r = client.patch(f"{API}/media/{video_row['id']}", json={"seconds": 10}, headers=admin)
    assert r.status_code == 422  # a video plays for its own length
    path = hall_media.file_path(rt, world.one.id, second["url"].rsplit("/", 1)[1])
    assert path.is_file()
    assert client.delete(f"{API}/media/{second['id']}", headers=admin).status_code == 200
    assert not path.exists()
    assert client.get(second["url"]).status_code == 404
    assert client.delete(f"{API}/media/{second['id']}", headers=admin).status_code == 404
    # another hall's manager touches none of it
    other = bearer(staff_token(rt, world.staff["m2"]))
    assert client.delete(f"{API}/media/{third['id']}", headers=other).status_code == 403
    assert upload(client, rt, world, picture(), who="m2").status_code == 403


def test_a_hall_keeps_at_most_its_limit_even_when_two_uploads_race_for_the_last_place(
        database_url, clock, tmp_path, monkeypatch):
    monkeypatch.setattr(rules, "HALL_MAX_ITEMS", 3)
    rt = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)
    try:
        hall_media.configure(rt, tmp_path / "media")
        hall = build_world(rt).one
        hall_media.add_media(rt, hall.id, picture(), "1")
        hall_media.add_media(rt, hall.id, picture(), "2")
        for _ in range(3):  # the race, three times over
            outcomes = all_at_once(2, lambda i: hall_media.add_media(rt, hall.id, picture(), f"race {i}"))
            kept = [o for o in outcomes if isinstance(o, dict)]
            refused = [o for o in outcomes if not isinstance(o, dict)]
            assert len(kept) == 1 and len(refused) == 1, outcomes
            assert getattr(refused[0], "code", None) == "media_too_many"
            rows, files = stored(rt)
            assert rows == 3 and len(files) == 3  # the refused one left no file behind
            hall_media.delete_media(rt, kept[0]["id"])
    finally:
        rt.engine.dispose()


@pytest.mark.parametrize("query, field", [({"title": "x" * 101}, "title"), ({"title": "a\x00b"}, "title"),
                                          ({"seconds": "soon"}, "seconds"), ({"seconds": "1e999"}, "seconds"),
                                          ({"seconds": "nan"}, "seconds")])
def test_an_uploads_bad_query_is_refused_naming_it(client, rt, world, query, field):
    r = upload(client, rt, world, picture(), **query)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == field, r.get_data(as_text=True)
    assert stored(rt) == (0, [])
