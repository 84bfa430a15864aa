"""The voting engine's pure core: rules (core.voting.rules, core.voting.loader) and the tally (core.voting.tally).

No database and no web here; docs/voting.md describes the API for the ballot and page layers.
"""
