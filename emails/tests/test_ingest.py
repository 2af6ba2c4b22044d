"""Receiving mail through the raw upload endpoint (the same do_ingest path
the IMAP sync and the BCC drop use): storing, dedupe, matching, threading,
internal and automated mail, attachments, rejections, sentiment."""
from __future__ import annotations

import pytest
from django.test import Client

from crm.models import Contact
from documents.models import Document
from emails.models import EmailMessage, Rejection
from emails.tests.conftest import make_mail


def upload(api, raw: bytes, content_type: str = "message/rfc822"):
    return api.client.post("/api/v1/emails/raw", raw, content_type=content_type)


def timeline_ids(api, record_type: str, record_id: int) -> list[int]:
    response = api.get(f"{record_type}s/{record_id}/timeline")
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_uploaded_email_lands_on_contact_organization_and_deal(alice_mail, world):
    response = upload(alice_mail, make_mail(when="2024-03-01 10:00"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "stored"
    tp = body["touchpoint_id"]
    assert tp in timeline_ids(alice_mail, "contact", world["carol"])
    assert tp in timeline_ids(alice_mail, "organization", world["org"])
    assert tp in timeline_ids(alice_mail, "deal", world["deal"])
    carol = alice_mail.get(f"contacts/{world['carol']}").json()
    assert carol["last_contacted_via"] == "Email"
    assert carol["last_contacted_on"].startswith("2024-03-01T10:00")
    touchpoint = alice_mail.get(f"touchpoints/{tp}").json()
    assert (touchpoint["kind"], touchpoint["status"], touchpoint["direction"]) == ("email", "received", "inbound")


def test_same_message_twice_is_one_touchpoint(alice_mail, world):
    raw = make_mail(message_id="<same@grasspods.example>")
    first = upload(alice_mail, raw)
    again = upload(alice_mail, raw)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["touchpoint_id"] == first.json()["touchpoint_id"]
    assert EmailMessage.objects.filter(message_id="same@grasspods.example").count() == 1


def test_message_without_message_id_is_deduplicated_by_content(alice_mail, world):
    raw = make_mail(message_id=None)
    assert upload(alice_mail, raw).status_code == 201
    assert upload(alice_mail, raw).json()["status"] == "duplicate"


def test_plus_addressed_and_upper_case_sender_matches_the_contact(alice_mail, world):
    tp = upload(alice_mail, make_mail(sender="CAROL+news@GrassPods.Example")).json()["touchpoint_id"]
    assert tp in timeline_ids(alice_mail, "contact", world["carol"])


def test_internal_only_mail_is_not_a_touchpoint(alice_mail, bob_mail, world):
    response = upload(alice_mail, make_mail(sender="alice@ourco.example", to="Bob <BOB@ourco.example>"))
    assert response.status_code == 200
    assert response.json() == {**response.json(), "status": "skipped", "reason": "internal-only", "touchpoint_id": None}
    assert not EmailMessage.objects.exists()


def test_mail_sent_by_a_user_is_outbound_and_counts(alice_mail, world):
    tp = upload(alice_mail, make_mail(sender="Alice <alice@ourco.example>", to="carol@grasspods.example")).json()["touchpoint_id"]
    touchpoint = alice_mail.get(f"touchpoints/{tp}").json()
    assert (touchpoint["status"], touchpoint["direction"], touchpoint["counts_as_contact"]) == ("sent", "outbound", True)


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"List-Id": "<announce.grasspods.example>"},
        {"Precedence": "bulk"},
        {"X-Autoreply": "yes"},
    ],
)
def test_automated_mail_is_shown_but_never_moves_last_contacted(alice_mail, world, headers):
    response = upload(alice_mail, make_mail(subject="Out of office", headers=headers))
    tp = response.json()["touchpoint_id"]
    touchpoint = alice_mail.get(f"touchpoints/{tp}").json()
    assert touchpoint["status"] == "automated"
    assert touchpoint["shown_in_activity"] is True and touchpoint["counts_as_contact"] is False
    assert alice_mail.get(f"contacts/{world['carol']}").json()["last_contacted_on"] is None


def test_auto_submitted_no_is_a_person(alice_mail, world):
    tp = upload(alice_mail, make_mail(headers={"Auto-Submitted": "no"})).json()["touchpoint_id"]
    assert alice_mail.get(f"touchpoints/{tp}").json()["status"] == "received"


def test_late_email_does_not_move_last_contacted_backwards(alice_mail, world):
    upload(alice_mail, make_mail(when="2024-03-05 09:00"))
    upload(alice_mail, make_mail(when="2024-02-01 09:00"))
    assert alice_mail.get(f"contacts/{world['carol']}").json()["last_contacted_on"].startswith("2024-03-05T09:00")


def test_replies_thread_by_references_subject_and_out_of_order(alice_mail, world):
    root = upload(alice_mail, make_mail(message_id="<root@g.example>", subject="Pricing")).json()
    reply = upload(
        alice_mail,
        make_mail(
            sender="alice@ourco.example",
            to="carol@grasspods.example",
            subject="Re: Pricing",
            message_id="<r1@ourco.example>",
            headers={"In-Reply-To": "<root@g.example>", "References": "<root@g.example>"},
        ),
    ).json()
    # Lost its References: same participants and subject after "AW:".
    bare = upload(alice_mail, make_mail(subject="AW: pricing", message_id="<bare@g.example>")).json()
    # A grandchild arriving before its parent, then the parent.
    grandchild = upload(
        alice_mail,
        make_mail(subject="Re: Other", message_id="<gc@g.example>", headers={"References": "<other@g.example> <child@g.example>"}),
    ).json()
    other = upload(alice_mail, make_mail(subject="Other", message_id="<other@g.example>")).json()
    thread = EmailMessage.objects.get(id=root["email_id"]).thread_id
    assert EmailMessage.objects.get(id=reply["email_id"]).thread_id == thread
    assert EmailMessage.objects.get(id=bare["email_id"]).thread_id == thread
    assert EmailMessage.objects.get(id=other["email_id"]).thread_id == EmailMessage.objects.get(id=grandchild["email_id"]).thread_id
    assert EmailMessage.objects.get(id=other["email_id"]).thread_id != thread
    page = alice_mail.get(f"emails/threads/{thread}").json()
    assert [i["id"] for i in page["items"]] == sorted([root["email_id"], reply["email_id"], bare["email_id"]])


def test_same_subject_with_other_people_is_another_thread(alice_mail, world):
    a = upload(alice_mail, make_mail(subject="Hello")).json()
    b = upload(alice_mail, make_mail(subject="Re: Hello", sender="zed@elsewhere.example")).json()
    assert EmailMessage.objects.get(id=a["email_id"]).thread_id != EmailMessage.objects.get(id=b["email_id"]).thread_id


def test_unknown_sender_is_listed_and_can_become_a_contact(alice_mail, world):
    tp = upload(alice_mail, make_mail(sender="Erin Park <erin@newco.example>")).json()["touchpoint_id"]
    upload(alice_mail, make_mail(sender="erin+sales@newco.example", subject="Second"))
    unmatched = alice_mail.get("emails/unmatched").json()["items"]
    assert [u["address"] for u in unmatched] == ["erin+sales@newco.example", "erin@newco.example"]
    response = alice_mail.post(
        "emails/unmatched/contact", {"address": "erin@newco.example", "first_name": "Erin", "last_name": "Park", "organization_id": world["org"]}
    )
    assert response.status_code == 201, response.content
    contact_id = response.json()["contact_id"]
    assert response.json()["emails_linked"] == 2
    assert tp in timeline_ids(alice_mail, "contact", contact_id)
    assert alice_mail.get(f"contacts/{contact_id}").json()["last_contacted_via"] == "Email"
    assert alice_mail.get("emails/unmatched").json()["items"] == []


def test_auto_create_rule_turns_unknown_senders_of_a_domain_into_contacts(alice_mail, world):
    rule = alice_mail.post("email-rules", {"domain": "@Grasspods.example", "organization_id": world["org"]})
    assert rule.status_code == 201, rule.content
    assert rule.json()["domain"] == "grasspods.example"
    tp = upload(alice_mail, make_mail(sender='"Ito, Dana" <dana@grasspods.example>')).json()["touchpoint_id"]
    dana = Contact.objects.get(emails__email="dana@grasspods.example")
    assert (dana.first_name, dana.last_name, dana.organization_id) == ("Dana", "Ito", world["org"])
    assert tp in timeline_ids(alice_mail, "contact", dana.id)
    # Machines never become contacts.
    upload(alice_mail, make_mail(sender="noreply@grasspods.example", headers={"Auto-Submitted": "auto-generated"}))
    assert not Contact.objects.filter(emails__email="noreply@grasspods.example").exists()


def test_html_only_mail_gets_a_text_body(alice_mail, world):
    raw = make_mail(body=None, html="<html><body><p>Hi Alice,</p><ul><li>Item one</li></ul><p>Thanks</p></body></html>")
    email_id = upload(alice_mail, raw).json()["email_id"]
    email = alice_mail.get(f"emails/{email_id}").json()
    assert "Item one" in email["body_text"] and "<p>" not in email["body_text"]


def test_unknown_charset_and_long_lines_are_stored(alice_mail, world):
    raw = (
        b"From: carol@grasspods.example\r\nTo: alice@ourco.example\r\nSubject: =?x-unknown?q?Caf=E9?=\r\n"
        b"Message-ID: <cs@g.example>\r\nContent-Type: text/plain; charset=x-made-up\r\n\r\n"
        + "Café ".encode("latin-1") * 400
        + b"\r\n"
    )
    response = upload(alice_mail, raw)
    assert response.status_code == 201, response.content
    email = alice_mail.get(f"emails/{response.json()['email_id']}").json()
    assert email["body_text"].startswith("Caf")


def test_attachments_become_documents_that_only_viewers_can_download(alice_mail, charlie, world):
    raw = make_mail(attachments=[("quote.pdf", "application/pdf", b"%PDF-1.4 quote"), ("logo.png", "image/png", b"\x89PNG....")])
    email_id = upload(alice_mail, raw).json()["email_id"]
    documents = alice_mail.get(f"emails/{email_id}").json()["documents"]
    assert [(d["filename"], d["size"]) for d in documents] == [("quote.pdf", 14), ("logo.png", 8)]
    download = alice_mail.client.get(f"/api/v1/documents/{documents[0]['id']}")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 quote"
    assert charlie.client.get(f"/api/v1/documents/{documents[0]['id']}").status_code == 404
    assert charlie.get(f"emails/{email_id}").status_code == 404


def test_oversized_attachment_is_recorded_not_kept(alice_mail, world, settings):
    settings.MAX_ATTACHMENT_BYTES = 10
    email_id = upload(alice_mail, make_mail(attachments=[("big.bin", "application/octet-stream", b"x" * 100)])).json()["email_id"]
    (doc,) = Document.objects.filter(touchpoint__email__id=email_id)
    assert (doc.size, doc.stored) == (100, False)


def test_garbage_is_rejected_with_a_reason_naming_the_body(alice_mail):
    response = upload(alice_mail, b"this is not an email at all")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]
    assert Rejection.objects.filter(reason__in=["not-a-message", "no-participants"]).count() == 1
    assert not EmailMessage.objects.exists()


def test_wrong_content_type_and_empty_body_are_422(alice_mail):
    assert upload(alice_mail, make_mail(), content_type="application/json").status_code == 422
    assert upload(alice_mail, b"").status_code == 422


def test_raw_upload_requires_authentication(db):
    assert Client().post("/api/v1/emails/raw", make_mail(), content_type="message/rfc822").status_code == 401


def test_sentiment_is_scored_after_commit_on_new_text_only(alice_mail, world, django_capture_on_commit_callbacks):
    body = "Thank you so much, this is wonderful news and we love it!\n\nOn Mon, Carol wrote:\n> This is terrible, awful, I hate it."
    with django_capture_on_commit_callbacks(execute=True):
        tp = upload(alice_mail, make_mail(body=body)).json()["touchpoint_id"]
    touchpoint = alice_mail.get(f"touchpoints/{tp}").json()
    assert touchpoint["sentiment"] > 0.3
    assert touchpoint["emoticon"] >= 4
    journey = alice_mail.get(f"contacts/{world['carol']}/emotional-journey").json()
    assert [p["emoticon"] for p in journey] == [touchpoint["emoticon"]]


def test_a_rep_set_emoticon_is_not_overwritten_by_scoring(alice_mail, world):
    from emails.sentiment_jobs import do_score_emails

    response = upload(alice_mail, make_mail(body="This is awful."))
    alice_mail.patch(f"touchpoints/{response.json()['touchpoint_id']}", {"emoticon": 5})
    do_score_emails([response.json()["email_id"]])
    assert alice_mail.get(f"touchpoints/{response.json()['touchpoint_id']}").json()["emoticon"] == 5


def test_outsider_cannot_see_the_journey_of_a_contact_they_cannot_see(charlie, world):
    assert charlie.get(f"contacts/{world['carol']}/emotional-journey").status_code == 404


def test_mail_matches_only_contacts_its_owner_may_see(alice_mail, charlie, world):
    twin = charlie.post("contacts", {"last_name": "Twin", "emails": ["carol@grasspods.example"]}).json()
    tp = upload(alice_mail, make_mail()).json()["touchpoint_id"]
    assert tp in timeline_ids(alice_mail, "contact", world["carol"])
    assert tp not in timeline_ids(charlie, "contact", twin["id"])
    assert charlie.get(f"contacts/{twin['id']}").json()["last_contacted_on"] is None


def test_an_outsider_making_a_contact_of_an_address_does_not_take_alices_mail(alice_mail, charlie, world):
    tp = upload(alice_mail, make_mail(sender="erin@newco.example")).json()["touchpoint_id"]
    assert charlie.get("emails/unmatched").json()["items"] == []
    response = charlie.post("emails/unmatched/contact", {"address": "erin@newco.example", "last_name": "Park"})
    assert response.status_code == 201 and response.json()["emails_linked"] == 0
    assert tp not in timeline_ids(charlie, "contact", response.json()["contact_id"])
    assert [u["address"] for u in alice_mail.get("emails/unmatched").json()["items"]] == ["erin@newco.example"]


def test_an_address_already_a_contact_is_not_made_a_second_one(alice_mail, world):
    upload(alice_mail, make_mail(sender="erin@newco.example"))
    body = {"address": "erin@newco.example", "last_name": "Park"}
    assert alice_mail.post("emails/unmatched/contact", body).status_code == 201
    again = alice_mail.post("emails/unmatched/contact", body)
    assert again.status_code == 422 and again.json()["detail"][0]["loc"] == ["body", "address"]
    assert Contact.objects.filter(emails__email="erin@newco.example").count() == 1
