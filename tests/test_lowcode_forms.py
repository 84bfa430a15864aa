"""The form engine: loading specs (every problem named with file, key, line, in both languages),
validating submissions per field type, show_if, uploads judged by content, and the render macros."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.lowcode.forms import (
    Choices,
    FormSpec,
    Upload,
    form_data,
    load_form,
    load_form_file,
    sniff,
    validate,
    visible_fields,
)
from core.lowcode.registry import shared_form, shared_forms
from core.lowcode.specs import MAX_SPEC_BYTES, SpecError, SpecProblem
from core.templating import build_environment

NOW = datetime(2026, 11, 20, 19, 30)
HEAD = 'id = "test.form"\nversion = 1\ntitle = "测试表"\n'


def spec_text(*fields: str, head: str = HEAD) -> str:
    return head + "".join(f"\n[[fields]]\n{body.strip()}\n" for body in fields)


def one(body: str) -> FormSpec:
    """A form with the single field ``x`` labelled 议题 and the given extra keys."""
    return load_form(spec_text(f'name = "x"\nlabel = "议题"\n{body.strip()}'), "test.toml")


def clean(spec: FormSpec, **data: Any) -> tuple[Any, str | None]:
    """The clean value and the error of field ``x`` for the submitted raw value(s)."""
    form = {k.replace("__", "."): (v if isinstance(v, list) else [v]) for k, v in data.items()}
    result = validate(spec, form, now=NOW)
    return result.values.get("x"), result.errors.get("x")


# ------------------------------------------------------------------------------------------------
# Shared forms
# ------------------------------------------------------------------------------------------------


def test_every_shared_form_loads() -> None:
    forms = shared_forms()
    assert set(forms) >= {"tishi", "qiandao", "manyidu", "jiaobandan", "banli_fankui"}
    for form_id, spec in forms.items():
        assert spec.id == form_id and spec.version >= 1 and spec.title
        assert spec.source == f"forms/{form_id}.toml"
    tishi = forms["tishi"]
    assert tishi.title == "居民提事表" and tishi.has_files
    assert [o.value for o in tishi.field("category").options] == [
        "停车", "环境卫生", "物业服务", "治安消防", "邻里纠纷", "出租屋安全", "其他"]
    assert tishi.field("title").max_length == 60
    assert tishi.field("category_other").show_if is not None
    assert tishi.field("photos").type == "image" and tishi.field("photos").multiple
    assert forms["jiaobandan"].field("unit").type == "unit"
    assert [o.value for o in forms["banli_fankui"].field("progress").options] == ["办理中", "已办结"]
    assert shared_form("manyidu").field("opinion").show_if.equals == "不满意"  # type: ignore[union-attr]


def test_shared_forms_are_cached_but_returned_as_a_fresh_dict() -> None:
    first = shared_forms()
    first.pop("tishi")
    assert "tishi" in shared_forms()
    assert shared_forms()["tishi"] is shared_forms()["tishi"]


# ------------------------------------------------------------------------------------------------
# Bad specs: each problem with its key, both languages and a plausible line
# ------------------------------------------------------------------------------------------------

TEXT_FIELD = 'name = "title"\nlabel = "议题"\ntype = "text"'
SELECT_FIELD = 'name = "category"\nlabel = "类别"\ntype = "select"\noptions = ["停车", "其他"]'


def show_if(condition: str) -> str:
    """The select field, then a text field shown on ``condition``."""
    return spec_text(SELECT_FIELD, TEXT_FIELD + f"\nshow_if = {{ {condition} }}")


BAD_SPECS = [
    # (case, text, key, zh fragment, en fragment, the last line holding this marker)
    ("unknown top-level key", HEAD + 'colour = "red"\n' + spec_text(TEXT_FIELD, head=""),
     "colour", "未知的键 “colour”", "unknown key 'colour'", 'colour = "red"'),
    ("unknown key in a field", spec_text(TEXT_FIELD + "\nmaxlength = 60"),
     "fields.title.maxlength", "是不是 “max_length”", "did you mean 'max_length'", "maxlength = 60"),
    ("unknown type", spec_text('name = "title"\nlabel = "议题"\ntype = "txt"'),
     "fields.title.type", "未知的字段类型 'txt'", "unknown field type 'txt'", 'type = "txt"'),
    ("duplicate name", spec_text(TEXT_FIELD, 'name = "title"\nlabel = "标题"\ntype = "textarea"'),
     "fields[2].name", "字段名 “title” 重复", "duplicate field name 'title'", 'name = "title"'),
    ("missing label", spec_text('name = "title"\ntype = "text"'),
     "fields.title.label", "字段缺少 label", "field has no label", "[[fields]]"),
    ("select without options", spec_text('name = "category"\nlabel = "类别"\ntype = "select"'),
     "fields.category.options", "缺少选项 options", "missing options", "[[fields]]"),
    ("number bound of the wrong type", spec_text('name = "n"\nlabel = "人数"\ntype = "number"\nmin = "十"'),
     "fields.n.min", "min 必须是数字", "min must be a number", 'min = "十"'),
    ("number min above max", spec_text('name = "n"\nlabel = "人数"\ntype = "number"\nmin = 10\nmax = 5'),
     "fields.n.min", "min（10）不能大于 max（5）", "min (10) is greater than max (5)", "min = 10"),
    ("date min above max", spec_text('name = "d"\nlabel = "日期"\ntype = "date"\nmin = 2026-12-01\nmax = "2026-01-01"'),
     "fields.d.min", "不能大于 max", "is greater than max", "min = 2026-12-01"),
    ("date bound malformed", spec_text('name = "d"\nlabel = "日期"\ntype = "date"\nmax = "明天"'),
     "fields.d.max", "max 必须是 2026-11-20 格式的日期", "max must be a date like 2026-11-20", 'max = "明天"'),
    ("min_length above max_length", spec_text(TEXT_FIELD + "\nmin_length = 10\nmax_length = 5"),
     "fields.title.min_length", "min_length（10）不能大于 max_length（5）",
     "min_length (10) is greater than max_length (5)", "min_length = 10"),
    ("bad regex", spec_text(TEXT_FIELD + '\npattern = "[0-9"'),
     "fields.title.pattern", "pattern 不是有效的正则表达式", "pattern is not a valid regular expression", "pattern ="),
    ("show_if on a missing field", show_if('field = "categry", equals = "其他"'),
     "fields.title.show_if.field", "show_if 依据的字段 “categry” 不存在（是不是 “category”？）",
     "show_if refers to a field 'categry' that does not exist", "show_if ="),
    ("show_if on itself", spec_text(TEXT_FIELD + '\nshow_if = { field = "title", equals = "x" }'),
     "fields.title.show_if.field", "show_if 不能依赖字段自身", "show_if cannot depend on the field itself",
     "show_if ="),
    ("show_if cycle",
     spec_text('name = "a"\nlabel = "甲"\ntype = "text"\nshow_if = { field = "b", equals = "1" }',
               'name = "b"\nlabel = "乙"\ntype = "text"\nshow_if = { field = "a", equals = "1" }'),
     "fields.a.show_if", "show_if 形成循环：a → b → a", "show_if forms a cycle: a → b → a",
     'show_if = { field = "b"'),
    ("show_if value not an option", show_if('field = "category", equals = "其它"'),
     "fields.title.show_if.equals", "“其它” 不是字段 “category” 的选项", "'其它' is not an option of field 'category'",
     "show_if ="),
    ("show_if checked on a non-checkbox", show_if('field = "category", checked = true'),
     "fields.title.show_if.field", "checked 只能用于 checkbox 字段", "checked works only on a checkbox field",
     "show_if ="),
    ("show_if with two conditions", show_if('field = "category", equals = "停车", in = ["其他"]'),
     "fields.title.show_if", "只能有 equals、in、checked 中的一个", "exactly one of equals, in, checked", "show_if ="),
    ("version zero", HEAD.replace("version = 1", "version = 0") + spec_text(TEXT_FIELD, head=""),
     "version", "版本号必须是正整数", "version must be a positive integer", "version = 0"),
    ("version as a string", HEAD.replace("version = 1", 'version = "1"') + spec_text(TEXT_FIELD, head=""),
     "version", "版本号必须是正整数", "version must be a positive integer", 'version = "1"'),
    ("version as a boolean", HEAD.replace("version = 1", "version = true") + spec_text(TEXT_FIELD, head=""),
     "version", "版本号必须是正整数", "version must be a positive integer", "version = true"),
    ("id with capitals", HEAD.replace('"test.form"', '"Tishi"') + spec_text(TEXT_FIELD, head=""),
     "id", "表单标识 'Tishi' 格式不对", "malformed id 'Tishi'", 'id = "Tishi"'),
    ("id with an empty part", HEAD.replace('"test.form"', '"wuchang..jiaobandan"') + spec_text(TEXT_FIELD, head=""),
     "id", "格式不对", "malformed id", "id = "),
    ("missing id", HEAD.replace('id = "test.form"\n', "") + spec_text(TEXT_FIELD, head=""),
     "id", "缺少表单标识 id", "missing id", None),
    ("bad field name", spec_text('name = "标题"\nlabel = "议题"\ntype = "text"'),
     "fields[1].name", "字段名 '标题' 格式不对", "malformed field name '标题'", 'name = "标题"'),
    ("upload kind not supported", spec_text('name = "p"\nlabel = "照片"\ntype = "image"\naccept = ["jpeg", "pdf"]'),
     "fields.p.accept", "accept 中有不支持的类型 pdf", "unsupported kind(s) pdf in accept", "accept ="),
    ("required not a boolean", spec_text(TEXT_FIELD + '\nrequired = "是"'),
     "fields.title.required", "required 必须是 true 或 false", "required must be true or false", "required ="),
    ("no fields", HEAD, "fields", "表单没有字段", "the form has no fields", None),
]


def _line_of(text: str, marker: str | None) -> int | None:
    if marker is None:
        return None
    found = [number for number, line in enumerate(text.splitlines(), 1) if marker in line]
    assert found, f"marker {marker!r} not in the spec"
    return found[-1]


@pytest.mark.parametrize(("case", "text", "key", "zh", "en", "marker"), BAD_SPECS, ids=[c[0] for c in BAD_SPECS])
def test_bad_spec_names_key_line_and_problem_in_both_languages(case: str, text: str, key: str, zh: str, en: str,
                                                                marker: str | None) -> None:
    with pytest.raises(SpecError) as caught:
        load_form(text, "plugins/demo/forms/x.toml")
    matching = [p for p in caught.value.problems if p.key == key]
    assert matching, f"{case}: no problem with key {key!r} in\n{caught.value}"
    problem = matching[0]
    assert problem.file == "plugins/demo/forms/x.toml"
    assert zh in problem.zh, problem.zh
    assert en in problem.en, problem.en
    assert problem.line == _line_of(text, marker)
    assert str(problem) in str(caught.value)


def test_problem_format() -> None:
    problem = SpecProblem("forms/x.toml", "fields.title.max_length", 12, "必须是整数", "must be a whole number")
    assert str(problem) == ("forms/x.toml: fields.title.max_length (第 12 行 / line 12): "
                            "必须是整数 / must be a whole number")
    assert str(SpecProblem("forms/x.toml", "id", None, "缺少", "missing")) == "forms/x.toml: id: 缺少 / missing"


def test_all_problems_are_collected_before_raising() -> None:
    text = HEAD.replace("version = 1", "version = -2") + spec_text(
        TEXT_FIELD + "\nmaxlength = 3", 'name = "title"\nlabel = "重复"\ntype = "chooser"', head="")
    with pytest.raises(SpecError) as caught:
        load_form(text, "x.toml")
    keys = {p.key for p in caught.value.problems}
    assert {"version", "fields.title.maxlength", "fields[2].name", "fields[2].type"} <= keys
    assert len(str(caught.value).splitlines()) == len(caught.value.problems)


def test_a_field_with_problems_does_not_cause_false_show_if_problems() -> None:
    text = spec_text('name = "n"\nlabel = "人数"\ntype = "number"\nmax = "多"',
                     'name = "why"\nlabel = "原因"\ntype = "text"\nshow_if = { field = "n", equals = "1" }')
    with pytest.raises(SpecError) as caught:
        load_form(text, "x.toml")
    assert [p.key for p in caught.value.problems] == ["fields.n.max"]


def test_gbk_file_is_a_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "tishi.toml"
    path.write_bytes(spec_text(TEXT_FIELD).encode("gbk"))
    with pytest.raises(SpecError) as caught:
        load_form_file(path)
    (problem,) = caught.value.problems
    assert problem.file == str(path) and problem.key == ""
    assert "文件不是 UTF-8 编码" in problem.zh and "请另存为 UTF-8" in problem.zh and "GBK" in problem.zh
    assert "not UTF-8" in problem.en and "save it as UTF-8" in problem.en
    assert problem.line == 3  # title = "测试表" is the first line with a non-ASCII character


def test_utf8_with_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_bytes(b"\xef\xbb\xbf" + spec_text(TEXT_FIELD).encode())
    assert load_form_file(path).title == "测试表"


def test_toml_syntax_error_carries_its_line() -> None:
    text = spec_text(TEXT_FIELD, 'name = "b"\nlabel = "乙"\ntype = "text"\nrequired = yes')
    with pytest.raises(SpecError) as caught:
        load_form(text, "x.toml")
    (problem,) = caught.value.problems
    assert problem.line == _line_of(text, "required = yes")
    assert "TOML 语法错误" in problem.zh and f"第 {problem.line} 行" in problem.zh
    assert "TOML syntax error" in problem.en
    assert f"(第 {problem.line} 行 / line {problem.line})" in str(caught.value)


def test_unterminated_string_points_at_the_end() -> None:
    text = HEAD + 'description = "没有结束的引号\n'
    with pytest.raises(SpecError) as caught:
        load_form(text, "x.toml")
    assert "TOML 语法错误" in caught.value.problems[0].zh


def test_overlong_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text(spec_text(TEXT_FIELD) + "# " + "x" * MAX_SPEC_BYTES + "\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_form_file(path, source="forms/big.toml")
    (problem,) = caught.value.problems
    assert problem.file == "forms/big.toml"
    assert "文件过大" in problem.zh and "256 KB" in problem.zh and "too large" in problem.en


def test_missing_file_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="无法读取文件"):
        load_form_file(tmp_path / "nope.toml")


# ------------------------------------------------------------------------------------------------
# Validation, per type
# ------------------------------------------------------------------------------------------------

TEXT60 = 'type = "text"\nrequired = true\nmax_length = 60'
BAD_PHONE = "议题不是有效的电话号码：手机号为 11 位，座机请带区号，如 0551-62345678"

CASES: list[tuple[str, dict[str, Any], Any, str | None]] = [
    # (field keys, submitted, clean value, error)
    (TEXT60, {"x": "  3栋楼道飞线充电  "}, "3栋楼道飞线充电", None),
    (TEXT60, {"x": "停" * 75}, None, "议题不能超过 60 个字（现为 75 字）"),
    (TEXT60, {"x": "   "}, None, "请填写议题"),
    (TEXT60, {}, None, "请填写议题"),
    (TEXT60, {"x": "a\x00b"}, None, "议题含有不可见的控制字符，请删除后重新填写"),
    (TEXT60, {"x": "a\tb"}, None, "议题含有不可见的控制字符，请删除后重新填写"),
    (TEXT60, {"x": "abc\u202egpj.exe"}, None, "议题含有不可见的控制字符，请删除后重新填写"),
    (TEXT60, {"x": "Cafe\u0301"}, "Café", None),  # NFC
    ('type = "text"\nmin_length = 5', {"x": "太短"}, None, "议题至少需要 5 个字（现为 2 字）"),
    ('type = "text"', {"x": ""}, None, None),
    ('type = "text"\npattern = "[京津沪渝皖][A-Z][A-Z0-9]{5}"\npattern_message = "请填写正确的车牌号，如 皖A12345"',
     {"x": "皖A1234"}, None, "请填写正确的车牌号，如 皖A12345"),
    ('type = "text"\npattern = "[0-9]{6}"', {"x": "12345"}, None, "议题的格式不正确"),
    ('type = "textarea"', {"x": "第一行\r\n\t第二行"}, "第一行\n\t第二行", None),
    ('type = "textarea"\nmax_length = 5', {"x": "一二三四五六"}, None, "议题不能超过 5 个字（现为 6 字）"),
    ('type = "number"\ninteger = true\nmin = 0', {"x": "12"}, 12, None),
    ('type = "number"\ninteger = true\nmin = 0', {"x": "１２"}, 12, None),  # full-width digits are converted
    ('type = "number"\ninteger = true\nmin = 0', {"x": "-1"}, None, "议题不能小于 0"),
    ('type = "number"\ninteger = true', {"x": "3.5"}, None, "议题必须是整数"),
    ('type = "number"\ninteger = true', {"x": "3.0"}, 3, None),
    ('type = "number"\nmax = 1.5', {"x": "1.50"}, "1.50", None),
    ('type = "number"\nmax = 1.5', {"x": "1.51"}, None, "议题不能大于 1.5"),
    ('type = "number"', {"x": "－0.0"}, "0.0", None),
    ('type = "number"', {"x": "0.0000001"}, "0.0000001", None),
    ('type = "number"', {"x": "1e5"}, None, "议题必须是数字，如 12 或 3.5"),
    ('type = "number"', {"x": "1,200"}, None, "议题必须是数字，如 12 或 3.5"),
    ('type = "number"', {"x": "NaN"}, None, "议题必须是数字，如 12 或 3.5"),
    ('type = "number"', {"x": "١٢"}, None, "议题必须是数字，如 12 或 3.5"),  # Arabic-Indic digits
    ('type = "date"', {"x": "2026-11-20"}, "2026-11-20", None),
    ('type = "date"', {"x": "2026/1/5"}, "2026-01-05", None),
    ('type = "date"', {"x": "2026-02-30"}, None, "议题不是有效的日期，请按 2026-11-20 的格式填写"),
    ('type = "date"\nmin = "today"', {"x": "2026-11-19"}, None, "议题不能早于 2026年11月20日"),
    ('type = "date"\nmax = 2026-12-31', {"x": "2027-01-01"}, None, "议题不能晚于 2026年12月31日"),
    ('type = "datetime"', {"x": "2026-11-20T19:30"}, "2026-11-20T19:30", None),
    ('type = "datetime"', {"x": "2026-11-20 19:30:15"}, "2026-11-20T19:30:15", None),
    ('type = "datetime"\nmin = "now"', {"x": "2026-11-20T19:29"}, None, "议题不能早于 2026年11月20日 19:30"),
    ('type = "datetime"', {"x": "明天晚上"}, None, "议题不是有效的时间，请按 2026-11-20 19:30 的格式填写"),
    ('type = "select"\nrequired = true\noptions = ["停车", "其他"]', {"x": "停车"}, "停车", None),
    ('type = "select"\nrequired = true\noptions = ["停车", "其他"]', {"x": "飞行"}, None, "议题的选项无效，请重新选择"),
    ('type = "select"\nrequired = true\noptions = ["停车", "其他"]', {}, None, "请选择议题"),
    ('type = "select"\noptions = [{ value = "p", label = "停车" }]', {"x": "p"}, "p", None),
    ('type = "multiselect"\noptions = ["甲", "乙", "丙"]', {"x": ["丙", "甲", "丙"]}, ["甲", "丙"], None),
    ('type = "multiselect"\noptions = ["甲", "乙", "丙"]', {"x": ["丁"]}, None, "议题的选项无效，请重新选择"),
    ('type = "multiselect"\noptions = ["甲", "乙", "丙"]\nmax_choices = 1', {"x": ["甲", "乙"]}, None,
     "议题最多选择 1 项"),
    ('type = "multiselect"\noptions = ["甲", "乙", "丙"]\nmin_choices = 2', {"x": ["甲"]}, None, "议题至少选择 2 项"),
    ('type = "multiselect"\noptions = ["甲", "乙"]', {}, [], None),
    ('type = "checkbox"', {"x": "on"}, True, None),
    ('type = "checkbox"', {}, False, None),
    ('type = "checkbox"\nrequired = true', {}, None, "请勾选议题"),
    ('type = "phone"', {"x": "13812345678"}, "13812345678", None),
    ('type = "phone"', {"x": "+86 138 1234 5678"}, "13812345678", None),
    ('type = "phone"', {"x": "１３８１２３４５６７８"}, "13812345678", None),
    ('type = "phone"', {"x": "0551-62345678"}, "0551-62345678", None),
    ('type = "phone"', {"x": "055162345678"}, "0551-62345678", None),
    ('type = "phone"', {"x": "(010) 6234 5678"}, "010-62345678", None),
    ('type = "phone"', {"x": "0752-2345678转801"}, "0752-2345678-801", None),
    ('type = "phone"', {"x": "400-123-4567"}, "400-123-4567", None),
    ('type = "phone"', {"x": "1381234567"}, None, BAD_PHONE),
    ('type = "phone"', {"x": "12812345678"}, None, BAD_PHONE),
    ('type = "phone"', {"x": "62345678"}, None, BAD_PHONE),
    ('type = "id_last4"', {"x": "123x"}, "123X", None),
    ('type = "id_last4"', {"x": "0421"}, "0421", None),
    ('type = "id_last4"', {"x": "12X4"}, None, "议题应为身份证号码的后 4 位（数字，最后一位可以是 X）"),
    ('type = "id_last4"', {"x": "12345"}, None, "议题应为身份证号码的后 4 位（数字，最后一位可以是 X）"),
    ('type = "room"\nrequired = true', {"x__building": "3栋", "x__unit_no": "2单元", "x__room": "502"},
     {"building": "3栋", "unit_no": "2单元", "room": "502"}, None),
    ('type = "room"', {"x__building": "地下车库"}, {"building": "地下车库", "unit_no": "", "room": ""}, None),
    ('type = "room"\nrequired = true', {"x__room": "502"}, None, "议题：请填写楼栋"),
    ('type = "room"', {}, None, None),
    ('type = "room"', {"x__building": "3" * 21}, None, "议题的楼栋、单元、门牌号每项不能超过 20 个字"),
    ('type = "signature"\nrequired = true', {"x": "张建国", "x__confirm": "on"},
     {"name": "张建国", "confirmed": True}, None),
    ('type = "signature"\nrequired = true', {"x": "张建国"}, None, "议题：请勾选“本人确认”"),
    ('type = "signature"\nrequired = true', {"x__confirm": "on"}, None, "请在议题处输入您的姓名"),
    ('type = "signature"\nrequired = true', {}, None, "请在议题处输入您的姓名"),
    ('type = "signature"', {}, None, None),
]


@pytest.mark.parametrize(("body", "submitted", "value", "error"), CASES)
def test_validation_per_type(body: str, submitted: dict[str, Any], value: Any, error: str | None) -> None:
    got_value, got_error = clean(one(body), **submitted)
    assert got_error == error
    if error is None:
        assert got_value == value


@pytest.mark.parametrize("kind", ["person", "unit"])
def test_person_and_unit_take_ids_from_the_choices_given(kind: str) -> None:
    spec = one(f'type = "{kind}"\nrequired = true')
    pairs = [("7", "李桂兰"), ("9", "XX物业服务有限公司")]
    choices = Choices(persons=pairs) if kind == "person" else Choices(units=pairs)
    result = validate(spec, {"x": ["9"]}, choices=choices)
    assert result.values["x"] == {"id": "9", "label": "XX物业服务有限公司"}
    assert validate(spec, {"x": ["8"]}, choices=choices).errors["x"] == "议题的选项无效，请重新选择"
    assert validate(spec, {"x": ["9"]}).errors["x"] == "议题的选项无效，请重新选择"  # no choices given
    assert validate(spec, {}, choices=choices).errors["x"] == "请选择议题"
    override = Choices(by_field={"x": [(1, "社区居委会")]})
    assert validate(spec, {"x": ["1"]}, choices=override).values["x"] == {"id": "1", "label": "社区居委会"}


def test_unknown_names_are_ignored_and_results_carry_the_spec() -> None:
    spec = one(TEXT60)
    result = validate(spec, {"x": ["停车"], "_csrf_token": ["t"], "evil": ["1"]})
    assert result.ok and result.values == {"x": "停车"}
    assert result.record() == {"form": "test.form", "version": 1, "values": {"x": "停车"}}


TEXT_SPEC = load_form(spec_text(
    'name = "t"\nlabel = "议题"\ntype = "text"\nrequired = true\nmin_length = 2\nmax_length = 20',
    'name = "a"\nlabel = "说明"\ntype = "textarea"\nmax_length = 50',
    'name = "n"\nlabel = "金额"\ntype = "number"\nmin = -1000\nmax = 1000',
    'name = "i"\nlabel = "人数"\ntype = "number"\ninteger = true\nmin = 0\nmax = 100000',
    'name = "p"\nlabel = "电话"\ntype = "phone"',
    'name = "d"\nlabel = "日期"\ntype = "date"',
), "hypothesis.toml")

raw_text = st.one_of(st.text(max_size=40),
                     st.from_regex(r"\s*[-+]?[0-9０-９]{1,6}([.．][0-9]{0,3})?\s*", fullmatch=True))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({name: st.lists(raw_text, max_size=2) for name in "tanipd"}))
def test_text_and_number_never_raise_and_clean_values_revalidate_to_themselves(data: dict[str, list[str]]) -> None:
    result = validate(TEXT_SPEC, data, now=NOW)
    for f in TEXT_SPEC.fields:
        assert (f.name in result.values) != (f.name in result.errors), f.name
    again = validate(TEXT_SPEC, form_data(TEXT_SPEC, result.values), now=NOW)
    assert {k: v for k, v in again.values.items() if k in result.values} == result.values
    assert not (set(again.errors) - set(result.errors))
    for name in ("n", "i"):
        if result.values.get(name) is not None:
            assert isinstance(result.values[name], int if name == "i" else str)


# ------------------------------------------------------------------------------------------------
# show_if
# ------------------------------------------------------------------------------------------------


def test_hidden_fields_are_neither_required_nor_stored() -> None:
    tishi = shared_form("tishi")
    base = {"title": ["小区门口乱停车"], "details": ["晚上七点以后小区门口两侧停满车，消防通道被堵。"]}
    parked = validate(tishi, {**base, "category": ["停车"], "category_other": ["这段会被忽略"]})
    assert parked.ok, parked.errors
    assert "category_other" not in parked.values
    other = validate(tishi, {**base, "category": ["其他"]})
    assert other.errors == {"category_other": "请填写其他类别"}
    other = validate(tishi, {**base, "category": ["其他"], "category_other": ["加装电梯"]})
    assert other.ok and other.values["category_other"] == "加装电梯"


def test_show_if_checked_and_in() -> None:
    manyidu = shared_form("manyidu")
    happy = validate(manyidu, {"rating": ["满意"], "opinion": ["不会存"], "phone": ["13812345678"]})
    assert happy.ok and set(happy.values) == {"rating", "callback"}
    unhappy = validate(manyidu, {"rating": ["不满意"], "callback": ["on"]})
    assert unhappy.errors == {"opinion": "请填写意见和建议", "phone": "请填写回访电话"}
    qiandao = shared_form("qiandao")
    names = visible_fields(qiandao, {"identity": ["物业服务企业"]})
    assert "organisation" in names and "home" not in names and "principal" not in names
    assert "home" in visible_fields(qiandao, {"identity": ["租户"], "is_proxy": ["on"]})


def test_a_field_whose_controller_is_hidden_is_hidden_too() -> None:
    spec = load_form(spec_text(
        'name = "kind"\nlabel = "类别"\ntype = "select"\noptions = ["停车", "其他"]',
        'name = "other"\nlabel = "具体类别"\ntype = "select"\noptions = ["电梯", "绿化"]\n'
        'show_if = { field = "kind", equals = "其他" }',
        'name = "lift"\nlabel = "电梯情况"\ntype = "text"\nrequired = true\n'
        'show_if = { field = "other", in = ["电梯"] }',
    ), "chain.toml")
    result = validate(spec, {"kind": ["停车"], "other": ["电梯"]})
    assert result.ok and set(result.values) == {"kind"}
    assert validate(spec, {"kind": ["其他"], "other": ["电梯"]}).errors == {"lift": "请填写电梯情况"}


# ------------------------------------------------------------------------------------------------
# Uploads: the real type by content
# ------------------------------------------------------------------------------------------------


def tiny_png(width: int = 1, height: int = 1) -> bytes:
    """A valid PNG, written by hand (no imaging library)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 100 + b"This program cannot be run in DOS mode"


def office(kind: str, macro: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml" if kind == "docx" else "xl/workbook.xml", "<x/>")
        if macro:
            archive.writestr("word/vbaProject.bin", b"\x00")
    return buffer.getvalue()


PHOTO = one('type = "image"\nrequired = true\nmultiple = true\nmax_files = 3\nmax_mb = 1')


def test_real_images_are_accepted_and_handed_back_by_sha256() -> None:
    png, jpeg = Upload("现场.png", "image/png", tiny_png(2, 2)), Upload("IMG_0001.JPG", "image/jpeg", JPEG)
    result = validate(PHOTO, {}, {"x": [png, jpeg, Upload("again.png", "image/png", png.data)]})
    assert result.ok, result.errors
    assert result.values["x"] == [
        {"sha256": png.sha256, "filename": "现场.png", "size": png.size, "kind": "png"},
        {"sha256": jpeg.sha256, "filename": "IMG_0001.JPG", "size": jpeg.size, "kind": "jpeg"},
    ]
    assert result.files == {png.sha256: png, jpeg.sha256: jpeg}


def test_an_exe_renamed_to_jpg_is_refused() -> None:
    result = validate(PHOTO, {}, {"x": [Upload("photo.jpg", "image/jpeg", EXE)]})
    assert result.errors["x"].startswith("议题：文件“photo.jpg”的内容不是图片（看起来是Windows 程序（.exe））")
    assert result.files == {} and "x" not in result.values


def test_oversize_empty_and_too_many_files_are_refused() -> None:
    big = Upload("big.png", "image/png", tiny_png() + b"\x00" * (1024 * 1024))
    assert validate(PHOTO, {}, {"x": [big]}).errors["x"] == "议题：文件“big.png”超过 1 MB（现为 1.0 MB）"
    empty = Upload("C:\\fakepath\\空.jpg", "image/jpeg", b"")
    assert validate(PHOTO, {}, {"x": [empty]}).errors["x"] == "议题：文件“空.jpg”是空文件"
    four = [Upload(f"{i}.png", "image/png", tiny_png(i + 1)) for i in range(4)]
    assert validate(PHOTO, {}, {"x": four}).errors["x"] == "议题最多上传 3 个文件（现为 4 个）"
    single = one('type = "image"')
    two = [Upload("a.png", "image/png", tiny_png(1)), Upload("b.png", "image/png", tiny_png(2))]
    assert validate(single, {}, {"x": two}).errors["x"] == "议题只能上传 1 个文件"


def test_an_empty_file_input_is_no_file() -> None:
    assert validate(PHOTO, {}, {"x": [Upload("", "application/octet-stream", b"")]}).errors["x"] == "请上传议题"
    optional = one('type = "image"')
    result = validate(optional, {}, {"x": [Upload("", "application/octet-stream", b"")]})
    assert result.ok and result.values["x"] == []


def test_image_kinds_outside_accept_and_documents() -> None:
    only_jpeg = one('type = "image"\naccept = ["jpeg"]')
    error = validate(only_jpeg, {}, {"x": [Upload("a.png", "image/png", tiny_png())]}).errors["x"]
    assert error == "议题：文件“a.png”的类型不被接受（看起来是PNG 图片），只接受 JPEG 图片"
    files = one('type = "file"\nmultiple = true\naccept = ["pdf", "docx", "xlsx"]')
    ok = [Upload("纪要.docx", "", office("docx")), Upload("台账.xlsx", "", office("xlsx")),
          Upload("通知.pdf", "", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")]
    result = validate(files, {}, {"x": ok})
    assert result.ok and [v["kind"] for v in result.values["x"]] == ["docx", "xlsx", "pdf"]
    refused = validate(files, {}, {"x": [Upload("宏.docx", "", office("docx", macro=True))]}).errors["x"]
    assert "看起来是含宏的 Office 文件" in refused
    refused = validate(files, {}, {"x": [Upload("旧.doc", "", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50)]})
    assert "请另存为 .docx/.xlsx" in refused.errors["x"]


@pytest.mark.parametrize(("data", "kind"), [
    (b"GIF89a\x01\x00\x01\x00", "gif"), (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "webp"), (b"\x7fELF\x02\x01", "elf"),
    (b"<!DOCTYPE html><script>", "html"), (b'<?xml version="1.0"?><svg xmlns="x">', "svg"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00", "heic"), (b"PK\x03\x04not really a zip", "zip"),
    ("纯文本的说明".encode(), "text"), (bytes(range(256)), "unknown"),
])
def test_sniff(data: bytes, kind: str) -> None:
    assert sniff(data) == kind


def test_hidden_upload_fields_are_ignored() -> None:
    spec = load_form(spec_text('name = "done"\nlabel = "已办结"\ntype = "checkbox"',
                               'name = "x"\nlabel = "照片"\ntype = "image"\nrequired = true\n'
                               'show_if = { field = "done", checked = true }'), "t.toml")
    result = validate(spec, {}, {"x": [Upload("a.exe", "", EXE)]})
    assert result.ok and result.files == {} and "x" not in result.values


# ------------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> Any:
    env = build_environment(tmp_path_factory.mktemp("theme"), [], "zh_CN")
    template = env.from_string('{% from "lowcode/form.html" import render_fields %}'
                               "{{ render_fields(spec, values, errors, choices) }}")

    def _render(spec: FormSpec, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                choices: Choices | None = None) -> str:
        return template.render(spec=spec, values=values or {}, errors=errors or {}, choices=choices)

    return _render


def test_render_with_errors_refills_values_and_escapes(render: Any) -> None:
    tishi = shared_form("tishi")
    values = {"title": ["<script>alert(1)</script>" * 3], "category": ["其他"], "details": ["<b>楼道</b>"],
              "where.building": ["3栋\"><img>"], "phone": ["138"], "join_meeting": ["on"]}
    result = validate(tishi, values)
    html = render(tishi, values, result.errors)
    assert "<script>alert" not in html and "<b>楼道" not in html and '"><img>' not in html
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;' in html
    assert "&lt;b&gt;楼道&lt;/b&gt;</textarea>" in html
    assert 'value="3栋&#34;&gt;&lt;img&gt;"' in html
    assert '<label class="lc-label" for="f-title">议题 <span class="lc-required">必填</span></label>' in html
    assert 'id="f-title-error">议题不能超过 60 个字（现为 75 字）</p>' in html
    title_input = re.search(r'<input type="text" id="f-title"[^>]*>', html, re.S)[0]  # type: ignore[index]
    assert 'aria-invalid="true"' in title_input and 'aria-describedby="f-title-help f-title-error"' in title_input
    assert " required" in title_input
    other = re.search(r'<div class="lc-field[^"]*" id="f-category_other-field"[^>]*>', html)[0]  # type: ignore[index]
    assert "data-show-if='{\"equals\": \"\\u5176\\u4ed6\", \"field\": \"category\"}'" in other
    other_input = re.search(r'<input type="text" id="f-category_other"[^>]*>', html, re.S)[0]  # type: ignore[index]
    assert "data-lc-required" in other_input and " required" not in other_input
    assert re.search(r'value="其他"\s+checked', html)
    assert re.search(r'id="f-join_meeting" name="join_meeting" value="on"\s+checked', html)
    phone = re.search(r'<input type="tel"[^>]*>', html, re.S)[0]  # type: ignore[index]
    assert 'value="138"' in phone and 'aria-invalid="true"' in phone and "f-phone-error" in phone
    file_input = re.search(r'<input type="file"[^>]*>', html, re.S)[0]  # type: ignore[index]
    assert "value=" not in file_input and "multiple" in file_input and "image/jpeg" in file_input
    assert "请重新选择" in html  # the file must be chosen again after an error
    assert "<fieldset" in html and "<legend" in html
    assert "<script" not in html and "style=" not in html


def test_every_shared_form_renders_empty_and_person_unit_choices_show(render: Any) -> None:
    for spec in shared_forms().values():
        html = render(spec)
        for f in spec.fields:
            assert f.label in html
        assert "aria-invalid" not in html and "请重新选择" not in html
    choices = Choices(units=[(3, "XX物业服务有限公司"), (4, "社区居委会")])
    html = render(shared_form("jiaobandan"), {"unit": ["4"]}, {}, choices)
    assert '<option value="4" selected>社区居委会</option>' in html
    assert '<option value="3">XX物业服务有限公司</option>' in html
    assert 'type="date"' in html and 'min="' in html  # min = "today"
    html = render(shared_form("qiandao"), {"signature": ["张建国"], "signature.confirm": ["on"]})
    assert 'name="signature.confirm" value="on"' in html and "本人确认" in html
    assert re.search(r'name="signature.confirm" value="on"\s+checked', html)


def test_static_script_exists_and_the_form_needs_no_inline_script() -> None:
    root = Path(__file__).resolve().parent.parent
    script = (root / "core/static/js/show-if.js").read_text(encoding="utf-8")
    assert "data-show-if" in script and "htmx:load" in script
    css = (root / "core/static/css/yishi.css").read_text(encoding="utf-8")
    assert ".lc-field[hidden]" in css


# Spec-shaped data of every TOML type in every place: loading reports problems, it never crashes.
KEYS = ["id", "version", "title", "description", "fields", "name", "label", "type", "required", "help", "show_if",
        "options", "min", "max", "integer", "min_length", "max_length", "pattern", "max_mb", "accept", "multiple",
        "max_files", "min_choices", "max_choices", "widget", "field", "equals", "in", "checked", "value", "x"]
toml_scalars = st.one_of(st.booleans(), st.integers(-5, 100), st.floats(allow_nan=True), st.text(max_size=8),
                         st.sampled_from(["text", "select", "image", "number", "date", "checkbox", "a", "b", "today",
                                          "jpeg", "[0-9", "2026-01-01"]),
                         st.dates(), st.datetimes())
toml_values = st.recursive(toml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)), max_leaves=25)
field_tables = st.dictionaries(st.sampled_from(KEYS), toml_values, max_size=8)


@settings(max_examples=120, deadline=None)
@given(st.fixed_dictionaries({"id": toml_values, "version": toml_values, "title": toml_values},
                             optional={"fields": st.one_of(st.lists(field_tables, max_size=4), toml_values)}))
def test_loading_any_spec_shaped_data_reports_problems_but_never_crashes(data: dict[str, Any]) -> None:
    from core.lowcode.forms import _FormLoader

    try:
        spec = _FormLoader("", "fuzz.toml").load(data)
    except SpecError as exc:
        assert exc.problems and all(p.zh and p.en for p in exc.problems)
    else:
        assert spec.fields
