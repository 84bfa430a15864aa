"""Fill English translations into core/locale/en from a table (used by hand after scripts/i18n.sh).

    .venv/bin/python scripts/translate_en.py      # lists messages still without a translation
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "core" / "locale" / "en" / "LC_MESSAGES" / "messages.po"


def main(table_file: str | None) -> int:
    table = json.loads(Path(table_file).read_text(encoding="utf-8")) if table_file else {}
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    missing = []
    for message in catalog:
        if message.id and message.id in table:
            message.string = table[message.id]
        elif message.id and not message.string:
            missing.append(message.id)
    with PO.open("wb") as fh:
        write_po(fh, catalog, width=100)
    for message_id in missing:
        print(message_id)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
