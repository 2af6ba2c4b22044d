"""A deleted user's activities leave the rollup: Django sets their
touchpoints' owner to NULL in SQL, past the touchpoint services, so the
days are marked here, while the rows still name the user."""
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from accounts.models import User
from insights import marks


@receiver(pre_delete, sender=User, dispatch_uid="insights-user-deleted")
def user_deleted(sender, instance: User, **kwargs) -> None:
    marks.mark_owner(instance.id)
