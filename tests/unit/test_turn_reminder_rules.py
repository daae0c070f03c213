"""The waiting customer's SMS rules (domain.reminders): pure, milliseconds."""
from datetime import datetime, timedelta, timezone

from app.domain import reminders as r

T = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def test_soon_is_due_at_the_threshold_and_below_never_above_and_never_when_off():
    assert [r.soon_due(ahead, 3) for ahead in (0, 1, 2, 3, 4, 10)] == [True, True, True, True, False, False]
    assert not r.soon_due(0, 0)  # 0: the service sends no such SMS
    assert not r.soon_due(-1, 3)


def test_called_is_due_only_while_fresh():
    assert r.called_due(T, T) and r.called_due(T, T + r.CALLED_FRESH)
    assert not r.called_due(T, T + r.CALLED_FRESH + timedelta(seconds=1))
    assert not r.called_due(T, T - timedelta(seconds=1))  # a call from a clock ahead of ours


def test_texts_are_chinese_first_with_english_and_no_number():
    soon = r.soon_text("金水路营业厅", "A012", 2)
    assert soon.startswith("【金水路营业厅】您的A012号前面还有2位") and "Ticket A012: 2 ahead of you" in soon
    assert "下一位就是您" in r.soon_text("金水路营业厅", "A012", 0)
    assert r.called_text("金水路营业厅", "A012", 5) == ("【金水路营业厅】请A012号到5号窗口办理。"
                                                    "Ticket A012: please go to counter 5.")
