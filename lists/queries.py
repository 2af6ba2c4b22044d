"""Reads of custom lists: which lists a user may use, and the records a
list shows them.

Who may see a list: its owner, the users and teams it is shared with,
everyone when it is shared with everyone, and admins (all of them). Who may
change or delete it: its owner and admins. Managers see every record but
not every list: a list is someone's view, not a record.

The records a list shows are always only those the viewer may see
(crm.permissions.visible), filtered by the list's tree as the viewer would
judge it: "today" in the viewer's time zone, "me" the viewer. So a list
shared with everyone shows each person their own part of the CRM.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from accounts.models import Role, Team, User
from automation.conditions import MODELS, RECORD_TYPES, annotate_counts, describe, filter_records, viewer_context
from config.db import replica_alias
from config.errors import NotFound
from config.pagination import Page, after_in_walk, keyset_page, sort_walks, sorted_page
from crm.permissions import visible
from crm.queries import with_organization_visible
from lists.columns import COLUMNS, DEFAULT_SORT, OWNER_KEYS, Column, columns_of
from lists.models import ListShare, SavedList

LIST_ORDER = ("name", "id")
# Rows per query of the CSV export: big enough that 1M rows are a few
# hundred index range scans, small enough to stay a few MB of Python.
EXPORT_CHUNK = 2000
INDEX_LIMIT = 300


def is_list_admin(user: User) -> bool:
    return user.role == Role.ADMIN or user.is_superuser


def can_edit(user: User, saved_list: SavedList) -> bool:
    return is_list_admin(user) or (saved_list.owner_id is not None and saved_list.owner_id == user.id)


def visible_lists(user: User) -> QuerySet:
    qs = SavedList.objects.all()
    if is_list_admin(user):
        return qs
    to_me = Q(user_id=user.id)
    if user.team_id is not None:
        to_me |= Q(team_id=user.team_id)
    shared = ListShare.objects.filter(to_me, saved_list_id=OuterRef("pk"))
    return qs.filter(Q(owner_id=user.id) | Q(shared_with_everyone=True) | Q(Exists(shared)))


def get_visible_list(user: User, list_id: int, *, for_update: bool = False, with_owner: bool = False) -> SavedList:
    """The list if the user may see it; 404 otherwise (hidden and missing
    lists answer alike)."""
    qs = visible_lists(user)
    if with_owner:
        qs = qs.select_related("owner")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    saved_list = qs.filter(id=list_id).first()
    if saved_list is None:
        raise NotFound(f"list {list_id} not found")
    return saved_list


def lists_page(user: User, record_type: str | None, cursor: str | None, limit: int) -> Page:
    """Lists the user may use, by name."""
    qs = visible_lists(user)
    if record_type:
        qs = qs.filter(record_type=record_type)
    return keyset_page(qs.prefetch_related("shares"), LIST_ORDER, cursor, limit)


def index_lists(user: User, limit: int = INDEX_LIMIT) -> dict[str, dict[str, list[SavedList]]]:
    """The lists page: per record type, the user's own lists and the ones
    others made that the user may use (shared, or every list for admins),
    by name; at most ``limit`` in all (the API pages through any number)."""
    qs = visible_lists(user).select_related("owner").order_by("record_type", "name", "id")[:limit]
    grouped: dict[str, dict[str, list[SavedList]]] = {rt: {"mine": [], "others": []} for rt in RECORD_TYPES}
    for saved_list in qs:
        grouped[saved_list.record_type]["mine" if saved_list.owner_id == user.id else "others"].append(saved_list)
    return grouped


def share_choices(user: User) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Whom the list form offers to share with: every active user but the
    user, and every team."""
    users = User.objects.filter(is_active=True).exclude(id=user.id).order_by("first_name", "last_name", "username")
    people = [(u.id, u.get_full_name() or u.username) for u in users.only("id", "first_name", "last_name", "username")]
    return people, list(Team.objects.order_by("name").values_list("id", "name"))


def shared_ids(saved_list: SavedList) -> tuple[list[int], list[int]]:
    """(user ids, team ids) it is shared with, from the prefetched shares."""
    shares = list(saved_list.shares.all())
    return sorted(s.user_id for s in shares if s.user_id), sorted(s.team_id for s in shares if s.team_id)


def list_out(user: User, saved_list: SavedList) -> dict:
    user_ids, team_ids = shared_ids(saved_list)
    return {
        **{f: getattr(saved_list, f) for f in ("id", "name", "record_type", "conditions", "columns", "sort", "owner_id", "shared_with_everyone")},
        "description": describe(saved_list.record_type, saved_list.conditions or {"all": []}),
        "shared_user_ids": user_ids,
        "shared_team_ids": team_ids,
        "can_edit": can_edit(user, saved_list),
        "created_at": saved_list.created_at,
        "updated_at": saved_list.updated_at,
    }


# --- the records of a list --------------------------------------------------------------


def records_queryset(user: User, saved_list: SavedList, now: datetime | None = None) -> tuple[QuerySet, list[Column]]:
    """What the list shows the user, unordered, with the columns it shows.

    Annotations (counts, names through relations, the owner's name, whether
    the organization may be opened) are added only for the columns shown
    and the conditions that need them: each one is a join or a correlated
    subquery per row."""
    record_type = saved_list.record_type
    columns = columns_of(record_type, saved_list.columns)
    ctx = viewer_context(user, now)
    qs = filter_records(visible(MODELS[record_type], user), record_type, saved_list.conditions or {"all": []}, ctx)
    qs = annotate_counts(qs, record_type, {c.name for c in columns if c.count} - ctx.counts_needed)
    annotations = {c.key: c.expression() for c in columns if c.expression is not None}
    if any(c.name == "owner" for c in columns):
        annotations |= {key: F(path) for key, path in OWNER_KEYS.items()}
    if any(c.name == "organization_name" for c in columns):
        qs = with_organization_visible(qs, user)
    # The heavy read of a list: from the read replica when there is one.
    return qs.annotate(**annotations).using(replica_alias()), columns


def sort_of(saved_list: SavedList) -> tuple[str, bool]:
    """(the column sorted_page orders by, descending)."""
    descending = saved_list.sort.startswith("-")
    column = COLUMNS[saved_list.record_type].get(saved_list.sort.lstrip("-"))
    if column is None or column.sort_column is None:  # a sort key a later release dropped
        descending, column = DEFAULT_SORT.startswith("-"), COLUMNS[saved_list.record_type][DEFAULT_SORT.lstrip("-")]
    return column.sort_column, descending


def records_page(user: User, saved_list: SavedList, cursor: str | None, limit: int) -> tuple[Page, list[Column]]:
    """One page of the list's records in its sort order (empty values last,
    then by id), as model instances carrying the columns' annotations."""
    qs, columns = records_queryset(user, saved_list)
    column, descending = sort_of(saved_list)
    return sorted_page(qs, f"-{column}" if descending else column, cursor, limit), columns


def row_keys(columns: list[Column]) -> list[str]:
    keys = ["id", *(c.key for c in columns)]
    if any(c.name == "owner" for c in columns):
        keys += list(OWNER_KEYS)
    if any(c.name == "organization_name" for c in columns):
        keys.append("organization_visible")
    return list(dict.fromkeys(keys))


def export_rows(user: User, saved_list: SavedList, chunk: int = EXPORT_CHUNK) -> tuple[list[Column], Iterator[dict]]:
    """The columns and every row of the list (dicts of ``row_keys``), read
    lazily in keyset chunks of ``chunk`` rows: memory stays one chunk
    whatever the size of the list, and no query holds a cursor or a
    transaction open while the client downloads."""
    qs, columns = records_queryset(user, saved_list)
    name, descending = sort_of(saved_list)
    keys = list(dict.fromkeys([*row_keys(columns), name]))
    at_sort, at_id = keys.index(name), keys.index("id")
    phases = sort_walks(name, descending, qs.model._meta.get_field(name).null)

    def rows() -> Iterator[dict]:
        for number, (where, order) in enumerate(phases):
            by_value = number == 0
            last = None
            while True:
                page = qs.filter(where)
                if last is not None:
                    page = page.filter(after_in_walk(name if by_value else None, descending, last))
                # Tuples while held (a dict per row would double a chunk's size).
                batch = list(page.order_by(*order).values_list(*keys)[:chunk])
                for values in batch:
                    yield dict(zip(keys, values))
                if len(batch) < chunk:
                    break
                last = (batch[-1][at_sort], batch[-1][at_id])
                del batch

    return columns, rows()
