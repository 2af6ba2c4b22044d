"""Forms of the telephony pages: the SMS composer on a contact page, the
user's own phone (rung first by click-to-call) and an admin's provider
settings. They parse what the browser sent into what telephony.services
takes (the API's path); the rules (a possible number, an empty or too long
text, an opted-out recipient, required credentials) stay there, and
``ServiceForm.run`` shows their ``Invalid`` under the matching input."""
from __future__ import annotations

from django import forms

from telephony.models import Provider
from telephony.services import MAX_SMS_LENGTH
from web.forms import ServiceForm


class SmsForm(ServiceForm):
    """A text to the contact whose page it is (their first number). The
    recipient is the page's contact, never a posted value: ``contact`` only
    carries the service's errors about the recipient (an opt-out) under the
    "To" line."""

    field_map = {"contact_ids": "contact", "numbers": "contact"}
    contact = forms.CharField(required=False, widget=forms.HiddenInput)
    # No max_length here: the service's limit answers with its own message.
    # data-sms-counter: web/static/web/app.js counts characters and parts
    # (sms_parts in the browser) into #sms_count, which the template renders.
    text = forms.CharField(
        label="Message", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_SMS_LENGTH, "aria-describedby": "sms_count", "data-sms-counter": "sms_count", "data-sms-max": MAX_SMS_LENGTH}),
    )


class MyPhoneForm(ServiceForm):
    """The user's own phone (telephony.services.do_set_my_phone)."""

    phone = forms.CharField(
        label="Your phone", max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "placeholder": "+1 202 555 0100"}),
        help_text="Touchpoints rings it first, then connects you",
    )  # fmt: skip


ACCOUNT_ID_LABELS = {Provider.TWILIO: "Account SID", Provider.PLIVO: "Auth ID"}


class ProviderForm(ServiceForm):
    """One provider's credentials (telephony.services.do_set_provider_account).
    The auth token is never rendered back; left empty on a saved account it
    keeps the stored one."""

    account_id = forms.CharField(label="Account ID", max_length=100, required=False, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    auth_token = forms.CharField(label="Auth token", max_length=200, required=False, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    from_number = forms.CharField(
        label="From number", max_length=32, required=False, help_text="Calls and SMS go out from it, e.g. +12025550100",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )  # fmt: skip
    api_base = forms.CharField(
        label="API base URL", max_length=200, required=False,
        help_text="Empty: the provider's own API. Set it for a regional edge or a test stand-in.",
        widget=forms.TextInput(attrs={"inputmode": "url", "autocomplete": "off"}),
    )  # fmt: skip
    enabled = forms.BooleanField(label="Enabled", required=False, initial=True)
    is_default = forms.BooleanField(label="Default provider", required=False, help_text="Used for SMS and click-to-call when several are set up")

    def __init__(self, *args, provider: str, saved: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider = provider
        self.saved = saved
        self.fields["account_id"].label = ACCOUNT_ID_LABELS.get(provider, "Account ID")
        # Required as the service requires them for a new account, said the
        # way every form says it (the service's own message for an empty
        # number is libphonenumber's parse error); on a saved account as the
        # API's schema (min length 1): emptied, they would be saved empty.
        for name in ("account_id", "from_number") if saved else ("account_id", "auth_token", "from_number"):
            self.fields[name].required = True
        if saved:
            self.fields["auth_token"].help_text = "Stored encrypted and never shown: leave empty to keep it"

    def data_for_service(self) -> dict:
        data = self.cleaned_data
        out = {
            "account_id": data["account_id"].strip() or None,
            "from_number": data["from_number"].strip() or None,
            "api_base": data["api_base"].strip(),
            "enabled": bool(data.get("enabled")),
            "is_default": bool(data.get("is_default")),
        }
        if data.get("auth_token"):
            out["auth_token"] = data["auth_token"]
        return out


# GSM 03.38: texts of these characters go 160 to a message (153 when split);
# any other character makes the whole text Unicode, 70 (67). The extension
# characters take two places each.
GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENSION = set("^{}\\[~]|€\f")


def sms_parts(text: str) -> dict:
    """Characters and how many messages the text is sent as (what the
    composer's counter shows; the same arithmetic runs in the browser)."""
    unicode = any(ch not in GSM_BASIC and ch not in GSM_EXTENSION for ch in text)
    # Unicode texts are counted in UTF-16 units (an emoji takes two), GSM ones in septets.
    size = len(text.encode("utf-16-le")) // 2 if unicode else len(text) + sum(ch in GSM_EXTENSION for ch in text)
    single, split = (70, 67) if unicode else (160, 153)
    parts = 0 if not text else 1 if size <= single else -(-size // split)
    return {"chars": len(text), "parts": parts, "unicode": unicode}
