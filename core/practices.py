"""Practices (议事实践): what a plugin declares so councils can run under it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Role:
    """A role a council member can hold, e.g. ``Role("chair", "主持人")``."""

    id: str
    label: str


#: Roles every practice has; a practice adds its own (巷导, 网格员 …).
CORE_ROLES: tuple[Role, ...] = (
    Role("chair", "主持人"),
    Role("recorder", "记录员"),
    Role("member", "委员"),
    Role("observer", "列席"),
)


@dataclass(frozen=True)
class Practice:
    """A local way of running councils, provided by one plugin.

    id: unique across all plugins, e.g. "sanfang".
    name: what people read, e.g. "三方联席会议".
    description: one or two sentences.
    meeting_kinds: the kinds of meeting a council of this practice holds (first is the default).
    roles: roles beyond :data:`CORE_ROLES`.
    identity_check: the id of the identity check (``yishi_identity_checks``) a resident of a council
        of this practice answers before their personal page shows anything personal, e.g.
        "phone_last4"; empty: none.
    intake_form: the id of the form a resident fills in to raise an issue (提事); core's shared
        ``tishi`` unless the plugin ships its own (``yishi_forms``). It must have a ``title`` field;
        ``details``, ``category`` and ``photos`` are shown when it has them.
    topic_workflow: the id of the workflow a topic of this practice follows; core's ``topic``
        unless the plugin ships its own (``yishi_workflows``), which must keep every state and
        transition of core's and may add its own (e.g. a 巷导 pre-review step).
    plugin: filled in by the core with the id of the plugin that declared it.
    """

    id: str
    name: str
    description: str = ""
    meeting_kinds: tuple[str, ...] = ("议事会",)
    roles: tuple[Role, ...] = field(default_factory=tuple)
    identity_check: str = ""
    intake_form: str = "tishi"
    topic_workflow: str = "topic"
    plugin: str = ""

    @property
    def all_roles(self) -> tuple[Role, ...]:
        return CORE_ROLES + self.roles

    def role_label(self, role_id: str) -> str:
        for role in self.all_roles:
            if role.id == role_id:
                return role.label
        return role_id
