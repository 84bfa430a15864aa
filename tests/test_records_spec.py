"""Record-kind specs (docs/records.md): a good one loads; each bad one is refused naming the file, the
key and the line, at plugin load (the plugin is refused) and in `yishi plugin check`."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType

import pytest

from core.lowcode.check import check_path
from core.lowcode.specs import SpecError
from core.plugin_meta import PluginMeta, hookimpl
from core.plugins import PluginError, load_plugins
from core.records.spec import load_record
from tests.test_records import KIT, kit_module

GOOD = (KIT / "records" / "rk_mediation.toml").read_text(encoding="utf-8")


def catalogue() -> tuple[dict, dict]:
    from core.lowcode.catalogue import collect, core_catalogue

    specs = collect(core_catalogue(), "rk", [KIT / "forms"], [KIT / "workflows"])
    return dict(specs.forms), dict(specs.workflows)


def problems(text: str) -> list[str]:
    forms, workflows = catalogue()
    with pytest.raises(SpecError) as exc:
        load_record(text, "rk_bad.toml", forms=forms, workflows=workflows)
    return [str(p) for p in exc.value.problems]


def test_good_spec_loads() -> None:
    forms, workflows = catalogue()
    kind = load_record(GOOD, "rk_mediation.toml", forms=forms, workflows=workflows)
    assert kind.id == "rk_mediation" and kind.practices == ("sanfang",)
    assert [p.label for p in kind.parties] == ["甲方", "乙方"] and kind.signing.lock
    assert kind.edit_permission == "rk.mediate"  # defaults to create
    assert kind.document("agreement").formats == ("html", "pdf")


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('form = "rk_dispute"', 'form = "rk_nosuch"', "rk_bad.toml: form (第 4 行 / line 4): 表单 'rk_nosuch' 不存在"),
    ('workflow = "rk_mediation"', 'workflow = "rk_nosuch"', "workflow (第 5 行 / line 5): 流程 'rk_nosuch' 不存在"),
    ('columns = ["category", "a_name", "b_name"]', 'columns = ["category", "phone"]',
     "columns (第 7 行 / line 7): 表单 'rk_dispute' 没有字段 'phone'"),
    ('name_field = "b_name"', 'name_field = "b_phone"',
     "parties[2].name_field (第 27 行 / line 27): 表单 'rk_dispute' 没有字段 'b_phone'"),
    ('transition = "take_effect"', 'transition = "start"',
     "signing.transition (第 16 行 / line 16): 操作 'start' 的 roles 须包含 \"parties\""),
    ('transition = "take_effect"', 'transition = "nosuch"', "signing.transition (第 16 行 / line 16): 流程"),
    ('view = "rk.view"', 'view = ""', "permissions.view (第 12 行 / line 12): 缺少权限 permissions.view"),
    ('formats = ["html", "pdf"]', 'formats = ["html", "xls"]', "documents[1].formats (第 33 行 / line 33)"),
    ('edit_states = ["registered", "mediating", "signing"]', 'edit_states = ["drafting"]',
     "edit_states (第 8 行 / line 8): 流程 'rk_mediation' 没有状态 'drafting'"),
    ('practices = ["sanfang"]\n', '', "practices: 缺少 practices"),
    ('version = 1', 'version = 0', "version (第 2 行 / line 2): 版本号必须是正整数"),
    ('title = "纠纷调解"', 'titel = "纠纷调解"', "titel (第 3 行 / line 3): 不认识的键 'titel'"),
    ('name_field = "b_name"', 'name_field = "b_name"\ncontact_field = "b_phone"',
     "parties[2].contact_field (第 28 行 / line 28): 表单 'rk_dispute' 没有字段 'b_phone'"),
])
def test_bad_spec_names_file_key_line(old: str, new: str, expected: str) -> None:
    assert GOOD.count(old) == 1
    found = problems(GOOD.replace(old, new))
    assert any(expected in p for p in found), found


def test_parties_without_signing_and_toml_syntax() -> None:
    text = GOOD.replace('[signing]\ntransition = "take_effect"\nlock = true\n', "")
    assert any("[[parties]] need a [signing] table" in p for p in problems(text))
    assert any("TOML 语法错误" in p for p in problems(GOOD.replace('title = "纠纷调解"', 'title = "纠纷调解')))


def _plugin_with(folder: Path, plugin_id: str = "rk_bad") -> ModuleType:
    module = ModuleType(f"yishi_{plugin_id}")
    module.meta = PluginMeta(id=plugin_id, name="坏插件", version="0.1.0", core=">=0.1,<0.2")

    @hookimpl
    def yishi_records() -> list[Path]:
        return [folder]

    module.yishi_records = yishi_records
    return module


def test_plugin_with_bad_record_kind_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(GOOD.replace('id = "rk_mediation"', 'id = "rk_other"').replace(
        'form = "rk_dispute"', 'form = "nosuch_form"'), encoding="utf-8")
    with pytest.raises(PluginError) as exc:
        load_plugins(None, extra_modules=[kit_module(), _plugin_with(tmp_path)])
    message = str(exc.value)
    assert "插件 rk_bad" in message and "bad.toml: form (第 4 行 / line 4)" in message
    plugins = load_plugins(None, extra_modules=[kit_module(), _plugin_with(tmp_path)], on_error="skip")
    assert "rk_bad" not in plugins.metas and "rk_mediation" in plugins.specs.records
    assert any("rk_bad" in w for w in plugins.warnings)


def test_reused_record_id_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dup.toml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(PluginError) as exc:
        load_plugins(None, extra_modules=[kit_module(), _plugin_with(tmp_path)])
    assert "记录类型 id 'rk_mediation' 已被 rk 使用" in str(exc.value)


def test_plugin_check_reads_record_kinds(tmp_path: Path) -> None:
    folder = tmp_path / "kit"
    shutil.copytree(KIT, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__", "templates"))
    assert list(check_path(folder)) == []
    (folder / "records" / "rk_mediation.toml").write_text(
        GOOD.replace('name_field = "a_name"', 'name_field = "a_phone"'), encoding="utf-8")
    found = [p for _f, p in check_path(folder)]
    assert len(found) == 1 and "parties[1].name_field (第 22 行 / line 22)" in found[0], found


def test_record_hook_documented() -> None:
    text = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert "yishi_records() -> 'Sequence[Path]'" in text
    guide = (Path(__file__).parents[1] / "docs" / "records.md").read_text(encoding="utf-8")
    assert "records/<kind>/detail.html" in guide and "load_seed" in guide


def test_parties_with_a_contact_field_must_be_two_people() -> None:
    """Same name and same contact (contact_field) is one person; the same name alone may be two."""
    from core.records.service import same_person

    forms, workflows = catalogue()
    text = GOOD.replace('name_field = "a_name"', 'name_field = "a_name"\ncontact_field = "category"').replace(
        'name_field = "b_name"', 'name_field = "b_name"\ncontact_field = "category"')
    kind = load_record(text, "rk_mediation.toml", forms=forms, workflows=workflows)
    assert kind.party("b").contact_field == "category"
    one = {"a_name": "王秀兰", "b_name": "王 秀兰", "category": "noise"}
    assert same_person(kind, one) == {"b_name": "甲方和乙方是同一个人：请填写另一方。"}
    assert same_person(kind, one | {"b_name": "李海峰"}) == {}
    plain = load_record(GOOD, "rk_mediation.toml", forms=forms, workflows=workflows)
    assert same_person(plain, one) == {}  # without a contact field, namesakes are allowed
