"""The satisfaction report pages over a signed-in browser session, on SQLite and PostgreSQL: the
figures a page shows against the hand-computed ones of ``test_satisfaction_reports``, the drill-down
links from the company to a staff member, who may open which level, and head office's view of
replies that reached no hall."""
from __future__ import annotations

import re
from html import unescape

from app.services import surveys
from app.sms.gateway import InboundSms

from .test_satisfaction_reports import rated  # noqa: F401  (fixture)
from .test_surveys import headers, sapp, sclient, srt, sworld  # noqa: F401  (fixtures)
from ..world import sign_in as world_sign_in

PAGE = "/manager/satisfaction"
NOV = "period=month&date=2026-11-01"


def sign_in(client, username: str) -> None:
    resp = world_sign_in(client, username)
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)


def text(resp) -> str:
    return resp.get_data(as_text=True)


def figure(html: str, name: str) -> str:
    return unescape(re.search(rf'id="fig-{name}">([^<]*)<', html).group(1))


def drill_links(html: str) -> dict[str, str]:
    return {unescape(label): unescape(href) for href, label in re.findall(r'<a class="drill" href="([^"]+)">([^<]+)</a>', html)}


def test_head_office_drills_from_the_company_to_a_staff_member_with_the_hand_computed_figures(sclient, rated):
    sign_in(sclient, "hq")
    company = text(sclient.get(f"{PAGE}?{NOV}"))
    assert figure(company, "rate") == "57.14%" and figure(company, "ratings") == "7"  # 4 of 7 satisfied
    assert 'id="fig-average"' not in company  # 1-4 and 1-5 scales: no average across them
    assert figure(company, "index") == f"{(50 * 6 + 100) / 7:.1f}"
    region = drill_links(company)["河南"]
    city = drill_links(text(sclient.get(region)))["郑州"]
    halls = drill_links(text(sclient.get(city)))
    assert list(halls) == ["营业厅2", "营业厅1"]  # ranked: hall 2 (one 5 of 5) above hall 1 (50 %)
    hall = text(sclient.get(halls["营业厅1"]))
    assert figure(hall, "rate") == "50.00%" and figure(hall, "average") == "2.50"
    assert figure(hall, "response") == "85.7%"  # 6 of 7 answered
    crumbs = re.search(r'<nav class="crumbs".*?</nav>', hall, re.S).group(0)
    assert [unescape(x) for x in re.findall(r">([^<>›]+)</(?:a|b)>", crumbs)] == ["全部营业厅", "河南", "郑州", "营业厅1"]
    staff = drill_links(hall)
    assert list(staff) == ["营业员1", "营业员1b"]  # s1 (3 of 4) above t1 (0 of 2)
    member = text(sclient.get(staff["营业员1"]))
    assert figure(member, "rate") == "75.00%" and figure(member, "average") == "1.75"
    assert figure(member, "ratings") == "4"
    # the charts carry the same numbers
    bars = {unescape(k): v for k, v in re.findall(r'data-label="([^"]+)" data-rate="([0-9.]*)"', hall)}
    assert float(bars["营业员1"]) == 0.75 and float(bars["营业员1b"]) == 0.0


def test_the_hall_page_breaks_down_by_counter_and_service_and_exports_what_it_shows(sclient, rated):
    sign_in(sclient, "hq")
    one = rated.one.id
    by_counter = text(sclient.get(f"{PAGE}?{NOV}&hall={one}&by=counter"))
    rows = re.findall(r'<tr[^>]*>\s*<td class="n">([^<]*)</td>\s*<td>([^<]*)</td>\s*<td class="n">(\d+)</td>', by_counter)
    assert [(re.sub(r"\D", "", label), int(n)) for _, label, n in rows] == [("1", 4), ("3", 2), ("2", 0)]
    exports = re.findall(r'<a class="export" href="([^"]+)"', by_counter)
    table_xlsx = unescape(exports[0])
    assert "by=counter" in table_xlsx and "format=xlsx" in table_xlsx
    resp = sclient.get(table_xlsx)
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")


def test_a_hall_manager_sees_their_hall_and_its_staff_and_nothing_above_or_beside(sclient, rated):
    sign_in(sclient, "m1")
    own = sclient.get(f"{PAGE}?{NOV}")
    assert own.status_code == 200 and figure(text(own), "rate") == "50.00%"  # their hall, not the company
    assert sclient.get(f"{PAGE}?{NOV}&hall={rated.two.id}").status_code == 403
    assert sclient.get(f"{PAGE}?{NOV}&region=1").status_code == 403
    staff_page = sclient.get(f"{PAGE}?{NOV}&hall={rated.one.id}&staff={rated.staff['t1']}")
    assert staff_page.status_code == 200 and figure(text(staff_page), "rate") == "0.00%"
    # a staff member of another hall is not theirs to see either
    assert sclient.get(f"{PAGE}?{NOV}&staff={rated.staff['s2']}").status_code == 404


def test_counter_staff_are_refused_and_the_signed_out_are_sent_to_sign_in(sclient, rated):
    assert sclient.get(PAGE).status_code == 302
    sign_in(sclient, "s1")
    refused = sclient.get(PAGE)
    assert refused.status_code == 403 and 'id="refused"' in refused.get_data(as_text=True)
    assert sclient.get("/manager/report-files").status_code == 403


def test_a_place_that_is_not_there_or_a_bad_date_gets_a_clear_refusal(sclient, rated):
    sign_in(sclient, "hq")
    assert sclient.get(f"{PAGE}?region=999").status_code == 404
    bad = sclient.get(f"{PAGE}?date=2026-13-01")
    assert bad.status_code == 400 and "date" in text(bad)


def test_the_period_steps_back_but_not_into_the_future(sclient, rated, clock):
    sign_in(sclient, "hq")
    html = text(sclient.get(f"{PAGE}?period=week&date=2026-11-02"))
    before = re.search(r'id="period-before" href="([^"]+)"', html).group(1)
    assert "date=2026-10-26" in unescape(before)
    today = text(sclient.get(PAGE))
    assert 'id="period-after"' not in today  # this month: nothing later yet


def test_head_office_sees_replies_that_reached_no_hall_and_a_manager_may_not(srt, sclient, rated):
    surveys.handle_reply(srt, InboundSms("8613700137000", "1 很好", srt.now(), None), "outbox")
    body = sclient.get("/api/v1/survey-replies", headers=headers(srt, rated, "hq")).get_json()
    (reply,) = body["replies"]
    assert reply["outcome"] == "unmatched" and reply["hall_id"] is None and reply["mobile"] == "137****7000"
    assert sclient.get("/api/v1/survey-replies", headers=headers(srt, rated, "m1")).status_code == 403
    only = sclient.get("/api/v1/survey-replies?outcome=late", headers=headers(srt, rated, "hq")).get_json()
    assert only["replies"] == []
