"""Core's seed format for a council's life so far (core/records/seed_*.py), on 邻聚力·月月谈's demo:
each kind of bad entry is refused with a SeedError naming the file, the entry and the problem, and
nothing is written; the good file loads (tests/plugins/linjuli/test_plugin.py checks what it holds)."""

from __future__ import annotations

from pathlib import Path

import pytest
from yishi_linjuli.plugin import HERE

from core.org.tables import Council, Unit
from core.records.seed import SeedError, load_seed, relative_day
from core.records.tables import Record
from core.topics.tables import Topic

DEMO = (HERE / "demo.toml").read_text(encoding="utf-8")

BAD = [
    # (what to replace, with what, what the message must name)
    ('role = "chair"\naffiliation = "沥林村出租屋管理党支部书记"', 'role = "member"\naffiliation = "x"',
     "meetings[1].steps[1]"),                                          # a member may not open the meeting
    ('kind = "tenant"\nphone_last4 = "5370"', 'kind = "tenant"\nphone_last4 = "53"', "roster[2]"),
    ('kind = "派出所"', 'kind = "警察"', "departments[1]"),
    ('repeat = "monthly:-1:fri"', 'repeat = "monthly:9:fri"', "meetings[1].repeat"),
    ('{ transition = "agree", by = "yejm", at = "today-18 20:30" }', '{ transition = "complete", by = "yejm" }',
     "topics[1].steps[3]"),                                            # not from "scheduled"
    ('deadline = "today-5"', 'deadline = "soon"', "topics[1].steps[4].values"),
    ('raised_by = "杨丽"', 'raised_by = "无名氏"', "topics[4].raised_by"),
    ('category = "治安消防", details = "新村8栋一楼', 'category = "治安消防", colour = "red", details = "新村8栋一楼',
     "topics[1].values"),                                              # a field the 提事表 does not have
    ('follow_ups.gas = { topic = true }', 'follow_ups.smoke = { topic = true }', "records[2].follow_ups.smoke"),
    ('direction = "redeem", points = 8', 'direction = "redeem", points = 80', "records[8]"),  # below zero
    ('{ task = "start", at = "today-2 09:30" }', '{ task = "finish", at = "today-2 09:30" }', "topics[3].steps[6]"),
]


@pytest.mark.db
@pytest.mark.parametrize(("old", "new", "where"), BAD, ids=[b[2] for b in BAD])
async def test_a_bad_entry_names_itself_and_writes_nothing(lj_engine, lj_settings, lj_plugins, tmp_path: Path,
                                                           old: str, new: str, where: str) -> None:
    assert DEMO.count(old) == 1, old
    bad = tmp_path / "bad.toml"
    bad.write_text(DEMO.replace(old, new), encoding="utf-8")
    with pytest.raises(SeedError) as refused:
        await load_seed(bad, lj_settings, plugins=lj_plugins)
    assert str(bad) in str(refused.value) and where in str(refused.value)
    assert await Unit.count() == 0 and await Council.count() == 0
    assert await Topic.count() == 0 and await Record.count() == 0


@pytest.mark.db
async def test_the_good_file_loads_twice_into_two_councils(lj_engine, lj_settings, lj_plugins) -> None:
    """Nothing in the file is keyed to the database: a county can load it beside its own data."""
    first = await load_seed(HERE / "demo.toml", lj_settings, plugins=lj_plugins)
    second = await load_seed(HERE / "demo.toml", lj_settings, plugins=lj_plugins)
    assert first == second and await Council.count() == 2 and await Topic.count() == 10


def test_this_month_keeps_a_relative_day_inside_the_month() -> None:
    from datetime import date

    assert relative_day("today-25 this month", date(2026, 11, 30))[0] == date(2026, 11, 5)
    assert relative_day("today-25 this month", date(2026, 11, 3))[0] == date(2026, 11, 1)
    assert relative_day("today-2 this month 19:15", date(2026, 11, 3))[1].hour == 19
    assert relative_day("today-2 25:00", date(2026, 11, 3)) is None
