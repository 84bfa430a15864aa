"""Pages for the unit tree (admins): the tree, add, rename, move, delete, councils moved between
units, and import from a file with a preview. A refused change shows its reason (422) and changes
nothing; a plain POST that worked goes back to the page (303)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from core.accounts.permissions import current_user
from core.i18n import _
from core.org import unit_import, units
from core.org.tables import Council, Unit
from core.org.tree import children_map
from core.web import form_of, parse_id, see_other

#: Admins only: no role grants "units.manage" (core.accounts.permissions.ADMIN_PERMISSIONS).
PERMISSION = {"permission": "units.manage"}
PRIVATE = {"Cache-Control": "no-store"}
MAX_BODY = unit_import.MAX_BYTES * 2 + 64 * 1024


async def tree_rows() -> list[dict[str, Any]]:
    """Every unit in tree order with its depth and how many councils sit on it."""
    rows = await Unit.select(Unit.id, Unit.name, Unit.kind, Unit.parent, Unit.code)
    by_id = {r["id"]: r for r in rows}
    counts: dict[int, int] = {}
    for c in await Council.select(Council.unit):
        counts[c["unit"]] = counts.get(c["unit"], 0) + 1
    children = children_map({r["id"]: r["parent"] for r in rows})
    out: list[dict[str, Any]] = []
    stack = [(u, 0) for u in reversed(children.get(None, []))]
    while stack:
        unit, depth = stack.pop()
        row = by_id[unit]
        out.append({**row, "depth": depth, "councils": counts.get(unit, 0)})
        stack.extend((c, depth + 1) for c in reversed(children.get(unit, [])))
    return out


async def _actor(request: Request) -> str:
    user = await current_user(request)
    return user.actor if user else "system"


class UnitController(Controller):
    path = "/units"
    opt = PERMISSION

    async def _page(self, unit_id: int, *, error: str = "", values: dict[str, str] | None = None,
                    status_code: int = 200) -> Template:
        unit = await units.unit_row(unit_id)
        if unit is None:
            raise NotFoundException(_("没有这个单元。"))
        tree = await tree_rows()
        from core.org.tree import descendants

        below = descendants({r["id"]: r["parent"] for r in tree}, unit_id)
        councils = await Council.select(Council.id, Council.name, Council.practice).where(
            Council.unit == unit_id).order_by(Council.id)
        children = [r for r in tree if r["parent"] == unit_id]
        return Template("org/unit.html", context={
            "unit": unit, "tree": tree, "targets": [r for r in tree if r["id"] not in below],
            "councils": councils, "children": children, "kinds": units.KINDS, "error": error,
            "values": values or {}}, status_code=status_code, headers=PRIVATE)

    @get("/", name="units")
    async def index(self) -> Template:
        return Template("org/units.html", context={"tree": await tree_rows(), "kinds": units.KINDS,
                                                    "error": "", "values": {}}, headers=PRIVATE)

    @post("/", name="unit_add")
    async def add(self, request: Request) -> Redirect | Template:
        form = await form_of(request)
        parent = parse_id(form.get("parent")) if form.get("parent") else None
        try:
            unit_id = await units.add_unit(name=form.get("name", ""), kind=form.get("kind", ""), parent=parent,
                                           code=form.get("code", ""), actor=await _actor(request))
        except units.UnitError as exc:
            return Template("org/units.html", context={"tree": await tree_rows(), "kinds": units.KINDS,
                                                        "error": str(exc), "values": form},
                            status_code=422, headers=PRIVATE)
        return see_other(f"/units/{unit_id}")

    @get("/{unit_id:int}", name="unit_edit")
    async def show(self, unit_id: FromPath[int]) -> Template:
        return await self._page(unit_id)

    @post("/{unit_id:int}/edit", name="unit_rename")
    async def edit(self, request: Request, unit_id: FromPath[int]) -> Redirect | Template:
        form = await form_of(request)
        try:
            await units.edit_unit(unit_id, name=form.get("name", ""), kind=form.get("kind", ""),
                                  code=form.get("code", ""), actor=await _actor(request))
        except units.UnitError as exc:
            return await self._page(unit_id, error=str(exc), values=form, status_code=422)
        return see_other(f"/units/{unit_id}")

    @post("/{unit_id:int}/move", name="unit_move")
    async def move(self, request: Request, unit_id: FromPath[int]) -> Redirect | Template:
        form = await form_of(request)
        raw = form.get("parent", "")
        parent = parse_id(raw) if raw else None
        if raw and parent is None:
            return await self._page(unit_id, error=_("目标上级单元不存在。"), status_code=422)
        try:
            await units.move_unit(unit_id, parent, actor=await _actor(request))
        except units.UnitError as exc:
            return await self._page(unit_id, error=str(exc), status_code=422)
        return see_other(f"/units/{unit_id}")

    @post("/{unit_id:int}/delete", name="unit_delete")
    async def delete(self, request: Request, unit_id: FromPath[int]) -> Redirect | Template:
        try:
            await units.delete_unit(unit_id, actor=await _actor(request))
        except units.UnitError as exc:
            return await self._page(unit_id, error=str(exc), status_code=422)
        return see_other("/units")

    @post("/{unit_id:int}/councils", name="unit_council_move")
    async def move_council(self, request: Request, unit_id: FromPath[int]) -> Redirect | Template:
        """Move one of this unit's councils to another unit (form fields council, target)."""
        form = await form_of(request)
        council, target = parse_id(form.get("council")), parse_id(form.get("target"))
        if council is None or target is None:
            return await self._page(unit_id, error=_("请选择议事机构和目标单元。"), status_code=422)
        try:
            await units.move_council(council, target, actor=await _actor(request))
        except units.UnitError as exc:
            return await self._page(unit_id, error=str(exc), status_code=422)
        return see_other(f"/units/{unit_id}")

    # --- import ------------------------------------------------------------------------------

    async def _import_page(self, *, plan: unit_import.UnitPlan | None = None, data: bytes = b"",
                           under: int | None = None, created: int | None = None, error: str = "",
                           status_code: int = 200) -> Template:
        return Template("org/import.html", context={
            "plan": plan, "payload": base64.b64encode(data).decode() if data else "", "under": under,
            "created": created, "error": error, "tree": await tree_rows(),
            "labels": unit_import.column_labels()}, status_code=status_code, headers=PRIVATE)

    @get("/import", name="unit_import")
    async def import_form(self) -> Template:
        return await self._import_page()

    @post("/import", name="unit_import_preview", request_max_body_size=MAX_BODY)
    async def import_preview(self, request: Request) -> Template:
        form = await request.form()
        upload = form.get("file")
        under_raw = form.get("under") if isinstance(form.get("under"), str) else ""
        under = parse_id(under_raw) if under_raw else None
        if not isinstance(upload, UploadFile):
            return await self._import_page(error=_("请选择要导入的文件。"), status_code=422)
        data = await upload.read()
        plan = await unit_import.make_plan(data, upload.filename or "", under)
        return await self._import_page(plan=plan, data=data if plan.ok else b"", under=under,
                                       status_code=200 if plan.ok else 422)

    @post("/import/confirm", name="unit_import_confirm", request_max_body_size=MAX_BODY)
    async def import_confirm(self, request: Request) -> Template:
        form = await form_of(request)
        under = parse_id(form.get("under")) if form.get("under") else None
        try:
            data = base64.b64decode(form.get("payload", ""), validate=True)
        except (binascii.Error, ValueError):
            data = b""
        if not data:
            return await self._import_page(error=_("没有收到要导入的文件，请重新上传。"), status_code=422)
        try:
            plan, created = await unit_import.run_import(data, form.get("filename", "")[:200], under,
                                                         await _actor(request))
        except unit_import.ImportRefused as exc:
            return await self._import_page(plan=exc.args[0], under=under, status_code=422)
        return await self._import_page(plan=plan, under=under, created=created)
