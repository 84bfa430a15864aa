"""邻聚力·月月谈 — the monthly council of a rental-housing district (Huizhou, 仲恺高新区 沥林镇).

The plugin module is :mod:`yishi_linjuli.plugin` (the entry point); the practice lives mostly in
TOML (forms/) and templates (templates/linjuli/).
"""
