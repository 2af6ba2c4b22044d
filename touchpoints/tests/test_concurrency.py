"""Concurrent writers: no lost Last Contacted update, no duplicate, no
"database is locked" (SQLite) and no deadlock (PostgreSQL)."""
import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Max

from accounts.services import do_create_user
from crm.models import Contact, Organization
from touchpoints.models import Touchpoint, TouchpointLink
from touchpoints.services import NewTouchpoint, record_touchpoints

WRITERS = 8


def run_writers(target) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def wrapped(n: int) -> None:
        try:
            barrier.wait()
            target(n)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_leave_last_contacted_equal_to_max_of_log():
    owner = do_create_user("writer", role="admin")
    org = Organization.objects.create(name="Busy Corp", owner=owner)
    contacts = [Contact.objects.create(last_name=f"C{i}", organization=org, owner=owner).id for i in range(12)]
    base = datetime(2024, 1, 1, tzinfo=UTC)

    def writer(n: int) -> None:
        rng = random.Random(n)
        for _ in range(15):
            items = [
                NewTouchpoint(
                    kind=rng.choice(["email", "sms", "phone_call", "note"]),
                    status=None,
                    occurred_at=base + timedelta(minutes=rng.randrange(0, 500_000)),
                    contact_ids=rng.sample(contacts, 2),
                )
                for _ in range(rng.randrange(1, 8))
            ]
            record_touchpoints(owner, items, checked=True)

    assert run_writers(writer) == []
    for contact in Contact.objects.filter(id__in=contacts):
        newest = TouchpointLink.objects.filter(contact_id=contact.id, counts=True).aggregate(m=Max("occurred_at"))["m"]
        assert contact.last_contacted_on == newest
    org.refresh_from_db()
    assert org.last_contacted_on == TouchpointLink.objects.filter(organization=org, counts=True).aggregate(m=Max("occurred_at"))["m"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_the_same_external_id_store_one_touchpoint():
    owner = do_create_user("provider", role="admin")
    contact = Contact.objects.create(last_name="Retry", owner=owner)
    when = datetime(2024, 5, 1, tzinfo=UTC)
    answers: list[int] = []

    def writer(n: int) -> None:
        items = [NewTouchpoint(kind="sms", status="delivered", source="twilio", external_id=f"SM{k}", occurred_at=when, contact_ids=[contact.id]) for k in range(20)]
        answers.extend(r.touchpoint_id for r in record_touchpoints(owner, items, checked=True))

    assert run_writers(writer) == []
    assert Touchpoint.objects.filter(source="twilio").count() == 20
    assert len(set(answers)) == 20
    assert TouchpointLink.objects.filter(contact=contact).count() == 20
