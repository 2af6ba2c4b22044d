"""Writes for users and tokens (check_* validates, do_* mutates)."""
from django.db import transaction

from accounts.models import ApiToken, Preference, Role, Team, User, hash_token, validate_time_zone
from config.errors import Invalid


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


def do_issue_token(user: User, name: str = "default") -> str:
    """Create a token and return the raw value: the only time it is shown."""
    raw = ApiToken.new_raw_token()
    ApiToken.objects.create(user=user, name=name, key_hash=hash_token(raw), hint=raw[:10])
    return raw


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
