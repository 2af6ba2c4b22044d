"""Opens and clicks: real pixel fetches and link clicks on the tracking URLs
of copies sent through a real SMTP server, then the Engagements API.

Hits that must happen minutes or hours apart go straight to
``do_record_hit`` with their time (the first of each is a real request)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from emails import tracking
from emails.engagement import Hit, do_record_hit
from emails.models import EmailParticipant, Engagement
from emails.tests.smtpserver import pixel_of, smtp_server, tracked_links_of  # noqa: F401 - fixture
from touchpoints.models import Touchpoint
from touchpoints.services import update_touchpoint

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
READER_IP = "203.0.113.7"
CAROL = "carol@grasspods.example"
ERIN = "erin@partner.example"
BOSS = "boss@grasspods.example"
LINK = "https://example.com/pricing?a=1&b=2"
BODY = f'<p>Hi {{{{ first_name }}}}, see <a href="{LINK.replace("&", "&amp;")}">pricing</a> or <a href="mailto:alice@ourco.example">write</a>.</p>'


def send(api, **payload) -> dict:
    response = api.post("emails/send", {"subject": "Pricing", "body_html": BODY, **payload})
    assert response.status_code == 201, response.content
    return response.json()


def fetch(path: str, *, ip: str = READER_IP, agent: str | None = BROWSER):
    extra = {"REMOTE_ADDR": ip}
    if agent is not None:
        extra["HTTP_USER_AGENT"] = agent
    return Client().get(path, **extra)


def open_copy(server, address: str, **kw):
    (copy,) = server.to(address)
    response = fetch(pixel_of(copy), **kw)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif" and response.content == tracking.PIXEL_GIF
    return response


def click_copy(server, address: str, **kw):
    (copy,) = server.to(address)
    (link,) = tracked_links_of(copy)
    return fetch(link, **kw)


def age(sent: dict, hours: float = 1) -> None:
    """Move the email back in time, so a click now is not "seconds after
    sending" (what link scanners do) and counts as a person's."""
    tp = sent["touchpoint_id"]
    occurred = Touchpoint.objects.get(id=tp).occurred_at
    update_touchpoint(None, tp, {"occurred_at": occurred - timedelta(hours=hours)}, checked=True)


def engagements(api, **params) -> list[dict]:
    response = api.get("engagements", **params)
    assert response.status_code == 200, response.content
    return response.json()["items"]


def ms(dt):
    """As the API writes times: to the millisecond."""
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def participant_id(sent: dict, address: str) -> int:
    return EmailParticipant.objects.get(email_id=sent["email_id"], address=address).id


# --- opens ----------------------------------------------------------------------------------


def test_pixel_fetch_records_an_open_for_that_recipient(alice_mail, world, smtp_server):
    sent = send(alice_mail, to=[CAROL], cc=[ERIN])
    before = timezone.now()
    open_copy(smtp_server, CAROL)
    (item,) = engagements(alice_mail)
    assert (item["kind"], item["recipient"], item["role"], item["count"]) == ("open", CAROL, "to", 1)
    assert (item["email_id"], item["touchpoint_id"], item["contact_id"]) == (sent["email_id"], sent["touchpoint_id"], world["carol"])
    assert item["contact_name"] == "Carol Ng" and item["owner_id"] == alice_mail.user.id
    assert item["first_at"] == item["last_at"] and parse_datetime(item["first_at"]) >= ms(before)
    assert item["automated_reason"] is None


def test_repeat_open_within_the_hour_counts_once_and_after_it_counts_again(alice_mail, world, smtp_server):
    sent = send(alice_mail, to=[CAROL])
    open_copy(smtp_server, CAROL)
    first = Engagement.objects.get()
    pid = participant_id(sent, CAROL)

    do_record_hit(pid, Hit(kind="open", at=first.first_at + timedelta(minutes=10), ip=READER_IP, user_agent=BROWSER))
    (item,) = engagements(alice_mail)
    assert item["count"] == 1
    assert parse_datetime(item["first_at"]) == ms(first.first_at)
    assert parse_datetime(item["last_at"]) == ms(first.first_at + timedelta(minutes=10))

    do_record_hit(pid, Hit(kind="open", at=first.first_at + timedelta(hours=2), ip=READER_IP, user_agent=BROWSER))
    (item,) = engagements(alice_mail)
    assert item["count"] == 2
    assert parse_datetime(item["last_at"]) == ms(first.first_at + timedelta(hours=2))


def test_second_real_pixel_fetch_at_once_does_not_count(alice_mail, world, smtp_server):
    send(alice_mail, to=[CAROL])
    open_copy(smtp_server, CAROL)
    open_copy(smtp_server, CAROL)
    (item,) = engagements(alice_mail)
    assert item["count"] == 1


def test_pixel_with_forged_or_foreign_token_is_still_a_gif_and_records_nothing(alice_mail, world, smtp_server):
    sent = send(alice_mail, to=[CAROL])
    (copy,) = smtp_server.messages
    real = pixel_of(copy).removeprefix("/t/o/").removesuffix(".gif")
    payload, signature = real.rsplit(":", 1)
    foreign = signing.Signer(key="not-our-secret", salt=tracking.TOKEN_SALT).sign_object(["o", participant_id(sent, CAROL)], compress=True)
    click_token = tracked_links_of(copy)[0].removeprefix("/t/c/")
    for token in ("garbage", f"{payload}:{signature[:-2]}xx", foreign, click_token):
        response = fetch(f"/t/o/{token}.gif")
        assert response.status_code == 200 and response.content == tracking.PIXEL_GIF
        assert response["Content-Type"] == "image/gif"
    assert not Engagement.objects.exists()


# --- clicks ---------------------------------------------------------------------------------


def test_click_redirects_to_the_exact_original_url_and_implies_an_open(alice_mail, world, smtp_server):
    sent = send(alice_mail, to=[CAROL])
    age(sent)
    response = click_copy(smtp_server, CAROL)
    assert response.status_code == 302
    assert response["Location"] == LINK
    rows = {i["kind"]: i for i in engagements(alice_mail)}
    assert set(rows) == {"click", "open"}
    assert rows["click"]["last_url"] == LINK and rows["click"]["count"] == 1
    assert rows["open"]["count"] == 1 and rows["open"]["recipient"] == CAROL


def test_click_after_an_open_does_not_count_the_open_twice_within_the_hour(alice_mail, world, smtp_server):
    sent = send(alice_mail, to=[CAROL])
    age(sent)
    open_copy(smtp_server, CAROL)
    assert click_copy(smtp_server, CAROL).status_code == 302
    counts = {i["kind"]: i["count"] for i in engagements(alice_mail)}
    assert counts == {"open": 1, "click": 1}


@pytest.mark.parametrize("how", ["garbage", "tampered_url", "foreign_key", "open_token"])
def test_forged_or_tampered_click_token_is_404_never_a_redirect(alice_mail, world, smtp_server, how):
    sent = send(alice_mail, to=[CAROL])
    age(sent)
    (copy,) = smtp_server.messages
    real = tracked_links_of(copy)[0].removeprefix("/t/c/")
    pid = participant_id(sent, CAROL)
    token = {
        "garbage": "not-a-token",
        # Our signature over Carol's link, on a payload pointing elsewhere.
        "tampered_url": f"{signing.b64_encode(signing.JSONSerializer().dumps(['c', pid, 'https://evil.example/'])).decode()}:{real.rsplit(':', 1)[1]}",
        "foreign_key": signing.Signer(key="not-our-secret", salt=tracking.TOKEN_SALT).sign_object(["c", pid, "https://evil.example/"]),
        "open_token": pixel_of(copy).removeprefix("/t/o/").removesuffix(".gif"),
    }[how]
    response = fetch(f"/t/c/{token}")
    assert response.status_code == 404
    assert "Location" not in response
    assert not Engagement.objects.exists()


def test_click_seconds_after_sending_is_a_link_scanner_and_implies_no_open(alice_mail, world, smtp_server):
    send(alice_mail, to=[CAROL])
    response = click_copy(smtp_server, CAROL)
    assert response.status_code == 302 and response["Location"] == LINK  # the scanner still gets the page
    assert engagements(alice_mail) == []
    (item,) = engagements(alice_mail, include_automated="true")
    assert item["kind"] == "automated_click" and item["automated_reason"]


# --- automated opens ------------------------------------------------------------------------


def test_apple_mail_privacy_open_is_automated_and_reported_apart(alice_mail, world, smtp_server):
    send(alice_mail, to=[CAROL])
    open_copy(smtp_server, CAROL, ip="17.58.63.1", agent="Mozilla/5.0")
    assert engagements(alice_mail) == []
    (auto,) = engagements(alice_mail, include_automated="true")
    assert (auto["kind"], auto["recipient"], auto["count"]) == ("automated_open", CAROL, 1)
    assert "Apple" in auto["automated_reason"]
    assert [i["kind"] for i in engagements(alice_mail, kind="automated_open")] == ["automated_open"]
    assert engagements(alice_mail, kind="open") == []

    open_copy(smtp_server, CAROL)  # the person, from their own network
    (human,) = engagements(alice_mail)
    assert (human["kind"], human["count"]) == ("open", 1)
    both = {i["kind"]: i["count"] for i in engagements(alice_mail, include_automated="true")}
    assert both == {"open": 1, "automated_open": 1}


def test_open_from_apple_address_with_a_full_user_agent_is_still_automated(alice_mail, world, smtp_server):
    send(alice_mail, to=[CAROL])
    open_copy(smtp_server, CAROL, ip="17.1.2.3")
    assert engagements(alice_mail) == []
    assert [i["kind"] for i in engagements(alice_mail, include_automated="true")] == ["automated_open"]


# --- Bcc ------------------------------------------------------------------------------------


def test_bcc_recipients_open_and_click_are_theirs(alice_mail, world, smtp_server):
    sent = send(alice_mail, to=[CAROL], bcc=[BOSS])
    age(sent)
    open_copy(smtp_server, BOSS)
    assert click_copy(smtp_server, BOSS).status_code == 302
    items = engagements(alice_mail)
    assert {(i["kind"], i["recipient"], i["role"]) for i in items} == {("open", BOSS, "bcc"), ("click", BOSS, "bcc")}
    assert engagements(alice_mail, contact_id=world["carol"]) == []


# --- who sees engagements -------------------------------------------------------------------


def test_outsider_sees_no_engagements_of_alices_email_and_teammate_does(alice_mail, bob, charlie, world, smtp_server):
    sent = send(alice_mail, to=[CAROL])
    open_copy(smtp_server, CAROL)
    assert engagements(charlie) == []
    assert engagements(charlie, include_automated="true", touchpoint_id=sent["touchpoint_id"]) == []
    assert charlie.get(f"emails/{sent['email_id']}").status_code == 404
    assert [i["recipient"] for i in engagements(bob)] == [CAROL]
    assert bob.get(f"emails/{sent['email_id']}").json()["engagement"] == {"open": 1}


# --- filters, pagination and totals -----------------------------------------------------------


@pytest.fixture
def two_emails(alice_mail, bob, world, smtp_server):
    """Alice's email to Carol, opened two days ago; Bob's to Erin (his
    contact), opened and clicked yesterday."""
    erin = bob.post("contacts", {"first_name": "Erin", "last_name": "Park", "emails": [ERIN]}).json()["id"]
    a = send(alice_mail, to=[CAROL])
    b = send(bob, to=[ERIN])
    age(a, hours=72)
    age(b, hours=72)
    now = timezone.now()
    t_a, t_b = now - timedelta(days=2), now - timedelta(days=1)
    do_record_hit(participant_id(a, CAROL), Hit(kind="open", at=t_a, ip=READER_IP, user_agent=BROWSER))
    do_record_hit(participant_id(b, ERIN), Hit(kind="click", at=t_b, ip=READER_IP, user_agent=BROWSER, url=LINK))
    return {"a": a, "b": b, "erin": erin, "t_a": t_a, "t_b": t_b}


def kinds_of(items) -> list[tuple[str, str]]:
    return sorted((i["recipient"], i["kind"]) for i in items)


def test_engagements_filter_by_date_owner_contact_and_kind(alice_mail, bob, world, two_emails):
    t_a, t_b = two_emails["t_a"], two_emails["t_b"]
    middle = (t_a + timedelta(hours=12)).isoformat()
    assert kinds_of(engagements(alice_mail)) == [(CAROL, "open"), (ERIN, "click"), (ERIN, "open")]
    assert kinds_of(engagements(alice_mail, since=middle)) == [(ERIN, "click"), (ERIN, "open")]
    assert kinds_of(engagements(alice_mail, until=middle)) == [(CAROL, "open")]
    assert kinds_of(engagements(alice_mail, since=(t_a - timedelta(hours=1)).isoformat(), until=middle)) == [(CAROL, "open")]
    assert kinds_of(engagements(alice_mail, owner_id=alice_mail.user.id)) == [(CAROL, "open")]
    assert kinds_of(engagements(alice_mail, owner_id=bob.user.id)) == [(ERIN, "click"), (ERIN, "open")]
    assert kinds_of(engagements(alice_mail, contact_id=world["carol"])) == [(CAROL, "open")]
    assert kinds_of(engagements(alice_mail, contact_id=two_emails["erin"])) == [(ERIN, "click"), (ERIN, "open")]
    assert kinds_of(engagements(alice_mail, kind="click")) == [(ERIN, "click")]
    assert kinds_of(engagements(alice_mail, touchpoint_id=two_emails["a"]["touchpoint_id"])) == [(CAROL, "open")]


def test_engagements_paginate_with_a_cursor(alice_mail, two_emails):
    everything = engagements(alice_mail)
    seen, cursor = [], None
    for _ in range(5):
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = alice_mail.get("engagements", **params).json()
        assert len(page["items"]) <= 1
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [i["id"] for i in seen] == [i["id"] for i in everything] and len(seen) == 3
    # Newest activity first.
    assert [i["last_at"] for i in seen] == sorted((i["last_at"] for i in seen), reverse=True)


def test_email_shows_its_open_and_click_totals(alice_mail, world, smtp_server):
    sent = send(alice_mail, to=[CAROL], cc=[ERIN])
    age(sent)
    open_copy(smtp_server, CAROL)
    open_copy(smtp_server, ERIN)
    click_copy(smtp_server, ERIN)
    open_copy(smtp_server, ERIN, ip="17.58.63.1", agent="Mozilla/5.0")
    later = Engagement.objects.get(participant_id=participant_id(sent, CAROL), kind="open").last_at + timedelta(hours=2)
    do_record_hit(participant_id(sent, CAROL), Hit(kind="open", at=later, ip=READER_IP, user_agent=BROWSER))
    totals = alice_mail.get(f"emails/{sent['email_id']}").json()["engagement"]
    assert totals == {"open": 3, "click": 1, "automated_open": 1}
