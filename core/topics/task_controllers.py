"""Pages of 办事 and 评事: the council's responsible units (责任单位) and their links, the chair's
交办单, the council's task list (where a task the unit sent back is 重新交办 or 撤销), the unit's own
page behind ``/u/<token>`` and the proposer's rating at ``/r/<token>/topics/<id>/rate``.

Plain forms that post and answer with a redirect (303), or the form again with the errors beside
the fields (422). The task list and the unit's pages also answer HTMX posts with the fragment to
swap in (422 with the errors when input is bad), so a phone on weak Wi-Fi reloads nothing. A unit's
token is its credential, so ``/u/…`` is public; every way a token can be wrong gets the same
Chinese page with 404, and an address that keeps trying is slowed down (429).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from core.accounts.permissions import PUBLIC, current_user
from core.i18n import _
from core.lowcode.forms import Choices, Result, validate
from core.lowcode.registry import shared_form
from core.lowcode.workflow import TransitionRefused
from core.ratelimit import RateLimiter, SharedCounts
from core.residents import services as residents
from core.residents.controllers import PRIVATE, _client, _invalid_link, _real_id, _too_many_links, resident_gate
from core.residents.slips import qr_svg
from core.topics import tasks
from core.topics.controllers import MAX_NONCE, NONCE_FIELD, _new_nonce
from core.topics.storage import upload_path
from core.topics.unit_tokens import make_unit_token
from core.web import form_of, form_with_files, is_htmx, page_or_fragment, see_other, settings_of

MEDIA = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
         "heic": "image/heic", "pdf": "application/pdf"}


async def _actor(request: Request) -> str:
    user = await current_user(request)
    return user.actor if user else "anonymous"


async def _council(council_id: int) -> dict[str, Any]:
    council = await residents.council_row(council_id) if _real_id(council_id) else None
    if council is None:
        raise NotFoundException(_("没有这个议事机构。"))
    return council


def _file_response(data_dir: Any, stored: dict[str, Any]) -> Response[bytes]:
    path = upload_path(data_dir, stored["sha256"])
    if not path.exists():
        raise NotFoundException(_("文件不存在或已被删除。"))
    return Response(path.read_bytes(), media_type=MEDIA.get(stored["kind"], "application/octet-stream"),
                    headers={**PRIVATE, "X-Content-Type-Options": "nosniff",
                             "Content-Disposition": "inline" if stored["kind"] in MEDIA else "attachment"})


# -------------------------------------------------------------------------------------------------
# Staff: responsible units
# -------------------------------------------------------------------------------------------------


class DepartmentController(Controller):
    path = "/councils/{council_id:int}/departments"
    opt = {"permission": "department.manage"}  # noqa: RUF012 — Litestar reads it as a class attribute

    async def _page(self, request: Request, council_id: int, status_code: int = 200, **extra: Any) -> Template:
        council = await _council(council_id)
        secret = settings_of(request).secret()
        base = str(request.base_url).rstrip("/")
        departments = await tasks.list_departments(council_id)
        for d in departments:
            d["link"] = f"{base}/u/{make_unit_token(secret, d['id'], d['token_generation'])}"
        context = {"council": council, "departments": departments, "kinds": tasks.KINDS, "errors": {},
                   "values": {}, "message": "", **extra}
        return Template("tasks/departments.html", context=context, status_code=status_code, headers=PRIVATE)

    async def _department(self, council_id: int, department_id: int) -> dict[str, Any]:
        found = await tasks.department_in(council_id, department_id) if _real_id(department_id) else None
        if found is None:
            raise NotFoundException(_("没有这个责任单位。"))
        return found

    @get("", name="departments")
    async def index(self, request: Request, council_id: FromPath[int]) -> Template:
        return await self._page(request, council_id)

    @post("", name="department_add")
    async def add(self, request: Request, council_id: FromPath[int]) -> Template | Redirect:
        await _council(council_id)
        form = await request.form()
        values, errors = tasks.validate_department({k: v for k, v in form.items() if isinstance(v, str)})
        if not errors:
            _id, errors = await tasks.add_department(council_id, values["name"], values["kind"], await _actor(request))
        if errors:
            return await self._page(request, council_id, 422, errors=errors, values=values)
        return see_other(f"/councils/{council_id}/departments")

    @post("/{department_id:int}/reissue", name="department_reissue")
    async def reissue(self, request: Request, council_id: FromPath[int], department_id: FromPath[int]) -> Redirect:
        await self._department(council_id, department_id)
        await tasks.reissue_department(department_id, await _actor(request))
        return see_other(f"/councils/{council_id}/departments")

    @get("/{department_id:int}/qr.svg", name="department_qr", media_type="image/svg+xml")
    async def qr(self, request: Request, council_id: FromPath[int], department_id: FromPath[int]) -> Response[str]:
        d = await self._department(council_id, department_id)
        token = make_unit_token(settings_of(request).secret(), d["id"], d["token_generation"])
        return Response(qr_svg(f"{str(request.base_url).rstrip('/')}/u/{token}"), media_type="image/svg+xml",
                        headers=PRIVATE)


# -------------------------------------------------------------------------------------------------
# Staff: 交办, the council's tasks, 重新办理
# -------------------------------------------------------------------------------------------------


class CouncilTaskController(Controller):
    path = "/councils/{council_id:int}"

    async def _topic(self, council_id: int, topic_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        council = await _council(council_id)
        topic = await tasks.topic_in(council_id, topic_id) if _real_id(topic_id) else None
        if topic is None:
            raise NotFoundException(_("没有这个议题。"))
        return council, topic

    async def _assign_page(self, council_id: int, topic_id: int, *, move: bool, status_code: int = 200,
                           values: dict[str, list[str]] | None = None, errors: dict[str, str] | None = None,
                           ) -> Template:
        council, topic = await self._topic(council_id, topic_id)
        departments = await tasks.list_departments(council_id)
        context = {"council": council, "topic": topic, "spec": shared_form("jiaobandan"),
                   "choices": _department_choices(departments), "departments": departments,
                   "values": values or {}, "errors": errors or {}, "move": move,
                   "topic_state": tasks.state_label("topic", topic["state"]),
                   "action": f"/councils/{council_id}/topics/{topic_id}/{'assign' if move else 'tasks/new'}"}
        return Template("tasks/assign.html", context=context, status_code=status_code)

    async def _assign(self, request: Request, council_id: int, topic_id: int, move: bool) -> Template | Redirect:
        await self._topic(council_id, topic_id)
        data, files = await form_with_files(request)
        departments = await tasks.list_departments(council_id)
        result = validate(shared_form("jiaobandan"), data, files, _department_choices(departments))
        if result.ok:
            try:
                await tasks.create_task(settings_of(request).data_dir, topic_id, result, await _actor(request),
                                        move=move)
            except (tasks.TaskError, TransitionRefused) as exc:
                result.errors["form"] = getattr(exc, "message", None) or str(exc)
        if not result.ok:
            return await self._assign_page(council_id, topic_id, move=move, status_code=422, values=data,
                                           errors=result.errors)
        return see_other(f"/councils/{council_id}/tasks")

    @get("/topics/{topic_id:int}/assign", name="topic_assign_form", opt={"permission": "task.assign"})
    async def assign_form(self, council_id: FromPath[int], topic_id: FromPath[int]) -> Template:
        return await self._assign_page(council_id, topic_id, move=True)

    @post("/topics/{topic_id:int}/assign", name="topic_assign", opt={"permission": "task.assign"})
    async def assign(self, request: Request, council_id: FromPath[int], topic_id: FromPath[int]) -> Template | Redirect:
        return await self._assign(request, council_id, topic_id, move=True)

    @get("/topics/{topic_id:int}/tasks/new", name="topic_task_form", opt={"permission": "task.assign"})
    async def add_form(self, council_id: FromPath[int], topic_id: FromPath[int]) -> Template:
        return await self._assign_page(council_id, topic_id, move=False)

    @post("/topics/{topic_id:int}/tasks/new", name="topic_task_add", opt={"permission": "task.assign"})
    async def add(self, request: Request, council_id: FromPath[int], topic_id: FromPath[int]) -> Template | Redirect:
        return await self._assign(request, council_id, topic_id, move=False)

    async def _reopen_page(self, council_id: int, topic_id: int, status_code: int = 200, error: str = "",
                           reason: str = "") -> Template:
        council, topic = await self._topic(council_id, topic_id)
        rating = await tasks.latest_rating(topic_id)
        return Template("tasks/reopen.html", status_code=status_code, context={
            "council": council, "topic": topic, "rating": rating, "error": error, "reason": reason,
            "topic_state": tasks.state_label("topic", topic["state"])})

    @get("/topics/{topic_id:int}/reopen", name="topic_reopen_form", opt={"permission": "task.assign"})
    async def reopen_form(self, council_id: FromPath[int], topic_id: FromPath[int]) -> Template:
        return await self._reopen_page(council_id, topic_id)

    @post("/topics/{topic_id:int}/reopen", name="topic_reopen", opt={"permission": "task.assign"})
    async def reopen(self, request: Request, council_id: FromPath[int], topic_id: FromPath[int]) -> Template | Redirect:
        await self._topic(council_id, topic_id)
        form = await request.form()
        reason = form.get("reason") if isinstance(form.get("reason"), str) else ""
        reason = (reason or "").strip()[:500]
        if not reason:
            return await self._reopen_page(council_id, topic_id, 422, _("请填写重新办理的原因。"), reason)
        try:
            await tasks.reopen(topic_id, await _actor(request), reason)
        except TransitionRefused as exc:
            return await self._reopen_page(council_id, topic_id, 422, str(exc), reason)
        return see_other(f"/councils/{council_id}/topics/{topic_id}/tasks/new")

    async def _tasks_context(self, request: Request, council_id: int, *, failed: tuple[str, int] | None = None,
                             errors: dict[str, str] | None = None, values: dict[str, list[str]] | None = None,
                             nonce: str = "", message: str = "") -> dict[str, Any]:
        """The list, and for each returned task (if the user may 交办) its 重新交办 form, filled from
        the old 交办单 — or, for the form that just failed, ``values`` with ``errors`` beside them."""
        council = await _council(council_id)
        rows = await tasks.council_tasks(council_id)
        returned = [t for t in rows if t["state"] == "returned"]
        user = await current_user(request)
        can_assign = user is not None and await request.app.state.access.allows(user, "task.assign", council_id)
        errors = errors or {}
        forms: dict[int, dict[str, list[str]]] = {}
        nonces: dict[int, str] = {}
        if can_assign:
            for t in returned:
                again = failed == ("reassign", t["id"])
                forms[t["id"]] = (values or {}) if again else await tasks.jiaoban_values(t)
                nonces[t["id"]] = nonce if again and nonce else _new_nonce()
        # A task that moved on meanwhile has no forms on the page any more: say why at the top.
        moved_on = failed is not None and failed[1] not in {t["id"] for t in returned}
        departments = await tasks.list_departments(council_id) if forms else []
        return {"council": council, "tasks": rows, "reports": await tasks.reports_of([t["id"] for t in rows]),
                "overdue": sum(1 for t in rows if t["overdue"]), "can_assign": can_assign,
                "returns": await tasks.return_reasons([t["id"] for t in returned]), "forms": forms,
                "nonces": nonces, "spec": shared_form("jiaobandan"), "choices": _department_choices(departments),
                "failed_kind": failed[0] if failed and not moved_on else "",
                "failed_task": failed[1] if failed and not moved_on else None,
                "errors": errors, "values": values or {}, "message": message,
                "alert": errors.get("form", "") if moved_on else ""}

    async def _tasks_answer(self, request: Request, council_id: int, status_code: int = 200,
                            **extra: Any) -> Template | Redirect:
        """HTMX gets the re-rendered list (422 with the errors beside the fields); a plain POST that
        worked goes back to the list (303), one that failed gets the page with the errors (422)."""
        if status_code < 400 and not is_htmx(request):
            return see_other(f"/councils/{council_id}/tasks")
        context = await self._tasks_context(request, council_id, **extra)
        return page_or_fragment(request, "tasks/council_tasks.html", "tasks/_council_tasks.html", context,
                                status_code=status_code)

    @get("/tasks", name="council_tasks", opt={"permission": "topic.view"})
    async def council_tasks(self, request: Request, council_id: FromPath[int]) -> Template:
        context = await self._tasks_context(request, council_id)
        return page_or_fragment(request, "tasks/council_tasks.html", "tasks/_council_tasks.html", context)

    async def _returned_task(self, council_id: int, task_id: int) -> dict[str, Any]:
        await _council(council_id)
        task = await tasks.task_in(council_id, task_id) if _real_id(task_id) else None
        if task is None:
            raise NotFoundException(_("没有这项任务。"))
        return task

    @post("/tasks/{task_id:int}/reassign", name="task_reassign", opt={"permission": "task.assign"})
    async def reassign(self, request: Request, council_id: FromPath[int],
                       task_id: FromPath[int]) -> Template | Redirect:
        task = await self._returned_task(council_id, task_id)
        data, files = await form_with_files(request)
        nonce = (data.pop(NONCE_FIELD, None) or [""])[0][:MAX_NONCE] or _new_nonce()
        departments = await tasks.list_departments(council_id)
        result = validate(shared_form("jiaobandan"), data, files, _department_choices(departments))
        if result.ok:
            try:
                await tasks.reassign(settings_of(request).data_dir, task_id, result, await _actor(request), nonce)
            except (tasks.TaskError, TransitionRefused) as exc:
                result.errors["form"] = getattr(exc, "message", None) or str(exc)
        if not result.ok:
            return await self._tasks_answer(request, council_id, 422, failed=("reassign", task_id),
                                            errors=result.errors, values=data, nonce=nonce)
        unit = next((d["name"] for d in departments if str(d["id"]) == str(result.values["unit"]["id"])), "")
        return await self._tasks_answer(request, council_id, message=_("已将“{matter}”重新交办给{unit}。").format(
            matter=result.values.get("matter") or task["topic_title"], unit=unit))

    @post("/tasks/{task_id:int}/cancel", name="task_cancel", opt={"permission": "task.assign"})
    async def cancel(self, request: Request, council_id: FromPath[int], task_id: FromPath[int]) -> Template | Redirect:
        task = await self._returned_task(council_id, task_id)
        raw = (await form_of(request)).get("reason", "")[:500]
        errors = {"reason": _("撤销任务时请填写原因。")} if not raw.strip() else {}
        if not errors:
            try:
                await tasks.cancel(task_id, await _actor(request), raw.strip())
            except TransitionRefused as exc:
                errors["form"] = str(exc)
        if errors:
            return await self._tasks_answer(request, council_id, 422, failed=("cancel", task_id), errors=errors,
                                            values={"reason": [raw]})
        return await self._tasks_answer(request, council_id, message=_("已撤销任务“{matter}”。").format(
            matter=task["matter"] or task["topic_title"]))

    @get("/tasks/{task_id:int}/files/{sha256:str}", name="council_task_file", opt={"permission": "topic.view"})
    async def council_file(self, request: Request, council_id: FromPath[int], task_id: FromPath[int],
                           sha256: FromPath[str]) -> Response[bytes]:
        rows = [t for t in await tasks.council_tasks(council_id) if t["id"] == task_id] if _real_id(task_id) else []
        stored = await tasks.file_of_tasks([t["id"] for t in rows], sha256)
        if stored is None:
            raise NotFoundException(_("文件不存在或已被删除。"))
        return _file_response(settings_of(request).data_dir, stored)


def _department_choices(departments: list[dict[str, Any]]) -> Choices:
    pairs = [(str(d["id"]), f"{d['name']}（{d['kind']}）" if d["kind"] else d["name"]) for d in departments]
    return Choices(units=pairs, by_field={"unit": pairs, "co_unit": pairs})


# -------------------------------------------------------------------------------------------------
# The responsible unit's own page
# -------------------------------------------------------------------------------------------------


def unit_limiters(shared: SharedCounts | None = None) -> RateLimiter:
    """Invalid unit links, by client address (as for residents' links); in Redis when ``shared`` is given."""
    return RateLimiter(30, 600, "unit-address", shared)


def _limiter(request: Request) -> RateLimiter:
    state = request.app.state
    limiter = state.get("unit_limits")
    if limiter is None:
        limiter = unit_limiters(state.get("rate_counts"))
        state["unit_limits"] = limiter
    return limiter


class UnitController(Controller):
    path = "/u"
    opt = {"permission": PUBLIC}  # noqa: RUF012 — the token is the credential

    async def _open(self, request: Request, token: str) -> dict[str, Any] | Template:
        limits = _limiter(request)
        address = _client(request)
        if await limits.blocked(address):
            return _too_many_links()
        department = await tasks.resolve_unit_token(settings_of(request).secret(), token)
        if department is None:
            await limits.allow(address)
            return _invalid_link()
        return department

    async def _task(self, request: Request, token: str,
                    task_id: int) -> tuple[dict[str, Any], dict[str, Any]] | Template:
        opened = await self._open(request, token)
        if isinstance(opened, Template):
            return opened
        task = await tasks.task_of_department(opened["id"], task_id) if _real_id(task_id) else None
        if task is None:
            return _refusal(_("没有这项任务"), _("这项任务不存在，或不是交给本单位办理的。"))
        return opened, task

    async def _page(self, request: Request, token: str, department: dict[str, Any], status_code: int = 200,
                    error: str = "", error_task: int | None = None, reason: str = "", notice: str = "",
                    notice_task: int | None = None) -> Template:
        """The unit's tasks: the whole page, or for HTMX the list (``#unit-main``) to swap in."""
        rows = await tasks.department_tasks(department["id"])
        reports = await tasks.reports_of([t["id"] for t in rows])
        returns = await tasks.return_reasons([t["id"] for t in rows if t["state"] == "returned"])
        answer = page_or_fragment(request, "tasks/unit.html", "tasks/_unit_tasks.html", status_code=status_code,
                                  context={"token": token, "department": department, "tasks": rows,
                                           "reports": reports, "returns": returns, "error": error,
                                           "error_task": error_task, "reason": reason, "notice": notice,
                                           "notice_task": notice_task, "page_title": department["name"],
                                           "overdue": sum(1 for t in rows if t["overdue"])})
        answer.headers.update(PRIVATE)
        return answer

    @get("/{token:str}", name="unit")
    async def page(self, request: Request, token: FromPath[str]) -> Template:
        opened = await self._open(request, token)
        if isinstance(opened, Template):
            return opened
        return await self._page(request, token, opened)

    async def _move(self, request: Request, token: str, task_id: int, transition: str) -> Template | Redirect:
        found = await self._task(request, token, task_id)
        if isinstance(found, Template):
            return found
        department, task = found
        reason = ""
        if transition == "return":
            reason = (await form_of(request)).get("reason", "").strip()[:500]
            if not reason:
                return await self._page(request, token, department, 422, _("退回时请说明原因。"), task_id)
        try:
            await tasks.unit_move(task, transition, department, reason)
        except TransitionRefused as exc:
            return await self._page(request, token, department, 422, str(exc), task_id, reason)
        if not is_htmx(request):
            return see_other(f"/u/{token}#task-{task_id}")
        done = {"receive": _("已接收。"), "start": _("已开始办理。"), "return": _("已退回，议事会将重新交办。")}
        return await self._page(request, token, department, notice=done[transition], notice_task=task_id)

    @post("/{token:str}/tasks/{task_id:int}/receive", name="unit_receive")
    async def receive(self, request: Request, token: FromPath[str], task_id: FromPath[int]) -> Template | Redirect:
        return await self._move(request, token, task_id, "receive")

    @post("/{token:str}/tasks/{task_id:int}/start", name="unit_start")
    async def start(self, request: Request, token: FromPath[str], task_id: FromPath[int]) -> Template | Redirect:
        return await self._move(request, token, task_id, "start")

    @post("/{token:str}/tasks/{task_id:int}/return", name="unit_return")
    async def return_(self, request: Request, token: FromPath[str], task_id: FromPath[int]) -> Template | Redirect:
        return await self._move(request, token, task_id, "return")

    def _report_page(self, request: Request, token: str, department: dict[str, Any], task: dict[str, Any],
                     status_code: int = 200, values: dict[str, list[str]] | None = None,
                     errors: dict[str, str] | None = None) -> Template:
        """The 办理反馈 form: the whole page, or for HTMX the form (``#unit-main``) to swap in."""
        answer = page_or_fragment(request, "tasks/unit_report.html", "tasks/_unit_report.html", status_code=status_code,
                                  context={"token": token, "department": department, "task": task,
                                           "spec": shared_form("banli_fankui"), "values": values or {},
                                           "errors": errors or {}, "page_title": _("办理反馈")})
        answer.headers.update(PRIVATE)
        return answer

    @get("/{token:str}/tasks/{task_id:int}/report", name="unit_report_form")
    async def report_form(self, request: Request, token: FromPath[str], task_id: FromPath[int]) -> Template:
        found = await self._task(request, token, task_id)
        if isinstance(found, Template):
            return found
        return self._report_page(request, token, *found)

    @post("/{token:str}/tasks/{task_id:int}/report", name="unit_report")
    async def report(self, request: Request, token: FromPath[str], task_id: FromPath[int]) -> Template | Redirect:
        found = await self._task(request, token, task_id)
        if isinstance(found, Template):
            return found
        department, task = found
        data, files = await form_with_files(request)
        result: Result = validate(shared_form("banli_fankui"), data, files)
        finished = False
        if result.ok:
            try:
                finished = await tasks.report(settings_of(request).data_dir, task, department, result)
            except (tasks.TaskError, TransitionRefused) as exc:
                result.errors["form"] = getattr(exc, "message", None) or str(exc)
        if not result.ok:
            return self._report_page(request, token, department, task, 422, data, result.errors)
        if not is_htmx(request):
            return see_other(f"/u/{token}#task-{task_id}")
        # HTMX: back to the list in place; the address bar follows, so a reload shows the list too.
        answer = await self._page(request, token, department, notice_task=task_id,
                                  notice=_("已办结，感谢反馈。") if finished else _("已提交办理反馈。"))
        answer.headers["HX-Push-Url"] = f"/u/{token}"
        return answer

    @get("/{token:str}/files/{sha256:str}", name="unit_file")
    async def file(self, request: Request, token: FromPath[str], sha256: FromPath[str]) -> Response[bytes] | Template:
        opened = await self._open(request, token)
        if isinstance(opened, Template):
            return opened
        rows = await tasks.department_tasks(opened["id"])
        stored = await tasks.file_of_tasks([t["id"] for t in rows], sha256)
        if stored is None:
            return _refusal(_("文件不存在"), _("文件不存在，或不属于本单位的任务。"))
        return _file_response(settings_of(request).data_dir, stored)


def _refusal(title: str, detail: str, status: int = 404) -> Template:
    return Template("residents/invalid.html", status_code=status, headers=PRIVATE,
                    context={"title": title, "detail": detail})


# -------------------------------------------------------------------------------------------------
# 评事: the proposer rates from their phone
# -------------------------------------------------------------------------------------------------


class RatingController(Controller):
    path = "/r/{token:str}/topics/{topic_id:int}/rate"
    opt = {"permission": PUBLIC}  # noqa: RUF012 — the resident's token is the credential

    async def _open(self, request: Request, token: str,
                    topic_id: int) -> tuple[dict[str, Any], dict[str, Any]] | Template:
        """The entry and its own topic. An unverified phone gets the identity check first, which
        brings the resident back to this rating page afterwards."""
        gate = await resident_gate(request, token, next_path=f"/r/{token}/topics/{topic_id}/rate")
        if isinstance(gate, Template):
            return gate
        entry, _councils = gate
        from core.topics.tables import Topic

        topic = await Topic.select().where((Topic.id == topic_id) & (Topic.proposer_entry == entry["id"])).first() \
            if _real_id(topic_id) else None
        if topic is None:
            return _refusal(_("没有这个议题"), _("这个议题不存在，或不是您提出的。"))
        return entry, topic

    def _form(self, token: str, topic: dict[str, Any], status_code: int = 200,
              values: dict[str, list[str]] | None = None, errors: dict[str, str] | None = None) -> Template:
        return Template("tasks/rate.html", status_code=status_code, headers=PRIVATE, context={
            "token": token, "topic": topic, "spec": shared_form("manyidu"), "values": values or {},
            "errors": errors or {}, "page_title": _("满意度评价"),
            "topic_state": tasks.state_label("topic", topic["state"])})

    @get("", name="topic_rate_form")
    async def form(self, request: Request, token: FromPath[str], topic_id: FromPath[int]) -> Template:
        opened = await self._open(request, token, topic_id)
        if not isinstance(opened, tuple):
            return opened
        return self._form(token, opened[1])

    @post("", name="topic_rate")
    async def rate(self, request: Request, token: FromPath[str], topic_id: FromPath[int]) -> Template | Redirect:
        opened = await self._open(request, token, topic_id)
        if not isinstance(opened, tuple):
            return opened
        entry, topic = opened
        data, files = await form_with_files(request)
        result = validate(shared_form("manyidu"), data, files)
        if result.ok and topic["state"] != "done":
            result.errors["form"] = _("议题当前状态为“{state}”，现在不能评价。").format(
                state=tasks.state_label("topic", topic["state"]))
        if result.ok:
            try:
                await tasks.rate(settings_of(request).data_dir, topic_id, entry, result)
            except TransitionRefused as exc:
                result.errors["form"] = str(exc)
        if not result.ok:
            return self._form(token, topic, 422, data, result.errors)
        return Template("residents/invalid.html", headers=PRIVATE, context={
            "title": _("感谢您的评价"), "detail": _("您的评价已记录。议事会将根据您的意见改进工作。")})


def task_routes() -> list:
    """The controllers of 办事 and 评事, for core.builtin's ``yishi_routes``."""
    return [DepartmentController, CouncilTaskController, UnitController, RatingController]
