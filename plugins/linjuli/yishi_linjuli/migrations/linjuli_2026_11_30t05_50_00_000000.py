"""Copy the plugin's former tables into core's record engine, and leave them as they were.

Until now the checks (linjuli_safety_check), their follow-ups (linjuli_check_fix) and the points ledger
(linjuli_points_entry) had tables of their own; core's record engine keeps them now, as the record
kinds linjuli_anquan, linjuli_zhenggai and linjuli_jifen (records/*.toml). Every row is copied, with
its dates, its one-time key, its follow-up's topic and the ledger's sequence and balances unchanged,
so nobody's points and no open hazard are lost. The old tables are not dropped: nothing reads or
writes them any more, and they stay as the deployment's copy of what was migrated.
"""

import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Date, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

ID = "2026-11-30T05:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "copy checks, follow-ups and points into core's record engine (old tables kept, unused)"

KINDS = {"landlord": "房东", "tenant": "租户"}


class OldCheck(Table, tablename="linjuli_safety_check"):
    council = Integer()
    building = Varchar()
    checked_on = Date()
    data = Text()
    actor = Varchar()
    nonce = Varchar(null=True, default=None)
    created_at = Timestamptz()


class OldFix(Table, tablename="linjuli_check_fix"):
    safety_check = Integer()
    council = Integer()
    item = Varchar()
    label = Varchar()
    problem = Text()
    state = Varchar()
    fixed_on = Date(null=True, default=None)
    fixed_note = Text()
    fixed_by = Varchar()
    topic = Integer(null=True, default=None)


class OldPoints(Table, tablename="linjuli_points_entry"):
    council = Integer()
    person = Integer()
    seq = Integer()
    points = Integer()
    balance = Integer()
    reason = Varchar()
    happened_on = Date()
    actor = Varchar()
    nonce = Varchar(null=True, default=None)
    created_at = Timestamptz()


class Roster(Table, tablename="yishi_roster_entry"):
    name = Varchar()
    building = Varchar()
    room = Varchar()
    kind = Varchar()


class NewRecord(Table, tablename="yishi_record"):
    council = Integer()
    kind = Varchar()
    state = Varchar()
    title = Varchar()
    form_id = Varchar()
    form_version = Integer()
    data = Text()
    steps = Text()
    revision = Integer()
    nonce = Varchar(null=True, default=None)
    created_by = Varchar()
    created_at = Timestamptz()
    updated_by = Varchar()
    updated_at = Timestamptz()
    day = Date(null=True, default=None)
    parent = Integer(null=True, default=None)
    topic = Integer(null=True, default=None)


class NewEvent(Table, tablename="yishi_record_event"):
    record = Integer()
    at = Timestamptz()
    actor = Varchar()
    action = Varchar()
    source = Varchar()
    target = Varchar()
    revision = Integer()
    note = Text()


class NewLine(Table, tablename="yishi_record_ledger"):
    record = Integer()
    kind = Varchar()
    council = Integer()
    person = Integer()
    seq = Integer()
    amount = Integer()
    balance = Integer()
    day = Date(null=True, default=None)


def _dump(values: dict) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True)


async def _record(at, actor: str, **columns) -> int:
    row = NewRecord(revision=1, created_by=actor, updated_by=columns.pop("updated_by", actor), created_at=at,
                    updated_at=at, steps=columns.pop("steps", "{}"), **columns)
    record_id = (await NewRecord.insert(row).returning(NewRecord.id))[0]["id"]
    await NewEvent.insert(NewEvent(record=record_id, at=at, actor=actor, action="create", source="",
                                   target=columns["state"], revision=1, note="迁移自 linjuli 插件的原数据表"))
    return record_id


async def copy_rows() -> None:
    from piccolo.engine import engine_finder

    for table in (OldCheck, OldFix, OldPoints, Roster, NewRecord, NewEvent, NewLine):
        table._meta.db = engine_finder()  # the engine being migrated, not the one of import time
    checks: dict[int, tuple[int, str, object]] = {}
    for c in await OldCheck.select().order_by(OldCheck.id):
        values = json.loads(c["data"]).get("values", {})
        values["building"] = {"id": c["building"], "label": c["building"]}
        checks[c["id"]] = (await _record(
            c["created_at"], c["actor"], council=c["council"], kind="linjuli_anquan", state="recorded",
            title=c["building"], form_id="linjuli_anquan", form_version=2, data=_dump(values), nonce=c["nonce"],
            day=c["checked_on"]), c["building"], c["created_at"])
    for f in await OldFix.select().order_by(OldFix.id):
        parent, _building, at = checks[f["safety_check"]]
        steps = {"linjuli_zhenggai_done": {"fixed_on": f["fixed_on"].isoformat(), "fixed_note": f["fixed_note"]}} \
            if f["state"] == "fixed" and f["fixed_on"] else {}
        await _record(at, "system", council=f["council"], kind="linjuli_zhenggai",
                      state="fixed" if f["state"] == "fixed" else "open", title=f["label"], form_id="linjuli_zhenggai",
                      form_version=1, data=_dump({"title": f["label"], "item": f["item"], "problem": f["problem"]}),
                      steps=_dump(steps), parent=parent, topic=f["topic"], updated_by=f["fixed_by"] or "system")
    people = {r["id"]: r for r in await Roster.select()}
    for p in await OldPoints.select().order_by(OldPoints.id):
        who = people.get(p["person"], {"name": "", "building": "", "room": "", "kind": ""})
        label = f"{KINDS.get(who['kind'], '')} {who['name']}（{who['building']} {who['room']}）".strip()
        values = {"person": {"id": str(p["person"]), "label": label},
                  "direction": "earn" if p["points"] > 0 else "redeem",
                  "points": abs(p["points"]), "reason": p["reason"], "happened_on": p["happened_on"].isoformat()}
        record_id = await _record(p["created_at"], p["actor"], council=p["council"], kind="linjuli_jifen",
                                  state="recorded", title=p["reason"][:200], form_id="linjuli_jifen", form_version=1,
                                  data=_dump(values), nonce=p["nonce"], day=p["happened_on"])
        await NewLine.insert(NewLine(record=record_id, kind="linjuli_jifen", council=p["council"], person=p["person"],
                                     seq=p["seq"], amount=p["points"], balance=p["balance"], day=p["happened_on"]))


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="linjuli", description=DESCRIPTION)
    manager.add_raw(copy_rows)
    return manager
