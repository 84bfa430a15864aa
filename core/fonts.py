"""Checks for what WeasyPrint needs from the system to print Chinese well.

Without a CJK font, Chinese in a PDF renders as empty boxes and nothing complains; without
libharfbuzz-subset, WeasyPrint embeds whole fonts and is several times slower. Both are checked
here so the PDF code can refuse clearly and ``yishi doctor`` can print the fix.
"""

from __future__ import annotations

import ctypes.util
import shutil
import subprocess
from functools import cache

CJK_FIX = "apt-get install -y fonts-wqy-microhei"
HARFBUZZ_FIX = "apt-get install -y libharfbuzz-subset0"


@cache
def cjk_font_families() -> tuple[str, ...]:
    """Families fontconfig knows that cover Chinese (``fc-list :lang=zh``)."""
    if shutil.which("fc-list") is None:
        return ()
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True,
                         check=False).stdout
    return tuple(sorted({line.split(",")[0].strip() for line in out.splitlines() if line.strip()}))


@cache
def harfbuzz_subset_available() -> bool:
    return ctypes.util.find_library("harfbuzz-subset") is not None


class MissingFontError(RuntimeError):
    """No CJK font: a PDF would show boxes instead of Chinese."""

    def __init__(self) -> None:
        super().__init__(f"没有找到中文字体，PDF 中的汉字会显示为方框。请安装：{CJK_FIX} / "
                         f"no CJK font is installed; Chinese would print as boxes: {CJK_FIX}")
