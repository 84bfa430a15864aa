"""Recurring meetings: the rules (pure, with hypothesis), the series kept stocked with upcoming drafts
(SQLite and PostgreSQL), and the 新建会议 page with its errors beside the fields.

The dates a rule must give are checked against a calendar computed here, independently of
core.meetings.recurrence (calendar.monthcalendar for "the n-th Friday").
"""

from __future__ import annotations

import asyncio
import calendar
import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.audit.tables import AuditEvent
from core.meetings import recurrence, series
from core.meetings.recurrence import Rule, RuleError, next_times, parse_rule, rule_for
from core.meetings.tables import Meeting
from tests.conftest import database_state, login
from tests.factories import make_council

BEIJING = ZoneInfo("Asia/Shanghai")


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1…4, or -1 for the last) ``weekday`` of a month, from the calendar module."""
    days = [week[weekday] for week in calendar.monthcalendar(year, month) if week[weekday]]
    return date(year, month, days[n - 1] if n > 0 else days[-1])


# --- the rules ------------------------------------------------------------------------------------


def test_first_friday_of_every_month_for_the_yueyuetan() -> None:
    rule = parse_rule("monthly:1:fri")
    times = next_times(rule, time(19, 30), datetime(2026, 11, 30, tzinfo=BEIJING), 4)
    assert [t.date() for t in times] == [date(2026, 12, 4), date(2027, 1, 1), date(2027, 2, 5), date(2027, 3, 5)]
    assert all(t.hour == 19 and t.minute == 30 and t.utcoffset() == timedelta(hours=8) for t in times)
    assert rule.label == "每月第一个星期五"


def test_last_saturday_weekly_and_day_of_month() -> None:
    last_sat = next_times(parse_rule("monthly:-1:sat"), time(9, 0), datetime(2026, 1, 1, tzinfo=BEIJING), 3)
    assert [t.date() for t in last_sat] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 28)]
    assert parse_rule("monthly:-1:sat").label == "每月最后一个星期六"
    weekly = next_times(parse_rule("weekly:wed"), time(14, 0), datetime(2026, 12, 2, 14, 0, tzinfo=BEIJING), 2)
    assert [t.date() for t in weekly] == [date(2026, 12, 9), date(2026, 12, 16)]  # strictly after the start
    assert parse_rule("weekly:wed").label == "每周星期三"


def test_day_31_falls_on_the_last_day_of_short_months() -> None:
    times = next_times(parse_rule("monthly:31"), time(10, 0), datetime(2027, 1, 1, tzinfo=BEIJING), 4)
    assert [t.date() for t in times] == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]
    leap = next_times(parse_rule("monthly:30"), time(10, 0), datetime(2028, 2, 1, tzinfo=BEIJING), 1)
    assert leap[0].date() == date(2028, 2, 29)


@pytest.mark.parametrize("text", ["", "monthly", "monthly:0:fri", "monthly:5:fri", "monthly:-2:fri", "monthly:32",
                                  "monthly:0", "weekly:friday", "daily", "monthly:1:fri:x", "每月第一个星期五",
                                  "weekly:" + "x" * 60, "monthly:+1:fri", "monthly:01x"])
def test_bad_rules_are_refused_in_chinese(text: str) -> None:
    with pytest.raises(RuleError) as err:
        parse_rule(text)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(err.value)), str(err.value)


rules = st.one_of(
    st.builds(lambda d: f"weekly:{d}", st.sampled_from(recurrence.DAYS)),
    st.builds(lambda n, d: f"monthly:{n}:{d}", st.sampled_from(recurrence.ORDINALS), st.sampled_from(recurrence.DAYS)),
    st.builds(lambda d: f"monthly:{d}", st.integers(1, 31)),
)


def expected_match(text: str, day: date) -> bool:
    """Whether ``day`` is a date the rule names, computed from the calendar module."""
    parts = text.split(":")
    if parts[0] == "weekly":
        return day.weekday() == recurrence.DAYS.index(parts[1])
    if len(parts) == 3:
        return day == nth_weekday(day.year, day.month, recurrence.DAYS.index(parts[2]), int(parts[1]))
    return day.day == min(int(parts[1]), calendar.monthrange(day.year, day.month)[1])


@settings(max_examples=300, deadline=None)
@given(text=rules, after=st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2090, 1, 1),
                                      timezones=st.sampled_from([UTC, BEIJING])),
       clock=st.times(), count=st.integers(1, 8))
def test_generated_dates_match_the_rule_increase_and_keep_the_clock(text: str, after: datetime, clock: time,
                                                                    count: int) -> None:
    rule = parse_rule(text)
    assert parse_rule(rule.text) == rule
    times = next_times(rule, clock, after, count)
    assert len(times) == count
    for t in times:
        assert t.tzinfo is not None and t.utcoffset() == timedelta(hours=8)
        assert (t.hour, t.minute, t.second) == (clock.hour, clock.minute, clock.second)
        assert expected_match(text, t.date()), (text, t)
        assert t > after
    assert all(a < b for a, b in itertools.pairwise(times))
    # Nothing the rule names was skipped between two generated dates.
    first = times[0].date()
    skipped = [first - timedelta(days=k) for k in range(1, 40)
               if first - timedelta(days=k) > after.astimezone(BEIJING).date()]
    assert not [d for d in skipped if expected_match(text, d)
                and datetime.combine(d, clock, tzinfo=BEIJING) > after]


def test_form_choice_derives_the_rule_from_the_start_date() -> None:
    assert rule_for("monthly_nth", date(2026, 12, 4)) == Rule("monthly_weekday", weekday=4, ordinal=1)
    assert rule_for("monthly_last", date(2026, 12, 26)).text == "monthly:-1:sat"
    assert rule_for("weekly", date(2026, 12, 2)).text == "weekly:wed"
    assert rule_for("monthly_day", date(2026, 12, 15)).text == "monthly:15"
    assert rule_for("", date(2026, 12, 15)) is None
    with pytest.raises(RuleError, match="不是当月最后一个星期五"):
        rule_for("monthly_last", date(2026, 12, 4))
    with pytest.raises(RuleError, match="第五个"):
        rule_for("monthly_nth", date(2027, 1, 29))


# --- the series -----------------------------------------------------------------------------------

#: The first 邻聚力·月月谈: Friday 4 December 2026, 19:30 Beijing time — in the future of NOW.
FIRST = datetime(2026, 12, 4, 19, 30, tzinfo=BEIJING)
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


async def series_dates(series_id: int) -> list[datetime]:
    rows = await Meeting.select(Meeting.starts_at).where(Meeting.series == series_id).order_by(Meeting.starts_at)
    return [r["starts_at"].astimezone(BEIJING) for r in rows]


async def test_creating_a_series_writes_the_next_three_drafts_once(engine) -> None:
    council = await make_council()
    new = series.NewMeeting("邻聚力·月月谈", "议事会", FIRST, "社区书院", True, parse_rule("monthly:1:fri"))
    first_id = await series.create_meeting(council.id, new, "user:1")
    dates = await series_dates(first_id)
    assert [d.date() for d in dates] == [date(2026, 12, 4), date(2027, 1, 1), date(2027, 2, 5), date(2027, 3, 5)]
    assert all((d.hour, d.minute) == (19, 30) for d in dates)
    rows = await Meeting.select().where(Meeting.series == first_id).order_by(Meeting.starts_at)
    assert {(r["title"], r["kind"], r["place"], r["is_open"], r["state"], r["recurrence"]) for r in rows} == {
        ("邻聚力·月月谈", "议事会", "社区书院", True, "draft", "monthly:1:fri")}

    # The same form again, and top-ups without a meeting held: nothing new.
    assert await series.create_meeting(council.id, new, "user:1") == first_id
    assert await series.top_up(first_id, "user:1", now=NOW) == []
    await asyncio.gather(series.top_up(first_id, "a", now=NOW), series.top_up(first_id, "b", now=NOW))
    assert len(await series_dates(first_id)) == 4
    assert await AuditEvent.count().where(AuditEvent.action == "meeting.generated") == 3


async def test_top_up_after_a_close_keeps_three_ahead(engine) -> None:
    council = await make_council()
    first_id = await series.create_meeting(
        council.id, series.NewMeeting("月月谈", "议事会", FIRST, "", False, parse_rule("monthly:1:fri")), "user:1",
    )
    # December's meeting closes: January … March are still ahead of it, nothing to write. Then
    # January's closes on the evening of 1 January: February and March are ahead, April is written, once.
    await Meeting.update({Meeting.state: "closed"}).where(Meeting.id == first_id)
    assert await series.top_up(first_id, "user:1", now=datetime(2026, 12, 4, 14, 0, tzinfo=UTC)) == []
    january = (await Meeting.select(Meeting.id).where(
        (Meeting.series == first_id) & (Meeting.starts_at == datetime(2027, 1, 1, 11, 30, tzinfo=UTC))).first())["id"]
    await Meeting.update({Meeting.state: "closed"}).where(Meeting.id == january)
    after_close = datetime(2027, 1, 1, 14, 0, tzinfo=UTC)
    written = await series.top_up(january, "user:1", now=after_close)
    assert len(written) == 1
    dates = [d.date() for d in await series_dates(first_id)]
    assert dates == [date(2026, 12, 4), date(2027, 1, 1), date(2027, 2, 5), date(2027, 3, 5), date(2027, 4, 2)]
    assert await series.top_up(january, "user:1", now=after_close) == []  # idempotent


async def test_closing_through_the_console_tops_up_by_the_hook(client: httpx.AsyncClient) -> None:
    """The chair closes a meeting of a weekly series: core's yishi_on_transition writes the next one."""
    from core.meetings.tables import AgendaItem

    council = await make_council()
    today = datetime.now(BEIJING)
    start = datetime.combine(today.date() - timedelta(days=7), time(19, 30), tzinfo=BEIJING)
    rule = Rule("weekly", weekday=start.weekday())
    first_id = await series.create_meeting(council.id, series.NewMeeting("周会", "联席会议", start, "", False, rule),
                                           "user:1")
    upcoming = await Meeting.select().where((Meeting.series == first_id) & (Meeting.id != first_id)).order_by(
        Meeting.starts_at)
    assert len(upcoming) == series.UPCOMING
    held = upcoming[0]["id"]
    await AgendaItem.objects().create(meeting=held, position=1, title="楼道杂物清理")
    await login(client, "chair")
    for step in ("open", "close"):
        r = await client.post(f"/meetings/{held}/step", data={"transition": step})
        assert r.status_code == 303, r.text
    assert (await Meeting.select(Meeting.state).where(Meeting.id == held).first())["state"] == "closed"
    dates = await series_dates(first_id)
    assert len(dates) == 2 + series.UPCOMING  # the past one, the closed one, three after it
    assert dates[-1].date() == upcoming[-1]["starts_at"].astimezone(BEIJING).date() + timedelta(days=7)


# --- the 新建会议 page ----------------------------------------------------------------------------

GOOD = {"title": "12月三方联席会议", "kind": "联席会议", "date": "2026-12-04", "time": "19:30",
        "place": "社区会议室", "is_open": "1", "repeat": ""}


async def test_new_meeting_form_creates_a_draft(client: httpx.AsyncClient) -> None:
    council = await make_council()
    await login(client, "chair")
    page = await client.get(f"/councils/{council.id}/meetings/new")
    assert page.status_code == 200 and "新建会议" in page.text and "联席会议" in page.text
    r = await client.post(f"/councils/{council.id}/meetings/new", data=GOOD)
    assert r.status_code == 303
    meeting = await Meeting.select().where(Meeting.council == council.id).first()
    assert r.headers["location"] == f"/meetings/{meeting['id']}"
    assert meeting["state"] == "draft" and meeting["is_open"] is True and meeting["series"] is None
    assert meeting["starts_at"] == datetime(2026, 12, 4, 11, 30, tzinfo=UTC)  # 19:30 in Beijing
    again = await client.post(f"/councils/{council.id}/meetings/new", data=GOOD)  # a retried post
    assert again.headers["location"] == r.headers["location"]
    assert await Meeting.count().where(Meeting.council == council.id) == 1


async def test_new_meeting_with_repeat_makes_a_series(client: httpx.AsyncClient) -> None:
    council = await make_council()
    await login(client, "recorder")
    r = await client.post(f"/councils/{council.id}/meetings/new", data=GOOD | {"repeat": "monthly_nth"},
                          headers={"HX-Request": "true"})
    assert r.status_code == 204 and r.headers["HX-Redirect"].startswith("/meetings/")
    rows = await Meeting.select(Meeting.recurrence, Meeting.series).where(Meeting.council == council.id)
    assert len(rows) == 1 + series.UPCOMING
    assert {r["recurrence"] for r in rows} == {"monthly:1:fri"} and len({r["series"] for r in rows}) == 1


@pytest.mark.parametrize(("field", "value", "message"), [
    ("title", "  ", "请填写会议名称"),
    ("title", "议" * 121, "不能超过 120 字"),
    ("kind", "选举大会", "请从列表中选择会议类型"),
    ("date", "2026-13-01", "请填写日期"),
    ("time", "25:00", "请填写开始时间"),
    ("place", "会议室\n二楼", "控制字符"),
    ("repeat", "monthly_last", "不是当月最后一个星期五"),
    ("repeat", "yearly", "请选择重复方式"),
])
async def test_new_meeting_errors_beside_the_field_and_nothing_written(client: httpx.AsyncClient, field: str,
                                                                       value: str, message: str) -> None:
    council = await make_council()
    await login(client, "chair")
    before = await database_state()
    r = await client.post(f"/councils/{council.id}/meetings/new", data=GOOD | {field: value})
    assert r.status_code == 422
    error_id = f'id="f-{field}-error"'
    assert error_id in r.text, r.text
    shown = r.text.split(error_id, 1)[1].split("</p>", 1)[0]
    assert message in shown, shown
    assert 'value="12月三方联席会议"' in r.text or field == "title"  # what was typed is kept
    after = await database_state()
    assert {k: v for k, v in after.items() if k != "yishi_session"} == \
        {k: v for k, v in before.items() if k != "yishi_session"}


async def test_two_identical_posts_at_once_create_one_meeting(client: httpx.AsyncClient) -> None:
    council = await make_council()
    await login(client, "chair")
    answers = await asyncio.gather(*(client.post(f"/councils/{council.id}/meetings/new",
                                                 data=GOOD | {"repeat": "weekly"}) for _ in range(2)))
    assert {a.status_code for a in answers} == {303}
    assert len({a.headers["location"] for a in answers}) == 1
    assert await Meeting.count().where(Meeting.council == council.id) == 1 + series.UPCOMING


async def test_who_may_not_create_meetings(client: httpx.AsyncClient) -> None:
    council = await make_council()
    r = await client.post(f"/councils/{council.id}/meetings/new", data=GOOD, follow_redirects=False)
    assert r.status_code in (303, 401)  # anonymous: to the login page
    other = await make_council(suffix="_b")
    await login(client, "chair_b")  # chairs another council
    r = await client.post(f"/councils/{council.id}/meetings/new", data=GOOD)
    assert r.status_code == 403
    assert (await client.get(f"/councils/{council.id}/meetings/new")).status_code == 403
    assert await Meeting.count() == 0 and other.id != council.id
    home = (await client.get("/")).text  # the home page offers 新建会议 only where one may run meetings
    assert f'href="/councils/{other.id}/meetings/new"' in home
    assert f'href="/councils/{council.id}/meetings/new"' not in home
