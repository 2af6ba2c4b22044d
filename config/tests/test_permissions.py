"""Who sees and changes what, on every endpoint (NetBox-style table).

The personas (conftest.py): alice owns the records; bob is her teammate
(team east) and sees and edits them; charlie is on team west and must not
learn they exist (404, never 403, and absent from lists); manager and admin
see everything; a request without credentials gets 401.

Each entry of ``TABLE`` is one operation, as the OpenAPI document names it,
with the answer each persona gets on alice's records; it expands into one
test per (method, path, persona, expected status). A new endpoint is a new
entry: ``test_every_operation_has_a_row`` fails until it has one.

Deleting is stricter than editing: a rep deletes only what they own
(crm.permissions.can_delete), so bob gets 403 there.
"""
from __future__ import annotations

import importlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from conftest import at
from emails.tests.conftest import make_mail
from telephony.tests.standin import provider_standin  # noqa: F401 - a fixture

from config.tests.outcomes import Multipart  # noqa: E402
from config.tests.outcomes import ADMIN_ONLY, AUTH_REQUIRED, BLIND, CREATE, CREATE_ON_ALICES, DELETE, LIST, PERSONAS, PRIVATE, READ, ROW_APPS, SEES, each  # noqa: E402

CLOSED_PORT = 9  # discard: nothing listens on loopback here

# (method, path as in the OpenAPI document without /api/v1) -> expected answer per persona.
TABLE: dict[tuple[str, str], dict[str, int | str]] = {
    ("GET", "/me"): each(200, 200, 200, 200, 200),  # everyone sees themselves
    ("GET", "/organizations"): LIST,
    ("POST", "/organizations"): CREATE,
    ("GET", "/organizations/{organization_id}"): READ,
    ("PATCH", "/organizations/{organization_id}"): READ,
    ("DELETE", "/organizations/{organization_id}"): DELETE,
    ("GET", "/organizations/{record_id}/timeline"): READ,
    ("GET", "/organizations/{record_id}/up-next"): READ,
    ("GET", "/contacts"): LIST,
    ("POST", "/contacts"): CREATE_ON_ALICES,
    ("GET", "/contacts/{contact_id}"): READ,
    ("PATCH", "/contacts/{contact_id}"): READ,
    ("DELETE", "/contacts/{contact_id}"): DELETE,
    ("GET", "/contacts/{record_id}/timeline"): READ,
    ("GET", "/contacts/{record_id}/up-next"): READ,
    ("GET", "/deals"): LIST,
    ("POST", "/deals"): CREATE_ON_ALICES,
    ("GET", "/deals/{deal_id}"): READ,
    ("PATCH", "/deals/{deal_id}"): READ,
    ("DELETE", "/deals/{deal_id}"): DELETE,
    ("POST", "/deals/{deal_id}/contacts"): READ,  # link: an edit of the deal, so teammates may
    ("DELETE", "/deals/{deal_id}/contacts/{contact_id}"): READ,  # unlink: likewise, 200 with the deal
    ("GET", "/deals/{record_id}/timeline"): READ,
    ("GET", "/deals/{record_id}/up-next"): READ,
    ("GET", "/events"): LIST,
    ("POST", "/events"): CREATE_ON_ALICES,
    ("GET", "/events/{event_id}"): READ,
    ("PATCH", "/events/{event_id}"): READ,
    ("DELETE", "/events/{event_id}"): DELETE,
    ("GET", "/tasks"): LIST,
    ("POST", "/tasks"): CREATE_ON_ALICES,
    ("GET", "/tasks/{task_id}"): READ,
    ("PATCH", "/tasks/{task_id}"): READ,
    ("DELETE", "/tasks/{task_id}"): DELETE,
    ("GET", "/touchpoints"): LIST,
    ("POST", "/touchpoints"): CREATE_ON_ALICES,
    # Per item: charlie's item fails inside a 200 (test_batch_reports_charlies_item_as_failed).
    ("POST", "/touchpoints/batch"): each(200, 200, 200, 200, 200),
    ("GET", "/touchpoints/{touchpoint_id}"): READ,
    ("PATCH", "/touchpoints/{touchpoint_id}"): READ,
    ("DELETE", "/touchpoints/{touchpoint_id}"): DELETE,
    # --- email (issue #4) ---
    ("POST", "/emails/raw"): CREATE,  # the uploader's own mail
    ("GET", "/emails/{email_id}"): READ,
    ("GET", "/emails/threads/{thread_id}"): READ,
    ("GET", "/documents/{document_id}"): READ,
    ("GET", "/emails/unmatched"): LIST,
    ("POST", "/emails/unmatched/contact"): CREATE,  # takes only the mail its maker may see (emails/tests/test_ingest.py)
    ("POST", "/emails/send"): CREATE_ON_ALICES,
    ("POST", "/campaigns"): CREATE_ON_ALICES,
    ("GET", "/campaigns/{campaign_id}"): READ,
    ("GET", "/email-templates"): each(200, 200, 200, 200, 200),  # shared by everyone
    ("POST", "/email-templates"): CREATE,
    ("GET", "/email-rules"): LIST,
    ("POST", "/email-rules"): CREATE_ON_ALICES,
    ("DELETE", "/email-rules/{rule_id}"): DELETE,
    ("GET", "/engagements"): LIST,
    # Mailboxes are personal: only their user and admins.
    ("GET", "/mailboxes"): each(200, 200, 200, 200, 200),  # one's own
    ("POST", "/mailboxes"): CREATE,
    ("POST", "/mailboxes/test"): each(200, 200, 200, 200, 200),  # {"ok": false}: nothing listens there
    ("GET", "/mailboxes/{mailbox_id}"): PRIVATE,
    ("PATCH", "/mailboxes/{mailbox_id}"): PRIVATE,
    ("DELETE", "/mailboxes/{mailbox_id}"): each(204, 404, 404, 404, 204),
    ("POST", "/mailboxes/{mailbox_id}/test"): PRIVATE,
    ("POST", "/mailboxes/{mailbox_id}/sync"): PRIVATE,
    ("GET", "/mailboxes/{mailbox_id}/rejections"): PRIVATE,
    ("GET", "/me/drop-address"): each(200, 200, 200, 200, 200),
    ("GET", "/contacts/{record_id}/emotional-journey"): READ,
    ("GET", "/deals/{record_id}/emotional-journey"): READ,
    ("GET", "/organizations/{record_id}/emotional-journey"): READ,
    # --- telephony (issue #5) ---
    ("POST", "/sms"): CREATE_ON_ALICES,
    ("GET", "/sms"): LIST,
    ("POST", "/calls"): CREATE_ON_ALICES,  # click-to-call Carol
    ("POST", "/calls/log"): CREATE_ON_ALICES,
    ("GET", "/calls"): LIST,
    ("GET", "/calls/{call_id}"): READ,
    ("GET", "/telephony/providers"): ADMIN_ONLY,
    ("PUT", "/telephony/providers/{provider}"): ADMIN_ONLY,
    ("PATCH", "/me"): each(200, 200, 200, 200, 200),  # one's own phone
    # --- documents, cases, portal (issue #6) ---
    ("POST", "/documents"): CREATE_ON_ALICES,  # shared with carol
    ("GET", "/documents"): LIST,
    ("DELETE", "/documents/{document_id}"): DELETE,
    ("GET", "/documents/{document_id}/shares"): READ,
    ("POST", "/documents/{document_id}/shares"): each(201, 201, 404, 201, 201),
    ("DELETE", "/documents/{document_id}/shares/{share_id}"): each(204, 204, 404, 204, 204),  # the owner's team may take a share back
    ("GET", "/organizations/{record_id}/documents"): READ,
    ("GET", "/contacts/{record_id}/documents"): READ,
    ("GET", "/deals/{record_id}/documents"): READ,
    ("GET", "/cases"): LIST,
    ("POST", "/cases"): CREATE_ON_ALICES,
    ("GET", "/cases/{case_id}"): READ,
    ("PATCH", "/cases/{case_id}"): READ,
    ("DELETE", "/cases/{case_id}"): DELETE,
    ("GET", "/cases/{case_id}/comments"): READ,
    ("POST", "/cases/{case_id}/comments"): each(201, 201, 404, 201, 201),
    ("GET", "/deals/{deal_id}/one-view"): READ,
    ("GET", "/contacts/{record_id}/portal-account"): READ,
    ("POST", "/contacts/{record_id}/portal-invitation"): each(201, 201, 404, 201, 201),
    ("POST", "/contacts/{record_id}/portal-account/revoke"): READ,  # who may edit the contact may turn access off
    # --- record sharing (issue #10, crm.api_shares): the owner's team, managers and admins ---
    **{
        row: outcome
        for collection in ("organizations", "contacts", "deals")
        for row, outcome in (
            (("GET", f"/{collection}/{{record_id}}/shares"), READ),
            (("POST", f"/{collection}/{{record_id}}/shares"), each(201, 201, 404, 201, 201)),
            (("DELETE", f"/{collection}/{{record_id}}/shares/{{share_id}}"), each(204, 204, 404, 204, 204)),
        )
    },
}

# The request bodies; ``ids`` are alice's records (the ``records`` fixture).
BODIES = {
    ("POST", "/organizations"): lambda ids: {"name": "Own org"},
    ("PATCH", "/organizations/{organization_id}"): lambda ids: {"industry": "Retail"},
    ("POST", "/contacts"): lambda ids: {"last_name": "Ito", "organization_id": ids["org"]},
    ("PATCH", "/contacts/{contact_id}"): lambda ids: {"title": "CTO"},
    ("POST", "/deals"): lambda ids: {"name": "Upsell", "organization_id": ids["org"]},
    ("PATCH", "/deals/{deal_id}"): lambda ids: {"stage": "negotiation"},
    ("POST", "/deals/{deal_id}/contacts"): lambda ids: {"contact_id": ids["dave"], "role": "influencer"},
    ("POST", "/events"): lambda ids: {
        "subject": "Demo",
        "start_at": at("2030-01-02 10:00"),
        "end_at": at("2030-01-02 11:00"),
        "contact_ids": [ids["carol"]],
    },
    ("PATCH", "/events/{event_id}"): lambda ids: {"description": "Agenda attached"},
    ("POST", "/tasks"): lambda ids: {"title": "Call back", "due_date": "2030-01-03", "contact_id": ids["carol"]},
    ("PATCH", "/tasks/{task_id}"): lambda ids: {"status": "in_progress"},
    ("POST", "/touchpoints"): lambda ids: {"kind": "email", "occurred_at": at("2024-03-01 09:00"), "contact_ids": [ids["carol"]]},
    ("POST", "/touchpoints/batch"): lambda ids: {
        "items": [{"kind": "sms", "occurred_at": at("2024-03-02 09:00"), "contact_ids": [ids["carol"]]}]
    },
    ("PATCH", "/touchpoints/{touchpoint_id}"): lambda ids: {"subject": "Re: renewal"},
    ("POST", "/emails/raw"): lambda ids: make_mail(message_id="<upload@grasspods.example>"),
    ("POST", "/emails/unmatched/contact"): lambda ids: {"address": "erin@newco.example", "last_name": "Park"},
    ("POST", "/emails/send"): lambda ids: {"to": ["carol@grasspods.example"], "subject": "Hi", "body_text": "Hello", "contact_ids": [ids["carol"]]},
    ("POST", "/campaigns"): lambda ids: {"name": "Spring", "subject": "News", "body_html": "<p>Hi</p>", "contact_ids": [ids["carol"]]},
    ("POST", "/email-templates"): lambda ids: {"name": "Follow-up", "subject": "Hi {{ first_name }}", "body_html": "<p>Hello</p>"},
    ("POST", "/email-rules"): lambda ids: {"domain": "newco.example", "organization_id": ids["org"]},
    ("POST", "/mailboxes"): lambda ids: {**MAILBOX, "username": "another"},
    ("POST", "/mailboxes/test"): lambda ids: MAILBOX,
    ("PATCH", "/mailboxes/{mailbox_id}"): lambda ids: {"sent_folder": "Sent Items"},
    ("POST", "/sms"): lambda ids: {"text": "See you at 3pm", "contact_ids": [ids["carol"]]},
    ("POST", "/calls"): lambda ids: {"contact_id": ids["carol"], "agent_number": "+12025550177"},
    ("POST", "/calls/log"): lambda ids: {"contact_id": ids["carol"], "status": "completed", "duration_seconds": 60},
    ("PUT", "/telephony/providers/{provider}"): lambda ids: {"from_number": "+12025550101"},
    ("PATCH", "/me"): lambda ids: {"phone": "+12025550188"},
    ("POST", "/documents"): lambda ids: Multipart({"file": SimpleUploadedFile("terms.pdf", b"%PDF-1.4 terms", content_type="application/pdf"), "contact_ids": [ids["carol"]]}),
    ("POST", "/documents/{document_id}/shares"): lambda ids: {"organization_id": ids["org"]},
    ("POST", "/cases"): lambda ids: {"title": "Login fails", "contact_id": ids["carol"]},
    ("PATCH", "/cases/{case_id}"): lambda ids: {"status": "in_progress"},
    ("POST", "/cases/{case_id}/comments"): lambda ids: {"body": "Looking into it"},
    ("POST", "/contacts/{record_id}/portal-invitation"): lambda ids: {},
    **{("POST", f"/{c}/{{record_id}}/shares"): (lambda ids: {"user_id": ids["erin"]}) for c in ("organizations", "contacts", "deals")},
}
MAILBOX = {
    "email_address": "me@ourco.example",
    "imap_host": "127.0.0.1",
    "imap_port": CLOSED_PORT,
    "imap_security": "none",
    "username": "me",
    "password": "secret",
}

# Which of alice's records a list must (or must not) show.
LISTED = {
    "/organizations": "org",
    "/contacts": "carol",
    "/deals": "deal",
    "/events": "event",
    "/tasks": "task",
    "/touchpoints": "touchpoint",
    "/engagements": "engagement",
    "/email-rules": "rule",
    "/emails/unmatched": "unmatched",
    "/sms": "sms",
    "/calls": "call",
    "/documents": "document",
    "/cases": "case",
}
# Lists whose items are named by another key than "id".
LISTED_KEY = {"/emails/unmatched": "address"}
RECORD_ID_OF = {"organizations": "org", "contacts": "carol", "deals": "deal"}
PARAMETER_ID = {
    "organization_id": "org",
    "contact_id": "carol",
    "deal_id": "deal",
    "event_id": "event",
    "task_id": "task",
    "touchpoint_id": "touchpoint",
    "email_id": "email",
    "thread_id": "thread",
    "document_id": "document",
    "campaign_id": "campaign",
    "rule_id": "rule",
    "mailbox_id": "mailbox",
    "call_id": "call",
    "provider": "provider",
    "case_id": "case",
    "share_id": "share",
}

# Apps built later (issue #7 on) keep their rows beside their code, in
# <app>/tests/permission_rows.py: TABLE, BODIES, PARAMETER_ID, LISTED (each
# optional) and records(alice, world, admin) -> more ids for the fixture.
ROW_MODULES = [importlib.import_module(f"{app}.tests.permission_rows") for app in ROW_APPS]
for module in ROW_MODULES:
    for name, target in (("TABLE", TABLE), ("BODIES", BODIES), ("PARAMETER_ID", PARAMETER_ID), ("LISTED", LISTED), ("LISTED_KEY", LISTED_KEY)):
        extra = getattr(module, name, {})
        assert not set(extra) & set(target), f"{module.__name__}.{name} repeats a row"
        target.update(extra)



def url_of(path: str, ids: dict) -> str:
    """The concrete URL: every path parameter names one of alice's records."""
    url = path
    if "{record_id}" in path:
        url = url.replace("{record_id}", str(ids[RECORD_ID_OF[path.split("/")[1]]]))
        # A record's share (crm.api_shares), not a document's ({share_id} below).
        url = url.replace("{share_id}", str(ids[f"{path.split('/')[1]}_share"]))
    for name, key in PARAMETER_ID.items():
        url = url.replace("{" + name + "}", str(ids[key]))
    return f"/api/v1{url}"


def call(client, method: str, url: str, body=None):
    if method == "GET":
        return client.get(url)
    if isinstance(body, Multipart):
        return client.post(url, body)
    if isinstance(body, bytes):  # a raw email
        return client.post(url, body, content_type="message/rfc822")
    return getattr(client, method.lower())(url, None if body is None else json.dumps(body), content_type="application/json")


@pytest.fixture
def records(alice, world, admin, provider_standin, settings):
    """Alice's world plus an event, a task and a touchpoint of hers, all on
    Carol and the deal."""
    event = alice.post(
        "events",
        {
            "subject": "Kickoff",
            "status": "held",
            "start_at": at("2024-02-01 10:00"),
            "end_at": at("2024-02-01 11:00"),
            "deal_id": world["deal"],
            "contact_ids": [world["carol"]],
        },
    )
    task = alice.post("tasks", {"title": "Send quote", "due_date": "2030-03-01", "deal_id": world["deal"], "contact_id": world["carol"]})
    touchpoint = alice.post("touchpoints", {"kind": "email", "occurred_at": at("2024-02-02 09:00"), "contact_ids": [world["carol"]]})
    assert (event.status_code, task.status_code, touchpoint.status_code) == (201, 201, 201)
    return {
        **world,
        "event": event.json()["id"],
        "task": task.json()["id"],
        "touchpoint": touchpoint.json()["id"],
        **email_records(alice, world),
        **telephony_records(alice, admin, world, provider_standin, settings),
        **indirect_records(alice, world),
        **record_shares(world),
        **{key: value for module in ROW_MODULES for key, value in module.records(alice, world, admin).items()},
    }


def record_shares(world) -> dict:
    """Alice's organization, Carol and the deal each shared with team north
    (nobody's team here), and erin, a rep to share with (issue #10)."""
    from accounts.models import Team
    from crm.models import Share

    north = Team.objects.create(name="north")
    erin = User.objects.create(username="erin", role="rep")
    shares = {
        f"{collection}_share": Share.objects.create(record_type=record_type, record_id=world[key], team=north).id
        for collection, record_type, key in (("organizations", "organization", "org"), ("contacts", "contact", "carol"), ("deals", "deal", "deal"))
    }
    return {**shares, "erin": erin.id}


def indirect_records(alice, world) -> dict:
    """A document alice uploaded and shared with Carol, a case of Carol's,
    and Carol's portal invitation (issue #6)."""
    upload = SimpleUploadedFile("prices.pdf", b"%PDF-1.4 prices", content_type="application/pdf")
    document = alice.client.post("/api/v1/documents", {"file": upload, "contact_ids": [world["carol"]], "deal_id": world["deal"]}).json()
    case = alice.post("cases", {"title": "Invoice wrong", "contact_id": world["carol"]}).json()
    assert alice.post(f"contacts/{world['carol']}/portal-invitation", {}).status_code == 201
    return {"document": document["id"], "share": document["shares"][0]["id"], "case": case["id"]}


def telephony_records(alice, admin, world, standin, settings) -> dict:
    """Carol's phone, a Twilio account on the loopback stand-in, an SMS
    Alice sent her and a call Alice logged."""
    from telephony.services import do_set_provider_account

    settings.PUBLIC_BASE_URL = "http://testserver"
    alice.patch(f"contacts/{world['carol']}", {"phones": ["+12025550143"]})
    do_set_provider_account(
        admin.user, "twilio", {"account_id": "AC" + "0" * 32, "auth_token": "token", "from_number": "+12025550100", "api_base": standin.base_url}
    )
    sms = alice.post("sms", {"text": "Hello", "contact_ids": [world["carol"]]}).json()["results"][0]
    call = alice.post("calls/log", {"contact_id": world["carol"], "status": "completed"}).json()
    return {"sms": sms["sms_id"], "call": call["id"], "provider": "twilio"}


def email_records(alice, world) -> dict:
    """Alice's email world: a received email from Carol with an attachment
    and an emoticon, an unknown sender's email, a sent (tracked) email with
    an open, a campaign, an auto-create rule and her mailbox."""
    from emails.engagement import Hit, do_record_hit
    from emails.models import EmailParticipant
    from emails.sending import do_create_campaign

    alice.user.email = "alice@ourco.example"
    alice.user.save(update_fields=["email"])
    raw = make_mail(attachments=[("quote.pdf", "application/pdf", b"%PDF-1.4")])
    received = alice.client.post("/api/v1/emails/raw", raw, content_type="message/rfc822").json()
    alice.patch(f"touchpoints/{received['touchpoint_id']}", {"emoticon": 4})
    alice.client.post("/api/v1/emails/raw", make_mail(sender="erin@newco.example", message_id="<erin@newco.example>"), content_type="message/rfc822")
    sent = alice.post("emails/send", {"to": ["carol@grasspods.example"], "subject": "Quote", "body_text": "Attached."}).json()
    recipient = EmailParticipant.objects.get(email_id=sent["email_id"], role="to")
    engagement = do_record_hit(recipient.id, Hit(kind="open", at=timezone.now() + timedelta(hours=1), ip="198.51.100.7", user_agent="Mozilla/5.0 (X11; Linux) Firefox/128.0"))
    campaign = do_create_campaign(alice.user, name="Spring", subject="News", body_html="<p>Hi</p>", contact_ids=[world["carol"]])
    rule = alice.post("email-rules", {"domain": "grasspods.example", "organization_id": world["org"]}).json()
    mailbox = alice.post("mailboxes", MAILBOX).json()
    email = alice.get(f"emails/{received['email_id']}").json()
    return {
        "email": received["email_id"],
        "thread": email["thread_id"],
        "attachment": email["documents"][0]["id"],
        "engagement": engagement.id,
        "campaign": campaign.campaign_id,
        "rule": rule["id"],
        "mailbox": mailbox["id"],
        "unmatched": "erin@newco.example",
    }


def check_answer(request, records, method: str, path: str, persona: str, expected) -> None:
    api = request.getfixturevalue(persona)
    body = BODIES.get((method, path), lambda ids: None)(records)
    response = call(api.client, method, url_of(path, records), body)
    status = 200 if expected in (SEES, BLIND) else expected
    assert response.status_code == status, response.content
    if expected in (SEES, BLIND):
        items = response.json()
        items = items["items"] if isinstance(items, dict) else items
        listed = {item[LISTED_KEY.get(path, "id")] for item in items}
        assert (records[LISTED[path]] in listed) is (expected == SEES), listed
    if status == 404:  # a plain "not found", the same as for a record that never existed
        assert set(response.json()) == {"detail"} and response.json()["detail"].endswith("not found")
    if method == "DELETE" and ("GET", path) in TABLE:  # the record is gone exactly when the answer says so
        after = call(request.getfixturevalue("admin").client, "GET", url_of(path, records))
        assert after.status_code == (404 if status == 204 else 200)


@pytest.mark.parametrize(("method", "path"), list(TABLE), ids=[f"{m} {p}" for m, p in TABLE])
def test_personas_get_expected_answers(request, records, method, path):
    """One operation for every persona. Each persona's call runs in a
    savepoint rolled back afterwards, so each sees alice's records as the
    fixture made them (bob's DELETE never meets alice's deletion), and the
    records are built once per operation, not per persona (the fixture is
    most of this file's time)."""
    failures = []
    for persona in PERSONAS:
        savepoint = transaction.savepoint()
        try:
            check_answer(request, records, method, path, persona, TABLE[(method, path)][persona])
        except AssertionError as exc:
            failures.append(f"{persona} (expected {TABLE[(method, path)][persona]}): {exc}")
        finally:
            transaction.savepoint_rollback(savepoint)
    assert not failures, "\n".join(failures)


def test_without_credentials_is_401_json(records):
    for method, path in TABLE:
        body = BODIES.get((method, path), lambda ids: None)(records)
        response = call(Client(), method, url_of(path, records), body)
        label = f"{method} {path}"
        assert response.status_code == 401, label
        assert response["Content-Type"].startswith("application/json"), label
        assert response.json() == AUTH_REQUIRED, label


def test_every_operation_has_a_row(client):
    doc = client.get("/api/v1/openapi.json").json()
    operations = {(method.upper(), path.removeprefix("/api/v1")) for path, ops in doc["paths"].items() for method in ops}
    assert operations - set(TABLE) == set(), "add a row to TABLE for each new operation"
    assert set(TABLE) - operations == set(), "TABLE names an operation the API no longer has"
    assert set(BODIES) <= set(TABLE)


# --- what the table cannot say --------------------------------------------------------


def test_charlie_cannot_link_alices_contact_to_a_touchpoint(records, charlie):
    response = charlie.post("touchpoints", {"kind": "email", "occurred_at": at("2024-03-01 09:00"), "contact_ids": [records["carol"]]})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "contact_ids", 0]
    assert error["msg"] == f"contact {records['carol']} not found"  # the same words as for a missing one


def test_charlie_cannot_read_alices_touchpoint(records, charlie):
    response = charlie.get(f"touchpoints/{records['touchpoint']}")
    assert response.status_code == 404
    assert response.json() == {"detail": f"touchpoint {records['touchpoint']} not found"}


def test_charlie_sees_no_trace_of_alices_records(records, charlie):
    for path in LISTED:
        body = charlie.get(path.lstrip("/")).json()
        items = body["items"] if isinstance(body, dict) else body
        # Lists of one's own things (API tokens) hold charlie's: none of anyone else's.
        assert [i for i in items if i.get("user_id", -1) != charlie.user.id] == [], path
    assert charlie.get("touchpoints", kind="email").json()["items"] == []


def test_hidden_and_missing_records_answer_alike(records, charlie):
    """Charlie cannot tell alice's contact from one that never existed."""
    hidden = charlie.get(f"contacts/{records['carol']}")
    missing = charlie.get("contacts/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(str(records["carol"]), "N") == missing.json()["detail"].replace("999999", "N")


def test_replaying_alices_external_id_does_not_reveal_her_touchpoint(records, alice, bob, charlie):
    """(source, external_id) is unique across the log: a repeat answers with
    the existing touchpoint, but only to those who may see it."""
    mine = {"kind": "email", "occurred_at": at("2024-02-03 09:00"), "subject": "Pricing", "source": "api", "external_id": "msg-1"}
    first = alice.post("touchpoints", {**mine, "contact_ids": [records["carol"]]})
    assert first.status_code == 201
    assert bob.post("touchpoints", mine).json()["id"] == first.json()["id"]  # teammate: 200, the existing one
    response = charlie.post("touchpoints", mine)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "external_id"]
    assert "Pricing" not in response.content.decode() and str(first.json()["id"]) not in response.content.decode()
    batch = charlie.post("touchpoints/batch", {"items": [mine]}).json()
    assert (batch["existing"], batch["failed"]) == (0, 1)
    assert batch["results"][0]["errors"][0]["loc"] == ["body", "items", 0, "external_id"]
    assert "id" not in batch["results"][0] or batch["results"][0]["id"] is None


def test_batch_reports_charlies_item_as_failed(records, charlie):
    body = BODIES[("POST", "/touchpoints/batch")](records)
    response = charlie.post("touchpoints/batch", body).json()
    assert (response["created"], response["failed"]) == (0, 1)
    assert response["results"][0]["errors"][0]["loc"] == ["body", "items", 0, "contact_ids", 0]


def test_charlie_cannot_make_alice_owner_but_bob_can(records, bob, charlie):
    alice_id = User.objects.get(username="alice").id
    assert bob.post("organizations", {"name": "For Alice", "owner_id": alice_id}).status_code == 201
    response = charlie.post("organizations", {"name": "For Alice", "owner_id": alice_id})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "owner_id"]


def test_bob_sees_alices_records_but_may_not_delete_them(records, bob):
    assert bob.get(f"contacts/{records['carol']}").status_code == 200
    response = bob.delete(f"contacts/{records['carol']}")
    assert response.status_code == 403
    assert response.json() == {"detail": "only the owner, an admin or a manager may delete this contact"}
    assert bob.get(f"contacts/{records['carol']}").status_code == 200


def test_bob_cannot_take_over_alices_contact_to_delete_it(records, bob):
    response = bob.patch(f"contacts/{records['carol']}", {"owner_id": bob.user.id})
    assert response.status_code == 403
