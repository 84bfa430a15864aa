"""Accounts: staff and member logins, server-side sessions, roles and permissions.

A :class:`~core.accounts.tables.User` may be linked to a :class:`~core.org.tables.Person`; that
person's seats (CouncilMember rows) give the user roles per council. A user with a ``unit`` is
staff for that unit's subtree (a 街道 sees its 社区). Admins may do everything. Every route
declares a permission (see :mod:`core.accounts.permissions`); a route without one refuses all.
"""
