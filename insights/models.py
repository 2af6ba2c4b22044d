"""Sales Insights' rollup tables, refreshed incrementally (insights.refresh).

``ActivityCell`` holds, per time zone in use, one row per period × owner ×
kind × deal stage with how many activities were added, how many of those
were completed, and the completed ones' total duration; stage ``*`` rows
hold every stage summed, for reports that do not filter on it. Three grains share
the table: ``day`` cells are computed from the log; ``week`` (Monday) and
``month`` (the 1st) cells are sums of day cells. A report over a period
reads whole weeks or months from their own cells and only the partial
ones at its edges from day cells, so a year for every rep is a few
thousand rows, not the log's millions (docs/insights.md, measured in
docs/benchmarks.md). Reports sum rows and never read the log.

``DealActivity`` holds, per deal and kind, the activities on the deal's
timeline up to its closing time (all of them while it is open), and
``ClosedDealCell`` sums them per closing period, rep and outcome: what
Activity Efficiency reads.

Writers never update these tables. They append *marks* (``PendingDay``: an
owner's UTC day; ``PendingDeal``: a deal) in their own transaction, and the
refresh recomputes exactly the marked cells from the log, then deletes the
marks it read. Recomputing from the truth (rather than applying +1/-1
deltas) makes late, changed and deleted touchpoints the same case, and a
mark read twice harmless.
"""
from django.db import models


class Grain(models.TextChoices):
    DAY = "day"
    WEEK = "week"  # starts on Monday (ISO 8601)
    MONTH = "month"


class ActivityCell(models.Model):
    zone = models.CharField(max_length=64)
    grain = models.CharField(max_length=5, choices=Grain.choices)
    # The first local day of the period (a day, a Monday, a 1st).
    start = models.DateField()
    # A plain integer, not a foreign key: the rollup is derived data, and a
    # deleted user's rows are recomputed away (insights.signals).
    owner_id = models.IntegerField()
    kind = models.CharField(max_length=20)
    # The deal stage the activities belong to (insights.rules); "" for none.
    stage = models.CharField(max_length=20, blank=True)
    added = models.PositiveIntegerField()
    completed = models.PositiveIntegerField()
    completed_seconds = models.BigIntegerField()

    class Meta:
        constraints = [
            # Also the index of "every rep's cells in a period" (zone, grain, start range).
            models.UniqueConstraint(fields=["zone", "grain", "start", "owner_id", "kind", "stage"], name="insights_cell_uniq"),
        ]
        indexes = [
            # One rep's or a team's period: a range per owner.
            models.Index(fields=["zone", "grain", "owner_id", "start"], name="insights_cell_owner_idx"),
            # Everyone's period in one stage, or in all of them ('*'): one
            # contiguous range, not every stage's rows walked past.
            models.Index(fields=["zone", "grain", "stage", "start"], name="insights_cell_stage_idx"),
        ]


class DealActivity(models.Model):
    """Per deal and kind, the activities on the deal's timeline up to its
    closing (all of them while it is open), with the deal's owner, stage and
    closing time as of the last refresh. Each deal also has one row of kind
    "" (no activities) so a deal without any is still counted. ``deal_id``
    is a plain integer: a deleted deal's rows stay until the refresh has
    recomputed the closing-day cells they counted in."""

    deal_id = models.IntegerField()
    owner_id = models.IntegerField(null=True)
    stage = models.CharField(max_length=20)
    closed_at = models.DateTimeField(null=True)
    kind = models.CharField(max_length=20, blank=True)
    activities = models.PositiveIntegerField()
    duration_seconds = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deal_id", "kind"], name="insights_deal_kind_uniq")]
        indexes = [
            # Recomputing an owner's closing days: (owner, closed_at) ranges.
            models.Index(fields=["owner_id", "closed_at"], condition=models.Q(closed_at__isnull=False), name="insights_deal_closed_idx"),
        ]


class ClosedDealCell(models.Model):
    """Activity Efficiency's rollup: per zone, period of the closing day,
    owner, outcome and kind, the deals closed (on the kind "" rows) and the
    activities it took, with their duration. Built from DealActivity like
    ActivityCell from the log, day cells first, weeks and months from them."""

    zone = models.CharField(max_length=64)
    grain = models.CharField(max_length=5, choices=Grain.choices)
    start = models.DateField()
    owner_id = models.IntegerField()
    won = models.BooleanField()
    kind = models.CharField(max_length=20, blank=True)
    deals = models.PositiveIntegerField()
    activities = models.PositiveIntegerField()
    duration_seconds = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "grain", "start", "owner_id", "won", "kind"], name="insights_closed_cell_uniq"),
        ]
        indexes = [models.Index(fields=["zone", "grain", "owner_id", "start"], name="insights_closed_owner_idx")]


class PendingDay(models.Model):
    """A UTC day of an owner whose cells need recomputing, in every zone."""

    owner_id = models.IntegerField()
    day = models.DateField()


class PendingDeal(models.Model):
    deal_id = models.IntegerField()


class RollupZone(models.Model):
    """A time zone the rollup keeps cells for. Zones are built on demand: the
    company's zone always, any other when a user in it first opens a report
    (``built_at`` is empty until the refresh has built it). Every zone costs
    a pass over the log to build and its share of every refresh, so zones
    nobody reports in are not kept: a zone no active user has any more is
    dropped (insights.refresh)."""

    zone = models.CharField(max_length=64, primary_key=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    built_at = models.DateTimeField(null=True, blank=True)


class FillState(models.Model):
    """The one fill-state row: when the rollup was last refreshed and what
    that run did. The refresh locks it, so two workers never refresh at
    once."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)
    last_days = models.PositiveIntegerField(default=0, help_text="owner-days recomputed by the last refresh")
    last_deals = models.PositiveIntegerField(default=0, help_text="deals recomputed by the last refresh")
    last_duration_ms = models.PositiveIntegerField(default=0)
