"""The audit log on SQLite and PostgreSQL: events chain inside db.atomic(), roll back with the
change, and every kind of tampering done straight in the database is caught by verify()."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import db
from core.audit import record, verify
from core.audit.log import canonical_json, event_hash
from core.audit.tables import GENESIS_HASH, AuditEvent, AuditHead
from core.cli import main
from core.org.tables import Unit

ACTIONS = ["unit.create", "meeting.open", "meeting.step", "hands.record", "meeting.close"]


async def record_events(n: int = 5) -> None:
    for i in range(n):
        async with db.atomic():
            await record(actor=f"user:{i + 1}", action=ACTIONS[i % len(ACTIONS)], entity="meeting:5",
                         before={"state": "draft", "n": i}, after={"state": "议事中", "n": i + 1})


async def events() -> list[dict[str, Any]]:
    return await AuditEvent.select().order_by(AuditEvent.seq)


async def head() -> dict[str, Any] | None:
    return await AuditHead.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).first()


async def sql(*statements: str) -> None:
    """Tamper as someone with database access would: raw SQL, outside the application."""
    for statement in statements:
        await AuditEvent._meta.db.run_ddl(statement)


async def reset_log() -> None:
    await AuditEvent.delete(force=True)
    await AuditHead.delete(force=True)
    await AuditHead.insert(AuditHead(id=1, seq=0, hash=GENESIS_HASH))


# ------------------------------------------------------------------------------------------------
# Writing


async def test_events_recorded_in_atomic_form_a_chain(engine: object) -> None:
    starts = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)
    async with db.atomic():
        unit = await Unit.objects().create(name="锦绣苑小区", kind="小区")
        await record(actor="user:3", action="unit.create", entity=f"unit:{unit.id}",
                     after={"name": "锦绣苑小区", "kind": "小区", "starts_at": starts})
    await record_events(2)

    rows = await events()
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert rows[0]["prev_hash"] == GENESIS_HASH
    assert [r["prev_hash"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]
    assert await head() == {"seq": 3, "hash": rows[-1]["hash"]}
    assert rows[0]["before"] is None
    assert rows[0]["after"] == ('{"kind":"小区","name":"锦绣苑小区",'
                                '"starts_at":"2026-11-20T19:00:00+00:00"}')

    result = await verify()
    assert result.ok and result.events == 3 and result.head_seq == 3
    assert "audit log intact: 3" in result.message


async def test_hash_is_sha256_of_prev_hash_and_canonical_json(engine: object) -> None:
    """The documented recipe, recomputed by hand: anyone can check a row without Yishi."""
    await record_events(1)
    row = (await events())[0]
    payload = json.dumps({
        "seq": 1, "at": row["at"].astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": row["actor"], "action": row["action"], "entity": row["entity"],
        "before": json.loads(row["before"]), "after": json.loads(row["after"]),
    }, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert row["hash"] == hashlib.sha256((GENESIS_HASH + payload).encode()).hexdigest()


async def test_an_exception_rolls_back_the_change_and_its_event(engine: object) -> None:
    with pytest.raises(ZeroDivisionError):
        async with db.atomic():
            unit = await Unit.objects().create(name="幸福里社区", kind="社区")
            await record(actor="user:1", action="unit.create", entity=f"unit:{unit.id}",
                         after={"name": "幸福里社区"})
            1 / 0  # noqa: B018
    assert await Unit.count() == 0
    assert await AuditEvent.count() == 0
    assert (await verify()).ok

    await record_events(1)
    assert [r["seq"] for r in await events()] == [1]  # the rolled-back seq is not burnt


async def test_record_outside_a_transaction_is_refused(engine: Any) -> None:
    with pytest.raises(RuntimeError, match=r"core\.db\.atomic\(\)"):
        await record(actor="system", action="meeting.open", entity="meeting:1")
    if engine.engine_type == "sqlite":
        with pytest.raises(RuntimeError, match="BEGIN IMMEDIATE"):
            async with engine.transaction():  # deferred: would take the write lock too late
                await record(actor="system", action="meeting.open", entity="meeting:1")
    assert await AuditEvent.count() == 0


@pytest.mark.parametrize("kwargs, error", [
    ({"action": "x" * 61}, ValueError),
    ({"actor": ""}, ValueError),
    ({"entity": "meeting:\x00"}, ValueError),
    ({"after": ["not", "a", "dict"]}, TypeError),
    ({"after": {"ratio": float("nan")}}, ValueError),
    ({"after": {"lone": "\ud800"}}, ValueError),
    ({"after": {"blob": b"bytes"}}, TypeError),
])
async def test_values_that_would_differ_between_databases_are_refused(
        engine: object, kwargs: dict[str, Any], error: type[Exception]) -> None:
    args = {"actor": "cli", "action": "unit.create", "entity": "unit:1", **kwargs}
    with pytest.raises(error):
        async with db.atomic():
            await record(**args)
    assert await AuditEvent.count() == 0


async def test_concurrent_writers_take_turns(engine: object) -> None:
    """20 writers at once: the head lock (FOR UPDATE / BEGIN IMMEDIATE) gives seq 1..20, no gaps."""

    async def write(i: int) -> None:
        async with db.atomic():
            await Unit.objects().create(name=f"{i}号楼", kind="楼栋")
            await record(actor=f"user:{i}", action="unit.create", entity=f"unit:{i}")

    await asyncio.gather(*(write(i) for i in range(20)))
    assert [r["seq"] for r in await events()] == list(range(1, 21))
    assert await Unit.count() == 20
    result = await verify()
    assert result.ok and result.events == 20


async def test_a_writer_that_missed_another_process_s_events_joins_the_chain(engine: Any) -> None:
    """Each process remembers the head it wrote last and appends after it in one step; when another
    process (or server) has written since, the head is not the remembered one, nothing is appended
    on the stale guess, and the event follows the real head."""
    from core.audit import log

    await record_events(2)
    remembered = dict(log._known_head)  # this process's view after seq 2
    async with db.atomic():  # "another process" writes seq 3
        await record(actor="user:9", action="meeting.step", entity="meeting:5", after={"by": "the other server"})
    log._known_head.clear()
    log._known_head.update(remembered)  # ... which this process never heard of
    async with db.atomic():
        await record(actor="user:1", action="meeting.close", entity="meeting:5", after={"state": "closed"})
    rows = await events()
    assert [r["seq"] for r in rows] == [1, 2, 3, 4]
    assert rows[3]["prev_hash"] == rows[2]["hash"] and rows[3]["action"] == "meeting.close"
    assert await head() == {"seq": 4, "hash": rows[3]["hash"]}
    result = await verify()
    assert result.ok and result.events == 4


async def test_a_missing_head_on_an_empty_log_is_the_start(engine: object) -> None:
    """After a TRUNCATE of every table (as the test suite does) the log starts again."""
    await AuditHead.delete(force=True)
    assert (await verify()).ok
    await record_events(2)
    assert (await verify()).ok


# ------------------------------------------------------------------------------------------------
# Tampering, done directly in the database


def _edit_and_rehash(rows: list[dict[str, Any]]) -> list[str]:
    """Edit event 3 and give it a correct new hash: then event 4 no longer links to it."""
    row = rows[2]
    after = canonical_json({"state": "closed", "n": 99})
    digest = event_hash(prev_hash=row["prev_hash"], seq=3, at=row["at"], actor=row["actor"],
                        action=row["action"], entity=row["entity"], before=row["before"], after=after)
    return [f"UPDATE yishi_audit_event SET \"after\" = '{after}', hash = '{digest}' WHERE seq = 3"]


TAMPERING = {
    "edited event": (lambda rows: [
        "UPDATE yishi_audit_event SET \"after\" = '{\"n\":3,\"state\":\"closed\"}' WHERE seq = 3"],
        3, ["第 3 条事件（meeting.step）被改动", "event seq 3 (meeting.step) was edited"]),
    "edited actor": (lambda rows: ["UPDATE yishi_audit_event SET actor = 'user:9' WHERE seq = 2"],
                     2, ["event seq 2 (meeting.open) was edited"]),
    "edited JSON spacing": (lambda rows: [
        "UPDATE yishi_audit_event SET \"before\" = '{\"n\": 0,\"state\":\"draft\"}' WHERE seq = 1"],
        1, ["its before is not the JSON the audit log wrote"]),
    "edited and re-hashed": (_edit_and_rehash, 4, ["event seq 4 (hands.record) does not link to seq 3"]),
    "deleted middle event": (lambda rows: ["DELETE FROM yishi_audit_event WHERE seq = 3"],
                             3, ["缺少第 3 条事件", "event seq 3 is missing (deleted)"]),
    "deleted first events": (lambda rows: ["DELETE FROM yishi_audit_event WHERE seq <= 2"],
                             1, ["events seq 1–2 are missing (deleted)"]),
    "deleted last event": (lambda rows: ["DELETE FROM yishi_audit_event WHERE seq = 5"],
                           5, ["the head says seq 5 but the last event is seq 4", "event seq 5 was deleted"]),
    "swapped events": (lambda rows: [
        "UPDATE yishi_audit_event SET seq = -1 WHERE seq = 2",
        "UPDATE yishi_audit_event SET seq = 2 WHERE seq = 4",
        "UPDATE yishi_audit_event SET seq = 4 WHERE seq = -1"],
        2, ["第 2 条事件（hands.record）接不上第 1 条", "does not link to seq 1", "reordered"]),
    "edited head hash": (lambda rows: [f"UPDATE yishi_audit_head SET hash = '{'f' * 64}'"],
                         5, ["链头被改动", "the head's hash does not match event seq 5"]),
    "head moved back": (lambda rows: ["UPDATE yishi_audit_head SET seq = 3"],
                        4, ["the head says seq 3 but events go on to seq 5"]),
    "head deleted": (lambda rows: ["DELETE FROM yishi_audit_head"],
                     5, ["the head row of the audit log is missing"]),
    "event renumbered to 0": (lambda rows: ["UPDATE yishi_audit_event SET seq = 0 WHERE seq = 1"],
                              0, ["event seq 0 is out of order"]),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
async def test_tampering_is_detected_and_the_seq_named(engine: object, kind: str) -> None:
    statements, broken_seq, words = TAMPERING[kind]
    await record_events(5)
    assert (await verify()).ok
    await sql(*statements(await events()))
    result = await verify()
    assert not result.ok
    assert result.broken_seq == broken_seq, result.problem
    for word in words:
        assert word in result.problem


async def test_an_edited_timestamp_is_detected(engine: object) -> None:
    await record_events(3)
    row = (await events())[1]
    await AuditEvent.update({AuditEvent.at: row["at"] - timedelta(days=1)}).where(AuditEvent.seq == 2)
    result = await verify()
    assert not result.ok and result.broken_seq == 2


async def test_a_chain_rewritten_consistently_is_caught_only_with_an_exported_head(engine: object) -> None:
    await record_events(3)
    exported = await head()
    assert exported is not None
    await sql("DELETE FROM yishi_audit_event", "UPDATE yishi_audit_head SET seq = 0, hash = '" + "0" * 64 + "'")
    await record_events(2)  # a whole new, self-consistent chain
    assert (await verify()).ok
    result = await verify(expect=(exported["seq"], exported["hash"]))
    assert not result.ok and result.broken_seq == 3
    assert "no longer exists" in result.problem


# ------------------------------------------------------------------------------------------------
# Any chain, any one-character change


SAFE = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
LABEL = st.text(SAFE, min_size=1, max_size=20)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(SAFE, max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(SAFE, max_size=6), inner, max_size=3),
    max_leaves=6)
CHANGES = st.none() | st.dictionaries(st.text(SAFE, max_size=8), JSON_VALUE, max_size=4)
EVENT = st.fixed_dictionaries({"actor": LABEL, "action": LABEL, "entity": LABEL,
                               "before": CHANGES, "after": CHANGES})
FIELDS = ["seq", "at", "actor", "action", "entity", "before", "after", "prev_hash", "hash",
          "head.seq", "head.hash"]


def _change_one_character(data: st.DataObject, text: str | None) -> str:
    if not text:
        return "{}" if text is None else "x"
    i = data.draw(st.integers(0, len(text) - 1))
    new = data.draw(SAFE.filter(lambda c: c != text[i]))
    return text[:i] + new + text[i + 1:]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recorded=st.lists(EVENT, min_size=1, max_size=5), data=st.data())
async def test_any_chain_verifies_and_any_single_change_is_detected(
        engine: object, recorded: list[dict[str, Any]], data: st.DataObject) -> None:
    await reset_log()
    for event in recorded:
        async with db.atomic():
            await record(**event)
    result = await verify()
    assert result.ok and result.events == len(recorded)

    n = len(recorded)
    field = data.draw(st.sampled_from(FIELDS))
    seq = data.draw(st.integers(1, n))
    row = await AuditEvent.select().where(AuditEvent.seq == seq).first()
    if field == "head.seq":
        new_seq = data.draw(st.integers(0, n + 3).filter(lambda s: s != n))
        await AuditHead.update({AuditHead.seq: new_seq}, force=True)
        expected = n + 1 if new_seq > n else new_seq + 1
    elif field == "head.hash":
        await AuditHead.update({AuditHead.hash: _change_one_character(data, row["hash"])}, force=True)
        expected = n
    elif field == "seq":
        await AuditEvent.update({AuditEvent.seq: seq + data.draw(st.integers(10, 1000))}).where(
            AuditEvent.seq == seq)
        expected = seq
    elif field == "at":
        shift = timedelta(microseconds=data.draw(st.integers(1, 10**9)))
        await AuditEvent.update({AuditEvent.at: row["at"] + shift}).where(AuditEvent.seq == seq)
        expected = seq
    else:
        column = getattr(AuditEvent, field)
        await AuditEvent.update({column: _change_one_character(data, row[field])}).where(
            AuditEvent.seq == seq)
        expected = seq
    result = await verify()
    assert not result.ok, f"{field} of seq {seq} changed unnoticed"
    assert result.broken_seq == expected, result.problem


@given(st.dictionaries(st.text(SAFE, max_size=8), JSON_VALUE, max_size=5))
def test_canonical_json_reads_back_to_itself(value: dict[str, Any]) -> None:
    text = canonical_json(value)
    assert canonical_json(json.loads(text)) == text


# ------------------------------------------------------------------------------------------------
# yishi audit verify


def test_cli_verify_exit_codes(database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("YISHI_DATABASE_URL", database_url)
    monkeypatch.setenv("YISHI_DATA_DIR", str(tmp_path))

    async def on_database(work: Any) -> Any:
        engine = await db.connect(database_url)
        try:
            return await work()
        finally:
            await db.disconnect(engine)

    asyncio.run(on_database(record_events))
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "审计日志完整 / audit log intact: 5 条事件" in out
    exported = asyncio.run(on_database(head))
    assert f"--expect 5:{exported['hash']}" in out
    assert main(["audit", "verify", "--expect", f"5:{exported['hash']}"]) == 0

    asyncio.run(on_database(lambda: sql("DELETE FROM yishi_audit_event WHERE seq = 2")))
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "✗ 审计日志已被改动 / audit log broken" in out
    assert "event seq 2 is missing (deleted)" in out
    assert "1 条完好的事件" in out

    assert main(["audit", "verify", "--expect", "5:abc"]) == 2
    assert "SEQ:HASH" in capsys.readouterr().err
