"""Babel extractor for the texts people read in TOML specs: forms, workflows, plugin manifests and a
practice's meeting capture (capture.toml).

Specs are written in Chinese, like the code; :func:`core.i18n.spec_text` translates each such text
when the spec is read, so the strings below must reach the catalogue as msgids. babel.cfg names this
function for ``forms/*.toml``, ``forms/workflows/*.toml`` and a bundled plugin's ``forms/``,
``workflows/``, ``plugin.toml`` and ``capture.toml`` (whose texts core passes through ``_()`` as it
shows them), and :func:`extract_records` for its ``records/``; ``scripts/i18n.sh`` and
tests/test_templating.py run them.

Only texts are taken, never identifiers or stored values: a field's ``name``, a state's id and an
option's ``value`` stay as written (an option given as a bare string is its own value *and* label,
so its label is extracted and its value is not touched).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from typing import IO, Any

#: keys whose string value is read by people, wherever they appear in a spec
TEXT_KEYS = frozenset({"label", "title", "description", "help", "placeholder", "pattern_message"})
#: tables whose every string value is read by people (capture.toml's ``[nouns]`` and ledger ``labels``)
TEXT_TABLES = frozenset({"nouns", "labels"})


def texts(data: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Every human text of a parsed spec, in document order."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str) and (key in TEXT_KEYS or (key == "name" and path[-1:] in (("practice",),
                                                                                             ("plugin",)))):
                yield value.strip()
            elif key == "fields" and isinstance(value, dict):
                continue  # capture.toml's [fields] maps roles to a form's field names: identifiers
            elif key in TEXT_TABLES and isinstance(value, dict):
                yield from (text.strip() for text in value.values() if isinstance(text, str))
            elif key == "options" and isinstance(value, list):
                for option in value:
                    if isinstance(option, str):
                        yield option.strip()
                    elif isinstance(option, dict) and isinstance(option.get("label"), str):
                        yield option["label"].strip()
            else:
                yield from texts(value, (*path, key))
    elif isinstance(data, list):
        for item in data:
            yield from texts(item, path)


def record_texts(data: Any) -> Iterator[str]:
    """The human texts of a record kind (records/*.toml), which core.records.spec translates: the
    kind's title and description, its parties' labels, its documents' titles, its ledger's label and
    unit and its topic button. Not the topic's ``title``, ``category`` or ``proposer``: those are
    written into the topic as data."""
    for key in ("title", "description"):
        if isinstance(data.get(key), str):
            yield data[key].strip()
    for table, key in (("parties", "label"), ("documents", "title")):
        for item in data.get(table) or ():
            if isinstance(item, dict) and isinstance(item.get(key), str):
                yield item[key].strip()
    for table, keys in (("ledger", ("label", "unit")), ("topic", ("button",))):
        found = data.get(table)
        if isinstance(found, dict):
            yield from (found[key].strip() for key in keys if isinstance(found.get(key), str))


def rule_texts(data: Any) -> Iterator[str]:
    """The texts of a voting rule (forms/rules/*.toml) shown by name: its ``name`` and ``citation``,
    translated where they are shown. Not its ``article``: the law's own words are quoted as enacted."""
    for key in ("name", "citation"):
        if isinstance(data.get(key), str):
            yield data[key].strip()


def extract_toml(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                 options: dict[str, Any]) -> Iterator[tuple[int, None, str, list[str]]]:
    """Babel's extraction-method interface: ``(line, funcname, message, comments)`` per text."""
    yield from _extract(fileobj, texts)


def extract_records(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                    options: dict[str, Any]) -> Iterator[tuple[int, None, str, list[str]]]:
    """The same for record kinds (:func:`record_texts`)."""
    yield from _extract(fileobj, record_texts)


def extract_rules(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                  options: dict[str, Any]) -> Iterator[tuple[int, None, str, list[str]]]:
    """The same for voting rules (:func:`rule_texts`)."""
    yield from _extract(fileobj, rule_texts)


def _extract(fileobj: IO[bytes], find: Any) -> Iterator[tuple[int, None, str, list[str]]]:
    source = fileobj.read().decode("utf-8-sig")
    lines = source.splitlines()
    seen: set[str] = set()
    for text in find(tomllib.loads(source)):
        if not text or text in seen:
            continue
        seen.add(text)
        first = text.splitlines()[0]
        quoted = f'"{first}'
        line = next((number for number, content in enumerate(lines, 1) if quoted in content),
                    next((number for number, content in enumerate(lines, 1) if first in content), 1))
        yield line, None, text, []
