from app.domain.screens import DEFAULT_SCREEN, pin_problem, screen_problems, screen_settings


def test_a_hall_without_texts_gets_the_defaults():
    assert screen_settings({}) == DEFAULT_SCREEN
    assert screen_settings(None)["call_zh"] == "请{label}号到{counter}号窗口办理"


def test_a_hall_keeps_what_it_changed_and_defaults_the_rest():
    got = screen_settings({"notice_zh": "今日宽带业务请到2楼", "call_zh": ""})
    assert got["notice_zh"] == "今日宽带业务请到2楼" and got["call_zh"] == DEFAULT_SCREEN["call_zh"]


def test_templates_may_use_only_the_ticket_and_the_counter():
    assert screen_problems({"call_zh": "请{label}号到{counter}号窗口"}) == []
    assert screen_problems({"call_zh": "请{name}到{counter}号"})[0][0] == "call_zh"
    assert "must contain {label}" in screen_problems({"call_en": "counter {counter}"})[0][1]
    assert screen_problems({"call_zh": "请{label号"})[0][0] == "call_zh"
    assert screen_problems({"colour": "red"})[0][0] == "colour"
    assert screen_problems({"notice_zh": "x" * 301})[0][0] == "notice_zh"


def test_a_guide_pin_is_four_to_eight_digits():
    assert pin_problem("2468") is None and pin_problem("12345678") is None
    assert pin_problem("123") and pin_problem("12a4") and pin_problem("123456789") and pin_problem("")
