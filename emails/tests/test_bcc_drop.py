"""The BCC/forward drop, over real SMTP (smtplib to aiosmtpd on loopback)."""
from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage as Message

import pytest

from emails.models import EmailMessage
from emails.smtpdrop import controller
from emails.tests.conftest import make_mail


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def drop(transactional_db):
    # The drop stores from its own threads: they need committed rows to see
    # the users, hence transactional_db.
    server = controller("127.0.0.1", free_port())
    server.start()
    yield server
    server.stop()


def send(server, mail_from: str, rcpt: list[str], raw: bytes):
    with smtplib.SMTP(server.hostname, server.port, timeout=10) as smtp:
        return smtp.sendmail(mail_from, rcpt, raw)


def test_mail_bccd_to_a_users_drop_address_is_stored_as_theirs(drop, alice_mail, world):
    address = alice_mail.get("me/drop-address").json()["address"]
    raw = make_mail(sender="alice@ourco.example", to="carol@grasspods.example", message_id="<bcc1@ourco.example>")
    send(drop, "alice@ourco.example", [address], raw)
    email = EmailMessage.objects.select_related("touchpoint").get(message_id="bcc1@ourco.example")
    assert (email.touchpoint.owner_id, email.touchpoint.source, email.touchpoint.status) == (alice_mail.user.id, "bcc", "sent")
    assert alice_mail.get(f"contacts/{world['carol']}").json()["last_contacted_via"] == "Email"
    # The same mail BCC'd again (or also synced over IMAP) is still one touchpoint.
    send(drop, "alice@ourco.example", [address], raw)
    assert EmailMessage.objects.filter(message_id="bcc1@ourco.example").count() == 1


def test_unknown_drop_addresses_are_refused_at_rcpt(drop, alice_mail):
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(drop, "x@elsewhere.example", ["nobody@drop.touchpoints.localhost"], make_mail())
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(drop, "x@elsewhere.example", ["carol@grasspods.example"], make_mail())  # not an open relay
    assert not EmailMessage.objects.exists()


def test_a_message_forwarded_as_attachment_is_stored_as_the_original(drop, alice_mail, world):
    address = alice_mail.get("me/drop-address").json()["address"]
    original = make_mail(sender="Carol Ng <carol@grasspods.example>", message_id="<orig@grasspods.example>", subject="Contract")
    wrapper = Message()
    wrapper["From"] = "alice@ourco.example"
    wrapper["To"] = address
    wrapper["Subject"] = "Fwd: Contract"
    wrapper.set_content("FYI")
    from email import message_from_bytes, policy

    wrapper.add_attachment(message_from_bytes(original, policy=policy.default))
    send(drop, "alice@ourco.example", [address], wrapper.as_bytes())
    email = EmailMessage.objects.select_related("touchpoint").get()
    assert (email.message_id, email.touchpoint.subject, email.touchpoint.direction) == ("orig@grasspods.example", "Contract", "inbound")


def test_garbage_is_kept_as_a_rejection_not_bounced(drop, alice_mail):
    from emails.models import Rejection

    address = alice_mail.get("me/drop-address").json()["address"]
    send(drop, "alice@ourco.example", [address], b"no headers here")
    assert Rejection.objects.filter(source="bcc").count() == 1
