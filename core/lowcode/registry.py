"""The shared forms in ``forms/`` (居民提事表, 签到表, 满意度测评表, 交办单, 办理反馈表 …).

They install with Yishi as the ``forms`` package and are read once per process. A problem in one of
them is a bug in Yishi itself, so it raises at load with the file named, like any spec error.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from core.lowcode.forms import FormSpec, load_form_file
from core.lowcode.specs import SpecError, SpecProblem


def forms_root() -> Traversable:
    """The installed ``forms`` package's folder."""
    try:
        return files("forms")
    except NotADirectoryError:
        # An editable install made while forms/ had no __init__.py maps it as a namespace package
        # with a placeholder path entry, which importlib.resources on 3.11 cannot multiplex.
        import forms

        return next(Path(p) for p in forms.__path__ if Path(p).is_dir())


@cache
def _load() -> dict[str, FormSpec]:
    root = forms_root()
    specs: dict[str, FormSpec] = {}
    problems: list[SpecProblem] = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml") or not entry.is_file():
            continue
        source = f"forms/{entry.name}"
        try:
            spec = load_form_file(entry, source=source)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        stem = entry.name.removesuffix(".toml")
        if spec.id != stem:
            problems.append(SpecProblem(source, "id", None, f"共享表单的 id（{spec.id!r}）必须与文件名（{stem}）一致",
                                        f"a shared form's id ({spec.id!r}) must equal its file name ({stem})"))
            continue
        specs[spec.id] = spec
    if problems:
        raise SpecError(problems)
    return specs


def shared_forms() -> dict[str, FormSpec]:
    """Every shared form by id (a fresh dict each call; the specs themselves are immutable)."""
    return dict(_load())


def shared_form(form_id: str) -> FormSpec:
    """One shared form; ``KeyError`` if there is none with that id."""
    return _load()[form_id]
