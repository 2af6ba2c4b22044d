"""Which database a read goes to.

With ``DATABASE_REPLICA_URL`` set (a PostgreSQL streaming replica), Sales
Insights' reports and the custom lists' pages and exports read from it:
they are the heavy reads, and a report or a list a second behind the
primary is still right for its reader. Record pages, timelines, Up Next
and every API read of a record stay on the primary, so a client that
writes and then reads sees its write.

A read inside a transaction on the primary stays there too: it must see
that transaction's own writes (and a test's data, which is never
committed, is only visible there).
"""
from __future__ import annotations

from django.conf import settings
from django.db import connections

REPLICA = "replica"


def replica_alias() -> str:
    if REPLICA not in settings.DATABASES or connections["default"].in_atomic_block:
        return "default"
    return REPLICA
