"""``IS DISTINCT FROM``: the null-safe "not equal" Django has no lookup for.

Smart Alerts store on a row the value an alert was raised for (a deal's
quiet-since moment, a task's due date) and find the rows whose current value
differs from it, NULL included. Used as an expression both in partial index
conditions and in the scans' WHERE, so the two compile to the same SQL and
the planners (PostgreSQL's predicate proof, SQLite's term match) pick the
partial index.
"""
from __future__ import annotations

from django.db.models import Lookup


class DistinctFrom(Lookup):
    lookup_name = "distinct_from"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        # SQLite spells it IS NOT (null-safe since 3.x); PostgreSQL, the standard way.
        operator = "IS NOT" if connection.vendor == "sqlite" else "IS DISTINCT FROM"
        return f"{lhs} {operator} {rhs}", [*lhs_params, *rhs_params]


class InConstants(Lookup):
    """``col IN ('a', 'b')`` with the constants written into the SQL.

    A partial index's condition holds literals; SQLite only matches a
    query's term to it when the query has the same literals (a bound
    ``IN (?, ?)`` does not match, and the planner scans the table).
    Only for fixed choice values from the code, never for user input:
    each must be a plain lower-case word."""

    lookup_name = "in_constants"
    prepare_rhs = False

    def __init__(self, lhs, rhs):
        rhs = tuple(str(v) for v in rhs)
        if not rhs or not all(v.replace("_", "").isalnum() and v.islower() for v in rhs):
            raise ValueError(f"InConstants takes plain choice values, not {rhs!r}")
        super().__init__(lhs, rhs)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} IN ({', '.join(repr(v) for v in self.rhs)})", list(lhs_params)
