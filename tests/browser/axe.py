"""Accessibility checks with axe-core in the real browser: :func:`assert_accessible`.

axe-core (``vendor/axe-core``, MPL-2.0, pinned, test-only) is put into the page under test and run
against the WCAG 2.0 A/AA and 2.1 AA rules. A serious or critical violation fails the test with each
rule, what it asks for and where; the full result (minor findings and "needs review" too) is written to
``test-artifacts/axe-<name>.json`` for a person to read.

How axe gets in, and why not the other ways: the app's Content-Security-Policy allows scripts only
from the site itself (core/security.py), so ``page.add_script_tag(content=…)`` — an inline script —
is refused. ``bypass_csp=True`` on the context would let it in, but then the page is no longer the one
users get: styles the policy blocks would apply and could hide or cause contrast problems. Instead the
source is evaluated through Playwright's ``page.evaluate``, i.e. the DevTools protocol, which the page's
CSP does not govern: the page keeps its real headers and axe sees exactly what a visitor's browser shows.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
#: The rule sets checked: WCAG 2.0 level A and AA, and what WCAG 2.1 adds at AA.
TAGS = ("wcag2a", "wcag2aa", "wcag21aa")
#: Impacts that fail a test; "moderate" and "minor" are only written to the JSON.
FAILING = ("serious", "critical")
TARGETS_SHOWN = 3

_RUN = """async (tags) => await window.axe.run(document, {runOnly: {type: "tag", values: tags}})"""


@cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def _inject(page: Page) -> None:
    """Define ``window.axe`` in the page once per document (see the module docstring for how)."""
    if page.evaluate("typeof window.axe") == "undefined":
        # A function body, so Playwright calls it rather than parsing the file as one expression.
        page.evaluate("() => {\n" + _axe_source() + "\n}")
    assert page.evaluate("typeof window.axe?.run") == "function", "axe-core did not load into the page"


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation (rule id, impact, help, how many elements) and the first few selectors."""
    lines = []
    for v in violations:
        targets = [" ".join(map(str, node.get("target", []))) for node in v.get("nodes", [])]
        shown = "; ".join(targets[:TARGETS_SHOWN]) + (f"; … (+{len(targets) - TARGETS_SHOWN})"
                                                       if len(targets) > TARGETS_SHOWN else "")
        lines.append(f"- {v['id']} [{v.get('impact')}] {v.get('help')} — {len(targets)} element(s): {shown}")
    return "\n".join(lines)


def assert_accessible(page: Page, name: str, artifacts: Path) -> dict[str, Any]:
    """Run axe on ``page`` as it is now; fail listing every serious or critical violation.

    ``name`` (letters, digits, ``-``, ``_``) names the JSON written to ``artifacts/axe-<name>.json``.
    Returns axe's results, for a test that wants to look further.
    """
    assert re.fullmatch(r"[A-Za-z0-9_-]+", name), f"not a file name: {name!r}"
    _inject(page)
    results = page.evaluate(_RUN, list(TAGS))
    (artifacts / f"axe-{name}.json").write_text(json.dumps(results, ensure_ascii=False, indent=1),
                                               encoding="utf-8")
    failing = [v for v in results["violations"] if v.get("impact") in FAILING]
    assert not failing, (f"{name} ({page.url}): {len(failing)} serious/critical accessibility violation(s) "
                         f"(axe {results.get('testEngine', {}).get('version')}, full report in "
                         f"{artifacts / f'axe-{name}.json'}):\n{describe(failing)}")
    return results
