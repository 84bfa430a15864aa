"""Translated template labels, looked up once per locale instead of once per render.

Why: the console's item panel says about 33 fixed things (上一项, 暂停计时, 议题结果 …) through
``{{ _('…') }}``. Jinja's new-style gettext translates each of them on every render, wraps it in
``Markup`` and formats it with ``%`` (to fill placeholders) — about a third of the panel's render
time, for text that never changes while the process runs.

:func:`gettext_for` gives the console's templates a ``_`` (a context variable, which Jinja prefers
to its global ``_``) for the deployment's locale: the same catalogue the environment was built
with (``core.i18n.translations``, cached), and the same result Jinja's new-style gettext gives in an
autoescaped template — ``Markup(translation) % variables`` — computed once per message and then
answered from a dict. A call with placeholders (``_('共 %(n)s 项', n=3)``) is computed each time.
Only for autoescaped (``.html``) templates, as every console template is.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from markupsafe import Markup

from core.i18n import translations


@cache
def gettext_for(locale: str) -> Callable[..., Markup]:
    """``_('…')`` for the console's templates in ``locale``, with each fixed label computed once."""
    translate = translations(locale).gettext
    labels: dict[str, Markup] = {}

    def gettext(message: str, **variables: Any) -> Markup:
        if variables:
            return Markup(translate(message)) % variables
        try:
            return labels[message]
        except KeyError:
            value = labels[message] = Markup(translate(message)) % {}
            return value

    return gettext


__all__ = ["gettext_for"]
