"""The 街巷议事会's demo is demo.toml alone: the 巷导下午茶's notes keep the times they were taken at
(a note ``{ body = "…", at = "15:35" }`` in core's seed format, core/records/seed_meetings.py), and a
note written wrong is refused, naming the entry, with nothing written (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from yishi_jiexiang import plugin

from core.meetings.tables import AgendaItem, ItemNote, Meeting, MeetingEvent
from core.records.seed import SeedError, load_seed
from tests.conftest import database_state

CHINA = ZoneInfo("Asia/Shanghai")
HERE = Path(plugin.__file__).parent
DEMO = (HERE / "demo.toml").read_text(encoding="utf-8")
FIRST_NOTE = '{ body = "巷导张建平上周两次夜间走访，排烟口确实离窗户不到两米。", at = "15:35" }'


async def test_the_notes_keep_the_times_they_were_taken_at(jx_app, jx_settings, jx_plugins) -> None:
    await load_seed(HERE / "demo.toml", jx_settings, plugins=jx_plugins)
    tea = await Meeting.select().where(Meeting.kind == "巷导下午茶").first()
    notes = await ItemNote.select(ItemNote.body, ItemNote.created_at, ItemNote.item.position).where(
        ItemNote.item.meeting == tea["id"]).order_by(ItemNote.created_at)
    day = tea["starts_at"].astimezone(CHINA).date()
    assert {n["created_at"].astimezone(CHINA).date() for n in notes} == {day}
    assert [(n["item.position"], n["created_at"].astimezone(CHINA).strftime("%H:%M")) for n in notes] == [
        (1, "15:35"), (1, "15:36"), (2, "16:00"), (2, "16:01"), (3, "16:25"), (3, "16:26")]
    assert notes[3]["body"] == "物业同意在楼道口划出禁止堆放标线。"
    # Opened at 15:05, closed at 16:50; the minutes approved two days later and published the day after.
    assert tea["opened_at"].astimezone(CHINA).strftime("%H:%M") == "15:05"
    assert tea["closed_at"].astimezone(CHINA).strftime("%H:%M") == "16:50"
    steps = await MeetingEvent.select(MeetingEvent.transition, MeetingEvent.at, MeetingEvent.actor).where(
        MeetingEvent.meeting == tea["id"]).order_by(MeetingEvent.at)
    assert [(s["transition"], s["at"].astimezone(CHINA).date() - day, s["actor"]) for s in steps] == [
        ("open", timedelta(0), "user:chenhy"), ("close", timedelta(0), "user:chenhy"),
        ("approve", timedelta(days=2), "user:chenhy"), ("publish", timedelta(days=3), "user:chenhy")]


@pytest.mark.parametrize(("new", "where", "said"), [
    ('{ text = "巷导张建平上周两次夜间走访。", at = "15:35" }', "meetings[1].agenda[1].notes[1]", "body, at"),
    ('{ body = "巷导张建平上周两次夜间走访。", at = "傍晚" }', "meetings[1].agenda[1].notes[1].at", "傍晚"),
    ('{ body = "", at = "15:35" }', "meetings[1].agenda[1].notes[1]", ""),
], ids=["unknown key", "bad time", "empty"])
async def test_a_note_written_wrong_names_itself_and_writes_nothing(jx_app, jx_settings, jx_plugins,
                                                                    tmp_path: Path, new: str, where: str,
                                                                    said: str) -> None:
    assert DEMO.count(FIRST_NOTE) == 1
    bad = tmp_path / "bad.toml"
    bad.write_text(DEMO.replace(FIRST_NOTE, new), encoding="utf-8")
    before = await database_state()
    with pytest.raises(SeedError) as refused:
        await load_seed(bad, jx_settings, plugins=jx_plugins)
    assert str(bad) in str(refused.value) and where in str(refused.value) and said in str(refused.value)
    assert await database_state() == before
    assert await Meeting.count() == 0 and await AgendaItem.count() == 0
