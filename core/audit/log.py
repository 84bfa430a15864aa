"""Writing and checking the audit log: an append-only chain of events, each carrying the hash of the
one before it.

Event ``n`` stores ``hash = sha256(prev_hash + canonical JSON of its fields)`` and ``prev_hash`` =
event ``n-1``'s hash (64 zeros for the first). The head row keeps the newest ``seq`` and ``hash``.
So an edited event no longer matches its hash, a deleted one leaves a gap in ``seq``, reordered
events no longer link, and deleting the newest events leaves the head pointing past the end.

The canonical JSON is the same whatever the database: keys sorted, no spaces, UTF-8, times as
ISO-8601 in UTC with microseconds — anyone can recompute a hash from the rows with
:func:`event_hash`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from core.audit.tables import GENESIS_HASH, AuditEvent, AuditHead

HEAD_ID = 1
#: Events read per query while verifying, so a long log is not loaded at once.
VERIFY_BATCH = 1000
JSON_FIELDS = ("before", "after")


# ------------------------------------------------------------------------------------------------
# Canonical form and hashes (pure)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    raise TypeError(f"审计日志只记录 JSON 值 / the audit log records plain JSON values; got "
                    f"{type(value).__name__}: {value!r}")


def canonical_json(value: Any) -> str:
    """The one JSON text of ``value``: sorted keys, no spaces, UTF-8, datetimes as ISO strings."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False, default=_jsonable)


def iso_utc(at: datetime) -> str:
    """``at`` as ISO-8601 in UTC with microseconds, as it enters the hash."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(*, prev_hash: str, seq: int, at: datetime, actor: str, action: str, entity: str,
               before: str | None, after: str | None) -> str:
    """sha256 hex of ``prev_hash`` + the canonical JSON of the event (``before``/``after`` are the
    stored JSON texts; they enter the hash as the values they encode)."""
    payload = canonical_json({
        "seq": seq, "at": iso_utc(at), "actor": actor, "action": action, "entity": entity,
        "before": None if before is None else json.loads(before),
        "after": None if after is None else json.loads(after),
    })
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def _stored_json(name: str, value: dict[str, Any] | None) -> str | None:
    """The text stored for ``before``/``after``; refuses what would not read back the same."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"audit.record({name}=…) takes a dict of the changed fields or None, "
                        f"not {type(value).__name__}")
    text = canonical_json(value)
    _check_encodable(name, text)
    if canonical_json(json.loads(text)) != text:  # e.g. non-string keys
        raise ValueError(f"audit.record({name}=…): keys must be strings / 键必须是字符串")
    return text


def _check_encodable(name: str, text: str) -> None:
    # PostgreSQL refuses NUL and lone surrogates where SQLite would store them: refuse on both.
    if "\x00" in text:
        raise ValueError(f"audit.record({name}=…): contains a NUL character / 含有 NUL 字符")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"audit.record({name}=…): not valid Unicode / 不是有效的 Unicode") from exc


def _check_label(name: str, value: str, length: int) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"audit.record({name}=…) must be a non-empty string")
    if len(value) > length:
        raise ValueError(f"audit.record({name}=…) is longer than {length} characters: {value[:40]!r}…")
    _check_encodable(name, value)


# ------------------------------------------------------------------------------------------------
# Writing


def _require_atomic(engine: Any) -> None:
    if not engine.transaction_exists():
        raise RuntimeError(
            "audit.record() 必须在 core.db.atomic() 事务中调用 / must be called inside "
            "`async with core.db.atomic():`, so that the change and its audit event commit or roll "
            "back together")
    if engine.engine_type == "sqlite":
        from piccolo.engine.sqlite import TransactionType

        kind = engine.current_transaction.get().transaction_type
        if kind not in (TransactionType.immediate, TransactionType.exclusive):
            # A deferred transaction takes the write lock late and can fail half-way; atomic()
            # takes it first, so writers queue for the head of the chain.
            raise RuntimeError(
                "audit.record() needs the write transaction of core.db.atomic() (BEGIN IMMEDIATE), "
                f"not a {kind.value} one / 请使用 core.db.atomic()")


async def _locked_head(engine: Any) -> dict[str, Any]:
    """The head row, locked until the transaction ends (``FOR UPDATE``; on SQLite ``BEGIN
    IMMEDIATE`` already holds the database's write lock). Created if missing while the log is
    empty, as after a ``TRUNCATE`` of every table."""
    for _attempt in range(2):
        query = AuditHead.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)
        if engine.engine_type != "sqlite":
            query = query.lock_rows("UPDATE")
        rows = await query
        if rows:
            # Under the lock no other writer can add events, so events seen beside an empty head
            # mean the head was reset or deleted: refuse to start a second chain.
            if rows[0]["seq"] == 0 and await AuditEvent.exists():
                raise RuntimeError("审计日志的链头与事件不符 / the head of the audit log says it is "
                                   "empty although events exist: run `yishi audit verify`")
            return rows[0]
        # Concurrent writers may all get here: the first insert wins, the others wait for it.
        await AuditHead.insert(AuditHead(id=HEAD_ID, seq=0, hash=GENESIS_HASH)).on_conflict(
            action="DO NOTHING")
    raise RuntimeError("audit head row could not be created")


#: The head as this process last wrote it, per engine: ``(seq, hash)``. Only a guess: the append
#: below moves the head only if it still says exactly this (another process, a rolled-back
#: transaction or a reset head make the guess miss, and the locked read takes over).
_known_head: dict[int, tuple[int, str]] = {}

_EVENT_COLUMNS = "seq, at, actor, action, entity, before, after, prev_hash, hash"
#: PostgreSQL: move the head and insert the event in one statement (one round trip). The UPDATE
#: locks the head row like ``FOR UPDATE``; a head that moved meanwhile matches no row, so nothing
#: is inserted.
_APPEND_PG = (
    "WITH moved AS (UPDATE yishi_audit_head SET seq = {}::integer, hash = {}::varchar"
    " WHERE id = 1 AND seq = {}::integer AND hash = {}::varchar RETURNING id)"
    f" INSERT INTO yishi_audit_event ({_EVENT_COLUMNS})"
    " SELECT {}::integer, {}::timestamptz, {}::varchar, {}::varchar, {}::varchar, {}::text, {}::text,"
    " {}::varchar, {}::varchar FROM moved RETURNING seq")
#: SQLite (under ``BEGIN IMMEDIATE``, which already holds the write lock): move the head if it is
#: the one expected, then insert the event.
_MOVE_HEAD_SQLITE = ("UPDATE yishi_audit_head SET seq = {}, hash = {} WHERE id = 1 AND seq = {} AND hash = {}"
                     " RETURNING id")
_INSERT_SQLITE = f"INSERT INTO yishi_audit_event ({_EVENT_COLUMNS}) VALUES ({', '.join(['{}'] * 9)})"


async def _append_after(engine: Any, known: tuple[int, str], event: tuple[Any, ...]) -> bool:
    """Append ``event`` (its columns in ``_EVENT_COLUMNS`` order) if the head is still ``known``:
    one statement on PostgreSQL, two on SQLite, instead of a locked read, an insert and an update.
    False (nothing written) when the head has moved."""
    seq, digest = event[0], event[-1]
    if engine.engine_type == "sqlite":
        if not await AuditHead.raw(_MOVE_HEAD_SQLITE, seq, digest, known[0], known[1]):
            return False
        await AuditEvent.raw(_INSERT_SQLITE, *event)
        return True
    return bool(await AuditEvent.raw(_APPEND_PG, seq, digest, known[0], known[1], *event))


async def record(*, actor: str, action: str, entity: str, before: dict[str, Any] | None = None,
                 after: dict[str, Any] | None = None) -> None:
    """Append one event to the audit log, inside the caller's :func:`core.db.atomic` transaction.

    :param actor: who did it: ``"user:3"``, ``"resident:17"``, ``"system"``, ``"cli"``.
    :param action: what was done: ``"meeting.open"``.
    :param entity: what it was done to: ``"meeting:5"``.
    :param before: the changed fields as they were (plain JSON values; datetimes become ISO text).
    :param after: the changed fields as they are now.
    :raises RuntimeError: outside a transaction of :func:`core.db.atomic`.

    The usual case costs one statement on PostgreSQL and two on SQLite: the head this process
    wrote last is moved on only if it is still the head (a conditional UPDATE, which also takes the
    head's lock), and the event goes in with it. When the head has moved (another process wrote, a
    transaction rolled back, the head was reset), the head is read under lock and checked, as
    always, and the chain goes on from there.
    """
    engine = AuditEvent._meta.db
    _require_atomic(engine)
    _check_label("actor", actor, AuditEvent.actor.length)
    _check_label("action", action, AuditEvent.action.length)
    _check_label("entity", entity, AuditEvent.entity.length)
    before_text = _stored_json("before", before)
    after_text = _stored_json("after", after)

    key = id(engine)
    known = _known_head.get(key)
    if known is not None:
        seq = known[0] + 1
        at = datetime.now(UTC)  # the append below waits for the head's lock; a miss retakes the time
        digest = event_hash(prev_hash=known[1], seq=seq, at=at, actor=actor, action=action,
                            entity=entity, before=before_text, after=after_text)
        if await _append_after(engine, known, (seq, at, actor, action, entity, before_text, after_text,
                                               known[1], digest)):
            _known_head[key] = (seq, digest)
            return
    head = await _locked_head(engine)
    seq = head["seq"] + 1
    at = datetime.now(UTC)  # taken under the lock, so time follows seq
    digest = event_hash(prev_hash=head["hash"], seq=seq, at=at, actor=actor, action=action,
                        entity=entity, before=before_text, after=after_text)
    await AuditEvent.insert(AuditEvent(seq=seq, at=at, actor=actor, action=action, entity=entity,
                                       before=before_text, after=after_text,
                                       prev_hash=head["hash"], hash=digest))
    await AuditHead.update({AuditHead.seq: seq, AuditHead.hash: digest}).where(
        AuditHead.id == HEAD_ID)
    _known_head[key] = (seq, digest)


# ------------------------------------------------------------------------------------------------
# Checking


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify` found: counts when intact, else the first broken link."""

    ok: bool
    #: Events checked before the first problem (all of them when intact).
    events: int
    head_seq: int | None
    head_hash: str | None
    #: The first seq at which the chain breaks (for a broken head: the seq the head names).
    broken_seq: int | None = None
    problem: str = ""

    @property
    def message(self) -> str:
        if not self.ok:
            return self.problem
        return (f"审计日志完整 / audit log intact: {self.events} 条事件 / events; "
                f"链头 / head: seq {self.head_seq} hash {self.head_hash}")


class ChainCheck:
    """Walks events in seq order and names the first broken link. No I/O: :func:`verify` feeds it."""

    def __init__(self, expect: tuple[int, str] | None = None) -> None:
        self.next_seq = 1
        self.prev_hash = GENESIS_HASH
        self.count = 0
        self.expect = expect
        self.broken_seq: int | None = None
        self.problem = ""

    def _fail(self, seq: int, problem: str) -> bool:
        self.broken_seq, self.problem = seq, problem
        return False

    def add(self, row: dict[str, Any]) -> bool:
        """Check one event; False (and ``problem`` set) at the first broken link."""
        seq, action = row["seq"], row["action"]
        if seq > self.next_seq:
            missing = _span(self.next_seq, seq - 1)
            return self._fail(self.next_seq, (
                f"缺少第 {missing} 条事件（已被删除）/ {_events(self.next_seq, seq - 1, 'is', 'are')} missing "
                f"(deleted): the events jump from seq {self.next_seq - 1} to seq {seq}"))
        if seq < self.next_seq:
            return self._fail(seq, f"第 {seq} 条事件的序号无效 / event seq {seq} is out of order: "
                                   f"expected seq {self.next_seq}")
        if row["prev_hash"] != self.prev_hash:
            if seq == 1:
                zh = "不是链的开头：prev_hash 不是 64 个 0"
                en = "does not start the chain: its prev_hash is not 64 zeros"
            else:
                zh = f"接不上第 {seq - 1} 条：prev_hash 不是第 {seq - 1} 条的哈希"
                en = f"does not link to seq {seq - 1}: its prev_hash is not seq {seq - 1}'s hash"
            return self._fail(seq, (
                f"第 {seq} 条事件（{action}）{zh}，事件被调换、替换或插入 / event seq {seq} ({action}) "
                f"{en} — events were reordered, replaced or inserted"))
        for name in JSON_FIELDS:
            text = row[name]
            if text is not None and not _is_stored_json(text):
                return self._fail(seq, (
                    f"第 {seq} 条事件（{action}）被改动：{name} 不是审计日志写入的 JSON / event seq "
                    f"{seq} ({action}) was edited: its {name} is not the JSON the audit log wrote"))
        digest = event_hash(prev_hash=row["prev_hash"], seq=seq, at=row["at"], actor=row["actor"],
                            action=action, entity=row["entity"], before=row["before"],
                            after=row["after"])
        if digest != row["hash"]:
            return self._fail(seq, (
                f"第 {seq} 条事件（{action}）被改动：内容与哈希不符 / event seq {seq} ({action}) was "
                "edited: its contents do not match its hash"))
        if self.expect and self.expect[0] == seq and self.expect[1] != row["hash"]:
            return self._fail(seq, (
                f"第 {seq} 条事件的哈希与先前导出的不同：链被重写 / event seq {seq} has a different hash "
                "from the one exported earlier: the chain was rewritten"))
        self.prev_hash = row["hash"]
        self.next_seq += 1
        self.count += 1
        return True

    def finish(self, head: dict[str, Any] | None) -> bool:
        """Compare the head with the last event; False (and ``problem`` set) if they disagree."""
        last = self.next_seq - 1
        if head is None and last == 0:
            head = {"seq": 0, "hash": GENESIS_HASH}  # empty, head never written (e.g. after TRUNCATE)
        if head is None:
            return self._fail(last, (
                f"审计日志的链头记录缺失 / the head row of the audit log is missing; it should say "
                f"seq {last}"))
        if head["seq"] > last:
            gone = _span(last + 1, head["seq"])
            return self._fail(last + 1, (
                f"链头记录到第 {head['seq']} 条，但最后一条事件是第 {last} 条：第 {gone} 条被删除（或链头被"
                f"改动）/ the head says seq {head['seq']} but the last event is seq {last}: "
                f"{_events(last + 1, head['seq'], 'was', 'were')} deleted (or the head was edited)"))
        if head["seq"] < last:
            return self._fail(head["seq"] + 1, (
                f"链头只记录到第 {head['seq']} 条，但事件一直到第 {last} 条：链头被改动，或有事件未经审计日志"
                f"写入 / the head says seq {head['seq']} but events go on to seq {last}: the head was "
                "edited, or events were written around the audit log"))
        if head["hash"] != self.prev_hash:
            return self._fail(last, (
                f"链头的哈希与第 {last} 条事件不符：链头被改动 / the head's hash does not match event "
                f"seq {last}: the head was edited"))
        if self.expect and self.expect[0] == 0 and self.expect[1] != GENESIS_HASH:
            return self._fail(0, "seq 0 的哈希只能是 64 个 0 / seq 0 can only have the hash of 64 zeros")
        if self.expect and self.expect[0] > last:
            return self._fail(self.expect[0], (
                f"先前导出的第 {self.expect[0]} 条事件已不存在：事件被删除 / event seq {self.expect[0]}, "
                f"exported earlier, no longer exists (the log ends at seq {last}): events were deleted"))
        return True


def _span(first: int, last: int) -> str:
    return f"{first}" if first == last else f"{first}–{last}"


def _events(first: int, last: int, one: str, many: str) -> str:
    """English with the verb in number: "event seq 3 is" / "events seq 3–5 are"."""
    return f"event seq {first} {one}" if first == last else f"events seq {first}–{last} {many}"


def _is_stored_json(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and canonical_json(value) == text


async def verify(expect: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the whole log in seq order and report the first broken link, or the counts.

    :param expect: ``(seq, hash)`` of an event exported earlier (e.g. a head printed by ``yishi
        audit verify``); a chain rewritten consistently since then no longer contains it.

    Reads one snapshot (``REPEATABLE READ`` on PostgreSQL, one read transaction on SQLite), so
    events committed meanwhile do not look like tampering.
    """
    engine = AuditEvent._meta.db
    outermost = not engine.transaction_exists()
    check = ChainCheck(expect)
    async with engine.transaction():
        if outermost and engine.engine_type != "sqlite":
            await AuditEvent.raw("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        head = await AuditHead.select(AuditHead.seq, AuditHead.hash).where(
            AuditHead.id == HEAD_ID).first()
        after: int | None = None
        intact = True
        while intact:
            query = AuditEvent.select(
                AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.action,
                AuditEvent.entity, AuditEvent.before, AuditEvent.after, AuditEvent.prev_hash,
                AuditEvent.hash,
            ).order_by(AuditEvent.seq).limit(VERIFY_BATCH)
            if after is not None:
                query = query.where(AuditEvent.seq > after)
            rows = await query
            if not rows:
                break
            intact = all(check.add(row) for row in rows)
            after = rows[-1]["seq"]
        if intact:
            intact = check.finish(head)
    if head is None and intact:
        head = {"seq": 0, "hash": GENESIS_HASH}  # empty, head never written: the genesis state
    return VerifyResult(ok=intact, events=check.count, head_seq=head["seq"] if head else None,
                        head_hash=head["hash"] if head else None, broken_seq=check.broken_seq,
                        problem=check.problem)
