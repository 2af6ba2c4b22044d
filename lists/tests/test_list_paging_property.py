"""Property: however a list is sorted and whatever the values (many ties,
empty values), walking its records page by page through the cursor and
reading them in export chunks both give exactly the rows of one ordered
query: each record once, none skipped, empty values last.
"""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.pagination import sorted_page
from crm.models import Deal
from lists.models import SavedList
from lists.queries import export_rows, records_page, records_queryset, sort_of

STAMPS = [None, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC), datetime(2025, 6, 30, 12, tzinfo=UTC)]
AMOUNTS = [None, Decimal("0.00"), Decimal("10.50"), Decimal("-3.00"), Decimal("999999.99")]
NAMES = ["", "a", "A", "b", "Zed", "zed"]
STAGES = ["prospecting", "proposal", "closed_won"]
SORTS = ["last_contacted_on", "amount", "name", "stage", "expected_close_date", "owner", "created_at"]

deal_rows = st.lists(
    st.tuples(st.sampled_from(STAMPS), st.sampled_from(AMOUNTS), st.sampled_from(NAMES), st.sampled_from(STAGES), st.booleans()),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(rows=deal_rows, sort=st.sampled_from(SORTS), descending=st.booleans(), limit=st.integers(1, 7), chunk=st.integers(1, 9))
def test_pages_and_export_chunks_give_the_ordered_rows_once(alice, bob, rows, sort, descending, limit, chunk):
    Deal.objects.all().delete()
    SavedList.objects.all().delete()
    for stamp, amount, name, stage, bobs in rows:
        Deal.objects.create(
            name=name, amount=amount, stage=stage, last_contacted_on=stamp, owner=bob.user if bobs else alice.user,
            expected_close_date=stamp.date() if stamp else None,
        )  # fmt: skip
    saved = SavedList.objects.create(name="P", record_type="deal", conditions={"all": []}, columns=["name"], sort=("-" if descending else "") + sort, owner=alice.user)

    qs, _ = records_queryset(alice.user, saved)
    column, _ = sort_of(saved)
    ordered = list(qs.order_by(F(column).desc(nulls_last=True) if descending else F(column).asc(nulls_last=True), "-id" if descending else "id").values_list("id", flat=True))
    assert sorted(ordered) == sorted(Deal.objects.values_list("id", flat=True))

    walked, cursor = [], None
    while True:
        page, _ = records_page(alice.user, saved, cursor, limit)
        assert len(page.items) <= limit
        walked += [r.id for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert walked == ordered

    # The same pages as config.pagination.sorted_page's, cursors included.
    reference, cursor = [], None
    while True:
        page = sorted_page(qs, f"-{column}" if descending else column, cursor, limit)
        reference += [r.id for r in page.items]
        if (cursor := page.next_cursor) is None:
            break
    assert reference == ordered
    if len(ordered) > limit:
        first = sorted_page(qs, f"-{column}" if descending else column, None, limit)
        assert [r.id for r in records_page(alice.user, saved, first.next_cursor, limit)[0].items] == ordered[limit : 2 * limit]

    _, exported = export_rows(alice.user, saved, chunk=chunk)
    assert [r["id"] for r in exported] == ordered
