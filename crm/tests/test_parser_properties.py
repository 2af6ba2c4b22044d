"""Property tests of the two parsers every outside phone number and email
address goes through (API, imports, webhooks, email matching):
``crm.services.normalize_phone`` and ``normalize_email``.

Invariants:
- any text is either a normalized value or ``Invalid`` naming the field it
  came from -- never another exception;
- normalizing is idempotent (a stored value reads back as itself, so a search
  by a stored number or address finds it);
- the formatting variants of one number (international, E.164, RFC 3966,
  US national with any separators) are one number;
- an address is one address whatever the case of its domain or surrounding
  whitespace;
- over the API, any list of numbers and addresses is a 201 with the
  normalized values or a 422 naming ``body.phones.<i>`` / ``body.emails.<i>``.

Derandomized (the same examples on every run), bounded, no deadline.
"""
from __future__ import annotations

import phonenumbers
import pytest
from django.db import transaction
from hypothesis import example, given, settings
from hypothesis import strategies as st

from config.tests.properties import property_settings

from config.errors import Invalid
from crm.models import ContactEmail, ContactPhone
from crm.services import normalize_email, normalize_phone

PROPERTY = property_settings(200)
LOC = ("contacts", 3)

# Text that looks like a phone number often enough to reach every branch of
# the parser: digits (ASCII and full-width), separators, plus, extensions,
# letters (vanity numbers), and the odd control character.
PHONE_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789+()-. /xet#*;=:\t\n\x00", max_size=30),
    st.from_regex(r"\+?[0-9][0-9 ()\-.]{0,24}", fullmatch=True),
    st.text(alphabet="０１２３４５６７８９٠١٢٣٤٥٦٧٨٩+ -", max_size=20),
)
# Every region phonenumbers has an example number for.
REGIONS = sorted(r for r in phonenumbers.SUPPORTED_REGIONS if phonenumbers.example_number(r) is not None)


def _is_invalid_naming(exc: Invalid, loc: tuple) -> bool:
    return len(exc.errors) == 1 and exc.errors[0]["loc"] == list(loc) and exc.errors[0]["msg"]


@PROPERTY
@given(raw=PHONE_TEXT)
@example(raw="+1 202 555 0143 ext. 12345678901234567890")
@example(raw="tel:+1-202-555-0143;ext=5")
@example(raw="２０２５５５０１４３")
def test_any_text_is_an_e164_number_or_an_invalid_naming_the_field(raw):
    try:
        number = normalize_phone(raw, LOC)
    except Invalid as exc:
        assert _is_invalid_naming(exc, LOC), exc.errors
        return
    parsed = phonenumbers.parse(number, None)
    assert number == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    assert normalize_phone(number, LOC) == number  # idempotent
    assert len(number) <= ContactPhone._meta.get_field("number").max_length


@st.composite
def formatted_numbers(draw) -> tuple[str, str]:
    """(a way of writing a region's example number, its E.164)."""
    region = draw(st.sampled_from(REGIONS))
    number = phonenumbers.example_number(region)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    style = draw(st.sampled_from(["international", "e164", "rfc3966", "idd"]))
    if style == "international":
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        text = text.replace(" ", draw(st.sampled_from([" ", "-", ".", "", "  ", " / "])))
    elif style == "e164":
        text = e164
    elif style == "rfc3966":
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.RFC3966)
    else:  # dialled from the default region (US) with its international prefix, 011, instead of +
        text = "011 " + e164[1:]
    padding = st.sampled_from(["", " ", "\t", "\u00a0"])
    return draw(padding) + text + draw(padding), e164


@PROPERTY
@given(case=formatted_numbers())
def test_formatting_variants_of_a_number_normalize_to_the_same_e164(case):
    text, e164 = case
    assert normalize_phone(text, LOC) == e164


@PROPERTY
@given(
    area=st.sampled_from(["202", "415", "646", "312"]),
    rest=st.integers(2_000_000, 9_999_999),
    style=st.sampled_from(["({a}) {b}-{c}", "{a}-{b}-{c}", "{a}.{b}.{c}", "{a}{b}{c}", "1 {a} {b} {c}", "+1 ({a}) {b} {c}", "1-{a}-{b}-{c}"]),
)
def test_us_numbers_written_any_way_are_one_number(area, rest, style):
    """The default region (US): the ways people write a national number."""
    digits = str(rest)
    text = style.format(a=area, b=digits[:3], c=digits[3:])
    assert normalize_phone(text, LOC) == f"+1{area}{digits}"


LOCAL_PART = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._%+\-]{0,20}", fullmatch=True).filter(lambda s: ".." not in s and not s.endswith("."))
LABEL = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9\-]{0,10}[A-Za-z0-9])?", fullmatch=True)
DOMAIN = st.builds(lambda labels, tld: ".".join([*labels, tld]), st.lists(LABEL, min_size=1, max_size=3), st.sampled_from(["com", "example", "ORG", "De", "co.uk"]))
ADDRESS = st.builds(lambda local, domain: f"{local}@{domain}", LOCAL_PART, DOMAIN)
EMAIL_TEXT = st.one_of(
    ADDRESS,
    st.emails(),
    st.text(max_size=40),
    st.builds(lambda a, b: f"{a}@{b}", st.text(max_size=20), st.text(max_size=30)),
    st.text(alphabet="ab@.\"\\ <>,;:\x00\nİK", max_size=20),
)


@PROPERTY
@given(raw=EMAIL_TEXT)
@example(raw="Carol@Example.COM ")
@example(raw="İ@example.com")
@example(raw="a@b.com\n")
def test_any_text_is_an_address_or_an_invalid_naming_the_field(raw):
    try:
        address = normalize_email(raw, LOC)
    except Invalid as exc:
        assert _is_invalid_naming(exc, LOC), exc.errors
        return
    assert normalize_email(address, LOC) == address  # idempotent
    assert address == address.strip().lower()
    assert "@" in address and "\x00" not in address


@settings(PROPERTY, max_examples=100)
@given(local=LOCAL_PART, domain=DOMAIN, swap=st.sampled_from([str.upper, str.lower, str.title, str.swapcase]), pad=st.sampled_from(["", " ", "\t", "\n"]))
def test_an_address_is_one_address_whatever_its_case_and_padding(local, domain, swap, pad):
    plain = normalize_email(f"{local}@{domain}", LOC)
    assert normalize_email(f"{pad}{local}@{swap(domain)}{pad}", LOC) == plain
    assert normalize_email(swap(f"{local}@{domain}"), LOC) == plain  # stored lower-cased: matched case-insensitively


# An address validate_email accepts (local part 64, labels of 63) but that is
# longer than RFC 5321 allows in a path (254) and than the column holds.
LONG_ADDRESS = "a" * 64 + "@" + ("b" * 63 + ".") * 3 + "com"


@PROPERTY
@given(local=st.integers(1, 64), labels=st.lists(st.integers(1, 63), min_size=1, max_size=5))
@example(local=64, labels=[63, 63, 63, 3])
def test_a_normalized_address_fits_the_column(local, labels):
    raw = "a" * local + "@" + ".".join("b" * n for n in labels[:-1]) + ("." if labels[:-1] else "") + "c" * min(labels[-1], 10) + ".com"
    try:
        address = normalize_email(raw, LOC)
    except Invalid:
        return
    assert len(address) <= ContactEmail._meta.get_field("email").max_length, len(address)


def test_an_address_longer_than_the_column_is_a_422_naming_it(alice):
    """The found example over the API: it was a 500 (DataError) on PostgreSQL."""
    response = alice.post("contacts", {"last_name": "Ng", "emails": ["carol@grasspods.example", LONG_ADDRESS]})
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == ["body", "emails", 1]


class Rollback(Exception):
    pass


CONTACT_SETTINGS = settings(PROPERTY, max_examples=20)


@CONTACT_SETTINGS
@given(
    phones=st.lists(st.one_of(PHONE_TEXT, formatted_numbers().map(lambda case: case[0])), max_size=3),
    emails=st.lists(EMAIL_TEXT, max_size=3),
)
def test_a_contact_with_any_numbers_and_addresses_is_stored_normalized_or_a_422_naming_the_item(alice, phones, emails):
    try:
        with transaction.atomic():
            response = alice.post("contacts", {"last_name": "Ng", "phones": phones, "emails": emails})
            assert response.status_code in (201, 422), (response.status_code, response.content[:500])
            if response.status_code == 422:
                (problem, *_) = response.json()["detail"]
                place, index = problem["loc"][1], problem["loc"][2]
                assert problem["loc"][0] == "body" and place in ("phones", "emails")
                normalize = normalize_phone if place == "phones" else normalize_email
                with pytest.raises(Invalid):
                    normalize((phones if place == "phones" else emails)[index], ())
            else:
                body = response.json()
                assert body["phones"] == list(dict.fromkeys(normalize_phone(p, ()) for p in phones))
                assert body["emails"] == list(dict.fromkeys(normalize_email(e, ()) for e in emails))
                # Found again by any of the ways it was written.
                for raw, number in zip(phones, (normalize_phone(p, ()) for p in phones)):
                    assert body["id"] in [c["id"] for c in alice.get("contacts", phone=number).json()["items"]], raw
            raise Rollback
    except Rollback:
        pass
