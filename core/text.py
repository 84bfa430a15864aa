"""Checks on text people type, shared by every form.

"Control characters" are all of Unicode's category Cc — C0 (U+0000–U+001F), DEL and C1
(U+007F–U+009F, e.g. U+009B, a terminal escape) — plus the bidirectional overrides and isolates
(U+202A–U+202E, U+2066–U+2069) that can make text display differently from what is stored.
"""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def has_control(text: str, allow: str = "") -> bool:
    """True when ``text`` holds a control character other than those in ``allow`` (e.g. "\\n\\t")."""
    return any((unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS) and ch not in allow for ch in text)
