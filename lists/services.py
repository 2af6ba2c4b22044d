"""Every write of custom lists: create, change, share, delete.

``check_list`` validates a whole list (the tree with the condition engine's
own check, the columns, the sort, whom it is shared with) and answers one
422 naming every bad field by its place (``conditions.all.0.value``,
``columns.2``, ``sort``, ``shared_user_ids.1``). Only the list's owner and
admins change or delete it; whoever it is shared with uses it.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import Team, User
from automation.conditions import RECORD_TYPES, check_tree
from config.errors import Forbidden, Invalid, error
from lists.columns import COLUMNS, DEFAULT_COLUMNS, DEFAULT_SORT, MAX_COLUMNS, sort_keys
from lists.models import ListShare, SavedList
from lists.queries import can_edit, get_visible_list

MAX_NAME = 200
MAX_SHARES = 100


def _storable(value: Any, loc: tuple, errors: list) -> None:
    """Text inside the tree must be storable as JSON on PostgreSQL, which
    refuses NUL characters and lone surrogates in jsonb (the engine checks
    types and lengths, not this)."""
    if isinstance(value, str):
        if "\x00" in value:
            errors.append(error(loc, "must not contain NUL characters"))
        else:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                errors.append(error(loc, "must be valid Unicode text"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _storable(item, (*loc, i), errors)
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(item, (*loc, key), errors)


def _check_columns(record_type: str, columns: Any, errors: list) -> list[str]:
    catalogue = COLUMNS[record_type]
    if not isinstance(columns, list) or not columns:
        errors.append(error(("columns",), "must list at least one column"))
        return []
    if len(columns) > MAX_COLUMNS:
        errors.append(error(("columns",), f"at most {MAX_COLUMNS} columns"))
        return []
    seen: list[str] = []
    for i, name in enumerate(columns):
        if name not in catalogue:
            errors.append(error(("columns", i), f"must be one of the {record_type} columns: {', '.join(catalogue)}"))
        elif name in seen:
            errors.append(error(("columns", i), f"{name} is listed twice"))
        else:
            seen.append(name)
    return seen


def _check_sort(record_type: str, sort: Any, errors: list) -> str:
    keys = [c.name for c in sort_keys(record_type)]
    name = sort[1:] if isinstance(sort, str) and sort.startswith("-") else sort
    if name not in keys:
        errors.append(error(("sort",), f"must be one of {', '.join(keys)}, with '-' first for descending"))
        return DEFAULT_SORT
    return sort


def _check_ids(model, ids: list[int], loc: str, errors: list, skip: int | None = None, **filters) -> list[int]:
    """The ids that exist (and match ``filters``), once each, without
    ``skip``; each missing one is an error at its place in the request."""
    if len(ids) > MAX_SHARES:
        errors.append(error((loc,), f"at most {MAX_SHARES}"))
        return []
    found = set(model.objects.filter(id__in=ids, **filters).values_list("id", flat=True))
    name = model._meta.verbose_name
    for i, value in enumerate(ids):
        if value not in found and value != skip:
            errors.append(error((loc, i), f"{name} {value} not found"))
    return [i for i in dict.fromkeys(ids) if i in found and i != skip]


def check_list(actor: User, data: dict, current: SavedList | None = None) -> dict:
    """The list's fields normalized, from ``data`` over ``current`` (a
    change gives only what it changes), or ``Invalid`` naming each bad one."""
    errors: list[dict] = []
    record_type = current.record_type if current is not None else data.get("record_type")
    if record_type not in RECORD_TYPES:
        raise Invalid.field(("record_type",), f"must be one of {', '.join(RECORD_TYPES)}")
    out: dict[str, Any] = {}
    if current is None or data.get("name") is not None:
        name = (data.get("name") or "").strip()
        if not name or len(name) > MAX_NAME:
            errors.append(error(("name",), f"must be 1 to {MAX_NAME} characters"))
        out["name"] = name
    if current is None or data.get("conditions") is not None:
        try:
            out["conditions"] = check_tree(record_type, data.get("conditions"))
            _storable(out["conditions"], ("conditions",), errors)
        except Invalid as exc:
            errors.extend(exc.errors)
    if current is None or data.get("columns") is not None:
        columns = data.get("columns")
        out["columns"] = _check_columns(record_type, DEFAULT_COLUMNS[record_type] if columns is None else columns, errors)
    if current is None or data.get("sort") is not None:
        out["sort"] = _check_sort(record_type, data.get("sort") or DEFAULT_SORT, errors)
    if data.get("shared_with_everyone") is not None:
        out["shared_with_everyone"] = bool(data["shared_with_everyone"])
    if data.get("shared_user_ids") is not None:
        # Sharing with the owner adds nothing: the owner always sees the list.
        owner_id = current.owner_id if current is not None else actor.id
        out["shared_user_ids"] = _check_ids(User, data["shared_user_ids"], "shared_user_ids", errors, skip=owner_id, is_active=True)
    if data.get("shared_team_ids") is not None:
        out["shared_team_ids"] = _check_ids(Team, data["shared_team_ids"], "shared_team_ids", errors)
    if errors:
        raise Invalid(errors)
    return out


def _set_shares(saved_list: SavedList, data: dict) -> None:
    """Replace the user and team shares with the ones given (each set only
    when given)."""
    for key, column in (("shared_user_ids", "user_id"), ("shared_team_ids", "team_id")):
        if key not in data:
            continue
        wanted = set(data[key])
        current = set(ListShare.objects.filter(saved_list=saved_list, **{f"{column}__isnull": False}).values_list(column, flat=True))
        ListShare.objects.filter(saved_list=saved_list, **{f"{column}__in": current - wanted}).delete()
        ListShare.objects.bulk_create([ListShare(saved_list=saved_list, **{column: i}) for i in sorted(wanted - current)])


LIST_FIELDS = ("name", "conditions", "columns", "sort", "shared_with_everyone")


@transaction.atomic
def do_create_list(actor: User, data: dict) -> SavedList:
    checked = check_list(actor, data)
    saved_list = SavedList(record_type=data["record_type"], owner=actor, **{k: checked[k] for k in LIST_FIELDS if k in checked})
    saved_list.save()
    _set_shares(saved_list, checked)
    return saved_list


def check_can_edit(actor: User, saved_list: SavedList) -> None:
    if not can_edit(actor, saved_list):
        raise Forbidden("only the list's owner or an admin may change this list")


@transaction.atomic
def do_update_list(actor: User, list_id: int, data: dict) -> SavedList:
    # Locked so two saves of the shares do not interleave (each replaces the set).
    saved_list = get_visible_list(actor, list_id, for_update=True)
    check_can_edit(actor, saved_list)
    checked = check_list(actor, data, current=saved_list)
    changed = [k for k in LIST_FIELDS if k in checked]
    for name in changed:
        setattr(saved_list, name, checked[name])
    saved_list.save(update_fields=[*changed, "updated_at"])
    _set_shares(saved_list, checked)
    return saved_list


@transaction.atomic
def do_delete_list(actor: User, list_id: int) -> None:
    saved_list = get_visible_list(actor, list_id, for_update=True)
    check_can_edit(actor, saved_list)
    saved_list.delete()
