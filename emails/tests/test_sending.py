"""Sending from the CRM through a real SMTP server on loopback (aiosmtpd):
one SMTP transaction per recipient, headers, merge fields, tracking, the
touchpoint and Last Contacted, failures, permissions and campaigns."""
from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from emails import tracking
from emails.models import Campaign, EmailMessage, EmailParticipant
from emails.tests.smtpserver import closed_smtp_port, pixel_of, smtp_server, tracked_links_of  # noqa: F401 - fixtures

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
CAROL = "carol@grasspods.example"
ERIN = "erin@partner.example"
BOSS = "boss@grasspods.example"


def send(api, expect: int = 201, **payload):
    response = api.post("emails/send", payload)
    assert response.status_code == expect, response.content
    return response.json()


def timeline(api, record_type: str, record_id: int) -> dict[int, dict]:
    response = api.get(f"{record_type}s/{record_id}/timeline")
    assert response.status_code == 200, response.content
    return {item["id"]: item for item in response.json()["items"]}


def locs(response) -> list[list]:
    assert response.status_code == 422, response.content
    return [e["loc"] for e in response.json()["detail"]]


@pytest.fixture
def erin(alice_mail):
    """A second contact of Alice's with an address (and a name to escape)."""
    response = alice_mail.post("contacts", {"first_name": "Erin", "last_name": "Park <Jr> & Co", "emails": [ERIN]})
    assert response.status_code == 201, response.content
    return response.json()["id"]


# --- one copy per recipient ---------------------------------------------------------


def test_every_recipient_gets_one_smtp_transaction_naming_only_them(alice_mail, world, smtp_server):
    sent = send(alice_mail, to=[CAROL], cc=[ERIN], bcc=[BOSS], subject="Renewal", body_text="See you Tuesday.")
    assert sent["status"] == "sent"
    assert sorted(sent["accepted"]) == sorted([CAROL, ERIN, BOSS]) and sent["refused"] == {}
    messages = smtp_server.messages
    assert sorted(tuple(m.rcpt_tos) for m in messages) == [(BOSS,), (CAROL,), (ERIN,)]
    assert {m.mail_from for m in messages} == {"alice@ourco.example"}
    for m in messages:
        msg = m.message
        assert msg["To"] == CAROL and msg["Cc"] == ERIN
        assert msg["Bcc"] is None
        assert msg["Message-ID"] == f"<{sent['message_id']}>"
        # The Bcc address is in no copy at all, not even the Bcc recipient's own.
        assert BOSS.encode() not in m.content
    assert len({m.message["Message-ID"] for m in messages}) == 1


def test_sent_email_is_an_outbound_touchpoint_on_contact_organization_and_deal(alice_mail, world, smtp_server):
    sent = send(alice_mail, to=[CAROL], subject="Renewal", body_html="<p>Hello</p>")
    tp = sent["touchpoint_id"]
    touchpoint = alice_mail.get(f"touchpoints/{tp}").json()
    assert (touchpoint["kind"], touchpoint["status"], touchpoint["direction"]) == ("email", "sent", "outbound")
    assert tp in timeline(alice_mail, "contact", world["carol"])
    assert tp in timeline(alice_mail, "organization", world["org"])
    assert tp in timeline(alice_mail, "deal", world["deal"])
    carol = alice_mail.get(f"contacts/{world['carol']}").json()
    assert carol["last_contacted_via"] == "Email"
    assert carol["last_contacted_on"] == touchpoint["occurred_at"]
    email = alice_mail.get(f"emails/{sent['email_id']}").json()
    assert email["tracked"] is True and email["from_address"] == "alice@ourco.example"
    assert [(p["role"], p["address"]) for p in email["participants"]] == [("from", "alice@ourco.example"), ("to", CAROL)]


def test_links_named_in_the_request_are_on_the_timeline_too(alice_mail, world, smtp_server):
    sent = send(alice_mail, to=["someone@elsewhere.example"], subject="Intro", body_text="Hi", contact_ids=[world["dave"]])
    assert sent["touchpoint_id"] in timeline(alice_mail, "contact", world["dave"])
    assert alice_mail.get(f"contacts/{world['dave']}").json()["last_contacted_via"] == "Email"


# --- merge fields and templates --------------------------------------------------------


def test_merge_fields_are_rendered_for_each_recipient(alice_mail, world, erin, smtp_server):
    send(
        alice_mail,
        to=[CAROL, ERIN],
        cc=["nobody@elsewhere.example"],
        subject="Hi {{ first_name }}",
        body_html="<p>Dear {{first_name}} {{ last_name }} ({{ email }}) at {{ organization }}</p>",
    )
    carol, erin_copy, other = (smtp_server.to(a)[0] for a in (CAROL, ERIN, "nobody@elsewhere.example"))
    assert carol.message["Subject"] == "Hi Carol"
    assert "<p>Dear Carol Ng (carol@grasspods.example) at Grasspods</p>" in carol.html()
    assert "Dear Carol Ng" in carol.text()
    # Values are escaped in HTML, not in the subject or the text part.
    assert erin_copy.message["Subject"] == "Hi Erin"
    assert "<p>Dear Erin Park &lt;Jr&gt; &amp; Co (erin@partner.example) at </p>" in erin_copy.html()
    assert "Park <Jr> & Co" in erin_copy.text()
    # Someone who is not a contact gets blanks, never another recipient's values.
    assert other.message["Subject"].strip() == "Hi"
    assert "<p>Dear   (nobody@elsewhere.example) at </p>" in other.html()


def test_stored_email_has_merge_fields_filled_in_not_placeholders(alice_mail, world, smtp_server):
    sent = send(alice_mail, to=[CAROL], subject="Hi {{ first_name }}", body_text="Hello {{ first_name }}, this is {{ email }}.")
    email = alice_mail.get(f"emails/{sent['email_id']}").json()
    assert email["subject"] == "Hi Carol"
    assert email["body_text"] == "Hello Carol, this is carol@grasspods.example."
    assert alice_mail.get(f"touchpoints/{sent['touchpoint_id']}").json()["summary"] == email["body_text"]


@pytest.mark.parametrize(
    ("field", "payload"),
    [
        ("body_html", {"subject": "Hi", "body_html": "<p>{{ nickname }}</p>"}),
        ("subject", {"subject": "Hi {{ nickname }}", "body_text": "Hello"}),
        ("body_text", {"subject": "Hi", "body_text": "Hello {{ nickname }}"}),
    ],
)
def test_unknown_merge_field_is_422_naming_field_and_sends_nothing(alice_mail, world, smtp_server, field, payload):
    response = alice_mail.post("emails/send", {"to": [CAROL], **payload})
    assert locs(response) == [["body", field]]
    assert "nickname" in response.json()["detail"][0]["msg"]
    assert smtp_server.messages == [] and not EmailMessage.objects.exists()


@pytest.mark.parametrize("text", ["{{ First_Name }}", "{{ first-name }}", "{{ first_name|upper }}", "{{}}"])
def test_malformed_merge_fields_are_422_not_sent_as_literal_text(alice_mail, world, smtp_server, text):
    response = alice_mail.post("emails/send", {"to": [CAROL], "subject": "Hi", "body_text": f"Dear {text}"})
    assert locs(response) == [["body", "body_text"]]
    assert smtp_server.messages == []


def test_merge_fields_never_copy_a_contact_the_sender_cannot_see(alice_mail, charlie, world, smtp_server):
    # Charlie's contact shares no team with Alice: his record's details must
    # not land in mail Alice can read, nor her mail on his contact's timeline.
    hidden = charlie.post("contacts", {"first_name": "Hank", "last_name": "Secret", "title": "CFO", "emails": ["hank@other.example"]}).json()
    sent = send(alice_mail, to=["hank@other.example"], subject="Hi {{ first_name }}", body_text="Dear {{ title }} {{ last_name }},")
    (message,) = smtp_server.messages
    assert message.message["Subject"] == "Hi "
    assert "CFO" not in message.text() and "Secret" not in message.text() and "CFO" not in message.html()
    assert "CFO" not in alice_mail.get(f"emails/{sent['email_id']}").content.decode()
    assert sent["touchpoint_id"] not in timeline(charlie, "contact", hidden["id"])


def test_bcc_only_mail_says_undisclosed_recipients(alice_mail, world, smtp_server):
    send(alice_mail, bcc=[CAROL, BOSS], subject="Heads-up", body_text="FYI")
    assert {m.message["To"] for m in smtp_server.messages} == {"undisclosed-recipients:;"}


def test_no_recipient_is_422_naming_to(alice_mail, world, smtp_server):
    response = alice_mail.post("emails/send", {"subject": "Hi", "body_text": "Hello"})
    assert locs(response) == [["body", "to"]]
    assert smtp_server.messages == []


def test_bad_address_is_422_naming_list_and_index(alice_mail, world, smtp_server):
    response = alice_mail.post("emails/send", {"to": [CAROL], "cc": ["ok@partner.example", "not an address"], "subject": "Hi", "body_text": "x"})
    assert locs(response) == [["body", "cc", 1]]
    response = alice_mail.post("emails/send", {"to": ["carol(at)grasspods"], "subject": "Hi", "body_text": "x"})
    assert locs(response) == [["body", "to", 0]]
    assert smtp_server.messages == [] and not EmailMessage.objects.exists()


def test_template_gives_subject_and_body(alice_mail, world, smtp_server):
    created = alice_mail.post(
        "email-templates", {"name": "Renewal", "subject": "Renewal for {{ organization }}", "body_html": "<p>Hi {{ first_name }}, <a href=\"https://ourco.example/renew\">renew</a></p>"}
    )
    assert created.status_code == 201, created.content
    template = created.json()
    assert template["id"] in [t["id"] for t in alice_mail.get("email-templates").json()]
    sent = send(alice_mail, to=[CAROL], template_id=template["id"])
    (copy,) = smtp_server.messages
    assert copy.message["Subject"] == "Renewal for Grasspods"
    assert "<p>Hi Carol, " in copy.html() and len(tracked_links_of(copy)) == 1
    assert alice_mail.get(f"emails/{sent['email_id']}").json()["subject"] == "Renewal for Grasspods"


def test_missing_template_is_422_naming_template_id(alice_mail, world, smtp_server):
    response = alice_mail.post("emails/send", {"to": [CAROL], "template_id": 9999})
    assert ["body", "template_id"] in locs(response)


# --- tracking in the copies ------------------------------------------------------------


def test_plain_text_body_gets_a_tracked_html_alternative(alice_mail, world, smtp_server):
    text = "Hello {{ first_name }},\n\nPrices: https://example.com/prices?x=1&y=2 (new)\n\nAlice"
    send(alice_mail, to=[CAROL], subject="Prices", body_text=text)
    (copy,) = smtp_server.messages
    assert copy.message.get_content_type() == "multipart/alternative"
    assert copy.text().strip() == "Hello Carol,\n\nPrices: https://example.com/prices?x=1&y=2 (new)\n\nAlice"
    html = copy.html()
    assert "Hello Carol," in html and "https://example.com/prices" in html  # the link text stays readable
    pixel_of(copy)  # exactly one
    (link,) = tracked_links_of(copy)
    response = Client().get(link, REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    assert response["Location"] == "https://example.com/prices?x=1&y=2"


def test_html_links_are_rewritten_per_recipient_with_one_pixel_and_mailto_untouched(alice_mail, world, smtp_server):
    body = (
        "<html><body><p>Hi {{ first_name }}</p>"
        '<a href="https://example.com/pricing?a=1&amp;b=2">Pricing</a> '
        '<a href="mailto:alice@ourco.example">Write to me</a> '
        '<a href="#top">Top</a></body></html>'
    )
    send(alice_mail, to=[CAROL], cc=[ERIN], bcc=[BOSS], subject="Pricing", body_html=body)
    base = settings.PUBLIC_BASE_URL
    pixels, clicks = {}, {}
    for copy in smtp_server.messages:
        (address,) = copy.rcpt_tos
        images = copy.images()
        assert len([i for i in images if "/t/o/" in i]) == 1 and len(images) == 1
        assert images[0].startswith(f"{base}/t/o/") and images[0].endswith(".gif")
        links = copy.links()
        assert links[0].startswith(f"{base}/t/c/")
        assert links[1:] == ["mailto:alice@ourco.example", "#top"]
        assert copy.html().index("<img") > copy.html().index("Top</a>")  # pixel at the end of the body
        # Each token names this copy's own recipient.
        open_token = pixel_of(copy).removeprefix("/t/o/").removesuffix(".gif")
        click_token = tracked_links_of(copy)[0].removeprefix("/t/c/")
        recipient = EmailParticipant.objects.get(id=tracking.read_token(open_token).recipient_id)
        assert recipient.address == address
        click = tracking.read_token(click_token)
        assert (click.recipient_id, click.url) == (recipient.id, "https://example.com/pricing?a=1&b=2")
        pixels[address], clicks[address] = open_token, click_token
    assert len(set(pixels.values())) == 3 and len(set(clicks.values())) == 3


# --- failures ----------------------------------------------------------------------------


def test_recipient_refused_by_the_server_is_reported_and_the_rest_are_sent(alice_mail, world, smtp_server):
    smtp_server.refuse(ERIN)
    sent = send(alice_mail, to=[CAROL], cc=[ERIN], subject="Hi", body_text="Hello")
    assert sent["status"] == "sent" and sent["accepted"] == [CAROL]
    assert list(sent["refused"]) == [ERIN] and "550" in sent["refused"][ERIN] and "no such user" in sent["refused"][ERIN]
    assert [m.rcpt_tos for m in smtp_server.messages] == [[CAROL]]
    # What the others see is the email as written: Erin is still on Cc.
    assert smtp_server.messages[0].message["Cc"] == ERIN
    assert alice_mail.get(f"touchpoints/{sent['touchpoint_id']}").json()["status"] == "sent"
    assert alice_mail.get(f"contacts/{world['carol']}").json()["last_contacted_via"] == "Email"


def test_every_recipient_refused_is_502_and_failed(alice_mail, world, smtp_server):
    smtp_server.refuse(CAROL)
    response = alice_mail.post("emails/send", {"to": [CAROL], "subject": "Hi", "body_text": "Hello"})
    assert response.status_code == 502, response.content
    assert CAROL in response.json()["detail"]
    tp = response.json()["touchpoint_id"]
    assert alice_mail.get(f"touchpoints/{tp}").json()["status"] == "failed"
    assert alice_mail.get(f"contacts/{world['carol']}").json()["last_contacted_on"] is None


def test_nothing_listening_is_502_failed_and_last_contacted_stays(alice_mail, world, closed_smtp_port, mail):
    earlier = alice_mail.client.post("/api/v1/emails/raw", mail(when="2024-03-01 10:00"), content_type="message/rfc822")
    assert earlier.status_code == 201, earlier.content
    before = alice_mail.get(f"contacts/{world['carol']}").json()
    response = alice_mail.post("emails/send", {"to": [CAROL], "subject": "Hi", "body_text": "Hello"})
    assert response.status_code == 502, response.content
    body = response.json()
    assert f"127.0.0.1:{closed_smtp_port}" in body["detail"]
    touchpoint = alice_mail.get(f"touchpoints/{body['touchpoint_id']}").json()
    assert (touchpoint["kind"], touchpoint["status"]) == ("email", "failed")
    after = alice_mail.get(f"contacts/{world['carol']}").json()
    assert (after["last_contacted_on"], after["last_contacted_via"]) == (before["last_contacted_on"], "Email")
    assert after["last_contacted_on"].startswith("2024-03-01T10:00")
    # A failed email shows in the Activity section (like a failed SMS) but is not contact.
    shown = timeline(alice_mail, "contact", world["carol"])[body["touchpoint_id"]]
    assert shown["status"] == "failed"


# --- who may do and see what ------------------------------------------------------------------


def test_outsider_cannot_read_the_email_and_teammate_can(alice_mail, bob, charlie, world, smtp_server):
    sent = send(alice_mail, to=[CAROL], subject="Hi", body_text="Hello")
    assert charlie.get(f"emails/{sent['email_id']}").status_code == 404
    assert bob.get(f"emails/{sent['email_id']}").status_code == 200
    assert bob.get(f"emails/{sent['email_id']}").json()["subject"] == "Hi"


def test_send_without_credentials_is_401_and_sends_nothing(world, smtp_server):
    response = Client().post(
        "/api/v1/emails/send", {"to": [CAROL], "subject": "Hi", "body_text": "Hello"}, content_type="application/json"
    )
    assert response.status_code == 401
    assert smtp_server.messages == [] and not EmailMessage.objects.exists()


def test_outsider_cannot_link_the_email_to_alices_contact(charlie, world, smtp_server):
    response = charlie.post("emails/send", {"to": ["x@elsewhere.example"], "subject": "Hi", "body_text": "x", "contact_ids": [world["carol"]]})
    assert locs(response) == [["body", "contact_ids", 0]]
    assert smtp_server.messages == []


# --- campaigns -----------------------------------------------------------------------------------


def test_campaign_sends_each_contact_an_email_campaign_touchpoint_and_skips_those_without_address(
    alice_mail, world, erin, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_mail.post(
            "campaigns",
            {
                "name": "Spring",
                "subject": "Spring news for {{ first_name }}",
                "body_html": '<p>Hi {{ first_name }}, <a href="https://ourco.example/spring">read</a></p>',
                "contact_ids": [world["carol"], world["dave"], erin],
            },
        )
        assert response.status_code == 201, response.content
        created = response.json()
        assert created["recipients"] == 2
        assert created["skipped"] == [{"contact_id": world["dave"], "reason": "no email address"}]
        # Queued until the transaction commits and the worker runs.
        assert smtp_server.messages == []
        assert set(EmailMessage.objects.filter(campaign_id=created["id"]).values_list("touchpoint__status", flat=True)) == {"queued"}
    assert sorted(tuple(m.rcpt_tos) for m in smtp_server.messages) == [(CAROL,), (ERIN,)]
    assert smtp_server.to(CAROL)[0].message["Subject"] == "Spring news for Carol"
    assert smtp_server.to(ERIN)[0].message["Subject"] == "Spring news for Erin"
    assert len(tracked_links_of(smtp_server.to(CAROL)[0])) == 1
    pixel_of(smtp_server.to(ERIN)[0])
    campaign = alice_mail.get(f"campaigns/{created['id']}").json()
    assert (campaign["recipients"], campaign["sent"], campaign["failed"]) == (2, 2, 0)
    for contact_id in (world["carol"], erin):
        items = [i for i in timeline(alice_mail, "contact", contact_id).values() if i["kind"] == "email_campaign"]
        assert [(i["status"], i["direction"]) for i in items] == [("sent", "outbound")]
        assert alice_mail.get(f"contacts/{contact_id}").json()["last_contacted_via"] == "Email Campaign"
    assert alice_mail.get(f"contacts/{world['dave']}").json()["last_contacted_on"] is None
    # One email per recipient, each a touchpoint of its own.
    assert EmailMessage.objects.filter(campaign_id=created["id"]).values("touchpoint_id").distinct().count() == 2


def test_campaign_copy_refused_by_the_server_is_failed_and_counted(alice_mail, world, erin, smtp_server, django_capture_on_commit_callbacks):
    smtp_server.refuse(ERIN)
    with django_capture_on_commit_callbacks(execute=True):
        created = alice_mail.post(
            "campaigns", {"name": "N", "subject": "News", "body_html": "<p>News</p>", "contact_ids": [world["carol"], erin]}
        ).json()
    campaign = alice_mail.get(f"campaigns/{created['id']}").json()
    assert (campaign["sent"], campaign["failed"]) == (1, 1)
    statuses = dict(
        EmailParticipant.objects.filter(email__campaign_id=created["id"], role="to").values_list("address", "email__touchpoint__status")
    )
    assert statuses == {CAROL: "sent", ERIN: "failed"}
    assert alice_mail.get(f"contacts/{erin}").json()["last_contacted_on"] is None


def test_campaign_to_a_contact_you_cannot_see_is_422_naming_its_index(alice_mail, charlie, world, smtp_server):
    theirs = charlie.post("contacts", {"first_name": "Zed", "last_name": "West", "emails": ["zed@west.example"]}).json()["id"]
    response = alice_mail.post(
        "campaigns", {"name": "N", "subject": "S", "body_html": "<p>x</p>", "contact_ids": [world["carol"], theirs]}
    )
    assert locs(response) == [["body", "contact_ids", 1]]
    assert not Campaign.objects.exists() and smtp_server.messages == []


def test_campaigns_of_others_are_hidden_from_outsiders(alice_mail, charlie, manager, world, smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = alice_mail.post("campaigns", {"name": "N", "subject": "S", "body_html": "<p>x</p>", "contact_ids": [world["carol"]]}).json()
    assert charlie.get(f"campaigns/{created['id']}").status_code == 404
    assert manager.get(f"campaigns/{created['id']}").status_code == 200
