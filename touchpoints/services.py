"""Every write to the touchpoint log goes through this module.

``record_touchpoints`` is the one ingest path: the REST endpoints (single and
batch), events marked held, the demo generator and, later, the channel
adapters all call it. It validates a whole batch in one pass, writes the
touchpoints and their rolled-up links with executemany, and advances Last
Contacted in the same transaction.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from audit import log as audit
from config.errors import Conflict, Forbidden, Invalid, NotFound, error
from crm.models import Contact, Deal, Organization
from crm.permissions import assignable_owner_ids, can_delete, owned_by_team_of, owner_condition, visible
from insights import marks as insight_marks
from touchpoints import lastcontacted, rollup
from touchpoints.bulk import allocate_ids, insert_rows
from touchpoints.models import LinkPath, Touchpoint, TouchpointLink
from touchpoints.rules import (
    DERIVED_OWNER,
    DERIVED_SOURCES,
    STATUSES,
    VIA_BY_EVENT_TYPE,
    Kind,
    Source,
    contact_via,
    counts_as_contact,
    default_status,
    is_shown,
)
from workflows import triggers as workflow_triggers

TOUCHPOINT_FIELDS = (
    "id",
    "kind",
    "direction",
    "status",
    "occurred_at",
    "recorded_at",
    "duration_seconds",
    "subject",
    "summary",
    "sentiment",
    "emoticon",
    "event_type",
    "source",
    "external_id",
    "idempotency_key",
    "owner_id",
    "created_by_id",
)
EXTERNAL_ID_TAKEN = "source and external_id already name a touchpoint you cannot see"
LINK_ARGUMENTS = (("contact_ids", Contact), ("organization_ids", Organization), ("deal_ids", Deal))


@dataclass
class NewTouchpoint:
    kind: str
    occurred_at: datetime
    status: str | None = None
    direction: str | None = None
    duration_seconds: int | None = None
    subject: str = ""
    summary: str = ""
    sentiment: float | None = None
    emoticon: int | None = None
    event_type: str | None = None
    source: str = Source.API
    external_id: str | None = None
    idempotency_key: str | None = None
    owner_id: int | None = None
    contact_ids: Sequence[int] = ()
    organization_ids: Sequence[int] = ()
    deal_ids: Sequence[int] = ()


@dataclass
class Recorded:
    """The answer for one item: the touchpoint's id and whether this call
    created it (False: it already existed), or the item's errors."""

    touchpoint_id: int | None = None
    created: bool = False
    errors: list[dict] = field(default_factory=list)


# --- checks -------------------------------------------------------------------


def check_kind_fields(kind: str, status: str | None, event_type: str | None, loc: tuple = ()) -> list[dict]:
    errors = []
    if status is not None and status not in STATUSES[kind]:
        errors.append(error((*loc, "status"), f"must be one of {', '.join(STATUSES[kind])} for kind {kind}"))
    if event_type is not None:
        if kind != Kind.EVENT:
            errors.append(error((*loc, "event_type"), "only touchpoints of kind event have an event type"))
        elif event_type not in VIA_BY_EVENT_TYPE:
            errors.append(error((*loc, "event_type"), f"must be one of {', '.join(VIA_BY_EVENT_TYPE)}"))
    return errors


def check_new_touchpoints(actor: User, items: Sequence[NewTouchpoint]) -> list[list[dict]]:
    """Errors per item (empty list: fine). Reference checks cost one query
    per record type for the whole batch. A record the actor may not see is
    reported exactly like a missing one."""
    errors: list[list[dict]] = [check_kind_fields(item.kind, item.status, item.event_type) for item in items]
    for argument, model in LINK_ARGUMENTS:
        wanted = {rid for item in items for rid in getattr(item, argument)}
        found: set[int] = set()
        for chunk in rollup.chunked(wanted, 5000):  # SQLite: at most 32,766 parameters a statement
            found.update(visible(model, actor).filter(id__in=chunk).values_list("id", flat=True))
        for i, item in enumerate(items):
            for j, rid in enumerate(getattr(item, argument)):
                if rid not in found:
                    errors[i].append(error((argument, j), f"{model._meta.verbose_name} {rid} not found"))
    owners = {item.owner_id for item in items if item.owner_id is not None and item.owner_id != actor.id}
    allowed = assignable_owner_ids(actor, owners) if owners else set()
    for i, item in enumerate(items):
        if item.owner_id is not None and item.owner_id != actor.id and item.owner_id not in allowed:
            errors[i].append(error(("owner_id",), f"user {item.owner_id} not found or not assignable by you"))
    return errors


# --- ingest -----------------------------------------------------------------


def record_touchpoints(actor: User | None, items: Sequence[NewTouchpoint], *, checked: bool = False) -> list[Recorded]:
    """Store touchpoints, each exactly once.

    A repeat of (source, external_id), or of the actor's Idempotency-Key,
    answers with the existing touchpoint. Concurrent first deliveries of the
    same id race on the unique constraints; the loser's transaction rolls
    back whole and is retried, and then finds the winner's row.

    ``checked=True`` skips check_new_touchpoints, for trusted internal
    writers (the event sync, the demo generator) that built the items from
    rows they already validated.
    """
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _record(actor, items, checked)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _find_existing(actor: User | None, items: Sequence[NewTouchpoint]) -> tuple[dict, dict]:
    by_source: dict[str, set[str]] = {}
    for item in items:
        if item.external_id is not None:
            by_source.setdefault(item.source, set()).add(item.external_id)
    by_external: dict[tuple[str, str], int] = {}
    for source, external_ids in by_source.items():
        for tp_id, external_id in Touchpoint.objects.filter(source=source, external_id__in=external_ids).values_list(
            "id", "external_id"
        ):
            by_external[(source, external_id)] = tp_id
    keys = {item.idempotency_key for item in items if item.idempotency_key is not None}
    by_key: dict[str, int] = {}
    if keys and actor is not None:
        by_key = {
            key: tp_id
            for tp_id, key in Touchpoint.objects.filter(created_by=actor, idempotency_key__in=keys).values_list("id", "idempotency_key")
        }
    return by_external, by_key


def _first_present(*values: int | None) -> int | None:
    # Not `a or b`: index 0 is a real answer.
    return next((v for v in values if v is not None), None)


def _record(actor: User | None, items: Sequence[NewTouchpoint], checked: bool) -> list[Recorded]:
    results = [Recorded() for _ in items]
    if not checked:
        for result, item_errors in zip(results, check_new_touchpoints(actor, items)):
            result.errors = item_errors
    valid = [i for i, result in enumerate(results) if not result.errors]
    by_external, by_key = _find_existing(actor, [items[i] for i in valid])
    if not checked and by_external:
        # (source, external_id) is unique across the whole log, so a repeat
        # can name a touchpoint the caller may not see; answering with it
        # would hand its content to an outsider. The caller learns only that
        # the id is taken.
        hidden = set(by_external.values()) - set(
            visible_touchpoints(actor).filter(id__in=by_external.values()).values_list("id", flat=True)
        )
        for i in valid:
            if by_external.get((items[i].source, items[i].external_id)) in hidden:
                results[i].errors = [error(("external_id",), EXTERNAL_ID_TAKEN, "conflict")]
        valid = [i for i in valid if not results[i].errors]

    # Decide which items are new; later repeats inside the batch point at
    # the first occurrence.
    first_index_of: dict[tuple, int] = {}
    fresh: list[int] = []
    repeat_of: dict[int, int] = {}
    for i in valid:
        item = items[i]
        ext = (item.source, item.external_id) if item.external_id is not None else None
        key = item.idempotency_key
        existing = _first_present(by_external.get(ext) if ext else None, by_key.get(key) if key else None)
        if existing is not None:
            results[i].touchpoint_id = existing
            continue
        earlier = _first_present(first_index_of.get(("ext", ext)), first_index_of.get(("key", key)))
        if earlier is not None:
            repeat_of[i] = earlier
            continue
        if ext:
            first_index_of[("ext", ext)] = i
        if key:
            first_index_of[("key", key)] = i
        fresh.append(i)

    ids = allocate_ids(Touchpoint, len(fresh))
    contact_ids = {c for i in fresh for c in items[i].contact_ids}
    deal_ids = {d for i in fresh for d in items[i].deal_ids}
    fanout_deal_ids = {d for i in fresh if items[i].kind in rollup.FANS_OUT_TO_DEAL_CONTACTS for d in items[i].deal_ids}
    rollup.lock_relationships(contact_ids, deal_ids)
    ctx = rollup.RollupContext.load(contact_ids, deal_ids, fanout_deal_ids)

    now = timezone.now()
    actor_id = actor.id if actor is not None else None
    tp_rows = []
    link_rows = []
    latest: dict[tuple[str, int], tuple[datetime, str]] = {}
    # Sales Insights' marks for the rollup (insights.refresh).
    activity_days: list[tuple[int | None, datetime]] = []
    activity_deals: set[int] = set()
    for tp_id, i in zip(ids, fresh):
        item = items[i]
        status = item.status or default_status(item.kind)
        event_type = item.event_type or ("meeting" if item.kind == Kind.EVENT else None)
        shown = is_shown(item.kind, status)
        counts = counts_as_contact(item.kind, status)
        via = contact_via(item.kind, event_type) if counts else None
        tp_rows.append(
            (
                tp_id,
                item.kind,
                item.direction,
                status,
                item.occurred_at,
                now,
                item.duration_seconds,
                item.subject,
                item.summary,
                item.sentiment,
                item.emoticon,
                event_type,
                item.source,
                item.external_id,
                item.idempotency_key,
                item.owner_id if item.owner_id is not None else actor_id,
                actor_id,
            )
        )
        activity = insight_marks.is_activity(item.kind)
        if activity:
            activity_days.append((tp_rows[-1][15], item.occurred_at))
        for target, route in rollup.targets(
            item.kind, item.occurred_at, item.contact_ids, item.organization_ids, item.deal_ids, ctx
        ).items():
            link_rows.append(rollup.link_row(tp_id, target, route, item.occurred_at, item.kind, shown, counts))
            if activity and target[0] == "deal":
                activity_deals.add(target[1])
            if counts:
                current = latest.get(target)
                if current is None or item.occurred_at > current[0]:
                    latest[target] = (item.occurred_at, via)
        results[i].touchpoint_id = tp_id
        results[i].created = True
    for i, earlier in repeat_of.items():
        results[i].touchpoint_id = results[earlier].touchpoint_id

    insert_rows(Touchpoint, TOUCHPOINT_FIELDS, tp_rows)
    insert_rows(TouchpointLink, rollup.LINK_FIELDS, link_rows)
    _audit_created(actor, tp_rows)
    lastcontacted.advance(latest)
    insight_marks.mark_days(activity_days)
    insight_marks.mark_deals(activity_deals, with_days=False)
    workflow_triggers.touchpoints_logged(ids)  # new ones only: a repeat fires nothing
    return results


def _audit_created(actor: User | None, tp_rows: list[tuple]) -> None:
    """Audit entries for new touchpoints, one INSERT per batch. A derived
    touchpoint (an event's, a case's) is not audited twice: the entry of
    the event or case that made it says what happened. Without a user
    (provider webhooks) the entry names the source."""
    source_at = TOUCHPOINT_FIELDS.index("source")
    rows = [row for row in tp_rows if row[source_at] not in DERIVED_SOURCES]
    audit.log_created_rows(actor, "touchpoint", TOUCHPOINT_FIELDS, rows, via=lambda row: row[source_at])


def record_touchpoint(actor: User | None, item: NewTouchpoint) -> Recorded:
    """One touchpoint; raises Invalid instead of returning errors."""
    (result,) = record_touchpoints(actor, [item])
    if result.errors:
        raise Invalid(result.errors)
    return result


def keep_derived_touchpoint(touchpoint_id: int | None, new: NewTouchpoint, changes: dict) -> int:
    """For a row that owns one touchpoint (an event held, a case): record
    ``new`` the first time, afterwards apply ``changes`` to the same one.
    Trusted internal writers only (the row's own service checked it).
    Returns the touchpoint's id."""
    if touchpoint_id is None:
        return record_touchpoints(None, [new], checked=True)[0].touchpoint_id
    update_touchpoint(None, touchpoint_id, changes, checked=True)
    return touchpoint_id


# --- reads used by writers --------------------------------------------------------


def visible_touchpoints(user: User):
    """Touchpoints the user may see: all for admins and managers; for reps,
    those they or their team own, and those directly on a record they see."""
    qs = Touchpoint.objects.all()
    if user.sees_everything:
        return qs
    on_visible_record = (
        Q(contact_id__in=visible(Contact, user).values("id"))
        | Q(organization_id__in=visible(Organization, user).values("id"))
        | Q(deal_id__in=visible(Deal, user).values("id"))
    )
    linked = TouchpointLink.objects.filter(on_visible_record, path=LinkPath.DIRECT).values("touchpoint_id")
    return qs.filter((owner_condition(user) & Q(owner__isnull=False)) | Q(id__in=linked))


def get_visible_touchpoint(user: User, touchpoint_id: int) -> Touchpoint:
    tp = visible_touchpoints(user).filter(id=touchpoint_id).first()
    if tp is None:
        raise NotFound(f"touchpoint {touchpoint_id} not found")
    return tp


def direct_links_of(touchpoint_ids: list[int], viewer: User | None = None) -> dict[int, dict[str, list[int]]]:
    """The records each touchpoint names directly (one query for them all).
    With a ``viewer``, only the records they may see: a touchpoint seen
    through a shared organization does not reveal the ids of contacts the
    viewer cannot open."""
    out = {tp_id: {"contact_ids": [], "organization_ids": [], "deal_ids": []} for tp_id in touchpoint_ids}
    links = TouchpointLink.objects.filter(touchpoint_id__in=touchpoint_ids, path=LinkPath.DIRECT)
    if viewer is not None and not viewer.sees_everything:
        links = links.filter(
            Q(contact_id__in=visible(Contact, viewer).values("id"))
            | Q(organization_id__in=visible(Organization, viewer).values("id"))
            | Q(deal_id__in=visible(Deal, viewer).values("id"))
        )
    for tp_id, contact_id, organization_id, deal_id in links.order_by("id").values_list(
        "touchpoint_id", "contact_id", "organization_id", "deal_id"
    ):
        if contact_id:
            out[tp_id]["contact_ids"].append(contact_id)
        elif organization_id:
            out[tp_id]["organization_ids"].append(organization_id)
        else:
            out[tp_id]["deal_ids"].append(deal_id)
    return out


def direct_links(touchpoint_id: int) -> dict[str, list[int]]:
    return direct_links_of([touchpoint_id])[touchpoint_id]


# --- changes ------------------------------------------------------------------

EDITABLE_FIELDS = (
    "status",
    "direction",
    "occurred_at",
    "duration_seconds",
    "subject",
    "summary",
    "sentiment",
    "emoticon",
    "event_type",
    "owner_id",
)


def _linked_records(touchpoint_id: int) -> set[tuple[str, int]]:
    records = set()
    for org, contact, deal in TouchpointLink.objects.filter(touchpoint_id=touchpoint_id).values_list(
        "organization_id", "contact_id", "deal_id"
    ):
        records.add(("organization", org) if org else ("contact", contact) if contact else ("deal", deal))
    return records


def update_touchpoint(actor: User | None, touchpoint_id: int, changes: dict, *, checked: bool = False) -> Touchpoint:
    """Change a touchpoint's fields and/or its direct links.

    Links are re-derived from the new direct set with today's
    relationships; the link copies of occurred_at/kind/shown/counts are kept
    in step; Last Contacted is recomputed for every record the touchpoint
    was or is on, since it may have stopped counting or moved in time.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS) - {a for a, _ in LINK_ARGUMENTS}
    if unknown:
        raise Invalid([error((name,), "cannot be changed") for name in sorted(unknown)])
    with transaction.atomic():
        tp = _locked_for_change(actor, touchpoint_id, checked)
        new_links = {a: changes[a] for a, _ in LINK_ARGUMENTS if a in changes and changes[a] is not None}
        if not checked and "owner_id" in changes and changes["owner_id"] != tp.owner_id and not _may_delete(actor, tp):
            raise Forbidden("only the owner, an admin or a manager may reassign this touchpoint")
        if not checked:
            errors = check_kind_fields(tp.kind, changes.get("status"), changes.get("event_type"))
            if new_links or changes.get("owner_id"):
                probe = NewTouchpoint(kind=tp.kind, occurred_at=tp.occurred_at, owner_id=changes.get("owner_id"), **new_links)
                errors += check_new_touchpoints(actor, [probe])[0]
            if errors:
                raise Invalid(errors)
        occurred_before = tp.occurred_at
        # A user's edit is audited; a system's (a delivery report, an
        # event keeping its touchpoint in step: ``checked``) is not — the
        # provider's event log or the event's own entry records it.
        audit_before = None if checked else audit.snapshot("touchpoint", tp)
        insight_marks.mark_touchpoints([tp.id])  # its cells before the change
        for name in EDITABLE_FIELDS:
            # null for a field that cannot be empty leaves it unchanged
            if name in changes and (changes[name] is not None or Touchpoint._meta.get_field(name.removesuffix("_id")).null):
                setattr(tp, name, changes[name])
        tp.save()
        before = _linked_records(tp.id)
        shown = is_shown(tp.kind, tp.status)
        counts = counts_as_contact(tp.kind, tp.status)
        # New direct links, or a new time (which can move the touchpoint in
        # or out of a deal's open window), re-derive the rolled-up links.
        moved = tp.occurred_at != occurred_before
        current = direct_links(tp.id) if new_links or moved else {}
        changed_links = {a: v for a, v in new_links.items() if sorted(set(v)) != sorted(current[a])}
        if changed_links or moved:
            # A contact's organization is the one it had when the touchpoint
            # was first recorded, not today's (history stays where it
            # happened, touchpoints.rollup).
            organization_then = dict(
                TouchpointLink.objects.filter(touchpoint_id=tp.id, path=LinkPath.CONTACT, organization__isnull=False).values_list(
                    "via_contact_id", "organization_id"
                )
            )
            current.update(changed_links)
            TouchpointLink.objects.filter(touchpoint_id=tp.id).delete()
            rollup.lock_relationships(set(current["contact_ids"]), set(current["deal_ids"]))
            ctx = rollup.RollupContext.load(
                set(current["contact_ids"]),
                set(current["deal_ids"]),
                set(current["deal_ids"]) if tp.kind in rollup.FANS_OUT_TO_DEAL_CONTACTS else set(),
            )
            ctx.contact_org.update({c: o for c, o in organization_then.items() if c in ctx.contact_org})
            rows = [
                rollup.link_row(tp.id, target, route, tp.occurred_at, tp.kind, shown, counts)
                for target, route in rollup.targets(
                    tp.kind, tp.occurred_at, current["contact_ids"], current["organization_ids"], current["deal_ids"], ctx
                ).items()
            ]
            insert_rows(TouchpointLink, rollup.LINK_FIELDS, rows)
        else:
            TouchpointLink.objects.filter(touchpoint_id=tp.id).update(occurred_at=tp.occurred_at, shown=shown, counts=counts)
        lastcontacted.recompute(before | _linked_records(tp.id))
        insight_marks.mark_touchpoints([tp.id])  # and after it
        if audit_before is not None:
            audit.log_updated(actor, "touchpoint", tp, audit_before, via=tp.source)
    return tp


def set_statuses(statuses: dict[int, str], durations: dict[int, int | None] | None = None) -> None:
    """Bring touchpoints to new statuses (and durations), as provider
    callbacks report them. A change that keeps both what shows and what
    counts is a bulk UPDATE of the touchpoint rows (links copy only shown
    and counts, which stay); one that changes either (a dispatched SMS that
    fails) goes through update_touchpoint, which recomputes Last Contacted.
    Callers have already decided the new status is not a step back."""
    if not statuses:
        return
    durations = durations or {}
    same: dict[str, list[int]] = {}
    for tp_id, kind, status, duration in Touchpoint.objects.filter(id__in=statuses).values_list(
        "id", "kind", "status", "duration_seconds"
    ):
        new, new_duration = statuses[tp_id], durations.get(tp_id)
        if new_duration is not None and new_duration != duration:
            Touchpoint.objects.filter(id=tp_id).update(duration_seconds=new_duration)
            insight_marks.mark_touchpoints([tp_id])
        if new == status:
            continue
        if is_shown(kind, status) == is_shown(kind, new) and counts_as_contact(kind, status) == counts_as_contact(kind, new):
            same.setdefault(new, []).append(tp_id)
        else:
            update_touchpoint(None, tp_id, {"status": new}, checked=True)
    for new, ids in same.items():
        Touchpoint.objects.filter(id__in=ids).update(status=new)
        insight_marks.mark_touchpoints(ids)


def delete_touchpoint(actor: User | None, touchpoint_id: int, *, checked: bool = False) -> None:
    with transaction.atomic():
        tp = _locked_for_change(actor, touchpoint_id, checked)
        if not checked and not _may_delete(actor, tp):
            raise Forbidden("only the owner, an admin or a manager may delete this touchpoint")
        records = _linked_records(tp.id)
        insight_marks.mark_touchpoints([tp.id])
        if not checked:
            audit.log_deleted(actor, "touchpoint", tp, via=tp.source)
        tp.delete()
        lastcontacted.recompute(records)


def _may_delete(actor: User, tp: Touchpoint) -> bool:
    return can_delete(actor, tp) or actor.id == tp.created_by_id


def _locked_for_change(actor: User | None, touchpoint_id: int, checked: bool) -> Touchpoint:
    """The touchpoint, locked, if the actor may change it.

    Seeing a touchpoint (through any record it is on) is not enough to
    change it: that takes its owner's team, its creator, or an admin or
    manager — otherwise whoever a single organization is shared with could
    unlink a contact they cannot see. A touchpoint that an event became is
    changed through the event (activities.services), which keeps the two
    in step.
    """
    tp = Touchpoint.objects.select_for_update(of=("self",)).filter(id=touchpoint_id).first()
    if tp is None or not (checked or actor is None or visible_touchpoints(actor).filter(id=tp.id).exists()):
        raise NotFound(f"touchpoint {touchpoint_id} not found")
    if checked or actor is None:
        return tp
    if not (actor.sees_everything or actor.id == tp.created_by_id or owned_by_team_of(actor, tp.owner_id)):
        raise Forbidden("only the owner's team, an admin or a manager may change this touchpoint")
    if tp.source in DERIVED_SOURCES and (tp.source not in DERIVED_OWNER or hasattr(tp, DERIVED_OWNER[tp.source])):
        raise Conflict(DERIVED_SOURCES[tp.source])
    return tp
