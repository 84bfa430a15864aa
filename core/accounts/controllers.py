"""Login, logout, password change, and the admin's user list."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from core.accounts import services
from core.accounts.permissions import AUTHENTICATED, PUBLIC, current_user
from core.accounts.sessions import COOKIE, LIFETIME, create_session, end_other_sessions, end_session
from core.i18n import _
from core.org.tables import Person, Unit
from core.ratelimit import RateLimiter, SharedCounts
from core.web import form_of, parse_id, see_other


def login_limiters(shared: SharedCounts | None = None) -> dict[str, RateLimiter]:
    """Per app (kept in app.state): by client address and by username; counted in Redis when
    ``shared`` is given (core.ratelimit)."""
    return {"address": RateLimiter(30, 300, "login-address", shared),
            "name": RateLimiter(10, 300, "login-name", shared)}


def safe_next(target: str | None) -> str:
    """Only a local path may follow a login: never another site (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


class AccountController(Controller):
    path = "/"

    @get("/login", name="login", opt={"permission": PUBLIC})
    async def login_page(self, request: Request, next: FromQuery[str] = "/") -> Template:
        return Template("accounts/login.html", context={"next": safe_next(next), "errors": {}, "values": {}})

    @post("/login", name="login_submit", opt={"permission": PUBLIC})
    async def login(self, request: Request) -> Template | Redirect:
        form = await form_of(request)
        username = form.get("username", "").strip().lower()[:40]
        target = safe_next(form.get("next"))
        values = {"username": username}
        # Only failed attempts count: twenty members logging in from the meeting room's one Wi-Fi
        # address within minutes must all get in, while guessing from it is still cut off.
        limits, client = request.app.state.login_limits, _client(request)
        if await limits["address"].blocked(client) or await limits["name"].blocked(username):
            return Template("accounts/login.html", status_code=429, context={
                "next": target, "values": values,
                "errors": {"form": _("尝试次数过多，请稍后再试。")}})
        result = await services.authenticate(username, form.get("password", ""))
        if result.user_id is None:
            await limits["address"].allow(client)
            await limits["name"].allow(username)
            return Template("accounts/login.html", status_code=422, context={
                "next": target, "values": values, "errors": {"form": result.error}})
        token = await create_session(result.user_id, request.headers.get("user-agent", ""))
        response = see_other(target)
        response.set_cookie(COOKIE, token, max_age=int(LIFETIME.total_seconds()), httponly=True,
                            samesite="lax", secure=request.url.scheme == "https", path="/")
        return response

    @post("/logout", name="logout", opt={"permission": PUBLIC})
    async def logout(self, request: Request) -> Redirect:
        token = request.cookies.get(COOKIE)
        if token:
            await end_session(token)
        response = see_other("/login")
        response.delete_cookie(COOKIE, path="/")
        return response

    @get("/account/password", name="password", opt={"permission": AUTHENTICATED})
    async def password_page(self, request: Request) -> Template:
        return Template("accounts/password.html", context={"errors": {}, "done": False})

    @post("/account/password", name="password_submit", opt={"permission": AUTHENTICATED})
    async def password(self, request: Request) -> Template:
        user = await current_user(request)
        assert user is not None  # the guard let only logged-in users through
        form = await form_of(request)
        errors = await services.change_password(user.id, form.get("current", ""), form.get("new", ""),
                                                form.get("confirm", ""))
        if errors:
            return Template("accounts/password.html", status_code=422, context={"errors": errors, "done": False})
        await end_other_sessions(user.id, user.session_hash)
        return Template("accounts/password.html", context={"errors": {}, "done": True})


class UserAdminController(Controller):
    """Admins create accounts and switch them off. (Roles come from council seats.)"""

    path = "/admin/users"
    opt = {"permission": "users.manage"}  # noqa: RUF012 — Litestar reads it as a class attribute

    async def _context(self, **extra: Any) -> dict[str, Any]:
        from core.accounts.tables import User

        users = await User.select(User.id, User.username, User.display_name, User.is_admin, User.active,
                                  User.unit.name.as_alias("unit_name"), User.person.name.as_alias("person_name"),
                                  User.last_login_at).order_by(User.id)
        units = await Unit.select(Unit.id, Unit.name, Unit.kind).order_by(Unit.id)
        people = await Person.select(Person.id, Person.name).order_by(Person.id)
        return {"users": users, "units": units, "people": people, "errors": {}, "values": {}, **extra}

    @get("", name="users")
    async def index(self, request: Request) -> Template:
        return Template("admin/users.html", context=await self._context())

    @post("", name="users_create")
    async def create(self, request: Request) -> Template | Redirect:
        actor = await current_user(request)
        assert actor is not None
        form = await form_of(request)
        values = {k: form.get(k, "") for k in ("username", "display_name", "unit", "person", "is_admin")}
        errors: dict[str, str] = {}
        unit = _optional_id(form.get("unit"), errors, "unit")
        person = _optional_id(form.get("person"), errors, "person")
        new = services.NewUser(username=values["username"].strip().lower(), display_name=values["display_name"],
                               password=form.get("password", ""), is_admin=form.get("is_admin") == "on",
                               unit=unit, person=person)
        if unit is not None and not await Unit.exists().where(Unit.id == unit):
            errors["unit"] = _("没有这个组织单元。")
        if person is not None and not await Person.exists().where(Person.id == person):
            errors["person"] = _("没有这个人员。")
        if not errors:
            _id, errors = await services.create_user(new, actor.actor)
        if errors:
            return Template("admin/users.html", status_code=422,
                            context=await self._context(errors=errors, values=values))
        return see_other("/admin/users")

    @post("/{user_id:int}/active", name="users_active")
    async def active(self, request: Request, user_id: FromPath[int]) -> Redirect | Template:
        actor = await current_user(request)
        assert actor is not None
        form = await form_of(request)
        if user_id == actor.id:
            return Template("admin/users.html", status_code=422,
                            context=await self._context(errors={"form": _("不能停用自己的账号。")}))
        try:
            await services.set_active(user_id, form.get("active") == "1", actor.actor)
        except services.AccountError as exc:
            return Template("admin/users.html", status_code=422, context=await self._context(errors={"form": str(exc)}))
        return see_other("/admin/users")


def _optional_id(raw: str | None, errors: dict[str, str], field: str) -> int | None:
    if not (raw or "").strip():
        return None
    value = parse_id(raw)
    if value is None:
        errors[field] = _("请从列表中选择。")
    return value
