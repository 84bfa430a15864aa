"""The workflows core ships (``forms/workflows/*.toml``) and the guards core can evaluate.

``topic`` is the common loop for a 议题 (提事 → 审事 → 议事 → 决事 → 办事 → 公示/反馈 → 评事),
``task`` one 交办 assignment to a responsible unit, ``meeting`` a sitting from draft to the
published minutes. A practice plugin may ship its own workflow and name core's guards in it; the
web layer evaluates the guards for an item and passes them to :func:`core.lowcode.workflow.apply`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.resources.abc import Traversable
from types import MappingProxyType

from core.i18n import N_, _, current_locale
from core.lowcode.registry import forms_root, load_shipped, shared_forms
from core.lowcode.workflow import WorkflowSpec, load_workflow_file

CORE_GUARDS: dict[str, str] = {
    "poll_passed": N_("表决已通过"),
    "has_responsible_unit": N_("已指定责任单位"),
    "all_tasks_done": N_("所有任务已办结"),
    "unsatisfied": N_("评价为不满意"),
    "has_agenda": N_("议程中至少有一个议题"),
}
"""Guard name → what it checks, as people read it (a msgid: translate with :func:`core_guard_labels`)."""


def core_guard_labels() -> dict[str, str]:
    """Core's guard names with their labels in the deployment's language."""
    return {name: _(label) for name, label in CORE_GUARDS.items()}


def workflow_dir() -> Traversable:
    """Where the shared workflow specs live (``forms/workflows`` in the installed package)."""
    return forms_root().joinpath("workflows")


def shared_workflows() -> Mapping[str, WorkflowSpec]:
    """Every shared workflow by id, loaded and checked once (per locale: labels are translated as the
    specs are read, core.i18n.spec_text)."""
    return _load(current_locale())


@cache
def _load(locale: str) -> Mapping[str, WorkflowSpec]:
    """The shared workflows read in ``locale``.

    Their guards must be core's and their forms shared forms. A problem is a bug in Yishi itself: it
    raises :class:`SpecError` naming the file, like any spec error, with the problems of every file.
    """
    known_forms = set(shared_forms())

    def load(entry: Traversable, source: str) -> WorkflowSpec:
        return load_workflow_file(entry, source=source, known_guards=CORE_GUARDS, known_forms=known_forms)

    found = load_shipped(workflow_dir(), "forms/workflows", load, "共享流程", "shared workflow")
    return MappingProxyType(found)


__all__ = ["CORE_GUARDS", "core_guard_labels", "shared_workflows", "workflow_dir"]
