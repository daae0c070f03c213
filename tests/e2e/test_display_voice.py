"""The display calls aloud on a box without a zh-CN voice (issue 22): Debian's Chromium here has no
speechSynthesis voice at all, as many Linux and Android display players; the display says so and
plays the app's recorded clips, word by word. What it played is read from ``hallq.voice.log``: the
clips' names in order, and their decoded length (real audio, decoded by the browser)."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from ..polling import wait_until
from .test_browser import browser  # noqa: F401 - the module's browser fixture
from .test_screens import issue_and_call, open_display, shot, tidy_counter  # noqa: F401

pytestmark = pytest.mark.e2e

DIGITS = ("ling", "yi", "er", "san", "si", "wu", "liu", "qi", "ba", "jiu")
ZH_NUMBERS = {1: ["yi"], 2: ["er"], 3: ["san"]}

# a browser with a Mandarin voice: what speechSynthesis offers on a box that has one
FAKE_ZH_VOICE = """
(() => {
  const voice = { lang: "zh-CN", name: "Test Mandarin", default: true, localService: true, voiceURI: "test-zh" };
  window.__spoken = [];
  speechSynthesis.getVoices = () => [voice];
  speechSynthesis.speak = (u) => { window.__spoken.push({ text: u.text, lang: u.lang, voice: u.voice && u.voice.name });
                                   setTimeout(() => u.onend && u.onend(), 50); };
})();
"""


def expected_clips(label: str, counter_number: int) -> list[str]:
    """请{label}号到{counter}号窗口办理, as clips: the label's letter, its digits one by one."""
    letters = [f"letter-{c.lower()}" if c.isalpha() else DIGITS[int(c)] for c in label]
    return ["qing", *letters, "hao", "dao", *ZH_NUMBERS[counter_number], "hao-chuangkou", "banli"]


@pytest.fixture
def counter_2(live_server, tidy_counter):  # noqa: F811
    """Hall 1's counter 2, where s1 calls; closed again after the test."""
    counter_id = live_server.world.one.counters[2]
    tidy_counter((counter_id, "s1"))
    return counter_id


def display_up(browser, live_server, query: str = "", before_start: str | None = None):  # noqa: F811
    """Hall 1's display, connected (``before_start``: a script run before the page's own)."""
    display = open_display(browser, live_server, live_server.world.one, query)
    if before_start:
        display.context.add_init_script(before_start)
        display.reload()
    expect(display.locator("#link")).to_have_class("link up")
    return display


def call_at(live_server, counter_id: int) -> dict:
    return issue_and_call(live_server, live_server.world.one, "A", counter_id, "s1")


def last_said(display) -> dict:
    wait_until(lambda: display.evaluate("hallq.voice.log.length > 0 && hallq.voice.log.at(-1).done"),
               "the call said to its end")
    return display.evaluate("hallq.voice.log.at(-1)")


def test_a_display_without_a_chinese_voice_says_so_and_calls_with_the_recorded_clips(
        browser, live_server, counter_2):  # noqa: F811
    display = display_up(browser, live_server)
    expect(display.locator("#voice-note")).to_have_text("本屏没有中文语音，叫号使用内置录音。")
    assert display.evaluate("document.body.dataset.voice") == "clips"
    assert display.evaluate("speechSynthesis.getVoices().length") == 0  # the case itself, not a simulation
    if display.locator("#sound").is_visible():  # the browser wants a tap before it plays sound, as a hall's would
        display.locator("#sound").click()
    wait_until(lambda: display.evaluate("hallq.voice.audio().state") == "running", "the sound on")
    called = call_at(live_server, counter_2)
    expect(display.locator("#latest .label")).to_have_text(called["label"])
    said = last_said(display)
    assert said["via"] == "clips"
    assert said["text"].startswith("请A")
    assert said["clips"] == expected_clips(called["label"], 2)
    assert said["missing"] == [] and "error" not in said and said["heard"]
    assert 1.5 < said["seconds"] < 12  # decoded audio of about a second a word or two, not silence
    shot(display, "display-voice-clips")


def test_a_hall_recording_replaces_a_shipped_clip(live_server):
    """A clip of the same name in the instance folder's voice/zh/ is served instead of the app's."""
    folder = Path(live_server.deployment.env["HALLQ_INSTANCE"]) / "voice" / "zh"
    folder.mkdir(parents=True, exist_ok=True)
    shipped = requests.get(f"{live_server.url}/voice/zh/qing.ogg", timeout=5)
    assert shipped.status_code == 200 and shipped.content[:4] == b"OggS"
    own = shipped.content[:-1] + b"\x00"  # stands for the hall's own recording: other bytes
    (folder / "qing.ogg").write_bytes(own)
    try:
        manifest = requests.get(f"{live_server.url}/voice/manifest.json", timeout=5).json()
        assert manifest["clips"]["zh"]["请"].startswith("/voice/zh/qing.ogg?own=")
        assert manifest["clips"]["zh"]["号窗口"] == "/voice/zh/hao-chuangkou.ogg"
        assert requests.get(f"{live_server.url}{manifest['clips']['zh']['请']}", timeout=5).content == own
    finally:
        (folder / "qing.ogg").unlink()
    assert requests.get(f"{live_server.url}/voice/zh/nothing.ogg", timeout=5).status_code == 404
    assert requests.get(f"{live_server.url}/voice/xx/qing.ogg", timeout=5).status_code == 404


def test_a_display_with_a_chinese_voice_speaks_with_it_and_shows_no_note(
        browser, live_server, counter_2):  # noqa: F811
    display = display_up(browser, live_server, before_start=FAKE_ZH_VOICE)
    wait_until(lambda: display.evaluate("document.body.dataset.voice") == "speech", "the voice found")
    expect(display.locator("#voice-note")).to_be_hidden()
    called = call_at(live_server, counter_2)
    said = last_said(display)
    assert said["via"] == "speech" and said["clips"] == [] and "error" not in said
    spoken = display.evaluate("window.__spoken")
    assert spoken[-1]["lang"] == "zh-CN"  # (a stand-in voice cannot be set on the utterance: its language picks it)
    assert spoken[-1]["text"].startswith("请" + called["label"][0])


def test_the_english_call_uses_english_clips(browser, live_server, counter_2):  # noqa: F811
    display = display_up(browser, live_server, "?voice=zh+en")
    called = call_at(live_server, counter_2)
    wait_until(lambda: display.evaluate("hallq.voice.log.filter(e => e.lang === 'en-GB' && e.done).length") > 0,
               "the English call said")
    said = display.evaluate("hallq.voice.log.filter(e => e.lang === 'en-GB').at(-1)")
    letters = [f"letter-{c.lower()}" if c.isalpha() else
               ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")[int(c)]
               for c in called["label"]]
    assert said["via"] == "clips"
    assert said["clips"] == ["number", *letters, ",", "please-go-to-counter", "two"]
    assert said["missing"] == []



def test_words_of_a_halls_own_call_text_without_a_clip_are_named_on_the_display(
        browser, live_server, counter_2):  # noqa: F811
    hall = live_server.world.one
    admin = {"Authorization": f"Bearer {live_server.tokens['admin']}"}
    r = requests.patch(live_server.api(f"/halls/{hall.id}"), json={"screen": {"call_zh": "请{label}号贵宾到{counter}号窗口"}},
                       headers=admin, timeout=5)
    r.raise_for_status()
    try:
        display = display_up(browser, live_server)
        called = call_at(live_server, counter_2)
        said = last_said(display)
        assert said["missing"] == ["贵", "宾"]
        assert said["clips"][-4:] == ["hao", "dao", "er", "hao-chuangkou"]  # the rest is said
        assert said["clips"][1] == f"letter-{called['label'][0].lower()}"
        expect(display.locator("#voice-note")).to_contain_text("以下字词没有录音：贵 宾。")
    finally:
        requests.patch(live_server.api(f"/halls/{hall.id}"), json={"screen": {"call_zh": "请{label}号到{counter}号窗口办理"}},
                       headers=admin, timeout=5).raise_for_status()
