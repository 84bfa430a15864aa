"""Translations through gettext, with Babel reading the catalogues.

Messages are written in Simplified Chinese — zh_CN is the source language and the default, so it
needs no catalogue — and marked with ``_()`` in Python and ``_()``/``{% trans %}`` in templates.
``scripts/i18n.sh`` extracts them (babel.cfg) into ``core/locale/messages.pot`` and updates each
locale's ``core/locale/<locale>/LC_MESSAGES/messages.po``. The .po files are read directly
(compiled in memory by Babel), so there is no build step and no .mo file to forget.

The locale is chosen per deployment (``YISHI_LOCALE``); :func:`use_locale` sets it at app start.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "zh_CN"

_active: list[gettext.NullTranslations] = [gettext.NullTranslations()]
_locale: list[str] = [DEFAULT_LOCALE]


@cache
def translations(locale: str = DEFAULT_LOCALE) -> gettext.NullTranslations:
    """The catalogue for ``locale``; untranslated messages fall back to the Chinese source."""
    if locale == DEFAULT_LOCALE:
        return gettext.NullTranslations()
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def use_locale(locale: str) -> None:
    """Make ``locale`` the language of messages produced in Python code (``_()``)."""
    _active[0] = translations(locale)
    _locale[0] = locale


def N_(message: str) -> str:
    """Mark a message for extraction without translating it yet (translated with ``_()`` where it
    is shown): for tables of labels built once, at import time."""
    return message


def _(message: str) -> str:
    """Mark a message for extraction and translate it into the deployment's language."""
    return _active[0].gettext(message)


def current_locale() -> str:
    """The locale :func:`use_locale` last chose (``zh_CN`` until then)."""
    return _locale[0]


def spec_text(text: str) -> str:
    """A TOML spec's text people read (a label, a title, a help line), in the deployment's language.

    Forms, workflows, record kinds and plugin manifests are written in Chinese; each such string is a
    msgid (extracted from the TOML files by :mod:`core.i18n_toml`), translated once when the spec is
    read, so the loaded spec speaks the deployment's language while stored values (option values,
    state and transition ids) stay as written. Empty text stays empty (gettext would give the header).
    """
    return _active[0].gettext(text) if text else text
