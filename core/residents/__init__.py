"""Residents without passwords: the roster (名册), personal links and QR slips, identity checks.

A resident never has an account. Each roster entry has a personal link ``/r/<token>`` whose token
is derived from the entry's id and its token generation with the deployment's secret (nothing to
steal from the database); staff print it as a QR slip, revoke it, or re-issue it (which makes
every older link and slip stop working). A practice may ask residents to answer an identity check
(``yishi_identity_checks``) before their page shows anything personal. See docs/residents.md.
"""
