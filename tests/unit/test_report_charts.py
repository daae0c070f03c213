"""The report pages' pure parts: the SVG charts (their marks carry the numbers drawn) and the
drill-down through a head-office report (find the place, its lines, the halls under it)."""
from __future__ import annotations

import html
import re

import pytest

from app.web.charts import Bar, band_bars, pct, rate_bars, trend
from app.web.report_pages import children, find_place, hall_ids_under, rank_key


def widths(svg: str) -> list[float]:
    return [float(w) for w in re.findall(r'<rect class="bar[^"]*" x="[^"]+" y="[^"]+" width="([0-9.]+)"', svg)]


def test_bars_are_as_long_as_their_rate_and_those_below_the_reference_are_marked_low():
    svg = str(rate_bars([Bar("甲", 1.0, 10, "/a"), Bar("乙", 0.5, 4), Bar("丙", None, 0)], reference=0.8,
                        reference_label="全部", width=1100, label_columns=28))
    full, half = widths(svg)
    assert half == full / 2
    assert svg.count('class="bar low"') == 1 and svg.count('class="bar"') == 1  # 乙 only; 丙 has no bar
    assert '<a href="/a">' in svg and svg.count("<a ") == 1  # only the line with a place below drills
    assert 'data-label="丙" data-rate=""' in svg and "—" in svg
    assert "全部 80.0%" in svg


def test_labels_are_escaped_and_long_ones_cut_by_display_width():
    svg = str(rate_bars([Bar("<b>营业厅</b>" + "很长" * 30, 0.9, 1)], label_columns=10))
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    label = html.unescape(re.search(r'class="label"[^>]*>([^<]*)<', svg).group(1))
    assert label == "<b>营业厅<…"  # 3 + 6 + 1 columns


def test_an_empty_chart_says_so():
    assert "没有数据" in str(rate_bars([], empty="没有数据"))
    assert "没有数据" in str(band_bars([], empty="没有数据"))
    assert "没有数据" in str(trend([Bar("2026-11-01", None, 0)], empty="没有数据"))


def test_a_day_without_ratings_breaks_the_trend_line_and_the_axis_starts_at_a_round_fifth():
    days = [Bar("2026-11-01", 0.9, 10), Bar("2026-11-02", 0.95, 12), Bar("2026-11-03", None, 0),
            Bar("2026-11-04", 0.83, 8)]
    svg = str(trend(days))
    path = re.search(r'<path class="line" d="([^"]+)"', svg).group(1)
    assert path.count("M") == 2 and path.count("L") == 1  # two pieces around the empty day
    assert re.findall(r'data-day="([^"]+)" data-rate', svg) == ["2026-11-01", "2026-11-02", "2026-11-04"]
    ticks = re.findall(r'class="tick"[^>]*>(\d+%)<', svg)
    assert ticks[:5] == ["80%", "85%", "90%", "95%", "100%"]  # lowest day 83 %: axis from 80 %


def test_wait_band_bars_keep_their_order_and_heights():
    svg = str(band_bars([Bar("0-5分钟", 0.96, 100, note="100"), Bar("30+分钟", 0.48, 20, note="20")]))
    heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([0-9.]+)"', svg)]
    assert heights[0] == pytest.approx(2 * heights[1], abs=0.2)  # one decimal in the markup
    assert re.findall(r'data-label="([^"]+)"', svg) == ["0-5分钟", "30+分钟"]


def test_percentages_read_as_people_write_them():
    assert (pct(0.951548), pct(0.951548, 2), pct(None), pct(1.0, 0)) == ("95.2%", "95.15%", "—", "100%")


REPORT = {"regions": [
    {"id": 1, "name_zh": "河南", "rank": 2, "cities": [
        {"id": 10, "name_zh": "郑州", "rank_in_region": 1, "halls": [{"id": 100, "rank_in_city": 1},
                                                                   {"id": 101, "rank_in_city": 2}]},
        {"id": 11, "name_zh": "洛阳", "rank_in_region": 2, "halls": [{"id": 110, "rank_in_city": 1}]}]},
    {"id": 2, "name_zh": "湖北", "rank": 1, "cities": [
        {"id": 20, "name_zh": "武汉", "rank_in_region": 1, "halls": [{"id": 200, "rank_in_city": 1}]}]},
]}


def test_the_drill_down_finds_each_level_and_what_is_under_it():
    assert find_place(REPORT) == [] and children(REPORT, [])[0] == "region"
    assert hall_ids_under([], REPORT) is None
    region = find_place(REPORT, region=1)
    assert [lvl for lvl, _ in region] == ["region"]
    level, lines = children(REPORT, region)
    assert level == "city" and [c["id"] for c in lines] == [10, 11]
    assert hall_ids_under(region, REPORT) == {100, 101, 110}
    city = find_place(REPORT, region=1, city=11)
    assert children(REPORT, city)[0] == "hall" and hall_ids_under(city, REPORT) == {110}
    assert rank_key("hall") == "rank_in_city" and rank_key("city") == "rank_in_region"


def test_a_place_not_in_the_report_or_under_the_wrong_parent_is_none():
    assert find_place(REPORT, region=9) is None
    assert find_place(REPORT, region=2, city=10) is None  # 郑州 is not in 湖北
