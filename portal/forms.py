"""The portal's forms parse what the browser sent; the rules are portal.services'."""
from __future__ import annotations

from django import forms

from cases.services import MAX_COMMENT
from web.forms import ServiceForm


class SignInForm(ServiceForm):
    email = forms.EmailField(label="Email address", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(label="Password", max_length=256, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class LinkRequestForm(ServiceForm):
    email = forms.EmailField(label="Email address", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}))


class PasswordForm(ServiceForm):
    password = forms.CharField(label="New password", max_length=256, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_again = forms.CharField(label="New password again", max_length=256, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", "The two passwords are not the same.")
        return data


class PortalCaseForm(ServiceForm):
    title = forms.CharField(label="What is the problem?", max_length=200)
    description = forms.CharField(label="Details", required=False, max_length=MAX_COMMENT, widget=forms.Textarea(attrs={"rows": 6}))


class PortalCommentForm(ServiceForm):
    body = forms.CharField(label="Your comment", max_length=MAX_COMMENT, widget=forms.Textarea(attrs={"rows": 4}))
