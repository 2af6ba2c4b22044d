"""Custom lists: saved views of organizations, contacts or deals.

A ``SavedList`` is a condition tree (automation.conditions, stored as JSON
and checked on save), the columns to show, one sort key and who it is
shared with. It stores no records: what it shows is computed for each
viewer from the records that viewer may see (lists.queries), so sharing a
list never shares the records in it.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from crm.models import RecordType


class SavedList(models.Model):
    name = models.CharField(max_length=200)
    # Fixed at creation: the tree, the columns and the sort name its fields.
    record_type = models.CharField(max_length=20, choices=RecordType.choices)
    conditions = models.JSONField(default=dict)
    columns = models.JSONField(default=list)
    # A field name, "-" first for descending (sortable fields of the
    # condition registry only).
    sort = models.CharField(max_length=64)
    # The creator. A deleted user's lists stay (others may use them) and
    # only admins may then change them.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    shared_with_everyone = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The index page and GET /lists walk (name, id); "mine" and
            # "everyone's" narrow it first.
            models.Index(fields=["owner", "name", "id"], name="savedlist_owner_idx"),
            models.Index(fields=["name", "id"], name="savedlist_everyone_idx", condition=Q(shared_with_everyone=True)),
            models.Index(fields=["name", "id"], name="savedlist_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class ListShare(models.Model):
    """The list is shared with one user or one team (exactly one of them)."""

    saved_list = models.ForeignKey(SavedList, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [
            # "Lists shared with me": looked up from the user's and team's side.
            models.Index(fields=["user", "saved_list"], name="listshare_user_idx"),
            models.Index(fields=["team", "saved_list"], name="listshare_team_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, team__isnull=True) | Q(user__isnull=True, team__isnull=False), name="listshare_user_xor_team"
            ),
            models.UniqueConstraint(fields=["saved_list", "user"], condition=Q(user__isnull=False), name="listshare_user_uniq"),
            models.UniqueConstraint(fields=["saved_list", "team"], condition=Q(team__isnull=False), name="listshare_team_uniq"),
        ]
