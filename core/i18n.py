"""Translations. Messages are written in Simplified Chinese (the default locale, zh_CN) and marked
with ``_()`` in Python and ``{% trans %}``/``_()`` in templates, so ``pybabel extract`` (see
babel.cfg) collects them and other locales can be added as catalogues under core/locale/.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "zh_CN"


@cache
def translations(locale: str = DEFAULT_LOCALE) -> gettext.NullTranslations:
    """The catalogue for ``locale``; zh_CN needs none because the source strings are Chinese."""
    if locale == DEFAULT_LOCALE:
        return gettext.NullTranslations()
    return gettext.translation("messages", localedir=LOCALE_DIR, languages=[locale], fallback=True)


def _(message: str) -> str:
    """Mark and translate a message for the default locale (module-level code, CLI output)."""
    return translations().gettext(message)
