"""Headers to fields: ours, common words, and Vtiger's export labels."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from config.errors import Invalid
from imports import columns, values

# Vtiger CRM 7's export headers (field labels), as its Export writes them.
VTIGER_CONTACTS = ["Salutation", "First Name", "Last Name", "Contact Id", "Office Phone", "Organization Name", "Mobile Phone", "Lead Source",
                   "Home Phone", "Title", "Other Phone", "Department", "Primary Email", "Secondary Email", "Assigned To", "Created Time", "Description"]
VTIGER_ORGANIZATIONS = ["Organization Name", "Organization No", "Website", "Phone", "Ticker Symbol", "Other Phone", "Employees", "Email", "Industry",
                        "Type", "Assigned To", "Created Time", "Modified Time", "Annual Revenue", "Billing City", "Description"]
VTIGER_DEALS = ["Opportunity Name", "Opportunity No", "Amount", "Organization Name", "Contact Name", "Expected Close Date", "Next Step", "Lead Source",
                "Type", "Sales Stage", "Probability", "Assigned To", "Created Time", "Description"]
VTIGER_ACTIVITIES = ["Subject", "Assigned To", "Start Date & Time", "Due Date", "Status", "Activity Type", "Contact Name", "Related To", "Description", "Duration"]


def test_a_vtiger_contacts_export_maps_without_help():
    assert columns.resolve_mapping("contacts", VTIGER_CONTACTS, None) == {
        "First Name": "first_name", "Last Name": "last_name", "Contact Id": "external_id", "Office Phone": "phone",
        "Organization Name": "organization", "Mobile Phone": "phone", "Home Phone": "phone", "Title": "title", "Other Phone": "phone",
        "Primary Email": "email", "Secondary Email": "email", "Assigned To": "owner",
    }


def test_vtiger_organizations_deals_and_activities_map_without_help():
    assert columns.resolve_mapping("organizations", VTIGER_ORGANIZATIONS, None) == {
        "Organization Name": "name", "Organization No": "external_id", "Website": "website", "Phone": "phone", "Industry": "industry", "Assigned To": "owner",
    }
    assert columns.resolve_mapping("deals", VTIGER_DEALS, None) == {
        "Opportunity Name": "name", "Opportunity No": "external_id", "Amount": "amount", "Organization Name": "organization",
        "Expected Close Date": "expected_close_date", "Sales Stage": "stage", "Assigned To": "owner",
    }
    assert columns.resolve_mapping("touchpoints", VTIGER_ACTIVITIES, None) == {
        "Subject": "subject", "Assigned To": "owner", "Start Date & Time": "occurred_at", "Status": "status", "Activity Type": "kind",
        "Related To": "organization", "Description": "summary", "Duration": "duration_seconds",
    }


def test_an_override_wins_and_an_empty_one_ignores_the_column():
    mapping = columns.resolve_mapping("contacts", ["Surname", "Nick", "Email"], {"Nick": "first_name", "Email": ""})
    assert mapping == {"Surname": "last_name", "Nick": "first_name"}


@pytest.mark.parametrize(
    ("headers", "overrides", "loc", "words"),
    [
        (["Surname"], {"Mail": "email"}, ["mapping", "Mail"], "no column 'Mail'"),
        (["Surname", "X"], {"X": "shoe_size"}, ["mapping", "X"], "'shoe_size' is not a contacts field"),
        (["First Name", "Email"], None, ["mapping"], "no column holds last_name"),
    ],
)
def test_a_bad_mapping_names_the_column(headers, overrides, loc, words):
    with pytest.raises(Invalid) as caught:
        columns.resolve_mapping("contacts", headers, overrides)
    assert caught.value.errors[0]["loc"] == loc
    assert words in caught.value.errors[0]["msg"]


def test_cells_are_read_as_people_write_them():
    us, eu = {"time_zone": "Europe/Berlin"}, {"day_first": True, "time_zone": "UTC"}
    assert values.parse_date("2026-03-04", us) == date(2026, 3, 4)
    assert values.parse_date("03-04-2026", us) == date(2026, 3, 4)
    assert values.parse_date("03/04/2026", eu) == date(2026, 4, 3)
    assert values.parse_date("25-12-2026", us) == date(2026, 12, 25)  # only one reading is a date
    assert values.parse_datetime("2026-03-04 10:30:00", us) == datetime(2026, 3, 4, 9, 30, tzinfo=UTC)  # the importer's zone
    assert values.parse_datetime("2026-03-04T10:30:00+00:00", us) == datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
    assert values.parse_datetime("03-04-2026 02:15 PM", eu) == datetime(2026, 4, 3, 14, 15, tzinfo=UTC)
    assert values.amount("$1,250.50", us) == Decimal("1250.50")
    assert values.duration("1:02:03", us) == 3723
    assert values.stage("Negotiation/Review", us) == "negotiation"
    assert values.stage("Closed Won", us) == "closed_won"
    assert values.kind("Call", us) == ("event", "call")
    assert values.kind("phone_call", us) == ("phone_call", None)
    assert values.reference("Accounts::::Grasspods", us) == ("Accounts", "Grasspods")
    assert values.phone("(202) 555-0143", us) == "+12025550143"
    for parser, cell in ((values.parse_date, "31-31-2026"), (values.amount, "lots"), (values.kind, "case"), (values.stage, "Dreaming")):
        with pytest.raises(ValueError):
            parser(cell, us)
