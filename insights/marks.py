"""The writers' side of the Sales Insights rollup: marks saying which cells
to recompute (insights.refresh explains why marks, and why one row each).

Call these inside the writing transaction: before a change or deletion for
the cells the rows leave, after a change or insert for the cells they
enter. They never read or write the rollup itself.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, time

from django.db.models.functions import TruncDate

from insights.models import PendingDay, PendingDeal
from insights.rules import ACTIVITY_KINDS, is_activity  # noqa: F401  (is_activity: for writers)
from touchpoints.models import Touchpoint, TouchpointLink


def chunks(values: list, size: int) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def mark_days(pairs: Iterable[tuple[int | None, datetime]]) -> None:
    """(owner id, occurred_at) of activities written or about to change."""
    days = {(owner_id, when.astimezone(UTC).date()) for owner_id, when in pairs if owner_id is not None}
    PendingDay.objects.bulk_create([PendingDay(owner_id=o, day=d) for o, d in sorted(days)])


def mark_deals(deal_ids: Iterable[int], *, with_days: bool = True) -> None:
    """Deals whose activity totals may have changed. ``with_days`` also marks
    the days of every activity on their timelines, for when the deal's stage
    changes (the rollup's stage column) or the deal goes away."""
    deal_ids = sorted(set(deal_ids))
    if not deal_ids:
        return
    PendingDeal.objects.bulk_create([PendingDeal(deal_id=d) for d in deal_ids])
    if with_days:
        for chunk in chunks(deal_ids, 500):
            pairs = (
                Touchpoint.objects.filter(links__deal_id__in=chunk, kind__in=ACTIVITY_KINDS, owner__isnull=False)
                .values_list("owner_id", "occurred_at")
                .distinct()
            )
            mark_days(pairs)


def mark_touchpoints(touchpoint_ids: Iterable[int]) -> None:
    """Touchpoints as they are now: call before a change (their old cells)
    and after it (their new ones), or before a deletion."""
    ids = sorted(set(touchpoint_ids))
    for chunk in chunks(ids, 500):
        mark_days(
            Touchpoint.objects.filter(id__in=chunk, kind__in=ACTIVITY_KINDS, owner__isnull=False).values_list("owner_id", "occurred_at")
        )
        deals = TouchpointLink.objects.filter(touchpoint_id__in=chunk, deal__isnull=False, kind__in=ACTIVITY_KINDS).values_list(
            "deal_id", flat=True
        )
        mark_deals(deals, with_days=False)


def mark_owner(user_id: int) -> None:
    """Every day of a user's activities (the user is being deleted: the
    rows leave the rollup, as the touchpoints lose their owner)."""
    days = (
        Touchpoint.objects.filter(owner_id=user_id, kind__in=ACTIVITY_KINDS)
        .annotate(d=TruncDate("occurred_at", tzinfo=UTC))
        .values_list("d", flat=True)
        .distinct()
    )
    # Noon UTC stands for its UTC day.
    mark_days((user_id, datetime.combine(d, time(12), tzinfo=UTC)) for d in days)
