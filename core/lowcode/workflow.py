"""The workflow engine: workflow specs (TOML) → :class:`WorkflowSpec`, and the moves between states.

Pure logic, no I/O beyond reading a spec file in :func:`load_workflow_file`. The same engine drives
topics (议题), tasks (交办) and meetings; the web layer keeps the current state in its own table,
works out which guards hold (a poll passed, a responsible unit is named …) and calls :func:`available`
to draw the buttons, :func:`apply` when one is pressed and :func:`override` for the chair's
correction. Each returns or raises; nothing is stored here.

The spec format is documented for plugin authors in docs/lowcode-workflows.md. Decisions worth
knowing:

- every problem in a spec is collected before anything is raised, and the graph is checked as a
  whole: each non-terminal state needs a way out, a terminal state must be reachable from every
  state, and every state must be reachable from ``initial`` — so a topic can never get stuck;
- a terminal state may still have transitions out of it (``reopen`` from 已评价): terminal means
  "the loop may end here", not "nothing can follow";
- transition ids are unique within a workflow, so a recorded ``Step`` names its transition without
  ambiguity; ``from = "*"`` means every non-terminal state except the target;
- a guard missing from the ``guards`` mapping counts as not met (fail closed).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from core.errors import YishiError
from core.i18n import _, spec_text
from core.lowcode.specs import Problems, check_version, decode_spec, parse_spec, read_spec

WORKFLOW_ID = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
"""State ids, transition ids, roles and guard names: lowercase identifiers."""
EVENT = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$")
FORM_REF = WORKFLOW_ID
HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
MAX_ID_LENGTH = 64
MAX_LABEL = 40
MAX_STATES = 100
MAX_TRANSITIONS = 300
MIN_OVERRIDE_REASON = 4
"""The chair's override needs a reason of at least this many characters (after stripping)."""

COLOURS: dict[str, str] = {
    "grey": "#6B7280",
    "gray": "#6B7280",
    "slate": "#475569",
    "red": "#B91C1C",
    "orange": "#EA580C",
    "amber": "#D97706",
    "yellow": "#CA8A04",
    "green": "#16A34A",
    "teal": "#0F766E",
    "cyan": "#0891B2",
    "blue": "#2563EB",
    "indigo": "#4338CA",
    "purple": "#7C3AED",
    "pink": "#DB2777",
}
"""Colour names a spec may use instead of ``#RRGGBB``; stored as the hex value."""
DEFAULT_COLOUR = COLOURS["grey"]

TOP_KEYS = ("id", "version", "label", "initial", "states", "transitions", "on_enter")
STATE_KEYS = ("label", "colour", "terminal")
TRANSITION_KEYS = ("id", "label", "from", "to", "roles", "form", "guard", "reason")


# ---------------------------------------------------------------------------------------------
# The spec
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class State:
    id: str
    label: str
    colour: str = DEFAULT_COLOUR
    """``#RRGGBB`` (a colour name in the spec is stored as its hex value)."""
    terminal: bool = False


@dataclass(frozen=True)
class Transition:
    id: str
    label: str
    sources: tuple[str, ...]
    """States it may be taken from; ``from = "*"`` is expanded at load."""
    target: str
    roles: tuple[str, ...]
    """Council roles allowed to take it (any one suffices)."""
    form: str | None = None
    """Id of a form to fill in when taking it; the web layer shows and stores it."""
    guard: str | None = None
    """Name of a check that must hold (e.g. ``poll_passed``); the web layer evaluates it."""
    require_reason: bool = False
    """A reason must be given (declining a topic, returning a task)."""


@dataclass(frozen=True)
class WorkflowSpec:
    id: str
    version: int
    initial: str
    states: dict[str, State]
    """In the order the spec declares them."""
    transitions: tuple[Transition, ...]
    on_enter: dict[str, tuple[str, ...]]
    """State → names of events handed to plugins when a step enters that state."""
    label: str = ""
    source: str = ""

    def transition(self, transition_id: str) -> Transition | None:
        return next((t for t in self.transitions if t.id == transition_id), None)

    def outgoing(self, state: str) -> list[Transition]:
        """Every transition that may be taken from ``state``, whoever asks."""
        return [t for t in self.transitions if state in t.sources]

    def state_label(self, state: str) -> str:
        found = self.states.get(state)
        return found.label if found else state

    @property
    def terminal_states(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.states.values() if s.terminal)


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------

def load_workflow(text: str | bytes, source: str, known_guards: Collection[str] | None = None,
                  known_forms: Collection[str] | None = None) -> WorkflowSpec:
    """Parse and check a workflow spec; raise :class:`~core.lowcode.specs.SpecError` listing every problem.

    ``known_guards`` are the guard names the caller can evaluate (default: core's,
    :data:`core.lowcode.workflows.CORE_GUARDS`). With ``known_forms`` given, every ``form`` must be
    one of them; without it form ids are only checked for shape.
    """
    if isinstance(text, bytes | bytearray):
        text = decode_spec(bytes(text), source)
    else:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates: bytes read with errors="surrogateescape"
            problems = Problems(source)
            problems.add("", text[: exc.start].count("\n") + 1, "文件不是 UTF-8 编码，请另存为 UTF-8",
                         "the file is not UTF-8 encoded; save it as UTF-8")
            problems.raise_if_any()
        text = text.removeprefix("\ufeff")
    if known_guards is None:
        from core.lowcode.workflows import CORE_GUARDS  # the catalogue imports this module

        known_guards = CORE_GUARDS
    return _WorkflowLoader(text, source, frozenset(known_guards),
                           None if known_forms is None else frozenset(known_forms)).load(parse_spec(text, source))


def load_workflow_file(path: str | Path | Traversable, *, source: str | None = None,
                       known_guards: Collection[str] | None = None,
                       known_forms: Collection[str] | None = None) -> WorkflowSpec:
    """Load a workflow spec file (size limit, UTF-8 check, then :func:`load_workflow`)."""
    source = source or (str(path) if isinstance(path, str | Path) else path.name)
    return load_workflow(read_spec(path, source=source), source, known_guards, known_forms)


def _unknown_key(key: str, allowed: Sequence[str]) -> tuple[str, str]:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hz, he = (f"（是不是 “{close[0]}”？）", f" (did you mean '{close[0]}'?)") if close else ("", "")
    return (f"未知的键 “{key}”{hz}；可用的键：{', '.join(allowed)}",
            f"unknown key '{key}'{he}; allowed: {', '.join(allowed)}")


@dataclass
class _RawTransition:
    """A transition as read, before ``*`` is expanded; ``None`` where the spec was unusable."""

    index: int
    id: str | None
    label: str
    sources: list[str] | None  # None: "*"
    target: str | None
    roles: tuple[str, ...]
    form: str | None
    guard: str | None
    reason: bool
    broken_ends: bool = False  # from/to names a state that does not exist
    bad_sources: set[str] = field(default_factory=set)


class _WorkflowLoader:
    """Checks a parsed spec, collecting every problem before raising."""

    def __init__(self, text: str, source: str, known_guards: frozenset[str],
                 known_forms: frozenset[str] | None) -> None:
        self.problems = Problems(source, text)
        self.locate = self.problems.locate
        self.known_guards = known_guards
        self.known_forms = known_forms

    def add(self, key: str, line: int | None, zh: str, en: str) -> None:
        self.problems.add(key, line, zh, en)

    def state_line(self, state: str, key: str | None = None) -> int | None:
        """Line of ``states.<state>[.key]``, written inline or as a ``[states.<state>]`` table."""
        if any(name == f"states.{state}" for _i, _a, name in self.locate.headers):
            return self.locate.table_key(f"states.{state}", key)
        return self.locate.table_key("states", state)

    def load(self, data: dict[str, Any]) -> WorkflowSpec:
        top = self.locate.top_key
        for key in data:
            if key not in TOP_KEYS:
                self.add(key, top(key) or self.locate.table_key(key), *_unknown_key(key, TOP_KEYS))

        workflow_id = data.get("id")
        if workflow_id is None:
            self.add("id", None, "缺少流程标识 id，如 id = \"topic\"", "missing id, e.g. id = \"topic\"")
        elif (not isinstance(workflow_id, str) or not WORKFLOW_ID.match(workflow_id)
              or len(workflow_id) > MAX_ID_LENGTH):
            self.add("id", top("id"),
                     f"流程标识 {workflow_id!r} 格式不对：只能用小写字母、数字和下划线，以字母开头，可用点分段，"
                     f"如 \"wuchang.issue\"（最长 {MAX_ID_LENGTH} 个字符）",
                     f"malformed id {workflow_id!r}: lowercase letters, digits and underscores, starting with "
                     f"a letter, parts separated by dots, e.g. \"wuchang.issue\" (at most {MAX_ID_LENGTH})")

        check_version(self.add, data, top("version"))
        version = data.get("version")

        label = data.get("label", "")
        if not isinstance(label, str) or len(label) > MAX_LABEL * 2:
            self.add("label", top("label"), f"流程名称 label 必须是文字（最长 {MAX_LABEL * 2} 个字）",
                     f"label must be a string (at most {MAX_LABEL * 2} characters)")
            label = ""

        states = self.load_states(data.get("states"))
        initial = data.get("initial")
        if initial is None:
            self.add("initial", None, "缺少初始状态 initial，如 initial = \"raised\"",
                     "missing initial state, e.g. initial = \"raised\"")
        elif not isinstance(initial, str) or initial not in states:
            if states or data.get("states") is not None:  # with no states at all, that is the problem
                self.add("initial", top("initial"),
                         f"初始状态 {initial!r} 不在 [states] 中；已有的状态：{', '.join(states) or '无'}",
                         f"initial state {initial!r} is not one of [states]: {', '.join(states) or 'none'}")
            initial = None

        raw_transitions = self.load_transitions(data.get("transitions"), states)
        transitions = self.expand(raw_transitions, states)
        on_enter = self.load_on_enter(data.get("on_enter"), states)
        if states and raw_transitions:
            self.check_graph(states, raw_transitions, initial)

        self.problems.raise_if_any()
        assert isinstance(workflow_id, str) and isinstance(version, int) and isinstance(initial, str)
        return WorkflowSpec(id=workflow_id, version=version, initial=initial, states=states,
                            transitions=tuple(transitions), on_enter=on_enter, label=spec_text(label.strip()),
                            source=self.problems.source)

    # -- states ----------------------------------------------------------------------------------

    def load_states(self, raw: Any) -> dict[str, State]:
        states: dict[str, State] = {}
        if raw is None:
            self.add("states", None,
                     "流程没有状态：请添加 [states] 表，每行一个状态，如 raised = { label = \"已提出\" }",
                     "the workflow has no states: add a [states] table, one state per line, "
                     "e.g. raised = { label = \"已提出\" }")
            return states
        if not isinstance(raw, dict) or not raw:
            self.add("states", self.locate.table_key("states"),
                     "states 必须是一个表，每行一个状态，如 raised = { label = \"已提出\" }",
                     "states must be a table, one state per line, e.g. raised = { label = \"已提出\" }")
            return states
        if len(raw) > MAX_STATES:
            self.add("states", self.locate.table_key("states"), f"状态过多（{len(raw)} 个，最多 {MAX_STATES} 个）",
                     f"too many states ({len(raw)}, at most {MAX_STATES})")
            return states
        for state_id, body in raw.items():
            key = f"states.{state_id}"
            if not NAME.match(state_id):
                self.add(key, self.state_line(state_id),
                         f"状态标识 {state_id!r} 格式不对：只能用小写英文字母、数字和下划线，"
                         "以字母开头，最长 40 个字符",
                         f"malformed state id {state_id!r}: lowercase letters, digits and underscores, "
                         "starting with a letter, at most 40 characters")
                continue
            if not isinstance(body, dict):
                self.add(key, self.state_line(state_id),
                         f"状态 {state_id} 必须写成表，如 {state_id} = {{ label = \"已提出\" }}",
                         f"state {state_id} must be a table, e.g. {state_id} = {{ label = \"已提出\" }}")
                continue
            ok = True
            for k in body:
                if k not in STATE_KEYS:
                    self.add(f"{key}.{k}", self.state_line(state_id, k), *_unknown_key(k, STATE_KEYS))
                    ok = False
            label = body.get("label")
            if label is None:
                self.add(f"{key}.label", self.state_line(state_id),
                         "状态缺少 label（显示给用户的名称，如 label = \"已提出\"）",
                         "state has no label (the name people read, e.g. label = \"已提出\")")
                ok = False
            elif not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL:
                self.add(f"{key}.label", self.state_line(state_id, "label"),
                         f"label 必须是非空的文字（最长 {MAX_LABEL} 个字）",
                         f"label must be a non-empty string (at most {MAX_LABEL} characters)")
                ok = False
            colour = body.get("colour", DEFAULT_COLOUR)
            if isinstance(colour, str) and colour.strip().lower() in COLOURS:
                colour = COLOURS[colour.strip().lower()]
            elif not isinstance(colour, str) or not HEX_COLOUR.match(colour):
                self.add(f"{key}.colour", self.state_line(state_id, "colour"),
                         f"颜色 {colour!r} 无法识别：请写成 \"#RRGGBB\"（如 \"#2563EB\"）或颜色名："
                         f"{', '.join(COLOURS)}",
                         f"unknown colour {colour!r}: write \"#RRGGBB\" (e.g. \"#2563EB\") or a colour name: "
                         f"{', '.join(COLOURS)}")
                ok = False
            terminal = body.get("terminal", False)
            if not isinstance(terminal, bool):
                self.add(f"{key}.terminal", self.state_line(state_id, "terminal"),
                         f"terminal 必须是 true 或 false，现为 {terminal!r}",
                         f"terminal must be true or false, got {terminal!r}")
                ok = False
            if ok:
                states[state_id] = State(state_id, spec_text(label.strip()), colour.upper(), terminal)
            else:
                # Keep the state for the checks that follow, so one typo is not reported three times.
                states[state_id] = State(state_id, state_id, DEFAULT_COLOUR, terminal is True)
        return states

    # -- transitions -----------------------------------------------------------------------------

    def load_transitions(self, raw: Any, states: dict[str, State]) -> list[_RawTransition]:
        if raw is None or raw == []:
            self.add("transitions", self.locate.top_key("transitions"),
                     "流程没有流转：请至少添加一个 [[transitions]]",
                     "the workflow has no transitions: add at least one [[transitions]]")
            return []
        if not isinstance(raw, list):
            self.add("transitions", self.locate.top_key("transitions") or self.locate.table_key("transitions"),
                     "transitions 必须是流转列表：每个流转写成一个 [[transitions]]",
                     "transitions must be a list of tables: write each one as [[transitions]]")
            return []
        if len(raw) > MAX_TRANSITIONS:
            self.add("transitions", self.locate.array_item("transitions", 0),
                     f"流转过多（{len(raw)} 个，最多 {MAX_TRANSITIONS} 个）",
                     f"too many transitions ({len(raw)}, at most {MAX_TRANSITIONS})")
            return []
        result: list[_RawTransition] = []
        seen: dict[str, int] = {}
        for index, body in enumerate(raw):
            parsed = self.transition(index, body, states)
            if parsed is None:
                continue
            if parsed.id is not None:
                if parsed.id in seen:
                    first = seen[parsed.id]
                    self.add(f"transitions[{index + 1}].id", self.locate.array_item("transitions", index, "id"),
                             f"流转标识 “{parsed.id}” 重复（第 {first + 1} 个流转已使用）；每个流转的 id 必须不同，"
                             "同一操作可从多个状态发起时写在同一个 from 列表里",
                             f"duplicate transition id '{parsed.id}' (already used by transition {first + 1}); "
                             "ids must be unique: list every state it leaves from in one from = [...]")
                else:
                    seen[parsed.id] = index
            result.append(parsed)
        return result

    def transition(self, index: int, body: Any, states: dict[str, State]) -> _RawTransition | None:
        prefix = f"transitions[{index + 1}]"

        def line(key: str | None = None) -> int | None:
            return self.locate.array_item("transitions", index, key)

        def problem(k: str, zh: str, en: str, at: str | None = "") -> None:
            self.add(f"{prefix}.{k}", line(k if at == "" else at), zh, en)

        if not isinstance(body, dict):
            self.add(prefix, line(), "每个流转必须是一个表，写成 [[transitions]] 加若干 键 = 值",
                     "each transition must be a table: [[transitions]] followed by key = value lines")
            return None
        for k in body:
            if k not in TRANSITION_KEYS:
                problem(k, *_unknown_key(k, TRANSITION_KEYS))

        transition_id = body.get("id")
        if transition_id is None:
            problem("id", "流转缺少 id（英文标识，如 id = \"accept\"）", "transition has no id (e.g. id = \"accept\")",
                    None)
        elif not isinstance(transition_id, str) or not NAME.match(transition_id):
            problem("id", f"流转标识 {transition_id!r} 格式不对：只能用小写英文字母、数字和下划线，"
                          "以字母开头，最长 40 个字符",
                    f"malformed transition id {transition_id!r}: lowercase letters, digits and underscores, "
                    "starting with a letter, at most 40 characters")
            transition_id = None

        label = body.get("label")
        if label is None:
            problem("label", "流转缺少 label（按钮上的文字，如 label = \"受理\"）",
                    "transition has no label (the button text, e.g. label = \"受理\")", None)
            label = ""
        elif not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL:
            problem("label", f"label 必须是非空的文字（最长 {MAX_LABEL} 个字）",
                    f"label must be a non-empty string (at most {MAX_LABEL} characters)")
            label = ""

        broken = False
        sources: list[str] | None = []
        bad_sources: set[str] = set()
        raw_from = body.get("from")
        if raw_from is None:
            problem("from", "流转缺少 from（从哪些状态出发，如 from = [\"raised\"]，或 \"*\" 表示任一未终止的状态）",
                    "transition has no from (the states it leaves, e.g. from = [\"raised\"], or \"*\" for "
                    "any non-terminal state)", None)
            broken = True
        elif raw_from == "*":
            sources = None
        elif not isinstance(raw_from, list) or not raw_from or not all(isinstance(s, str) for s in raw_from):
            problem("from", f"from 必须是状态列表（如 [\"raised\"]）或 \"*\"，现为 {raw_from!r}",
                    f"from must be a list of states (e.g. [\"raised\"]) or \"*\", got {raw_from!r}")
            broken = True
        else:
            for name in raw_from:
                if name not in states:
                    problem("from", f"from 中的状态 “{name}” 不在 [states] 中；已有的状态：{', '.join(states) or '无'}",
                            f"state '{name}' in from is not one of [states]: {', '.join(states) or 'none'}")
                    bad_sources.add(name)
                elif name in sources:
                    problem("from", f"from 中的状态 “{name}” 重复", f"state '{name}' appears twice in from")
                else:
                    sources.append(name)

        target = body.get("to")
        if target is None:
            problem("to", "流转缺少 to（到达的状态，如 to = \"accepted\"）",
                    "transition has no to (the state it leads to, e.g. to = \"accepted\")", None)
            broken = True
        elif not isinstance(target, str) or target not in states:
            problem("to", f"to 的状态 {target!r} 不在 [states] 中；已有的状态：{', '.join(states) or '无'}",
                    f"to names state {target!r}, which is not one of [states]: {', '.join(states) or 'none'}")
            target = None
            broken = True

        roles = body.get("roles")
        if roles is None:
            problem("roles", "流转缺少 roles（谁可以操作，如 roles = [\"chair\", \"recorder\"]）",
                    "transition has no roles (who may take it, e.g. roles = [\"chair\", \"recorder\"])", None)
            roles = []
        elif (not isinstance(roles, list) or not roles
              or not all(isinstance(r, str) and NAME.match(r) for r in roles)):
            problem("roles", f"roles 必须是角色标识的列表，如 [\"chair\", \"recorder\"]（小写英文字母、数字和下划线），"
                             f"现为 {roles!r}",
                    f"roles must be a list of role identifiers, e.g. [\"chair\", \"recorder\"] (lowercase "
                    f"letters, digits, underscores), got {roles!r}")
            roles = []

        form = body.get("form")
        if form is not None:
            if not isinstance(form, str) or not FORM_REF.match(form):
                problem("form", f"form 必须是表单标识，如 \"jiaobandan\"，现为 {form!r}",
                        f"form must be a form id, e.g. \"jiaobandan\", got {form!r}")
                form = None
            elif self.known_forms is not None and form not in self.known_forms:
                known = ", ".join(sorted(self.known_forms)) or "无"
                problem("form", f"没有标识为 “{form}” 的表单；已有的表单：{known}",
                        f"no form with id '{form}'; known forms: {', '.join(sorted(self.known_forms)) or 'none'}")
                form = None

        guard = body.get("guard")
        if guard is not None:
            known = ", ".join(sorted(self.known_guards))
            if not isinstance(guard, str) or guard not in self.known_guards:
                problem("guard", f"未知的条件 guard = {guard!r}；可用的条件：{known or '无'}",
                        f"unknown guard {guard!r}; known guards: {known or 'none'}")
                guard = None

        reason = body.get("reason", False)
        if not isinstance(reason, bool):
            problem("reason", f"reason 必须是 true 或 false（是否必须填写理由），现为 {reason!r}",
                    f"reason must be true or false (whether a reason must be given), got {reason!r}")
            reason = False

        return _RawTransition(index, transition_id, spec_text(label.strip()), sources, target, tuple(roles), form,
                              guard, reason, broken or bool(bad_sources), bad_sources)

    def expand(self, raw: list[_RawTransition], states: dict[str, State]) -> list[Transition]:
        """Usable transitions, with ``*`` turned into every non-terminal state but the target."""
        result = []
        for t in raw:
            if t.id is None or t.target is None or not t.label or not t.roles:
                continue
            if t.sources is None:
                sources = tuple(s.id for s in states.values() if not s.terminal and s.id != t.target)
            else:
                sources = tuple(t.sources)
            result.append(Transition(t.id, t.label, sources, t.target, t.roles, t.form, t.guard, t.reason))
        return result

    # -- on_enter --------------------------------------------------------------------------------

    def load_on_enter(self, raw: Any, states: dict[str, State]) -> dict[str, tuple[str, ...]]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.add("on_enter", self.locate.top_key("on_enter") or self.locate.table_key("on_enter"),
                     "on_enter 必须是一个表：每行 状态 = [\"事件名\"]，如 accepted = [\"topic.accepted\"]",
                     "on_enter must be a table: one line per state, e.g. accepted = [\"topic.accepted\"]")
            return {}
        result: dict[str, tuple[str, ...]] = {}
        for state, events in raw.items():
            key = f"on_enter.{state}"
            line = self.locate.table_key("on_enter", state)
            if state not in states:
                self.add(key, line, f"状态 “{state}” 不在 [states] 中；已有的状态：{', '.join(states) or '无'}",
                         f"state '{state}' is not one of [states]: {', '.join(states) or 'none'}")
            elif (not isinstance(events, list)
                  or not all(isinstance(e, str) and EVENT.match(e) and len(e) <= MAX_ID_LENGTH for e in events)):
                self.add(key, line, f"事件名必须是列表，如 [\"topic.accepted\"]（小写字母、数字、下划线，可用点分段），"
                                    f"现为 {events!r}",
                         f"events must be a list of names, e.g. [\"topic.accepted\"] (lowercase letters, digits, "
                         f"underscores, parts separated by dots), got {events!r}")
            else:
                result[state] = tuple(dict.fromkeys(events))
        return result

    # -- the graph as a whole --------------------------------------------------------------------

    def check_graph(self, states: dict[str, State], raw: list[_RawTransition], initial: str | None) -> None:
        """No stuck states: a way out of every non-terminal state, a terminal within reach of every
        state, every state reachable from ``initial``.

        Every transition with usable ends counts, even one with another problem (a missing label),
        so one mistake is reported once; a state left by a transition whose ``to`` is misspelt is not
        blamed for having no way out, and reachability is not judged while any end is misspelt.
        """
        non_terminal = [s for s, state in states.items() if not state.terminal]
        edges: dict[str, set[str]] = {s: set() for s in states}
        excused: set[str] = set()
        for t in raw:
            sources = (t.sources if t.sources is not None
                       else [s for s in non_terminal if s != t.target])
            for s in sources:
                if t.target is None:
                    excused.add(s)
                else:
                    edges[s].add(t.target)
        any_broken = any(t.broken_ends for t in raw)

        sinks = [s for s in non_terminal if not edges[s] and s not in excused]
        for s in sinks:
            self.add(f"states.{s}", self.state_line(s),
                     f"状态 “{s}”（{states[s].label}）没有出路：没有从它出发的流转，它也不是终止状态；"
                     "请添加流转，或加上 terminal = true",
                     f"state '{s}' has no way out: no transition leaves it and it is not terminal; "
                     "add a transition or mark it terminal = true")

        reverse: dict[str, set[str]] = {s: set() for s in states}
        for s, targets in edges.items():
            for target in targets:
                reverse[target].add(s)
        finishing = _closure({s for s, state in states.items() if state.terminal} | excused, reverse)
        reported: set[str] = set(sinks)
        for s in states:
            if s in finishing or s in reported:
                continue
            ahead = _closure({s}, edges)
            component = [x for x in states if x in ahead and s in _closure({x}, edges)]
            # Only a component nothing leads out of is a cause; the other trapped states lead into one.
            if any(t not in component for x in component for t in edges[x]):
                continue
            reported |= set(component)
            names = "、".join(f"{x}（{states[x].label}）" for x in component)
            cycle = " → ".join([*_cycle(component, edges), component[0]])
            self.add(f"states.{component[0]}", self.state_line(component[0]),
                     f"状态 {names} 形成循环（{cycle}），从这里到不了任何终止状态；"
                     "请添加一个通往终止状态的流转，或把其中一个状态设为 terminal = true",
                     f"states {', '.join(component)} form a cycle ({cycle}) with no way to a terminal state; "
                     "add a transition from it to a terminal state, or mark one of them terminal = true")

        if initial is not None and not any_broken:
            reachable = _closure({initial}, edges)
            for s in states:
                if s not in reachable:
                    self.add(f"states.{s}", self.state_line(s),
                             f"状态 “{s}”（{states[s].label}）从初始状态 “{initial}” 无法到达；"
                             "请添加通往它的流转，或删去它",
                             f"state '{s}' cannot be reached from the initial state '{initial}'; "
                             "add a transition into it or remove it")


def _cycle(component: list[str], edges: Mapping[str, set[str]]) -> list[str]:
    """A shortest way round from ``component[0]`` back to itself, for the message (BFS)."""
    start = component[0]
    came_from: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(edges[node], key=component.index):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return path[::-1]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return component


def _closure(start: set[str], edges: Mapping[str, set[str]]) -> set[str]:
    """Every node reachable from ``start`` (``start`` included)."""
    seen = set(start)
    todo = list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


# ---------------------------------------------------------------------------------------------
# Runtime
# ---------------------------------------------------------------------------------------------

class TransitionRefused(YishiError):
    """A step that cannot be taken now; the message is for the person who tried.

    ``code`` says why, for the web layer (e.g. 409 for ``"state"``): ``"unknown"`` (no such
    transition or state), ``"state"`` (not from the current state — usually someone else acted
    first), ``"role"``, ``"guard"``, ``"reason"``.
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Step:
    """What happened: the record the web layer stores (with who and when) and hands to plugins."""

    source: str
    target: str
    transition: str | None
    """The transition's id; ``None`` for an override."""
    events: tuple[str, ...] = ()
    """``on_enter`` events of the target, to hand to plugins; empty for a repeat."""
    reason: str = ""
    override: bool = False
    repeat: bool = False
    """A retried request found the step already taken: nothing changes, nothing is recorded."""

    @property
    def changed(self) -> bool:
        return not self.repeat


def _allowed(transition: Transition, roles: Collection[str]) -> bool:
    return any(role in roles for role in transition.roles)


def _guard_met(transition: Transition, guards: Mapping[str, bool]) -> bool:
    return transition.guard is None or guards.get(transition.guard) is True


def available(spec: WorkflowSpec, state: str, roles: Collection[str],
              guards: Mapping[str, bool]) -> list[Transition]:
    """The transitions a person holding ``roles`` may take from ``state`` now, in spec order.

    A guard must be ``True`` in ``guards``; a guard left out counts as not met. An unknown state has
    none (the chair can still :func:`override` out of it).
    """
    return [t for t in spec.outgoing(state) if _allowed(t, roles) and _guard_met(t, guards)]


def guard_label(name: str, guard_labels: Mapping[str, str] | None = None) -> str:
    """The words people read for a guard: from ``guard_labels``, else core's, else the name."""
    if guard_labels is not None and name in guard_labels:
        return guard_labels[name]
    from core.lowcode.workflows import core_guard_labels  # the catalogue imports this module

    return core_guard_labels().get(name, name)


def apply(spec: WorkflowSpec, state: str, transition_id: str, roles: Collection[str],
          guards: Mapping[str, bool], reason: str = "", *, allow_repeat: bool = False,
          guard_labels: Mapping[str, str] | None = None) -> Step:
    """Take ``transition_id`` from ``state``, or raise :class:`TransitionRefused` saying why not.

    Checked in this order: the transition exists; it leaves ``state``; one of ``roles`` may take
    it; its guard holds; a reason is given if the spec asks for one (``reason`` is stripped).

    ``allow_repeat=True`` is for a request that may be a retry (a tablet on weak Wi-Fi resending a
    press that already went through): if ``state`` is already the transition's target and the
    transition does not leave from it, the answer is a no-op ``Step(repeat=True)`` — no events, and
    the caller records nothing — instead of "someone else acted". The person must still hold a role
    that may take the transition; the guard and reason are not checked again, because the state
    already shows the step was taken. Without ``allow_repeat`` the same call is refused.
    """
    transition = spec.transition(transition_id)
    if transition is None:
        raise TransitionRefused(_("没有这个操作，请刷新页面后再试。"), "unknown")
    repeat = allow_repeat and state == transition.target and state not in transition.sources
    if state not in transition.sources and not repeat:
        raise TransitionRefused(
            _("状态已变为“{state}”，可能已被其他人处理，请刷新页面。").format(state=spec.state_label(state)),
            "state")
    if not _allowed(transition, roles):
        raise TransitionRefused(_("您没有“{action}”的权限。").format(action=transition.label), "role")
    if repeat:
        return Step(state, state, transition.id, (), "", repeat=True)
    if not _guard_met(transition, guards):
        assert transition.guard is not None
        raise TransitionRefused(
            _("还不能“{action}”：需要先满足条件“{condition}”。").format(
                action=transition.label, condition=guard_label(transition.guard, guard_labels)),
            "guard")
    reason = reason.strip()
    if transition.require_reason and not reason:
        raise TransitionRefused(_("“{action}”需要填写理由。").format(action=transition.label), "reason")
    return Step(state, transition.target, transition.id, spec.on_enter.get(transition.target, ()), reason)


def override(spec: WorkflowSpec, state: str, target: str, reason: str) -> Step:
    """The chair's correction: move from any state to any state of the spec, with a recorded reason.

    As OpenSlides lets managers set any state. Who counts as the chair is the caller's decision
    (permission ``...override`` or the like); roles and guards are not consulted. ``state`` need not
    be a state of the spec, so an item left in a state a newer version dropped can be moved on. The
    reason must have at least :data:`MIN_OVERRIDE_REASON` characters after stripping. Overriding to
    the current state is a no-op ``Step(repeat=True)``; otherwise the target's ``on_enter`` events
    fire as for any step.
    """
    if target not in spec.states:
        raise TransitionRefused(_("没有这个状态，请刷新页面后再试。"), "unknown")
    reason = reason.strip()
    if len(reason) < MIN_OVERRIDE_REASON:
        raise TransitionRefused(
            _("更改状态需要填写理由（至少 {n} 个字）。").format(n=MIN_OVERRIDE_REASON), "reason")
    if state == target:
        return Step(state, target, None, (), reason, override=True, repeat=True)
    return Step(state, target, None, spec.on_enter.get(target, ()), reason, override=True)


__all__ = [
    "COLOURS",
    "MIN_OVERRIDE_REASON",
    "State",
    "Step",
    "Transition",
    "TransitionRefused",
    "WorkflowSpec",
    "apply",
    "available",
    "guard_label",
    "load_workflow",
    "load_workflow_file",
    "override",
]
