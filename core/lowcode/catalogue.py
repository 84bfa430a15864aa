"""Every form, workflow and voting rule a deployment knows: core's shared specs plus what plugins ship.

A plugin ships specs by returning files or folders of TOML from the ``yishi_forms``,
``yishi_workflows`` and ``yishi_vote_rules`` hooks; :func:`collect` reads them once, when the plugins load. Ids are one
namespace across core and all plugins — a plugin whose spec reuses an id is refused, naming both
owners — so a practice, a page or a stored submission can name a spec by id alone.

A plugin's workflow may name core's guards and any form of the catalogue (its own included). A
practice may pick its own resident intake form and topic workflow (``Practice.intake_form``,
``Practice.topic_workflow``); :func:`practice_problems` checks that the choice fits what core's
pages need: the intake form has core's fields, and the topic workflow keeps every state and
transition of core's ``topic`` workflow (it may relabel them, add roles, and add its own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from core.lowcode.forms import FormSpec, load_form_file
from core.lowcode.registry import shared_forms
from core.lowcode.specs import SpecError, SpecProblem
from core.lowcode.workflow import WorkflowSpec, load_workflow_file
from core.lowcode.workflows import CORE_GUARDS, shared_workflows
from core.voting.loader import load_rule_file, shared_rules
from core.voting.rules import Rule

CORE = "core"
INTAKE_FIELDS = ("title",)
"""Fields core's topic pages need in a resident's intake form (居民提事表); ``details``, ``category``
and ``photos`` are read when present."""


@dataclass(frozen=True)
class SpecCatalogue:
    """Forms and workflows by id, each with the plugin that owns it (``"core"`` for shared ones)."""

    forms: Mapping[str, FormSpec]
    workflows: Mapping[str, WorkflowSpec]
    owners: Mapping[str, str] = field(default_factory=dict)
    """``"form:<id>"`` / ``"workflow:<id>"`` / ``"rule:<id>"`` → owning plugin id."""
    rules: Mapping[str, Rule] = field(default_factory=dict)
    """Voting rules (表决规则) by id: core's profiles (forms/rules) and the plugins'."""
    records: Mapping[str, Any] = field(default_factory=dict)
    """Record kinds (:class:`core.records.spec.RecordKind`) by id, from the plugins' ``yishi_records``."""

    def form(self, form_id: str) -> FormSpec:
        """One form; ``KeyError`` if no loaded plugin ships it."""
        return self.forms[form_id]

    def workflow(self, workflow_id: str) -> WorkflowSpec:
        return self.workflows[workflow_id]

    def rule(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def owner(self, kind: str, spec_id: str) -> str:
        return self.owners.get(f"{kind}:{spec_id}", "")


def core_catalogue() -> SpecCatalogue:
    """The shared specs alone (a deployment without plugin specs; the CLI before plugins load)."""
    forms, workflows, rules = shared_forms(), dict(shared_workflows()), dict(shared_rules())
    owners = {**{f"form:{i}": CORE for i in forms}, **{f"workflow:{i}": CORE for i in workflows},
              **{f"rule:{i}": CORE for i in rules}}
    return SpecCatalogue(MappingProxyType(forms), MappingProxyType(workflows), MappingProxyType(owners),
                         MappingProxyType(rules))


def _toml_files(paths: Iterable[Any], plugin_id: str, hook: str) -> list[Path]:
    files: list[Path] = []
    for raw in paths or ():
        if not isinstance(raw, (str, Path)):
            raise SpecError([SpecProblem(f"<{plugin_id}>", hook, None, f"{hook} 必须返回文件或文件夹路径的列表",
                                         f"{hook} must return a list of file or folder paths, "
                                         f"got {type(raw).__name__}")])
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.toml") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise SpecError([SpecProblem(str(path), hook, None, "文件或文件夹不存在", "no such file or folder")])
    return files


def collect(base: SpecCatalogue, plugin_id: str, form_paths: Sequence[Any],
            workflow_paths: Sequence[Any], rule_paths: Sequence[Any] = (),
            record_paths: Sequence[Any] = ()) -> SpecCatalogue:
    """``base`` plus one plugin's specs, or :class:`SpecError` naming every problem (nothing is added).

    Forms are read first so the plugin's workflows may name them.
    """
    forms, workflows, owners, rules = dict(base.forms), dict(base.workflows), dict(base.owners), dict(base.rules)
    problems = []
    new_forms: list[tuple[Path, FormSpec]] = []
    for path in _toml_files(form_paths, plugin_id, "yishi_forms"):
        try:
            new_forms.append((path, load_form_file(path, source=str(path))))
        except SpecError as exc:
            problems.extend(exc.problems)
    for path, spec in new_forms:
        key = f"form:{spec.id}"
        if key in owners:
            problems.append(SpecProblem(
                str(path), "id", None, f"表单 id {spec.id!r} 已被 {owners[key]} 使用，请换一个（建议以插件 id 开头）",
                f"form id {spec.id!r} is already used by {owners[key]}; pick another (prefix it with the plugin id)"))
            continue
        forms[spec.id], owners[key] = spec, plugin_id
    for path in _toml_files(workflow_paths, plugin_id, "yishi_workflows"):
        try:
            spec = load_workflow_file(path, source=str(path), known_guards=CORE_GUARDS, known_forms=set(forms))
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        key = f"workflow:{spec.id}"
        if key in owners:
            problems.append(SpecProblem(
                str(path), "id", None, f"流程 id {spec.id!r} 已被 {owners[key]} 使用，请换一个（建议以插件 id 开头）",
                f"workflow id {spec.id!r} is already used by {owners[key]}; pick another (prefix it with the "
                "plugin id)"))
            continue
        workflows[spec.id], owners[key] = spec, plugin_id
    for path in _toml_files(rule_paths, plugin_id, "yishi_vote_rules"):
        try:
            rule = load_rule_file(path, source=str(path))
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        key = f"rule:{rule.id}"
        if key in owners:
            problems.append(SpecProblem(
                str(path), "id", None,
                f"表决规则 id {rule.id!r} 已被 {owners[key]} 使用，请换一个（建议以插件 id 开头）",
                f"voting rule id {rule.id!r} is already used by {owners[key]}; pick another (prefix it with the "
                "plugin id)"))
            continue
        rules[rule.id], owners[key] = rule, plugin_id
    records = dict(base.records)
    if not problems:  # record kinds name forms and workflows: read them once those are sound
        from core.records.spec import load_record_file

        for path in _toml_files(record_paths, plugin_id, "yishi_records"):
            try:
                kind = load_record_file(path, forms=forms, workflows=workflows, source=str(path))
            except SpecError as exc:
                problems.extend(exc.problems)
                continue
            key = f"record:{kind.id}"
            if key in owners:
                problems.append(SpecProblem(
                    str(path), "id", None,
                    f"记录类型 id {kind.id!r} 已被 {owners[key]} 使用，请换一个（建议以插件 id 开头）",
                    f"record kind id {kind.id!r} is already used by {owners[key]}; pick another (prefix it with "
                    "the plugin id)"))
                continue
            records[kind.id], owners[key] = kind, plugin_id
    if problems:
        raise SpecError(problems)
    return SpecCatalogue(MappingProxyType(forms), MappingProxyType(workflows), MappingProxyType(owners),
                         MappingProxyType(rules), MappingProxyType(records))


def practice_problems(catalogue: SpecCatalogue, practice: Any) -> list[str]:
    """Why a practice's chosen intake form or topic workflow cannot drive core's pages (empty: it can)."""
    out: list[str] = []
    form = catalogue.forms.get(practice.intake_form)
    if form is None:
        out.append(f"议事实践 {practice.id}: intake_form {practice.intake_form!r} 不存在 / no such form")
    else:
        names = {f.name for f in form.fields}
        missing = [n for n in INTAKE_FIELDS if n not in names]
        if missing:
            out.append(f"议事实践 {practice.id}: 提事表 {form.id!r} 缺少字段 {', '.join(missing)} / the intake form "
                       f"lacks the fields core reads: {', '.join(missing)}")
    workflow = catalogue.workflows.get(practice.topic_workflow)
    if workflow is None:
        out.append(f"议事实践 {practice.id}: topic_workflow {practice.topic_workflow!r} 不存在 / no such workflow")
        return out
    core_topic = catalogue.workflows["topic"]
    lost_states = [s for s in core_topic.states if s not in workflow.states]
    if lost_states:
        out.append(f"议事实践 {practice.id}: 流程 {workflow.id!r} 缺少核心议题流程的状态 {', '.join(lost_states)} / "
                   f"the topic workflow must keep core's states: {', '.join(lost_states)}")
    for t in core_topic.transitions:
        mine = workflow.transition(t.id)
        if mine is None or mine.target != t.target or not set(t.sources) <= set(mine.sources):
            out.append(f"议事实践 {practice.id}: 流程 {workflow.id!r} 的操作 {t.id!r} 必须保留（从 "
                       f"{'/'.join(t.sources)} 到 {t.target}） / must keep core's transition {t.id!r} "
                       f"({'/'.join(t.sources)} → {t.target})")
    return out


__all__ = ["CORE", "INTAKE_FIELDS", "SpecCatalogue", "collect", "core_catalogue", "practice_problems"]
