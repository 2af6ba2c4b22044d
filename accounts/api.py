"""GET /me: who the token belongs to, and the time zone "today" is judged in.
PATCH /me: the caller's own phone (what click-to-call rings first).
/tokens: the caller's API tokens (list, create, revoke).
/users/{id}/allowed-ips, /teams/{id}/allowed-ips: IP restriction (admins).
Rules and decisions: docs/security.md."""
from __future__ import annotations

from ninja import Query, Router, Schema, Status

from accounts import network, queries
from accounts.models import ApiToken
from accounts.schemas import AllowedIpsIn, TeamAllowedIpsOut, TokenCreated, TokenIn, TokenPage, UserAllowedIpsOut
from accounts.services import do_create_token, do_revoke_token, do_set_my_phone, do_set_team_allowed_ips, do_set_user_allowed_ips
from config.schemas import Cursor, Id, InputSchema, Limit, Message, RecordId, Text, responses

router = Router(tags=["me"])


class MeOut(Schema):
    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    role: str
    team: str | None
    time_zone: str
    phone: str


class MePatch(InputSchema):
    phone: Text(32) | None = None


def _me(user) -> dict:
    return {
        **{f: getattr(user, f) for f in ("id", "username", "first_name", "last_name", "email", "role", "time_zone", "phone")},
        "team": user.team.name if user.team_id else None,
    }


@router.get("/me", response=responses({200: MeOut}))
def me(request):
    return _me(request.auth)


@router.patch("/me", response=responses({200: MeOut}))
def update_me(request, payload: MePatch):
    """Set (or clear, with "") your phone number, stored as E.164."""
    if payload.phone is not None:
        do_set_my_phone(request.auth, payload.phone)
    return _me(request.auth)


# --- API tokens ------------------------------------------------------------------------------


def _token(token: ApiToken, raw: str | None = None) -> dict:
    out = {
        **{f: getattr(token, f) for f in ("id", "user_id", "name", "scope", "hint", "created_at", "expires_at", "last_used_at", "revoked_at")},
        "revoked": token.revoked_at is not None,
    }
    return {**out, "token": raw} if raw is not None else out


@router.get("/tokens", response=responses({200: TokenPage}), tags=["tokens"])
def list_tokens(request, user_id: Query[Id | None] = None, cursor: Cursor = None, limit: Limit = 50):
    """Your API tokens, newest first, revoked and expired ones included (never
    the token itself: only its hint). Admins may pass ``user_id``."""
    page = queries.tokens_page(request.auth, user_id, cursor, limit)
    return {"items": [_token(t) for t in page.items], "next_cursor": page.next_cursor}


@router.post("/tokens", response=responses({201: TokenCreated, 429: Message}), tags=["tokens"])
def create_token(request, payload: TokenIn):
    """A new token of yours; ``token`` in the answer is the only time it is
    shown. ``scope``: read (GET only) or write. ``expires_in_days`` or
    ``expires_at`` (none: never expires). Made with a token, the new one may
    not be wider or outlive it. Rate-limited per user (429, Retry-After)."""
    token, raw = do_create_token(
        request.auth,
        name=payload.name,
        scope=payload.scope,
        expires_in_days=payload.expires_in_days,
        expires_at=payload.expires_at,
        via=getattr(request, "api_token", None),
        ip=network.client_ip(request),
    )
    return Status(201, _token(token, raw))


@router.delete("/tokens/{token_id}", response=responses({204: None}), tags=["tokens"])
def revoke_token(request, token_id: RecordId):
    """Revoke a token of yours (admins: anyone's). It answers 401 from then on."""
    do_revoke_token(request.auth, token_id)
    return Status(204, None)


# --- IP-based restriction (admins) -----------------------------------------------------------


def _user_ranges(user) -> dict:
    return {"user_id": user.id, "allowed_ips": list(user.allowed_ips), "effective": network.effective_ranges(user)}


@router.get("/users/{user_id}/allowed-ips", response=responses({200: UserAllowedIpsOut}), tags=["ip restriction"])
def get_user_allowed_ips(request, user_id: RecordId):
    """A user's own ranges and the ones in effect (their own, else their team's)."""
    return _user_ranges(queries.user_for_admin(request.auth, user_id))


@router.put("/users/{user_id}/allowed-ips", response=responses({200: UserAllowedIpsOut}), tags=["ip restriction"])
def put_user_allowed_ips(request, user_id: RecordId, payload: AllowedIpsIn):
    """Set a user's CIDR ranges (IPv4 or IPv6; [] = their team's, or anywhere).
    Sign-in, pages and the API from elsewhere answer 403. A change that would
    refuse your own current address is refused (422)."""
    user = queries.user_for_admin(request.auth, user_id)
    do_set_user_allowed_ips(request.auth, user, payload.allowed_ips, ip=network.client_ip(request))
    return _user_ranges(user)


@router.get("/teams/{team_id}/allowed-ips", response=responses({200: TeamAllowedIpsOut}), tags=["ip restriction"])
def get_team_allowed_ips(request, team_id: RecordId):
    team = queries.team_for_admin(request.auth, team_id)
    return {"team_id": team.id, "allowed_ips": list(team.allowed_ips)}


@router.put("/teams/{team_id}/allowed-ips", response=responses({200: TeamAllowedIpsOut}), tags=["ip restriction"])
def put_team_allowed_ips(request, team_id: RecordId, payload: AllowedIpsIn):
    """Set a team's ranges: they apply to members without ranges of their own."""
    team = queries.team_for_admin(request.auth, team_id)
    do_set_team_allowed_ips(request.auth, team, payload.allowed_ips, ip=network.client_ip(request))
    return {"team_id": team.id, "allowed_ips": list(team.allowed_ips)}
