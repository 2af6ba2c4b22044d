"""Import jobs end to end on the real database: records through the same
services as the API, duplicates, the error report, batches that commit
whole, and a crashed job that resumes without writing a row twice."""
from __future__ import annotations

import csv

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from crm.models import Contact, Deal, Organization
from imports import services
from imports.models import ImportJob, ImportRowError
from touchpoints.models import Touchpoint

VTIGER_CONTACTS = [
    ["Salutation", "First Name", "Last Name", "Contact Id", "Office Phone", "Organization Name", "Mobile Phone", "Title", "Primary Email", "Secondary Email", "Assigned To"],
    ["Mr.", "John", "Doe", "CON1", "(202) 555-0143", "Accounts::::Grasspods", "", "CTO", "john@grasspods.example", "", "alice"],
    ["Ms.", "Jane", "Roe", "CON2", "", "Accounts::::Grasspods", "+44 20 7946 0958", "CEO", "JANE@grasspods.example", "jane@home.example", ""],
    ["", "", "", "CON3", "", "", "", "", "not-an-email", "", ""],
    ["", "Max", "Nobody", "CON4", "", "", "", "", "max@x.example", "", "ghost"],
    ["", "Johnny", "Doe", "CON5", "", "", "", "", "john@grasspods.example", "", ""],
]


def run(actor, record_type, path, **options) -> ImportJob:
    job = services.do_create_job(actor, record_type, path, **options)
    return services.run_import(job.id)


def report(job) -> list[list[str]]:
    with open(services.error_report_path(job), newline="") as f:
        return list(csv.reader(f))


def test_a_vtiger_contacts_export_imports_with_its_organizations(alice, write_csv):
    job = run(alice.user, "contacts", write_csv(VTIGER_CONTACTS))

    assert (job.status, job.created, job.skipped, job.failed, job.rows_done) == ("done", 2, 1, 2, 5)
    john, jane = Contact.objects.order_by("id")
    assert (john.full_name, john.external_id, john.title, john.owner_id) == ("John Doe", "CON1", "CTO", alice.user.id)
    assert list(john.phones.values_list("number", flat=True)) == ["+12025550143"]
    assert list(jane.emails.order_by("position").values_list("email", flat=True)) == ["jane@grasspods.example", "jane@home.example"]
    assert john.organization_id == jane.organization_id == Organization.objects.get(name="Grasspods").id  # created once
    assert report(job) == [
        ["row", "column", "reason"],
        ["4", "Primary Email / Secondary Email", "'not-an-email' is not an email address"],
        ["4", "Last Name", "is required and empty"],
        ["5", "Assigned To", "no user is called 'ghost' (a username, email or full name); map the column to nothing to own the rows yourself"],
    ]


def test_a_duplicate_is_skipped_or_updated_by_choice(alice, write_csv):
    run(alice.user, "contacts", write_csv(VTIGER_CONTACTS[:3]))
    again = write_csv([["Email", "Phone", "Last Name", "Title"], ["john@grasspods.example", "+1 202 555 0199", "Doe", "CIO"]], name="again.csv")

    skipped = run(alice.user, "contacts", again)
    assert (skipped.created, skipped.skipped) == (0, 1)
    assert Contact.objects.get(external_id="CON1").title == "CTO"

    updated = run(alice.user, "contacts", again, on_duplicate="update")
    john = Contact.objects.get(external_id="CON1")
    assert (updated.created, updated.updated, john.title, Contact.objects.count()) == (0, 1, "CIO", 2)
    assert list(john.phones.order_by("position").values_list("number", flat=True)) == ["+12025550143", "+12025550199"]  # added, none removed


def test_an_outsiders_contacts_are_not_duplicates_and_are_never_updated(alice, charlie, write_csv):
    run(alice.user, "contacts", write_csv(VTIGER_CONTACTS[:2]))
    job = run(charlie.user, "contacts", write_csv([["Last Name", "Email", "Title"], ["Doe", "john@grasspods.example", "Spy"]]), on_duplicate="update")

    assert (job.created, job.updated) == (1, 0)
    assert Contact.objects.get(external_id="CON1").title == "CTO"


def test_organizations_and_deals_import_and_match_by_external_id(alice, write_csv):
    orgs = write_csv([["Organization Name", "Organization No", "Website", "Industry"], ["Grasspods", "ACC1", "grasspods.example", "Retail"], ["Acme", "ACC2", "", ""]])
    deals = write_csv(
        [
            ["Opportunity Name", "Opportunity No", "Amount", "Organization Name", "Expected Close Date", "Sales Stage"],
            ["Renewal", "POT1", "$12,500.00", "Accounts::::Grasspods", "12-31-2026", "Negotiation/Review"],
            ["Pilot", "POT2", "900", "Accounts::::Acme", "2026-06-30", "Closed Won"],
            ["Broken", "POT3", "lots", "", "", "Dreaming"],
        ],
        name="deals.csv",
    )
    assert run(alice.user, "organizations", orgs).created == 2
    job = run(alice.user, "deals", deals)

    assert (job.created, job.failed) == (2, 1)
    renewal = Deal.objects.get(external_id="POT1")
    assert (renewal.organization.external_id, str(renewal.amount), str(renewal.expected_close_date), renewal.stage) == ("ACC1", "12500.00", "2026-12-31", "negotiation")
    assert Deal.objects.get(external_id="POT2").closed_at is not None  # created closed
    assert Organization.objects.count() == 2
    assert {r.column for r in ImportRowError.objects.filter(job=job)} == {"Amount", "Sales Stage"}
    assert run(alice.user, "organizations", orgs).skipped == 2


def test_touchpoints_link_by_email_and_a_second_import_writes_nothing(alice, world, write_csv):
    path = write_csv(
        [
            ["Type", "Date", "Subject", "Email", "Direction", "Status", "Duration"],
            ["Email", "2024-03-01 09:00", "Quote", "CAROL@grasspods.example", "outbound", "sent", ""],
            ["Call", "2024-03-02 10:00", "Kickoff call", "carol@grasspods.example", "", "Held", "0:30:00"],
            ["SMS", "2024-03-03 11:00", "", "nobody@x.example", "", "", ""],
            ["Case", "2024-03-04 12:00", "", "", "", "", ""],
        ]
    )
    job = run(alice.user, "touchpoints", path)

    assert (job.created, job.failed) == (2, 2)
    email, call = Touchpoint.objects.filter(source="import").order_by("occurred_at")
    assert (email.kind, email.status, email.direction, email.owner_id) == ("email", "sent", "outbound", alice.user.id)
    assert (call.kind, call.event_type, call.status, call.duration_seconds) == ("event", "call", "held", 1800)
    carol = Contact.objects.get(id=world["carol"])
    assert (carol.last_contacted_via, carol.last_contacted_on) == ("Call", call.occurred_at)
    assert [r.column for r in ImportRowError.objects.filter(job=job).order_by("row")] == ["Email", "Type"]

    again = run(alice.user, "touchpoints", path)
    assert (again.created, again.skipped, Touchpoint.objects.filter(source="import").count()) == (0, 2, 2)


def test_a_crashed_job_resumes_after_its_last_batch_without_duplicates(alice, write_csv, monkeypatch):
    monkeypatch.setattr(services, "BATCH_ROWS", 10)
    rows = [["Last Name", "Email"]] + [[f"Person {i}", ""] for i in range(35)]  # no key: a re-written row would be a duplicate
    job = services.do_create_job(alice.user, "contacts", write_csv(rows))

    def crash_after_two_batches(j):
        if j.rows_done == 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        services.run_import(job.id, progress=crash_after_two_batches)
    job.refresh_from_db()
    assert (job.status, job.rows_done, Contact.objects.count()) == ("running", 20, 20)
    assert 0 < job.progress < 1

    done = services.run_import(job.id)
    assert (done.status, done.rows_done, done.created, done.progress) == ("done", 35, 35, 1.0)
    assert sorted(Contact.objects.values_list("last_name", flat=True)) == sorted(f"Person {i}" for i in range(35))


def test_a_batch_is_all_or_nothing(alice, write_csv, monkeypatch):
    """A failure inside a batch (here: the database refusing the checkpoint)
    leaves none of the batch's records."""
    monkeypatch.setattr(services, "BATCH_ROWS", 10)
    job = services.do_create_job(alice.user, "contacts", write_csv([["Last Name"]] + [[f"P{i}"] for i in range(15)]))
    original = services._headers_by_field
    calls = []

    def fail_second_batch(j):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(j)

    monkeypatch.setattr(services, "_headers_by_field", fail_second_batch)
    with pytest.raises(RuntimeError):
        services.run_import(job.id)
    job.refresh_from_db()
    assert (job.rows_done, Contact.objects.count(), ImportRowError.objects.count()) == (10, 10, 0)


def test_a_second_runner_stops_instead_of_writing_a_batch_twice(alice, write_csv, monkeypatch):
    monkeypatch.setattr(services, "BATCH_ROWS", 5)
    job = services.do_create_job(alice.user, "contacts", write_csv([["Last Name"]] + [[f"P{i}"] for i in range(12)]))
    stale = ImportJob.objects.get(id=job.id)
    services.run_import(job.id, progress=lambda j: None)
    stale.status = "running"
    with pytest.raises(services.Superseded):  # it started from rows_done=0, which has moved
        services._commit_batch(stale, alice.user, [], 5, 0, None, None)
    assert Contact.objects.count() == 12


def test_a_file_that_is_not_csv_text_fails_with_the_reason(alice, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"Last Name\n" + b"Doe\n" * 3 + b"\xff\xfe\x00bad\n")
    job = run(alice.user, "contacts", path)
    assert job.status == "failed"
    assert "cannot be read" in job.error


def test_semicolons_and_a_byte_order_mark_are_read(alice, write_csv):
    job = run(alice.user, "contacts", write_csv([["Nom", "Last Name", "E-Mail"], ["x", "Müller", "m@x.example"]], delimiter=";", bom=True))
    assert job.created == 1
    assert Contact.objects.get().emails.get().email == "m@x.example"
    assert job.ignored_columns == ["Nom"]


def test_the_command_imports_reports_and_resumes(alice, write_csv, capsys, monkeypatch):
    path = write_csv(VTIGER_CONTACTS)
    call_command("import", "contacts", str(path), "--user", "alice", "--map", "Title=")
    out = capsys.readouterr().out
    assert "2 created, 0 updated, 1 duplicates skipped, 2 rows refused" in out
    assert Contact.objects.get(external_id="CON1").title == ""  # the column was ignored

    ImportJob.objects.update(status="running", rows_done=0)  # as if it had died at once
    call_command("import", "contacts", str(path), "--user", "alice")
    assert "resuming" not in capsys.readouterr().out.lower()  # the resume message goes to stderr
    assert Contact.objects.count() == 2

    with pytest.raises(CommandError, match="mapping.Nope"):
        call_command("import", "contacts", str(path), "--user", "alice", "--map", "Nope=last_name", "--restart")


def test_the_export_command_writes_what_the_user_sees(alice, charlie, world, tmp_path):
    call_command("export", "contacts", str(tmp_path / "mine.csv"), "--user", "alice")
    call_command("export", "contacts", str(tmp_path / "theirs.xlsx"), "--user", "charlie")
    with open(tmp_path / "mine.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 3 and rows[0][:2] == ["First name", "Last name"]
    from openpyxl import load_workbook

    assert load_workbook(tmp_path / "theirs.xlsx").active.max_row == 1  # the header only


def test_our_own_export_imports_back(alice, world, tmp_path):
    """Export, empty the CRM, import the files: the records come back."""
    alice.patch(f"contacts/{world['carol']}", {"emails": ["carol@grasspods.example", "c.ng@home.example"], "phones": ["+12025550143"]})
    alice.patch(f"deals/{world['deal']}", {"amount": "1200.50", "stage": "negotiation", "expected_close_date": "2026-09-30"})
    for name in ("organizations", "contacts", "deals"):
        call_command("export", name, str(tmp_path / f"{name}.csv"), "--user", "alice")
    Deal.objects.all().delete()
    Contact.objects.all().delete()
    Organization.objects.all().delete()

    for name in ("organizations", "contacts", "deals"):
        job = run(alice.user, name, tmp_path / f"{name}.csv")
        assert (job.failed, job.skipped) == (0, 0), list(ImportRowError.objects.filter(job=job).values_list("column", "reason"))

    carol = Contact.objects.get(last_name="Ng")
    # The export's Email column is the primary address (a list column), so that is what comes back.
    assert list(carol.emails.values_list("email", flat=True)) == ["carol@grasspods.example"]
    assert list(carol.phones.values_list("number", flat=True)) == ["+12025550143"]
    assert carol.organization.name == "Grasspods" and Organization.objects.count() == 1
    deal = Deal.objects.get()
    assert (deal.name, str(deal.amount), deal.stage, str(deal.expected_close_date), deal.organization_id) == (
        "Grasspods renewal", "1200.50", "negotiation", "2026-09-30", carol.organization_id
    )
    assert {c.owner_id for c in Contact.objects.all()} == {alice.user.id}


def test_an_unexpected_error_stops_the_job_and_the_command_resumes_it(alice, write_csv, monkeypatch):
    monkeypatch.setattr(services, "BATCH_ROWS", 5)
    path = write_csv([["Last Name"]] + [[f"P{i}"] for i in range(12)])
    job = services.do_create_job(alice.user, "contacts", path)
    real = services._commit_batch

    def database_gone(job, *args):
        if job.rows_done == 5:
            raise RuntimeError("server closed the connection")
        return real(job, *args)

    monkeypatch.setattr(services, "_commit_batch", database_gone)
    with pytest.raises(RuntimeError):
        services.run_import(job.id)
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.error) == ("failed", 5, "stopped after row 6: RuntimeError('server closed the connection')")
    assert services.run_import(job.id).status == "failed"  # the worker's resume leaves it alone

    monkeypatch.setattr(services, "_commit_batch", real)
    call_command("import", "contacts", str(path), "--user", "alice")
    job.refresh_from_db()
    assert (job.status, job.created, job.error, Contact.objects.count()) == ("done", 12, "", 12)
