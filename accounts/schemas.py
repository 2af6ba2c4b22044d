"""Request and response bodies of /tokens and the allowed-ips endpoints."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from accounts.network import MAX_RANGES
from accounts.services import MAX_TOKEN_DAYS
from config.schemas import InputSchema, Text, Timestamp


class TokenIn(InputSchema):
    name: Text(100, 1)
    # Least privilege unless asked: a token that only reads cannot damage anything.
    scope: Literal["read", "write"] = "read"
    expires_in_days: Annotated[int, Field(ge=1, le=MAX_TOKEN_DAYS)] | None = None
    expires_at: Timestamp | None = None


class TokenOut(Schema):
    id: int
    user_id: int
    name: str
    scope: str
    hint: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str  # the raw value: shown this once, only its hash is kept


class TokenPage(Schema):
    items: list[TokenOut]
    next_cursor: str | None


# An IPv6 CIDR range is at most 43 characters ("ffff:...:ffff/128").
Range = Text(64, 1)


class AllowedIpsIn(InputSchema):
    allowed_ips: Annotated[list[Range], Field(max_length=MAX_RANGES)]


class UserAllowedIpsOut(Schema):
    user_id: int
    allowed_ips: list[str]
    # What applies: the user's own ranges, else their team's; [] = anywhere.
    effective: list[str]


class TeamAllowedIpsOut(Schema):
    team_id: int
    allowed_ips: list[str]
