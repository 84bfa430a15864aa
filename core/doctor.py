"""`yishi doctor`: check what Yishi needs from the machine and say exactly how to fix each gap."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from core.errors import YishiError
from core.fonts import CJK_FIX, HARFBUZZ_FIX, cjk_font_families, harfbuzz_subset_available


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def run_checks() -> list[Check]:
    checks = [Check("Python", sys.version_info >= (3, 11), sys.version.split()[0],
                    "安装 Python 3.11 或更新版本 / install Python 3.11+")]
    fonts = cjk_font_families()
    checks.append(Check("中文字体 CJK font", bool(fonts),
                        ", ".join(fonts[:3]) if fonts else "未找到，PDF 中汉字将显示为方框 / none",
                        CJK_FIX))
    hb = harfbuzz_subset_available()
    checks.append(Check("libharfbuzz-subset", hb,
                        "已安装 / found" if hb else "未找到，PDF 生成会慢数倍 / missing: PDFs ~4.5× slower",
                        HARFBUZZ_FIX))
    try:
        import weasyprint

        checks.append(Check("WeasyPrint", True, weasyprint.__version__))
    except Exception as exc:  # missing pango shows up here
        checks.append(Check("WeasyPrint", False, f"{type(exc).__name__}: {exc}",
                            "apt-get install -y libpango-1.0-0 libpangoft2-1.0-0; "
                            "pip install weasyprint"))

    from core.settings import Settings

    try:
        settings = Settings.from_env()
    except YishiError as exc:
        checks.append(Check("设置 settings", False, str(exc), "见 docs/configuration.md"))
        return checks

    from core.plugins import load_plugins

    try:
        plugins = load_plugins(settings.plugin_registry)
        detail = ", ".join(plugins.metas)
        if plugins.warnings:
            detail += "; 警告 / warnings: " + " | ".join(plugins.warnings)
        checks.append(Check("插件 plugins", not plugins.warnings, detail,
                            f"修改 {settings.plugin_registry} / edit the registry"))
    except YishiError as exc:
        checks.append(Check("插件 plugins", False, str(exc),
                            f"修改 {settings.plugin_registry} 或安装/升级插件"))

    from core import db

    async def ping() -> None:
        engine = db.engine_from_url(settings.database_url)
        await db.check_reachable(engine, settings.database_url)
        await db.disconnect(engine)

    try:
        if settings.database_url.startswith("sqlite"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        asyncio.run(ping())
        checks.append(Check("数据库 database", True, db._redact(settings.database_url)))
    except YishiError as exc:
        checks.append(Check("数据库 database", False, str(exc),
                            "设置 YISHI_DATABASE_URL 并确认数据库已启动 / set YISHI_DATABASE_URL "
                            "and start the database"))
    return checks
