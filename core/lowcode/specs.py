"""Reading low-code spec files (TOML) and reporting what is wrong with them.

A spec is written by a county's plugin author, often in Notepad, so every problem is reported as
``FILE: KEY (第 N 行 / line N): 中文 / English`` and all problems of a file are collected before
anything is raised (:class:`SpecError`). ``tomllib`` gives no line numbers for keys, so
:class:`Locator` finds them with a small scan of the source text — good enough to point at the place.

Shared by the form engine (:mod:`core.lowcode.forms`) and the workflow engine.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from core.errors import YishiError

MAX_SPEC_BYTES = 256 * 1024
"""A spec larger than this is refused: a real form or workflow is a few kilobytes."""

_SYNTAX_AT = re.compile(r"\(at line (\d+), column (\d+)\)")
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")


@dataclass(frozen=True)
class SpecProblem:
    """One thing wrong with a spec: where (file, key, line) and what, in Chinese and English.

    ``key`` is a dotted path such as ``fields.title.max_length`` (or ``fields[3].type`` when the field
    has no usable name; fields count from 1); empty for a problem with the file as a whole.
    """

    file: str
    key: str
    line: int | None
    zh: str
    en: str

    def __str__(self) -> str:
        where = f" (第 {self.line} 行 / line {self.line})" if self.line else ""
        if self.key:
            return f"{self.file}: {self.key}{where}: {self.zh} / {self.en}"
        return f"{self.file}{where}: {self.zh} / {self.en}"


class SpecError(YishiError):
    """A spec file cannot be used; ``problems`` lists everything wrong with it, in file order."""

    def __init__(self, problems: Iterable[SpecProblem]) -> None:
        self.problems: list[SpecProblem] = sorted(problems, key=lambda p: (p.file, p.line or 0))
        super().__init__("\n".join(str(p) for p in self.problems))


def _display_name(path: str | Path | Traversable) -> str:
    return str(path) if isinstance(path, str | Path) else getattr(path, "name", str(path))


def read_spec_bytes(path: str | Path | Traversable, *, source: str | None = None,
                    limit: int = MAX_SPEC_BYTES) -> bytes:
    """The bytes of a spec file, refusing one larger than ``limit`` without reading it all."""
    source = source or _display_name(path)
    target = Path(path) if isinstance(path, str) else path
    try:
        with target.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise SpecError([SpecProblem(source, "", None, f"无法读取文件（{exc.strerror or exc}）",
                                     f"cannot read the file ({exc.strerror or exc})")]) from exc
    if len(data) > limit:
        kb = limit // 1024
        raise SpecError([SpecProblem(source, "", None, f"文件过大（超过 {kb} KB），请拆分或删去多余内容",
                                     f"file too large (over {kb} KB); split it or remove what is not needed")])
    return data


def decode_spec(data: bytes, source: str) -> str:
    """UTF-8 text of a spec (a leading BOM, as old Notepad writes, is dropped).

    A file saved as GBK/GB18030 is a problem with a hint, not a ``UnicodeDecodeError`` traceback.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        hint_zh, hint_en = "", ""
        try:
            data.decode("gb18030")
            hint_zh, hint_en = "（看起来是 GBK/GB18030 编码）", " (it looks like GBK/GB18030)"
        except UnicodeDecodeError:
            pass
        raise SpecError([SpecProblem(source, "", line, f"文件不是 UTF-8 编码{hint_zh}，请另存为 UTF-8",
                                     f"the file is not UTF-8 encoded{hint_en}; save it as UTF-8")]) from None
    return text.removeprefix("\ufeff")


def parse_spec(text: str, source: str) -> dict[str, Any]:
    """Parse TOML text; a syntax error becomes a problem carrying tomllib's own line and column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _SYNTAX_AT.search(message)
        if found:
            line, column = int(found[1]), int(found[2])
            zh = f"TOML 语法错误（第 {line} 行第 {column} 列）：{message}"
        else:
            line = text.count("\n") + 1  # "at end of document": an unclosed string, table or array
            zh = f"TOML 语法错误（在文件末尾，可能有未闭合的引号或括号）：{message}"
        raise SpecError([SpecProblem(source, "", line, zh, f"TOML syntax error: {message}")]) from None


def read_spec(path: str | Path | Traversable, *, source: str | None = None,
              limit: int = MAX_SPEC_BYTES) -> str:
    """Read a spec file safely: size limit, then UTF-8. Returns the text for :func:`parse_spec`."""
    source = source or _display_name(path)
    return decode_spec(read_spec_bytes(path, source=source, limit=limit), source)


class Locator:
    """Finds the line (1-based) of a key in TOML source text by scanning it.

    Handles what spec authors write: ``key = …`` and ``key.sub = …`` lines, ``[table]`` and
    ``[[array]]`` headers and sub-tables such as ``[fields.show_if]``. Multi-line strings that look
    like headers can mislead it; it is a pointer for a person, not a parser.
    """

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[int, bool, str]] = []  # (index, is_array, dotted name)
        for index, line in enumerate(self.lines):
            found = _HEADER.match(line)
            if found:
                name = ".".join(part.strip().strip("\"'") for part in found[2].split("."))
                self.headers.append((index, found[1] == "[[", name))

    @staticmethod
    def _assigns(line: str, key: str) -> bool:
        return re.match(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*[=.]", line) is not None

    def _find(self, key: str, start: int, stop: int, prefix: str) -> int | None:
        for index in range(start, stop):
            if self._assigns(self.lines[index], key):
                return index + 1
        for index, _is_array, name in self.headers:
            if start <= index < stop and name == f"{prefix}{key}":
                return index + 1
        return None

    def top_key(self, key: str) -> int | None:
        """The line of a top-level ``key = …`` (before the first table header)."""
        stop = self.headers[0][0] if self.headers else len(self.lines)
        return self._find(key, 0, stop, "")

    def _block(self, table: str, starts: Sequence[int]) -> Iterable[tuple[int, int]]:
        for start in starts:
            stop = len(self.lines)
            for index, _is_array, name in self.headers:
                if index > start and not name.startswith(f"{table}."):
                    stop = index
                    break
            yield start, stop

    def array_item(self, array: str, index: int, key: str | None = None) -> int | None:
        """The line of ``key`` in the ``index``-th (0-based) ``[[array]]`` entry, else of its header.

        Falls back to the line of ``array = [...]`` when the array is written inline.
        """
        starts = [i for i, is_array, name in self.headers if is_array and name == array]
        if index >= len(starts):
            return self.top_key(array)
        start, stop = next(iter(self._block(array, [starts[index]])))
        if key:
            found = self._find(key, start + 1, stop, f"{array}.")
            if found:
                return found
        return start + 1

    def table_key(self, table: str, key: str | None = None) -> int | None:
        """The line of ``key`` inside ``[table]`` (or its ``[table.key]`` header), else of ``[table]``."""
        direct = [i for i, is_array, name in self.headers if not is_array and name == f"{table}.{key}"]
        if key and direct:
            return direct[0] + 1
        starts = [i for i, is_array, name in self.headers if not is_array and name == table]
        if not starts:
            return self.top_key(table)
        start, stop = next(iter(self._block(table, starts[:1])))
        if key:
            found = self._find(key, start + 1, stop, f"{table}.")
            if found:
                return found
        return start + 1


class Problems:
    """Collects the problems of one spec, then raises them all at once."""

    def __init__(self, source: str, text: str = "") -> None:
        self.source = source
        self.locate = Locator(text)
        self.items: list[SpecProblem] = []

    def add(self, key: str, line: int | None, zh: str, en: str) -> None:
        self.items.append(SpecProblem(self.source, key, line, zh, en))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise SpecError(self.items)


def check_version(add: Any, data: dict[str, Any], line: int | None) -> None:
    """The ``version`` every spec carries: a positive integer (``add`` is a Problems-style adder)."""
    version = data.get("version")
    if version is None:
        add("version", None, "缺少版本号 version，如 version = 1", "missing version, e.g. version = 1")
    elif isinstance(version, bool) or not isinstance(version, int) or version < 1:
        add("version", line, f"版本号必须是正整数（1、2、3 …），现为 {version!r}",
            f"version must be a positive integer (1, 2, 3 …), got {version!r}")
