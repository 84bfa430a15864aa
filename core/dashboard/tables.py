"""The materialised rollup behind the dashboards: per council and month, rebuilt from the topics,
tasks, ratings and meetings by :mod:`core.dashboard.rollup`.

Rows are keyed by *council*, never by unit: a dashboard joins them to each council's current unit
when it reads, so a council moved to another unit takes all its figures with it and is never
counted twice. Rows whose council is NULL hold the sum over *every* council — what the root of the
tree reads instead of a thousand councils' rows. ``month`` is an integer ``yyyymm`` for a month's
row, or ``yyyy`` for the sum of a whole year (read instead of twelve monthly rows when a period
covers the year). Topics count in the month they were raised (the cohort rule, docs/units.md).
"""

from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from core.org.tables import Council


class StatsMonth(Table, tablename="yishi_stats_month"):
    """One council's figures for one month (topics by the month they were raised)."""

    council = ForeignKey(Council, null=True, on_delete=OnDelete.cascade)
    month = Integer(required=True)
    meetings = Integer(default=0)
    raised = Integer(default=0)
    solved = Integer(default=0)
    overdue = Integer(default=0)
    satisfied = Integer(default=0)
    basic = Integer(default=0)
    unsatisfied = Integer(default=0)


class StatsCategory(Table, tablename="yishi_stats_category"):
    """The same topic figures split by the topic's category (分类)."""

    council = ForeignKey(Council, null=True, on_delete=OnDelete.cascade)
    month = Integer(required=True)
    category = Varchar(length=40, default="")
    raised = Integer(default=0)
    solved = Integer(default=0)
    overdue = Integer(default=0)
    satisfied = Integer(default=0)
    basic = Integer(default=0)
    unsatisfied = Integer(default=0)


class StatsDays(Table, tablename="yishi_stats_days"):
    """How many solved topics took ``days`` whole days from raised to closed (for the median)."""

    council = ForeignKey(Council, null=True, on_delete=OnDelete.cascade)
    month = Integer(required=True)
    days = Integer(required=True)
    n = Integer(default=0)


class StatsBuild(Table, tablename="yishi_stats_build"):
    """When the rollup was last rebuilt in full (one row)."""

    built_at = Timestamptz(required=True)
    #: The local date of that build: "overdue" depends on today, so a new day means a rebuild.
    built_on = Varchar(length=10, required=True)
    #: False after one council was refreshed: the all-council rows (council NULL) wait for the next
    #: background pass, and readers add up the councils' rows meanwhile.
    totals_fresh = Boolean(default=True)
