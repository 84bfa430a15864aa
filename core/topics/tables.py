"""Tables of the closed loop: submissions and files, topics and their history, units that act on
them, tasks, progress reports and ratings."""

from piccolo.columns import Boolean, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.meetings.tables import AgendaItem
from core.org.tables import Council
from core.residents.tables import RosterEntry


class Submission(Table, tablename="yishi_submission"):
    """A filled form, as validated JSON with the spec's id and version (old data stays readable)."""

    form_id = Varchar(length=80, required=True)
    form_version = Integer(required=True)
    data = Text(required=True)
    actor = Varchar(length=60, default="")
    #: The form's one-time key (hidden field): a retried POST finds its first submission. Unique
    #: where set (index in migration).
    nonce = Varchar(length=64, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class StoredFile(Table, tablename="yishi_stored_file"):
    """An uploaded file, stored once under DATA_DIR/uploads by its SHA-256."""

    sha256 = Varchar(length=64, unique=True, required=True)
    filename = Varchar(length=200, default="")
    kind = Varchar(length=20, required=True)
    size = Integer(required=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Topic(Table, tablename="yishi_topic"):
    """An issue (议题) raised to a council; ``state`` follows the ``topic`` workflow."""

    council = ForeignKey(Council, null=False, on_delete=OnDelete.restrict)
    title = Varchar(length=120, required=True)
    category = Varchar(length=40, default="")
    description = Text(default="")
    state = Varchar(length=30, default="raised")
    proposer_entry = ForeignKey(RosterEntry, null=True, on_delete=OnDelete.set_null)
    proposer_name = Varchar(length=50, default="")
    #: Whether ``proposer_name`` is a person's (shown masked, 王*华, wherever others see it) or the name
    #: of what raised the topic — a record kind such as 安全检查 (shown as written).
    proposer_is_person = Boolean(default=True)
    submission = ForeignKey(Submission, null=True, on_delete=OnDelete.set_null)
    merged_into = ForeignKey("self", null=True, on_delete=OnDelete.set_null)
    agenda_item = ForeignKey(AgendaItem, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class TopicEvent(Table, tablename="yishi_topic_event"):
    """One step of a topic's history, shown to the proposer on the follow page."""

    topic = ForeignKey(Topic, null=False, on_delete=OnDelete.cascade)
    transition = Varchar(length=40, default="")
    from_state = Varchar(length=30, default="")
    to_state = Varchar(length=30, required=True)
    reason = Text(default="")
    actor = Varchar(length=60, default="")
    at = Timestamptz(default=TimestamptzNow())


class Department(Table, tablename="yishi_department"):
    """A responsible unit a council assigns tasks to: 物业, 社区, 共建单位, 职能部门, 派出所 …"""

    council = ForeignKey(Council, null=False, on_delete=OnDelete.cascade)
    name = Varchar(length=60, required=True)
    kind = Varchar(length=20, default="")
    token_generation = Integer(default=1)


class Task(Table, tablename="yishi_task"):
    """A 交办单: what a responsible unit must do, by when; ``state`` follows the ``task`` workflow."""

    topic = ForeignKey(Topic, null=False, on_delete=OnDelete.cascade)
    department = ForeignKey(Department, null=False, on_delete=OnDelete.restrict)
    requirement = Text(default="")
    deadline = Date(required=True)
    state = Varchar(length=30, default="assigned")
    submission = ForeignKey(Submission, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    done_at = Timestamptz(null=True, default=None)


class TaskReport(Table, tablename="yishi_task_report"):
    """Progress reported by the responsible unit, with photos (办理反馈)."""

    task = ForeignKey(Task, null=False, on_delete=OnDelete.cascade)
    progress = Varchar(length=20, default="")
    body = Text(default="")
    files = Text(default="[]")
    actor = Varchar(length=60, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Rating(Table, tablename="yishi_rating"):
    """The proposer's rating of the outcome (评事): satisfied / basically / unsatisfied."""

    topic = ForeignKey(Topic, null=False, on_delete=OnDelete.cascade)
    level = Varchar(length=20, required=True)
    comment = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
