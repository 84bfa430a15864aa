"""The plugin contract: every hook a Yishi plugin may implement.

Each spec is a function with a typed signature and a docstring saying when it is called, what it
receives and what it must return. Plugins implement them with ``@core.hookimpl`` using the same
name and any subset of the arguments. Hooks are always called with keyword arguments; they return
data, and the core wires that data in. docs/plugins.md documents every hook with its exact
signature, and tests/test_docs.py keeps the two in step.

Core's own features (the 三方联席会议 practice, the meeting pages) are plugins too, registered
through these same hooks — see ``core.plugins.DEFAULT_PLUGINS``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from litestar import Request
    from litestar.types import ControllerRouterHandler

    from core.documents.spec import DocumentSpec
    from core.events import TransitionEvent
    from core.practices import Practice
    from core.residents.identity import IdentityCheck

hookspec = pluggy.HookspecMarker("yishi")


# -------------------------------------------------------------------------------------------------
# Practices
# -------------------------------------------------------------------------------------------------


@hookspec
def yishi_practices() -> Sequence[Practice]:
    """Declare the practices (议事实践) this plugin provides.

    Called once when the app starts. Return a list of :class:`core.practices.Practice`: id, name,
    description, meeting kinds, roles. A council runs under exactly one practice; two plugins that
    declare the same practice id are refused at start, naming both.
    """


# -------------------------------------------------------------------------------------------------
# Web: routes, templates, static files, navigation
# -------------------------------------------------------------------------------------------------


@hookspec
def yishi_routes() -> Sequence[ControllerRouterHandler]:
    """Add pages and endpoints.

    Called once when the app is built. Return Litestar route handlers or controllers. They are
    mounted under ``/p/<plugin id>/`` (core's own default plugins at the root), so a plugin's
    ``@get("/")`` is served at ``/p/<plugin id>/``.
    """


@hookspec
def yishi_template_dirs() -> Sequence[Path]:
    """Add folders of Jinja2 templates.

    Called once when the app is built. Lookup order is theme > plugins (in load order) > core, so
    a plugin may override a core template by shipping one with the same name, and extend the
    original with ``{% extends "core:<name>" %}``. Keep the plugin's own templates under a folder
    named after the plugin (``templates/<plugin id>/…``) so they do not collide.
    """


@hookspec
def yishi_static_dirs() -> Sequence[Path]:
    """Add folders of static files (CSS, images, scripts).

    Called once when the app is built. The files are served under ``/static/plugins/<plugin id>/``.
    """


@hookspec
def yishi_menu_links(request: Request) -> Sequence[dict[str, str]]:
    """Add links to the main navigation.

    Called for every full page render. Return a list of ``{"href": ..., "label": ...}``.
    """


# -------------------------------------------------------------------------------------------------
# Permissions
# -------------------------------------------------------------------------------------------------


@hookspec
def yishi_permissions() -> Mapping[str, Sequence[str]]:
    """Say which roles grant which permissions.

    Called once when the app is built. Return ``{role id: [permission, …]}``; grants from all
    plugins add up (core's own come through this hook too, e.g. ``"chair": ["meeting.view",
    "meeting.run"]``). A route declares the permission it needs with
    ``opt={"permission": "<name>"}``; the role ``"staff"`` is held by staff for every council in
    their unit's subtree. A practice's own roles (巷导, 网格员 …) get their permissions here.
    """


@hookspec
def yishi_council_resolvers() -> Mapping[str, Callable[[Any], Awaitable[int | None]]]:
    """Teach the permission check how to find the council a URL is about.

    Called once when the app is built. Return ``{path parameter name: async function(value) ->
    council id or None}``; core knows ``council_id`` and ``meeting_id``. A plugin whose routes
    carry their own ids (e.g. ``mediation_id``) adds a resolver so its council-bound permissions
    can be checked.
    """


@hookspec
def yishi_identity_checks() -> Sequence[IdentityCheck]:
    """Offer ways for a resident to prove who they are after opening their personal link.

    Called once, the first time a resident's page needs the checks. Return a list of
    :class:`core.residents.identity.IdentityCheck` (id, label, prompt, input_mode,
    ``verify(entry: dict, value: str) -> bool``, optional ``applies(entry) -> bool``). A practice
    picks one by id with ``Practice(identity_check="…")``; core offers ``"room"`` and
    ``"phone_last4"``. The first plugin to declare an id keeps it (core's load first). ``verify``
    gets the roster row as a dict and what the resident typed; it must not do I/O — wrong answers
    are rate-limited by the core.
    """


# -------------------------------------------------------------------------------------------------
# Low-code specs: forms and workflows
# -------------------------------------------------------------------------------------------------


@hookspec
def yishi_forms() -> Sequence[Path]:
    """Ship form specs (TOML, docs/lowcode.md) with the plugin.

    Called once when the plugins load. Return files or folders (every ``*.toml`` under a folder is
    read). Form ids share one namespace with core's shared forms and every other plugin's: start
    them with the plugin id (``jiexiang_tishi``). A bad spec or a reused id refuses the plugin with
    the file, key and line of each problem. The plugin's pages get a spec with
    ``request.app.state.plugins.specs.form(id)``; a practice names its resident intake form with
    ``Practice(intake_form="…")``. ``yishi plugin check`` validates them.
    """


@hookspec
def yishi_workflows() -> Sequence[Path]:
    """Ship workflow specs (TOML, docs/lowcode-workflows.md) with the plugin.

    Called once when the plugins load, after every plugin's forms, so a workflow may name the
    plugin's own forms, core's shared forms and core's guards. Same rules as ``yishi_forms`` for
    paths and ids. A practice makes its topics follow one with ``Practice(topic_workflow="…")``;
    such a workflow must keep every state and transition of core's ``topic`` workflow and may add
    its own (a 巷导 pre-review, a 公示期) — added transitions appear as buttons on the council's
    topic page.
    """


@hookspec
def yishi_records() -> Sequence[Path]:
    """Ship record kinds (记录类型, TOML — docs/records.md) with the plugin.

    Called once when the plugins load, after every plugin's forms and workflows, so a record kind
    may name them. Same rules for paths and ids as ``yishi_forms``: files or folders, ids prefixed
    with the plugin id, a bad spec or a reused id refuses the plugin naming the file, key and line.
    Core stores the records of every kind and serves their pages (list, form, detail with the
    workflow's buttons, parties' signing links, documents) at ``/councils/<id>/records/<kind>``;
    ``yishi plugin check`` validates them.
    """


@hookspec
def yishi_vote_rules() -> Sequence[Path]:
    """Ship voting rules (表决规则, TOML — docs/voting.md) with the plugin.

    Called once when the plugins load. Same rules for paths and ids as ``yishi_forms``: files or
    folders, ids prefixed with the plugin id, a bad rule or a reused id refuses the plugin naming the
    file, key and line. A county's own rule (a 村规民约 threshold, a local 加装电梯 rule) is then
    chosen by id like core's profiles (``plugins.specs.rule(id)``).
    """


@hookspec
def yishi_on_transition(event: TransitionEvent) -> Any:
    """Hear about every step a topic, task, meeting or record takes through its workflow.

    Called after the step has committed, for every plugin in load order, with a
    :class:`core.events.TransitionEvent` (kind, entity id, council id, workflow, transition — None
    for the chair's override — source and target states, the target's ``on_enter`` events, reason
    and actor; a record's kind is ``"record:<record kind id>"``). A retried request that changed
    nothing calls nothing. May return an awaitable; the
    core awaits it. An exception is logged and does not reach the person who acted: the step stands.
    Use it to send notices, update a plugin's own tables or count statistics.
    """


# -------------------------------------------------------------------------------------------------
# Data: tables and demo data
# -------------------------------------------------------------------------------------------------


@hookspec
def yishi_piccolo_apps() -> Sequence[str]:
    """Declare the plugin's own tables, as Piccolo apps.

    Called when the database is configured. Return dotted paths of ``piccolo_app`` modules (each
    defining ``APP_CONFIG``), e.g. ``["yishi_wuchang.piccolo_app"]``. ``yishi migrate`` runs their
    migrations after core's. Prefix table names with the plugin id.
    """


@hookspec
def yishi_demo_data(settings: Any) -> Any:
    """Add realistic demo records when ``yishi demo`` seeds an empty database.

    Called once, after the database is migrated, in plugin load order (core first). May return an
    awaitable; the core awaits it. Return value is ignored.
    """


# -------------------------------------------------------------------------------------------------
# Documents
# -------------------------------------------------------------------------------------------------


@hookspec
def yishi_minutes_context(meeting: Any, context: dict[str, Any]) -> dict[str, Any] | None:
    """Add to what the minutes (会议纪要) template sees.

    Called each time minutes are rendered (HTML and PDF), for the plugin that owns the meeting's
    practice and for core's own plugins. ``meeting`` is the Meeting row; ``context`` is what core
    has gathered so far (read it, do not change it). Return a dict of extra names, or None.
    """


@hookspec
def yishi_documents() -> Sequence[DocumentSpec]:
    """Add documents generated from a meeting's record (会议纪要, 公示, a practice's own forms).

    Called once, the first time documents are needed. Return a list of
    :class:`core.documents.spec.DocumentSpec` (id, title, template, context function, formats out
    of html/pdf/docx, formats that need approved minutes, the practices whose meetings have it —
    empty for every practice). One template renders the HTML; the PDF
    and the .docx are made from it. Core's ``minutes`` and ``gongshi`` come through this hook too.
    Ids are unique: a second plugin declaring an id is refused, naming both.
    """
