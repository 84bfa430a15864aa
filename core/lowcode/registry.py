"""The shared forms in ``forms/`` (居民提事表, 签到表, 满意度测评表, 交办单, 办理反馈表 …).

They install with Yishi as the ``forms`` package and are read once per process. A problem in one of
them is a bug in Yishi itself, so it raises at load with the file named, like any spec error.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TypeVar

from core.i18n import current_locale
from core.lowcode.forms import FormSpec, load_form_file
from core.lowcode.specs import SpecError, SpecProblem

T = TypeVar("T")


def forms_root() -> Traversable:
    """The installed ``forms`` package's folder."""
    try:
        return files("forms")
    except NotADirectoryError:
        # An editable install made while forms/ had no __init__.py maps it as a namespace package
        # with a placeholder path entry, which importlib.resources on 3.11 cannot multiplex.
        import forms

        return next(Path(p) for p in forms.__path__ if Path(p).is_dir())


def load_shipped(folder: Traversable, prefix: str, load: Callable[[Traversable, str], T], what_zh: str,
                 what_en: str) -> dict[str, T]:
    """Every ``*.toml`` in one of the spec folders Yishi ships (forms, workflows, voting rules), by id.

    ``load(entry, source)`` reads one file; each spec's id must equal its file name. A problem is a
    bug in Yishi itself, so it raises :class:`SpecError` with the problems of every file at once.
    """
    specs: dict[str, T] = {}
    problems: list[SpecProblem] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml") or not entry.is_file():
            continue
        source = f"{prefix}/{entry.name}"
        try:
            spec = load(entry, source)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        stem, spec_id = entry.name.removesuffix(".toml"), spec.id  # type: ignore[attr-defined]
        if spec_id != stem:
            problems.append(SpecProblem(source, "id", None, f"{what_zh}的 id（{spec_id!r}）必须与文件名（{stem}）一致",
                                        f"a {what_en}'s id ({spec_id!r}) must equal its file name ({stem})"))
            continue
        specs[spec_id] = spec
    if problems:
        raise SpecError(problems)
    return specs


@cache
def _load(locale: str) -> dict[str, FormSpec]:
    """Read once per locale: the specs' labels are translated as they are read (core.i18n.spec_text)."""
    return load_shipped(forms_root(), "forms", lambda entry, source: load_form_file(entry, source=source),
                        "共享表单", "shared form")


def shared_forms() -> dict[str, FormSpec]:
    """Every shared form by id (a fresh dict each call; the specs themselves are immutable)."""
    return dict(_load(current_locale()))


def shared_form(form_id: str) -> FormSpec:
    """One shared form; ``KeyError`` if there is none with that id."""
    return _load(current_locale())[form_id]
