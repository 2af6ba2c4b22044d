"""The condition engine (automation.conditions), operator by operator, on
real rows: whatever database the suite runs on (SQLite and PostgreSQL).

Records are written with the ORM where a test needs exact stored values
(Last Contacted On is normally written only by touchpoint ingest, and the
time-zone edges need instants a microsecond apart); touchpoint counts come
from touchpoints recorded through the ingest service, so they follow the
real rollup and shown rules.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from accounts.services import do_create_user
from automation.conditions import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_IN_VALUES,
    MAX_TEXT,
    MODELS,
    Context,
    check_tree,
    describe,
    filter_records,
)
from config.errors import Invalid
from crm.models import Contact, Deal, DealContact, Organization
from touchpoints.services import NewTouchpoint, record_touchpoints


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ctx_at(now: str, zone: str = "UTC", user_id: int | None = None) -> Context:
    return Context(now=utc(now), tz=ZoneInfo(zone), user_id=user_id)


NOW = ctx_at("2026-06-15 12:00")


def matching(record_type: str, tree, ctx: Context = NOW) -> set[int]:
    checked = check_tree(record_type, tree)
    return set(filter_records(MODELS[record_type].objects.all(), record_type, checked, ctx).values_list("id", flat=True))


def one(field: str, operator: str, value=None) -> dict:
    node = {"field": field, "operator": operator}
    if value is not None:
        node["value"] = value
    return node


def deals(**named) -> dict[str, int]:
    """Deals named by keyword, each from a dict of field values."""
    return {key: Deal.objects.create(name=key, **values).id for key, values in named.items()}


def errors_of(record_type: str, tree) -> list[tuple[str, str]]:
    with pytest.raises(Invalid) as raised:
        check_tree(record_type, tree)
    assert raised.value.status == 422
    return [(".".join(map(str, e["loc"])), e["msg"]) for e in raised.value.errors]


def locs_of(record_type: str, tree) -> list[str]:
    return [loc for loc, _ in errors_of(record_type, tree)]


# --- text -------------------------------------------------------------------------------


@pytest.fixture
def named(db) -> dict[str, int]:
    return {name: Deal.objects.create(name=name).id for name in ("Acme renewal", "ACME", "acme", "Globex", "")}


def test_text_equals_and_in_ignore_case(named):
    assert matching("deal", one("name", "equals", "aCmE")) == {named["ACME"], named["acme"]}
    assert matching("deal", one("name", "in", ["globex", "ACME RENEWAL"])) == {named["Globex"], named["Acme renewal"]}


def test_text_contains_ignores_case(named):
    assert matching("deal", one("name", "contains", "CME")) == {named["Acme renewal"], named["ACME"], named["acme"]}
    # An empty piece is in every text (the empty name included).
    assert matching("deal", one("name", "contains", "")) == set(named.values())


def test_text_not_equals_and_emptiness(named):
    assert matching("deal", one("name", "not_equals", "acme")) == {named["Acme renewal"], named["Globex"], named[""]}
    assert matching("deal", one("name", "is_empty")) == {named[""]}
    assert matching("deal", one("name", "is_not_empty")) == set(named.values()) - {named[""]}


def test_like_wildcards_in_values_are_literal(db):
    ids = deals(**{"50% off": {}, "5000 off": {}, "a_b": {}, "axb": {}, "back\\slash": {}, "backslash": {}})
    assert matching("deal", one("name", "contains", "%")) == {ids["50% off"]}
    assert matching("deal", one("name", "contains", "0% o")) == {ids["50% off"]}
    assert matching("deal", one("name", "contains", "_")) == {ids["a_b"]}
    assert matching("deal", one("name", "equals", "A_B")) == {ids["a_b"]}
    assert matching("deal", one("name", "in", ["a_b", "5%"])) == {ids["a_b"]}
    assert matching("deal", one("name", "not_equals", "a_b")) == set(ids.values()) - {ids["a_b"]}
    assert matching("deal", one("name", "contains", "\\")) == {ids["back\\slash"]}
    assert matching("deal", one("name", "equals", "back\\slash")) == {ids["back\\slash"]}


def test_organization_name_reads_through_the_foreign_key(db):
    grasspods = Organization.objects.create(name="Grasspods")
    with_org = Contact.objects.create(last_name="Ng", organization=grasspods).id
    other_org = Contact.objects.create(last_name="Ito", organization=Organization.objects.create(name="Globex")).id
    without = Contact.objects.create(last_name="Solo").id
    assert matching("contact", one("organization_name", "equals", "GRASSPODS")) == {with_org}
    assert matching("contact", one("organization_name", "contains", "pod")) == {with_org}
    assert matching("contact", one("organization_name", "in", ["globex"])) == {other_org}
    # A contact without an organization has an empty organization name: it
    # "does not equal" Grasspods, and it is empty.
    assert matching("contact", one("organization_name", "not_equals", "grasspods")) == {other_org, without}
    assert matching("contact", one("organization_name", "is_empty")) == {without}
    assert matching("contact", one("organization_name", "is_not_empty")) == {with_org, other_org}
    deal = Deal.objects.create(name="d", organization=grasspods).id
    lone = Deal.objects.create(name="lone").id
    assert matching("deal", one("organization_name", "not_equals", "Grasspods")) == {lone}
    assert matching("deal", one("organization_name", "equals", "grasspods")) == {deal}


# --- choices, numbers, users ------------------------------------------------------------------


def test_choice_operators_and_never_contacted(db):
    ids = deals(
        email={"last_contacted_via": "Email", "stage": "proposal"},
        call={"last_contacted_via": "Phone Call", "stage": "closed_won"},
        never={"last_contacted_via": None},
    )
    assert matching("deal", one("last_contacted_via", "equals", "Email")) == {ids["email"]}
    # "Last Contacted Via is not Email" lists the never-contacted too.
    assert matching("deal", one("last_contacted_via", "not_equals", "Email")) == {ids["call"], ids["never"]}
    assert matching("deal", one("last_contacted_via", "in", ["Email", "Phone Call"])) == {ids["email"], ids["call"]}
    assert matching("deal", one("last_contacted_via", "is_empty")) == {ids["never"]}
    assert matching("deal", one("last_contacted_via", "is_not_empty")) == {ids["email"], ids["call"]}
    assert matching("deal", one("stage", "in", ["proposal", "closed_won"])) == {ids["email"], ids["call"]}
    assert matching("deal", one("stage", "not_equals", "prospecting")) == {ids["email"], ids["call"]}


def test_amount_comparisons_never_hold_for_an_empty_amount(db):
    ids = deals(small={"amount": Decimal("999.99")}, even={"amount": Decimal("1000.00")}, big={"amount": Decimal("250000")}, none={})
    assert matching("deal", one("amount", "equals", 1000)) == {ids["even"]}
    assert matching("deal", one("amount", "equals", "1000.000")) == {ids["even"]}
    assert matching("deal", one("amount", "greater_than", 999.99)) == {ids["even"], ids["big"]}
    assert matching("deal", one("amount", "less_than", "1000")) == {ids["small"]}
    assert matching("deal", one("amount", "greater_than", "-1")) == {ids["small"], ids["even"], ids["big"]}
    assert matching("deal", one("amount", "not_equals", "1000")) == {ids["small"], ids["big"], ids["none"]}
    assert matching("deal", one("amount", "is_empty")) == {ids["none"]}
    assert matching("deal", one("amount", "is_not_empty")) == {ids["small"], ids["even"], ids["big"]}


def test_amount_values_are_normalized_on_save(db):
    tree = check_tree("deal", {"any": [one("amount", "equals", 10), one("amount", "greater_than", "1e3"), one("amount", "less_than", 2.5)]})
    assert [c["value"] for c in tree["any"]] == ["10", "1E+3", "2.5"]


def test_owner_me_is_the_viewer_and_nobody_without_one(db):
    ann = do_create_user("ann")
    ben = do_create_user("ben")
    ids = deals(anns={"owner": ann}, bens={"owner": ben}, unowned={})
    as_ann = ctx_at("2026-06-15 12:00", user_id=ann.id)
    assert matching("deal", one("owner", "equals", "me"), as_ann) == {ids["anns"]}
    assert matching("deal", one("owner", "equals", ben.id), as_ann) == {ids["bens"]}
    assert matching("deal", one("owner", "not_equals", "me"), as_ann) == {ids["bens"], ids["unowned"]}
    assert matching("deal", one("owner", "in", ["me", ben.id]), as_ann) == {ids["anns"], ids["bens"]}
    assert matching("deal", one("owner", "is_empty"), as_ann) == {ids["unowned"]}
    assert matching("deal", one("owner", "is_not_empty"), as_ann) == {ids["anns"], ids["bens"]}
    # A workflow or alert judges without a viewer: "me" is nobody, not "no owner".
    assert matching("deal", one("owner", "equals", "me"), NOW) == set()
    assert matching("deal", one("owner", "not_equals", "me"), NOW) == set(ids.values())
    assert matching("deal", one("owner", "in", ["me", ben.id]), NOW) == {ids["bens"]}
    assert matching("deal", one("owner", "in", ["me"]), NOW) == set()


# --- counts ------------------------------------------------------------------------------------


def log(actor, occurred_at: str, status: str = "sent", kind: str = "email", **links) -> None:
    [result] = record_touchpoints(actor, [NewTouchpoint(kind=kind, status=status, occurred_at=utc(occurred_at), **links)])
    assert not result.errors, result.errors


def test_touchpoint_count_counts_what_the_timeline_shows(alice, world):
    carol, dave, org, deal = world["carol"], world["dave"], world["org"], world["deal"]
    log(alice.user, "2024-02-01 10:00", contact_ids=[carol])  # rolls up to the organization and Carol's open deal
    log(alice.user, "2024-02-02 10:00", contact_ids=[carol])
    log(alice.user, "2024-02-03 10:00", status="draft", contact_ids=[carol])  # stored, not shown
    log(alice.user, "2024-02-04 10:00", kind="phone_call", status="completed", contact_ids=[dave])
    assert matching("contact", one("touchpoint_count", "equals", 2)) == {carol}
    assert matching("contact", one("touchpoint_count", "greater_than", 0)) == {carol, dave}
    assert matching("contact", one("touchpoint_count", "less_than", 2)) == {dave}
    assert matching("contact", one("touchpoint_count", "not_equals", 1)) == {carol}
    assert matching("organization", one("touchpoint_count", "equals", 3)) == {org}
    assert matching("deal", one("touchpoint_count", "equals", 2)) == {deal}
    never = Contact.objects.create(last_name="Never").id
    assert matching("contact", one("touchpoint_count", "equals", 0)) == {never}


def test_open_deal_and_contact_counts(db):
    org = Organization.objects.create(name="Grasspods")
    empty_org = Organization.objects.create(name="Empty")
    carol = Contact.objects.create(last_name="Ng", organization=org)
    dave = Contact.objects.create(last_name="Ito", organization=org)
    loner = Contact.objects.create(last_name="Solo")
    open_deal = Deal.objects.create(name="open", organization=org, stage="proposal")
    won = Deal.objects.create(name="won", organization=org, stage="closed_won")
    lost = Deal.objects.create(name="lost", organization=org, stage="closed_lost")
    DealContact.objects.bulk_create([DealContact(deal=open_deal, contact=carol), DealContact(deal=won, contact=carol), DealContact(deal=won, contact=dave), DealContact(deal=lost, contact=dave)])
    assert matching("organization", one("open_deal_count", "equals", 1)) == {org.id}
    assert matching("organization", one("open_deal_count", "equals", 0)) == {empty_org.id}
    assert matching("organization", one("contact_count", "greater_than", 1)) == {org.id}
    assert matching("organization", one("contact_count", "less_than", 1)) == {empty_org.id}
    # Closed deals do not count as open, whoever is on them.
    assert matching("contact", one("open_deal_count", "greater_than", 0)) == {carol.id}
    assert matching("contact", one("open_deal_count", "equals", 0)) == {dave.id, loner.id}
    assert matching("deal", one("contact_count", "equals", 2)) == {won.id}
    assert matching("deal", one("contact_count", "equals", 1)) == {open_deal.id, lost.id}


def test_contact_idle_for_30_days_with_an_open_deal(db):
    """The issue's workflow example as a tree: Last Contacted On more than
    30 days ago and an open deal."""
    stale = Contact.objects.create(last_name="Stale", last_contacted_on=utc("2026-05-01 10:00"))
    recent = Contact.objects.create(last_name="Recent", last_contacted_on=utc("2026-06-01 10:00"))
    stale_closed = Contact.objects.create(last_name="Closed", last_contacted_on=utc("2026-01-01 10:00"))
    for contact, stage in ((stale, "proposal"), (recent, "proposal"), (stale_closed, "closed_lost")):
        DealContact.objects.create(contact=contact, deal=Deal.objects.create(name=contact.last_name, stage=stage))
    tree = {"all": [one("last_contacted_on", "more_than_days_ago", 30), one("open_deal_count", "greater_than", 0)]}
    assert matching("contact", tree) == {stale.id}
    assert describe("contact", check_tree("contact", tree)) == "(Last Contacted On is more than 30 days ago and Open deals is greater than 0)"


# --- dates and time zones -------------------------------------------------------------------------


def contacted(**instants: str | None) -> dict[str, int]:
    return {key: Deal.objects.create(name=key, last_contacted_on=None if at is None else utc(at)).id for key, at in instants.items()}


def test_today_depends_on_the_viewers_zone(db):
    # 2026-06-15 11:30 UTC is 23:30 on the 15th in Auckland (NZST, +12) and
    # 04:30 on the 15th in Los Angeles (PDT, -7).
    ids = contacted(
        la_yesterday="2026-06-15 06:59:59.999999",  # 23:59 on the 14th in LA, 18:59 on the 15th in Auckland
        both="2026-06-15 11:00",
        nz_tomorrow="2026-06-15 12:00",  # 00:00 on the 16th in Auckland, 05:00 on the 15th in LA
        never=None,
    )
    auckland = ctx_at("2026-06-15 11:30", "Pacific/Auckland")
    los_angeles = ctx_at("2026-06-15 11:30", "America/Los_Angeles")
    assert matching("deal", one("last_contacted_on", "today"), auckland) == {ids["la_yesterday"], ids["both"]}
    assert matching("deal", one("last_contacted_on", "today"), los_angeles) == {ids["both"], ids["nz_tomorrow"]}
    # Half an hour later it is the 16th in Auckland, still the 15th in LA.
    assert matching("deal", one("last_contacted_on", "today"), ctx_at("2026-06-15 12:00", "Pacific/Auckland")) == {ids["nz_tomorrow"]}
    assert matching("deal", one("last_contacted_on", "today"), ctx_at("2026-06-15 12:00", "America/Los_Angeles")) == {ids["both"], ids["nz_tomorrow"]}


def test_today_and_day_counts_in_the_users_zone(db):
    """The zone comes from the user (accounts.User.time_zone)."""
    kiwi = do_create_user("kiwi", time_zone="Pacific/Auckland")
    ids = contacted(local_midnight="2026-06-14 12:00", before="2026-06-14 11:59:59.999999")
    ctx = Context(now=utc("2026-06-14 20:00"), tz=kiwi.tzinfo, user_id=kiwi.id)
    assert matching("deal", one("last_contacted_on", "today"), ctx) == {ids["local_midnight"]}
    assert matching("deal", one("last_contacted_on", "more_than_days_ago", 0), ctx) == {ids["before"]}


def test_day_counts_turn_at_local_midnight(db):
    # Los Angeles, now 2026-06-15 10:00 local (17:00 UTC): local midnight of
    # the 12th (today - 3) is 2026-06-12 07:00 UTC.
    ids = contacted(
        on_day_minus_3="2026-06-12 07:00",
        just_before="2026-06-12 06:59:59.999999",
        today="2026-06-15 16:00",
        later_today="2026-06-16 06:59:59.999999",  # 23:59 local, still today
        tomorrow="2026-06-16 07:00",
        never=None,
    )
    ctx = ctx_at("2026-06-15 17:00", "America/Los_Angeles")
    assert matching("deal", one("last_contacted_on", "within_last_days", 3), ctx) == {ids["on_day_minus_3"], ids["today"], ids["later_today"]}
    assert matching("deal", one("last_contacted_on", "more_than_days_ago", 3), ctx) == {ids["just_before"]}
    assert matching("deal", one("last_contacted_on", "more_than_days_ago", 2), ctx) == {ids["just_before"], ids["on_day_minus_3"]}
    assert matching("deal", one("last_contacted_on", "within_last_days", 0), ctx) == {ids["today"], ids["later_today"]}
    assert matching("deal", one("last_contacted_on", "today"), ctx) == {ids["today"], ids["later_today"]}
    assert matching("deal", one("last_contacted_on", "is_empty"), ctx) == {ids["never"]}
    # The same instants read in UTC: the 12th starts seven hours earlier.
    assert matching("deal", one("last_contacted_on", "more_than_days_ago", 3), ctx_at("2026-06-15 17:00")) == set()


def test_days_on_the_spring_forward_day_in_paris(db):
    # 2026-03-29 is 23 hours long in Paris: midnight is 23:00 UTC the day
    # before (CET, +1), the next midnight 22:00 UTC (CEST, +2).
    ids = contacted(
        first_instant="2026-03-28 23:00",
        before_it="2026-03-28 22:59:59.999999",
        last_instant="2026-03-29 21:59:59.999999",
        next_day="2026-03-29 22:00",
    )
    late_on_29th = ctx_at("2026-03-29 21:30", "Europe/Paris")
    assert matching("deal", one("last_contacted_on", "today"), late_on_29th) == {ids["first_instant"], ids["last_instant"]}
    assert matching("deal", one("last_contacted_on", "more_than_days_ago", 0), late_on_29th) == {ids["before_it"]}
    assert matching("deal", one("last_contacted_on", "within_last_days", 1), late_on_29th) == {ids["first_instant"], ids["before_it"], ids["last_instant"]}
    early_on_30th = ctx_at("2026-03-29 22:30", "Europe/Paris")  # 00:30 CEST on the 30th
    assert matching("deal", one("last_contacted_on", "today"), early_on_30th) == {ids["next_day"]}
    assert matching("deal", one("last_contacted_on", "more_than_days_ago", 0), early_on_30th) == {ids["first_instant"], ids["before_it"], ids["last_instant"]}
    assert matching("deal", one("last_contacted_on", "more_than_days_ago", 1), early_on_30th) == {ids["before_it"]}
    assert matching("deal", one("last_contacted_on", "before", "2026-03-29"), early_on_30th) == {ids["before_it"]}
    assert matching("deal", one("last_contacted_on", "after", "2026-03-28"), early_on_30th) == {ids["first_instant"], ids["last_instant"], ids["next_day"]}


def test_days_on_the_fall_back_day_in_paris(db):
    # 2026-10-25 is 25 hours long: from 22:00 UTC on the 24th to 23:00 UTC on the 25th.
    ids = contacted(first="2026-10-24 22:00", last="2026-10-25 22:59:59.999999", next_day="2026-10-25 23:00")
    ctx = ctx_at("2026-10-25 22:30", "Europe/Paris")
    assert matching("deal", one("last_contacted_on", "today"), ctx) == {ids["first"], ids["last"]}
    assert matching("deal", one("last_contacted_on", "after", "2026-10-25"), ctx) == {ids["next_day"]}


def test_before_and_after_are_strict_local_days(db):
    # In Auckland (NZST, +12) the 15th runs from 12:00 UTC on the 14th to 12:00 UTC on the 15th.
    ids = contacted(
        end_of_14th="2026-06-14 11:59:59.999999",
        start_of_15th="2026-06-14 12:00",
        end_of_15th="2026-06-15 11:59:59.999999",
        start_of_16th="2026-06-15 12:00",
        never=None,
    )
    ctx = ctx_at("2026-06-20 00:00", "Pacific/Auckland")
    assert matching("deal", one("last_contacted_on", "before", "2026-06-15"), ctx) == {ids["end_of_14th"]}
    assert matching("deal", one("last_contacted_on", "after", "2026-06-15"), ctx) == {ids["start_of_16th"]}
    # The extremes are allowed and do not overflow in any zone.
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"):
        edge = ctx_at("2026-06-20 00:00", zone)
        assert matching("deal", one("last_contacted_on", "after", "9998-12-31"), edge) == set()
        assert matching("deal", one("last_contacted_on", "before", "1000-01-01"), edge) == set()
        assert matching("deal", one("last_contacted_on", "after", "1000-01-01"), edge) == set(ids.values()) - {ids["never"]}


def test_a_date_field_uses_the_viewers_today(db):
    ids = {
        day: Deal.objects.create(name=day, expected_close_date=date.fromisoformat(day)).id
        for day in ("2026-06-12", "2026-06-13", "2026-06-15", "2026-06-16")
    }
    none = Deal.objects.create(name="none").id
    # 12:30 UTC: the 16th in Auckland, the 15th in Los Angeles.
    auckland, los_angeles = ctx_at("2026-06-15 12:30", "Pacific/Auckland"), ctx_at("2026-06-15 12:30", "America/Los_Angeles")
    assert matching("deal", one("expected_close_date", "today"), auckland) == {ids["2026-06-16"]}
    assert matching("deal", one("expected_close_date", "today"), los_angeles) == {ids["2026-06-15"]}
    assert matching("deal", one("expected_close_date", "within_last_days", 2), los_angeles) == {ids["2026-06-13"], ids["2026-06-15"]}
    assert matching("deal", one("expected_close_date", "more_than_days_ago", 2), los_angeles) == {ids["2026-06-12"]}
    assert matching("deal", one("expected_close_date", "before", "2026-06-15")) == {ids["2026-06-12"], ids["2026-06-13"]}
    assert matching("deal", one("expected_close_date", "after", "2026-06-15")) == {ids["2026-06-16"]}
    assert matching("deal", one("expected_close_date", "is_empty")) == {none}


def test_created_and_closed_datetimes(db):
    old = Deal.objects.create(name="old", created_at=utc("2026-01-01 00:00"), stage="closed_won", closed_at=utc("2026-06-15 08:00")).id
    new = Deal.objects.create(name="new", created_at=utc("2026-06-15 09:00")).id
    assert matching("deal", one("created_at", "today")) == {new}
    assert matching("deal", one("created_at", "more_than_days_ago", 100)) == {old}
    assert matching("deal", one("closed_at", "today")) == {old}
    assert matching("deal", one("closed_at", "is_empty")) == {new}


# --- groups ----------------------------------------------------------------------------------------------


def test_groups_all_any_and_the_empty_cases(named):
    everything = set(named.values())
    assert matching("deal", None) == everything
    assert matching("deal", {}) == everything
    assert matching("deal", {"all": []}) == everything
    assert matching("deal", {"any": []}) == set()
    assert matching("deal", {"any": [{"all": []}]}) == everything
    assert matching("deal", {"any": [{"any": []}, one("name", "equals", "globex")]}) == {named["Globex"]}
    tree = {"all": [one("name", "contains", "acme"), {"any": [one("name", "equals", "ACME"), one("name", "contains", "renewal")]}]}
    assert matching("deal", tree) == {named["ACME"], named["acme"], named["Acme renewal"]}
    tree = {"any": [one("name", "is_empty"), {"all": [one("name", "contains", "acme"), one("name", "not_equals", "acme")]}]}
    assert matching("deal", tree) == {named[""], named["Acme renewal"]}


def test_a_bare_condition_is_stored_as_a_group(db):
    assert check_tree("deal", one("stage", "equals", "proposal")) == {"all": [{"field": "stage", "operator": "equals", "value": "proposal"}]}
    assert check_tree("deal", {"all": [one("stage", "is_empty")]}) == {"all": [{"field": "stage", "operator": "is_empty", "value": None}]}
    assert check_tree("deal", one("stage", "in", ["proposal", "proposal", "negotiation"]))["all"][0]["value"] == ["proposal", "negotiation"]


# --- validation --------------------------------------------------------------------------------------------


def test_errors_name_the_field_operator_or_value(db):
    assert locs_of("deal", {"all": [one("colour", "equals", "red")]}) == ["conditions.all.0.field"]
    assert locs_of("deal", {"all": [one("stage", "equals", "proposal"), one("amount", "contains", "1")]}) == ["conditions.all.1.operator"]
    assert locs_of("deal", {"all": [one("stage", "equals", "won")]}) == ["conditions.all.0.value"]
    assert locs_of("deal", {"all": [{"any": [one("name", "equals", "x"), one("name", "sounds_like", "x")]}]}) == ["conditions.all.0.any.1.operator"]
    # Every problem at once, each at its place.
    assert locs_of("deal", {"any": [one("x", "equals"), one("amount", "greater_than", "lots"), one("stage", "in", [])]}) == [
        "conditions.any.0.field",
        "conditions.any.1.value",
        "conditions.any.2.value",
    ]


def test_errors_use_the_callers_location(db):
    with pytest.raises(Invalid) as raised:
        check_tree("deal", {"all": [one("stage", "equals", "won")]}, loc=("body", "entry_criteria"))
    assert raised.value.errors[0]["loc"] == ["body", "entry_criteria", "all", 0, "value"]


def test_unknown_record_type(db):
    assert locs_of("invoice", {"all": []}) == ["record_type"]


@pytest.mark.parametrize(
    "tree, loc",
    [
        ([one("name", "equals", "x")], "conditions"),  # not an object
        ("name = x", "conditions"),
        ({"all": [1]}, "conditions.all.0"),
        ({"all": one("name", "equals", "x")}, "conditions.all"),  # not a list
        ({"all": [], "any": []}, "conditions"),  # one key per group
        ({"all": [], "note": "x"}, "conditions"),
        ({"all": [{**one("name", "equals", "x"), "negate": True}]}, "conditions.all.0.negate"),
        ({"all": [{"operator": "equals", "value": "x"}]}, "conditions.all.0.field"),
        ({"all": [{"field": 3, "operator": "equals", "value": "x"}]}, "conditions.all.0.field"),
        ({"all": [{"field": "name", "value": "x"}]}, "conditions.all.0.operator"),
        ({"all": [{"field": "name", "operator": "equals"}]}, "conditions.all.0.value"),
        ({"all": [{"field": "name", "operator": "equals", "value": None}]}, "conditions.all.0.value"),
        ({"all": [one("name", "is_empty", "x")]}, "conditions.all.0.value"),
        ({"all": [one("last_contacted_on", "today", 1)]}, "conditions.all.0.value"),
    ],
)
def test_malformed_trees(db, tree, loc):
    assert locs_of("deal", tree) == [loc]


@pytest.mark.parametrize(
    "field, operator, value",
    [
        ("name", "equals", 5),
        ("name", "equals", True),
        ("name", "equals", "x" * (MAX_TEXT + 1)),
        ("name", "contains", ["x"]),
        ("name", "in", "x"),
        ("name", "in", []),
        ("name", "in", ["x"] * (MAX_IN_VALUES + 1)),
        ("stage", "equals", "Proposal"),
        ("last_contacted_via", "equals", "email"),
        ("amount", "equals", True),  # a boolean is not a number
        ("amount", "equals", "lots"),
        ("amount", "equals", "NaN"),
        ("amount", "equals", "Infinity"),
        ("amount", "greater_than", "1e12"),
        ("amount", "less_than", [1]),
        ("touchpoint_count", "equals", True),
        ("touchpoint_count", "equals", 1.5),
        ("touchpoint_count", "equals", "2"),
        ("touchpoint_count", "greater_than", -1),
        ("owner", "equals", True),
        ("owner", "equals", "someone"),
        ("owner", "equals", 999999),  # no such user
        ("last_contacted_on", "within_last_days", True),
        ("last_contacted_on", "within_last_days", 3.0),
        ("last_contacted_on", "within_last_days", "3"),
        ("last_contacted_on", "more_than_days_ago", -1),
        ("last_contacted_on", "more_than_days_ago", 36501),
        ("last_contacted_on", "before", "2026-02-30"),
        ("last_contacted_on", "before", "yesterday"),
        ("last_contacted_on", "after", 20260101),
        ("last_contacted_on", "after", "9999-12-31"),
        ("last_contacted_on", "before", "0001-01-01"),
        ("expected_close_date", "before", "2026-13-01"),
    ],
)
def test_bad_values_are_named(db, field, operator, value):
    # A bad item of an "in" list is named by its place: conditions.all.0.value.1.
    (loc,) = locs_of("deal", {"all": [one(field, operator, value)]})
    assert loc == "conditions.all.0.value" or (operator == "in" and loc.startswith("conditions.all.0.value."))


@pytest.mark.parametrize(
    "field, value",
    [("name", ["x", 3]), ("name", ["x", "y" * (MAX_TEXT + 1)]), ("stage", ["proposal", "won"]), ("owner", ["me", 999999])],
)
def test_a_bad_item_of_a_list_is_named_by_its_place(db, field, value):
    assert locs_of("deal", {"all": [one(field, "in", value)]}) == ["conditions.all.0.value.1"]


def test_values_at_the_limits_are_accepted(db):
    check_tree("deal", one("name", "equals", "x" * MAX_TEXT))
    check_tree("deal", one("name", "in", [str(i) for i in range(MAX_IN_VALUES)]))
    check_tree("deal", one("last_contacted_on", "more_than_days_ago", 36500))
    check_tree("deal", one("amount", "less_than", "-999999999999.99"))


def nested(depth: int) -> dict:
    tree: dict = one("name", "equals", "x")
    for _ in range(depth):
        tree = {"all": [tree]}
    return tree


def test_depth_limit(db):
    check_tree("deal", nested(MAX_DEPTH))
    [(loc, msg)] = errors_of("deal", nested(MAX_DEPTH + 1))
    assert loc == "conditions" + ".all.0" * MAX_DEPTH + ".all"
    assert str(MAX_DEPTH) in msg


def test_condition_count_limit(db):
    check_tree("deal", {"all": [one("name", "equals", str(i)) for i in range(MAX_CONDITIONS)]})
    # Counted across groups, and reported once, at the first one over.
    tree = {"any": [{"all": [one("name", "equals", str(i)) for i in range(MAX_CONDITIONS - 1)]}, one("name", "is_empty"), one("name", "is_empty")]}
    [(loc, msg)] = errors_of("deal", tree)
    assert loc == "conditions.any.2"
    assert str(MAX_CONDITIONS) in msg


def test_fields_belong_to_the_record_type(db):
    assert locs_of("contact", one("stage", "equals", "proposal")) == ["conditions.field"]  # a bare condition
    assert locs_of("organization", {"all": [one("amount", "equals", 1)]}) == ["conditions.all.0.field"]
    assert locs_of("deal", {"all": [one("open_deal_count", "equals", 1)]}) == ["conditions.all.0.field"]
    assert locs_of("contact", {"all": [one("contact_count", "equals", 1)]}) == ["conditions.all.0.field"]


def test_one_context_serves_many_trees_and_record_types(db):
    org = Organization.objects.create(name="Grasspods")
    deal = Deal.objects.create(name="d", organization=org)
    ctx = ctx_at("2026-06-15 12:00")
    assert matching("organization", one("open_deal_count", "equals", 1), ctx) == {org.id}
    assert ctx.counts_needed == {"open_deal_count"}
    # The organization's count is not carried over to a deal tree.
    assert matching("deal", one("contact_count", "equals", 0), ctx) == {deal.id}
    assert ctx.counts_needed == {"contact_count"}
    assert matching("deal", one("name", "equals", "d"), ctx) == {deal.id}
    assert ctx.counts_needed == set()
