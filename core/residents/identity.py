"""Identity checks: how a resident who opened their personal link proves it is really them.

A practice names one with ``Practice(identity_check="phone_last4")``; plugins add more through the
``yishi_identity_checks`` hook. Core registers two (see core.builtin):

- ``room`` — type your room number (门牌号);
- ``phone_last4`` — type the last four digits of the phone the community has on file.

A check gets the roster entry as a dict (the columns of ``yishi_roster_entry``) and what the
resident typed, and answers True or False; it must not do I/O (it runs inside the request, and
wrong answers are rate-limited by the caller, not by the check).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.i18n import _

#: What a resident may type into a check's box; longer answers are refused before ``verify``.
MAX_ANSWER = 40


def _always(entry: Mapping[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class IdentityCheck:
    """One way to check a resident.

    id: unique across plugins, e.g. ``"phone_last4"``; a practice names it in ``identity_check``.
    label: a short name for staff pages and docs, e.g. "手机尾号".
    prompt: the question the resident reads above the box, e.g. "请输入您登记手机号码的后四位".
    input_mode: the HTML ``inputmode`` of the box — ``"numeric"`` brings up the number pad on a
        phone, ``"text"`` the full keyboard.
    verify: ``verify(entry, value) -> bool``; ``entry`` is the roster row as a dict, ``value``
        what the resident typed (at most :data:`MAX_ANSWER` characters, not yet normalised).
    applies: ``applies(entry) -> bool``; False when this entry has nothing to check against
        (e.g. no phone on file) — the resident is then asked the ``room`` check instead.
    """

    id: str
    label: str
    prompt: str
    input_mode: str
    verify: Callable[[Mapping[str, Any], str], bool]
    applies: Callable[[Mapping[str, Any]], bool] = field(default=_always)


FALLBACK_CHECK = "room"


def normalise(value: str) -> str:
    """Full-width digits and letters to ASCII (NFKC), spaces removed, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or "")).lower()


def _room_key(value: str) -> str:
    """``"1502室"``, ``" １５０２ "`` and ``"1502"`` are the same room."""
    text = normalise(value)
    for suffix in ("室", "号", "房"):
        text = text.removesuffix(suffix)
    return text


def verify_room(entry: Mapping[str, Any], value: str) -> bool:
    stored = _room_key(str(entry.get("room") or ""))
    return bool(stored) and _room_key(value) == stored


def verify_phone_last4(entry: Mapping[str, Any], value: str) -> bool:
    stored = str(entry.get("phone_last4") or "")
    typed = normalise(value)
    return len(stored) == 4 and len(typed) == 4 and typed.isascii() and typed == stored


def core_checks() -> list[IdentityCheck]:
    """The two checks core registers through ``yishi_identity_checks``."""
    return [
        IdentityCheck(id="room", label=_("门牌号"), prompt=_("请输入您家的房号（例如 1502）"),
                      input_mode="text", verify=verify_room),
        IdentityCheck(id="phone_last4", label=_("手机尾号"),
                      prompt=_("请输入您在社区登记的手机号码后四位"), input_mode="numeric",
                      verify=verify_phone_last4,
                      applies=lambda entry: len(str(entry.get("phone_last4") or "")) == 4),
    ]


def gather(results: Sequence[tuple[str, Sequence[IdentityCheck]]]) -> dict[str, IdentityCheck]:
    """Checks by id from the hook's ``(plugin id, checks)`` results; the first plugin to declare
    an id keeps it (core loads first, so a plugin cannot quietly weaken a core check)."""
    checks: dict[str, IdentityCheck] = {}
    for _plugin, declared in results:
        for check in declared:
            checks.setdefault(check.id, check)
    return checks


def mask_name(name: str) -> str:
    """王建华 → 王*华, 赵敏 → 赵*, 欧阳小明 → 欧**明: enough to recognise oneself, not to identify."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
