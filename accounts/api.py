"""GET /me: who the token belongs to, and the time zone "today" is judged in.
PATCH /me: the caller's own phone (what click-to-call rings first)."""
from __future__ import annotations

from ninja import Router, Schema

from config.schemas import InputSchema, Text, responses
from accounts.services import do_set_my_phone

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
