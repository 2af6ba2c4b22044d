"""Scoring stored emails (the write side of emails.sentiment)."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from emails.models import EmailMessage
from emails.sentiment import score_email
from touchpoints.models import Touchpoint

CHUNK = 500


def do_score_emails(email_ids: list[int]) -> int:
    """Score each email's new text and set its touchpoint's sentiment and
    emoticon. Conditional: a touchpoint that already has an emoticon (a rep
    set one by hand) keeps it. One transaction per chunk of 500, so a big
    sync's scoring is not 2 commits per email. Returns how many were scored."""
    scored = 0
    ids = sorted(set(email_ids))
    for start in range(0, len(ids), CHUNK):
        rows = EmailMessage.objects.filter(id__in=ids[start : start + CHUNK], sentiment_scored_at__isnull=True).values_list(
            "id", "touchpoint_id", "touchpoint__subject", "body_text"
        )
        results = [(email_id, touchpoint_id, *score_email(subject, body)) for email_id, touchpoint_id, subject, body in rows]
        with transaction.atomic():
            for _email_id, touchpoint_id, score, emoticon in results:
                Touchpoint.objects.filter(id=touchpoint_id, emoticon__isnull=True).update(sentiment=round(score, 4), emoticon=emoticon)
            EmailMessage.objects.filter(id__in=[r[0] for r in results]).update(sentiment_scored_at=timezone.now())
        scored += len(results)
    return scored
