"""Writes for users and tokens (check_* validates, do_* mutates)."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts import network, ratelimit
from accounts.models import ApiToken, AttemptKind, Preference, Role, Team, TokenScope, User, hash_token, validate_time_zone
from audit import log as audit
from audit.models import Action
from config.errors import Forbidden, Invalid, NotFound

# The longest a token may be asked to live (expires_in_days / expires_at).
MAX_TOKEN_DAYS = 3650


def check_role(role: str) -> str:
    if role not in Role.values:
        raise ValueError(f"role must be one of {', '.join(Role.values)}")
    return role


def do_create_user(
    username: str,
    *,
    role: str = Role.REP,
    team_name: str | None = None,
    time_zone: str = "UTC",
    password: str | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> User:
    check_role(role)
    validate_time_zone(time_zone)
    with transaction.atomic():
        team = Team.objects.get_or_create(name=team_name)[0] if team_name else None
        user = User(
            username=username,
            role=role,
            team=team,
            time_zone=time_zone,
            email=email,
            first_name=first_name,
            last_name=last_name,
            is_staff=role == Role.ADMIN,
            is_superuser=role == Role.ADMIN,
        )
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    return user


def is_admin(user: User) -> bool:
    return user.role == Role.ADMIN or user.is_superuser


def _store_token(user: User, name: str, scope: str, expires_at: datetime | None) -> tuple[ApiToken, str]:
    raw = ApiToken.new_raw_token()
    token = ApiToken.objects.create(user=user, name=name, key_hash=hash_token(raw), hint=raw[:10], scope=scope, expires_at=expires_at)
    return token, raw


def do_issue_token(user: User, name: str = "default", *, scope: str = TokenScope.WRITE, expires_at: datetime | None = None) -> str:
    """Create a token and return the raw value: the only time it is shown.
    The operator's path (createuser --token, the token command): no rate
    limit, no minting rules."""
    if scope not in TokenScope.values:
        raise ValueError(f"scope must be one of {', '.join(TokenScope.values)}")
    with transaction.atomic():
        token, raw = _store_token(user, name, scope, expires_at)
        _audit_token_created(None, token, via="command line")
    return raw


def check_new_token(via: ApiToken | None, expires_in_days: int | None, expires_at: datetime | None) -> datetime | None:
    """The new token's expiry, after the minting rules.

    A session (a person at the web UI) may create any token. A token may
    create tokens only when it can write (read-only tokens get 403 on every
    write, this one included: config.auth) and never a wider one: not
    read-write from read-only, and not outliving itself (a token that
    expires hands its expiry down when none is asked for). So a leaked
    token cannot be turned into a longer-lived one."""
    if expires_in_days is not None and expires_at is not None:
        raise Invalid.field(("expires_at",), "give expires_in_days or expires_at, not both")
    now = timezone.now()
    if expires_in_days is not None:
        expires_at = now + timedelta(days=expires_in_days)
    elif expires_at is not None:
        if expires_at <= now:
            raise Invalid.field(("expires_at",), "must be in the future")
        if expires_at > now + timedelta(days=MAX_TOKEN_DAYS):
            raise Invalid.field(("expires_at",), f"must be within {MAX_TOKEN_DAYS} days")
    if via is None:
        return expires_at
    if via.scope != TokenScope.WRITE:
        # Only read-write tokens mint, so no new token is wider than its maker
        # (read < write). config.auth already refuses a read-only token's POST.
        raise Forbidden("a read-only token cannot create tokens")
    if via.expires_at is not None:
        if expires_at is None:
            return via.expires_at
        if expires_at > via.expires_at:
            field = "expires_in_days" if expires_in_days is not None else "expires_at"
            raise Invalid.field((field,), f"must not be later than the expiry of the token creating it ({via.expires_at.isoformat()})")
    return expires_at


def do_create_token(
    actor: User,
    *,
    name: str,
    scope: str,
    expires_in_days: int | None = None,
    expires_at: datetime | None = None,
    via: ApiToken | None = None,
    ip: str | None = None,
) -> tuple[ApiToken, str]:
    """POST /tokens (and the web page): a token of the caller's own, the raw
    value returned this once. Rate-limited per user: the creation is counted
    before the limit is checked, so parallel requests count each other, and
    forgotten when refused, so being refused does not extend the wait."""
    if scope not in TokenScope.values:
        raise Invalid.field(("scope",), f"must be one of {', '.join(TokenScope.values)}")
    final_expiry = check_new_token(via, expires_in_days, expires_at)
    attempt = ratelimit.record(AttemptKind.TOKEN, str(actor.id), ip)
    try:
        ratelimit.check_token_creation(actor.id, over=1)
    except ratelimit.RateLimited:
        attempt.delete()
        raise
    with transaction.atomic():
        token, raw = _store_token(actor, name.strip() or "default", scope, final_expiry)
        _audit_token_created(actor, token, via="token" if via is not None else "")
    return token, raw


def _audit_token_created(actor: User | None, token: ApiToken, via: str = "") -> None:
    changes = {"user_id": [None, token.user_id], "name": [None, token.name], "scope": [None, token.scope], "expires_at": [None, audit.jsonable(token.expires_at)]}
    audit.log_action(actor, Action.CREATE, "token", token.id, str(token), changes, via=via)


def do_revoke_token(actor: User | None, token_id: int) -> ApiToken:
    """Revoke one's own token (an admin, or the operator at the command line
    with ``actor`` None: anyone's). Someone else's token answers 404, as if
    it did not exist. Revoking twice keeps the first time."""
    tokens = ApiToken.objects.all() if actor is None or is_admin(actor) else ApiToken.objects.filter(user=actor)
    token = tokens.filter(id=token_id).first()
    if token is None:
        raise NotFound(f"token {token_id} not found")
    with transaction.atomic():
        if ApiToken.objects.filter(id=token.id, revoked_at__isnull=True).update(revoked_at=timezone.now()):
            token.refresh_from_db(fields=["revoked_at"])
            audit.log_action(actor, Action.UPDATE, "token", token.id, str(token), {"revoked_at": [None, audit.jsonable(token.revoked_at)]}, via="" if actor else "command line")
    token.refresh_from_db(fields=["revoked_at"])
    return token


# --- IP-based restriction ----------------------------------------------------------------------


def check_admin(actor: User) -> None:
    if not is_admin(actor):
        raise Forbidden("only an admin may see or change IP restrictions")


def check_not_locking_out(actor: User, ip: str | None, *, user: User | None = None, team: Team | None = None, ranges: list[str]) -> None:
    """An admin may not set ranges that would refuse their own current
    request: they would lose the web UI and the API at once. (Recovery if it
    happens anyway, e.g. after a move to another network: the
    ``allowed_ips`` command, run on the server, clears a user's ranges.)"""
    me = User.objects.select_related("team").get(id=actor.id)
    if user is not None and user.id == me.id:
        me.allowed_ips = ranges
    if team is not None and me.team_id == team.id:
        me.team.allowed_ips = ranges
    if not network.ip_allowed(me, ip):
        raise Invalid.field(("allowed_ips",), f"would lock you out: your address {ip or '(unknown)'} is not in these ranges")


def _store_allowed_ips(actor: User | None, row: User | Team, record_type: str, label: str, ranges: list[str]) -> list[str]:
    """Write the ranges and their audit entry in one transaction (an entry
    only when they changed)."""
    model = type(row)
    with transaction.atomic():
        before = model.objects.filter(id=row.id).values_list("allowed_ips", flat=True).first()
        model.objects.filter(id=row.id).update(allowed_ips=ranges)
        if before != ranges:
            audit.log_action(actor, Action.UPDATE, record_type, row.id, label, {"allowed_ips": [before, ranges]}, via="" if actor else "command line")
    row.allowed_ips = ranges
    return ranges


def do_set_user_allowed_ips(actor: User | None, user: User, values: list[str], *, ip: str | None = None) -> list[str]:
    """Set a user's own ranges ([] = their team's, or anywhere). ``actor``
    None is the operator at the command line: no admin or lock-out check."""
    ranges = network.check_ranges(values)
    if actor is not None:
        check_admin(actor)
        check_not_locking_out(actor, ip, user=user, ranges=ranges)
    return _store_allowed_ips(actor, user, "user", user.get_username(), ranges)


def do_set_team_allowed_ips(actor: User | None, team: Team, values: list[str], *, ip: str | None = None) -> list[str]:
    ranges = network.check_ranges(values)
    if actor is not None:
        check_admin(actor)
        check_not_locking_out(actor, ip, team=team, ranges=ranges)
    return _store_allowed_ips(actor, team, "team", team.name, ranges)


def do_set_hidden_kinds(user: User, hidden_kinds: list[str]) -> Preference:
    """Remember which kinds the user turned off in the Activity filter.
    Unknown kinds are dropped, not rejected: a kind removed from the product
    must not make a saved filter fail."""
    from touchpoints.rules import Kind

    hidden = sorted({k for k in hidden_kinds if k in Kind.values})
    preference, _ = Preference.objects.update_or_create(user=user, defaults={"hidden_kinds": hidden})
    return preference


def do_set_idle_deal_days(user: User, days: int) -> Preference:
    if not 1 <= days <= 365:
        raise Invalid.field(("idle_deal_days",), "must be between 1 and 365 days")
    preference, _ = Preference.objects.update_or_create(user=user, defaults={"idle_deal_days": days})
    return preference


def do_set_my_phone(actor: User, raw: str) -> str:
    """Set (or clear, with an empty value) the user's own phone, the one
    click-to-call rings first; stored as E.164. Returns what was stored."""
    from crm.services import normalize_phone  # crm depends on accounts, not the reverse

    number = normalize_phone(raw.strip(), ("phone",)) if raw and raw.strip() else ""
    User.objects.filter(id=actor.id).update(phone=number)
    actor.phone = number
    return number
