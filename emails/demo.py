"""Demo emails for touchpoints.demo: real rows made by the real paths
(ingest, engagement, sentiment), so the Activity emoticons, threads,
Engagements page and unmatched senders have something to show."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.message import EmailMessage as Message
from email.utils import format_datetime

from accounts.models import User
from crm.models import ContactEmail
from emails.engagement import Hit, do_record_hit
from emails.ingest import Arrival, do_ingest
from emails.models import EmailMessage, EmailParticipant
from emails.sentiment_jobs import do_score_emails
from touchpoints.rules import Source

INBOUND = (
    "Thanks a lot for the quick turnaround, the proposal looks great and the team is excited to get started.",
    "We are disappointed: the invoice is wrong again and nobody answered my last two emails.",
    "Could you send the updated price list before Friday? We are reviewing budgets next week.",
    "The onboarding went really well, thank you. Everyone loves the new dashboard.",
    "I'm afraid we have to postpone the decision until next quarter.",
)
OUTBOUND = (
    "Following up on our call: attached is the revised quote. Happy to walk you through it.",
    "Thanks for your time today. Here is the summary of what we agreed: https://docs.demo.example/summary",
)
HUMAN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def _message(sender: str, to: str, subject: str, body: str, when: datetime, msgid: str, headers: dict | None = None) -> bytes:
    msg = Message()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = msgid
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def demo_mail(rng: random.Random, n: int, rep: User, contacts: list[tuple[int, str, str]], anchor: datetime) -> int:
    """Mail between ``rep`` (the n-th) and each of ``contacts`` ((id, first,
    last)) in the last 30 days, stored as synced from the rep's mailbox.
    Message-IDs come from positions, never database ids (the demo is
    deterministic). Returns how many touchpoints it stored."""
    addresses = dict(ContactEmail.objects.filter(contact_id__in=[c[0] for c in contacts], position=0).values_list("contact_id", "email"))
    me = f"{rep.get_full_name()} <{rep.email}>"
    raws: list[bytes] = []
    sent_ids: list[str] = []
    for k, (contact_id, first, last) in enumerate(contacts):
        if contact_id not in addresses:
            continue
        them = f"{first} {last} <{addresses[contact_id]}>"
        when = anchor - timedelta(days=rng.randint(2, 30), minutes=rng.randint(0, 600))
        root = f"<demo-{n}-{k}@{rep.email.split('@')[-1]}>"
        raws.append(_message(me, them, "Your proposal", f"Hi {first},\n\n{rng.choice(OUTBOUND)}\n\nBest regards,\n{rep.first_name}", when, root))
        sent_ids.append(root.strip("<>"))
        reply = f"{rng.choice(INBOUND)}\n\nBest,\n{first}\n\nOn {format_datetime(when)}, {rep.get_full_name()} wrote:\n> {rng.choice(OUTBOUND)}"
        raws.append(_message(them, me, "Re: Your proposal", reply, when + timedelta(hours=rng.randint(2, 48)), f"<re-{n}-{k}@demo.example>", {"In-Reply-To": root, "References": root}))
        if rng.random() < 0.3:
            away = when + timedelta(minutes=1)
            raws.append(_message(them, me, "Automatic reply: Your proposal", "I am out of the office until Monday.", away, f"<ooo-{n}-{k}@demo.example>", {"Auto-Submitted": "auto-replied"}))
    stranger = f"prospect{n}@newlead.example"
    raws.append(_message(f"Sam Prospect <{stranger}>", me, "Introduction", "Hello, a colleague recommended your product. Could we talk?", anchor - timedelta(days=1), f"<intro-{n}@newlead.example>"))
    outcomes = do_ingest(rep, [Arrival(raw=raw) for raw in raws], source=Source.IMAP)
    do_score_emails([o.email_id for o in outcomes if o.email_id])
    # The rep's mail was "sent from the CRM": tracked, with opens and clicks.
    EmailMessage.objects.filter(message_id__in=sent_ids).update(tracked=True)
    for recipient in EmailParticipant.objects.filter(email__message_id__in=sent_ids, role="to").select_related("email__touchpoint").order_by("id"):
        sent_at = recipient.email.touchpoint.occurred_at
        if rng.random() < 0.3:  # Apple Mail Privacy Protection prefetch, seconds after sending
            do_record_hit(recipient.id, Hit(kind="open", at=sent_at + timedelta(seconds=4), ip="17.58.101.4", user_agent="Mozilla/5.0"))
        for hours in sorted(rng.sample(range(1, 72), rng.randint(0, 3))):
            do_record_hit(recipient.id, Hit(kind="open", at=sent_at + timedelta(hours=hours), ip="198.51.100.23", user_agent=HUMAN))
        if rng.random() < 0.4:
            do_record_hit(
                recipient.id,
                Hit(kind="click", at=sent_at + timedelta(hours=rng.randint(1, 80)), ip="198.51.100.23", user_agent=HUMAN, url="https://docs.demo.example/summary"),
            )
    return sum(1 for o in outcomes if o.status == "stored")
