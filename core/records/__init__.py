"""Records (记录): a practice's own kind of case — a dispute mediation, a rental-safety check, a
volunteer-points claim — declared in TOML and run by core, so a practice plugin needs no Python
beyond its hooks.

- :mod:`core.records.spec` — the record-kind spec (``yishi_records`` hook): form, workflow,
  council practices, list columns, permissions, parties who sign, documents;
- :mod:`core.records.tables` — one table of records for every kind (the form's values as JSON),
  their signatures and their events (a Piccolo app, ``records``);
- :mod:`core.records.service` — create, edit, step, sign: each change with its audit event in one
  transaction, refused when stale;
- :mod:`core.records.controllers` — the generic pages (list, form, detail, signing, documents);
- :mod:`core.records.kinds` — the optional tables of a kind: roster choices, defaults, checklist,
  ledger, topic;
- :mod:`core.records.ledger` — a ledger kind's running balance per person, never below its floor;
- :mod:`core.records.links` — roster choices, a checklist's follow-ups, raising a record as a topic and
  moving it on when the topic is settled;
- :mod:`core.records.months` — a kind's counts in a calendar month, for a practice's 月报;
- :mod:`core.records.seed` — demo data from a TOML seed file (``await load_seed(path)``).

The reference for authors is docs/records.md.
"""
