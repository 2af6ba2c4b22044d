"""Errors the service layer raises and the API turns into 4xx JSON.

Every validation error names its field as a ``loc`` path, in the same shape
django-ninja uses for schema errors, so clients handle one format:
``{"detail": [{"loc": ["body", "contact_ids", 0], "msg": "...", "type": "..."}]}``.
"""
from __future__ import annotations

from collections.abc import Sequence


class ServiceError(Exception):
    status = 400


class Invalid(ServiceError):
    status = 422

    def __init__(self, errors: Sequence[dict]):
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self.errors = list(errors)

    @classmethod
    def field(cls, loc: str | Sequence[str | int], msg: str, type_: str = "value_error") -> Invalid:
        loc = (loc,) if isinstance(loc, str) else tuple(loc)
        return cls([error(loc, msg, type_)])


class TooLarge(Invalid):
    """An upload over its size limit: 413, with the field named like a 422."""

    status = 413


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409


class Unavailable(ServiceError):
    """Not ready yet, try again shortly (503 with Retry-After)."""

    status = 503
    retry_after = 60


def error(loc: Sequence[str | int], msg: str, type_: str = "value_error") -> dict:
    return {"loc": list(loc), "msg": msg, "type": type_}
