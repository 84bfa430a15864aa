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
- :mod:`core.records.seed` — demo data from a TOML seed file (``await load_seed(path)``).

The reference for authors is docs/records.md.
"""
