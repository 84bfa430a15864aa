"""Tables of the voting engine: polls, the electorate snapshot, who took part, the ballots, proxies and
analog counts. App "voting" (core.voting.piccolo_app); the services are in core.voting.polls.

Two ballot tables, because 记名 and 无记名 polls keep different things:

- :class:`NamedBallot` (记名): who voted what — the voter, the acting person, the choices, the receipt;
- :class:`SecretBallot` (无记名): only what was cast — the poll, the choices and a random id. No voter,
  no timestamp, no sequential id: nothing in the row, or in the order of the rows, says whose it is.
  (On SQLite the table is ``WITHOUT ROWID``, so even the hidden row number does not exist: rows are
  stored in the order of their random ids; see the migration and docs/voting.md.)

:class:`Participation` says who took part, for both kinds, and is the exactly-once guarantee: (poll,
voter key) is a unique index, so a second ballot from one voter — by phone, on paper or through a proxy,
repeated or concurrent — fails in the database, whatever the application code did. Composite
uniqueness is a unique index in the migrations (Piccolo's composite ``Unique()`` fails on SQLite).
"""

from decimal import Decimal

from piccolo.columns import JSON, UUID, Boolean, ForeignKey, Integer, Numeric, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.meetings.tables import AgendaItem
from core.org.tables import Council


class Poll(Table, tablename="yishi_poll"):
    """A question put to an electorate: on an agenda item, or standing alone as a written consultation
    (书面征求意见, ``item`` null) open for days.

    ``method``: yesno (赞成/反对/弃权), single, multi (min/max choices), approval. ``options``: the
    option names as a JSON list (赞成/反对 for yesno). ``visibility``: named (记名) or secret (无记名).
    ``state``: draft → open → closed. ``electorate``: how the electorate is chosen (JSON, see
    core.voting.polls.create_poll); the snapshot itself is :class:`Elector`. ``result``: the tally as
    JSON, written once when the poll closes.
    """

    council = ForeignKey(Council, null=False, on_delete=OnDelete.restrict)
    item = ForeignKey(AgendaItem, null=True, default=None, on_delete=OnDelete.restrict)
    title = Varchar(length=200, required=True)
    method = Varchar(length=10, required=True)
    options = JSON(default="[]")
    min_choices = Integer(default=1)
    max_choices = Integer(default=1)
    #: A rule profile id (core.voting.loader.shared_rules() or a plugin's rule).
    rule_id = Varchar(length=80, required=True)
    visibility = Varchar(length=10, default="named")
    state = Varchar(length=10, default="draft")
    opens_at = Timestamptz(null=True, default=None)
    closes_at = Timestamptz(null=True, default=None)
    electorate = JSON(default="{}")
    #: How many represented voters one proxy holder may vote for (委托投票的每人上限).
    proxy_limit = Integer(default=1)
    result = JSON(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = Varchar(length=60, default="")


class Elector(Table, tablename="yishi_poll_elector"):
    """One entry of the electorate, snapshotted when the poll opens; later roster changes do not touch it.

    ``voter_key`` is who may cast ("person:12" — a council member —, "entry:345" — a roster entry),
    unique per poll. ``owner_key`` is whose ballot it is: the same key, or one key shared by an owner's
    several units (one head per owner, 司法解释 第9条) or by a household when the electorate votes one
    per household. ``unit`` names the room or seat the entry stands for; ``area`` its 专有部分面积.
    """

    poll = ForeignKey(Poll, null=False, on_delete=OnDelete.cascade)
    voter_key = Varchar(length=60, required=True)
    owner_key = Varchar(length=120, required=True)
    name = Varchar(length=60, default="")
    unit = Varchar(length=80, default="")
    household = Varchar(length=80, default="")
    area = Numeric(digits=(12, 2), default=Decimal(0))
    weight = Numeric(digits=(12, 4), default=Decimal(1))
    present = Boolean(default=False)


class Participation(Table, tablename="yishi_poll_participation"):
    """Who took part in a poll (参与记录) — one row per voter per poll across all channels (unique index).

    ``voter_key`` is the elector's owner key (whose ballot), ``cast_by`` the elector key used, ``acting``
    the proxy holder's key or name when a proxy voted. ``receipt``: for a secret poll, the receipt code
    the voter was shown — it proves the participation was recorded, and nothing about the ballot.
    """

    poll = ForeignKey(Poll, null=False, on_delete=OnDelete.cascade)
    voter_key = Varchar(length=120, required=True)
    cast_by = Varchar(length=60, default="")
    channel = Varchar(length=10, required=True)
    acting = Varchar(length=80, default="")
    receipt = Varchar(length=16, null=True, default=None)
    cast_at = Timestamptz(default=TimestamptzNow())
    recorded_by = Varchar(length=60, default="")


class NamedBallot(Table, tablename="yishi_poll_named_ballot"):
    """A 记名 ballot: who voted what. (poll, voter_key) is unique, like the participation."""

    poll = ForeignKey(Poll, null=False, on_delete=OnDelete.cascade)
    voter_key = Varchar(length=120, required=True)
    acting = Varchar(length=80, default="")
    channel = Varchar(length=10, required=True)
    choices = JSON(default="[]")
    receipt = Varchar(length=16, required=True)
    cast_at = Timestamptz(default=TimestamptzNow())


class SecretBallot(Table, tablename="yishi_poll_secret_ballot"):
    """A 无记名 ballot: the poll and the choices, under a random id. Nothing else, on purpose."""

    id = UUID(primary_key=True)
    poll = ForeignKey(Poll, null=False, on_delete=OnDelete.cascade)
    choices = JSON(default="[]")


class Proxy(Table, tablename="yishi_poll_proxy"):
    """A written proxy (委托书) recorded before the represented voter votes: ``voter_key`` (the
    represented elector) lets ``holder_name`` — ``holder_key`` when the holder is a known person or
    roster entry — vote for them. One per represented voter per poll (unique index)."""

    poll = ForeignKey(Poll, null=False, on_delete=OnDelete.cascade)
    voter_key = Varchar(length=60, required=True)
    holder_name = Varchar(length=50, required=True)
    holder_key = Varchar(length=60, default="")
    recorded_at = Timestamptz(default=TimestamptzNow())
    recorded_by = Varchar(length=60, default="")


class HandTotals(Table, tablename="yishi_poll_hand_totals"):
    """An analog count (举手或现场清点) entered by the chair: votes per option, abstentions. One per poll."""

    poll = ForeignKey(Poll, null=False, unique=True, on_delete=OnDelete.cascade)
    counts = JSON(default="{}")
    abstain = Integer(default=0)
    recorded_at = Timestamptz(default=TimestamptzNow())
    recorded_by = Varchar(length=60, default="")


class CouncilVoting(Table, tablename="yishi_voting_council"):
    """A council's own voting settings (本会议事规则中的表决设置), one row per council; no row means
    the defaults. Kept in the voting app, not on the council itself.

    ``silent_follow_majority``: owners who did not vote are counted with the majority (未参与表决者计入
    多数意见) — only where the law leaves it to the estate's own rules (住建部《业主大会和业主委员会
    指导规则》第二十六条; core.voting.council_settings says which rules). Off by default.
    """

    council = ForeignKey(Council, null=False, unique=True, on_delete=OnDelete.cascade)
    silent_follow_majority = Boolean(default=False)
    updated_at = Timestamptz(default=TimestamptzNow())
    updated_by = Varchar(length=60, default="")
