"""docs/plugins.md keeps step with the hook specs: every hook, with its exact signature, and no
hook that does not exist."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from core.plugins import describe_hooks
from core.settings import PROJECT_ROOT

PLUGIN_DOCS = PROJECT_ROOT / "docs" / "plugins.md"
HOOKS = {name: signature for name, signature, _doc in describe_hooks()}
HEADING = re.compile(r"^#{1,6}\s")
HOOK_HEADING = re.compile(r"^###\s+`?(yishi_\w+)`?\s*$")
HOOK_NAME = re.compile(r"\byishi_[a-z0-9_]+")


def _lines() -> Iterator[tuple[str, bool]]:
    """Each line of the guide, and whether it is inside a fenced code block (fences included)."""
    in_code = False
    for line in PLUGIN_DOCS.read_text(encoding="utf-8").splitlines():
        fence = line.startswith("```")
        if fence:
            in_code = not in_code
        yield line, in_code or fence


def _headings() -> list[str]:
    return [line for line, in_code in _lines() if not in_code and HEADING.match(line)]


def _hook_sections() -> dict[str, str]:
    """The text under each ``### yishi_…`` heading, up to the next heading."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line, in_code in _lines():
        if not in_code and HEADING.match(line):
            current = None
            if match := HOOK_HEADING.match(line):
                name = match.group(1)
                assert name not in sections, f"docs/plugins.md has two headings for {name}"
                current = sections[name] = []
        elif current is not None:
            current.append(line)
    return {name: "\n".join(body) for name, body in sections.items()}


def test_describe_hooks_finds_the_hooks() -> None:
    assert {"yishi_practices", "yishi_routes", "yishi_template_dirs"} <= set(HOOKS)
    for name, signature in HOOKS.items():
        assert signature.startswith(f"{name}(")


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_every_hook_is_documented_with_its_exact_signature(name: str) -> None:
    sections = _hook_sections()
    assert name in sections, f"docs/plugins.md has no '### {name}' heading in its hook reference"
    block = f"```python\n{HOOKS[name]}\n```"
    assert block in sections[name], (
        f"docs/plugins.md, '### {name}': give the signature exactly as "
        f"core.plugins.describe_hooks() returns it:\n{block}")
    prose = sections[name].replace(block, "").strip()
    assert len(prose) > 80, f"docs/plugins.md, '### {name}': say when it is called and what it returns"


def test_no_heading_names_a_hook_that_does_not_exist() -> None:
    for heading in _headings():
        for name in HOOK_NAME.findall(heading):
            assert name in HOOKS, f"docs/plugins.md: heading {heading!r} names {name}, which is no hook"


YISHI_COMMAND = re.compile(r"(?:^|\s)(?:\.venv/bin/)?yishi\s+([^#\n]+)")


def test_every_yishi_command_in_the_guide_parses() -> None:
    """The tutorial's commands are real: each `yishi …` line in a code block is accepted by the CLI."""
    import shlex

    from core.cli import build_parser

    commands = [match.group(1).strip() for line, in_code in _lines() if in_code and not line.startswith("```")
                for match in [YISHI_COMMAND.search(line)] if match]
    assert any(c.startswith("plugin new ") for c in commands) and any(c.startswith("plugin check ") for c in commands)
    parser = build_parser()
    for command in commands:
        try:
            parser.parse_args(shlex.split(command))
        except SystemExit:
            pytest.fail(f"docs/plugins.md: `yishi {command}` is not a valid command")
