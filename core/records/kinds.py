"""The optional parts of a record kind beyond form, workflow and signing (docs/records.md), each a
table of the kind's TOML that another practice can declare for its own cases:

- ``[choices.<field>]`` — a ``person`` field chooses among the council's roster (名册), optionally only
  some kinds of entry; a ``unit`` or ``person`` field may choose among the roster's buildings (楼栋);
- ``[defaults]`` — what the new-record form (and a step's form) starts with (``"today"`` for a date);
- ``[checklist]`` — the form is a checklist: each select with a "fail" option is an item, counted
  passed / failed, and each failed item opens a follow-up record of another kind (整改);
- ``[ledger]`` — each record is a line of a per-person running balance that never goes below a floor
  (志愿服务积分: earned and redeemed);
- ``[topic]`` — a record may be raised as a topic (议题) of the council, and is moved on by core when
  that topic is settled.

Parsing only; what core does with them is in :mod:`core.records.service`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from core.i18n import _, spec_text
from core.lowcode.forms import FormSpec
from core.lowcode.specs import Problems
from core.lowcode.workflow import State, WorkflowSpec

#: The pseudo-role of the transition core takes when a record's topic is settled (no button offers it).
TOPIC_ROLE = "topic"
#: A kind without ``workflow`` is simply 已登记: one state, no buttons.
SIMPLE_WORKFLOW = WorkflowSpec(id="", version=1, initial="recorded",
                               states={"recorded": State("recorded", "已登记", "#16A34A", True)},
                               transitions=(), on_enter={}, label="登记")


def simple_workflow() -> WorkflowSpec:
    """:data:`SIMPLE_WORKFLOW` with its labels in the deployment's language."""
    return replace(SIMPLE_WORKFLOW, label=_("登记"),
                   states={"recorded": replace(SIMPLE_WORKFLOW.states["recorded"], label=_("已登记"))})


@dataclass(frozen=True)
class RosterChoice:
    """``roster = "people"``: entries of the council's roster (of ``kinds`` only, labelled by them);
    ``roster = "buildings"``: the roster's buildings."""

    roster: str
    kinds: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Checklist:
    fail: str = "fail"
    pass_: str = "pass"
    problem_suffix: str = "_problem"
    follow_up: str = ""
    """Record kind opened for each failed item (its values: title = the item's label, ``item``,
    ``problem``); empty: none."""

    def items(self, form: FormSpec) -> list[tuple[str, str]]:
        """``(field name, label)`` of every select with the ``fail`` option, in form order."""
        return [(f.name, f.label) for f in form.fields
                if f.type == "select" and any(o.value == self.fail for o in f.options)]

    def tally(self, form: FormSpec, values: Mapping[str, Any]) -> dict[str, Any]:
        items = self.items(form)
        failed = [(n, label) for n, label in items if values.get(n) == self.fail]
        return {"passed": sum(1 for n, _label in items if values.get(n) == self.pass_),
                "failed": len(failed), "failed_items": failed}


@dataclass(frozen=True)
class Ledger:
    person_field: str
    amount_field: str
    debit_field: str = ""
    debit_values: tuple[str, ...] = ()
    min_balance: int = 0
    label: str = "余额"
    unit: str = ""

    def amount(self, values: Mapping[str, Any]) -> int:
        """The signed amount of a line: negative when ``debit_field`` holds one of ``debit_values``."""
        amount = int(values.get(self.amount_field) or 0)
        return -amount if self.debit_field and values.get(self.debit_field) in self.debit_values else amount


@dataclass(frozen=True)
class TopicLink:
    title: str
    category: str = ""
    description_field: str = ""
    proposer: str = ""
    button: str = "转为议题"
    states: tuple[str, ...] = ()
    close_states: tuple[str, ...] = ()
    close_transition: str = ""

    def topic_title(self, values: Mapping[str, Any], parent_title: str) -> str:
        shown = {k: (v.get("label") or v.get("name") or "") if isinstance(v, dict) else v for k, v in values.items()}
        return string.Formatter().vformat(self.title, (), _Blank({**shown, "parent": parent_title}))[:120]


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Extras:
    choices: Mapping[str, RosterChoice] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    date_field: str = ""
    checklist: Checklist | None = None
    ledger: Ledger | None = None
    topic: TopicLink | None = None


def _table(p: Problems, data: Mapping[str, Any], key: str) -> dict[str, Any]:
    raw = data.get(key, {})
    if not isinstance(raw, dict):
        p.add(key, p.locate.top_key(key), f"{key} 须写成 [{key}] 表", f"{key} must be a [{key}] table")
        return {}
    return raw


def _str(raw: Mapping[str, Any], key: str, default: str = "") -> str:
    value = raw.get(key, default)
    return value.strip() if isinstance(value, str) else default


def load_extras(p: Problems, data: Mapping[str, Any], form: FormSpec | None,
                workflow: WorkflowSpec | None, forms: Mapping[str, FormSpec] | None = None) -> Extras:
    """Read and check the optional tables; problems go to ``p`` like the rest of the spec."""
    loc = p.locate
    fields = {f.name: f for f in form.fields} if form else {}
    step_fields = {f.name for t in (workflow.transitions if workflow else ()) if t.form and forms and t.form in forms
                   for f in forms[t.form].fields}
    form_id = form.id if form else ""

    def need_field(key: str, line: int | None, name: str, types: tuple[str, ...]) -> None:
        if form is None:
            return
        found = fields.get(name)
        if found is None:
            p.add(key, line, f"表单 {form_id!r} 没有字段 {name!r}", f"form {form_id!r} has no field {name!r}")
        elif types and found.type not in types:
            p.add(key, line, f"字段 {name!r} 的类型须是 {'、'.join(types)}（现为 {found.type}）",
                  f"field {name!r} must be of type {', '.join(types)} (is {found.type})")

    choices: dict[str, RosterChoice] = {}
    for name, raw in _table(p, data, "choices").items():
        raw = raw if isinstance(raw, dict) else {}
        line = loc.table_key("choices", name) or loc.table_key(f"choices.{name}")
        roster, kinds = _str(raw, "roster"), raw.get("kinds", {})
        if roster not in ("people", "buildings"):
            p.add(f"choices.{name}.roster", line,
                  "roster 须是 \"people\"（名册上的人）或 \"buildings\"（名册上的楼栋）",
                  "roster must be \"people\" (the roster's entries) or \"buildings\" (its buildings)")
        if not isinstance(kinds, dict) or not all(isinstance(v, str) for v in kinds.values()):
            p.add(f"choices.{name}.kinds", line, "kinds 须写成 { 名册类别 = \"显示名\" }，如 { tenant = \"租户\" }",
                  "kinds must map roster kinds to labels, e.g. { tenant = \"租户\" }")
            kinds = {}
        need_field(f"choices.{name}", line, name, ("person", "unit"))
        choices[name] = RosterChoice(roster, dict(kinds))

    defaults: dict[str, str] = {}
    for name, value in _table(p, data, "defaults").items():
        if name not in step_fields:  # a field of the kind's form, or of a form a step asks for
            need_field(f"defaults.{name}", loc.table_key("defaults", name), name, ())
        if not isinstance(value, str):
            p.add(f"defaults.{name}", loc.table_key("defaults", name), "默认值须是字符串（日期可写 \"today\"）",
                  "a default must be a string (\"today\" for a date)")
            continue
        defaults[name] = value

    date_field = _str(data, "date_field")
    if date_field:
        need_field("date_field", loc.top_key("date_field"), date_field, ("date",))

    checklist = None
    if "checklist" in data:
        raw = _table(p, data, "checklist")
        checklist = Checklist(_str(raw, "fail", "fail"), _str(raw, "pass", "pass"),
                              _str(raw, "problem_suffix", "_problem"), _str(raw, "follow_up"))
        if form is not None and not checklist.items(form):
            p.add("checklist", loc.table_key("checklist"),
                  f"表单 {form_id!r} 没有检查项：检查项是含 {checklist.fail!r} 选项的单选字段",
                  f"form {form_id!r} has no checklist item: a select field with a {checklist.fail!r} option")

    ledger = None
    if "ledger" in data:
        raw = _table(p, data, "ledger")
        line = loc.table_key("ledger")
        person, amount, debit = _str(raw, "person_field"), _str(raw, "amount_field"), _str(raw, "debit_field")
        need_field("ledger.person_field", line, person, ("person",))
        need_field("ledger.amount_field", line, amount, ("number",))
        if debit:
            need_field("ledger.debit_field", line, debit, ("select",))
        debit_values = raw.get("debit_values", [])
        floor = raw.get("min_balance", 0)
        if not isinstance(debit_values, list) or not all(isinstance(v, str) for v in debit_values):
            p.add("ledger.debit_values", line, "debit_values 须是字符串列表", "debit_values must be a list of strings")
            debit_values = []
        if isinstance(floor, bool) or not isinstance(floor, int):
            p.add("ledger.min_balance", line, "min_balance 须是整数", "min_balance must be a whole number")
            floor = 0
        ledger = Ledger(person, amount, debit, tuple(debit_values), floor, spec_text(_str(raw, "label", "余额")),
                        spec_text(_str(raw, "unit")))

    topic = None
    if "topic" in data:
        raw = _table(p, data, "topic")
        line = loc.table_key("topic")
        states, close = raw.get("states", []), raw.get("close_states", [])
        topic = TopicLink(_str(raw, "title"), _str(raw, "category"), _str(raw, "description_field"),
                          _str(raw, "proposer"), spec_text(_str(raw, "button", "转为议题")),
                          tuple(states) if isinstance(states, list) else (),
                          tuple(close) if isinstance(close, list) else (), _str(raw, "close_transition"))
        if not topic.title:
            p.add("topic.title", line, "缺少议题标题 title，可用 {字段名} 和 {parent}",
                  "missing the topic's title; it may use {field} and {parent}")
        if topic.description_field:
            need_field("topic.description_field", line, topic.description_field, ())
        if workflow is not None:
            for state in topic.states:
                if state not in workflow.states:
                    p.add("topic.states", line, f"流程 {workflow.id!r} 没有状态 {state!r}",
                          f"workflow {workflow.id!r} has no state {state!r}")
            transition = workflow.transition(topic.close_transition) if topic.close_transition else None
            if topic.close_transition and (transition is None or TOPIC_ROLE not in transition.roles):
                p.add("topic.close_transition", line,
                      f"close_transition 须是流程中 roles 含 \"{TOPIC_ROLE}\" 的操作（议题办结后由核心执行）",
                      f"close_transition must be a transition of the workflow whose roles include \"{TOPIC_ROLE}\"")
    return Extras(choices, defaults, date_field, checklist, ledger, topic)


__all__ = ["SIMPLE_WORKFLOW", "TOPIC_ROLE", "Checklist", "Extras", "Ledger", "RosterChoice", "TopicLink",
           "load_extras", "simple_workflow"]
