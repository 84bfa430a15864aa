"""What the author's kit costs and what a practice is made of.

1. Start: ``load_plugins`` with the bundled practice plugins enabled — with the template check of
   core/plugin_kit/templates.py and without it — beside core's plugins alone (the ceiling: what a
   start costs with no practice plugin at all).
2. Per request: the plugin-switch guard (core/plugin_admin/switches.py) when its view is fresh,
   beside an empty async guard (the ceiling).
3. Lines: Python, TOML and templates in each bundled plugin and in one `yishi plugin new` makes —
   the issue asks that most of a practice be TOML and templates.

    .venv/bin/python bench/plugin_kit.py

Prints figures, not pass or fail; results in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, machine_line
from core import plugins as plugin_loader
from core.plugins import installed_entry_points, load_plugins

BUNDLED = ("jiexiang", "wuchang", "linjuli")
RUNS = 15


def median_ms(work: Callable[[], object], runs: int = RUNS) -> float:
    work()  # imports and first-time caches out of the way
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def start_costs(folder: Path) -> None:
    enabled = [p for p in BUNDLED if p in installed_entry_points()]
    core_only = folder / "core_only.toml"
    core_only.write_text("", encoding="utf-8")
    bundled = folder / "bundled.toml"
    bundled.write_text("".join(f"[plugins.{p}]\nenabled = true\n" for p in enabled), encoding="utf-8")
    ceiling = median_ms(lambda: load_plugins(core_only))
    with_check = median_ms(lambda: load_plugins(bundled))
    real_check = plugin_loader._check_templates
    plugin_loader._check_templates = lambda *args, **kwargs: None
    try:
        without_check = median_ms(lambda: load_plugins(bundled))
    finally:
        plugin_loader._check_templates = real_check
    print(f"\n1. load_plugins, median of {RUNS} "
          f"(bundled plugins installed and enabled: {', '.join(enabled) or 'none'})")
    print(f"   core's plugins only (ceiling)        {ceiling:8.1f} ms")
    print(f"   + bundled plugins, template check    {with_check:8.1f} ms")
    print(f"   + bundled plugins, no template check {without_check:8.1f} ms")
    print(f"   the template check adds              {with_check - without_check:8.1f} ms per start")


def guard_cost() -> None:
    from litestar.datastructures import State

    from core.plugin_admin.switches import PluginSwitches, plugin_switch_guard

    plugins = load_plugins(None)
    switches = PluginSwitches(plugins)
    switches.checked_at = time.monotonic() + 3600  # fresh: the common case between two reads
    connection = types.SimpleNamespace(app=types.SimpleNamespace(state=State(
        {"plugin_switches": switches, "engine": object()})), scope={"path": "/meetings/1/console"})

    async def empty(_connection: object, _handler: object) -> None:
        return None

    async def loop(guard: Callable, n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            await guard(connection, None)
        return (time.perf_counter() - start) / n * 1e6

    n = 200_000
    ceiling = asyncio.run(loop(empty, n))
    cost = asyncio.run(loop(plugin_switch_guard, n))
    print(f"\n2. the plugin-switch guard per request ({n} calls)")
    print(f"   an empty async guard (ceiling)       {ceiling:8.2f} µs")
    print(f"   plugin_switch_guard, view fresh      {cost:8.2f} µs")


def count_lines(package: Path) -> dict[str, int]:
    kinds = {".py": "Python", ".toml": "TOML", ".html": "templates"}
    counts = dict.fromkeys(kinds.values(), 0)
    for path in package.rglob("*"):
        if path.is_file() and path.suffix in kinds and "tests" not in path.parts and "__pycache__" not in path.parts:
            text = path.read_text(encoding="utf-8")
            counts[kinds[path.suffix]] += sum(1 for line in text.splitlines() if line.strip())
    return counts


def line_counts(folder: Path) -> None:
    from core.plugin_kit.scaffold import scaffold

    rows = []
    for name in BUNDLED:
        packages = [p for p in (ROOT / "plugins" / name).glob("yishi_*") if (p / "__init__.py").is_file()]
        if packages:
            rows.append((f"plugins/{name}", count_lines(packages[0])))
    generated = scaffold("benchkit", folder, title="基准议事会", taken=set())
    rows.append(("yishi plugin new (as generated)", count_lines(generated / "yishi_benchkit")))
    print("\n3. non-blank lines per plugin package (tests not counted)")
    print(f"   {'plugin':<34}{'Python':>8}{'TOML':>8}{'templates':>11}{'Python share':>14}")
    for label, counts in rows:
        total = sum(counts.values()) or 1
        print(f"   {label:<34}{counts['Python']:>8}{counts['TOML']:>8}{counts['templates']:>11}"
              f"{counts['Python'] / total:>13.0%}")


def main() -> None:
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        start_costs(Path(tmp))
        guard_cost()
        line_counts(Path(tmp))


if __name__ == "__main__":
    main()
