"""Statistics and dashboards for any unit, rolled up from its subtree (docs/units.md)."""
