"""DATABASE_REPLICA_URL: reports and lists read from the replica, records
from the primary, and a read inside a write transaction from the primary.

The PostgreSQL run of the suite configures the replica as a mirror of the
test database (``./dev test``): a separate connection to the same data, so
what is read through it must have been committed, as on a real replica.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections, transaction

from config.db import replica_alias
from insights import refresh

# The PostgreSQL run of ./dev test configures a replica; the SQLite run
# cannot have one (a replica is PostgreSQL's), and checks that instead.
REPLICA = "replica" in settings.DATABASES


class Statements:
    """The statements each connection runs."""

    def __init__(self):
        self.sql = {"default": [], "replica": []}

    def __enter__(self):
        self.stack = []
        for alias in self.sql:
            wrapper = connections[alias].execute_wrapper(self._record(alias))
            wrapper.__enter__()
            self.stack.append(wrapper)
        return self

    def _record(self, alias):
        def record(execute, sql, params, many, context):
            self.sql[alias].append(sql)
            return execute(sql, params, many, context)

        return record

    def __exit__(self, *exc):
        for wrapper in reversed(self.stack):
            wrapper.__exit__(*exc)


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_lists_and_reports_read_the_replica_records_the_primary(alice, world):
    saved = alice.post("lists", {"name": "Everyone", "record_type": "contact"}).json()
    alice.post("touchpoints", {"kind": "phone_call", "status": "completed", "occurred_at": "2024-03-01T10:00:00Z", "contact_ids": [world["carol"]]})
    refresh.refresh()

    with Statements() as seen:
        records = alice.get(f"lists/{saved['id']}/records").json()
        export = alice.client.get("/api/v1/exports/contacts.csv")
        report = alice.get("insights/activities-added", start="2024-03-01", end="2024-03-31", bucket="month")
    assert sorted(r["id"] for r in records["items"]) == sorted([world["carol"], world["dave"]])
    assert len(b"".join(export.streaming_content).decode().splitlines()) == 3
    assert report.status_code == 200 and report.json()["rows"][0]["phone_call"] == 1
    replica = " ".join(seen.sql["replica"])
    assert "crm_contact" in replica and "insights_activitycell" in replica

    with Statements() as seen:
        assert alice.get(f"contacts/{world['carol']}").status_code == 200
        assert alice.get(f"organizations/{world['org']}/timeline").status_code == 200
    assert seen.sql["replica"] == []


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_read_inside_a_write_transaction_stays_on_the_primary():
    assert replica_alias() == "replica"
    with transaction.atomic():
        assert replica_alias() == "default"


def test_a_replica_needs_postgresql_as_the_primary(tmp_path):
    """DATABASE_REPLICA_URL beside the SQLite default is refused at start."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_REPLICA_URL")}
    env.update(TOUCHPOINTS_VAR_DIR=str(tmp_path), DATABASE_REPLICA_URL="postgres://postgres@127.0.0.1:5432/test", DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL needs DATABASE_URL to name the PostgreSQL primary" in result.stderr


if not REPLICA:
    # Nothing to read through on SQLite: these are not collected there
    # (under CI nothing may skip); the PostgreSQL run has them.
    del test_lists_and_reports_read_the_replica_records_the_primary, test_a_read_inside_a_write_transaction_stays_on_the_primary
