"""The API tokens page's form (the same rules as POST /api/v1/tokens)."""
from __future__ import annotations

from django import forms

from accounts.models import TokenScope
from accounts.services import MAX_TOKEN_DAYS


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name", help_text="What uses it, e.g. “Zapier” or “reporting script”.")
    scope = forms.ChoiceField(choices=TokenScope.choices, initial=TokenScope.READ, label="Access")
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=MAX_TOKEN_DAYS, required=False, initial=90, label="Expires in (days)", help_text="Empty: never expires."
    )
