"""Record kinds (记录类型) declared in TOML: what a practice keeps, and how core runs it.

A record kind names a form (what is written), a workflow (which states it passes), the council
practices it belongs to, the columns of its list, the permissions to see and to create it, the
parties who must each sign before a named transition is taken, and the documents it prints. Core
stores every kind in one table and serves generic pages for it (:mod:`core.records.controllers`),
so a practice needs no Python for it. The reference is docs/records.md.

Loading checks the spec against the catalogue (the form and workflow exist, columns and parties
name fields of the form, the signing transition belongs to the pseudo-role ``parties``) and reports
every problem as ``FILE: KEY (第 N 行): 中文 / English``, like a form or workflow spec.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from core.i18n import spec_text
from core.lowcode.forms import FormSpec
from core.lowcode.specs import Problems, check_version, parse_spec, read_spec
from core.lowcode.workflow import WorkflowSpec
from core.records.kinds import SIMPLE_WORKFLOW, Extras, load_extras, simple_workflow

#: The pseudo-role of a workflow's signing transition: no council role holds it, so no button offers
#: it; core takes it, in the same transaction as the last party's signature.
PARTIES_ROLE = "parties"
#: Formats a record's document may be produced in (from one HTML template).
DOCUMENT_FORMATS = ("html", "pdf")

_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_PERMISSION = re.compile(r"^[a-z][a-z0-9_.]{1,59}$")
_TOP_KEYS = ("id", "version", "title", "description", "form", "workflow", "practices", "title_field", "columns",
             "edit_states", "meeting", "permissions", "signing", "parties", "documents", "date_field", "defaults",
             "choices", "checklist", "ledger", "topic", "export", "filters")


@dataclass(frozen=True)
class Party:
    """Someone who must sign: ``label`` (甲方) and the form field holding their name. ``contact_field``
    (optional, e.g. a phone) tells two parties of the same name apart: same name and same contact are
    one person, and the form is refused."""

    id: str
    label: str
    name_field: str
    contact_field: str = ""


@dataclass(frozen=True)
class Signing:
    """``transition`` is taken by core once every party signed the current revision. ``lock``: the
    record cannot be edited after the first signature. ``paper``: whoever may edit may record a
    signed printed copy."""

    transition: str
    lock: bool = True
    paper: bool = True


@dataclass(frozen=True)
class RecordDocument:
    id: str
    title: str
    template: str
    formats: tuple[str, ...] = DOCUMENT_FORMATS
    states: tuple[str, ...] = ()
    """States in which it may be produced; empty: any."""


@dataclass(frozen=True)
class RecordKind:
    id: str
    version: int
    title: str
    form: str
    workflow: str
    practices: tuple[str, ...]
    view_permission: str
    create_permission: str
    edit_permission: str
    title_field: str = "title"
    columns: tuple[str, ...] = ()
    edit_states: tuple[str, ...] = ()
    parties: tuple[Party, ...] = ()
    signing: Signing | None = None
    documents: tuple[RecordDocument, ...] = ()
    description: str = ""
    meeting: bool = False
    """A record may name the council's meeting where it was taken up (chosen on the new-record form)."""
    source: str = ""
    extras: Extras = field(default_factory=Extras)
    export: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    """Form fields (select, person, unit) the list can be narrowed by, beside the state."""
    """Files the list may be downloaded as: "csv", "xlsx" (core.records.export)."""
    """choices, defaults, date_field, checklist, ledger, topic (core.records.kinds)."""

    @property
    def checklist(self):
        return self.extras.checklist

    @property
    def ledger(self):
        return self.extras.ledger

    @property
    def topic(self):
        return self.extras.topic

    def workflow_of(self, specs: Any) -> WorkflowSpec:
        """The kind's workflow from the catalogue, or the one-state 已登记 of a kind without one."""
        return specs.workflow(self.workflow) if self.workflow else simple_workflow()

    def party(self, party_id: str) -> Party | None:
        return next((p for p in self.parties if p.id == party_id), None)

    def document(self, document_id: str) -> RecordDocument | None:
        return next((d for d in self.documents if d.id == document_id), None)

    def template_names(self, page: str) -> list[str]:
        """Where a page's template is looked up: the kind's own, then core's generic one."""
        return [f"records/{self.id}/{page}.html", f"records/{page}.html"]


def load_record_file(path: str | Path | Traversable, *, forms: Mapping[str, FormSpec],
                     workflows: Mapping[str, WorkflowSpec], source: str | None = None) -> RecordKind:
    """Read and check one record-kind spec; :class:`~core.lowcode.specs.SpecError` lists every problem."""
    source = source or str(path)
    text = read_spec(path, source=source)
    return load_record(text, source, forms=forms, workflows=workflows)


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def load_record(text: str, source: str, *, forms: Mapping[str, FormSpec],
                workflows: Mapping[str, WorkflowSpec]) -> RecordKind:
    data = parse_spec(text, source)
    p = Problems(source, text)
    loc = p.locate
    for key in data:
        if key not in _TOP_KEYS:
            p.add(key, loc.top_key(key) or loc.table_key(key), f"不认识的键 {key!r}（可用：{'、'.join(_TOP_KEYS)}）",
                  f"unknown key {key!r} (allowed: {', '.join(_TOP_KEYS)})")
    kind_id = _text(data, "id")
    if not _ID.match(kind_id):
        p.add("id", loc.top_key("id"), "id 须为 2–40 个小写字母、数字或下划线，以字母开头（建议以插件 id 开头）",
              "id must be 2–40 lowercase letters, digits or underscores, starting with a letter")
    check_version(p.add, data, loc.top_key("version"))
    title = _text(data, "title")
    if not title:
        p.add("title", loc.top_key("title"), "缺少标题 title，如 title = \"纠纷调解\"",
              "missing title, e.g. title = \"纠纷调解\"")
    form_id, workflow_id = _text(data, "form"), _text(data, "workflow")
    form = forms.get(form_id)
    if form is None:
        p.add("form", loc.top_key("form"), f"表单 {form_id!r} 不存在（须是本插件或核心提供的表单 id）",
              f"no form {form_id!r} (name a form of this plugin or of core)")
    workflow = workflows.get(workflow_id) if workflow_id else SIMPLE_WORKFLOW
    if workflow is None:
        p.add("workflow", loc.top_key("workflow"), f"流程 {workflow_id!r} 不存在（须是本插件或核心提供的流程 id）",
              f"no workflow {workflow_id!r} (name a workflow of this plugin or of core)")
    field_names = {f.name for f in form.fields} if form else set()

    def field_list(key: str) -> tuple[str, ...]:
        raw = data.get(key, [])
        if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
            p.add(key, loc.top_key(key), f"{key} 须是字符串列表", f"{key} must be a list of strings")
            return ()
        return tuple(raw)

    practices = field_list("practices")
    if "practices" in data and not practices:
        p.add("practices", loc.top_key("practices"), "practices 至少要有一个议事实践 id",
              "practices needs at least one practice id")
    elif "practices" not in data:
        p.add("practices", None, "缺少 practices：这类记录属于哪些议事实践，如 practices = [\"jiexiang\"]",
              "missing practices: which council practices keep this kind, e.g. practices = [\"jiexiang\"]")
    title_field = _text(data, "title_field") or "title"
    if form is not None and title_field not in field_names:
        p.add("title_field", loc.top_key("title_field") or loc.top_key("form"),
              f"表单 {form_id!r} 没有字段 {title_field!r}（记录的名称取自这个字段）",
              f"form {form_id!r} has no field {title_field!r} (a record is named by it)")
    columns = field_list("columns")
    for name in columns:
        if form is not None and name not in field_names:
            p.add("columns", loc.top_key("columns"), f"表单 {form_id!r} 没有字段 {name!r}",
                  f"form {form_id!r} has no field {name!r}")
    edit_states = field_list("edit_states")
    if workflow is not None:
        for state in edit_states:
            if state not in workflow.states:
                p.add("edit_states", loc.top_key("edit_states"), f"流程 {workflow_id!r} 没有状态 {state!r}",
                      f"workflow {workflow_id!r} has no state {state!r}")
        if "edit_states" not in data:
            edit_states = tuple(s for s, st in workflow.states.items() if not st.terminal)
    extras = load_extras(p, data, form, workflow, forms)
    export = data.get("export", [])
    if not isinstance(export, list) or any(f not in ("csv", "xlsx") for f in export):
        p.add("export", loc.top_key("export"), "export 只能取 csv、xlsx，如 export = [\"csv\", \"xlsx\"]",
              "export may list csv and xlsx, e.g. export = [\"csv\", \"xlsx\"]")
        export = []
    filters = field_list("filters")
    for name in filters:
        found = next((f for f in form.fields if f.name == name), None) if form else None
        if form is not None and (found is None or found.type not in ("select", "person", "unit")):
            p.add("filters", loc.top_key("filters"),
                  f"filters 须是表单 {form_id!r} 的单选、人员或单元字段（{name!r} 不是）",
                  f"filters must name select, person or unit fields of form {form_id!r} ({name!r} is not)")
    if (extras.checklist or extras.ledger) and edit_states:
        if "edit_states" in data:
            p.add("edit_states", loc.top_key("edit_states"), "检查表和台账类记录登记后不能修改：edit_states 须为空",
                  "checklist and ledger records cannot be edited once written: edit_states must be empty")
        edit_states = ()

    meeting = data.get("meeting", False)
    if not isinstance(meeting, bool):
        p.add("meeting", loc.top_key("meeting"), "meeting 须是 true 或 false", "meeting must be true or false")
        meeting = False

    perms = data.get("permissions", {})
    if not isinstance(perms, dict):
        perms = {}
    for key in perms:
        if key not in ("view", "create", "edit"):
            p.add(f"permissions.{key}", loc.table_key("permissions", key), "permissions 只认 view、create、edit",
                  "permissions takes view, create and edit only")
    names: dict[str, str] = {}
    for key in ("view", "create"):
        value = perms.get(key)
        if not isinstance(value, str) or not _PERMISSION.match(value):
            p.add(f"permissions.{key}", loc.table_key("permissions", key),
                  f"缺少权限 permissions.{key}（如 \"jiexiang.mediate\"，由插件的 yishi_permissions 授予角色）",
                  f"missing permissions.{key} (a permission name such as \"jiexiang.mediate\", granted to roles "
                  "by the plugin's yishi_permissions)")
        else:
            names[key] = value
    edit = perms.get("edit", names.get("create", ""))
    if not isinstance(edit, str) or (edit and not _PERMISSION.match(edit)):
        p.add("permissions.edit", loc.table_key("permissions", "edit"), "permissions.edit 须是权限名称",
              "permissions.edit must be a permission name")
        edit = ""

    parties: list[Party] = []
    raw_parties = data.get("parties", [])
    if not isinstance(raw_parties, list):
        p.add("parties", loc.top_key("parties"), "parties 须写成 [[parties]] 表", "parties must be [[parties]] tables")
        raw_parties = []
    for index, raw in enumerate(raw_parties):
        raw = raw if isinstance(raw, dict) else {}
        pid, label, name_field = _text(raw, "id"), _text(raw, "label"), _text(raw, "name_field")
        where = f"parties[{index + 1}]"
        if not _ID.match(pid) and not re.match(r"^[a-z][a-z0-9_]{0,39}$", pid):
            p.add(f"{where}.id", loc.array_item("parties", index, "id"), "当事人 id 须为小写字母、数字或下划线",
                  "a party's id must be lowercase letters, digits or underscores")
        elif any(x.id == pid for x in parties):
            p.add(f"{where}.id", loc.array_item("parties", index, "id"), f"当事人 id {pid!r} 重复",
                  f"party id {pid!r} is used twice")
        if not label:
            p.add(f"{where}.label", loc.array_item("parties", index, "label"), "缺少 label，如 label = \"甲方\"",
                  "missing label, e.g. label = \"甲方\"")
        if form is not None and name_field not in field_names:
            p.add(f"{where}.name_field", loc.array_item("parties", index, "name_field"),
                  f"表单 {form_id!r} 没有字段 {name_field!r}（当事人的姓名取自这个字段，签名须与之一致）",
                  f"form {form_id!r} has no field {name_field!r} (the party's name, which a signature must match)")
        contact_field = _text(raw, "contact_field")
        if form is not None and contact_field and contact_field not in field_names:
            p.add(f"{where}.contact_field", loc.array_item("parties", index, "contact_field"),
                  f"表单 {form_id!r} 没有字段 {contact_field!r}（用来区分同名的当事人，如电话）",
                  f"form {form_id!r} has no field {contact_field!r} (what tells parties of the same name apart)")
        parties.append(Party(pid, spec_text(label), name_field, contact_field))

    signing = None
    raw_signing = data.get("signing")
    if raw_signing is not None:
        raw_signing = raw_signing if isinstance(raw_signing, dict) else {}
        transition_id = _text(raw_signing, "transition")
        transition = workflow.transition(transition_id) if workflow else None
        if workflow is not None and transition is None:
            p.add("signing.transition", loc.table_key("signing", "transition"),
                  f"流程 {workflow_id!r} 没有操作 {transition_id!r}", f"workflow {workflow_id!r} has no transition "
                  f"{transition_id!r}")
        elif transition is not None and PARTIES_ROLE not in transition.roles:
            p.add("signing.transition", loc.table_key("signing", "transition"),
                  f"操作 {transition_id!r} 的 roles 须包含 \"{PARTIES_ROLE}\"（由各方签字后自动执行，不给按钮）",
                  f"transition {transition_id!r} must list the role \"{PARTIES_ROLE}\" (core takes it when every "
                  "party has signed; it gets no button)")
        for key in ("lock", "paper"):
            if key in raw_signing and not isinstance(raw_signing[key], bool):
                p.add(f"signing.{key}", loc.table_key("signing", key), f"signing.{key} 须是 true 或 false",
                      f"signing.{key} must be true or false")
        if not parties:
            p.add("signing", loc.table_key("signing"), "有 [signing] 就须有至少一个 [[parties]]",
                  "[signing] needs at least one [[parties]]")
        signing = Signing(transition_id, raw_signing.get("lock", True) is True,
                          raw_signing.get("paper", True) is True)
    elif parties:
        p.add("parties", loc.array_item("parties", 0), "有 [[parties]] 就须有 [signing]（各方签字后执行哪个操作）",
              "[[parties]] need a [signing] table (which transition their signatures allow)")

    documents: list[RecordDocument] = []
    raw_docs = data.get("documents", [])
    for index, raw in enumerate(raw_docs if isinstance(raw_docs, list) else []):
        raw = raw if isinstance(raw, dict) else {}
        where = f"documents[{index + 1}]"
        did, dtitle, template = _text(raw, "id"), _text(raw, "title"), _text(raw, "template")
        if not _ID.match(did):
            p.add(f"{where}.id", loc.array_item("documents", index, "id"), "文档 id 须为小写字母、数字或下划线",
                  "a document's id must be lowercase letters, digits or underscores")
        if not dtitle:
            p.add(f"{where}.title", loc.array_item("documents", index, "title"), "缺少文档标题 title",
                  "missing the document's title")
        if not template.endswith(".html"):
            p.add(f"{where}.template", loc.array_item("documents", index, "template"),
                  "template 须是 .html 模板名，如 \"jiexiang/agreement.html\"",
                  "template must name an .html template, e.g. \"jiexiang/agreement.html\"")
        formats = raw.get("formats", list(DOCUMENT_FORMATS))
        if not isinstance(formats, list) or not formats or any(f not in DOCUMENT_FORMATS for f in formats):
            p.add(f"{where}.formats", loc.array_item("documents", index, "formats"),
                  f"formats 只能取 {'、'.join(DOCUMENT_FORMATS)}", f"formats may be {', '.join(DOCUMENT_FORMATS)}")
            formats = list(DOCUMENT_FORMATS)
        states = raw.get("states", [])
        if not isinstance(states, list) or (workflow and any(s not in workflow.states for s in states)):
            p.add(f"{where}.states", loc.array_item("documents", index, "states"), "states 须是流程中的状态",
                  "states must be states of the workflow")
            states = []
        documents.append(RecordDocument(did, spec_text(dtitle), template, tuple(formats), tuple(states)))

    p.raise_if_any()
    assert form is not None and workflow is not None
    return RecordKind(id=kind_id, version=data["version"], title=spec_text(title), form=form_id, workflow=workflow_id,
                      practices=practices, view_permission=names["view"], create_permission=names["create"],
                      edit_permission=edit, title_field=title_field, columns=columns, edit_states=edit_states,
                      parties=tuple(parties), signing=signing, documents=tuple(documents),
                      description=spec_text(_text(data, "description")), meeting=meeting, source=source, extras=extras,
                      export=tuple(export), filters=filters)


__all__ = ["DOCUMENT_FORMATS", "PARTIES_ROLE", "Party", "RecordDocument", "RecordKind", "Signing",
           "load_record", "load_record_file"]
