"""Mailbox sync against a real IMAP server (Dovecot, started by the suite):
first sync, incremental re-sync, flag changes, UIDVALIDITY reset, bad
messages, two mailboxes sharing an email, wrong credentials, the API and
the periodic job."""
from __future__ import annotations

import pytest

from config import crypto
from emails.imap import do_sync_mailbox
from emails.models import EmailMessage, Mailbox, MailboxFolder, MailboxMessage, Rejection
from emails.tests.conftest import make_mail
from touchpoints.models import Touchpoint


def connect(api, account, address: str = "alice@ourco.example"):
    response = api.post(
        "mailboxes",
        {
            "email_address": address,
            "imap_host": account.host,
            "imap_port": account.port,
            "imap_security": "none",
            "username": account.username,
            "password": account.password,
        },
    )
    assert response.status_code == 201, response.content
    return response.json()


def sync(api, mailbox_id: int) -> dict:
    response = api.post(f"mailboxes/{mailbox_id}/sync")
    assert response.status_code == 200, response.content
    return response.json()


def test_first_sync_stores_inbox_and_sent_and_resync_fetches_only_new_mail(alice_mail, world, imap_account):
    imap_account.append("INBOX", make_mail(message_id="<in1@g.example>", when="2024-03-01 10:00"))
    imap_account.append("INBOX", make_mail(message_id="<in2@g.example>", subject="Second", when="2024-03-02 10:00"))
    imap_account.append(
        "Sent", make_mail(sender="alice@ourco.example", to="carol@grasspods.example", message_id="<out1@ourco.example>", when="2024-03-03 10:00")
    )
    mailbox = connect(alice_mail, imap_account)
    first = sync(alice_mail, mailbox["id"])
    assert (first["status"], first["stored"], first["rejected"]) == ("ok", 3, 0)
    assert first["folders"] == {"INBOX": "synced", "Sent": "synced"}
    sent = Touchpoint.objects.get(email__message_id="out1@ourco.example")
    assert (sent.status, sent.direction, sent.owner_id) == ("sent", "outbound", alice_mail.user.id)
    carol = alice_mail.get(f"contacts/{world['carol']}").json()
    assert carol["last_contacted_on"].startswith("2024-03-03T10:00")

    again = sync(alice_mail, mailbox["id"])
    assert (again["stored"], again["folders"]) == (0, {"INBOX": "unchanged", "Sent": "unchanged"})

    imap_account.append("INBOX", make_mail(message_id="<in3@g.example>", subject="Third", when="2024-03-04 10:00"))
    third = sync(alice_mail, mailbox["id"])
    assert (third["stored"], third["duplicates"]) == (1, 0)
    assert EmailMessage.objects.count() == 4
    shown = alice_mail.get(f"mailboxes/{mailbox['id']}").json()
    assert shown["last_sync_status"] == "ok" and shown["last_sync_error"] is None
    assert {f["name"]: f["last_uid"] for f in shown["folders"]} == {"INBOX": 3, "Sent": 1}
    assert "password" not in shown


def test_flag_changes_are_synced_with_condstore_without_duplicates(alice_mail, world, imap_account):
    uid = imap_account.append("INBOX", make_mail(message_id="<flag@g.example>"))
    mailbox = connect(alice_mail, imap_account)
    sync(alice_mail, mailbox["id"])
    assert MailboxMessage.objects.get(uid=uid).flags == ""
    with imap_account.client() as client:
        client.select_folder("INBOX")
        client.add_flags([uid], [b"\\Seen", b"\\Answered"])
    result = sync(alice_mail, mailbox["id"])
    assert (result["stored"], result["duplicates"], result["folders"]["INBOX"]) == (0, 0, "synced")
    assert set(MailboxMessage.objects.get(uid=uid).flags.split()) == {"\\Seen", "\\Answered"}
    assert EmailMessage.objects.count() == 1


def test_uidvalidity_reset_refetches_without_duplicating(alice_mail, world, imap_account):
    for n in range(3):
        imap_account.append("INBOX", make_mail(message_id=f"<uv{n}@g.example>", subject=f"M{n}"))
    mailbox = connect(alice_mail, imap_account)
    sync(alice_mail, mailbox["id"])
    folder = MailboxFolder.objects.get(mailbox_id=mailbox["id"], name="INBOX")
    old_validity = folder.uidvalidity
    new_validity = imap_account.reset_uidvalidity("INBOX")
    result = sync(alice_mail, mailbox["id"])
    assert result["folders"]["INBOX"] == "uidvalidity-reset"
    assert (result["stored"], result["duplicates"]) == (0, 3)
    assert EmailMessage.objects.count() == 3 and Touchpoint.objects.count() == 3
    folder.refresh_from_db()
    assert folder.uidvalidity == new_validity != old_validity
    assert set(MailboxMessage.objects.filter(folder=folder).values_list("uidvalidity", flat=True)) == {new_validity}


def test_a_bad_message_is_rejected_with_its_reason_and_the_sync_goes_on(alice_mail, world, imap_account, settings):
    imap_account.append("INBOX", make_mail(message_id="<good1@g.example>"))
    imap_account.append("INBOX", b"X-Nothing: here\r\n\r\nno sender, no recipient\r\n")
    imap_account.append("INBOX", make_mail(message_id="<big@g.example>", body="x" * 5000))
    imap_account.append("INBOX", make_mail(message_id="<good2@g.example>", subject="After"))
    settings.MAX_RAW_EMAIL_BYTES = 4000
    mailbox = connect(alice_mail, imap_account)
    result = sync(alice_mail, mailbox["id"])
    assert (result["status"], result["stored"], result["rejected"]) == ("partial", 2, 2)
    rejections = alice_mail.get(f"mailboxes/{mailbox['id']}/rejections").json()
    assert sorted(r["reason"] for r in rejections) == ["no-participants", "too-large"]
    # Rejected UIDs are not asked about again.
    assert sync(alice_mail, mailbox["id"])["rejected"] == 0
    assert Rejection.objects.count() == 2


def test_the_same_email_in_two_mailboxes_is_one_touchpoint(alice_mail, bob_mail, world, imap_account, dovecot):
    raw = make_mail(message_id="<shared@g.example>", to="alice@ourco.example, bob@ourco.example")
    imap_account.append("INBOX", raw)
    dovecot.add_user("bob-shared", "pw-bob")
    dovecot.append("bob-shared", "INBOX", raw)
    alice_box = connect(alice_mail, imap_account)
    bob_box = bob_mail.post(
        "mailboxes",
        {"email_address": "bob@ourco.example", "imap_host": dovecot.host, "imap_port": dovecot.port, "imap_security": "none", "username": "bob-shared", "password": "pw-bob"},
    ).json()
    assert sync(alice_mail, alice_box["id"])["stored"] == 1
    assert sync(bob_mail, bob_box["id"])["duplicates"] == 1
    assert Touchpoint.objects.filter(kind="email").count() == 1
    assert MailboxMessage.objects.filter(email__message_id="shared@g.example").count() == 2


def test_wrong_password_is_reported_on_the_mailbox_not_raised(alice_mail, imap_account):
    mailbox = connect(alice_mail, imap_account)
    assert alice_mail.post(f"mailboxes/{mailbox['id']}/test").json()["ok"] is True
    alice_mail.patch(f"mailboxes/{mailbox['id']}", {"password": "wrong"})
    result = sync(alice_mail, mailbox["id"])
    assert result["status"] == "error"
    shown = alice_mail.get(f"mailboxes/{mailbox['id']}").json()
    assert "login refused" in shown["last_sync_error"]
    test = alice_mail.post(f"mailboxes/{mailbox['id']}/test").json()
    assert test["ok"] is False and "login refused" in test["error"]


def test_unsaved_settings_can_be_tested(alice_mail, imap_account):
    body = {
        "email_address": "alice@ourco.example",
        "imap_host": imap_account.host,
        "imap_port": imap_account.port,
        "imap_security": "none",
        "username": imap_account.username,
        "password": imap_account.password,
    }
    result = alice_mail.post("mailboxes/test", body).json()
    assert result == {**result, "ok": True, "sent_folder": "Sent", "condstore": True}
    assert not Mailbox.objects.exists()


def test_passwords_are_encrypted_at_rest(alice_mail, imap_account):
    mailbox = Mailbox.objects.get(id=connect(alice_mail, imap_account)["id"])
    assert imap_account.password not in mailbox.password_encrypted
    assert crypto.decrypt(mailbox.password_encrypted) == imap_account.password


def test_mailboxes_are_private_to_their_user(alice_mail, bob, charlie, imap_account):
    mailbox = connect(alice_mail, imap_account)
    for other in (bob, charlie):
        assert other.get(f"mailboxes/{mailbox['id']}").status_code == 404
        assert other.post(f"mailboxes/{mailbox['id']}/sync").status_code == 404
        assert other.get("mailboxes").json() == []


def test_the_periodic_job_syncs_due_mailboxes(alice_mail, world, imap_account):
    from emails.tasks import sync_due_mailboxes

    imap_account.append("INBOX", make_mail(message_id="<periodic@g.example>"))
    connect(alice_mail, imap_account)
    sync_due_mailboxes.call_local()  # what the worker runs every minute
    assert EmailMessage.objects.filter(message_id="periodic@g.example").exists()
    assert Mailbox.objects.get().last_sync_status == "ok"


def test_a_second_sync_of_the_same_mailbox_does_not_start_while_one_runs(alice_mail, imap_account):
    from emails.imap import claim

    mailbox_id = connect(alice_mail, imap_account)["id"]
    assert claim(mailbox_id) is True
    assert do_sync_mailbox(mailbox_id) is None  # the running one holds it


@pytest.mark.parametrize("field,value", [("imap_port", 0), ("imap_security", "tls9"), ("email_address", "nope")])
def test_bad_mailbox_settings_are_422_naming_the_field(alice_mail, field, value):
    body = {"email_address": "a@b.example", "imap_host": "h", "username": "u", "password": "p", field: value}
    response = alice_mail.post("mailboxes", body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field
