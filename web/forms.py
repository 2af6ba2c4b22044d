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
