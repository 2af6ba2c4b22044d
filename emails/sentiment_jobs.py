"""Scoring stored emails (the write side of emails.sentiment)."""
from __future__ import annotations

from django.utils import timezone

from emails.models import EmailMessage
from emails.sentiment import score_email
from touchpoints.models import Touchpoint


def do_score_emails(email_ids: list[int]) -> int:
    """Score each email's new text and set its touchpoint's sentiment and
    emoticon. Conditional: a touchpoint that already has an emoticon (a rep
    set one by hand) keeps it. Returns how many were scored."""
    scored = 0
    rows = EmailMessage.objects.filter(id__in=email_ids, sentiment_scored_at__isnull=True).values_list(
        "id", "touchpoint_id", "touchpoint__subject", "body_text"
    )
    for email_id, touchpoint_id, subject, body in rows.iterator(chunk_size=500):
        score, emoticon = score_email(subject, body)
        Touchpoint.objects.filter(id=touchpoint_id, emoticon__isnull=True).update(sentiment=round(score, 4), emoticon=emoticon)
        EmailMessage.objects.filter(id=email_id).update(sentiment_scored_at=timezone.now())
        scored += 1
    return scored
