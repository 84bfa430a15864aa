"""Account operations: log in (with lock-out), change a password, create and (de)activate users.

Every change is written with its audit event in one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core import audit, db
from core.accounts.passwords import hash_password, policy_error, verify_password
from core.accounts.tables import User
from core.i18n import _
from core.text import has_control

MAX_FAILURES = 5
LOCK_MINUTES = 15
USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{2,39}$")


class AccountError(Exception):
    """A refusal whose message is for the person at the form."""


@dataclass
class LoginResult:
    user_id: int | None
    error: str = ""


async def authenticate(username: str, password: str) -> LoginResult:
    """Check a login. After MAX_FAILURES wrong passwords the account is locked for LOCK_MINUTES."""
    generic = _("用户名或密码不正确。")
    username = username.strip().lower()
    if not USERNAME.match(username):  # e.g. a NUL byte, which PostgreSQL would refuse outright
        await verify_password(None, password)  # the same time as any other wrong name
        return LoginResult(None, generic)
    row = await User.select(User.id, User.password_hash, User.active, User.locked_until,
                            User.failed_logins).where(User.username == username).first()
    ok = await verify_password(row["password_hash"] if row else None, password)
    if row is None or not row["active"]:
        return LoginResult(None, generic)
    now = datetime.now(UTC)
    if row["locked_until"] is not None and row["locked_until"] > now:
        minutes = max(1, int((row["locked_until"] - now).total_seconds() // 60) + 1)
        return LoginResult(None, _("登录失败次数过多，账号已暂时锁定，请 {n} 分钟后再试。").format(n=minutes))
    async with db.atomic():
        if ok:
            await User.update({User.failed_logins: 0, User.locked_until: None, User.last_login_at: now}).where(
                User.id == row["id"])
            await audit.record(actor=f"user:{row['id']}", action="account.login", entity=f"user:{row['id']}")
            return LoginResult(row["id"])
        failures = row["failed_logins"] + 1
        changes: dict = {User.failed_logins: failures}
        if failures >= MAX_FAILURES:
            changes = {User.failed_logins: 0, User.locked_until: now + timedelta(minutes=LOCK_MINUTES)}
        await User.update(changes).where(User.id == row["id"])
        if failures >= MAX_FAILURES:
            await audit.record(actor="system", action="account.locked", entity=f"user:{row['id']}",
                               after={"minutes": LOCK_MINUTES})
    if failures >= MAX_FAILURES:
        return LoginResult(None, _("登录失败次数过多，账号已暂时锁定，请 {n} 分钟后再试。").format(n=LOCK_MINUTES))
    return LoginResult(None, generic)


async def change_password(user_id: int, current: str, new: str, confirm: str) -> dict[str, str]:
    """Errors by field; empty when the password was changed."""
    row = await User.select(User.username, User.password_hash).where(User.id == user_id).first()
    if row is None:
        raise AccountError(_("账号不存在。"))
    errors: dict[str, str] = {}
    if not await verify_password(row["password_hash"], current):
        errors["current"] = _("当前密码不正确。")
    problem = policy_error(new, row["username"])
    if problem:
        errors["new"] = problem
    elif new != confirm:
        errors["confirm"] = _("两次输入的新密码不一致。")
    if errors:
        return errors
    async with db.atomic():
        await User.update({User.password_hash: hash_password(new)}).where(User.id == user_id)
        await audit.record(actor=f"user:{user_id}", action="account.password_changed", entity=f"user:{user_id}")
    return {}


@dataclass
class NewUser:
    username: str
    display_name: str
    password: str
    is_admin: bool = False
    unit: int | None = None
    person: int | None = None


def validate_new_user(form: NewUser) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not USERNAME.match(form.username):
        errors["username"] = _("用户名须为 3–40 个小写字母、数字或 . _ -，以字母开头。")
    name = form.display_name.strip()
    if not name:
        errors["display_name"] = _("请填写姓名。")
    elif len(name) > 50 or has_control(form.display_name):  # before strip(): it eats U+0085
        errors["display_name"] = _("姓名不能超过 50 个字，且不能含控制字符。")
    problem = policy_error(form.password, form.username)
    if problem:
        errors["password"] = problem
    return errors


async def create_user(form: NewUser, actor: str) -> tuple[int | None, dict[str, str]]:
    """Create an account; (id, {}) or (None, errors by field). A taken username is a field error."""
    errors = validate_new_user(form)
    if errors:
        return None, errors
    async with db.atomic():
        if await User.exists().where(User.username == form.username):
            return None, {"username": _("用户名 {name} 已被使用。").format(name=form.username)}
        row = (await User.insert(User(
            username=form.username, display_name=form.display_name.strip(),
            password_hash=hash_password(form.password), is_admin=form.is_admin, unit=form.unit,
            person=form.person)).returning(User.id))[0]
        await audit.record(actor=actor, action="account.created", entity=f"user:{row['id']}", after={
            "username": form.username, "display_name": form.display_name.strip(),
            "is_admin": form.is_admin, "unit": form.unit, "person": form.person})
    return row["id"], {}


async def set_active(user_id: int, active: bool, actor: str) -> None:
    from core.accounts.sessions import forget
    from core.accounts.tables import UserSession

    async with db.atomic():
        before = await User.select(User.active).where(User.id == user_id).first()
        if before is None:
            raise AccountError(_("账号不存在。"))
        if before["active"] == active:
            return
        await User.update({User.active: active}).where(User.id == user_id)
        if not active:
            await UserSession.delete().where(UserSession.user == user_id)
        await audit.record(actor=actor, action="account.activated" if active else "account.deactivated",
                           entity=f"user:{user_id}", before={"active": before["active"]}, after={"active": active})
    forget()
