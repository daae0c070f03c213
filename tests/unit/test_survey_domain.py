"""The survey's pure rules: scales and settings, the SMS, replies, complaints, numbers, timing, figures."""
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.domain.errors import Invalid
from app.domain.survey import (
    ANSWERED, ANSWERED_LATE, COMMENT, COMPLAINT, DEFAULT_TEMPLATE_EN, DUE_SOON_STATE, EMPTY, FIVE_POINT, FOUR_GRADE,
    GSM7, LOW_RATING, MAX_COMMENT, OPEN, OPT_OUT, OVERDUE, RATING, UCS2, BadMsisdn, FollowUpClock, QuietHours,
    Reply, SurveySettings, SurveyVisit, average_score, e164, figures_from_counts, follow_up_reason, mask_msisdn,
    parse_reply, percent, pick_survey, reads_as_complaint, render_survey_sms, reply_in_window,
    response_rate, satisfaction_figures, satisfaction_rate, sms_size, survey_send_at, survey_settings_problems,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
NIGHT = QuietHours(time(21, 0), time(8, 0))
UTC = timezone.utc


def rating(score, comment=None):
    return Reply(RATING, score=score, comment=comment)


def comment(text, off_scale=False):
    return Reply(COMMENT, comment=text, off_scale=off_scale)


OPTED_OUT = Reply(OPT_OUT)
NOTHING = Reply(EMPTY)

# --------------------------------------------------------------------------- replies

FOUR_GRADE_REPLIES = [
    # digits, half- and full-width, with units and leads
    ("1", rating(1)),
    ("4", rating(4)),
    (" 2 ", rating(2)),
    ("１", rating(1)),
    ("４", rating(4)),
    ("1分", rating(1)),
    ("3分", rating(3)),
    ("2星", rating(2)),
    ("打1分", rating(1)),
    ("给2分", rating(2)),
    ("回复1", rating(1)),
    ("1.", rating(1)),
    ("#2", rating(2)),
    ("1非常满意", rating(1)),          # the prompt copied back: the label is not a comment
    ("4不满意", rating(4)),
    # a digit and a comment
    ("1 服务很好", rating(1, "服务很好")),
    ("1服务很好", rating(1, "服务很好")),
    ("4，等太久了", rating(4, "等太久了")),
    ("4,等太久了", rating(4, "等太久了")),
    ("2 谢谢！", rating(2, "谢谢！")),
    ("3 一般吧，人太多", rating(3, "一般吧，人太多")),
    ("1👍", rating(1, "👍")),
    ("１\u3000很耐心", rating(1, "很耐心")),
    # words, longest first: 不满意 is not 满意
    ("非常满意", rating(1)),
    ("满意", rating(2)),
    ("满意！", rating(2)),
    ("一般", rating(3)),
    ("不满意", rating(4)),
    ("很满意", rating(1)),
    ("很好", rating(1)),
    ("差", rating(4)),
    ("太差了", rating(4)),           # the longest word, 太差了, not 太差 and a comment "了"
    ("非常不满意", rating(4)),        # no grade below 不满意 on this scale
    ("不太满意", rating(4)),
    ("还行", rating(3)),
    ("满意，谢谢", rating(2, "谢谢")),
    ("很满意谢谢", rating(1, "谢谢")),
    ("不满意，等了一个小时", rating(4, "等了一个小时")),
    ("服务一般", rating(3)),
    ("我觉得很好", rating(1)),
    ("Very satisfied", rating(1)),
    ("Ｖｅｒｙ ｓａｔｉｓｆｉｅｄ", rating(1)),
    ("satisfied", rating(2)),
    ("SATISFIED", rating(2)),
    ("ok", rating(3)),
    ("Neutral", rating(3)),
    ("dissatisfied", rating(4)),
    ("unsatisfied", rating(4)),
    ("poor", rating(4)),
    ("Not satisfied", rating(4)),
    ("good, thanks", rating(2, "thanks")),
    # comments alone
    ("营业员很耐心", comment("营业员很耐心")),
    ("不好意思，发错了", comment("不好意思，发错了")),
    ("好多人排队", comment("好多人排队")),
    ("满意度调查不用发了", comment("满意度调查不用发了")),
    ("goodbye", comment("goodbye")),
    ("Thanks", comment("Thanks")),
    ("👍", comment("👍")),
    ("😡😡😡", comment("😡😡😡")),
    ("？", comment("？")),
    ("取消套餐要排多久", comment("取消套餐要排多久")),  # 取消 alone opts out; in a sentence it does not
    ("取消 那个套餐要多久", comment("取消 那个套餐要多久")),
    # numbers that are not ratings
    ("7", comment("7", off_scale=True)),
    ("0", comment("0", off_scale=True)),
    ("5", comment("5", off_scale=True)),
    ("打5分", comment("打5分", off_scale=True)),
    ("13800138000", comment("13800138000")),
    ("2024", comment("2024")),
    ("10086", comment("10086")),
    ("4个小时", comment("4个小时")),
    ("4 个小时", comment("4 个小时")),
    ("等了4个小时", comment("等了4个小时")),
    ("5g信号差", comment("5g信号差")),
    ("4.5", comment("4.5")),
    ("1:30", comment("1:30")),
    ("2024年我来过", comment("2024年我来过")),
    # opt-outs
    ("STOP", OPTED_OUT),
    ("stop", OPTED_OUT),
    ("Stop!", OPTED_OUT),
    ("TD", OPTED_OUT),
    ("td", OPTED_OUT),
    ("T", OPTED_OUT),
    ("t", OPTED_OUT),
    ("ＴＤ", OPTED_OUT),
    ("ＳＴＯＰ", OPTED_OUT),
    ("退订", OPTED_OUT),
    (" 退订。", OPTED_OUT),
    ("取消", OPTED_OUT),
    ("unsubscribe", OPTED_OUT),
    ("UNSUBSCRIBE", OPTED_OUT),
    ("TD退订", OPTED_OUT),
    # nothing
    ("", NOTHING),
    ("   ", NOTHING),
    ("\u3000", NOTHING),
    ("\u200b", NOTHING),
    (None, NOTHING),
]


@pytest.mark.parametrize(("text", "expected"), FOUR_GRADE_REPLIES, ids=[repr(t) for t, _ in FOUR_GRADE_REPLIES])
def test_a_reply_on_the_four_grade_scale_reads_as(text, expected):
    assert parse_reply(text, FOUR_GRADE) == expected


FIVE_POINT_REPLIES = [
    ("5", rating(5)),
    ("5星", rating(5)),
    ("5颗星", rating(5)),
    ("打5分", rating(5)),
    ("五星好评", rating(5, "好评")),
    ("１", rating(1)),
    ("非常满意", rating(5)),
    ("满意", rating(4)),
    ("一般", rating(3)),
    ("不满意", rating(2)),
    ("非常不满意", rating(1)),
    ("terrible", rating(1)),
    ("4分钟都没等到", comment("4分钟都没等到")),
    ("一分钟都不想等", comment("一分钟都不想等")),
    ("十分满意", rating(5)),          # 十分 is "very", not ten points
    ("7", comment("7", off_scale=True)),
]


@pytest.mark.parametrize(("text", "expected"), FIVE_POINT_REPLIES, ids=[repr(t) for t, _ in FIVE_POINT_REPLIES])
def test_a_reply_on_the_five_point_scale_reads_as(text, expected):
    assert parse_reply(text, FIVE_POINT) == expected


def test_a_very_long_comment_is_cut_and_flagged():
    reply = parse_reply("4 " + "排队" * 400, FOUR_GRADE)
    assert reply.kind == RATING and reply.score == 4
    assert reply.truncated and len(reply.comment) == MAX_COMMENT and reply.comment.startswith("排队排队")


def test_a_very_long_reply_without_a_rating_is_a_cut_comment():
    reply = parse_reply("很" * 10_000, FOUR_GRADE)
    assert reply.kind == COMMENT and reply.truncated and len(reply.comment) == MAX_COMMENT


def test_a_comment_of_exactly_the_limit_is_not_flagged():
    reply = parse_reply("x" * MAX_COMMENT, FOUR_GRADE)
    assert reply.comment == "x" * MAX_COMMENT and not reply.truncated


def test_a_custom_scale_reads_its_own_labels_and_maps_words_to_the_nearest_grade():
    settings = SurveySettings.from_dict({"scale": [
        {"value": 1, "zh": "较满意", "en": "Fairly satisfied", "satisfied": True, "level": "satisfied"},
        {"value": 2, "zh": "一般", "en": "So-so", "satisfied": False, "level": "neutral"},
        {"value": 3, "zh": "差劲", "en": "Bad", "satisfied": False, "level": "dissatisfied"},
    ]})
    scale = settings.scale
    assert parse_reply("较满意", scale) == rating(1)
    assert parse_reply("非常满意", scale) == rating(1)
    assert parse_reply("非常不满意", scale) == rating(3)
    assert parse_reply("4", scale) == comment("4", off_scale=True)
    assert scale.prompt() == "回复1较满意，2一般，3差劲"
    assert scale.follow_up == frozenset({3})


def test_a_word_halfway_between_two_grades_goes_to_the_one_on_its_side_of_neutral():
    scale = SurveySettings.from_dict({"scale": [
        {"value": 1, "zh": "好", "en": "Good", "satisfied": True, "level": "very_satisfied"},
        {"value": 2, "zh": "中", "en": "Middle", "satisfied": False, "level": "neutral"},
        {"value": 3, "zh": "坏", "en": "Bad", "satisfied": False, "level": "very_dissatisfied"},
    ]}).scale
    assert parse_reply("满意", scale) == rating(1)
    assert parse_reply("不满意", scale) == rating(3)


# --------------------------------------------------------------------------- complaints and follow-up

COMPLAINTS = ["等太久了", "态度差", "营业员态度很差", "乱收费！", "我要投诉", "被骗了", "差评", "太慢了",
              "办个卡慢死了", "不满意", "非常不满意", "效率太低", "staff were rude", "Too slow",
              "I want to complain", "不慢，但是态度差"]
NOT_COMPLAINTS = ["不慢", "一点都不慢", "没那么慢", "不是很慢", "不太慢", "没有投诉", "服务很好", "慢走",
                  "差不多就这样", "not slow at all", "wasn't rude", "No complaints", "不是不满意", "", None, "👍",
                  "谢谢"]


@pytest.mark.parametrize("text", COMPLAINTS)
def test_a_comment_reads_as_a_complaint(text):
    assert reads_as_complaint(text)


@pytest.mark.parametrize("text", NOT_COMPLAINTS)
def test_a_comment_does_not_read_as_a_complaint(text):
    assert not reads_as_complaint(text)


def test_a_low_rating_or_a_complaint_opens_a_follow_up_case():
    assert follow_up_reason(parse_reply("4", FOUR_GRADE), FOUR_GRADE) == LOW_RATING
    assert follow_up_reason(parse_reply("3", FOUR_GRADE), FOUR_GRADE) is None
    assert follow_up_reason(parse_reply("1 就是等太久了", FOUR_GRADE), FOUR_GRADE) == COMPLAINT
    assert follow_up_reason(parse_reply("我要投诉", FOUR_GRADE), FOUR_GRADE) == COMPLAINT
    assert follow_up_reason(parse_reply("退订", FOUR_GRADE), FOUR_GRADE) is None
    assert follow_up_reason(parse_reply("2", FIVE_POINT), FIVE_POINT) == LOW_RATING
    assert follow_up_reason(parse_reply("3", FIVE_POINT), FIVE_POINT) is None


OPENED = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


def test_a_follow_up_case_is_due_48_hours_after_it_opens_and_overdue_a_second_later():
    clock = FollowUpClock.opened(OPENED)
    assert clock.due_at == datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
    assert not clock.is_overdue(clock.due_at)
    assert clock.is_overdue(clock.due_at + timedelta(seconds=1))
    assert clock.time_left(OPENED + timedelta(hours=47)) == timedelta(hours=1)


def test_a_follow_up_case_goes_from_open_to_due_soon_to_overdue():
    clock = FollowUpClock.opened(OPENED)
    assert clock.state(OPENED + timedelta(hours=2)) == OPEN
    assert clock.state(clock.due_at - timedelta(hours=8, minutes=1)) == OPEN
    assert clock.state(clock.due_at - timedelta(hours=7)) == DUE_SOON_STATE
    assert clock.state(clock.due_at) == DUE_SOON_STATE
    assert clock.state(clock.due_at + timedelta(minutes=1)) == OVERDUE


def test_a_first_response_stops_the_clock_and_says_whether_it_was_in_time():
    clock = FollowUpClock.opened(OPENED)
    later = clock.due_at + timedelta(days=3)
    assert clock.state(later, first_response_at=clock.due_at - timedelta(hours=1)) == ANSWERED
    assert not clock.is_overdue(later, first_response_at=clock.due_at)
    assert clock.state(later, first_response_at=clock.due_at + timedelta(minutes=1)) == ANSWERED_LATE
    assert clock.is_overdue(later, first_response_at=clock.due_at + timedelta(minutes=1))


def test_the_follow_up_deadline_is_configurable_and_needs_an_aware_time():
    assert FollowUpClock.opened(OPENED, timedelta(hours=24)).due_at == OPENED + timedelta(hours=24)
    assert SurveySettings.from_dict({"follow_up_hours": 72}).follow_up_within == timedelta(hours=72)
    with pytest.raises(ValueError):
        FollowUpClock.opened(datetime(2026, 11, 23, 10, 0))


# --------------------------------------------------------------------------- scales, settings, the SMS

def test_the_built_in_scales_prompt_and_count_their_satisfied_grades():
    assert FOUR_GRADE.prompt() == "回复1非常满意，2满意，3一般，4不满意"
    assert FOUR_GRADE.prompt("en") == "Reply 1 Very satisfied, 2 Satisfied, 3 Neutral, 4 Dissatisfied"
    assert FOUR_GRADE.satisfied_values == {1, 2} and FIVE_POINT.satisfied_values == {4, 5}
    assert (FOUR_GRADE.best, FOUR_GRADE.worst) == (1, 4) and (FIVE_POINT.best, FIVE_POINT.worst) == (5, 1)


def test_settings_default_to_the_four_grade_scale_and_round_trip():
    settings = SurveySettings.from_dict({})
    assert settings.scale == FOUR_GRADE and settings.quiet_hours == NIGHT and settings.delay == timedelta(minutes=5)
    again = SurveySettings.from_dict(SurveySettings.from_dict({"scale": "five_point", "satisfied": [5],
                                                               "quiet_hours": None}).to_dict())
    assert again.scale.satisfied_values == {5} and again.quiet_hours is None and again.scale.values == FIVE_POINT.values


def test_a_hall_may_count_a_neutral_grade_as_satisfied():
    scale = SurveySettings.from_dict({"satisfied": [1, 2, 3]}).scale
    assert satisfaction_rate([1, 3, 4, 4], scale) == 0.5
    assert satisfaction_rate([1, 3, 4, 4], FOUR_GRADE) == 0.25


def test_bad_survey_settings_are_named():
    assert survey_settings_problems({"scale": "ten_point"})[0][0] == "scale"
    assert survey_settings_problems({"delay_minutes": -1}) == [("delay_minutes", "a whole number from 0 to 1440")]
    assert survey_settings_problems({"quiet_hours": ["21:00", "21:00"]})[0][0] == "quiet_hours"
    assert survey_settings_problems({"quiet_hours": ["9pm", "08:00"]})[0][0] == "quiet_hours"
    assert survey_settings_problems({"template_zh": "{hal}请评价{prompt}"})[0][1].startswith("unknown placeholder {hal}")
    assert survey_settings_problems({"template_zh": "请评价"}) == [
        ("template_zh", "must contain {prompt}, or the customer does not know how to reply")]
    assert survey_settings_problems({"satisfied": [1, 2, 3, 4]})[0][0] == "satisfied"
    assert survey_settings_problems({"satisfied": [5]}) == [("satisfied", "only grades of the scale: 1, 2, 3, 4")]
    assert survey_settings_problems({"colour": "red"})[0][0] == "colour"
    assert survey_settings_problems({"scale": [{"value": 1, "zh": "好", "en": "Good", "satisfied": True},
                                               {"value": 2, "zh": "行", "en": "Fine", "satisfied": True}]}) == [
        ("satisfied", "some grades, but not all, must count as satisfied")]
    assert survey_settings_problems({"scale": [{"value": 1, "zh": "好", "en": "Good", "satisfied": True},
                                               {"value": 1, "zh": "坏", "en": "Bad", "satisfied": "no"}]}) == [
        ("scale[1].value", "1 is used twice"), ("scale[1].satisfied", "true or false")]
    assert survey_settings_problems({"scale": "five_point", "satisfied": [4, 5], "template_en": "",
                                     "quiet_hours": ["22:30", "07:30"], "reply_expiry_hours": 24}) == []


def test_bad_settings_refuse_to_build():
    with pytest.raises(Invalid) as caught:
        SurveySettings.from_dict({"reply_expiry_hours": 0})
    assert caught.value.field == "reply_expiry_hours"


VISIT = SurveyVisit("郑州花园路营业厅", "缴费充值", "3", "张三", "1024", hall_en="Huayuan Rd Hall")


def test_the_survey_sms_is_chinese_and_fits_one_part_by_default():
    text = render_survey_sms(SurveySettings(), VISIT)
    assert text == "您好，请对郑州花园路营业厅3号窗口1024号的服务评价：回复1非常满意，2满意，3一般，4不满意。回TD退订"
    assert sms_size(text).encoding == UCS2 and sms_size(text).fits_one


def test_the_english_part_follows_the_chinese_with_the_english_prompt():
    settings = SurveySettings.from_dict({"scale": "five_point", "template_en": DEFAULT_TEMPLATE_EN})
    zh, en = render_survey_sms(settings, VISIT).split("\n")
    assert zh.endswith("回复5非常满意，4满意，3一般，2不满意，1非常不满意。回TD退订")
    assert en == ("Please rate counter 3 at Huayuan Rd Hall: Reply 5 Very satisfied, 4 Satisfied, 3 Neutral, "
                  "2 Dissatisfied, 1 Very dissatisfied. Reply TD to opt out")
    assert not sms_size(zh + "\n" + en).fits_one


def test_a_template_names_the_staff_member_and_cannot_reach_into_objects():
    settings = SurveySettings(template_zh="{staff_name}（工号{staff_no}）为您办理{service}，{prompt} {hall.__class__} {")
    text = render_survey_sms(settings, VISIT)
    assert text.startswith("张三（工号1024）为您办理缴费充值，回复1非常满意")
    assert text.endswith(" {hall.__class__} {")


@pytest.mark.parametrize(("text", "encoding", "units", "parts"), [
    ("您" * 70, UCS2, 70, 1),
    ("您" * 71, UCS2, 71, 2),
    ("您" * 134, UCS2, 134, 2),
    ("您" * 135, UCS2, 135, 3),
    ("a" * 160, GSM7, 160, 1),
    ("a" * 161, GSM7, 161, 2),
    ("a" * 306, GSM7, 306, 2),
    ("a" * 307, GSM7, 307, 3),
    ("€" * 80, GSM7, 160, 1),              # € is an escape pair in GSM-7
    ("€" * 81, GSM7, 162, 2),
    ("a" * 159 + "`", UCS2, 160, 3),        # a backtick is ASCII but not GSM-7
    ("a" * 66 + "😀" + "a" * 66, UCS2, 134, 3),  # the emoji's two units are not split across parts
    ("", GSM7, 0, 0),
])
def test_sms_parts_are_counted_in_the_right_encoding(text, encoding, units, parts):
    size = sms_size(text)
    assert (size.encoding, size.units, size.parts) == (encoding, units, parts)


# --------------------------------------------------------------------------- mobile numbers

def test_a_stored_number_gets_its_plus_for_the_gateways_that_want_it():
    assert e164("8613800138000") == "+8613800138000"


@pytest.mark.parametrize(("number", "shown"), [
    ("8613800138000", "138****8000"),
    ("+86 138 0013 8000", "138****8000"),
    ("13800138000", "138****8000"),
    ("447700900123", "447*****0123"),
    ("+44 (0)7700 900123", "447*****0123"),
    ("junk", "****"),
    ("12", "****"),
    (None, "****"),
])
def test_numbers_are_shown_masked(number, shown):
    assert mask_msisdn(number) == shown


# --------------------------------------------------------------------------- timing

def cst(*args):
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.parametrize(("finished", "delay_min", "send"), [
    (cst(2026, 11, 23, 15, 0), 5, cst(2026, 11, 23, 15, 5)),     # daytime: just the delay
    (cst(2026, 11, 23, 20, 50), 5, cst(2026, 11, 23, 20, 55)),   # before quiet hours
    (cst(2026, 11, 23, 20, 50), 30, cst(2026, 11, 24, 8, 0)),    # the delay runs into them: next morning
    (cst(2026, 11, 23, 20, 55), 5, cst(2026, 11, 24, 8, 0)),     # 21:00 is already quiet
    (cst(2026, 11, 23, 23, 59), 5, cst(2026, 11, 24, 8, 0)),     # across midnight
    (cst(2026, 11, 24, 2, 0), 5, cst(2026, 11, 24, 8, 0)),       # after midnight: the same morning
    (cst(2026, 11, 24, 7, 55), 5, cst(2026, 11, 24, 8, 0)),      # 08:00 is no longer quiet
    (cst(2026, 11, 24, 7, 56), 5, cst(2026, 11, 24, 8, 1)),
])
def test_a_survey_waits_for_the_end_of_quiet_hours_in_shanghai(finished, delay_min, send):
    assert survey_send_at(finished, timedelta(minutes=delay_min), NIGHT, SHANGHAI) == send
    assert survey_send_at(finished, timedelta(minutes=delay_min), NIGHT, SHANGHAI).tzinfo == UTC


def test_quiet_hours_include_their_start_and_not_their_end():
    assert NIGHT.wraps and NIGHT.contains(time(21, 0)) and NIGHT.contains(time(0, 0)) and NIGHT.contains(time(7, 59))
    assert not NIGHT.contains(time(8, 0)) and not NIGHT.contains(time(20, 59))
    lunch = QuietHours.parse(["12:00", "13:30"])
    assert not lunch.wraps and lunch.contains(time(12, 0)) and not lunch.contains(time(13, 30))


def test_the_finishing_time_is_read_in_the_halls_zone_whatever_its_offset():
    finished = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 21:00 in Shanghai
    assert survey_send_at(finished, timedelta(0), NIGHT, SHANGHAI) == cst(2026, 11, 24, 8, 0)
    assert survey_send_at(finished, timedelta(0), NIGHT, LONDON) == finished  # 13:00 in London


def test_quiet_hours_end_at_eight_on_the_clock_the_night_london_springs_forward():
    finished = datetime(2026, 3, 28, 22, 0, tzinfo=LONDON)  # GMT; clocks go to BST at 01:00 UTC
    assert survey_send_at(finished, timedelta(minutes=5), NIGHT, LONDON) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


def test_quiet_hours_end_at_eight_on_the_clock_the_night_london_falls_back():
    finished = datetime(2026, 10, 24, 22, 0, tzinfo=LONDON)  # BST; back to GMT on the 25th
    assert survey_send_at(finished, timedelta(minutes=5), NIGHT, LONDON) == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)


def test_a_daytime_quiet_window_and_no_quiet_hours():
    lunch = QuietHours.parse(["12:00", "13:30"])
    assert survey_send_at(cst(2026, 11, 23, 12, 5), timedelta(minutes=5), lunch, SHANGHAI) == cst(2026, 11, 23, 13, 30)
    assert survey_send_at(cst(2026, 11, 23, 11, 50), timedelta(minutes=5), lunch, SHANGHAI) == cst(2026, 11, 23, 11, 55)
    assert survey_send_at(cst(2026, 11, 23, 23, 0), timedelta(minutes=5), None, SHANGHAI) == cst(2026, 11, 23, 23, 5)


def test_the_send_time_needs_an_aware_finishing_time():
    with pytest.raises(ValueError):
        survey_send_at(datetime(2026, 11, 23, 15, 0), timedelta(minutes=5), NIGHT, SHANGHAI)


SENT = cst(2026, 11, 23, 10, 0)


def test_a_reply_counts_from_the_sending_until_the_expiry():
    assert reply_in_window(SENT, SENT + timedelta(minutes=3))
    assert reply_in_window(SENT, SENT + timedelta(hours=48))
    assert not reply_in_window(SENT, SENT + timedelta(hours=48, seconds=1))
    assert not reply_in_window(SENT, SENT - timedelta(seconds=1))
    assert reply_in_window(SENT, SENT + timedelta(hours=60), expiry=timedelta(hours=72))


def test_a_reply_answers_the_latest_survey_in_its_window():
    surveys = [("monday", SENT), ("tuesday", SENT + timedelta(days=1)), ("thursday", SENT + timedelta(days=3))]
    assert pick_survey(surveys, SENT + timedelta(days=1, hours=2)) == "tuesday"
    assert pick_survey(surveys, SENT + timedelta(hours=2)) == "monday"
    assert pick_survey(surveys, SENT + timedelta(days=6)) is None
    assert pick_survey([], SENT) is None


# --------------------------------------------------------------------------- figures

def test_four_grade_figures_against_hand_computed_values():
    figures = satisfaction_figures([1, 1, 1, 2, 2, 3, 4, 4], FOUR_GRADE)
    assert (figures.ratings, figures.satisfied) == (8, 5)
    assert figures.satisfaction_rate == 0.625
    assert figures.average_score == 2.25
    assert figures.score_index == pytest.approx(58.3333, abs=1e-4)  # (4 - 2.25) / 3
    assert figures.by_score == {1: 3, 2: 2, 3: 1, 4: 2}


def test_five_point_figures_against_hand_computed_values():
    figures = satisfaction_figures([5, 5, 4, 3, 1], FIVE_POINT)
    assert figures.satisfaction_rate == 0.6 and figures.average_score == 3.6
    assert figures.score_index == pytest.approx(65.0)  # (3.6 - 1) / 4


def test_figures_from_grouped_counts_equal_those_from_scores():
    assert figures_from_counts({1: 3, 2: 2, 3: 1, 4: 2}, FOUR_GRADE) == satisfaction_figures(
        [1, 1, 1, 2, 2, 3, 4, 4], FOUR_GRADE)


def test_no_ratings_have_no_rate_and_a_foreign_score_is_refused():
    assert satisfaction_figures([], FOUR_GRADE).satisfaction_rate is None
    assert average_score([]) is None
    assert average_score([1, 2, 2, 4]) == 2.25
    with pytest.raises(ValueError, match="score 5"):
        satisfaction_figures([1, 5], FOUR_GRADE)


def test_response_rate_is_answered_surveys_over_sent_ones():
    assert response_rate(3, 4) == 0.75
    assert response_rate(0, 0) is None
    with pytest.raises(ValueError):
        response_rate(5, 4)


def test_the_press_figure_rounds_as_reported():
    assert percent(107_142 / 112_600) == 95.15
    assert percent(None) is None
