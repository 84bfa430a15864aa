"""The workflow engine: loading specs (every problem named with key, line, Chinese and English),
the moves between states (available / apply / override) and the shipped workflows."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.lowcode.registry import shared_forms
from core.lowcode.specs import SpecError, SpecProblem
from core.lowcode.workflow import (
    MIN_OVERRIDE_REASON,
    Step,
    TransitionRefused,
    WorkflowSpec,
    apply,
    available,
    load_workflow,
    override,
)
from core.lowcode.workflows import CORE_GUARDS, core_guard_labels, shared_workflows

ROLES = ("chair", "recorder", "unit")

BASE = """\
id = "demo"
version = 1
initial = "raised"

[states]
raised = { label = "已提出", colour = "blue" }
accepted = { label = "已受理" }
closed = { label = "已办结", colour = "#16A34A", terminal = true }

[[transitions]]
id = "accept"
label = "受理"
from = ["raised"]
to = "accepted"
roles = ["chair"]

[[transitions]]
id = "close"
label = "办结"
from = ["accepted"]
to = "closed"
roles = ["chair", "recorder"]
guard = "all_tasks_done"

[on_enter]
closed = ["demo.closed"]
"""


def problems_of(text: str | bytes, **kwargs: object) -> list[SpecProblem]:
    with pytest.raises(SpecError) as caught:
        load_workflow(text, "demo.toml", **kwargs)  # type: ignore[arg-type]
    assert str(caught.value), "a SpecError carries its problems in its message"
    return caught.value.problems


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def edit(*pairs: tuple[str, str]) -> str:
    text = BASE
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


# ---------------------------------------------------------------------------------------------
# Shipped workflows
# ---------------------------------------------------------------------------------------------

def test_shipped_workflows_load() -> None:
    workflows = shared_workflows()
    assert set(workflows) >= {"topic", "task", "meeting"}
    assert shared_workflows() is workflows, "loaded once"
    topic = workflows["topic"]
    assert topic.initial == "raised"
    assert {s for s in topic.states if topic.states[s].terminal} == {"merged", "declined", "rated", "answered"}
    assert topic.transition("decline").require_reason  # type: ignore[union-attr]
    assert topic.transition("assign").guard == "has_responsible_unit"  # type: ignore[union-attr]
    assert topic.transition("reopen").sources == ("done", "rated")  # type: ignore[union-attr]
    assert workflows["task"].transition("return").target == "returned"  # type: ignore[union-attr]
    meeting = workflows["meeting"]
    assert list(meeting.states)[:6] == ["draft", "notified", "in_session", "closed", "approved", "published"]
    forms = shared_forms()
    assert topic.transition("rate").form == "manyidu"  # type: ignore[union-attr]
    for spec in workflows.values():
        assert all(t.form is None or t.form in forms for t in spec.transitions)
        for state in spec.states.values():
            assert state.colour.startswith("#") and len(state.colour) == 7
        for t in spec.transitions:
            assert t.guard is None or t.guard in CORE_GUARDS


def test_base_spec_loads_and_colour_names_become_hex() -> None:
    spec = load_workflow(BASE, "demo.toml")
    assert spec.states["raised"].colour == "#2563EB"
    assert spec.states["accepted"].colour == "#6B7280"  # default grey
    assert spec.on_enter == {"closed": ("demo.closed",)}
    assert spec.source == "demo.toml"


def test_star_means_every_non_terminal_state_but_the_target() -> None:
    text = BASE + """
[[transitions]]
id = "drop"
label = "撤回"
from = "*"
to = "accepted"
roles = ["chair"]
"""
    spec = load_workflow(text, "demo.toml")
    assert spec.transition("drop").sources == ("raised",)  # type: ignore[union-attr]


def test_states_written_as_tables() -> None:
    text = BASE.replace('accepted = { label = "已受理" }\n', "").replace(
        "[[transitions]]", '[states.accepted]\nlabel = "已受理"\ncolour = "plum"\n\n[[transitions]]', 1)
    problems = problems_of(text)
    assert [(p.key, p.line) for p in problems] == [("states.accepted.colour", line_of(text, '"plum"'))]


# ---------------------------------------------------------------------------------------------
# Bad specs: each problem kind names its key, says it in both languages and finds the line
# ---------------------------------------------------------------------------------------------

@dataclass
class Bad:
    name: str
    text: str | bytes
    key: str
    zh: str
    en: str
    needle: str | None  # the line holding this text is the expected line; None: no line
    occurrence: int = 1


BAD = [
    Bad("unknown top key", edit(("version = 1", "version = 1\ntitel = \"x\"")), "titel", "未知的键", "unknown key",
        'titel = "x"'),
    Bad("unknown state key", edit(('{ label = "已受理" }', '{ label = "已受理", final = true }')),
        "states.accepted.final", "未知的键", "unknown key", "accepted = {"),
    Bad("unknown transition key", edit(('to = "accepted"', 'to = "accepted"\ntarget = "closed"')),
        "transitions[1].target", "未知的键", "unknown key", 'target = "closed"'),
    Bad("missing initial", edit(('initial = "raised"\n', "")), "initial", "缺少初始状态", "missing initial", None),
    Bad("initial not a state", edit(('initial = "raised"', 'initial = "new"')), "initial", "不在 [states] 中",
        "is not one of [states]", 'initial = "new"'),
    Bad("from a missing state", edit(('from = ["accepted"]', 'from = ["acepted"]')), "transitions[2].from",
        "不在 [states] 中", "not one of [states]", 'from = ["acepted"]'),
    Bad("to a missing state", edit(('to = "closed"', 'to = "close"')), "transitions[2].to", "不在 [states] 中",
        "not one of [states]", 'to = "close"'),
    Bad("duplicate transition id", edit(('id = "close"', 'id = "accept"')), "transitions[2].id", "重复",
        "duplicate transition id", 'id = "accept"', 2),
    Bad("duplicate source", edit(('from = ["raised"]', 'from = ["raised", "raised"]')), "transitions[1].from",
        "重复", "appears twice", 'from = ["raised", "raised"]'),
    Bad("non-terminal sink", edit(('closed = { label = "已办结", colour = "#16A34A", terminal = true }',
                                   'closed = { label = "已办结", colour = "#16A34A" }')),
        "states.closed", "没有出路", "no way out", "closed = {"),
    Bad("unreachable state", edit(('accepted = { label = "已受理" }',
                                   'accepted = { label = "已受理" }\nlost = { label = "遗漏", terminal = true }')),
        "states.lost", "无法到达", "cannot be reached", "lost = {"),
    Bad("bad colour", edit(('colour = "blue"', 'colour = "#12345"')), "states.raised.colour", "颜色",
        "unknown colour", 'colour = "#12345"'),
    Bad("unknown guard", edit(('guard = "all_tasks_done"', 'guard = "all_done"')), "transitions[2].guard",
        "未知的条件", "unknown guard", 'guard = "all_done"'),
    Bad("roles not a list", edit(('roles = ["chair"]', 'roles = "chair"')), "transitions[1].roles",
        "角色标识的列表", "list of role identifiers", 'roles = "chair"'),
    Bad("roles not identifiers", edit(('roles = ["chair"]', 'roles = ["主持人"]')), "transitions[1].roles",
        "角色标识的列表", "list of role identifiers", 'roles = ["主持人"]'),
    Bad("empty roles", edit(('roles = ["chair"]', "roles = []")), "transitions[1].roles",
        "角色标识的列表", "list of role identifiers", "roles = []"),
    Bad("reason not a boolean", edit(('roles = ["chair"]', 'roles = ["chair"]\nreason = "必填"')),
        "transitions[1].reason", "true 或 false", "true or false", 'reason = "必填"'),
    Bad("no transitions", BASE.split("[[transitions]]")[0], "transitions", "没有流转", "no transitions", None),
    Bad("on_enter names a missing state", edit(("closed = [", "finished = [")), "on_enter.finished",
        "不在 [states] 中", "not one of [states]", "finished = ["),
    Bad("missing version", edit(("version = 1\n", "")), "version", "缺少版本号", "missing version", None),
    Bad("not UTF-8", BASE.encode("gb18030"), "", "不是 UTF-8", "not UTF-8", "已提出"),  # its first Chinese
    Bad("TOML syntax error", edit(('to = "accepted"', 'to = "accepted')), "", "TOML 语法错误", "TOML syntax error",
        'to = "accepted'),
]


@pytest.mark.parametrize("bad", BAD, ids=[b.name for b in BAD])
def test_bad_spec_is_refused_naming_key_line_and_problem(bad: Bad) -> None:
    problems = problems_of(bad.text)
    matching = [p for p in problems if p.key == bad.key]
    assert matching, f"no problem for {bad.key!r}: {[str(p) for p in problems]}"
    problem = matching[0]
    assert bad.zh in problem.zh and bad.en in problem.en, str(problem)
    assert problem.file == "demo.toml"
    text = bad.text.decode("gb18030") if isinstance(bad.text, bytes) else bad.text
    expected = line_of(text, bad.needle, bad.occurrence) if bad.needle else None
    assert problem.line == expected, str(problem)
    assert bad.key in str(problem) if bad.key else "demo.toml" in str(problem)


def test_unknown_form_only_when_forms_are_known() -> None:
    text = edit(('guard = "all_tasks_done"', 'guard = "all_tasks_done"\nform = "banjie"'))
    load_workflow(text, "demo.toml")
    [problem] = problems_of(text, known_forms={"jiaobandan"})
    assert (problem.key, problem.line) == ("transitions[2].form", line_of(text, 'form = "banjie"'))
    assert "没有标识为 “banjie” 的表单" in problem.zh and "no form with id 'banjie'" in problem.en
    load_workflow(text.replace("banjie", "jiaobandan"), "demo.toml", known_forms={"jiaobandan"})


def test_guards_are_the_callers() -> None:
    [problem] = problems_of(BASE, known_guards={"poll_passed"})
    assert problem.key == "transitions[2].guard"
    load_workflow(BASE.replace("all_tasks_done", "site_checked"), "demo.toml", known_guards={"site_checked"})


def test_terminal_free_cycle_names_its_states() -> None:
    text = edit(('to = "closed"', 'to = "raised"'))  # raised ⇄ accepted, closed unreachable
    problems = problems_of(text)
    cycle = [p for p in problems if "循环" in p.zh]
    assert len(cycle) == 1
    assert cycle[0].key == "states.raised" and cycle[0].line == line_of(text, "raised = {")
    assert "raised → accepted → raised" in cycle[0].zh and "raised, accepted" in cycle[0].en
    assert {p.key for p in problems} == {"states.raised", "states.closed"}  # + closed unreachable


def test_every_problem_is_collected() -> None:
    text = edit(('initial = "raised"', 'initial = "nowhere"'), ('colour = "blue"', 'colour = "sky"'),
                ('guard = "all_tasks_done"', 'guard = "maybe"'), ('roles = ["chair"]', "roles = [1]"))
    keys = {p.key for p in problems_of(text)}
    assert keys == {"initial", "states.raised.colour", "transitions[2].guard", "transitions[1].roles"}


def test_a_misspelt_target_is_reported_once() -> None:
    """The state it leaves is not also blamed for having no way out, nor the target for being unreachable."""
    problems = problems_of(edit(('to = "closed"', 'to = "clossed"')))
    assert [p.key for p in problems] == ["transitions[2].to"]


def test_str_with_undecodable_bytes_is_refused() -> None:
    text = BASE.encode("utf-8").replace("已受理".encode(), b"\xd2\xd1").decode("utf-8", "surrogateescape")
    [problem] = problems_of(text)
    assert "UTF-8" in problem.zh and problem.line == line_of(BASE, "已受理")


def test_bytes_and_bom_are_accepted() -> None:
    assert load_workflow(("\ufeff" + BASE).encode(), "demo.toml").id == "demo"


# ---------------------------------------------------------------------------------------------
# Runtime
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def topic() -> WorkflowSpec:
    return shared_workflows()["topic"]


def ids(transitions: list) -> list[str]:
    return [t.id for t in transitions]


def test_available_depends_on_roles_and_guards(topic: WorkflowSpec) -> None:
    assert ids(available(topic, "raised", {"chair"}, {})) == ["accept", "merge", "decline"]
    assert ids(available(topic, "raised", {"recorder", "member"}, {})) == ["accept", "merge"]
    assert available(topic, "raised", {"unit"}, {}) == []
    assert available(topic, "raised", set(), {}) == []
    assert ids(available(topic, "scheduled", {"chair"}, {})) == ["defer", "agree"]
    assert ids(available(topic, "scheduled", {"chair"}, {"poll_passed": True})) == ["defer", "adopt", "agree"]
    assert ids(available(topic, "scheduled", {"chair"}, {"poll_passed": False})) == ["defer", "agree"]
    assert available(topic, "no_such_state", set(ROLES), {}) == []


def test_apply_moves_and_reports_events(topic: WorkflowSpec) -> None:
    step = apply(topic, "raised", "accept", {"recorder"}, {})
    assert step == Step("raised", "accepted", "accept", ("topic.accepted",), "")
    assert step.changed and not step.override
    step = apply(topic, "decided", "assign", {"chair"}, {"has_responsible_unit": True})
    assert (step.target, step.events) == ("assigned", ("topic.assigned",))


def test_apply_refuses_wrong_state(topic: WorkflowSpec) -> None:
    with pytest.raises(TransitionRefused) as refused:
        apply(topic, "accepted", "decline", {"chair"}, {}, "重复提出")
    assert refused.value.code == "state"
    assert "已受理" in refused.value.message and "请刷新页面" in refused.value.message


def test_apply_refuses_role(topic: WorkflowSpec) -> None:
    with pytest.raises(TransitionRefused) as refused:
        apply(topic, "raised", "decline", {"recorder"}, {}, "重复提出")
    assert refused.value.code == "role" and "不予受理" in str(refused.value)


def test_apply_refuses_unmet_guard_with_its_label(topic: WorkflowSpec) -> None:
    for guards in ({}, {"has_responsible_unit": False}):
        with pytest.raises(TransitionRefused) as refused:
            apply(topic, "decided", "assign", {"chair"}, guards)
        assert refused.value.code == "guard"
        assert "交办" in refused.value.message and "已指定责任单位" in refused.value.message
    with pytest.raises(TransitionRefused) as refused:
        apply(topic, "decided", "assign", {"chair"}, {}, guard_labels={"has_responsible_unit": "已选定单位"})
    assert "已选定单位" in refused.value.message
    assert core_guard_labels() == CORE_GUARDS  # zh_CN: the msgids are the labels


def test_apply_requires_a_reason_where_the_spec_says(topic: WorkflowSpec) -> None:
    for reason in ("", "   \n"):
        with pytest.raises(TransitionRefused) as refused:
            apply(topic, "raised", "decline", {"chair"}, {}, reason)
        assert refused.value.code == "reason" and "理由" in refused.value.message
    step = apply(topic, "raised", "decline", {"chair"}, {}, "  与第 12 号议题重复  ")
    assert step.reason == "与第 12 号议题重复" and step.events == ("topic.declined",)


def test_apply_refuses_unknown_transition(topic: WorkflowSpec) -> None:
    with pytest.raises(TransitionRefused) as refused:
        apply(topic, "raised", "approve", {"chair"}, {})
    assert refused.value.code == "unknown"


def test_repeat_is_a_no_op_only_when_allowed(topic: WorkflowSpec) -> None:
    """A retried request finds the step already taken (weak Wi-Fi): no failure, nothing to record."""
    step = apply(topic, "accepted", "accept", {"chair"}, {}, allow_repeat=True)
    assert step == Step("accepted", "accepted", "accept", (), "", repeat=True)
    assert not step.changed
    with pytest.raises(TransitionRefused) as refused:
        apply(topic, "accepted", "accept", {"chair"}, {})
    assert refused.value.code == "state"
    with pytest.raises(TransitionRefused) as refused:  # elsewhere: someone else moved it on
        apply(topic, "scheduled", "accept", {"chair"}, {}, allow_repeat=True)
    assert refused.value.code == "state"
    with pytest.raises(TransitionRefused) as refused:  # a repeat still needs the role
        apply(topic, "accepted", "accept", {"unit"}, {}, allow_repeat=True)
    assert refused.value.code == "role"
    # The guard held when the step was taken; it need not hold on the retry.
    assert apply(topic, "assigned", "assign", {"chair"}, {}, allow_repeat=True).repeat


def test_override_moves_anywhere_with_a_reason(topic: WorkflowSpec) -> None:
    step = override(topic, "declined", "accepted", "  误操作，恢复受理  ")
    assert step == Step("declined", "accepted", None, ("topic.accepted",), "误操作，恢复受理", override=True)
    step = override(topic, "gone_in_v2", "raised", "旧版本遗留状态")
    assert (step.source, step.target, step.override) == ("gone_in_v2", "raised", True)
    same = override(topic, "raised", "raised", "重复提交的更改")
    assert same.repeat and same.events == ()


@pytest.mark.parametrize("reason", ["", "    ", "错了", " 点错了 ", "x" * (MIN_OVERRIDE_REASON - 1)])
def test_override_needs_a_real_reason(topic: WorkflowSpec, reason: str) -> None:
    with pytest.raises(TransitionRefused) as refused:
        override(topic, "raised", "accepted", reason)
    assert refused.value.code == "reason" and str(MIN_OVERRIDE_REASON) in refused.value.message


def test_override_to_an_unknown_state(topic: WorkflowSpec) -> None:
    with pytest.raises(TransitionRefused) as refused:
        override(topic, "raised", "nowhere", "理由足够长了")
    assert refused.value.code == "unknown"


def test_whole_topic_loop(topic: WorkflowSpec) -> None:
    chair, all_guards = {"chair"}, dict.fromkeys(CORE_GUARDS, True)
    state = topic.initial
    for transition in ("accept", "schedule", "agree", "assign", "complete", "rate", "reopen", "complete", "rate"):
        state = apply(topic, state, transition, chair, all_guards, "居民不满意，重新办理").target
    assert state == "rated" and topic.states[state].terminal


# ---------------------------------------------------------------------------------------------
# Random workflows
# ---------------------------------------------------------------------------------------------

@dataclass
class Edge:
    sources: list[int]
    target: int
    roles: list[str]
    guard: str | None
    reason: bool


def render(n: int, terminal: set[int], edges: list[Edge], star: int | None = None) -> str:
    lines = ['id = "random"', "version = 1", 'initial = "s0"', "", "[states]"]
    for i in range(n):
        flag = ", terminal = true" if i in terminal else ""
        lines.append(f's{i} = {{ label = "状态{i}"{flag} }}')
    for k, edge in enumerate(edges):
        lines += ["", "[[transitions]]", f'id = "t{k}"', f'label = "操作{k}"',
                  "from = [" + ", ".join(f'"s{s}"' for s in edge.sources) + "]",
                  f'to = "s{edge.target}"', "roles = [" + ", ".join(f'"{r}"' for r in edge.roles) + "]"]
        if edge.guard:
            lines.append(f'guard = "{edge.guard}"')
        if edge.reason:
            lines.append("reason = true")
    if star is not None:
        lines += ["", "[[transitions]]", 'id = "cancel"', 'label = "撤销"', 'from = "*"', f'to = "s{star}"',
                  'roles = ["chair"]', "reason = true"]
    lines += ["", "[on_enter]"] + [f's{i} = ["random.s{i}"]' for i in sorted(terminal)]
    return "\n".join(lines) + "\n"


@st.composite
def good_workflows(draw: st.DrawFn) -> tuple[int, set[int], list[Edge], int | None]:
    """Random graphs where every state is reachable from s0 and can reach a terminal state."""
    n = draw(st.integers(2, 9))
    terminal = {n - 1} | draw(st.sets(st.integers(0, n - 1), max_size=3))
    pairs = [(draw(st.integers(0, i - 1)), i) for i in range(1, n)]  # a tree from s0 reaches every state
    # every non-terminal state steps to a higher one, and the highest is terminal: no state is stuck
    pairs += [(i, draw(st.integers(i + 1, n - 1))) for i in range(n - 1) if i not in terminal]
    pairs += draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=8))
    edges: list[Edge] = []
    for source, target in pairs:
        same = [e for e in edges if e.target == target and source not in e.sources]
        if same and draw(st.booleans()):  # sometimes one transition leaves from several states
            same[0].sources.append(source)
            continue
        edges.append(Edge([source], target, sorted(draw(st.sets(st.sampled_from(ROLES), min_size=1))),
                          draw(st.none() | st.sampled_from(sorted(CORE_GUARDS))), draw(st.booleans())))
    star = draw(st.none() | st.sampled_from(sorted(terminal)))
    return n, terminal, edges, star


@settings(max_examples=100, deadline=None, database=None)
@given(good_workflows(), st.data())
def test_random_well_formed_workflows_load_and_walks_never_get_stuck(
        workflow: tuple[int, set[int], list[Edge], int | None], data: st.DataObject) -> None:
    n, terminal, edges, star = workflow
    spec = load_workflow(render(n, terminal, edges, star), "random.toml")
    assert len(spec.states) == n and len(spec.transitions) == len(edges) + (star is not None)

    everyone, all_guards = set(ROLES), dict.fromkeys(CORE_GUARDS, True)
    for state in spec.states:  # with every role and every guard met, every state can finish
        seen, todo = {state}, [state]
        while todo:
            current = todo.pop()
            moves = available(spec, current, everyone, all_guards)
            assert moves or spec.states[current].terminal
            for t in moves:
                if t.target not in seen:
                    seen.add(t.target)
                    todo.append(t.target)
        assert any(spec.states[s].terminal for s in seen)

    roles = data.draw(st.sets(st.sampled_from(ROLES)), label="roles")
    guards = data.draw(st.fixed_dictionaries({g: st.booleans() for g in CORE_GUARDS}), label="guards")
    state = spec.initial
    for _ in range(3 * n):
        assert state in spec.states
        moves = available(spec, state, roles, guards)
        for t in moves:
            assert state in t.sources and set(t.roles) & roles and (t.guard is None or guards[t.guard])
        if not moves:
            # stopped: a terminal state, or nothing these roles may do here now
            assert spec.states[state].terminal or all(
                not (set(t.roles) & roles) or (t.guard and not guards[t.guard]) for t in spec.outgoing(state))
            break
        chosen = data.draw(st.sampled_from(moves), label="move")
        step = apply(spec, state, chosen.id, roles, guards, "理由写在这里")
        assert (step.source, step.target, step.transition) == (state, chosen.target, chosen.id)
        assert step.events == spec.on_enter.get(chosen.target, ())
        state = step.target


@settings(max_examples=100, deadline=None, database=None)
@given(good_workflows(), st.integers(1, 3), st.booleans(), st.data())
def test_random_workflows_with_a_trap_are_refused(
        workflow: tuple[int, set[int], list[Edge], int | None], size: int, sink: bool, data: st.DataObject) -> None:
    """A non-terminal sink, or a cycle with no terminal state, reachable from s0, is refused and named."""
    n, terminal, edges, _star = workflow
    trap = list(range(n, n + (1 if sink else size)))
    entry = data.draw(st.integers(0, n - 1), label="entry")
    edges = [*edges, Edge([entry], trap[0], ["chair"], None, False)]
    if not sink:  # trap[0] → trap[1] → … → trap[0]
        edges += [Edge([a], b, ["chair"], None, False) for a, b in zip(trap, trap[1:] + trap[:1], strict=True)]
    problems = problems_of(render(n + len(trap), terminal, edges))  # no "*": it would give the trap a way out
    names = {f"states.s{i}" for i in trap}
    assert problems and {p.key for p in problems} <= names, [str(p) for p in problems]
    [problem] = problems
    if sink:
        assert "没有出路" in problem.zh and "no way out" in problem.en
    else:
        assert "循环" in problem.zh and "cycle" in problem.en
        assert all(f"s{i}" in problem.zh for i in trap)
    assert problem.line is not None


# ---------------------------------------------------------------------------------------------
# The reference keeps step with the shipped workflows
# ---------------------------------------------------------------------------------------------

def _workflow_docs() -> str:
    """docs/lowcode-workflows.md, or docs/lowcode.md once the two are merged."""
    from core.settings import PROJECT_ROOT

    for name in ("lowcode-workflows.md", "lowcode.md"):
        path = PROJECT_ROOT / "docs" / name
        if path.exists() and "### `topic`" in (text := path.read_text(encoding="utf-8")):
            return text
    raise AssertionError("the workflow reference (### `topic` …) is in neither docs/lowcode-workflows.md "
                         "nor docs/lowcode.md")


def test_docs_list_every_shipped_state_and_transition() -> None:
    docs = _workflow_docs()
    for spec in shared_workflows().values():
        section = docs.split(f"### `{spec.id}`", 1)[1].split("\n### ", 1)[0]
        for state in spec.states.values():
            assert f"| `{state.id}`" in section and f"| {state.label} | `{state.colour}` |" in section, state
        for t in spec.transitions:
            row = f"| `{t.id}` | {t.label} | {', '.join(t.sources)} → {t.target} | {', '.join(t.roles)} |"
            assert row in section, row


def test_docs_example_loads() -> None:
    example = _workflow_docs().split("```toml\n", 1)[1].split("```", 1)[0]
    spec = load_workflow(example, "docs example")
    assert spec.id == "wuchang.issue" and spec.states["answered"].colour == "#0F766E"
