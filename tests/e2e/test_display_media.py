"""The display's media area in Chromium (issue 22): a hall's image and short video play in turn beside
the calls, muted; a call covers the area at once and pauses the video, which plays on once the call
has been said. The files are uploaded through the API, behind the deployment's nginx."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import requests
from playwright.sync_api import expect

from ..polling import wait_until
from ..world import bearer
from .test_browser import browser  # noqa: F401 - the module's browser fixture
from .test_screens import issue_and_call, new_page, open_display, shot, sign_in, tidy_counter  # noqa: F401

pytestmark = pytest.mark.e2e
DOOR_VIDEO = Path(__file__).resolve().parents[3] / "shared" / "data" / "footfall" / "overhead_footfall_240x240.mp4"
if not DOOR_VIDEO.exists():  # CI has shared/ beside main; a bare clone may not
    DOOR_VIDEO = Path("/work/shared/data/footfall/overhead_footfall_240x240.mp4")


def poster() -> bytes:
    image = np.full((720, 1280, 3), (102, 51, 0), np.uint8)
    cv2.putText(image, "5G", (80, 420), cv2.FONT_HERSHEY_SIMPLEX, 9, (0, 211, 255), 24)
    return cv2.imencode(".png", image)[1].tobytes()


def clip(tmp_path: Path) -> bytes:
    path = tmp_path / "clip.webm"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP80"), 10, (640, 360))
    for i in range(40):  # 4 s of a bar crossing the picture
        frame = np.full((360, 640, 3), 30, np.uint8)
        cv2.rectangle(frame, (i * 15, 120), (i * 15 + 80, 240), (60, 180, 60), -1)
        writer.write(frame)
    writer.release()
    return path.read_bytes()


def upload(server, hall_id: int, data: bytes, **query) -> dict:
    r = requests.post(server.api(f"/halls/{hall_id}/media"), data=data, params=query, timeout=30,
                      headers={**bearer(server.tokens["admin"]), "Content-Type": "application/octet-stream"})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def hall_media(live_server):
    made = []
    yield made
    for m in made:
        requests.delete(live_server.api(f"/media/{m['id']}"), headers=bearer(live_server.tokens["admin"]), timeout=5)


def playing(display) -> bool:
    return display.evaluate("(() => { const v = document.querySelector('#media-stage video');"
                            " return !!v && !v.paused && v.currentTime > 0 && v.muted; })()")


def test_the_display_plays_the_halls_media_and_a_call_takes_precedence(
        browser, live_server, tidy_counter, hall_media, tmp_path):  # noqa: F811
    hall = live_server.world.one
    counter_id = hall.counters[2]
    tidy_counter((counter_id, "s1"))
    image = upload(live_server, hall.id, poster(), title="5G 套餐", seconds=3)
    hall_media.append(image)
    video = upload(live_server, hall.id, clip(tmp_path), title="宽带")
    hall_media.append(video)
    display = open_display(browser, live_server, hall)
    expect(display.locator("#media")).to_be_visible()
    expect(display.locator("#media-stage img")).to_have_attribute("src", image["url"])
    wait_until(lambda: display.evaluate("document.querySelector('#media-stage img').naturalWidth") == 1280,
               "the poster loaded")
    shot(display, "display-media-image")
    # the image's 3 s, then the video, muted, playing
    wait_until(lambda: display.evaluate("hallq.media.item && hallq.media.item.kind") == "video", "the video's turn",
               deadline_s=15)
    wait_until(lambda: playing(display), "the video playing")
    shot(display, "display-media-video")
    # a call covers the area at once and pauses the video
    called = issue_and_call(live_server, hall, "A", counter_id, "s1")
    expect(display.locator("#media-call")).to_be_visible()
    expect(display.locator("#media-call .label")).to_have_text(called["label"])
    assert display.evaluate("hallq.media.state") == "call"
    wait_until(lambda: display.evaluate("document.querySelector('#media-stage video') ? "
                                        "document.querySelector('#media-stage video').paused : true"),
               "the video paused for the call")
    shot(display, "display-media-call")
    # said, then the media come back
    wait_until(lambda: display.evaluate("hallq.voice.log.length > 0 && hallq.voice.log.at(-1).done"), "the call said",
               deadline_s=20)
    expect(display.locator("#media-call")).to_be_hidden(timeout=15_000)
    wait_until(lambda: display.evaluate("hallq.media.state") == "playing", "the media back")
    # the playlist goes round: the poster again after the video
    wait_until(lambda: display.evaluate("hallq.media.shown.filter(id => id === %d).length" % image["id"]) >= 2,
               "the poster's second turn", deadline_s=20)
    assert not display.evaluate("hallq.media.errors || 0")


def test_media_switched_off_leave_the_display_at_once(browser, live_server, hall_media):  # noqa: F811
    hall = live_server.world.one
    image = upload(live_server, hall.id, poster(), title="海报")
    hall_media.append(image)
    display = open_display(browser, live_server, hall)
    expect(display.locator("#media")).to_be_visible()
    requests.patch(live_server.api(f"/media/{image['id']}"), json={"active": False},
                   headers=bearer(live_server.tokens["admin"]), timeout=5).raise_for_status()
    expect(display.locator("#media")).to_be_hidden()
    assert "with-media" not in (display.evaluate("document.body.className") or "")


@pytest.mark.skipif(not DOOR_VIDEO.is_file(), reason=f"needs the shared data folder ({DOOR_VIDEO} is absent)")
def test_an_h264_mp4_from_a_real_camera_plays_on_the_display(browser, live_server, hall_media):  # noqa: F811
    hall = live_server.world.one
    video = upload(live_server, hall.id, DOOR_VIDEO.read_bytes(), title="门口")
    hall_media.append(video)
    assert video["content_type"] == "video/mp4" and 29 < video["seconds"] < 31
    display = open_display(browser, live_server, hall)
    wait_until(lambda: playing(display), "the H.264 video playing")
    assert display.evaluate("document.querySelector('#media-stage video').videoWidth") == 240


def test_a_hall_manager_uploads_reorders_and_removes_media_on_the_administration_page(
        browser, live_server, tmp_path):  # noqa: F811
    hall = live_server.world.one
    page = new_page(browser, live_server, 1280, 900)
    sign_in(page, "m1", f"/admin/halls/{hall.id}/media")
    expect(page.locator("#media")).to_contain_text("尚无媒体")
    (tmp_path / "海报.png").write_bytes(poster())
    (tmp_path / "not-a-picture.png").write_bytes(b"MZ this is a program, not a picture")
    # a file that is not what its name says: refused by its bytes, said in Chinese
    page.locator('#upload-media input[type="file"]').set_input_files(str(tmp_path / "not-a-picture.png"))
    page.locator("#upload-media button").click()
    expect(page.locator("#upload-message")).to_have_text("只能播放 JPEG、PNG、WebP 图片和 MP4、WebM 视频。")
    expect(page.locator("#upload-media")).to_have_attribute("data-code", "media_type")
    # a poster, then a video: listed in that order
    page.locator('#upload-media input[type="file"]').set_input_files(str(tmp_path / "海报.png"))
    page.locator('#upload-media input[name="title"]').fill("5G 套餐")
    with page.expect_navigation():
        page.locator("#upload-media button").click()
    (tmp_path / "宽带.webm").write_bytes(clip(tmp_path))
    page.locator('#upload-media input[type="file"]').set_input_files(str(tmp_path / "宽带.webm"))
    with page.expect_navigation():
        page.locator("#upload-media button").click()
    rows = page.locator("#media tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("图片")
    expect(rows.nth(1)).to_contain_text("视频")
    assert rows.nth(1).locator('input[name="title"]').input_value() == "宽带"  # the file's name, without .webm
    shot(page, "admin-media")
    # the video first
    with page.expect_navigation():
        rows.nth(1).locator('button[value="up"]').click()
    expect(page.locator("#media tbody tr").nth(0)).to_contain_text("视频")
    # removed, after the browser asks
    page.on("dialog", lambda dialog: dialog.accept())
    for _ in range(2):
        with page.expect_navigation():
            page.locator('#media tbody tr button[value="delete"]').first.click()
    expect(page.locator("#media")).to_contain_text("尚无媒体")
    assert requests.get(live_server.api(f"/halls/{hall.id}/media"), headers=bearer(live_server.tokens["admin"]),
                        timeout=5).json()["media"] == []
