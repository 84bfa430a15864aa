"""Voting rules written in TOML (``forms/rules/*.toml``, or a plugin's own) → :class:`~core.voting.rules.Rule`.

Read and checked like the form and workflow specs (:mod:`core.lowcode.specs`): size limit, UTF-8,
TOML syntax, then every key — all problems of a file collected and raised together as a
:class:`~core.lowcode.specs.SpecError` naming the file, the key and the line, in Chinese and English.
A rule that loads is one the tally can apply: fractions are exact (``"2/3"``, never ``0.667``), in
(0, 1], comparisons are ``>=``/``>`` (or the law's words 以上/过半数/超过), and every threshold's
``count`` lies inside its ``base``. The format is documented in docs/voting.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from core.lowcode.registry import forms_root, load_shipped
from core.lowcode.specs import Problems, check_version, decode_spec, parse_spec, read_spec
from core.voting.rules import (
    BASES,
    COMBINES,
    COUNTS,
    MEASURES,
    Condition,
    Rule,
    Threshold,
    threshold_problem,
)

RULE_ID = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$")
MAX_ID_LENGTH = 64
MAX_NAME = 80
MAX_ARTICLE = 4000
MAX_THRESHOLDS = 10
MAX_DENOMINATOR = 1000

TOP_KEYS = ("id", "version", "name", "article", "citation", "silent_follow_majority", "participation", "approval")
CONDITION_KEYS = ("combine", "thresholds")
THRESHOLD_KEYS = ("count", "measure", "base", "comparison", "fraction")
COMPARISON_WORDS: dict[str, str] = {
    ">=": ">=", "≥": ">=", "以上": ">=", "不少于": ">=", "不低于": ">=",
    ">": ">", "过半数": ">", "超过": ">", "多于": ">",
}
"""What a rule may write as its comparison: the symbol or the law's words (民法典 第1259条)."""
DEFAULT_COUNT = {"participation": "participating", "approval": "in_favour"}
_FRACTION = re.compile(r"^\s*(\d{1,4})\s*(?:/\s*(\d{1,4})\s*)?$")


def _unknown_key(key: str, allowed: tuple[str, ...]) -> tuple[str, str]:
    return (f"未知的键 “{key}”；可用的键：{', '.join(allowed)}", f"unknown key '{key}'; allowed: {', '.join(allowed)}")


def parse_fraction(raw: Any) -> Fraction | None:
    """``"2/3"`` or the integer ``1`` as an exact fraction; ``None`` for anything else (floats included)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return Fraction(raw)
    if isinstance(raw, str):
        found = _FRACTION.match(raw)
        if found and int(found[2] or 1) != 0:
            return Fraction(int(found[1]), int(found[2] or 1))
    return None


class _RuleLoader:
    def __init__(self, text: str, source: str) -> None:
        self.problems = Problems(source, text)
        self.locate = self.problems.locate

    def add(self, key: str, line: int | None, zh: str, en: str) -> None:
        self.problems.add(key, line, zh, en)

    def load(self, data: dict[str, Any]) -> Rule:
        top = self.locate.top_key
        for key in data:
            if key not in TOP_KEYS:
                self.add(key, top(key) or self.locate.table_key(key), *_unknown_key(key, TOP_KEYS))

        rule_id = data.get("id")
        if rule_id is None:
            self.add("id", None, "缺少规则标识 id，如 id = \"civil_code_278\"",
                     "missing id, e.g. id = \"civil_code_278\"")
        elif not isinstance(rule_id, str) or not RULE_ID.match(rule_id) or len(rule_id) > MAX_ID_LENGTH:
            self.add("id", top("id"),
                     f"规则标识 {rule_id!r} 格式不对：只能用小写字母、数字和下划线，以字母开头，可用点分段，"
                     f"如 \"wuchang.lift\"（最长 {MAX_ID_LENGTH} 个字符）",
                     f"malformed id {rule_id!r}: lowercase letters, digits and underscores, starting with a "
                     f"letter, parts separated by dots, e.g. \"wuchang.lift\" (at most {MAX_ID_LENGTH})")
        check_version(self.add, data, top("version"))

        name = self.text("name", data.get("name"), MAX_NAME, "规则名称 name", "name",
                         "如 name = \"民法典第278条（一般事项）\"", "e.g. name = \"民法典第278条（一般事项）\"")
        article = self.text("article", data.get("article"), MAX_ARTICLE, "条文 article", "article",
                            "写明所依据的法律条文或本会议事规则的原文，显示在页面和会议纪要中",
                            "the text of the law or of the council's own rules, shown on the pages and in the minutes")
        citation = data.get("citation", "")
        if not isinstance(citation, str) or len(citation) > MAX_NAME:
            self.add("citation", top("citation"), f"出处 citation 必须是文字（最长 {MAX_NAME} 个字）",
                     f"citation must be a string (at most {MAX_NAME} characters)")
            citation = ""
        silent = data.get("silent_follow_majority", False)
        if not isinstance(silent, bool):
            self.add("silent_follow_majority", top("silent_follow_majority"),
                     f"silent_follow_majority 必须是 true 或 false，现为 {silent!r}",
                     f"silent_follow_majority must be true or false, got {silent!r}")
            silent = False

        participation = self.condition("participation", data.get("participation"))
        approval = self.condition("approval", data.get("approval"))
        if "participation" not in data and "approval" not in data:
            self.add("approval", None,
                     "规则既没有 [participation]（参与条件）也没有 [approval]（通过条件），至少要有一个",
                     "the rule has neither [participation] nor [approval]; give at least one")

        self.problems.raise_if_any()
        return Rule(id=cast(str, rule_id), version=cast(int, data["version"]), name=cast(str, name),
                    article=cast(str, article), participation=participation, approval=approval,
                    citation=citation.strip(), silent_follow_majority=silent, source=self.problems.source)

    def text(self, key: str, value: Any, limit: int, zh_name: str, en_name: str, zh_hint: str,
             en_hint: str) -> str | None:
        if value is None:
            self.add(key, None, f"缺少{zh_name}：{zh_hint}", f"missing {en_name}: {en_hint}")
            return None
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            self.add(key, self.locate.top_key(key), f"{zh_name}必须是非空的文字（最长 {limit} 个字）",
                     f"{en_name} must be a non-empty string (at most {limit} characters)")
            return None
        return value.strip()

    def condition(self, part: str, raw: Any) -> Condition | None:
        if raw is None:
            return None
        where = self.locate.table_key(part)
        if not isinstance(raw, dict):
            self.add(part, where, f"{part} 必须是一个表，写成 [{part}] 加 [[{part}.thresholds]]",
                     f"{part} must be a table: [{part}] with [[{part}.thresholds]]")
            return None
        for key in raw:
            if key not in CONDITION_KEYS:
                self.add(f"{part}.{key}", self.locate.table_key(part, key), *_unknown_key(key, CONDITION_KEYS))
        combine = raw.get("combine", "all")
        if combine not in COMBINES:
            self.add(f"{part}.combine", self.locate.table_key(part, "combine"),
                     f"combine 只能是 \"all\"（各项都要达到，并且）或 \"any\"（达到一项即可，或者），现为 {combine!r}",
                     f"combine must be \"all\" (every threshold) or \"any\" (one of them), got {combine!r}")
        items = raw.get("thresholds")
        if not isinstance(items, list) or not items:
            self.add(f"{part}.thresholds", self.locate.table_key(part, "thresholds"),
                     f"{part} 至少要有一个门槛：添加 [[{part}.thresholds]]",
                     f"{part} needs at least one threshold: add [[{part}.thresholds]]")
            return None
        if len(items) > MAX_THRESHOLDS:
            self.add(f"{part}.thresholds", self.locate.table_key(part, "thresholds"),
                     f"门槛过多（{len(items)} 个，最多 {MAX_THRESHOLDS} 个）",
                     f"too many thresholds ({len(items)}, at most {MAX_THRESHOLDS})")
            return None
        thresholds = [self.threshold(part, index, body) for index, body in enumerate(items)]
        if any(t is None for t in thresholds) or combine not in COMBINES:
            return None
        return Condition(tuple(cast(list[Threshold], thresholds)), combine)

    def threshold(self, part: str, index: int, body: Any) -> Threshold | None:
        array = f"{part}.thresholds"
        prefix = f"{array}[{index + 1}]"

        def line(key: str | None = None) -> int | None:
            return self.locate.array_item(array, index, key) or self.locate.table_key(part, "thresholds")

        if not isinstance(body, dict):
            self.add(prefix, line(), f"每个门槛必须是一个表，写成 [[{array}]] 加若干 键 = 值",
                     f"each threshold must be a table: [[{array}]] followed by key = value lines")
            return None
        ok = True

        def problem(key: str, zh: str, en: str) -> None:
            nonlocal ok
            ok = False
            self.add(f"{prefix}.{key}", line(key if key in body else None), zh, en)

        for key in body:
            if key not in THRESHOLD_KEYS:
                problem(key, *_unknown_key(key, THRESHOLD_KEYS))
        count = body.get("count", DEFAULT_COUNT[part])
        allowed_counts = ("present", "participating") if part == "participation" else ("in_favour",)
        if count not in allowed_counts:
            problem("count", f"{part} 的 count 只能是 {' 或 '.join(allowed_counts)}，现为 {count!r}",
                    f"count in {part} must be {' or '.join(allowed_counts)}, got {count!r}")
        measure = body.get("measure")
        if measure not in MEASURES:
            problem("measure", f"未知的计量 measure {measure!r}；可用：{', '.join(MEASURES)}"
                               "（人数、专有部分面积、户数、票权）",
                    f"unknown measure {measure!r}; allowed: {', '.join(MEASURES)}")
        base = body.get("base")
        if base not in BASES:
            problem("base", f"未知的基数 base {base!r}；可用：{', '.join(BASES)}（全体、到会、参与表决、有效表决）",
                    f"unknown base {base!r}; allowed: {', '.join(BASES)}")
        elif count in COUNTS and (why := threshold_problem(count, base)):
            problem("base", *why)
        raw_comparison = body.get("comparison")
        comparison = COMPARISON_WORDS.get(raw_comparison) if isinstance(raw_comparison, str) else None
        if comparison is None:
            problem("comparison", f"比较方式 comparison {raw_comparison!r} 无法识别：写 \">=\"（以上，含本数）"
                                  "或 \">\"（过半数、超过，不含本数）",
                    f"unknown comparison {raw_comparison!r}: write \">=\" (以上, the number included) or \">\" "
                    "(过半数/超过, excluded)")
        raw_fraction = body.get("fraction")
        fraction = parse_fraction(raw_fraction)
        if raw_fraction is None:
            problem("fraction", "缺少比例 fraction，写成分数字符串，如 fraction = \"2/3\"",
                    "missing fraction; write it as a string, e.g. fraction = \"2/3\"")
        elif fraction is None:
            problem("fraction",
                    f"比例 {raw_fraction!r} 无法识别：请写成分数字符串，如 \"1/2\"、\"2/3\"、\"1\"（不要写小数）",
                    f"fraction {raw_fraction!r} cannot be read: write it as a string such as \"1/2\", \"2/3\" or "
                    "\"1\" (no decimals)")
        elif not 0 < fraction <= 1:
            problem("fraction", f"比例 {raw_fraction!r} 必须大于 0 且不超过 1",
                    f"fraction {raw_fraction!r} must be greater than 0 and at most 1")
        elif fraction.denominator > MAX_DENOMINATOR:
            problem("fraction", f"比例 {raw_fraction!r} 的分母过大（最大 {MAX_DENOMINATOR}）",
                    f"fraction {raw_fraction!r} has too large a denominator (at most {MAX_DENOMINATOR})")
        elif fraction == 1 and comparison == ">":
            problem("fraction", "“超过全部”永远无法达到：全体一致请写 comparison = \">=\" 与 fraction = \"1\"",
                    "more than all can never be met: for unanimity write comparison = \">=\" and fraction = \"1\"")
        if not ok:
            return None
        return Threshold(count=count, measure=measure, base=base, comparison=cast(Any, comparison),
                         fraction=cast(Fraction, fraction))


def load_rule(text: str | bytes, source: str) -> Rule:
    """Parse and check a rule; raise :class:`~core.lowcode.specs.SpecError` listing every problem."""
    if isinstance(text, bytes | bytearray):
        text = decode_spec(bytes(text), source)
    else:
        text = text.removeprefix("\ufeff")
    return _RuleLoader(text, source).load(parse_spec(text, source))


def load_rule_file(path: str | Path | Traversable, *, source: str | None = None) -> Rule:
    """Load a rule file (size limit, UTF-8 check, then :func:`load_rule`)."""
    source = source or (str(path) if isinstance(path, str | Path) else path.name)
    return load_rule(read_spec(path, source=source), source)


def rules_dir() -> Traversable:
    """Where the built-in rules live (``forms/rules`` in the installed package)."""
    return forms_root().joinpath("rules")


@cache
def shared_rules() -> Mapping[str, Rule]:
    """Every built-in rule profile by id, loaded and checked once, in file-name order.

    A problem is a bug in Yishi itself: it raises :class:`SpecError` with the problems of every file.
    """
    found = load_shipped(rules_dir(), "forms/rules", lambda entry, source: load_rule_file(entry, source=source),
                         "内置规则", "built-in rule")
    return MappingProxyType(found)


__all__ = ["COMPARISON_WORDS", "load_rule", "load_rule_file", "parse_fraction", "rules_dir", "shared_rules"]
