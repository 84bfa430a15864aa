"""Meeting capture specs (core/topics/capture_spec.py, docs/capture.md): a practice's capture.toml is
read into tracks, nouns, ledger columns, score weights and documents; a bad one is refused naming
the file, the key and the problem, in Chinese and English. The pages themselves are exercised through
the 屋场恳谈会 plugin (tests/plugins/wuchang/)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from core.lowcode.specs import SpecError
from core.topics.capture_read import reply_of
from core.topics.capture_spec import load_capture, load_capture_file
from core.topics.unit_scores import plain

WUCHANG = Path(__file__).resolve().parent.parent / "plugins/wuchang/yishi_wuchang/capture.toml"

MINIMAL = """
practice = "bazi"
title = "坝坝会记录"
form = "bazi_jilu"
workflow = "bazi_topic"
tracks = ["answer_now", "concentrate"]
"""


def test_the_wuchang_spec_reads_as_written() -> None:
    spec = load_capture_file(WUCHANG)
    assert spec.practice == "wuchang" and spec.base == "/p/wuchang"
    assert spec.tracks == ("explain", "onsite", "concentrate")
    assert (spec.meeting_noun, spec.item_noun) == ("恳谈会", "民情")
    assert spec.ledger_columns[:6] == ("meeting", "date", "no", "speaker", "category", "title")
    assert spec.ledger_labels["meeting"] == "恳谈会"
    assert spec.scores is not None and spec.scores.weights["satisfaction"] == Fraction(2, 5)
    assert [d.id for d in spec.documents] == ["wuchang_huiyin", "wuchang_jiaoban"]
    assert spec.document("department_sheets").department_path == "jiaoban"


def test_a_minimal_spec_takes_core_defaults() -> None:
    spec = load_capture(MINIMAL, "capture.toml")
    assert spec.meeting_noun == "会议" and spec.proposer_field == "speaker"
    assert spec.scores is None and spec.documents == () and spec.page_columns() == spec.ledger_columns


@pytest.mark.parametrize(("extra", "key", "words"), [
    ('colour = "red"\n', "colour", "未知的键"),
    ('[ledger]\ncolumns = ["meeting", "weather"]\n', "ledger.columns", "字段名"),
    ('[scores]\nweights = { satisfaction = "1/2", done = "1/2", on_time = "1/2" }\n', "scores.weights", "之和须为 1"),
    ('[scores]\nweights = { satisfaction = "half" }\n', "scores.weights.satisfaction", "分数"),
    ('[open_floor]\nminutes = 0\n', "open_floor.minutes", "1–600"),
    ('[[documents]]\nid = "bazi_x"\ntitle = "x"\ntemplate = "x.html"\ncontent = "minutes"\n', "documents[1].content",
     "只能是"),
])
def test_a_bad_spec_is_refused_naming_the_key(extra: str, key: str, words: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_capture(MINIMAL + extra, "bazi/capture.toml")
    message = str(caught.value)
    assert "bazi/capture.toml" in message and key in message and words in message


def test_missing_tracks_and_practice_are_named() -> None:
    with pytest.raises(SpecError) as caught:
        load_capture('title = "x"\nform = "f"\nworkflow = "w"\n', "c.toml")
    assert "tracks" in str(caught.value) and "practice" in str(caught.value)


def test_the_reply_of_an_issue_comes_from_its_step_or_its_departments() -> None:
    from core.lowcode.workflow import load_workflow_file

    wf = load_workflow_file(WUCHANG.parent / "workflows" / "wuchang_topic.toml")
    answered = reply_of({"state": "answered", "tasks": []}, wf, "当场答复")
    assert answered == {"reply": "当场答复", "replied": True, "flag": ""}
    assert reply_of({"state": "raised", "tasks": []}, wf, "")["flag"] == "尚未分流"
    assert reply_of({"state": "decided", "tasks": []}, wf, "")["flag"] == "待交办"
    late = {"state": "in_progress", "department_name": "城管", "latest_report": "", "overdue": True}
    assert reply_of({"state": "assigned", "tasks": [late]}, wf, "") == {
        "reply": "", "replied": False, "flag": "已超期未办结"}
    done = {"state": "done", "department_name": "城管", "final_report": "已修好"}
    assert reply_of({"state": "rated", "tasks": [done]}, wf, "") == {
        "reply": "城管：已修好", "replied": True, "flag": ""}


def test_weights_read_as_people_write_them() -> None:
    assert plain(Fraction(40)) == "40" and plain(Fraction(125, 2)) == "62.5"


def test_names_the_spec_gives_must_exist_beside_it(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "yishi_bazi"
    shutil.copytree(WUCHANG.parent / "forms", folder / "forms")
    shutil.copytree(WUCHANG.parent / "workflows", folder / "workflows")
    text = WUCHANG.read_text(encoding="utf-8")
    good = folder / "capture.toml"
    good.write_text(text, encoding="utf-8")
    assert load_capture_file(good).form == "wuchang_minqing"
    bad = folder / "bad.toml"
    bad.write_text(text.replace('form = "wuchang_minqing"', 'form = "wuchang_minqin"').replace(
        '"onsite", "concentrate"]', '"onsite", "assign"]'), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_capture_file(bad)
    message = str(caught.value)
    assert "bad.toml: form" in message and "wuchang_minqin" in message
    assert "bad.toml: tracks" in message and "'assign'" in message
