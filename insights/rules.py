"""What Sales Insights counts, as data.

Source: the product description ("Touchpoints such as emails, phone calls,
and events are used to generate Activity Reports on deals in Sales
Insights"). Decisions where it is silent (docs/insights.md):

Activities (``ACTIVITY_KINDS``)
    The touchpoints a rep performs with a customer: events, phone calls,
    emails, email campaigns, SMS and chats. Notes are internal; documents,
    cases and portal visits are the "indirect touchpoints", the customer's
    doing or a side effect, so they are not a rep's activity. A touchpoint
    without an owner is nobody's activity and is left out.

Added
    Every activity, whatever its status, on the local day it happened
    (``occurred_at`` in the viewer's time zone): a call imported a week late
    lands on the day it was made, at the next refresh.

Completed (``COMPLETED``)
    An activity that really took place: a held event, a completed or
    hung-up call, a sent or received email, a sent campaign, a dispatched,
    delivered or received SMS, a sent or received chat. Its effort is its
    ``duration_seconds`` (calls report it; other kinds add 0 when unknown).

Deal stage
    A touchpoint belongs to the stage of the lowest-numbered deal on its
    timeline (a direct link or a rolled-up one, touchpoints.rules), or to no
    stage. The stage is the deal's current one: moving a deal to Closed Won
    moves its activities there at the next refresh.
"""
from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Q

from touchpoints.rules import Kind

ACTIVITY_KINDS: tuple[str, ...] = (Kind.EVENT, Kind.PHONE_CALL, Kind.EMAIL, Kind.EMAIL_CAMPAIGN, Kind.SMS, Kind.CHAT)

COMPLETED: dict[str, frozenset[str]] = {
    Kind.EVENT: frozenset({"held"}),
    Kind.PHONE_CALL: frozenset({"completed", "hangup"}),
    Kind.EMAIL: frozenset({"sent", "received"}),
    Kind.EMAIL_CAMPAIGN: frozenset({"sent"}),
    Kind.SMS: frozenset({"dispatched", "delivered", "received"}),
    Kind.CHAT: frozenset({"sent", "received"}),
}

# "" in the rollup's stage column: on no deal.
NO_STAGE = ""
# "*" in the rollup's stage column: every stage and none, summed (what a
# report without a stage filter reads).
ALL = "*"


def week_of(day: date) -> date:
    """The Monday that starts ``day``'s week (ISO 8601 weeks)."""
    return day - timedelta(days=day.weekday())


def month_of(day: date) -> date:
    return day.replace(day=1)


def is_activity(kind: str) -> bool:
    return kind in ACTIVITY_KINDS


def is_completed(kind: str, status: str) -> bool:
    return status in COMPLETED.get(kind, ())


def completed_q(kinds: tuple[str, ...] | list[str] = ACTIVITY_KINDS) -> Q:
    """Rows (rollup or raw) of completed activities among ``kinds``."""
    q = Q(pk__in=[])
    for kind in kinds:
        q |= Q(kind=kind, status__in=sorted(COMPLETED[kind]))
    return q
