"""Reads for tokens and IP restrictions."""
from __future__ import annotations

from accounts.models import ApiToken, Team, User
from accounts.services import check_admin, is_admin
from config.errors import Forbidden, NotFound
from config.pagination import Page, keyset_page


def tokens_page(viewer: User, user_id: int | None, cursor: str | None, limit: int) -> Page:
    """The viewer's own tokens, newest first; an admin may ask for another
    user's (to find the one to revoke)."""
    owner_id = user_id or viewer.id
    if owner_id != viewer.id and not is_admin(viewer):
        raise Forbidden("only an admin may list another user's tokens")
    return keyset_page(ApiToken.objects.filter(user_id=owner_id), ("-id",), cursor, limit)


def user_for_admin(viewer: User, user_id: int) -> User:
    check_admin(viewer)  # before the lookup: a non-admin learns nothing about which users exist
    user = User.objects.select_related("team").filter(id=user_id).first()
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def team_for_admin(viewer: User, team_id: int) -> Team:
    check_admin(viewer)
    team = Team.objects.filter(id=team_id).first()
    if team is None:
        raise NotFound(f"team {team_id} not found")
    return team
