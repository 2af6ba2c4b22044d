"""Who may see which record.

Admins and managers see everything. A sales rep sees records they own,
records owned by their team, records shared with them or their team, and
unassigned records (no owner: company-wide, as in Vtiger's "everyone"
sharing). Everything else is invisible: the API answers 404, not 403, so an
outsider cannot even learn that a record exists.
"""
from __future__ import annotations

from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from accounts.models import User
from config.errors import Forbidden, Invalid, NotFound
from crm.models import Contact, Deal, Organization, Share

RECORD_TYPE_OF = {Organization: "organization", Contact: "contact", Deal: "deal"}
MODEL_OF = {record_type: model for model, record_type in RECORD_TYPE_OF.items()}


def owner_condition(user: User, owner_field: str = "owner") -> Q:
    condition = Q(**{f"{owner_field}_id": user.id}) | Q(**{f"{owner_field}__isnull": True})
    if user.team_id is not None:
        condition |= Q(**{f"{owner_field}__team_id": user.team_id})
    return condition


def share_condition(user: User, record_type: str, ref: str = "pk") -> Q:
    """The record (``ref``: the outer query's column holding its id) is
    shared with the user or their team."""
    to_me = Q(user_id=user.id)
    if user.team_id is not None:
        to_me |= Q(team_id=user.team_id)
    shared = Share.objects.filter(to_me, record_type=record_type, record_id=OuterRef(ref))
    return Q(Exists(shared))


def visible(model: type[Model], user: User) -> QuerySet:
    qs = model.objects.all()
    if user.sees_everything:
        return qs
    return qs.filter(owner_condition(user) | share_condition(user, RECORD_TYPE_OF[model]))


def owned_by_team_of(user: User, owner_id: int | None) -> bool:
    """The owner is the user or a teammate (an unassigned row is nobody's
    team's). What changing a row takes beyond seeing it (touchpoints,
    documents, a contact's portal access)."""
    if owner_id is None:
        return False
    return owner_id == user.id or (user.team_id is not None and User.objects.filter(id=owner_id, team_id=user.team_id).exists())


def can_delete(user: User, record) -> bool:
    """Reps delete only what they own; admins and managers anything they see."""
    return user.sees_everything or record.owner_id == user.id


def check_can_reassign(actor: User, record) -> None:
    """Only who may delete a record may give it away: otherwise a teammate
    could make a record theirs and then delete it."""
    if not can_delete(actor, record):
        raise Forbidden(f"only the owner, an admin or a manager may reassign this {record._meta.verbose_name}")


def assignable_users(actor: User) -> QuerySet:
    """Whom the actor may make owner of a record: anyone active for admins
    and managers, themselves and teammates for reps."""
    users = User.objects.filter(is_active=True)
    if not actor.sees_everything:
        users = users.filter(Q(id=actor.id) | (Q(team_id=actor.team_id) if actor.team_id else Q(pk__in=[])))
    return users


def assignable_owner_ids(actor: User, owner_ids: set[int]) -> set[int]:
    """Which of ``owner_ids`` the actor may make owner of a record."""
    return set(assignable_users(actor).filter(id__in=owner_ids).values_list("id", flat=True))


def check_owner(actor: User, owner_id: int | None) -> int:
    """The owner a new record gets: the actor unless another assignable user is named."""
    if owner_id is None or owner_id == actor.id:
        return actor.id
    if owner_id not in assignable_owner_ids(actor, {owner_id}):
        raise Invalid.field(("owner_id",), f"user {owner_id} not found or not assignable by you")
    return owner_id


def get_visible(model: type[Model], user: User, record_id: int, *, loc: tuple | None = None, for_update: bool = False):
    """The record if the user may see it. Without ``loc`` a miss is a 404;
    with it, a 422 naming that field (a reference inside a request body)."""
    qs = visible(model, user)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    record = qs.filter(id=record_id).first()
    if record is None:
        name = model._meta.verbose_name
        if loc is None:
            raise NotFound(f"{name} {record_id} not found")
        raise Invalid.field(loc, f"{name} {record_id} not found")
    return record
