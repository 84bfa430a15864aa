"""Hostile input to every form: each request gets a clear answer, never a 500, and changes nothing
unless it was valid.

Hypothesis posts random and hostile values — over-long strings, control characters, NUL bytes,
HTML and script, SQL fragments, numbers that are huge, negative or written in other scripts' digits —
to the login, the password change, the admin's user forms and the chair's meeting console, in every
way a body can arrive (urlencoded, multipart, a file where text belongs, repeated fields, JSON,
garbage bytes, broken multipart), with a valid, missing, forged or someone else's CSRF token, and
with other councils' or non-existent ids in the path. For each request:

- the status is one of 200, 303, 401, 403, 404, 422, 429 (400 only for a broken multipart body),
  and a 422 says what is wrong in Chinese;
- the database (every row of every table, the audit log included) is unchanged unless the request
  was valid — decided here, from the documented rules, not by asking the app;
- no page echoes an injected ``<script>`` or event handler unescaped, and a login never redirects
  off the site.

The sample plugin has no form, so only core's forms are exercised. SQLite runs every form; one
smaller mixed run goes to PostgreSQL, where integer columns are 32-bit.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from core.accounts.controllers import login_limiters
from core.accounts.tables import User
from core.meetings.tables import AgendaItem, Meeting
from core.org.tables import Person, Unit
from tests.conftest import database_state, http_client, login
from tests.factories import PASSWORD, make_council, make_meeting, make_user

ALLOWED = {200, 303, 401, 403, 404, 422, 429}
CHINESE = re.compile(r"[\u4e00-\u9fff]")
HX = {"HX-Request": "true"}
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSTGRES = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def hypothesis_settings(examples: int) -> Any:
    # No shrinking: a failure is reported as found (its request is printed in full), in seconds rather
    # than minutes; the problems found so far are pinned down as plain examples at the end of the file.
    return settings(max_examples=examples, deadline=None, database=None, report_multiple_bugs=False,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# -------------------------------------------------------------------------------------------------
# What is sent
# -------------------------------------------------------------------------------------------------

XSS = ["<script>alert('yishi-xss')</script>", '"><img src=x onerror=alert(1)>', "<svg onload=alert(1)>",
       "</textarea><script>alert(2)</script>", "javascript:alert(3)", "{{ 7*7 }}{% raw %}"]
#: Never in a page unless something was echoed unescaped.
UNESCAPED = ["<script>alert(", "<img src=x onerror", "<svg onload", "</textarea><script"]
SQL = ["' OR '1'='1", "'; DROP TABLE yishi_user; --", "1; SELECT pg_sleep(5)",
       "1 UNION SELECT password_hash FROM yishi_user", '" OR ""="', "\\'; --", "%' --"]
CONTROL = ["\x00", "a\x00b", "\r\n", "\r", "\t", "\x1b[31m", "\x7f", "\x85", "\u202e", "\ufeff", "\u2028", "\u200b"]
NUMBERS = ["0", "00", "1", "7", "-1", "-0", "+5", " 7 ", "7.0", "1e3", "0x10", "1_000", "99999999999999999999999",
           str(2**31), str(2**63), "١٢", "٣", "３", "²", "Ⅻ", "NaN", "Infinity", "None", "null", "true", "[]", "{}"]
LONG = ["x" * 5000, "议" * 4001, "🙂" * 300, "a" * 100_000]
HOSTILE = [*XSS, *SQL, *CONTROL, *NUMBERS, *LONG, "", " ", "\\", "%00", "../../etc/passwd", "Ａ", "İ", "\u212a"]

hostile = st.sampled_from(HOSTILE)
anything = st.one_of(hostile, st.text(max_size=40), st.text(max_size=400),
                     st.tuples(st.text(max_size=10), hostile, st.text(max_size=10)).map("".join))
#: Field names: the real ones, a stray CSRF field, nonsense (a multipart part header has a length limit).
names = st.one_of(st.sampled_from(["position", "yes", "no", "abstain", "body", "active", "username", "password",
                                   "_csrf_token", "", "x" * 300, "<script>", "a\x00b"]), st.text(max_size=20))
numbers = st.one_of(st.sampled_from(NUMBERS), st.integers(0, 12).map(str),
                    st.integers(-(10**30), 10**30).map(str), anything)

BODIES = ["form", "form", "form", "form", "multipart", "repeated", "file", "json", "garbage", "bad_multipart",
          "binary_multipart"]
#: Multipart bodies: one the parser cannot read (broken, a part header over its limit, a part that is
#: not UTF-8 text) may be answered 400.
MULTIPART = {"multipart", "file", "bad_multipart", "binary_multipart"}
CSRF = ["header", "header", "header", "form_field", "missing", "forged", "other_token"]


@dataclass
class Attempt:
    """One request: who sends what, how, with which CSRF token."""

    fields: dict[str, str]
    body: str = "form"
    csrf: str = "header"
    htmx: bool = False
    forged_token: str = "forged"
    garbage: bytes = b"\xff\xfe\x00"

    @property
    def csrf_ok(self) -> bool:
        if self.csrf == "header":
            return True
        # (with binary_multipart the token part is readable: a lenient parser may accept it)
        return self.csrf == "form_field" and self.body in ("form", "multipart", "repeated", "file",
                                                           "binary_multipart")

    def seen_by_server(self) -> dict[str, str]:
        """The form the handler reads (core.web.form_of: strings; a file is ""; the last value wins);
        for bodies it cannot read as a form, nothing."""
        if self.body in ("json", "garbage", "bad_multipart", "binary_multipart"):
            return {}
        seen = dict(self.fields)
        if self.body == "file" and seen:
            seen[next(iter(seen))] = ""
        return seen


attempt_options = st.fixed_dictionaries({
    "body": st.sampled_from(BODIES),
    "csrf": st.sampled_from(CSRF),
    "htmx": st.booleans(),
    "forged_token": st.one_of(st.text(string.ascii_letters + string.digits + "-_.", max_size=80),
                              st.sampled_from(["", "null", "a" * 4000])),
    "garbage": st.binary(max_size=200).map(lambda b: b.replace(b"=", b"").replace(b"&", b"")),
})


# -------------------------------------------------------------------------------------------------
# The seeded world and how a request is sent and judged
# -------------------------------------------------------------------------------------------------


class World:
    """The seeded database and the logged-in clients (a plain class: Hypothesis prints its repr)."""

    def __init__(self, app: Any, clients: dict[str, httpx.AsyncClient], ids: dict[str, int],
                 items_a: list[int], usernames: set[str]) -> None:
        self.app, self.clients, self.ids, self.items_a, self.usernames = app, clients, ids, items_a, usernames
        self.password = PASSWORD  # pwuser's current password

    def __repr__(self) -> str:
        return f"World(ids={self.ids}, items_a={self.items_a})"


@pytest.fixture
async def world(client: httpx.AsyncClient) -> AsyncIterator[World]:
    """Council A (chair, recorder) with a 3-item meeting, council B (chair_b) with its own, an admin,
    a user to (de)activate and a user who changes their password; each logged in on its own client."""
    council_a = await make_council()
    meeting_a = await make_meeting(3, council=council_a)
    council_b = await make_council(suffix="_b")
    meeting_b = await make_meeting(1, council=council_b)
    items_a = [r["id"] for r in await AgendaItem.select(AgendaItem.id).where(
        AgendaItem.meeting == meeting_a.id).order_by(AgendaItem.position)]
    item_b = (await AgendaItem.select(AgendaItem.id).where(AgendaItem.meeting == meeting_b.id).first())["id"]
    admin = await make_user("admin", is_admin=True)
    target = await make_user("target")
    await make_user("pwuser")
    await make_user("victim")
    street_a = (await Unit.select(Unit.parent).where(Unit.id == council_a.unit).first())["parent"]
    await make_user("staff", unit=street_a)  # staff scope over council A
    unit = await Unit.select(Unit.id).first()
    person = await Person.select(Person.id).first()
    async with AsyncExitStack() as stack:
        clients = {"anonymous": client}
        for name in ("chair", "admin", "pwuser", "staff"):
            clients[name] = await stack.enter_async_context(http_client(client.app))  # type: ignore[attr-defined]
            await login(clients[name], name)
        usernames = {r["username"] for r in await User.select(User.username)}
        yield World(app=client.app, clients=clients, items_a=items_a, usernames=usernames,  # type: ignore[attr-defined]
                    ids={"council_a": council_a.id, "meeting_a": meeting_a.id, "meeting_b": meeting_b.id,
                         "item_b": item_b,
                         "admin": admin.id, "target": target.id, "unit": unit["id"], "person": person["id"]})


async def send(world: World, who: str, url: str, attempt: Attempt) -> httpx.Response:
    client = world.clients[who]
    headers = dict(HX) if attempt.htmx else {}
    fields = dict(attempt.fields)
    token = client.cookies.get("yishi_csrf") or ""
    if attempt.csrf == "form_field":
        fields["_csrf_token"] = token
    if attempt.csrf == "forged":
        headers["x-csrftoken"] = attempt.forged_token
    if attempt.csrf == "other_token":  # signed by this site, but for another visitor's cookie
        other = next(c for n, c in world.clients.items() if n != who)
        headers["x-csrftoken"] = other.cookies.get("yishi_csrf") or "none"
    kwargs: dict[str, Any] = {}
    token_part = {"_csrf_token": (None, token.encode())} if attempt.csrf == "form_field" else {}
    if attempt.body == "form":
        kwargs["data"] = fields
    elif attempt.body == "multipart":
        kwargs["files"] = {k: (None, v.encode()) for k, v in attempt.fields.items()} | token_part
    elif attempt.body == "file":  # the first field arrives as an uploaded file
        kwargs["files"] = {k: ("upload.txt" if i == 0 else None, v.encode())
                           for i, (k, v) in enumerate(attempt.fields.items())} | token_part
        kwargs["files"].setdefault("upload", ("upload.txt", b"x"))
    elif attempt.body == "repeated":  # each field twice: a decoy first, the value last (the last wins)
        pairs = [(k, "<decoy>") for k in attempt.fields] + list(fields.items())
        kwargs["content"] = urlencode(pairs).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    elif attempt.body == "binary_multipart":  # the first field's bytes are not UTF-8
        parts = {k: (None, v.encode()) for k, v in attempt.fields.items()} or {"body": (None, b"")}
        first = next(iter(parts))
        parts[first] = (None, b"\xff" + attempt.garbage)
        kwargs["files"] = parts | token_part
    elif attempt.body == "json":
        kwargs["json"] = fields
    elif attempt.body == "garbage":
        kwargs["content"] = attempt.garbage
        headers["content-type"] = "application/x-www-form-urlencoded"
    else:  # bad_multipart
        kwargs["content"] = b"--xx\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nbroken"
        headers["content-type"] = "multipart/form-data; boundary=xx"
    if attempt.csrf == "header":
        return await client.post(url, headers=headers, **kwargs)
    # Without the client's hook that copies the CSRF cookie into the header.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app), base_url="http://testserver",
                                 cookies=client.cookies) as raw:
        return await raw.post(url, headers=headers, **kwargs)


def changes(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]) -> set[tuple[str, str]]:
    """(table, column) pairs that differ; ("table", "*") for added or removed rows."""
    diff: set[tuple[str, str]] = set()
    for table, rows in before.items():
        new = after[table]
        if len(rows) != len(new):
            diff.add((table, "*"))
            continue
        for old_row, new_row in zip(rows, new, strict=True):
            diff.update((table, col) for col in old_row if old_row[col] != new_row.get(col))
    return diff


async def judge(world: World, who: str, url: str, attempt: Attempt, *, may_change: bool,
                expect: set[int] | None = None,
                allowed_changes: Callable[[set[tuple[str, str]]], bool] | None = None) -> httpx.Response:
    """Send ``attempt`` and check the answer and the database against what the input deserves."""
    before = await database_state()
    r = await send(world, who, url, attempt)
    after = await database_state()
    sent = " | ".join(f"{k}={v[:80]!r}" for k, v in attempt.fields.items())
    where = f"POST {url} as {who}, body={attempt.body}, csrf={attempt.csrf}, htmx={attempt.htmx}: {sent}"
    # A multipart body the parser cannot read (broken, or a part header over its limit) is a 400.
    allowed = ALLOWED | ({400} if attempt.body in MULTIPART else set())
    assert r.status_code in allowed, f"{where}\n→ {r.status_code}: {r.text[:500]}"
    if not attempt.csrf_ok:
        assert r.status_code in ({403, 400} if attempt.body in MULTIPART else {403}), f"{where} → {r.status_code}"
    if r.status_code == 400 and not attempt.htmx:
        assert "请求有误" in r.text, f"{where}\n→ 400 without the Chinese error page: {r.text[:300]}"
    if expect is not None and attempt.csrf_ok:
        expect = expect | ({400} if attempt.body in MULTIPART else set())
        assert r.status_code in expect, f"{where}\n→ {r.status_code} (expected {sorted(expect)}): {r.text[:300]}"
    if r.status_code == 422:
        assert CHINESE.search(r.text), f"{where}\n→ 422 without a Chinese message: {r.text[:300]}"
    if r.headers.get("content-type", "").startswith("text/html"):
        for mark in UNESCAPED:
            assert mark not in r.text, f"{where}\n→ echoed {mark!r} unescaped"
    location = r.headers.get("location")
    if location is not None:
        assert location.startswith("/") and not location.startswith("//") and "\\" not in location, location
        assert not any(ord(c) < 33 for c in location), f"{where}\n→ Location {location!r}"
    diff = changes(before, after)
    if diff:
        assert may_change and attempt.csrf_ok, f"{where}\n→ {r.status_code}, yet the database changed: {sorted(diff)}"
        if allowed_changes is not None:
            assert allowed_changes(diff), f"{where}\n→ unexpected changes {sorted(diff)}"
        if r.status_code not in (200, 303):
            assert allowed_changes is not None, f"{where}\n→ refused with {r.status_code} but changed {sorted(diff)}"
    return r


def control_in(text: str, allow: str = "") -> bool:
    """A control character as the forms define it: Unicode category Cc (C0, DEL, C1) or a bidi
    override or isolate (U+202A–U+202E, U+2066–U+2069)."""
    bidi = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    return any((unicodedata.category(c) == "Cc" or c in bidi) and c not in allow for c in text)


def attempt_of(fields: dict[str, str], options: dict[str, Any]) -> Attempt:
    return Attempt(fields=fields, **options)


# -------------------------------------------------------------------------------------------------
# The chair's meeting console
# -------------------------------------------------------------------------------------------------

#: Which meeting and item the path names, from the chair of council A's point of view.
PATHS = ["own", "own", "own", "own", "own", "own_unicode_digits", "other_council", "foreign_item", "missing_meeting",
         "missing_item", "negative", "huge", "int32_overflow"]

ACTIONS = ["open", "goto", "hands", "notes", "close"]
UNICODE_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def meeting_url(world: World, action: str, path: str, item_index: int) -> tuple[str, set[int] | None, bool]:
    """(url, the statuses that may answer it, whether the path lets the chair change anything)."""
    mid, item = world.ids["meeting_a"], world.items_a[item_index % len(world.items_a)]
    expect: set[int] | None = None
    authorised = path in ("own", "own_unicode_digits", "foreign_item", "missing_item")
    meeting: str = str(mid)
    if path == "own_unicode_digits":
        meeting = str(mid).translate(UNICODE_DIGITS)
    elif path == "other_council":
        meeting, item, expect = str(world.ids["meeting_b"]), world.ids["item_b"], {403}
    elif path == "foreign_item":
        item = world.ids["item_b"]
    elif path == "missing_meeting":
        meeting, expect = "99999", {404}
    elif path == "missing_item":
        item = 99999
    elif path == "negative":
        meeting, expect = "-1", {404}
    elif path == "huge":
        meeting, expect = str(10**20), {404}
    elif path == "int32_overflow":
        meeting, expect = str(2**31), {404}
    if action in ("hands", "notes"):
        if path in ("foreign_item", "missing_item"):
            authorised, expect = False, {422}  # the item is not on this meeting's agenda
        return f"/meetings/{meeting}/items/{item}/{action}", expect, authorised
    return f"/meetings/{meeting}/{action}", expect, authorised  # no item in the path: as "own"


def valid_count(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if re.fullmatch(r"[0-9]+", raw) and int(raw) <= 100_000 else None


def meeting_input_valid(action: str, form: dict[str, str], positions: int) -> bool:
    if action in ("open", "close"):
        return True
    if action == "goto":
        raw = form.get("position", "")
        return bool(re.fullmatch(r"[0-9]+", raw)) and 1 <= int(raw) <= positions
    if action == "hands":
        counts = [valid_count(form.get(k, "")) for k in ("yes", "no", "abstain")]
        return None not in counts and sum(c or 0 for c in counts) > 0
    body = form.get("body", "").replace("\r\n", "\n").strip()
    return 0 < len(body) <= 4000 and not control_in(body, allow="\n\t")


COUNTS = ("yes", "no", "abstain")
#: For each action: valid input (so that changes happen and are checked too), hostile input, noise.
VALID_FIELDS = {
    "open": st.just({}),
    "close": st.just({}),
    "goto": st.fixed_dictionaries({"position": st.integers(1, 3).map(str)}),
    "hands": st.fixed_dictionaries({k: st.integers(0, 30).map(str) for k in COUNTS}),
    "notes": st.fixed_dictionaries({"body": st.one_of(st.sampled_from(XSS), st.text(min_size=1, max_size=80))}),
}
HOSTILE_FIELDS = {
    "open": st.dictionaries(names, anything, max_size=2),
    "close": st.dictionaries(names, anything, max_size=2),
    "goto": st.fixed_dictionaries({"position": numbers}),
    "hands": st.fixed_dictionaries({k: numbers for k in COUNTS}),
    "notes": st.fixed_dictionaries({"body": anything}),
}


@st.composite
def meeting_requests(draw: st.DrawFn) -> tuple[str, str, int, dict[str, str]]:
    """(action, path, item index, fields), the fields meant for that action."""
    action = draw(st.sampled_from(ACTIONS))
    fields = draw(st.one_of(VALID_FIELDS[action], HOSTILE_FIELDS[action],
                            st.dictionaries(names, anything, max_size=3)))
    return action, draw(st.sampled_from(PATHS)), draw(st.integers(0, 2)), fields


#: The meeting's state before the request (set directly, so every action meets every state).
STATES = ["draft", "in_session", "in_session", "in_session", "closed"]


async def meeting_case(world: World, action: str, path: str, item_index: int, fields: dict[str, str],
                       options: dict[str, Any], state: str = "in_session") -> None:
    mid = world.ids["meeting_a"]
    await Meeting.update({Meeting.state: state, Meeting.current_position: 1 if state == "in_session" else None}).where(
        Meeting.id == mid)
    attempt = attempt_of(fields, options)
    url, expect, authorised = meeting_url(world, action, path, item_index)
    may = authorised and meeting_input_valid(action, attempt.seen_by_server(), len(world.items_a))
    r = await judge(world, "chair", url, attempt, may_change=may, expect=expect)
    if r.status_code in (200, 303) and any(x in v for v in fields.values() for x in XSS):
        # What was stored is shown on the console and in the minutes: escaped there too.
        for page in (f"/meetings/{mid}", f"/meetings/{mid}/minutes"):
            shown = await world.clients["chair"].get(page)
            assert shown.status_code == 200, (page, shown.status_code)
            for mark in UNESCAPED:
                assert mark not in shown.text, f"{page} shows {mark!r} unescaped after {url} {fields}"


@SQLITE
@hypothesis_settings(120)
@given(request=meeting_requests(), options=attempt_options, state=st.sampled_from(STATES))
async def test_meeting_console_forms(world: World, request: tuple[str, str, int, dict[str, str]],
                                     options: dict[str, Any], state: str) -> None:
    await meeting_case(world, *request, options, state)


# -------------------------------------------------------------------------------------------------
# Login and password change
# -------------------------------------------------------------------------------------------------

login_fields = st.fixed_dictionaries({
    "username": st.one_of(st.sampled_from(["victim", "VICTIM", " victim ", "victim\x00", "vıctim", "chair"]),
                          anything),
    "password": st.one_of(st.just(PASSWORD), st.just(PASSWORD + "\x00"), anything),
    "next": st.one_of(st.sampled_from(["/", "//evil.example", "/\t/evil.example", "https://evil.example",
                                       "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
                                       "/meetings/1"]), anything),
})


async def login_case(world: World, fields: dict[str, str], options: dict[str, Any]) -> None:
    attempt = attempt_of(fields, options)
    world.app.state.login_limits = login_limiters()  # every example gets a fair try
    seen = attempt.seen_by_server()
    name = seen.get("username", "").strip().lower()[:40].strip().lower()
    known = name in world.usernames

    def only_that_login(diff: set[tuple[str, str]]) -> bool:
        # A known name: its failure counter or lock, a new session, the audit events of both.
        return diff <= {("yishi_user", "failed_logins"), ("yishi_user", "locked_until"),
                        ("yishi_user", "last_login_at"), ("yishi_session", "*"),
                        ("yishi_audit_event", "*"), ("yishi_audit_head", "seq"), ("yishi_audit_head", "hash"),
                        ("yishi_audit_head", "*")}

    # Anonymous: another client each time would be closer to a browser; the CSRF cookie is the same.
    r = await judge(world, "anonymous", "/login", attempt, may_change=known, allowed_changes=only_that_login)
    if r.status_code == 303:
        assert known and seen.get("password") == PASSWORD, "logged in without the password"
        world.clients["anonymous"].cookies.delete("yishi_session")


@SQLITE
@hypothesis_settings(40)
@given(fields=login_fields, options=attempt_options)
async def test_login_form(world: World, fields: dict[str, str], options: dict[str, Any]) -> None:
    await login_case(world, fields, options)


CURRENT, SAME = "\x01current\x01", "\x01same-as-new\x01"
password_fields = st.fixed_dictionaries({
    "current": st.one_of(st.just(CURRENT), anything),
    "new": st.one_of(st.text(min_size=8, max_size=20), st.sampled_from(["PwUser", "pwuser\x00\x00"]), anything),
    "confirm": st.one_of(st.just(SAME), anything),
})


def password_ok(new: str, username: str) -> bool:
    return 8 <= len(new) <= 128 and new.lower() != username.lower() and not control_in(new)


async def password_case(world: World, fields: dict[str, str], options: dict[str, Any]) -> None:
    fields = {k: world.password if v == CURRENT else v for k, v in fields.items()}
    fields = {k: fields.get("new", "") if v == SAME else v for k, v in fields.items()}
    attempt = attempt_of(fields, options)
    seen = attempt.seen_by_server()
    valid = (seen.get("current") == world.password and password_ok(seen.get("new", ""), "pwuser")
             and seen.get("new") == seen.get("confirm"))
    r = await judge(world, "pwuser", "/account/password", attempt, may_change=valid,
                    allowed_changes=lambda d: d <= {("yishi_user", "password_hash"), ("yishi_audit_event", "*"),
                                                    ("yishi_audit_head", "seq"), ("yishi_audit_head", "hash"),
                                                    ("yishi_audit_head", "*")})
    if valid and attempt.csrf_ok:
        assert r.status_code == 200, r.text[:300]
        world.password = seen["new"]


@SQLITE
@hypothesis_settings(40)
@given(fields=password_fields, options=attempt_options)
async def test_password_form(world: World, fields: dict[str, str], options: dict[str, Any]) -> None:
    await password_case(world, fields, options)


# -------------------------------------------------------------------------------------------------
# The admin's user forms
# -------------------------------------------------------------------------------------------------

EXISTING_UNIT, EXISTING_PERSON = "\x01unit\x01", "\x01person\x01"
ids_in_form = st.one_of(st.just(""), st.sampled_from([EXISTING_UNIT, EXISTING_PERSON]), numbers)
create_fields = st.fixed_dictionaries({
    "username": st.one_of(st.from_regex(r"[a-z][a-z0-9_.-]{2,12}", fullmatch=True),
                          st.sampled_from(["admin", "ADMIN", " newbie ", "\u212aelvin", "ab", "a" * 41]), anything),
    "display_name": st.one_of(st.text(min_size=1, max_size=60), st.sampled_from(XSS), anything),
    "password": st.one_of(st.text(min_size=8, max_size=30), anything),
    "unit": ids_in_form,
    "person": ids_in_form,
    "is_admin": st.sampled_from(["on", "", "off", "1", "true", "<script>"]),
})


def form_id_ok(raw: str, existing: set[int]) -> bool:
    """An optional id from a <select>: empty, or the ASCII digits of one that exists."""
    raw = raw.strip()
    return not raw or (raw.isascii() and raw.isdigit() and int(raw) in existing)


async def create_case(world: World, fields: dict[str, str], options: dict[str, Any]) -> None:
    swap = {EXISTING_UNIT: str(world.ids["unit"]), EXISTING_PERSON: str(world.ids["person"])}
    fields = {k: swap.get(v, v) for k, v in fields.items()}
    attempt = attempt_of(fields, options)
    seen = attempt.seen_by_server()
    username = seen.get("username", "").strip().lower()
    name = seen.get("display_name", "").strip()
    units = {r["id"] for r in await Unit.select(Unit.id)}
    people = {r["id"] for r in await Person.select(Person.id)}
    valid = (bool(re.fullmatch(r"[a-z][a-z0-9_.-]{2,39}", username)) and username not in world.usernames
             and 0 < len(name) <= 50 and not control_in(name)
             and password_ok(seen.get("password", ""), username)
             and form_id_ok(seen.get("unit", ""), units) and form_id_ok(seen.get("person", ""), people))
    r = await judge(world, "admin", "/admin/users", attempt, may_change=valid,
                    allowed_changes=lambda d: d <= {("yishi_user", "*"), ("yishi_audit_event", "*"),
                                                    ("yishi_audit_head", "seq"), ("yishi_audit_head", "hash"),
                                                    ("yishi_audit_head", "*")})
    if valid and attempt.csrf_ok:
        assert r.status_code == 303, r.text[:300]
        world.usernames.add(username)
        listing = await world.clients["admin"].get("/admin/users")
        for mark in UNESCAPED:
            assert mark not in listing.text, f"/admin/users shows {mark!r} unescaped after creating {fields}"


@SQLITE
@hypothesis_settings(60)
@given(fields=create_fields, options=attempt_options)
async def test_admin_create_user_form(world: World, fields: dict[str, str], options: dict[str, Any]) -> None:
    await create_case(world, fields, options)


USER_PATHS = ["target", "target", "target_unicode_digits", "self", "missing", "negative", "huge", "int32_overflow"]



async def activate_case(world: World, path: str, fields: dict[str, str], options: dict[str, Any]) -> None:
    attempt = attempt_of(fields, options)
    target = world.ids["target"]
    user_id, expect = {
        "target": (str(target), None), "target_unicode_digits": (str(target).translate(UNICODE_DIGITS), None),
        "self": (str(world.ids["admin"]), {422}), "missing": ("99999", {422, 404}), "negative": ("-1", {422, 404}),
        "huge": (str(10**20), {422, 404}), "int32_overflow": (str(2**31), {422, 404}),
    }[path]
    await judge(world, "admin", f"/admin/users/{user_id}/active", attempt,
                may_change=path.startswith("target"), expect=expect,
                allowed_changes=lambda d: d <= {("yishi_user", "active"), ("yishi_session", "*"),
                                                ("yishi_audit_event", "*"), ("yishi_audit_head", "seq"),
                                                ("yishi_audit_head", "hash"), ("yishi_audit_head", "*")})


@SQLITE
@hypothesis_settings(40)
@given(path=st.sampled_from(USER_PATHS), fields=st.fixed_dictionaries({"active": st.one_of(st.just("1"), anything)}),
       options=attempt_options)
async def test_admin_activate_form(world: World, path: str, fields: dict[str, str], options: dict[str, Any]) -> None:
    await activate_case(world, path, fields, options)


# -------------------------------------------------------------------------------------------------
# PostgreSQL: a smaller run over every form (its integers are 32-bit; its text refuses NUL)
# -------------------------------------------------------------------------------------------------

any_form = st.one_of(
    st.tuples(st.just("meeting"), meeting_requests()),
    st.tuples(st.just("login"), login_fields),
    st.tuples(st.just("password"), password_fields),
    st.tuples(st.just("create"), create_fields),
    st.tuples(st.just("activate"), st.sampled_from(USER_PATHS), st.fixed_dictionaries({"active": anything})),
)


@POSTGRES
@hypothesis_settings(60)
@given(case=any_form, options=attempt_options)
async def test_every_form_on_postgres(world: World, case: tuple[Any, ...], options: dict[str, Any]) -> None:
    kind, *args = case
    if kind == "meeting":
        await meeting_case(world, *args[0], options, state="in_session")
    elif kind == "login":
        await login_case(world, *args, options)
    elif kind == "password":
        await password_case(world, *args, options)
    elif kind == "create":
        await create_case(world, *args, options)
    else:
        await activate_case(world, *args, options)


# -------------------------------------------------------------------------------------------------
# What Hypothesis found, pinned down as plain examples (fast to run, easy to read)
# -------------------------------------------------------------------------------------------------

#: Beyond SQLite's 64-bit and PostgreSQL's 32-bit integer columns.
OUT_OF_RANGE = [str(10**20), str(2**63), str(2**31)]


async def test_ids_beyond_the_integer_columns_are_not_found(world: World) -> None:
    """A number no row can have is "not found" (or a field error), never a 500."""
    mid = world.ids["meeting_a"]
    await Meeting.update({Meeting.state: "in_session", Meeting.current_position: 1}).where(Meeting.id == mid)
    cases = [case for number in OUT_OF_RANGE for case in [
        ("chair", "GET", f"/meetings/{number}", {}, {404}),
        ("chair", "GET", f"/meetings/{number}/minutes", {}, {404}),
        ("chair", "POST", f"/meetings/{number}/open", {}, {404}),
        ("chair", "POST", f"/meetings/{mid}/items/{number}/notes", {"body": "补记"}, {404, 422}),
        ("chair", "POST", f"/meetings/{mid}/items/{number}/hands", {"yes": "1", "no": "0", "abstain": "0"},
         {404, 422}),
        ("chair", "POST", f"/meetings/{mid}/goto", {"position": number}, {422}),
        ("admin", "POST", f"/admin/users/{number}/active", {"active": "1"}, {404, 422}),
        ("admin", "POST", "/admin/users", {"username": "newbie", "display_name": "新用户", "password": "long-enough-1",
                                           "unit": number}, {422}),
    ]]
    failures = []
    for who, method, url, data, expected in cases:
        before = await database_state()
        r = await world.clients[who].request(method, url, data=data or None)
        if r.status_code not in expected or await database_state() != before:
            failures.append(f"{method} {url} {data} → {r.status_code}, expected {sorted(expected)}")
    assert not failures, "\n".join(failures)


async def test_a_council_that_does_not_exist_is_not_found(world: World) -> None:
    """A council that does not exist is a 404 for everyone (a stale link, not a refusal), also for
    staff, whose check looks up the council's units, and beyond the integer columns."""
    grants = world.app.state.access.grants
    paths = sorted(route.path for route in world.app.routes for handler in getattr(route, "route_handlers", [])
                   if "GET" in handler.http_methods and re.fullmatch(r"[^{}]*\{council_id:int\}[^{}]*", route.path)
                   and handler.opt.get("permission") in grants.get("staff", ()))
    if not paths:
        pytest.skip("no council-bound page that staff may see")
    path = paths[0]  # the guard decides, so one page stands for all
    failures = []
    for number in ["99999", *OUT_OF_RANGE]:
        url = path.replace("{council_id:int}", number)
        for who in ("staff", "chair"):
            r = await world.clients[who].get(url)
            if r.status_code != 404:
                failures.append(f"GET {url} as {who} → {r.status_code}, expected 404")
    # Council A itself: staff are let through (what the page answers then is its own business).
    ok = await world.clients["staff"].get(path.replace("{council_id:int}", str(world.ids["council_a"])))
    assert ok.status_code not in (401, 403) and "您要找的内容不存在或已被删除" not in ok.text, (path, ok.status_code)
    assert not failures, "\n".join(failures)


async def test_form_parts_that_are_not_utf8_get_a_clear_400(world: World) -> None:
    """A multipart part whose bytes are not UTF-8, anonymous and before any CSRF check, is a 400 page
    in Chinese — never a 500."""
    anonymous = world.clients["anonymous"]
    token = anonymous.cookies.get("yishi_csrf") or ""
    before = await database_state()
    failures = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app), base_url="http://testserver",
                                 cookies=anonymous.cookies) as raw:
        for label, client, parts in [
            ("token in the header", anonymous, {"username": (None, b"\xff\xfe"), "password": (None, b"x")}),
            ("token in the form", raw, {"username": (None, b"\xed\xa0\x80"), "_csrf_token": (None, token.encode())}),
            ("token not UTF-8", raw, {"_csrf_token": (None, b"\xff" + token.encode())}),
        ]:
            r = await client.post("/login", files=parts)
            if r.status_code != 400 or "请求有误" not in r.text:
                failures.append(f"{label}: {r.status_code} {r.text[:100]!r}")
    assert await database_state() == before
    assert not failures, "\n".join(failures)


async def test_login_with_nul_in_the_username_is_refused_like_any_wrong_name(world: World) -> None:
    """PostgreSQL refuses NUL in text: the name must be refused before it reaches the query."""
    before = await database_state()
    world.app.state.login_limits = login_limiters()
    for name in ("victim\x00", "\x00", "a\x00' OR '1'='1"):
        r = await world.clients["anonymous"].post("/login", data={"username": name, "password": PASSWORD})
        assert r.status_code == 422, (name, r.status_code, r.text[:200])
        assert "用户名或密码不正确" in r.text
    assert await database_state() == before


@SQLITE
async def test_control_characters_beyond_ascii_are_refused(world: World) -> None:
    """DEL, the C1 controls (U+009B starts a terminal escape) and bidi overrides are control characters
    too. (Inside the text: a trailing U+0085 is whitespace to str.strip() and is simply removed.)"""
    mid, item = world.ids["meeting_a"], world.items_a[0]
    await Meeting.update({Meeting.state: "in_session", Meeting.current_position: 1}).where(Meeting.id == mid)
    before = await database_state()
    for bad in ("\x7f", "\x85", "\x9b31m", "\u202e"):
        r = await world.clients["admin"].post("/admin/users", data={
            "username": "newbie", "display_name": f"新{bad}用户", "password": "long-enough-1"})
        assert r.status_code == 422, (repr(bad), r.status_code)
        r = await world.clients["chair"].post(f"/meetings/{mid}/items/{item}/notes", data={"body": f"记{bad}录"},
                                              headers=HX)
        assert r.status_code == 422, (repr(bad), r.status_code)
    assert await database_state() == before


@SQLITE
async def test_the_frameworks_own_refusals_speak_chinese(world: World) -> None:
    """A body over the size limit, a form address opened with GET, a query value of the wrong type:
    Litestar refuses them itself, in English ("Request Entity Too Large", "Validation failed for GET …");
    people get a page (and HTMX the message) in Chinese saying what to do, and nothing changes."""
    mid, item = world.ids["meeting_a"], world.items_a[0]
    await Meeting.update({Meeting.state: "in_session", Meeting.current_position: 1}).where(Meeting.id == mid)
    chair = world.clients["chair"]
    before = await database_state()
    big = {"body": "记" * (4 * 1024 * 1024)}  # 12 MB of UTF-8, over the 10 MB a plain form may send
    cases = [
        ("POST", f"/meetings/{mid}/items/{item}/notes", {"data": big}, 413, "提交的内容太大"),
        ("GET", f"/meetings/{mid}/goto", {}, 405, "请从页面上的链接或按钮进入"),
    ]
    council = world.ids["council_a"]
    for url in (f"/councils/{council}/roster/slips.pdf?entry=abc", f"/councils/{council}/roster/slips.pdf?entry=1.5"):
        r = await world.clients["admin"].get(url)
        assert r.status_code == 400 and "地址中的“entry”不对" in r.text, (url, r.status_code, r.text[:300])
        assert "Validation failed" not in r.text
    for method, url, kwargs, status, words in cases:
        for headers in ({}, HX):
            r = await chair.request(method, url, headers=headers, **kwargs)
            assert r.status_code == status and words in r.text, (method, url, headers, r.status_code, r.text[:200])
            assert not re.search(r"Request Entity Too Large|Method Not Allowed", r.text), r.text[:300]
    assert await database_state() == before
