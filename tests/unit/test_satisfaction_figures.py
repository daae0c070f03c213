"""The pure parts of the satisfaction reports: wait bands, periods, figures on a scale, roll-ups, rankings."""
from datetime import date

import pytest

from app.domain.survey import FIVE_POINT, FOUR_GRADE
from app.domain.satisfaction import (
    UNKNOWN_BAND, Period, band_label, combine, figures, period_of, rank, wait_band,
)


@pytest.mark.parametrize("wait_s, band", [(0, 0), (299, 0), (300, 1), (599, 1), (600, 2), (1199, 2),
                                          (1200, 3), (1799, 3), (1800, 4), (86400, 4), (None, UNKNOWN_BAND)])
def test_a_wait_falls_in_its_band_lower_bound_included(wait_s, band):
    assert wait_band(wait_s) == band


def test_bands_are_labelled_in_chinese_and_english():
    assert band_label(0)["label_zh"] == "0-5分钟" and band_label(4)["label_en"] == "30+ min"


def test_a_week_runs_monday_to_sunday_across_a_year_end_and_a_month_is_the_calendar_month():
    assert period_of("week", date(2027, 1, 1)) == Period("week", date(2026, 12, 28), date(2027, 1, 3))
    assert period_of("month", date(2028, 2, 29)) == Period("month", date(2028, 2, 1), date(2028, 2, 29))
    assert period_of("month", date(2026, 11, 30)).label_zh == "2026年11月"


def test_figures_read_scores_on_the_halls_scale_and_set_aside_scores_off_it():
    f = figures({1: 3, 2: 1, 4: 1, 7: 2}, sent=10, rated=7, scale=FOUR_GRADE)
    assert (f["ratings"], f["satisfied"], f["off_scale"]) == (5, 4, 2)
    assert f["satisfaction_rate"] == 0.8 and f["average_score"] == pytest.approx(9 / 5)
    assert f["response_rate"] == 0.7


def test_halls_on_different_scales_combine_by_rate_and_score_index_not_by_average():
    four = figures({1: 1, 4: 1}, 2, 2, FOUR_GRADE)  # index 50
    five = figures({5: 2}, 4, 2, FIVE_POINT)  # index 100
    both = combine([four, five])
    assert both["satisfaction_rate"] == 0.75 and both["score_index"] == 75
    assert both["average_score"] is None and both["scale"] == "mixed"
    assert both["response_rate"] == 4 / 6
    assert combine([four, four])["average_score"] == 2.5


def test_ranking_puts_the_best_rate_first_shares_ties_and_leaves_the_unrated_unranked():
    lines = [{"id": i, "satisfaction_rate": r, "score_index": x, "ratings": n}
             for i, (r, x, n) in enumerate([(0.9, 80, 10), (1.0, 90, 3), (0.9, 80, 20), (None, None, 0)])]
    ranked = rank(lines)
    assert [(x["id"], x["rank"]) for x in ranked] == [(1, 1), (2, 2), (0, 2), (3, None)]
    assert [x["id"] for x in rank(lines, min_ratings=5) if x["rank"]] == [2, 0]
