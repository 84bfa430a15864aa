"""`yishi plugin check [PATH]`: validate spec files before a deployment loads them.

Without PATH: the plugins of this deployment (metadata, hooks, practices — everything
``load_plugins`` checks) and core's shared forms and workflows. With PATH (a file or a folder):
every ``*.toml`` under it, read as a form (it has ``fields``), a workflow (it has ``states`` or
``transitions``) or a voting rule (``participation`` / ``approval``), workflows checked against the
shared forms and the forms found beside them.
Every problem is printed with its file, key and line, in Chinese and English.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from core.errors import YishiError
from core.lowcode.forms import load_form_file
from core.lowcode.registry import forms_root, shared_forms
from core.lowcode.specs import SpecError, parse_spec, read_spec
from core.lowcode.workflow import load_workflow_file
from core.lowcode.workflows import CORE_GUARDS, shared_workflows
from core.voting.loader import load_rule_file, shared_rules


def spec_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*.toml") if p.name != "pyproject.toml" and ".venv" not in p.parts)
    raise YishiError(f"{path}: 文件或文件夹不存在 / no such file or folder")


def check_path(path: Path) -> Iterator[tuple[str, str]]:
    """(file, problem) for every problem found; nothing when all specs are valid."""
    files = spec_files(path)
    kinds: dict[Path, str] = {}
    form_ids = set(shared_forms())
    for file in files:
        try:
            data = parse_spec(read_spec(file), str(file))
        except SpecError as exc:
            yield from ((str(file), str(p)) for p in exc.problems)
            continue
        if "fields" in data:
            kinds[file] = "form"
        elif "states" in data or "transitions" in data:
            kinds[file] = "workflow"
        elif "participation" in data or "approval" in data or "unanimity" in data:
            kinds[file] = "rule"
        else:
            yield str(file), (f"{file}: 既不是表单（没有 fields）、流程（没有 states/transitions），也不是表决规则"
                              "（没有 participation/approval） / neither a form (no fields), a workflow (no "
                              "states/transitions) nor a voting rule (no participation/approval)")
    for file, kind in kinds.items():
        if kind == "form":
            try:
                form_ids.add(load_form_file(file).id)
            except SpecError as exc:
                yield from ((str(file), str(p)) for p in exc.problems)
    for file, kind in kinds.items():
        if kind == "rule":
            try:
                load_rule_file(file)
            except SpecError as exc:
                yield from ((str(file), str(p)) for p in exc.problems)
    for file, kind in kinds.items():
        if kind == "workflow":
            try:
                load_workflow_file(file, known_guards=CORE_GUARDS, known_forms=form_ids)
            except SpecError as exc:
                yield from ((str(file), str(p)) for p in exc.problems)


def check_installed() -> Iterator[tuple[str, str]]:
    """Core's shared specs (the plugins themselves are checked by load_plugins in the CLI)."""
    try:
        shared_forms()
        shared_workflows()
        shared_rules()
    except SpecError as exc:
        yield from ((p.file, str(p)) for p in exc.problems)
    yield from check_path(Path(str(forms_root())))
