"""Pages of the voting engine (表决): the resident's vote from the phone and the chair's poll page.

- ``/r/<token>/polls/<id>`` — a resident opens a poll from their personal link (behind the practice's
  identity check, core.residents.controllers.resident_gate), chooses, and votes: "您的投票已记录"
  with a receipt code; opening it again, or voting again, says "您已投票". Bad input is answered
  beside the options (422) and nothing is counted.
- ``/meetings/<id>/polls/new`` — the chair puts a poll on the current agenda item: title, method,
  options, the rule (with its citation), named or secret, the electorate.
- ``/polls/<id>`` — the chair's poll page: open it, watch "已投 N 票 / 应投 M" live (stream
  ``poll:<id>``), enter paper ballots, an analog count, a proxy; close it and see the result — both
  measures, each threshold, the rule and its article, the outcome. A secret poll never shows a
  running result; the page shows only what ``polls.poll_view`` gives, and that never has one.

The services are core.voting.polls; this module only reads forms, calls them and renders.
Without JavaScript every form posts and is answered with a 303 back to its page; with HTMX the
fragment is swapped in place (422 with the message beside the field when input is bad).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from core import live
from core.accounts.permissions import PUBLIC, council_roles, current_user
from core.i18n import _
from core.meetings import services as meeting_services
from core.residents.controllers import PRIVATE, resident_gate
from core.residents.identity import mask_name
from core.web import MAX_ID, is_htmx, parse_id, plugins_of, see_other

VOTE_PAGE = "voting/vote.html"
VOTE_FRAGMENT = "voting/_vote.html"
POLL_PAGE = "voting/poll.html"
POLL_FRAGMENT = "voting/_poll.html"
NEW_PAGE = "voting/new.html"
#: Roles that run a poll (open, enter ballots and counts, close); others see the page read-only.
RUNNING_ROLES = frozenset({"chair", "recorder"})
#: The live events that change what the chair's poll page shows (published by core.voting.polls).
LIVE_EVENTS = "cast state opened closed proxy hands paper"
#: A receipt code as core.voting.polls issues it; anything else in the address is ignored.
RECEIPT = re.compile(r"[A-Za-z0-9-]{4,32}")
MAX_TITLE = 200
MAX_OPTION = 100
MAX_OPTIONS = 30
MAX_NAME = 100
#: polls.PollError's field → the new-poll form's field the message is shown beside.
FORM_FIELDS = {"item_id": "item", "title": "title", "method": "method", "options": "options",
               "max_choices": "max_choices", "rule_id": "rule", "visibility": "visibility", "electorate": "electorate",
               "unit_id": "electorate", "per": "electorate", "weight": "electorate", "closes_at": "days"}


def method_labels() -> dict[str, str]:
    return {"yesno": _("赞成 / 反对 / 弃权"), "single": _("单选"), "multi": _("多选（限定项数）"),
            "approval": _("认可投票（可选多项）")}


def visibility_labels() -> dict[str, str]:
    return {"named": _("记名投票"), "secret": _("无记名投票")}


def electorate_choices() -> dict[str, str]:
    """The electorates the chair can pick on the new-poll form, each as a polls.create_poll dict."""
    return {"members_present": _("到会的议事会成员"),
            "roster_person": _("本小区名册中的全体居民（每人一票）"),
            "roster_household": _("本小区名册中的住户（每户一票）"),
            "roster_area": _("本小区业主（按专有部分面积计）")}


def state_labels() -> dict[str, str]:
    return {"draft": _("未开始"), "open": _("投票中"), "closed": _("已结束")}


def channel_labels() -> dict[str, str]:
    return {"phone": _("手机"), "paper": _("纸质票"), "proxy": _("委托"), "hands": _("举手")}


def _electorate(choice: str, unit_id: int) -> dict[str, Any] | None:
    if choice == "members_present":
        return {"kind": "members_present"}
    per, weight = {"roster_person": ("person", "none"), "roster_household": ("household", "none"),
                   "roster_area": ("person", "area")}.get(choice, ("", ""))
    return {"kind": "roster", "unit_id": unit_id, "per": per, "weight": weight} if per else None


def _real(value: int) -> bool:
    return 0 < value <= MAX_ID


# -------------------------------------------------------------------------------------------------
# Reading polls (the services own every change; these are the lookups the pages need)
# -------------------------------------------------------------------------------------------------


async def poll_council(poll_id: Any) -> int | None:
    """The council a poll belongs to — the permission guard's resolver for ``poll_id``."""
    from core.voting.tables import Poll

    row = await Poll.select(Poll.council).where(Poll.id == int(poll_id)).first()
    return row["council"] if row else None


async def _poll(poll_id: int) -> dict[str, Any]:
    from core.voting import polls

    view = await polls.poll_view(poll_id) if _real(poll_id) else None
    if not view:
        raise NotFoundException(_("没有找到这次表决。"))
    return view


async def open_polls_for(entry_id: int, council_ids: list[int]) -> list[dict[str, Any]]:
    """For the resident's own page: the open polls of their councils they may vote in, and whether they have."""
    from core.voting import polls

    key = f"entry:{entry_id}"
    found = []
    for council_id in council_ids:
        for row in await polls.polls_of_council(council_id):
            if row["state"] == "open" and await polls.in_electorate(row["id"], key):
                found.append({**row, "voted": await polls.has_voted(row["id"], key)})
    return sorted(found, key=lambda r: r["id"])


def _options(view: dict[str, Any], *, abstain: bool = False) -> list[dict[str, str]]:
    """The poll's options as ``{"id", "label"}`` (the id is what the form posts: the option's name),
    with 弃权 last when ``abstain`` and one choice is asked for (a 多选 ballot abstains by choosing less)."""
    out = [{"id": str(o), "label": str(o)} for o in view.get("options") or []]
    if abstain and view.get("method") in ("yesno", "single"):
        from core.voting.polls import ABSTAIN

        out.append({"id": ABSTAIN, "label": ABSTAIN})
    return out


# -------------------------------------------------------------------------------------------------
# The resident votes
# -------------------------------------------------------------------------------------------------


def _not_found() -> Template:
    return Template("residents/invalid.html", status_code=404, headers=PRIVATE, context={
        "title": _("没有找到这次表决"), "detail": _("这次表决不存在，或不在您所在小区的议事范围内。")})


async def _resident_poll(poll_id: int, councils: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The poll if it belongs to one of the resident's councils (else the resident may not see it)."""
    from core.voting import polls

    view = await polls.poll_view(poll_id) if _real(poll_id) else None
    if not view or view.get("council_id") not in {c["id"] for c in councils} or view.get("state") == "draft":
        return None
    return view


async def _vote_context(token: str, entry: dict[str, Any], view: dict[str, Any], *, receipt: str = "",
                        errors: dict[str, str] | None = None, chosen: list[str] | None = None,
                        refused: str = "") -> dict[str, Any]:
    from core.voting import polls

    key = f"entry:{entry['id']}"
    if await polls.has_voted(view["id"], key):
        status = "done" if receipt else "already"
    elif not view["accepting"]:
        status = "closed"
    elif not await polls.in_electorate(view["id"], key):
        status = "outside"
    else:
        status = "vote"
    return {"token": token, "poll": view, "options": _options(view, abstain=True), "status": status, "receipt": receipt,
            "errors": errors or {}, "chosen": chosen or [], "refused": refused,
            "masked_name": mask_name(entry["name"]), "methods": method_labels(),
            "visibility": visibility_labels()}


async def _vote_answer(request: Request, token: str, entry: dict[str, Any], view: dict[str, Any],
                       status_code: int = 200, **extra: Any) -> Template:
    context = await _vote_context(token, entry, view, **extra)
    template = VOTE_FRAGMENT if is_htmx(request) else VOTE_PAGE
    return Template(template, context=context, status_code=status_code, headers=PRIVATE)


class ResidentPollController(Controller):
    path = "/r/{token:str}/polls"
    opt = {"permission": PUBLIC}  # noqa: RUF012 — the token is the credential

    @get("/{poll_id:int}", name="resident_poll")
    async def page(self, request: Request, token: FromPath[str], poll_id: FromPath[int]) -> Template:
        gate = await resident_gate(request, token)
        if isinstance(gate, Template):
            return gate
        entry, councils = gate
        view = await _resident_poll(poll_id, councils)
        if view is None:
            return _not_found()
        raw = request.query_params.get("receipt", "")
        receipt = raw if RECEIPT.fullmatch(raw) else ""
        return await _vote_answer(request, token, entry, view, receipt=receipt)

    @post("/{poll_id:int}", name="resident_poll_cast")
    async def cast(self, request: Request, token: FromPath[str], poll_id: FromPath[int]) -> Template | Redirect:
        """The vote. The hot path is the link check (core.voting.gate: two statements) and
        :func:`polls.cast` — one query for the poll and the voter's snapshot entry, two inserts, one
        commit; the page is read again only to answer HTMX, or to show why a ballot was refused."""
        from core.voting import polls
        from core.voting.gate import vote_gate

        gate = await vote_gate(request, token, f"/r/{token}/polls/{poll_id}")  # resident_gate's answer, faster
        if isinstance(gate, Template):
            return gate
        entry, councils = gate
        if not _real(poll_id):
            return _not_found()
        form = await request.form()
        chosen = [v[:MAX_OPTION] for v in form.getall("choice", []) if isinstance(v, str)][:MAX_OPTIONS + 1]
        key = f"entry:{entry['id']}"
        try:
            if not chosen:
                raise polls.VoteRefused(_("请选择后再提交"), "empty")
            receipt = await polls.cast(poll_id, key, chosen, channel="phone", actor=f"resident:{entry['id']}",
                                       councils=[c["id"] for c in councils])
        except polls.VoteRefused as refused:
            view = await _resident_poll(poll_id, councils)  # read after the refusal: it may have closed meanwhile
            if view is None or refused.code in ("no_poll", "not_open"):
                return _not_found()
            # A retry, or a second try: nothing more was counted, and the page says 您已投票.
            if refused.code == "already_voted" or await polls.has_voted(poll_id, key):
                if not is_htmx(request):
                    return see_other(f"/r/{token}/polls/{poll_id}")
                return await _vote_answer(request, token, entry, view)
            return await _vote_answer(request, token, entry, view, status_code=422,
                                      errors={"choice": refused.message}, chosen=chosen)
        if not is_htmx(request):
            return see_other(f"/r/{token}/polls/{poll_id}?receipt={receipt}")
        view = await _resident_poll(poll_id, councils)
        if view is None:
            return _not_found()
        return await _vote_answer(request, token, entry, view, receipt=receipt)


# -------------------------------------------------------------------------------------------------
# The chair: a new poll on the current agenda item
# -------------------------------------------------------------------------------------------------


def rule_choices(request: Request) -> list[dict[str, str]]:
    """Every rule the deployment knows, for the select: id, name, citation."""
    rules = plugins_of(request).specs.rules
    return [{"id": r.id, "name": r.name, "citation": r.citation} for r in rules.values()]


async def _meeting(meeting_id: int) -> meeting_services.MeetingView:
    view = await meeting_services.load_meeting(meeting_id)
    if view is None:
        raise NotFoundException(_("会议 {id} 不存在").format(id=meeting_id))
    return view


def _new_context(request: Request, meeting: meeting_services.MeetingView, **extra: Any) -> dict[str, Any]:
    current = meeting.current
    values = {"item": str(current.id) if current else "", "title": current.title if current else "",
              "method": "yesno", "options": "", "min_choices": "1", "max_choices": "1",
              "rule": "simple_majority", "visibility": "named", "electorate": "members_present", "days": ""}
    return {"meeting": meeting, "rules": rule_choices(request), "methods": method_labels(),
            "visibilities": visibility_labels(), "electorates": electorate_choices(), "errors": {},
            "values": values, **extra}


def parse_new_poll(form: dict[str, str], item_ids: set[int],
                   rule_ids: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The new-poll form → (create_poll's keyword arguments but council and actor, errors by field)."""
    errors: dict[str, str] = {}
    item = parse_id(form.get("item"))
    if form.get("item") and item not in item_ids:
        errors["item"] = _("请选择本次会议的议题。")
    title = " ".join((form.get("title") or "").split())
    if not title:
        errors["title"] = _("请填写表决事项。")
    elif len(title) > MAX_TITLE:
        errors["title"] = _("表决事项最多 {n} 个字。").format(n=MAX_TITLE)
    method = form.get("method") or ""
    if method not in method_labels():
        errors["method"] = _("请选择表决方式。")
    options: list[str] = []
    if method and method != "yesno":
        options = [" ".join(line.split()) for line in (form.get("options") or "").splitlines()]
        options = [o for o in options if o]
        if len(options) < 2:
            errors["options"] = _("请至少填写两个选项，每行一个。")
        elif len(options) > MAX_OPTIONS:
            errors["options"] = _("选项最多 {n} 个。").format(n=MAX_OPTIONS)
        elif any(len(o) > MAX_OPTION for o in options):
            errors["options"] = _("每个选项最多 {n} 个字。").format(n=MAX_OPTION)
        elif len(set(options)) != len(options):
            errors["options"] = _("选项不能重复。")
    low, high = parse_id(form.get("min_choices") or "1"), parse_id(form.get("max_choices") or "1")
    if method == "single" or method == "yesno":
        low, high = 1, 1
    elif method == "approval":
        low, high = 1, max(len(options), 1)
    elif low is None or high is None or low > high or (options and high > len(options)):
        errors["max_choices"] = _("至少、至多选几项：请填写 1 到选项数之间的整数，至少不能大于至多。")
    rule = form.get("rule") or ""
    if rule not in rule_ids:
        errors["rule"] = _("请选择表决规则。")
    visibility = form.get("visibility") or ""
    if visibility not in visibility_labels():
        errors["visibility"] = _("请选择记名或无记名。")
    if (form.get("electorate") or "") not in electorate_choices():
        errors["electorate"] = _("请选择投票范围。")
    closes_at = None
    days = (form.get("days") or "").strip()
    if days:
        n = parse_id(days)
        if n is None or n > 60:
            errors["days"] = _("请填写 1 到 60 之间的天数，或留空（由主持人结束投票）。")
        else:
            closes_at = datetime.now().astimezone() + timedelta(days=n)
    return {"item_id": item, "title": title, "method": method, "options": options, "rule_id": rule,
            "visibility": visibility, "min_choices": low or 1, "max_choices": high or 1,
            "closes_at": closes_at}, errors


class NewPollController(Controller):
    path = "/meetings/{meeting_id:int}/polls"
    opt = {"permission": "meeting.run"}  # noqa: RUF012 — Litestar reads it as a class attribute

    @get("/new", name="poll_new")
    async def form(self, request: Request, meeting_id: FromPath[int]) -> Template:
        meeting = await _meeting(meeting_id)
        return Template(NEW_PAGE, context=_new_context(request, meeting))

    @post("/new", name="poll_create")
    async def create(self, request: Request, meeting_id: FromPath[int]) -> Template | Redirect:
        from core.voting import polls

        meeting = await _meeting(meeting_id)
        form = {k: v if isinstance(v, str) else "" for k, v in (await request.form()).items()}
        rules = rule_choices(request)
        parsed, errors = parse_new_poll(form, {i.id for i in meeting.items}, {r["id"] for r in rules})
        if not errors:
            user = await current_user(request)
            try:
                electorate = _electorate(form["electorate"], meeting.council["unit"]) or {}
                poll_id = await polls.create_poll(council_id=meeting.council["id"], electorate=electorate,
                                                  actor=user.actor if user else "anonymous", **parsed)
            except polls.PollError as refused:
                errors = {FORM_FIELDS.get(refused.field, "title"): refused.message}
            else:
                return see_other(f"/polls/{poll_id}")
        values = {k: (form.get(k) or "")[:2000] for k in _new_context(request, meeting)["values"]}
        return Template(NEW_PAGE, status_code=422, context=_new_context(request, meeting, errors=errors,
                                                                         values=values))


# -------------------------------------------------------------------------------------------------
# The chair: the poll's page
# -------------------------------------------------------------------------------------------------


async def poll_context(request: Request, poll_id: int, **extra: Any) -> dict[str, Any]:
    """The chair's page: the poll as polls.poll_view gives it, the rule, what this user may do."""
    since = await live.version(request, f"poll:{poll_id}")  # before reading, so no change is missed
    view = await _poll(poll_id)
    roles = council_roles(await current_user(request), view["council_id"])
    specs = plugins_of(request).specs
    rule = specs.rules.get(view.get("rule_id", ""))
    from core.voting import polls

    result = view.get("result")
    if result:
        for name in ("participation", "approval"):
            if result.get(name):
                result[name]["checks"] = [{"text": line, "met": _("未达到") not in line}
                                          for line in result[name]["lines"]]
    return {"poll": view, "options": _options(view), "ballot_options": _options(view, abstain=True), "rule": rule,
            "can_run": bool(roles & RUNNING_ROLES), "meeting_id": view.get("meeting_id"),
            "proxies": await polls.proxies(poll_id), "live_version": since, "live_events": LIVE_EVENTS,
            "states": state_labels(), "methods": method_labels(), "visibility": visibility_labels(),
            "channels": channel_labels(), "errors": {}, "values": {}, "message": "", **extra}


async def _poll_answer(request: Request, poll_id: int, *, errors: dict[str, str] | None = None,
                       values: dict[str, str] | None = None, message: str = "") -> Template | Redirect:
    if not errors and not is_htmx(request):
        return see_other(f"/polls/{poll_id}")
    context = await poll_context(request, poll_id, errors=errors or {}, values=values or {}, message=message)
    template = POLL_FRAGMENT if is_htmx(request) else POLL_PAGE
    return Template(template, context=context, status_code=422 if errors else 200)


def _counts(form: Any, options: list[dict[str, str]]) -> tuple[dict[str, int], str]:
    """An analog count per option (and 弃权/废票) from the form: whole numbers ≥ 0, or the error."""
    counts: dict[str, int] = {}
    for name in [o["id"] for o in options] + ["abstain", "invalid"]:
        raw = (form.get(f"count.{name}") or "").strip()
        if not raw:
            counts[name] = 0
            continue
        if not raw.isascii() or not raw.isdigit() or len(raw) > 7:
            return {}, _("请填写 0 或正整数。")
        counts[name] = int(raw)
    if not any(counts.values()):
        return {}, _("请至少填写一项票数。")
    return counts, ""


class PollController(Controller):
    path = "/polls/{poll_id:int}"

    @get("", name="poll", opt={"permission": "meeting.view"})
    async def page(self, request: Request, poll_id: FromPath[int]) -> Template:
        return Template(POLL_PAGE, context=await poll_context(request, poll_id))

    async def _act(self, request: Request, poll_id: int, field: str, call: Any) -> Template | Redirect:
        from core.voting import polls

        user = await current_user(request)
        try:
            message = await call(user.actor if user else "anonymous")
        except polls.VoteRefused as refused:
            return await _poll_answer(request, poll_id, errors={field: refused.message},
                                      values=await _form(request))
        return await _poll_answer(request, poll_id, message=message or "")

    @post("/open", name="poll_open", opt={"permission": "meeting.run"})
    async def open(self, request: Request, poll_id: FromPath[int]) -> Template | Redirect:
        from core.voting import polls

        await _poll(poll_id)

        async def call(actor: str) -> str:
            await polls.open_poll(poll_id, actor=actor)
            return _("投票已开始。")

        return await self._act(request, poll_id, "state", call)

    @post("/close", name="poll_close", opt={"permission": "meeting.run"})
    async def close(self, request: Request, poll_id: FromPath[int]) -> Template | Redirect:
        from core.voting import polls

        view = await _poll(poll_id)
        rule = plugins_of(request).specs.rules.get(view.get("rule_id", ""))
        if rule is None:
            return await _poll_answer(request, poll_id, errors={"state": _(
                "找不到这次表决的规则（{rule}），无法计票。请联系管理员。").format(rule=view.get("rule_id", ""))})

        async def call(actor: str) -> str:
            await polls.close_poll(poll_id, actor=actor, rule=rule)
            return _("投票已结束，结果如下。")

        return await self._act(request, poll_id, "state", call)

    @post("/paper", name="poll_paper", opt={"permission": "meeting.run"})
    async def paper(self, request: Request, poll_id: FromPath[int]) -> Template | Redirect:
        from core.voting import polls

        await _poll(poll_id)
        form = await request.form()
        voter = (form.get("voter") or "").strip()[:MAX_NAME]
        choices = [v[:MAX_OPTION] for v in form.getall("choice", []) if isinstance(v, str)][:MAX_OPTIONS + 1]
        if not voter:
            return await _poll_answer(request, poll_id, errors={"paper": _("请填写投票人。")})

        async def call(actor: str) -> str:
            await polls.record_paper_ballot(poll_id, voter, choices, actor=actor, invalid=bool(form.get("invalid")))
            return _("纸质票已录入。")

        return await self._act(request, poll_id, "paper", call)

    @post("/hands", name="poll_hands", opt={"permission": "meeting.run"})
    async def hands(self, request: Request, poll_id: FromPath[int]) -> Template | Redirect:
        from core.voting import polls

        view = await _poll(poll_id)
        counts, error = _counts(await request.form(), _options(view))
        if error:
            return await _poll_answer(request, poll_id, errors={"hands": error}, values=await _form(request))

        async def call(actor: str) -> str:
            await polls.record_hand_totals(poll_id, counts, actor=actor)
            return _("举手计数已录入。")

        return await self._act(request, poll_id, "hands", call)

    @post("/proxy", name="poll_proxy", opt={"permission": "meeting.run"})
    async def proxy(self, request: Request, poll_id: FromPath[int]) -> Template | Redirect:
        from core.voting import polls

        await _poll(poll_id)
        form = await _form(request)
        represented = form.get("represented", "").strip()[:MAX_NAME]
        holder = form.get("holder", "").strip()[:MAX_NAME]
        if not represented or not holder:
            return await _poll_answer(request, poll_id, errors={"proxy": _("请填写委托人和受托人。")}, values=form)

        async def call(actor: str) -> str:
            await polls.add_proxy(poll_id, represented, holder, actor=actor)
            return _("委托已登记。")

        return await self._act(request, poll_id, "proxy", call)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v[:2000] if isinstance(v, str) else "" for k, v in form.items()}


# -------------------------------------------------------------------------------------------------
# The projector's line and the resident's list
# -------------------------------------------------------------------------------------------------


async def projector_poll(meeting_id: int) -> dict[str, Any] | None:
    """For core/templates/voting/_projector_poll.html: the newest poll of the meeting's current item
    (its count while open; its outcome once closed), or None. Never a running result."""
    from core.meetings.tables import AgendaItem, Meeting
    from core.voting import polls

    meeting = await Meeting.select(Meeting.current_position).where(Meeting.id == meeting_id).first()
    if meeting is None or meeting["current_position"] is None:
        return None
    item = await AgendaItem.select(AgendaItem.id).where(
        (AgendaItem.meeting == meeting_id) & (AgendaItem.position == meeting["current_position"])).first()
    shown = [p for p in await polls.polls_of_item(item["id"]) if p["state"] != "draft"] if item else []
    return await polls.poll_view(shown[-1]["id"]) if shown else None


# -------------------------------------------------------------------------------------------------
# A council's voting settings
# -------------------------------------------------------------------------------------------------

SETTINGS_PAGE = "voting/settings.html"


async def _settings_context(request: Request, council_id: int, message: str = "") -> dict[str, Any]:
    from core.org.tables import Council
    from core.voting import council_settings

    council = await Council.select(Council.id, Council.name).where(Council.id == council_id).first()
    if council is None:
        raise NotFoundException(_("议事机构不存在。"))
    rules = [{"id": r.id, "name": r.name, "citation": r.citation, "allowed": council_settings.silent_allowed(r),
              "reason": council_settings.not_allowed_reason(r)} for r in plugins_of(request).specs.rules.values()]
    return {"council": council, "enabled": await council_settings.silent_follow_majority(council_id),
            "can_edit": "chair" in council_roles(await current_user(request), council_id), "rules": rules,
            "message": message}


class VotingSettingsController(Controller):
    """``/councils/<id>/voting``: whether non-voters count with the majority (see
    core.voting.council_settings) — every member may read it, the chair changes it."""

    path = "/councils/{council_id:int}/voting"

    @get("", name="voting_settings", opt={"permission": "meeting.view"})
    async def page(self, request: Request, council_id: FromPath[int]) -> Template:
        return Template(SETTINGS_PAGE, context=await _settings_context(request, council_id))

    @post("", name="voting_settings_save", opt={"permission": "meeting.override"})
    async def save(self, request: Request, council_id: FromPath[int]) -> Template | Redirect:
        from core.voting import council_settings

        await _settings_context(request, council_id)  # 404 for a council that does not exist
        raw = (await request.form()).get("silent_follow_majority")
        if raw not in ("0", "1"):
            return Template(SETTINGS_PAGE, status_code=422, context=await _settings_context(
                request, council_id, _("请选择采用或不采用。")))
        user = await current_user(request)
        await council_settings.set_silent_follow_majority(council_id, raw == "1",
                                                          actor=user.actor if user else "anonymous")
        return see_other(f"/councils/{council_id}/voting")


def routes() -> list[type[Controller]]:
    """Voting's routes, for core.builtin's yishi_routes."""
    return [ResidentPollController, NewPollController, PollController, VotingSettingsController]


__all__ = ["NewPollController", "PollController", "ResidentPollController", "VotingSettingsController",
           "open_polls_for", "poll_council", "projector_poll", "routes"]
