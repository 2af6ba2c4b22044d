"""GET /me: who the token belongs to, and the time zone "today" is judged in."""
from __future__ import annotations

from ninja import Router, Schema

from config.schemas import responses

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


@router.get("/me", response=responses({200: MeOut}))
def me(request):
    user = request.auth
    return {
        **{f: getattr(user, f) for f in ("id", "username", "first_name", "last_name", "email", "role", "time_zone")},
        "team": user.team.name if user.team_id else None,
    }
