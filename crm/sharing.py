"""Sharing a record (organization, contact, deal) with a user or a team.

A ``crm.Share`` row makes a record visible to a user, or to every member of
a team, beyond its owner's team (crm.permissions.share_condition). The REST
API (crm.api_shares) and the record page's "Shared with" card
(crm.share_views) both go through the check_*/do_* functions here.

Rules (docs/decisions.md, "Sharing"):
- Who may share and take a share back: admins and managers, and the reps
  whose team owns the record (its owner and the owner's teammates). Someone
  a record was shared with sees and edits it but may not pass it on, nor
  take anyone's access away: otherwise a share could spread without the
  owning team knowing. An unassigned record is already everyone's, so only
  admins and managers manage its shares (they matter once it gets an owner).
- Who may see a record's shares: whoever may see the record (it tells them
  who else works on it, nothing more).
- A share names exactly one active user or one team. Sharing again with
  the same user or team returns the existing share (a repeat is harmless,
  so a retried request cannot pile up rows).
- Taking a share back removes that row only: the user may still see the
  record through their team, another share, or ownership.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from accounts.models import Team, User
from config.errors import Forbidden, Invalid, NotFound
from config.pagination import Page, keyset_page
from crm.models import Share
from crm.permissions import MODEL_OF, get_visible, owned_by_team_of

SHARE_ORDER = ("id",)


def can_manage_shares(actor: User, record) -> bool:
    """Admins and managers, or the owner's team (see the module docstring)."""
    return actor.sees_everything or owned_by_team_of(actor, record.owner_id)


def check_can_manage_shares(actor: User, record) -> None:
    if not can_manage_shares(actor, record):
        name = record._meta.verbose_name
        raise Forbidden(f"only the {name}'s owner, their teammates, an admin or a manager may change who it is shared with")


def record_shares(record_type: str, record_id: int) -> QuerySet:
    return Share.objects.filter(record_type=record_type, record_id=record_id).select_related("user", "team")


def list_shares(viewer: User, record_type: str, record_id: int, cursor: str | None, limit: int) -> Page:
    """The record's shares, oldest first; 404 if the viewer may not see the record."""
    get_visible(MODEL_OF[record_type], viewer, record_id)
    return keyset_page(record_shares(record_type, record_id), SHARE_ORDER, cursor, limit)


def check_share_target(user_id: int | None, team_id: int | None) -> tuple[User | None, Team | None]:
    """Exactly one of an active user or a team; a 422 names the field."""
    if (user_id is None) == (team_id is None):
        raise Invalid.field(("user_id",), "give exactly one of user_id or team_id")
    if user_id is not None:
        user = User.objects.filter(id=user_id, is_active=True).first()
        if user is None:
            raise Invalid.field(("user_id",), f"user {user_id} not found")
        return user, None
    team = Team.objects.filter(id=team_id).first()
    if team is None:
        raise Invalid.field(("team_id",), f"team {team_id} not found")
    return None, team


@transaction.atomic
def do_share(actor: User, record_type: str, record_id: int, *, user_id: int | None = None, team_id: int | None = None) -> tuple[Share, bool]:
    """Share the record with a user or a team. Returns (share, created):
    an existing share with the same user or team comes back unchanged.

    The record row is locked first so two identical requests at once make
    one row (share_user_uniq and share_team_uniq back that up)."""
    record = get_visible(MODEL_OF[record_type], actor, record_id, for_update=True)
    check_can_manage_shares(actor, record)
    user, team = check_share_target(user_id, team_id)
    target = {"user": user} if user is not None else {"team": team}
    existing = Share.objects.filter(record_type=record_type, record_id=record.id, **target).order_by("id").first()
    if existing is not None:
        return existing, False
    return Share.objects.create(record_type=record_type, record_id=record.id, **target), True


@transaction.atomic
def do_unshare(actor: User, record_type: str, record_id: int, share_id: int) -> None:
    """Take a share back. 404 when the viewer may not see the record or the
    share is not one of this record's."""
    record = get_visible(MODEL_OF[record_type], actor, record_id, for_update=True)
    share = Share.objects.filter(id=share_id, record_type=record_type, record_id=record.id).first()
    if share is None:
        raise NotFound(f"share {share_id} not found")
    check_can_manage_shares(actor, record)
    share.delete()


def share_out(share: Share) -> dict:
    return {
        "id": share.id,
        "record_type": share.record_type,
        "record_id": share.record_id,
        "user_id": share.user_id,
        "team_id": share.team_id,
        "name": share.user.username if share.user_id else share.team.name,
    }


def share_target_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The record page's "Share with" picker: teams, then active users, as
    ("team:ID" | "user:ID", name) in two groups. Two queries."""
    teams = [(f"team:{team_id}", name) for team_id, name in Team.objects.order_by("name").values_list("id", "name")]
    users = [(f"user:{user_id}", name) for user_id, name in User.objects.filter(is_active=True).order_by("username").values_list("id", "username")]
    return [("Teams", teams), ("Users", users)]
