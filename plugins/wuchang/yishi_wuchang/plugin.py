"""屋场恳谈会 — the courtyard talk of Hunan (衡南县, 衡阳市石鼓区): no podium and no agenda; a cadre
briefs, the floor is open, a recorder writes down every issue raised (专人记录、记录在册), each is
triaged on the spot — 解疑释惑, 现场办公 or 集中交办 to a department with a deadline — and followed
until every item has an answer (件件有回音); departments are scored on residents' ratings.

The practice is data, and core finds all of it beside this module (core/plugin_manifest.py):
plugin.toml (metadata, practice, roles, permissions, menu), forms/, workflows/, capture.toml (core's
meeting capture: tracks, ledger, scores, the 回音表 and 交办单 papers; docs/capture.md), demo.toml
and templates/wuchang/ (the two papers' layouts). This module has no code of its own.
"""
