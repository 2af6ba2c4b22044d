"""Tracking building blocks: signed tokens, pixel and link rewriting,
automated-open detection and the one-hour counting window. No database."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.core.exceptions import ImproperlyConfigured

from emails.tracking import (
    DEFAULT_RULES,
    PIXEL_GIF,
    BadToken,
    TrackedHit,
    classify_click,
    classify_open,
    click_token,
    click_url,
    instrument_for_recipient,
    instrument_html,
    open_token,
    pixel_url,
    read_token,
    should_count,
    validate_rules,
)

BASE = "https://crm.example.com"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
GMAIL_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
RESIDENTIAL_IP = "81.153.20.7"


# --- Tokens -----------------------------------------------------------------


def test_open_token_round_trips():
    assert read_token(open_token(42)) == TrackedHit("open", 42, None)


def test_click_token_carries_the_destination():
    url = "https://shop.example/p?id=7&utm_source=mail#top"
    assert read_token(click_token(42, url)) == TrackedHit("click", 42, url)


def test_tokens_are_url_safe_path_segments():
    for token in (open_token(1), click_token(1, "https://example.com/a b?q=é&x=<y>")):
        assert re.fullmatch(r"[A-Za-z0-9_\-:.]+", token), token


def test_read_token_can_insist_on_a_kind():
    with pytest.raises(BadToken):
        read_token(click_token(1, "https://example.com/"), kind="open")
    with pytest.raises(BadToken):
        read_token(open_token(1), kind="click")
    assert read_token(open_token(1), kind="open").recipient_id == 1


def test_tampered_payload_is_refused():
    token = open_token(41)
    payload, sig = token.rsplit(":", 1)
    forged = signing.b64_encode(b'["o",42]').decode()
    with pytest.raises(BadToken):
        read_token(f"{forged}:{sig}")
    with pytest.raises(BadToken):
        read_token(payload[:-1] + ("A" if payload[-1] != "A" else "B") + ":" + sig)


def test_click_destination_cannot_be_swapped():
    token = click_token(7, "https://good.example/")
    _, sig = token.rsplit(":", 1)
    evil = signing.b64_encode(b'["c",7,"https://evil.example/"]').decode()
    with pytest.raises(BadToken):
        read_token(f"{evil}:{sig}")


def test_signature_is_required():
    payload, _ = open_token(42).rsplit(":", 1)
    for bad in (payload, f"{payload}:", f"{payload}:AAAA", "", ":", "x" * 10_000):
        with pytest.raises(BadToken):
            read_token(bad)


def test_tokens_signed_elsewhere_are_refused(settings):
    # Same key, another salt (another feature's signed value) ...
    with pytest.raises(BadToken):
        read_token(signing.Signer(salt="something.else").sign_object(["o", 1]))
    # ... or our salt under another installation's key.
    token = open_token(5)
    settings.SECRET_KEY = "another-installation-" + "x" * 40
    with pytest.raises(BadToken):
        read_token(token)


def test_old_tokens_survive_a_key_rotation(settings):
    token = open_token(5)
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "rotated-" + "y" * 50
    settings.SECRET_KEY_FALLBACKS = [old]
    assert read_token(token).recipient_id == 5


def test_consecutive_ids_do_not_share_a_signature():
    a, b = open_token(1000), open_token(1001)
    assert a.rsplit(":", 1)[1] != b.rsplit(":", 1)[1]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "/relative", "mailto:a@example.com", "//example.com/x", ""])
def test_only_absolute_http_urls_get_click_tokens(url):
    with pytest.raises(ValueError):
        click_token(1, url)


@pytest.mark.parametrize("rid", [0, -1, True, "1", None])
def test_recipient_id_must_be_a_positive_int(rid):
    with pytest.raises(ValueError):
        open_token(rid)


def test_pixel_and_click_urls_are_absolute():
    assert pixel_url("TOK", BASE + "/") == f"{BASE}/t/o/TOK.gif"
    assert click_url("TOK", BASE) == f"{BASE}/t/c/TOK"
    assert click_url("TOK", "https://example.com/crm/") == "https://example.com/crm/t/c/TOK"
    with pytest.raises(ValueError):
        pixel_url("TOK", "crm.example.com")


def test_pixel_gif_is_a_1x1_transparent_gif():
    assert PIXEL_GIF.startswith(b"GIF89a") and PIXEL_GIF.endswith(b";")
    assert PIXEL_GIF[6:10] == b"\x01\x00\x01\x00"  # logical screen 1x1
    gce = PIXEL_GIF.index(b"\x21\xf9\x04")  # graphic control extension
    assert PIXEL_GIF[gce + 3] & 0x01  # transparency flag
    assert len(PIXEL_GIF) == 43


# --- HTML instrumentation ---------------------------------------------------

OPEN_URL = f"{BASE}/t/o/OPENTOKEN.gif"


def wrap(url: str) -> str:
    return f"{BASE}/t/c/<{url}>"


def test_rewrites_http_links_and_adds_one_pixel_before_body_end():
    html = '<html><body><p><a href="https://example.com/a">A</a> <a href="http://example.com/b">B</a></p></body></html>'
    out = instrument_html(html, open_url=OPEN_URL, click_url_for=wrap)
    assert f'<a href="{BASE}/t/c/&lt;https://example.com/a&gt;">A</a>' in out
    assert f'<a href="{BASE}/t/c/&lt;http://example.com/b&gt;">B</a>' in out
    assert out.count("<img") == 1
    assert re.search(r'<img src="https://crm\.example\.com/t/o/OPENTOKEN\.gif"[^>]*width="1" height="1"[^>]*/></body>', out)


def test_leaves_mailto_tel_anchors_relative_and_placeholders_alone():
    links = ['mailto:a@example.com', 'tel:+15551234', '#section-2', '/relative', '{{ unsubscribe_url }}', "ftp://example.com/f"]
    html = "<body>" + "".join(f'<a href="{h}">x</a>' for h in links) + "</body>"
    out = instrument_html(html, open_url=OPEN_URL, click_url_for=wrap)
    assert out == html.replace("</body>", out[out.index("<img") : out.index("</body>")] + "</body>")


def test_entities_are_decoded_before_signing():
    seen = []
    html = '<a href="https://example.com/s?a=1&amp;b=2&#38;c=3">x</a>'
    instrument_html(html, open_url=OPEN_URL, click_url_for=lambda u: seen.append(u) or "https://t.example/c")
    assert seen == ["https://example.com/s?a=1&b=2&c=3"]


def test_rewritten_href_is_escaped_for_its_attribute():
    html = "<a href='https://example.com/'>x</a>"
    out = instrument_html(html, open_url=OPEN_URL, click_url_for=lambda u: "https://t.example/c?a=1&b='2'")
    assert "<a href='https://t.example/c?a=1&amp;b=&#x27;2&#x27;'>x</a>" in out


def test_everything_but_hrefs_is_kept_byte_for_byte():
    html = (
        "<!DOCTYPE html>\r\n<html>\n<head><style>a{color:red}</style></head>\n"
        "<body>\n<!--[if mso]><a href=\"https://mso.example/\">Outlook</a><![endif]-->\n"
        "<P CLASS=x>Caf&eacute; &nbsp; <A  data-x = 'y'   HREF = 'https://example.com/?q=1&amp;r=2' >go</A>\n"
        "<a href=https://unquoted.example/x>u</a>\n"
        "<script>var s = '<a href=\"https://script.example/\">';</script>\n"
        "</body>\n</html>\n"
    )
    out = instrument_html(html, open_url=OPEN_URL, click_url_for=lambda u: "https://t.example/c")
    pixel = out[out.index('<img src="https://crm'): out.index("</body>")]
    expected = (
        html.replace("'https://example.com/?q=1&amp;r=2'", "'https://t.example/c'")
        .replace("href=https://unquoted.example/x>", 'href="https://t.example/c">')
        .replace("</body>", pixel + "</body>")
    )
    assert out == expected
    assert "https://mso.example/" in out and "https://script.example/" in out


def test_already_tracked_and_opted_out_links_are_left_alone():
    html = (
        f'<a href="{BASE}/t/c/EXISTING">ours</a>'
        '<a clicktracking="off" href="https://example.com/private">off</a>'
        '<a data-no-track href="https://example.com/private2">off</a>'
        '<a href="https://example.com/unsubscribe?u=1">Unsubscribe</a>'
    )
    out = instrument_html(html, open_url=OPEN_URL, click_url_for=lambda u: "https://t.example/c")
    assert f"{BASE}/t/c/EXISTING" in out
    assert "https://example.com/private\"" in out and "https://example.com/private2\"" in out
    assert "example.com/unsubscribe" not in out  # unsubscribe links stay trackable


def test_pixel_is_appended_without_body_and_not_added_twice():
    out = instrument_html("<p>Hello</p>", open_url=OPEN_URL, click_url_for=wrap)
    assert out.startswith("<p>Hello</p><img") and out.count("<img") == 1
    assert instrument_html(out, open_url=OPEN_URL, click_url_for=wrap) == out
    framed = instrument_html("<html><p>Hi</p></html>", open_url=OPEN_URL, click_url_for=wrap)
    assert framed.endswith("/></html>")


def test_each_recipient_gets_their_own_copy():
    html = '<body><a href="https://example.com/x?a=1&amp;b=2">x</a></body>'
    to_copy = instrument_for_recipient(html, 11, BASE)
    bcc_copy = instrument_for_recipient(html, 12, BASE)
    assert to_copy != bcc_copy

    def hits(copy: str) -> list[TrackedHit]:
        tokens = re.findall(r"/t/c/([^\"]+)\"", copy) + re.findall(r"/t/o/([^\"]+)\.gif", copy)
        return [read_token(t) for t in tokens]

    assert hits(to_copy) == [TrackedHit("click", 11, "https://example.com/x?a=1&b=2"), TrackedHit("open", 11, None)]
    assert {h.recipient_id for h in hits(bcc_copy)} == {12}


# --- Automated opens and clicks ---------------------------------------------


def test_default_rules_are_valid_and_cite_a_source():
    validate_rules(DEFAULT_RULES)
    assert all(rule["source"] for rule in DEFAULT_RULES)


@pytest.mark.parametrize(
    ("ip", "ua", "seconds", "reason"),
    [
        ("17.58.101.4", "Mozilla/5.0", 4.0, "Apple Mail Privacy Protection prefetch"),
        ("17.120.3.9", CHROME, 5000.0, "Apple Mail Privacy Protection prefetch"),  # Apple's range, any UA
        ("::ffff:17.1.2.3", None, None, "Apple Mail Privacy Protection prefetch"),
        ("104.28.40.5", "Mozilla/5.0", 3600.0, "Apple Mail Privacy Protection prefetch"),  # bare MPP UA elsewhere
        ("66.249.84.10", GMAIL_PROXY, 3.0, "Opened seconds after sending by a proxy"),
        (None, "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html", 50.0, "Yahoo Mail image proxy"),
        (RESIDENTIAL_IP, "Mozilla/5.0 (compatible; Barracuda Sentinel)", 200.0, "Email security scanner"),
        (RESIDENTIAL_IP, "python-requests/2.32.3", 900.0, "Bot or HTTP library"),
        (RESIDENTIAL_IP, None, 3.0, "Opened seconds after sending by a proxy"),
        (RESIDENTIAL_IP, "Image-Fetcher/1.0", 2.0, "Opened seconds after sending by a proxy"),
    ],
)
def test_automated_opens_are_flagged_with_their_reason(ip, ua, seconds, reason):
    assert classify_open(ip, ua, seconds) == reason


@pytest.mark.parametrize(
    ("ip", "ua", "seconds"),
    [
        (RESIDENTIAL_IP, CHROME, 3600.0),
        (RESIDENTIAL_IP, CHROME, 4.0),  # quick, but a real client: a person at their inbox
        ("2a02:c7c:1234::1", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15", 600.0),
        (RESIDENTIAL_IP, "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)", 60.0),
        ("not an ip", CHROME, None),
        (None, None, None),
    ],
)
def test_people_are_not_flagged(ip, ua, seconds):
    assert classify_open(ip, ua, seconds) is None


def test_gmail_proxy_opens_are_the_persons_unless_switched_on(settings):
    # Gmail fetches through its proxy when the person opens the message.
    assert classify_open("66.249.84.10", GMAIL_PROXY, 120.0) is None
    settings.TRACKING_PROXY_RULES = [{"name": "google_image_proxy", "enabled": True}]
    assert classify_open("66.249.84.10", GMAIL_PROXY, 120.0) == "Google image proxy"
    assert classify_open("66.102.8.1", None, 9000.0) == "Google image proxy"


def test_clicks_seconds_after_sending_are_scanners():
    assert classify_click(RESIDENTIAL_IP, CHROME, 2.5) == "Clicked seconds after sending (link scanner)"
    assert classify_click(RESIDENTIAL_IP, "Mimecast URL Protect", 500.0) == "Email security scanner"
    assert classify_click(RESIDENTIAL_IP, "curl/8.5.0", 500.0) == "Bot or HTTP library"
    assert classify_click(RESIDENTIAL_IP, CHROME, 45.0) is None
    # Image-proxy rules are about opens: Apple does not follow links.
    assert classify_click("17.1.2.3", CHROME, 4000.0) is None


def test_settings_can_switch_off_change_and_add_rules(settings):
    settings.TRACKING_PROXY_RULES = [
        {"name": "apple_mpp", "enabled": False},
        {"name": "open_too_soon", "when": {"attr": "seconds_since_sent", "op": "lt", "value": 60}},
        {
            "name": "corporate_gateway",
            "reason": "Our customer's mail gateway",
            "applies_to": ["open", "click"],
            "when": {"attr": "ip", "op": "in_network", "value": ["203.0.113.0/24"]},
        },
    ]
    assert classify_open("17.58.101.4", CHROME, 5000.0) is None
    assert classify_open(RESIDENTIAL_IP, CHROME, 30.0) == "Opened seconds after sending by a proxy"
    assert classify_click("203.0.113.77", CHROME, 900.0) == "Our customer's mail gateway"


def test_a_broken_rule_in_settings_is_a_configuration_error(settings):
    settings.TRACKING_PROXY_RULES = [{"name": "x", "reason": "r", "applies_to": ["open"], "when": {"attr": "ua", "op": "eq"}}]
    with pytest.raises(ImproperlyConfigured, match="tracking rule x"):
        classify_open(RESIDENTIAL_IP, CHROME, 100.0)


# --- Counting -----------------------------------------------------------------

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_repeated_opens_within_an_hour_count_once():
    assert should_count(None, T0)
    assert not should_count(T0, T0 + timedelta(minutes=59, seconds=59))
    assert should_count(T0, T0 + timedelta(hours=1))
    assert should_count(T0, T0 + timedelta(days=2))


def test_a_late_report_of_an_earlier_hit_inside_the_window_is_not_counted():
    assert not should_count(T0, T0 - timedelta(minutes=10))
    assert should_count(T0, T0 - timedelta(hours=3))


def test_the_window_is_a_parameter():
    assert not should_count(T0, T0 + timedelta(minutes=10), window=timedelta(minutes=15))
    assert should_count(T0, T0 + timedelta(minutes=10), window=timedelta(minutes=5))
