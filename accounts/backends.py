"""The staff sign-in backend: Django's, with the user's team read in the
same query as the user. Every session request checks the IP restriction,
which may need the team's ranges (accounts.network.effective_ranges); loaded
with the user, that check costs no query of its own."""
from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from accounts.models import User


class UserBackend(ModelBackend):
    def get_user(self, user_id):
        user = User._default_manager.select_related("team").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
