"""Background and periodic jobs of the email channel. Tasks take ids and
call a service; the scheduling is Huey's, never a loop of our own."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from emails import imap, sentiment_jobs
from emails.models import Mailbox, SyncStatus


@db_task()
def score_emails(email_ids: list[int]) -> None:
    sentiment_jobs.do_score_emails(email_ids)


@db_task()
def sync_mailbox(mailbox_id: int) -> None:
    # Huey's lock keeps one sync per mailbox in flight across all workers;
    # emails.imap.claim guards the same thing in the database.
    with HUEY.lock_task(f"mailbox-sync-{mailbox_id}"):
        imap.do_sync_mailbox(mailbox_id)


@db_periodic_task(crontab(minute="*"))
def sync_due_mailboxes() -> None:
    """Every minute, enqueue a sync for each enabled mailbox whose last one
    started MAILBOX_SYNC_MINUTES ago or more (one job per mailbox, so many
    mailboxes spread over the workers)."""
    due = timezone.now() - timedelta(minutes=settings.MAILBOX_SYNC_MINUTES)
    ids = Mailbox.objects.filter(enabled=True).filter(
        Q(last_sync_started_at__isnull=True) | Q(last_sync_started_at__lt=due)
    ).exclude(last_sync_status=SyncStatus.RUNNING).values_list("id", flat=True)
    for mailbox_id in ids:
        sync_mailbox(mailbox_id)


@db_task()
def send_campaign(campaign_id: int) -> None:
    from emails.sending import do_send_campaign

    do_send_campaign(campaign_id)
