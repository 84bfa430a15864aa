"""The generic pages of every record kind: the council's list (filtered by state), the form to create
and edit, the detail page with the workflow's buttons and the parties' signing links, a party's own
signing page, and the kind's documents (HTML and PDF).

Routes are core's (at the root). Each page checks the kind's own permissions (``permissions.view`` /
``create`` / ``edit`` of its spec) against the council; the workflow's roles decide the buttons.
Bad input gets the form again with 422 and the messages beside the fields, and nothing is stored.
HTMX posts from the detail page get the re-rendered record (``_detail.html``); plain posts a 303.
Templates are looked up as ``records/<kind>/<page>.html`` first, so a plugin may override any page.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException, TooManyRequestsException
from litestar.params import FromPath
from litestar.response import File, Redirect, Response, Template

from core.accounts.permissions import AUTHENTICATED, PUBLIC, council_roles, current_user
from core.i18n import _
from core.lowcode.forms import KIND_MIME, Result, form_data, validate
from core.lowcode.workflow import TransitionRefused, available
from core.meetings.tables import Meeting
from core.org.tables import Council
from core.records import ledger, service
from core.records import links as linking
from core.records.kinds import TOPIC_ROLE
from core.records.spec import PARTIES_ROLE, RecordKind
from core.security import nonce_of
from core.topics.storage import upload_path, write_upload
from core.web import form_with_files, is_htmx, plugins_of, see_other, settings_of

NONCE_FIELD = "_nonce"
MAX_BODY = 60 * 1024 * 1024


def _first(data: dict[str, list[str]], name: str) -> str:
    return (data.get(name) or [""])[0]


def _number(raw: str) -> int:
    """A revision a form was shown with (-1 when it is not a small whole number)."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 9 else -1


def _kind(request: Request, kind_id: str) -> RecordKind:
    kind = plugins_of(request).specs.records.get(kind_id)
    if kind is None:
        raise NotFoundException(_("没有这类记录。"))
    return kind


def _template(request: Request, kind: RecordKind, page: str) -> str:
    """The kind's own template for ``page`` if a plugin ships one, else core's."""
    return request.app.state.jinja.select_template(kind.template_names(page)).name


async def _council(kind: RecordKind, council_id: int) -> dict[str, Any]:
    council = await Council.select().where(Council.id == council_id).first()
    if council is None or council["practice"] not in kind.practices:
        raise NotFoundException(_("这个议事机构没有这类记录。"))
    return council


async def _require(request: Request, permission: str, council_id: int) -> Any:
    user = await current_user(request)
    if user is None or not await request.app.state.access.allows(user, permission, council_id):
        raise PermissionDeniedException(_("您没有权限使用这个页面。"))
    return user


async def _may(request: Request, user: Any, permission: str, council_id: int) -> bool:
    return bool(permission) and await request.app.state.access.allows(user, permission, council_id)


def _states(request: Request, kind: RecordKind) -> dict[str, Any]:
    return dict(kind.workflow_of(plugins_of(request).specs).states)


def _specs(request: Request, kind: RecordKind) -> tuple[Any, Any]:
    specs = plugins_of(request).specs
    return specs.form(kind.form), kind.workflow_of(specs)


def _refused(request: Request, code: str) -> int:
    """409 when someone else changed the record first (a plain page), 422 otherwise — and always 422
    for htmx, which swaps only 422 of the error answers."""
    return 409 if code in ("state", "stale") and not is_htmx(request) else 422


def _store_files(request: Request, result: Result) -> None:
    """Uploaded files go to disk before the transaction (content-addressed; see core.topics.storage)."""
    for upload in result.files.values():
        write_upload(settings_of(request).data_dir, upload)


# -------------------------------------------------------------------------------------------------
# List and form
# -------------------------------------------------------------------------------------------------


@get("/councils/{council_id:int}/records/{kind_id:str}", name="records:list", opt={"permission": AUTHENTICATED})
async def record_list(request: Request, council_id: FromPath[int], kind_id: FromPath[str]) -> Template:
    kind = _kind(request, kind_id)
    council = await _council(kind, council_id)
    user = await _require(request, kind.view_permission, council_id)
    states = _states(request, kind)
    state = request.query_params.get("state") or ""
    if state not in states:
        state = ""
    form, _workflow = _specs(request, kind)
    records, filters = _filtered(request, kind, form, await service.listing(council_id, kind.id, state or None))
    for r in records:
        r["checklist"] = kind.checklist.tally(form, r["values"]) if kind.checklist else None
    return Template(_template(request, kind, "list"), context={
        "kind": kind, "council": council, "records": records, "states": states, "state": state,
        "fields": {f.name: f for f in form.fields}, "topics": await _topic_states(records), "filters": filters,
        "people": await ledger.people(kind.id, council_id) if kind.ledger else [],
        "may_create": not _is_follow_up(request, kind) and await _may(request, user, kind.create_permission,
                                                                       council_id)})


@get("/councils/{council_id:int}/records/{kind_id:str}/export/{fmt:str}", name="records:export",
     opt={"permission": AUTHENTICATED})
async def export_list(request: Request, council_id: FromPath[int], kind_id: FromPath[str],
                      fmt: FromPath[str]) -> Response:
    """The list (same ``?state=`` filter) as CSV or XLSX, for kinds that declare ``export``."""
    from core import spreadsheet
    from core.records.export import table
    from core.topics.services import topic_state_labels

    kind = _kind(request, kind_id)
    council = await _council(kind, council_id)
    await _require(request, kind.view_permission, council_id)
    if fmt not in kind.export:
        raise NotFoundException(_("这类记录不提供这种格式的下载。"))
    states = _states(request, kind)
    state = request.query_params.get("state") or ""
    records, _filters = _filtered(request, kind, _specs(request, kind)[0],
                                  await service.listing(council_id, kind.id, state if state in states else None,
                                                        limit=100000))
    labels = topic_state_labels()
    topics = {k: labels.get(v, v) for k, v in (await _topic_states(records)).items()}
    headers, rows = table(kind, _specs(request, kind)[0], states, records, topics)
    name = quote(f"{kind.title}-{council['name']}.{fmt}", safe="")
    body = spreadsheet.to_csv(headers, rows) if fmt == "csv" else spreadsheet.to_xlsx(kind.title, headers, rows)
    media = "text/csv; charset=utf-8" if fmt == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f"attachment; filename=\"{kind.id}-{council_id}.{fmt}\"; filename*=UTF-8''{name}"})


def _key(value: Any) -> str:
    return str(value.get("id", "")) if isinstance(value, dict) else "" if value is None else str(value)


def _filtered(request: Request, kind: RecordKind, form: Any, records: list[dict[str, Any]]) -> tuple[list, list]:
    """The records narrowed by the kind's ``filters`` named in the query string (``?person=12``), and
    each filter's choices — the values the records hold, as people read them — with the chosen one."""
    from core.records.export import shown

    fields = {f.name: f for f in form.fields}
    out = []
    for name in kind.filters:
        seen = {_key(r["values"].get(name)): shown(fields[name], r["values"].get(name)) for r in records}
        chosen = request.query_params.get(name) or ""
        out.append({"field": fields[name], "chosen": chosen if chosen in seen else "",
                    "options": sorted(((k, v) for k, v in seen.items() if k), key=lambda kv: str(kv[1]))})
        if chosen in seen:
            records = [r for r in records if _key(r["values"].get(name)) == chosen]
    return records, out


def _is_follow_up(request: Request, kind: RecordKind) -> bool:
    """Follow-up kinds are opened by their checklist, never from a form of their own."""
    return any(k.checklist and k.checklist.follow_up == kind.id for k in plugins_of(request).specs.records.values())


async def _topic_states(records: list[dict[str, Any]]) -> dict[int, str]:
    """Topic id → its state, for the records raised as topics."""
    from core.topics.tables import Topic

    ids = [r["topic"] for r in records if r.get("topic")]
    return {t["id"]: t["state"] for t in await Topic.select(Topic.id, Topic.state).where(Topic.id.is_in(ids))} \
        if ids else {}


def _defaults(request: Request, kind: RecordKind, form: Any) -> dict[str, list[str]]:
    """What a new form starts with: the kind's ``[defaults]`` ("today" in China time), then any form
    field named in the query string (``?building=新村3栋`` from a building's row)."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    names = {f.name for f in form.fields}
    values = {k: [today if v == "today" else v] for k, v in kind.extras.defaults.items() if k in names}
    values.update({k: [v[:200]] for k, v in request.query_params.items() if k in names})
    return values


async def _meetings(kind: RecordKind, council_id: int) -> list[dict[str, Any]]:
    """The council's latest meetings, to name where a record was taken up (kinds with ``meeting``)."""
    if not kind.meeting:
        return []
    return await Meeting.select(Meeting.id, Meeting.title, Meeting.kind, Meeting.starts_at).where(
        Meeting.council == council_id).order_by(Meeting.starts_at, ascending=False).limit(20)


def _form_page(request: Request, kind: RecordKind, council: dict, *, values: dict, errors: dict, action: str,
               nonce: str = "", record: dict | None = None, error: str = "", status_code: int = 200,
               meetings: list | None = None, choices: Any = None) -> Template:
    form, _workflow = _specs(request, kind)
    return Template(_template(request, kind, "form"), status_code=status_code, context={
        "choices": choices,
        "kind": kind, "council": council, "spec": form, "values": values, "errors": errors, "action": action,
        "nonce": nonce, "record": record, "error": error, "step": None, "meetings": meetings or [],
        "meeting_id": _first(values, "meeting") if isinstance(values.get("meeting"), list) else ""})


@get("/councils/{council_id:int}/records/{kind_id:str}/new", name="records:new", opt={"permission": AUTHENTICATED})
async def new_form(request: Request, council_id: FromPath[int], kind_id: FromPath[str]) -> Template:
    kind = _kind(request, kind_id)
    council = await _council(kind, council_id)
    await _require(request, kind.create_permission, council_id)
    if _is_follow_up(request, kind):
        raise NotFoundException(_("这类记录由检查表自动生成，不能单独新建。"))
    form, _workflow = _specs(request, kind)
    return _form_page(request, kind, council, values=_defaults(request, kind, form), errors={},
                      nonce=secrets.token_urlsafe(24), action=f"/councils/{council_id}/records/{kind.id}/new",
                      meetings=await _meetings(kind, council_id), choices=await linking.choices(kind, council_id))


@post("/councils/{council_id:int}/records/{kind_id:str}/new", name="records:create",
      opt={"permission": AUTHENTICATED}, request_max_body_size=MAX_BODY)
async def create(request: Request, council_id: FromPath[int], kind_id: FromPath[str]) -> Template | Redirect:
    kind = _kind(request, kind_id)
    council = await _council(kind, council_id)
    user = await _require(request, kind.create_permission, council_id)
    if _is_follow_up(request, kind):
        raise NotFoundException(_("这类记录由检查表自动生成，不能单独新建。"))
    form, workflow = _specs(request, kind)
    data, files = await form_with_files(request)
    nonce = _first(data, NONCE_FIELD)[:64] or secrets.token_urlsafe(24)
    choices = await linking.choices(kind, council_id)
    result = validate(form, data, files, choices)
    meetings = await _meetings(kind, council_id)
    errors = dict(result.errors) or service.same_person(kind, result.values)
    raw_meeting, meeting_id = _first(data, "meeting"), None
    if raw_meeting and kind.meeting:
        meeting_id = next((m["id"] for m in meetings if str(m["id"]) == raw_meeting), None)
        if meeting_id is None:
            errors["meeting"] = _("请从列表中选择会议。")
    record_id = None
    if not errors:
        _store_files(request, result)
        try:
            record_id = await service.create(kind, council_id, result, actor=user.actor, spec=workflow, nonce=nonce,
                                             meeting_id=meeting_id, specs=plugins_of(request).specs)
        except service.Refused as exc:  # a ledger line the balance cannot pay for
            errors = {kind.ledger.amount_field if kind.ledger else "": exc.message}
    if record_id is None:
        return _form_page(request, kind, council, values=data, errors=errors, nonce=nonce, status_code=422,
                          action=f"/councils/{council_id}/records/{kind.id}/new", meetings=meetings, choices=choices)
    return see_other(f"/records/{record_id}")


# -------------------------------------------------------------------------------------------------
# One record
# -------------------------------------------------------------------------------------------------


async def _record(request: Request, record_id: int) -> tuple[RecordKind, dict[str, Any], dict[str, Any]]:
    row = await service.get(record_id)
    if row is None:
        raise NotFoundException(_("没有找到这条记录。"))
    kind = _kind(request, row["kind"])
    return kind, row, await _council(kind, row["council"])


async def _detail_context(request: Request, kind: RecordKind, row: dict, council: dict, user: Any) -> dict[str, Any]:
    form, workflow = _specs(request, kind)
    roles = council_roles(user, council["id"])
    if user.is_admin:
        roles = roles | {r for t in workflow.transitions for r in t.roles if r not in (PARTIES_ROLE, TOPIC_ROLE)}
    sigs = await service.signatures(row["id"])
    current = service.signed_current(kind, row, sigs)
    values = service.values_of(row)
    may_edit = await _may(request, user, kind.edit_permission, council["id"])
    signing_transition = workflow.transition(kind.signing.transition) if kind.signing else None
    waiting = signing_transition is not None and row["state"] in signing_transition.sources
    locked = bool(kind.signing and kind.signing.lock and sigs)
    links = []
    if waiting and may_edit:
        secret, base = settings_of(request).secret(), str(request.base_url).rstrip("/")
        from core.residents.slips import qr_data_uri

        for party in kind.parties:
            if party.id not in current:
                token = service.sign_token(secret, kind, party.id, row["id"], row["revision"])
                url = f"{base}/records/sign/{kind.id}/{party.id}/{token}"
                links.append({"party": party, "url": url, "qr": qr_data_uri(url)})
    # The signing step is core's; a step with a form would change the record, which a lock refuses.
    actions = [t for t in available(workflow, row["state"], roles, {})
               if not (kind.signing and t.id == kind.signing.transition) and not (locked and t.form)]
    specs = plugins_of(request).specs
    steps = [{"form": specs.forms[form_id], "values": filled}
             for form_id, filled in service.steps_of(row).items() if form_id in specs.forms]
    meeting = await Meeting.select(Meeting.id, Meeting.title, Meeting.kind, Meeting.starts_at).where(
        Meeting.id == row["meeting"]).first() if row.get("meeting") else None
    parent = await service.get(row["parent"]) if row.get("parent") else None
    follow_ups = await service.listing(council["id"], kind.checklist.follow_up, parent=row["id"]) \
        if kind.checklist and kind.checklist.follow_up else []
    from core.topics.services import topic_state_labels

    topic_link = kind.topic
    raisable = topic_link is not None and not row.get("topic") and row["state"] in (
        topic_link.states or [s for s, st in workflow.states.items() if not st.terminal])
    lines = await ledger.lines_of([row["id"]])
    return {"kind": kind, "meeting": meeting, "record": row, "council": council, "values": values, "form": form,
            "parent": parent, "follow_ups": follow_ups, "line": lines.get(row["id"]),
            "topic_state": topic_state_labels().get((await _topic_states([row])).get(row.get("topic") or 0, ""), ""),
            "follow_up_states": dict(specs.records[kind.checklist.follow_up].workflow_of(specs).states)
            if follow_ups else {},
            "may_raise": raisable and may_edit,
            "checklist": kind.checklist.tally(form, values) if kind.checklist else None,
            "workflow": workflow,
            "steps": steps, "step_values": {s["form"].id: s["values"] for s in steps},
            "fields": {f.name: f for f in form.fields}, "states": dict(workflow.states),
            "actions": actions if await _may(request, user, kind.view_permission, council["id"]) else [],
            "may_edit": may_edit and row["state"] in kind.edit_states and not locked, "locked": locked,
            "waiting": waiting, "links": links, "signatures": sigs, "current": current,
            "names": {p.id: service.party_name(kind, values, p.id) for p in kind.parties},
            "history": await service.history(row["id"], kind), "error": "", "paper_values": {}, "paper_errors": {},
            "documents": [d for d in kind.documents if not d.states or row["state"] in d.states]}


async def _detail(request: Request, record_id: int, *, error: str = "", paper_values: dict | None = None,
                  paper_errors: dict | None = None, status_code: int = 200) -> Template:
    kind, row, council = await _record(request, record_id)
    user = await _require(request, kind.view_permission, council["id"])
    context = await _detail_context(request, kind, row, council, user)
    context.update(error=error, paper_values=paper_values or {}, paper_errors=paper_errors or {})
    page = "_detail" if is_htmx(request) and request.method == "POST" else "detail"
    return Template(_template(request, kind, page), status_code=status_code, context=context)


@get("/records/{record_id:int}", name="records:detail", opt={"permission": AUTHENTICATED})
async def record_detail(request: Request, record_id: FromPath[int]) -> Template:
    return await _detail(request, record_id)


def _after_post(request: Request, record_id: int) -> Any:
    """HTMX swaps the fresh record in; a plain post goes back to the page."""
    return None if is_htmx(request) else see_other(f"/records/{record_id}")


@post("/records/{record_id:int}/act", name="records:act", opt={"permission": AUTHENTICATED})
async def act(request: Request, record_id: FromPath[int]) -> Template | Redirect:
    kind, _row, council = await _record(request, record_id)
    user = await _require(request, kind.view_permission, council["id"])
    _form, workflow = _specs(request, kind)
    data, _files = await form_with_files(request)
    roles = council_roles(user, council["id"])
    if user.is_admin:
        roles = roles | {r for t in workflow.transitions for r in t.roles if r not in (PARTIES_ROLE, TOPIC_ROLE)}
    try:
        await service.act(kind, record_id, _first(data, "transition"), seen_revision=_number(_first(data, "revision")),
                          seen_state=_first(data, "state"), roles=set(roles), actor=user.actor,
                          reason=_first(data, "reason")[:2000], spec=workflow)
    except TransitionRefused as exc:
        return await _detail(request, record_id, error=exc.message, status_code=_refused(request, exc.code))
    return _after_post(request, record_id) or await _detail(request, record_id)


def _step_page(request: Request, kind: RecordKind, council: dict, row: dict, transition: Any, *, values: dict,
               errors: dict, error: str = "", status_code: int = 200) -> Template:
    spec = plugins_of(request).specs.form(transition.form)
    return Template(_template(request, kind, "form"), status_code=status_code, context={
        "kind": kind, "council": council, "spec": spec, "values": values, "errors": errors, "record": row,
        "action": f"/records/{row['id']}/act/{transition.id}", "nonce": "", "error": error, "step": transition})


async def _step_target(request: Request, record_id: int, transition_id: str) -> tuple:
    kind, row, council = await _record(request, record_id)
    user = await _require(request, kind.view_permission, council["id"])
    _form, workflow = _specs(request, kind)
    transition = workflow.transition(transition_id)
    if transition is None or not transition.form:
        raise NotFoundException(_("没有这个操作，请刷新页面后再试。"))
    return kind, row, council, user, workflow, transition


@get("/records/{record_id:int}/act/{transition_id:str}", name="records:step_form", opt={"permission": AUTHENTICATED})
async def step_form(request: Request, record_id: FromPath[int], transition_id: FromPath[str]) -> Template:
    """The form a step asks for (a transition with ``form``), filled with what it held last time."""
    kind, row, council, _user, _workflow, transition = await _step_target(request, record_id, transition_id)
    spec = plugins_of(request).specs.form(transition.form)
    stored = service.steps_of(row).get(transition.form)
    values = form_data(spec, stored) if stored else _defaults(request, kind, spec)
    return _step_page(request, kind, council, row, transition, values=values, errors={})


@post("/records/{record_id:int}/act/{transition_id:str}", name="records:step", opt={"permission": AUTHENTICATED},
      request_max_body_size=MAX_BODY)
async def step_post(request: Request, record_id: FromPath[int], transition_id: FromPath[str]) -> Template | Redirect:
    kind, row, council, user, workflow, transition = await _step_target(request, record_id, transition_id)
    spec = plugins_of(request).specs.form(transition.form)
    data, files = await form_with_files(request)
    result = validate(spec, data, files)
    if not result.ok:
        return _step_page(request, kind, council, row, transition, values=data, errors=result.errors, status_code=422)
    _store_files(request, result)
    roles = council_roles(user, council["id"])
    if user.is_admin:
        roles = roles | {r for t in workflow.transitions for r in t.roles if r not in (PARTIES_ROLE, TOPIC_ROLE)}
    try:
        await service.act(kind, record_id, transition.id, seen_revision=_number(_first(data, "revision")),
                          seen_state=_first(data, "state"), roles=set(roles), actor=user.actor,
                          reason=_first(data, "reason")[:2000], spec=workflow, filled=result)
    except TransitionRefused as exc:
        return _step_page(request, kind, council, row, transition, values=data, errors={}, error=exc.message,
                          status_code=_refused(request, exc.code))
    return see_other(f"/records/{record_id}")


@get("/records/{record_id:int}/edit", name="records:edit", opt={"permission": AUTHENTICATED})
async def edit_form(request: Request, record_id: FromPath[int]) -> Template:
    kind, row, council = await _record(request, record_id)
    await _require(request, kind.edit_permission, council["id"])
    form, _workflow = _specs(request, kind)
    return _form_page(request, kind, council, values=form_data(form, service.values_of(row)), errors={},
                      record=row, action=f"/records/{record_id}/edit",
                      choices=await linking.choices(kind, council["id"]))


@post("/records/{record_id:int}/edit", name="records:save", opt={"permission": AUTHENTICATED},
      request_max_body_size=MAX_BODY)
async def save(request: Request, record_id: FromPath[int]) -> Template | Redirect:
    kind, row, council = await _record(request, record_id)
    user = await _require(request, kind.edit_permission, council["id"])
    form, workflow = _specs(request, kind)
    data, files = await form_with_files(request)
    choices = await linking.choices(kind, council["id"])
    result = validate(form, data, files, choices)
    page = {"record": row, "action": f"/records/{record_id}/edit", "choices": choices}
    errors = dict(result.errors) or service.same_person(kind, result.values)
    if errors:
        return _form_page(request, kind, council, values=data, errors=errors, status_code=422, **page)
    _store_files(request, result)
    try:
        await service.edit(kind, record_id, result, seen_revision=_number(_first(data, "revision")), actor=user.actor,
                           spec=workflow)
    except service.Refused as exc:
        return _form_page(request, kind, council, values=data, errors={}, error=exc.message,
                          status_code=_refused(request, exc.code), **page)
    return see_other(f"/records/{record_id}")


@post("/records/{record_id:int}/topic", name="records:topic", opt={"permission": AUTHENTICATED})
async def raise_topic(request: Request, record_id: FromPath[int]) -> Template | Redirect:
    """转为议题 (``[topic]`` of the kind): the record becomes a topic on the council's list, to be
    assigned through core's closed loop; a second press changes nothing."""
    kind, _row, council = await _record(request, record_id)
    user = await _require(request, kind.edit_permission, council["id"])
    try:
        await linking.raise_topic(kind, kind.workflow_of(plugins_of(request).specs), record_id, user.actor)
    except linking.LinkRefused as exc:
        if exc.status == 404:
            raise NotFoundException(exc.message) from exc
        return await _detail(request, record_id, error=exc.message, status_code=_refused(request, "state"))
    return _after_post(request, record_id) or await _detail(request, record_id)


@post("/records/{record_id:int}/paper", name="records:paper", opt={"permission": AUTHENTICATED})
async def paper(request: Request, record_id: FromPath[int]) -> Template | Redirect:
    """Someone who may edit records a signed printed copy: which party, the name as signed, the day."""
    kind, _row, council = await _record(request, record_id)
    user = await _require(request, kind.edit_permission, council["id"])
    _form, workflow = _specs(request, kind)
    data, _files = await form_with_files(request)
    errors: dict[str, str] = {}
    party = kind.party(_first(data, "party"))
    if party is None or not (kind.signing and kind.signing.paper):
        errors["party"] = _("请选择签字的当事人。")
    name = _first(data, "signed_name").strip()[:60]
    if not name:
        errors["signed_name"] = _("请填写纸质文本上的签名。")
    day = None
    try:
        # The day as written on the paper, in China: today is accepted even before noon (signed_at is
        # noon of that day, or now when that is still ahead); a later day is refused.
        china = ZoneInfo("Asia/Shanghai")
        signed_on = datetime.fromisoformat(_first(data, "signed_on")).date()
        day = min(datetime.combine(signed_on, time(12), china).astimezone(UTC), datetime.now(UTC))
        if signed_on > datetime.now(china).date():
            errors["signed_on"] = _("签字日期不能晚于今天。")
    except ValueError:
        errors["signed_on"] = _("请填写签字日期，如 2026-11-30。")
    if not _first(data, "checked"):
        errors["checked"] = _("请先核对纸质文本上的亲笔签名，并勾选确认。")
    if not errors and party is not None:
        try:
            await service.sign(kind, record_id, party.id, revision=_number(_first(data, "revision")), signed_name=name,
                               how="paper", actor=user.actor, spec=workflow, signed_at=day)
        except service.Refused as exc:
            errors["signed_name" if exc.code == "name" else "party"] = exc.message
    if errors:
        return await _detail(request, record_id, paper_values=data, paper_errors=errors,
                             error=_("纸质签字没有登记，请看下面标红的地方。"), status_code=422)
    return _after_post(request, record_id) or await _detail(request, record_id)


def _uploads(values: Any) -> dict[str, dict[str, Any]]:
    """Every uploaded file named in stored values (any upload field, any depth), by SHA-256."""
    found: dict[str, dict[str, Any]] = {}
    if isinstance(values, dict):
        if isinstance(values.get("sha256"), str) and "kind" in values:
            found[values["sha256"]] = values
        for value in values.values():
            found.update(_uploads(value))
    elif isinstance(values, list):
        for value in values:
            found.update(_uploads(value))
    return found


@get("/records/{record_id:int}/files/{sha256:str}", name="records:file", opt={"permission": AUTHENTICATED})
async def record_file(request: Request, record_id: FromPath[int], sha256: FromPath[str]) -> File:
    """A photo or file of the record's forms — only files of this record, to those who may see it."""
    kind, row, council = await _record(request, record_id)
    await _require(request, kind.view_permission, council["id"])
    entry = _uploads([service.values_of(row), service.steps_of(row)]).get(sha256)
    path = upload_path(settings_of(request).data_dir, sha256) if entry else None
    if entry is None or path is None or not path.exists():
        raise NotFoundException(_("文件不存在。"))
    return File(path=path, filename=sha256, content_disposition_type="inline",
                media_type=KIND_MIME.get(entry.get("kind", ""), ("application/octet-stream",))[0],
                headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


# -------------------------------------------------------------------------------------------------
# A party signs on their own phone
# -------------------------------------------------------------------------------------------------


async def _sign_target(request: Request, kind_id: str, party_id: str, token: str):
    """The record behind a signing link. Bad links count against the address with core's limiter for
    residents' links, so guessing links is slowed down the same way."""
    limits = request.app.state.resident_limits["address"]
    address = request.client.host if request.client else "?"
    if await limits.blocked(address):
        raise TooManyRequestsException(_("尝试次数过多，请稍后再试。"))
    kind = plugins_of(request).specs.records.get(kind_id)
    party = kind.party(party_id) if kind else None
    claim = service.read_sign_token(settings_of(request).secret(), kind, party_id, token) if party else None
    row = await service.get(claim.record_id) if claim else None
    if kind is None or party is None or claim is None or row is None or row["kind"] != kind.id:
        await limits.allow(address)
        raise NotFoundException(_("签字链接无效。请索取新的链接。"))
    council = await Council.select().where(Council.id == row["council"]).first()
    return kind, party, claim, row, council


async def _sign_page(request: Request, kind: RecordKind, party: Any, claim: Any, row: dict, council: dict,
                     token: str, *, error: str = "", status_code: int = 200) -> Template:
    form, workflow = _specs(request, kind)
    transition = workflow.transition(kind.signing.transition) if kind.signing else None
    sigs = await service.signatures(row["id"])
    mine = service.signed_current(kind, row, sigs).get(party.id)
    values = service.values_of(row)
    specs = plugins_of(request).specs
    steps = [{"form": specs.forms[form_id], "values": filled}
             for form_id, filled in service.steps_of(row).items() if form_id in specs.forms]
    return Template(_template(request, kind, "sign"), status_code=status_code, context={
        "steps": steps, "step_values": {s["form"].id: s["values"] for s in steps},
        "kind": kind, "party": party, "record": row, "council": council, "values": values, "form": form,
        "fields": {f.name: f for f in form.fields}, "states": dict(workflow.states), "token": token,
        "stale": claim.revision != row["revision"], "mine": mine, "error": error,
        "name": service.party_name(kind, values, party.id),
        "waiting": transition is not None and row["state"] in transition.sources})


@get("/records/sign/{kind_id:str}/{party_id:str}/{token:str}", name="records:sign", opt={"permission": PUBLIC})
async def sign_page(request: Request, kind_id: FromPath[str], party_id: FromPath[str],
                    token: FromPath[str]) -> Template:
    kind, party, claim, row, council = await _sign_target(request, kind_id, party_id, token)
    return await _sign_page(request, kind, party, claim, row, council, token)


@post("/records/sign/{kind_id:str}/{party_id:str}/{token:str}", name="records:sign_post", opt={"permission": PUBLIC})
async def sign_post(request: Request, kind_id: FromPath[str], party_id: FromPath[str],
                    token: FromPath[str]) -> Template | Redirect:
    kind, party, claim, row, council = await _sign_target(request, kind_id, party_id, token)
    _form, workflow = _specs(request, kind)
    data, _files = await form_with_files(request)
    name = _first(data, "name").strip()[:60]
    error = ""
    if not name:
        error = _("请输入您的完整姓名。")
    elif not _first(data, "confirm"):
        error = _("请勾选“本人已阅读并同意以上内容”。")
    else:
        try:
            await service.sign(kind, row["id"], party.id, revision=claim.revision, signed_name=name, how="link",
                               actor=f"record_party:{row['id']}:{party.id}", spec=workflow)
        except service.Refused as exc:
            error = exc.message
    if error:
        row = await service.get(row["id"]) or row
        return await _sign_page(request, kind, party, claim, row, council, token, error=error, status_code=422)
    return see_other(f"/records/sign/{kind.id}/{party.id}/{token}")


# -------------------------------------------------------------------------------------------------
# Documents
# -------------------------------------------------------------------------------------------------


@get("/records/{record_id:int}/documents/{document_id:str}/{fmt:str}", name="records:document",
     opt={"permission": AUTHENTICATED})
async def document(request: Request, record_id: FromPath[int], document_id: FromPath[str],
                   fmt: FromPath[str]) -> Response:
    kind, row, council = await _record(request, record_id)
    user = await _require(request, kind.view_permission, council["id"])
    doc = kind.document(document_id)
    if doc is None or fmt not in doc.formats:
        raise NotFoundException(_("没有这份文档。"))
    if doc.states and row["state"] not in doc.states:
        raise NotFoundException(_("记录处于“{state}”，还不能生成这份文档。").format(
            state=kind.workflow_of(plugins_of(request).specs).state_label(row["state"])))
    context = await _detail_context(request, kind, row, council, user)
    html = request.app.state.jinja.get_template(doc.template).render(
        **context, document=doc, for_print=fmt == "pdf", nonce="" if fmt == "pdf" else nonce_of(request),
        site_name=settings_of(request).site_name)
    if fmt == "html":
        return Response(html, media_type="text/html")
    from core.minutes.render import render_pdf

    pdf = await asyncio.to_thread(render_pdf, html, str(request.base_url))
    name = f"{doc.title}-{row['title'] or row['id']}.pdf".replace("/", "_")
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=\"record-{record_id}-{doc.id}.pdf\"; "
                               f"filename*=UTF-8''{quote(name, safe='')}"})


ROUTES = [record_list, export_list, new_form, create, record_detail, act, step_form, step_post, edit_form, save,
          raise_topic, paper,
          record_file,
          sign_page, sign_post, document]
