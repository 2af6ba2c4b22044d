"""Form plumbing shared by every page.

Forms here only parse what the browser sent; validation that is a business
rule lives in the service functions the API uses too. ``ServiceForm.run``
calls one and turns its ``Invalid`` errors (each naming a field as a
``loc`` path) into messages under the matching inputs.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from config.errors import Invalid


class ServiceForm(forms.Form):
    # Service field name -> form field name, where they differ.
    field_map: dict[str, str] = {}

    def run(self, service: Callable[..., Any], *args, **kwargs) -> Any | None:
        """The service's result, or None with the errors attached to the form."""
        try:
            return service(*args, **kwargs)
        except Invalid as exc:
            for e in exc.errors:
                loc = [str(part) for part in e["loc"] if part not in ("body", "query", "path")]
                name = self.field_map.get(loc[0], loc[0]) if loc else None
                self.add_error(name if name in self.fields else None, e["msg"])
            return None


class LocalDateTimeInput(forms.DateTimeInput):
    """A datetime-local input. Django reads its naive value in the active
    time zone, which web.middleware sets to the user's own."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class QuickSelect(forms.Select):
    """A <select> rendered in one pass instead of one template per option.

    Django's Select renders every <option> through the template engine
    (~25 µs each): the organization picker of an admin who sees 2,000
    organizations cost ~60 ms of a 150 ms page budget (bench ui). Same
    markup, same attributes (id, required, aria-describedby)."""

    def render(self, name, value, attrs=None, renderer=None):
        final_attrs = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        selected = set(self.format_value(value))
        options = format_html_join(
            "", '<option value="{}"{}>{}</option>', ((v, mark_safe(" selected") if str(v) in selected else "", label) for v, label in self.choices)
        )
        return format_html("<select{}>{}</select>", flatatt(final_attrs), options)
