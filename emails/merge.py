"""Merge fields in email subjects and bodies: ``{{ first_name }}``.

A fixed list of fields filled by plain substitution, not the Django
template engine: a template written by any user must not reach attributes,
filters or tags. An unknown field is a 422 naming it, not a silent blank.
Values are HTML-escaped in HTML bodies.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from django.utils.html import escape

from config.errors import Invalid

FIELD = re.compile(r"{{\s*([a-z_]+)\s*}}")
# Anything that looks like a merge field, to reject what FIELD would not fill
# ({{ First_Name }}, {{ first-name }}, {{ name|upper }}) instead of sending it
# to customers as literal text.
ANY_FIELD = re.compile(r"{{(.*?)}}", re.S)
FIELDS = {
    "first_name": "the contact's first name",
    "last_name": "the contact's last name",
    "full_name": "the contact's full name",
    "email": "the recipient's address",
    "title": "the contact's title",
    "organization": "the contact's organization",
    "sender_name": "your name",
    "sender_email": "your address",
}


def check_fields(text: str, loc: str) -> None:
    unknown = sorted({m.strip() for m in ANY_FIELD.findall(text) if m.strip() not in FIELDS})
    if unknown:
        raise Invalid.field(loc, f"unknown merge field(s): {', '.join(unknown)}; known: {', '.join(FIELDS)}")


def render(text: str, values: dict[str, str], *, html: bool) -> str:
    quote: Callable[[str], str] = escape if html else str
    return FIELD.sub(lambda m: quote(values.get(m.group(1), "")), text)


def values_for(contact, address: str, sender: tuple[str, str]) -> dict[str, str]:
    """Merge values for one recipient; a recipient who is not a contact (or
    is one the sender may not see) gets blanks for the contact fields.
    ``sender`` is the (name, address) the mail goes out as."""
    values = {"email": address, "sender_name": sender[0], "sender_email": sender[1]}
    if contact is not None:
        values.update(
            first_name=contact.first_name,
            last_name=contact.last_name,
            full_name=contact.full_name,
            title=contact.title,
            organization=contact.organization.name if contact.organization_id else "",
        )
    return values
