"""A council's own voting settings: "non-voters count with the majority" (未参与表决者计入多数意见).

住建部《业主大会和业主委员会指导规则》第二十六条 lets an estate's own rules (业主大会议事规则) say that
owners who did not vote are counted with the majority of those who did. It is the council's choice,
off by default, and it is lawful only where that article reaches — owners' joint decisions under
民法典 第二百七十八条. Elsewhere the law asks for what people actually did:

- 民法典 第二百七十九条 needs the consent of every affected owner: silence is not consent;
- 村民委员会组织法 第二十二、二十六、二十八条 and 城市居民委员会组织法 第九条 decide by a majority of
  those present: nobody is deemed to have voted;
- the generic profiles (简单多数, 三分之二 …) are a meeting's own votes, not an owners' assembly.

So the setting is stored per council (table ``yishi_voting_council``, the voting app) and applied by
:func:`applied_rule` to the rules it may touch; the settings page says which rules those are and why
the others are left alone. Participation is always judged on what really happened (core.voting.tally).
"""

from __future__ import annotations

from datetime import UTC, datetime

from core import audit, db
from core.i18n import _
from core.voting.rules import Rule
from core.voting.tables import CouncilVoting

#: The built-in profiles the setting may apply to: owners' joint decisions, 民法典 第278条.
ALLOWED_RULES = frozenset({"civil_code_278", "civil_code_278_major"})
OWNERS_ARTICLE = "第二百七十八条"


def silent_allowed(rule: Rule) -> bool:
    """Whether the council's setting may apply to ``rule``: a 第278条 profile, or a plugin's rule that
    cites 民法典 第二百七十八条 (an owners' decision of a smaller scope, such as a 单元's lift)."""
    return rule.id in ALLOWED_RULES or (OWNERS_ARTICLE in (rule.citation or "") and "第二百七十九条" not in
                                        (rule.citation or ""))


def not_allowed_reason(rule: Rule) -> str:
    """Why the setting does not apply to ``rule`` ("" when it does): shown beside the rule."""
    if silent_allowed(rule):
        return ""
    citation = rule.citation or ""
    if rule.id == "civil_code_279" or "第二百七十九条" in citation:
        return _("须经全体受影响业主同意，未表决不能视为同意。")
    if rule.id.startswith("villagers_") or "村民委员会组织法" in citation:
        return _("村民会议、村民代表会议和村民小组会议以到会人员的实际表决为准，不能推定未表决者的意见。")
    if rule.id.startswith("residents_") or "居民委员会组织法" in citation:
        return _("居民会议以到会人员的实际表决为准，不能推定未表决者的意见。")
    return _("这一设置只适用于业主共同决定事项（民法典第二百七十八条），不适用于会议的一般表决。")


async def silent_follow_majority(council_id: int) -> bool:
    """The council's setting (False when it never set one)."""
    row = await CouncilVoting.select(CouncilVoting.silent_follow_majority).where(
        CouncilVoting.council == council_id).first()
    return bool(row and row["silent_follow_majority"])


async def set_silent_follow_majority(council_id: int, value: bool, *, actor: str) -> bool:
    """Turn the setting on or off; whether it changed. Audited with what it was before."""
    async with db.atomic():
        row = await CouncilVoting.select(CouncilVoting.id, CouncilVoting.silent_follow_majority).where(
            CouncilVoting.council == council_id).first()
        before = bool(row and row["silent_follow_majority"])
        if row is not None and before == value:
            return False
        if row is None and not value:
            return False  # the default already
        now = datetime.now(UTC)
        if row is None:
            await CouncilVoting.insert(CouncilVoting(council=council_id, silent_follow_majority=value,
                                                     updated_at=now, updated_by=actor))
        else:
            await CouncilVoting.update({CouncilVoting.silent_follow_majority: value, CouncilVoting.updated_at: now,
                                        CouncilVoting.updated_by: actor}).where(CouncilVoting.id == row["id"])
        await audit.record(actor=actor, action="council.voting_settings", entity=f"council:{council_id}",
                           before={"silent_follow_majority": before}, after={"silent_follow_majority": value})
    return True


async def applied_rule(council_id: int, rule: Rule) -> Rule:
    """``rule`` as the council applies it: its setting where the law allows it (a rule file that sets
    ``silent_follow_majority = true`` itself keeps it)."""
    if rule.silent_follow_majority or not silent_allowed(rule):
        return rule
    return rule.for_council(silent_follow_majority=await silent_follow_majority(council_id))


__all__ = ["ALLOWED_RULES", "applied_rule", "not_allowed_reason", "set_silent_follow_majority", "silent_allowed",
           "silent_follow_majority"]
