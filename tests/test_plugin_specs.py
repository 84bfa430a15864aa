"""A plugin ships its own forms and workflows (yishi_forms / yishi_workflows) and hears every step
(yishi_on_transition), on SQLite and PostgreSQL.

The sample county's practice 邻里议事会 asks residents for their building in its own 提事表 and adds
a 楼栋长初审 step to core's topic loop; the same steps through core's pages reach the plugin once
each, after they commit.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from core.accounts.tables import User
from core.errors import PluginError
from core.practices import Practice
from core.topics.tables import Topic, TopicEvent
from tests.conftest import http_client, login
from tests.factories import make_council
from tests.test_plugins import ENABLED, running_app, settings_for, tiny_meta, tiny_plugin, write_registry
from tests.test_residents import answer, link_of, seed

LINLI = {"title": "2栋门口快递柜占了消防通道", "building": "2栋",
         "details": "快递柜摆在2栋单元门口，消防车道被挡住一半，晚上取件的人多时更堵。", "_nonce": "linli-1"}


def heard() -> list:
    return sys.modules["yishi_sample_county"].HEARD


def test_plugin_specs_join_the_catalogue_with_their_owner(sample_county: Path, tmp_path: Path) -> None:
    from core.plugins import load_plugins

    plugins = load_plugins(write_registry(tmp_path, ENABLED))

    assert plugins.specs.form("linli_tishi").title == "邻里议事会提事表"
    assert plugins.specs.owner("form", "linli_tishi") == "sample_county"
    assert plugins.specs.owner("workflow", "linli_topic") == "sample_county"
    assert plugins.specs.owner("form", "tishi") == "core"
    workflow = plugins.specs.workflow("linli_topic")
    assert workflow.state_label("reviewed") == "楼栋长已初审"
    assert plugins.practices["linli_test"].topic_workflow == "linli_topic"


async def test_resident_fills_the_practice_own_form_and_the_council_takes_the_added_step(
        sample_county: Path, tmp_path: Path, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url, write_registry(tmp_path, ENABLED))
    heard().clear()
    async with running_app(settings) as app:
        council, entries = await seed(await make_council(practice="linli_test"))
        link = link_of(settings, entries["朱秀英"])
        async with http_client(app) as phone:
            page = await phone.get(f"{link}/tishi")
            assert page.status_code == 200, page.text
            assert "邻里议事会提事表" in page.text and "所在楼栋" in page.text
            missing = await phone.post(f"{link}/tishi", data={**LINLI, "building": ""})
            assert missing.status_code == 422
            assert "所在楼栋" in missing.text and await Topic.count() == 0
            sent = await phone.post(f"{link}/tishi", data=LINLI)
            assert sent.status_code == 303, sent.text
        topic = await Topic.select().first()
        assert topic["title"] == LINLI["title"] and topic["description"] == LINLI["details"]

        async with http_client(app) as tablet:
            await login(tablet, "chair")
            triage = await tablet.get(f"/councils/{council.id}/topics")
            assert "楼栋长初审" in triage.text  # the practice's own step, offered as a button
            data = {"transition": "prereview", "state": "raised"}
            first = await tablet.post(f"/councils/{council.id}/topics/{topic['id']}/act", data=data)
            again = await tablet.post(f"/councils/{council.id}/topics/{topic['id']}/act", data=data)
            assert first.status_code == 303
            assert again.status_code == 422 and "楼栋长已初审" in again.text  # stale: nothing applied twice
            reviewed = await tablet.get(f"/councils/{council.id}/topics")
            assert "楼栋长已初审" in reviewed.text
            accepted = await tablet.post(f"/councils/{council.id}/topics/{topic['id']}/act",
                                         data={"transition": "accept", "state": "reviewed"})
            assert accepted.status_code == 303

    assert [e["transition"] for e in await TopicEvent.select().order_by(TopicEvent.id)] == [
        "raise", "prereview", "accept"]
    chair = await User.select(User.id).where(User.username == "chair").first()
    steps = [(e.kind, e.entity_id, e.council_id, e.workflow, e.transition, e.source, e.target, e.actor)
             for e in heard()]
    assert steps == [
        ("topic", topic["id"], council.id, "linli_topic", "prereview", "raised", "reviewed", f"user:{chair['id']}"),
        ("topic", topic["id"], council.id, "linli_topic", "accept", "reviewed", "accepted", f"user:{chair['id']}"),
    ]


async def test_a_failing_listener_does_not_undo_the_step(tmp_path: Path, database_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from core.plugins import load_plugins

    told: list[str] = []

    def broken(event: object) -> None:
        told.append("broken")
        raise RuntimeError("the county's SMS gateway is down")

    def listening(event: object) -> None:
        told.append(getattr(event, "target", ""))

    plugins = load_plugins(None, extra_modules=[
        tiny_plugin("broken_listener", tiny_meta("broken_listener"), yishi_on_transition=broken),
        tiny_plugin("listener", tiny_meta("listener"), yishi_on_transition=listening)])
    settings = settings_for(tmp_path, database_url, tmp_path / "none.toml")
    async with running_app(settings, plugins) as app:
        council, entries = await seed()
        async with http_client(app) as phone, http_client(app) as tablet:
            link = link_of(settings, entries["张桂芳"])
            assert (await answer(phone, link, "3721")).status_code == 303
            sent = await phone.post(f"{link}/tishi", data={
                "title": "小区东门路灯坏了", "category": "治安消防", "details": "东门路灯坏了两周，晚上很黑。",
                "where.building": "", "where.unit_no": "", "where.room": "", "phone": "", "_nonce": "n"})
            assert sent.status_code == 303, sent.text
            topic = await Topic.select(Topic.id).first()
            await login(tablet, "chair")
            r = await tablet.post(f"/councils/{council.id}/topics/{topic['id']}/act",
                                  data={"transition": "accept", "state": "raised"})
    assert r.status_code == 303
    assert (await Topic.select(Topic.state).first())["state"] == "accepted"
    assert told == ["broken", "accepted"]


# -------------------------------------------------------------------------------------------------
# Bad specs refuse the plugin, naming file, key and problem
# -------------------------------------------------------------------------------------------------


def spec_plugin(tmp_path: Path, plugin_id: str, *, forms: dict[str, str] | None = None,
                workflows: dict[str, str] | None = None, rules: dict[str, str] | None = None,
                practice: Practice | None = None):
    folder = tmp_path / plugin_id
    for kind, files in (("forms", forms or {}), ("workflows", workflows or {}), ("rules", rules or {})):
        (folder / kind).mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / kind / name).write_text(textwrap.dedent(text), encoding="utf-8")
    hooks = {"yishi_forms": lambda: [folder / "forms"], "yishi_workflows": lambda: [folder / "workflows"],
             "yishi_vote_rules": lambda: [folder / "rules"]}
    if practice is not None:
        hooks["yishi_practices"] = lambda: [practice]
    return tiny_plugin(plugin_id, tiny_meta(plugin_id), **hooks)


def refusal(*modules) -> str:
    from core.plugins import load_plugins

    with pytest.raises(PluginError) as caught:
        load_plugins(None, extra_modules=list(modules))
    return str(caught.value)


def test_unknown_field_type_in_a_plugin_form_names_plugin_file_and_key(tmp_path: Path) -> None:
    message = refusal(spec_plugin(tmp_path, "bad_form", forms={"wrong.toml": """
        id = "bad_form_tishi"
        version = 1
        title = "提事表"
        [[fields]]
        name = "title"
        label = "议题"
        type = "paragraph"
        """}))
    assert "插件 bad_form" in message
    assert "wrong.toml" in message and "fields.title.type" in message and "paragraph" in message


def test_a_plugin_form_may_not_reuse_a_core_form_id(tmp_path: Path) -> None:
    message = refusal(spec_plugin(tmp_path, "copycat", forms={"tishi.toml": """
        id = "tishi"
        version = 1
        title = "提事表"
        [[fields]]
        name = "title"
        label = "议题"
        type = "text"
        """}))
    assert "tishi.toml" in message and "'tishi'" in message and "core" in message


def test_a_plugin_workflow_to_a_missing_state_is_refused(tmp_path: Path) -> None:
    message = refusal(spec_plugin(tmp_path, "lost", workflows={"flow.toml": """
        id = "lost_flow"
        version = 1
        initial = "open"
        [states]
        open = { label = "待办" }
        done = { label = "完成", terminal = true }
        [[transitions]]
        id = "finish"
        label = "完成"
        from = ["open"]
        to = "finished"
        roles = ["chair"]
        """}))
    assert "插件 lost" in message and "flow.toml" in message and "finished" in message


def test_a_practice_topic_workflow_must_keep_core_transitions(tmp_path: Path) -> None:
    core_topic = (Path(__file__).parent.parent / "forms" / "workflows" / "topic.toml").read_text(encoding="utf-8")
    without_merge = core_topic.replace('id = "topic"', 'id = "short_topic"').replace(
        'id = "merge"\nlabel = "合并"\nfrom = ["raised"]', 'id = "merge"\nlabel = "合并"\nfrom = ["accepted"]')
    assert without_merge.count("short_topic") == 1 and 'from = ["accepted"]\nto = "merged"' in without_merge
    message = refusal(spec_plugin(tmp_path, "short", workflows={"short_topic.toml": without_merge},
                                  practice=Practice(id="short", name="短流程", topic_workflow="short_topic")))
    assert "插件 short" in message and "'merge'" in message and "raised" in message


def test_a_practice_naming_a_missing_intake_form_is_refused(tmp_path: Path) -> None:
    message = refusal(spec_plugin(tmp_path, "noform", practice=Practice(id="noform", name="无表",
                                                                         intake_form="noform_tishi")))
    assert "插件 noform" in message and "noform_tishi" in message and "不存在" in message


ELEVATOR_RULE = """
    id = "elevator_unit"
    version = 1
    name = "加装电梯（本单元）"
    citation = "某市既有住宅加装电梯实施办法"
    article = "应当经本单元专有部分面积占比三分之二以上且人数占比三分之二以上的业主同意。"

    [approval]
    combine = "all"

    [[approval.thresholds]]
    count = "in_favour"
    measure = "area"
    base = "eligible"
    comparison = ">="
    fraction = "FRACTION"
    """


def test_a_plugin_ships_its_own_voting_rule(tmp_path: Path) -> None:
    from core.plugins import load_plugins

    plugins = load_plugins(None, extra_modules=[spec_plugin(tmp_path, "county", rules={
        "elevator.toml": ELEVATOR_RULE.replace("FRACTION", "2/3")})])
    assert plugins.specs.rule("elevator_unit").name == "加装电梯（本单元）"
    assert plugins.specs.owner("rule", "elevator_unit") == "county"
    assert plugins.specs.owner("rule", "civil_code_278") == "core"  # core's profiles stay


def test_a_bad_plugin_voting_rule_refuses_the_plugin(tmp_path: Path) -> None:
    message = refusal(spec_plugin(tmp_path, "county", rules={
        "elevator.toml": ELEVATOR_RULE.replace("FRACTION", "3/2")}))
    assert "插件 county" in message and "elevator.toml" in message and "fraction" in message
