"""A deleted user's activities and closed deals leave the rollup: Django
sets their touchpoints' and deals' owner to NULL in SQL, past the services,
so the days and deals are marked here, while the rows still name the user."""
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from accounts.models import User
from insights import marks
from insights.models import DealActivity


@receiver(pre_delete, sender=User, dispatch_uid="insights-user-deleted")
def user_deleted(sender, instance: User, **kwargs) -> None:
    marks.mark_owner(instance.id)
    marks.mark_deals(DealActivity.objects.filter(owner_id=instance.id, kind="").values_list("deal_id", flat=True), with_days=False)
