"""Voting rules: the built-in profiles say what the law says, thresholds compare exactly, and a
malformed rule file is refused with its file, key, line and a message in Chinese and English."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.lowcode.specs import SpecError, SpecProblem
from core.voting.loader import load_rule, load_rule_file, shared_rules
from core.voting.rules import Condition, Rule, Threshold

PROFILES = {
    "simple_majority", "absolute_majority", "two_thirds", "three_quarters", "civil_code_278",
    "civil_code_278_major", "civil_code_279", "villagers_22", "villagers_26", "villagers_28", "residents_9",
}

GOOD = """\
id = "wuchang.lift"
version = 2
name = "加装电梯（本单元）"
citation = "某县加装电梯办法 第八条"
article = "加装电梯应当经本单元专有部分面积占比三分之二以上且人数占比三分之二以上的业主同意。"

[approval]
combine = "all"

[[approval.thresholds]]
measure = "area"
base = "eligible"
comparison = "以上"
fraction = "2/3"

[[approval.thresholds]]
measure = "headcount"
base = "eligible"
comparison = ">="
fraction = "2/3"
"""


def problems_of(text: str | bytes) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_rule(text, "lift.toml")
    return [str(p) for p in caught.value.problems]


def t(count: str, measure: str, base: str, comparison: str, fraction: str) -> Threshold:
    return Threshold(count, measure, base, comparison, Fraction(fraction))  # type: ignore[arg-type]


# -- the built-in profiles ---------------------------------------------------------------------

def test_every_builtin_profile_loads_with_its_name_and_article() -> None:
    rules = shared_rules()
    assert set(rules) == PROFILES
    for rule in rules.values():
        assert rule.name and rule.article and rule.citation, rule.id
        assert rule.participation or rule.approval
        assert rule.silent_follow_majority is False
    assert "应当经有利害关系的业主一致同意" in rules["civil_code_279"].article
    assert rules["civil_code_278"].citation == "《中华人民共和国民法典》第二百七十八条"
    assert rules["villagers_22"].citation == "《中华人民共和国村民委员会组织法》第二十二条"
    assert rules["residents_9"].citation == "《中华人民共和国城市居民委员会组织法》第九条"


def test_civil_code_278_is_double_two_thirds_then_double_majority() -> None:
    rule = shared_rules()["civil_code_278"]
    assert rule.participation == Condition((
        t("participating", "area", "eligible", ">=", "2/3"),
        t("participating", "headcount", "eligible", ">=", "2/3"),
    ), "all")
    assert rule.approval == Condition((
        t("in_favour", "area", "participating", ">", "1/2"),
        t("in_favour", "headcount", "participating", ">", "1/2"),
    ), "all")
    major = shared_rules()["civil_code_278_major"]
    assert major.participation == rule.participation
    assert major.approval == Condition((
        t("in_favour", "area", "participating", ">=", "3/4"),
        t("in_favour", "headcount", "participating", ">=", "3/4"),
    ), "all")


def test_village_rules_combine_adults_or_households() -> None:
    rules = shared_rules()
    assert rules["villagers_22"].participation == Condition((
        t("present", "headcount", "eligible", ">", "1/2"),
        t("present", "household", "eligible", ">=", "2/3"),
    ), "any")
    assert rules["villagers_28"].participation == Condition((
        t("present", "headcount", "eligible", ">=", "2/3"),
        t("present", "household", "eligible", ">=", "2/3"),
    ), "any")
    assert rules["villagers_26"].participation == Condition((t("present", "headcount", "eligible", ">=", "2/3"),))
    for rule_id in ("villagers_22", "villagers_26", "villagers_28", "residents_9"):
        assert rules[rule_id].approval == Condition((t("in_favour", "headcount", "present", ">", "1/2"),))
    assert rules["civil_code_279"].approval == Condition((t("in_favour", "headcount", "eligible", ">=", "1"),))


def test_rules_describe_themselves_in_chinese() -> None:
    rule = shared_rules()["civil_code_278"]
    assert rule.describe().splitlines() == [
        "参与条件：参与表决的专有部分面积占比 ≥ 2/3 并且 参与表决的人数占比 ≥ 2/3",
        "通过条件：赞成的专有部分面积占参与表决专有部分面积的比例 > 1/2 并且 赞成的人数占参与表决人数的比例 > 1/2",
    ]
    assert shared_rules()["villagers_22"].participation.describe() == (  # type: ignore[union-attr]
        "到会的人数占比 > 1/2 或者 到会的户数占比 ≥ 2/3")
    assert t("in_favour", "headcount", "participating", ">=", "2/3").words == "三分之二以上（含本数）"
    assert t("in_favour", "headcount", "participating", ">", "1/2").words == "过半数"
    assert t("in_favour", "headcount", "participating", ">", "3/4").words == "超过四分之三"
    assert t("in_favour", "headcount", "eligible", ">=", "1").words == "全部"


def test_the_council_flag_enters_the_rule_and_is_printed() -> None:
    rule = shared_rules()["civil_code_278"]
    council_rule = rule.for_council(silent_follow_majority=True)
    assert council_rule.silent_follow_majority and not rule.silent_follow_majority
    assert council_rule.describe().splitlines()[-1] == "未参与表决者计入多数意见"
    assert "silent" not in rule.describe()


# -- exact comparisons ---------------------------------------------------------------------------

def test_exact_half_fails_more_than_half_and_exact_two_thirds_passes_at_least() -> None:
    majority = t("in_favour", "headcount", "participating", ">", "1/2")
    assert not majority.met(Fraction(5), Fraction(10))
    assert majority.met(Fraction(6), Fraction(11))
    two_thirds = t("participating", "area", "eligible", ">=", "2/3")
    assert two_thirds.met(Fraction(6), Fraction(9))
    assert not two_thirds.met(Fraction("7306.66"), Fraction("10960"))  # 0.66666… of 10,960 is just short
    assert two_thirds.met(Fraction(21920, 3), Fraction(10960))
    assert not majority.met(Fraction(0), Fraction(0)), "an empty base decides nothing"


@given(st.integers(0, 500), st.integers(1, 500), st.integers(1, 12), st.integers(1, 12), st.booleans())
def test_threshold_agrees_with_integer_arithmetic(num: int, den: int, a: int, b: int, inclusive: bool) -> None:
    a, b = min(a, b), max(a, b)
    threshold = t("participating", "headcount", "eligible", ">=" if inclusive else ">", f"{a}/{b}")
    expected = num * b >= a * den if inclusive else num * b > a * den
    assert threshold.met(Fraction(num), Fraction(den)) is expected


# -- loading a county's own rule ------------------------------------------------------------------

def test_a_county_rule_loads_with_law_words_for_the_comparison(tmp_path) -> None:
    path = tmp_path / "lift.toml"
    path.write_text(GOOD, encoding="utf-8")
    rule = load_rule_file(path)
    assert isinstance(rule, Rule)
    assert (rule.id, rule.version, rule.name) == ("wuchang.lift", 2, "加装电梯（本单元）")
    assert rule.participation is None
    assert rule.approval == Condition((
        t("in_favour", "area", "eligible", ">=", "2/3"), t("in_favour", "headcount", "eligible", ">=", "2/3"),
    ))
    assert rule.source == str(path)


def test_a_rule_with_a_bom_and_crlf_line_ends_loads() -> None:
    assert load_rule(("\ufeff" + GOOD).replace("\n", "\r\n").encode("utf-8"), "lift.toml").id == "wuchang.lift"


def test_unknown_base_is_refused_with_file_key_and_line() -> None:
    text = GOOD.replace('base = "eligible"\ncomparison = "以上"', 'base = "owners"\ncomparison = "以上"')
    assert problems_of(text) == [
        "lift.toml: approval.thresholds[1].base (第 12 行 / line 12): 未知的基数 base 'owners'；"
        "可用：eligible, present, participating, valid（全体、到会、参与表决、有效表决） / "
        "unknown base 'owners'; allowed: eligible, present, "
        "participating, valid",
    ]


def test_fraction_above_one_is_refused() -> None:
    assert problems_of(GOOD.replace('fraction = "2/3"\n\n', 'fraction = "4/3"\n\n', 1)) == [
        "lift.toml: approval.thresholds[1].fraction (第 14 行 / line 14): 比例 '4/3' 必须大于 0 且不超过 1 / "
        "fraction '4/3' must be greater than 0 and at most 1",
    ]


def test_a_decimal_fraction_is_refused_as_inexact() -> None:
    assert problems_of(GOOD.replace('fraction = "2/3"\n\n', "fraction = 0.667\n\n", 1)) == [
        "lift.toml: approval.thresholds[1].fraction (第 14 行 / line 14): 比例 0.667 无法识别：请写成分数字符串，"
        "如 \"1/2\"、\"2/3\"、\"1\"（不要写小数） / fraction 0.667 cannot be read: write it as a string such as "
        "\"1/2\", \"2/3\" or \"1\" (no decimals)",
    ]


def test_bad_comparison_is_refused() -> None:
    assert problems_of(GOOD.replace('comparison = ">="', 'comparison = "=>"')) == [
        "lift.toml: approval.thresholds[2].comparison (第 19 行 / line 19): 比较方式 comparison '=>' 无法识别："
        "写 \">=\"（以上，含本数）或 \">\"（过半数、超过，不含本数） / unknown comparison '=>': write \">=\" "
        "(以上, the number included) or \">\" (过半数/超过, excluded)",
    ]


def test_missing_article_is_refused() -> None:
    text = "\n".join(line for line in GOOD.splitlines() if not line.startswith("article"))
    assert problems_of(text) == [
        "lift.toml: article: 缺少条文 article：写明所依据的法律条文或本会议事规则的原文，显示在页面和会议纪要中 / "
        "missing article: the text of the law or of the council's own rules, shown on the pages and in the minutes",
    ]


def test_a_gbk_file_is_refused_with_a_hint() -> None:
    assert problems_of(GOOD.encode("gbk")) == [
        "lift.toml (第 3 行 / line 3): 文件不是 UTF-8 编码（看起来是 GBK/GB18030 编码），请另存为 UTF-8 / "
        "the file is not UTF-8 encoded (it looks like GBK/GB18030); save it as UTF-8",
    ]


def test_more_than_all_and_a_count_outside_its_base_are_refused() -> None:
    text = GOOD.replace('comparison = ">="\nfraction = "2/3"', 'comparison = ">"\nfraction = "1"')
    assert problems_of(text) == [
        "lift.toml: approval.thresholds[2].fraction (第 20 行 / line 20): “超过全部”永远无法达到：全体一致请写 "
        "comparison = \">=\" 与 fraction = \"1\" / more than all can never be met: for unanimity write "
        "comparison = \">=\" and fraction = \"1\"",
    ]
    outside = GOOD.replace("[approval]", '[participation]\nthresholds = [{ count = "present", measure = "headcount", '
                           'base = "participating", comparison = ">", fraction = "1/2" }]\n\n[approval]')
    [problem] = problems_of(outside)
    assert problem.startswith("lift.toml: participation.thresholds[1].base (第 8 行 / line 8): count = 'present' "
                              "不能以 base = 'participating' 为基数")


def test_every_problem_of_a_file_is_reported_together() -> None:
    text = GOOD.replace('id = "wuchang.lift"', 'id = "Wuchang Lift"').replace("version = 2", "version = 0")
    text = text.replace('measure = "area"', 'measure = "acres"').replace('combine = "all"', 'combine = "both"')
    text += "\n[colour]\nred = 1\n"
    problems = problems_of(text)
    keys = [p.split(": ")[1].split(" (")[0] for p in problems]
    assert keys == ["id", "version", "approval.combine", "approval.thresholds[1].measure", "colour"]


def test_a_rule_without_conditions_or_thresholds_is_refused() -> None:
    head = GOOD.split("[approval]")[0]
    assert problems_of(head) == [
        "lift.toml: approval: 规则既没有 [participation]（参与条件）也没有 [approval]（通过条件），至少要有一个 / "
        "the rule has neither [participation] nor [approval]; give at least one",
    ]
    assert problems_of(head + "[approval]\ncombine = \"any\"\n") == [
        "lift.toml: approval.thresholds (第 7 行 / line 7): approval 至少要有一个门槛：添加 [[approval.thresholds]] / "
        "approval needs at least one threshold: add [[approval.thresholds]]",
    ]


def test_a_toml_syntax_error_names_the_line() -> None:
    [problem] = problems_of(GOOD.replace('version = 2', 'version = '))
    assert problem.startswith("lift.toml (第 2 行 / line 2): TOML 语法错误（第 2 行")


def test_a_missing_file_is_a_spec_error(tmp_path) -> None:
    with pytest.raises(SpecError) as caught:
        load_rule_file(tmp_path / "nope.toml")
    [problem] = caught.value.problems
    assert isinstance(problem, SpecProblem) and problem.zh.startswith("无法读取文件")
