"""Meeting capture specs (现场记录): what a practice declares, in TOML, to get core's capture screen.

A practice whose meetings take issues from the floor — a 屋场恳谈会, a 坝坝会, a 院落会 — declares
one ``capture.toml``: the form the recorder fills for each issue, the topic workflow and which of its
transitions are the tracks an issue is triaged into on the spot, the open-floor agenda item the
issues hang on, the ledger's columns, the unit scores' weights and the documents. Core then serves
the capture page, the ledger (page and CSV), the unit scores and the documents
(:mod:`core.topics.capture_routes`, :mod:`core.topics.capture_documents`). The format is in
docs/capture.md. Problems are reported like any spec's: file, key, line, Chinese and English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from core.lowcode.specs import Problems, parse_spec, read_spec

#: Ledger columns core fills itself (label by default); a capture form field's name is a column too.
LEDGER_COLUMNS = {"meeting": "会议", "date": "日期", "no": "序号", "track": "分流", "departments": "责任单位",
                  "deadlines": "办理时限", "state": "状态", "reply": "回音", "replied": "是否回音",
                  "rating": "满意度"}
DOCUMENT_CONTENTS = ("issues", "department_sheets")
RATING_KEYS = ("satisfied", "basic", "unsatisfied")
WEIGHT_KEYS = ("satisfaction", "done", "on_time")


@dataclass(frozen=True)
class ScoreRule:
    """单位测评: points per rating and the weights of 满意度, 办结率 and 按期办结率 in the total."""

    points: dict[str, Fraction] = field(default_factory=lambda: {
        "satisfied": Fraction(100), "basic": Fraction(60), "unsatisfied": Fraction(0)})
    weights: dict[str, Fraction] = field(default_factory=lambda: {
        "satisfaction": Fraction(2, 5), "done": Fraction(3, 10), "on_time": Fraction(3, 10)})


@dataclass(frozen=True)
class CaptureDocument:
    """A document of the meeting built from its issues: ``issues`` (every issue and its 回音) or
    ``department_sheets`` (a sheet per department with work from the meeting)."""

    id: str
    title: str
    template: str
    content: str
    department_path: str = ""


@dataclass(frozen=True)
class CaptureSpec:
    """One practice's capture: see the module docstring and docs/capture.md for every key."""

    practice: str
    title: str
    form: str
    workflow: str
    tracks: tuple[str, ...]
    reply_form: str = ""
    plugin: str = ""
    meeting_noun: str = "会议"
    item_noun: str = "事项"
    proposer_field: str = "speaker"
    category_field: str = "category"
    title_field: str = "title"
    open_floor_title: str = "群众提事"
    open_floor_description: str = ""
    open_floor_minutes: int = 60
    ledger_title: str = "台账"
    ledger_columns: tuple[str, ...] = ("meeting", "date", "no", "track", "state", "reply", "rating")
    ledger_page_columns: tuple[str, ...] = ()
    ledger_labels: dict[str, str] = field(default_factory=dict)
    scores_title: str = ""
    scores: ScoreRule | None = None
    documents: tuple[CaptureDocument, ...] = ()
    stylesheet: str = ""

    @property
    def base(self) -> str:
        """Where the practice's capture pages are mounted: its plugin's ``/p/<plugin id>``."""
        return f"/p/{self.plugin or self.practice}"

    @property
    def event(self) -> str:
        """The live event other tablets on the meeting listen for (the channel is the meeting's)."""
        return "capture"

    def page_columns(self) -> tuple[str, ...]:
        return self.ledger_page_columns or self.ledger_columns

    def document(self, content: str) -> CaptureDocument | None:
        return next((d for d in self.documents if d.content == content), None)


def _text(data: dict[str, Any], key: str, add: Any, where: str, *, required: bool = False, default: str = "") -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or (required and not value.strip()):
        add(f"{where}{key}", f"须是非空文字，现为 {value!r}", f"must be a non-empty string, got {value!r}")
        return default
    return value


def _fraction(value: Any, add: Any, key: str) -> Fraction:
    try:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError
        out = Fraction(value)
    except (ValueError, ZeroDivisionError):
        add(key, f"须是整数或分数（如 \"2/5\"），现为 {value!r}",
            f"must be an integer or a fraction like \"2/5\", got {value!r}")
        return Fraction(0)
    return out


def load_capture(text: str, source: str) -> CaptureSpec:
    """Parse and check a capture spec; raises :class:`core.lowcode.specs.SpecError` naming every problem."""
    data = parse_spec(text, source)
    problems = Problems(source, text)

    def add(key: str, zh: str, en: str) -> None:
        head = key.split(".")[0].split("[")[0]
        line = problems.locate.table_key(head, key.split(".", 1)[1]) if "." in key else problems.locate.top_key(key)
        problems.add(key, line, zh, en)

    known = {"practice", "plugin", "title", "form", "workflow", "tracks", "reply_form", "nouns", "fields",
             "open_floor", "ledger", "scores", "documents", "stylesheet"}
    for key in data:
        if key not in known:
            add(key, f"未知的键（可用：{'、'.join(sorted(known))}）",
                f"unknown key (known: {', '.join(sorted(known))})")
    tracks = data.get("tracks", [])
    if not isinstance(tracks, list) or not tracks or not all(isinstance(t, str) and t for t in tracks):
        add("tracks", "须是流程转换编号的列表，如 [\"explain\", \"concentrate\"]",
            "must be a list of the workflow's transition ids")
        tracks = []
    nouns, fields_, floor = (data.get(k, {}) for k in ("nouns", "fields", "open_floor"))
    ledger, scores_raw = data.get("ledger", {}), data.get("scores")
    for name, table in (("nouns", nouns), ("fields", fields_), ("open_floor", floor), ("ledger", ledger)):
        if not isinstance(table, dict):
            add(name, "须是表（[name]）", "must be a table")
    nouns, fields_, floor, ledger = (t if isinstance(t, dict) else {} for t in (nouns, fields_, floor, ledger))
    columns = ledger.get("columns", list(CaptureSpec.ledger_columns))
    page_columns = ledger.get("page_columns", [])
    field_names = {fields_.get("proposer", "speaker"), fields_.get("category", "category"),
                   fields_.get("title", "title")}
    for key, cols in (("ledger.columns", columns), ("ledger.page_columns", page_columns)):
        if not isinstance(cols, list) or any(c not in LEDGER_COLUMNS and c not in field_names for c in cols):
            add(key, f"每一列须是 {'、'.join(LEDGER_COLUMNS)} 或记录表单的字段名",
                f"each column must be one of {', '.join(LEDGER_COLUMNS)} or a field of the capture form")
    labels = ledger.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        add("ledger.labels", "须是 列名 = \"标题\" 的表", "must map column names to headings")
        labels = {}
    rule = None
    if scores_raw is not None:
        if not isinstance(scores_raw, dict):
            add("scores", "须是表（[scores]）", "must be a table")
            scores_raw = {}
        rule = ScoreRule()
        points = {k: _fraction(v, add, f"scores.points.{k}") for k, v in scores_raw.get("points", {}).items()}
        weights = {k: _fraction(v, add, f"scores.weights.{k}") for k, v in scores_raw.get("weights", {}).items()}
        if any(k not in RATING_KEYS for k in points) or any(k not in WEIGHT_KEYS for k in weights):
            add("scores", f"points 的键须是 {'、'.join(RATING_KEYS)}，weights 的键须是 {'、'.join(WEIGHT_KEYS)}",
                f"points keys must be {', '.join(RATING_KEYS)}; weights keys {', '.join(WEIGHT_KEYS)}")
        rule = ScoreRule(points={**rule.points, **points}, weights={**rule.weights, **weights})
        if sum(rule.weights.values()) != 1:
            add("scores.weights", "三项权重之和须为 1", "the three weights must add up to 1")
    documents = []
    for i, doc in enumerate(data.get("documents", [])):
        where = f"documents[{i + 1}]."
        if not isinstance(doc, dict):
            add(f"documents[{i + 1}]", "须是 [[documents]] 表", "must be a [[documents]] table")
            continue
        content = _text(doc, "content", add, where, required=True)
        if content and content not in DOCUMENT_CONTENTS:
            add(f"{where}content", f"只能是 {'、'.join(DOCUMENT_CONTENTS)}", f"must be one of {DOCUMENT_CONTENTS}")
        documents.append(CaptureDocument(
            id=_text(doc, "id", add, where, required=True), title=_text(doc, "title", add, where, required=True),
            template=_text(doc, "template", add, where, required=True), content=content,
            department_path=_text(doc, "department_path", add, where)))
    minutes = floor.get("minutes", 60)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 600:
        add("open_floor.minutes", f"须是 1–600 的整数，现为 {minutes!r}", f"must be an integer 1–600, got {minutes!r}")
        minutes = 60
    spec = CaptureSpec(
        practice=_text(data, "practice", add, "", required=True), plugin=_text(data, "plugin", add, ""),
        title=_text(data, "title", add, "", required=True), form=_text(data, "form", add, "", required=True),
        workflow=_text(data, "workflow", add, "", required=True), tracks=tuple(tracks),
        reply_form=_text(data, "reply_form", add, ""),
        meeting_noun=_text(nouns, "meeting", add, "nouns.", default="会议"),
        item_noun=_text(nouns, "item", add, "nouns.", default="事项"),
        proposer_field=_text(fields_, "proposer", add, "fields.", default="speaker"),
        category_field=_text(fields_, "category", add, "fields.", default="category"),
        title_field=_text(fields_, "title", add, "fields.", default="title"),
        open_floor_title=_text(floor, "title", add, "open_floor.", default="群众提事"),
        open_floor_description=_text(floor, "description", add, "open_floor."), open_floor_minutes=minutes,
        ledger_title=_text(ledger, "title", add, "ledger.", default="台账"),
        ledger_columns=tuple(columns) if isinstance(columns, list) else (),
        ledger_page_columns=tuple(page_columns) if isinstance(page_columns, list) else (),
        ledger_labels=dict(labels), scores_title=_text(scores_raw or {}, "title", add, "scores.", default="单位测评"),
        scores=rule, documents=tuple(documents), stylesheet=_text(data, "stylesheet", add, ""),
    )
    problems.raise_if_any()
    return spec


def load_capture_file(path: str | Path) -> CaptureSpec:
    """Load a practice's capture.toml (size limit and UTF-8 check as for every spec), and check what it
    names against the forms and workflows beside it (``forms/``, ``workflows/``) and core's shared
    ones, so a misspelt id stops the plugin at start, naming the file and the key."""
    path = Path(path)
    text = read_spec(path, source=str(path))
    spec = load_capture(text, str(path))
    _check_names(spec, path.parent, Problems(str(path), text))
    return spec


def _check_names(spec: CaptureSpec, folder: Path, problems: Problems) -> None:
    from core.lowcode.forms import load_form_file
    from core.lowcode.registry import shared_forms
    from core.lowcode.workflow import load_workflow_file
    from core.lowcode.workflows import shared_workflows

    forms = {**shared_forms(), **{f.id: f for f in map(load_form_file, sorted(folder.glob("forms/*.toml")))}}
    own_flows = map(load_workflow_file, sorted(folder.glob("workflows/*.toml")))
    flows = {**shared_workflows(), **{w.id: w for w in own_flows}}

    def add(key: str, zh: str, en: str) -> None:
        problems.add(key, problems.locate.top_key(key), zh, en)

    form, reply, workflow = forms.get(spec.form), forms.get(spec.reply_form), flows.get(spec.workflow)
    if form is None:
        add("form", f"没有表单 {spec.form!r}（forms/ 里或核心共享表单）", f"no form {spec.form!r} in forms/ or core's")
    else:
        names = {f.name for f in form.fields}
        for key in ("proposer_field", "category_field", "title_field"):
            if getattr(spec, key) not in names and not (key == "category_field" and spec.category_field == "category"):
                add("fields", f"表单 {form.id} 没有字段 {getattr(spec, key)!r}", f"form {form.id} has no field "
                    f"{getattr(spec, key)!r}")
    if spec.reply_form and (reply is None or "reply" not in {f.name for f in reply.fields}):
        add("reply_form", f"没有含 reply 字段的表单 {spec.reply_form!r}",
            f"no form {spec.reply_form!r} with a field reply")
    if workflow is None:
        add("workflow", f"没有流程 {spec.workflow!r}", f"no workflow {spec.workflow!r}")
    else:
        for track in spec.tracks:
            t = workflow.transition(track)
            if t is None or workflow.initial not in t.sources:
                add("tracks", f"{track!r} 不是流程 {workflow.id} 从初始状态出发的转换",
                    f"{track!r} is not a transition of {workflow.id} from its initial state")
    problems.raise_if_any()
