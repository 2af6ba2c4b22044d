"""The email channel: mailboxes we sync, the emails behind email
touchpoints, their participants, tracked recipients and engagements.

One ``EmailMessage`` per distinct email (its Message-ID), whatever the
number of mailboxes, folders or uploads it arrived through; each arrival is
a ``MailboxMessage`` row (mailbox, folder, UIDVALIDITY, UID), so a re-sync
or a second mailbox finds the email already stored. The touchpoint carries
the timeline facts (kind, status, occurred_at, sentiment, emoticon); this
app keeps what only email has.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from touchpoints.models import Touchpoint


class Security(models.TextChoices):
    SSL = "ssl", "SSL/TLS"
    STARTTLS = "starttls", "STARTTLS"
    NONE = "none", "None (loopback/testing only)"


class SyncStatus(models.TextChoices):
    NEVER = "never"
    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"  # finished; some messages were rejected
    ERROR = "error"  # could not connect, log in or read a folder


class Mailbox(models.Model):
    """A user's mailbox, synced over IMAP by a periodic job."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mailboxes")
    email_address = models.CharField(max_length=254, help_text="The address this mailbox receives and sends as")
    imap_host = models.CharField(max_length=255)
    imap_port = models.PositiveIntegerField(default=993)
    imap_security = models.CharField(max_length=10, choices=Security.choices, default=Security.SSL)
    username = models.CharField(max_length=255)
    # Fernet token (config.crypto); never the plain password.
    password_encrypted = models.TextField()
    # Empty: found by its \Sent special-use flag, then by common names.
    sent_folder = models.CharField(max_length=255, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sync_started_at = models.DateTimeField(null=True, blank=True)
    last_sync_finished_at = models.DateTimeField(null=True, blank=True)
    last_sync_status = models.CharField(max_length=10, choices=SyncStatus.choices, default=SyncStatus.NEVER)
    last_sync_error = models.TextField(blank=True)
    last_sync_stored = models.PositiveIntegerField(default=0)
    last_sync_rejected = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "imap_host", "username"], name="mailbox_user_account_uniq")]

    def __str__(self) -> str:
        return f"{self.email_address} ({self.imap_host})"


class MailboxFolder(models.Model):
    """Where the incremental sync stopped in one folder: UIDs above
    ``last_uid`` are new while UIDVALIDITY is unchanged (RFC 3501 2.3.1.1);
    ``highest_modseq`` (RFC 7162 CONDSTORE) tells whether any flag changed."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folders")
    name = models.CharField(max_length=255)
    role = models.CharField(max_length=10, choices=[("inbox", "Inbox"), ("sent", "Sent")])
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    highest_modseq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mailbox", "name"], name="mailboxfolder_uniq")]


class EmailThread(models.Model):
    # The first Message-ID the conversation is known by (References[0]).
    root_message_id = models.CharField(max_length=255)
    # Fallback for mail without References/In-Reply-To: normalized subject
    # and a hash of the sorted participant addresses.
    subject_key = models.CharField(max_length=200)
    participants_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["root_message_id"]),
            models.Index(fields=["subject_key", "participants_key"]),
        ]


class EmailMessage(models.Model):
    touchpoint = models.OneToOneField(Touchpoint, on_delete=models.CASCADE, related_name="email")
    message_id = models.CharField(max_length=255, unique=True)
    thread = models.ForeignKey(EmailThread, on_delete=models.PROTECT, related_name="messages")
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.JSONField(default=list, blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    body_text = models.TextField(blank=True)
    has_html = models.BooleanField(default=False)
    # Why it looks machine-sent ("auto-submitted: auto-replied", "mailing-list", "bounce"), "" for a person's mail.
    automated = models.CharField(max_length=60, blank=True)
    size = models.PositiveIntegerField(default=0)
    # Sent from the CRM with tracking (emails.sending); received mail is not.
    tracked = models.BooleanField(default=False)
    sentiment_scored_at = models.DateTimeField(null=True, blank=True)
    campaign = models.ForeignKey("Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="emails")

    class Meta:
        indexes = [models.Index(fields=["thread", "id"])]


class Role(models.TextChoices):
    FROM = "from"
    TO = "to"
    CC = "cc"
    BCC = "bcc"


class EmailParticipant(models.Model):
    """An address on an email. For mail sent from the CRM these rows are the
    tracked recipients: opens, clicks, deliveries and bounces attach here."""

    email = models.ForeignKey(EmailMessage, on_delete=models.CASCADE, related_name="participants")
    role = models.CharField(max_length=4, choices=Role.choices)
    address = models.CharField(max_length=254)  # lower-cased, as written
    name = models.CharField(max_length=200, blank=True)
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # A CRM user's address: the mail's internal side.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    delivered_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Unmatched senders, and relinking when one becomes a contact.
            models.Index(fields=["address"], condition=Q(contact__isnull=True, user__isnull=True), name="emailpart_unmatched_idx"),
            models.Index(fields=["email", "role"]),
        ]


class MailboxMessage(models.Model):
    """One arrival of an email in a mailbox folder. Rejected and skipped
    messages get a row too (``email`` null, ``skip_reason`` set), so a
    re-sync after a UIDVALIDITY reset does not ask about them again."""

    folder = models.ForeignKey(MailboxFolder, on_delete=models.CASCADE, related_name="messages")
    uidvalidity = models.BigIntegerField()
    uid = models.BigIntegerField()
    email = models.ForeignKey(EmailMessage, null=True, blank=True, on_delete=models.CASCADE, related_name="arrivals")
    message_id = models.CharField(max_length=255, blank=True)
    skip_reason = models.CharField(max_length=60, blank=True)
    flags = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["folder", "uidvalidity", "uid"], name="mailboxmessage_uid_uniq")]
        indexes = [models.Index(fields=["folder", "message_id"])]


class Rejection(models.Model):
    """A message we could not store, and why: a sync never stops on one bad
    message, and nothing disappears without a trace."""

    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.CASCADE, related_name="rejections")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=20)
    reason = models.CharField(max_length=60)
    detail = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["mailbox", "-created_at"])]


class DropAddress(models.Model):
    """A user's personal BCC/forward address on the SMTP drop: mail sent to
    it is stored as that user's."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drop_address")
    key = models.CharField(max_length=32, unique=True)


class AutoContactRule(models.Model):
    """Unknown senders from ``domain`` become contacts of ``organization``
    automatically (the issue's "optional auto-create by domain rule")."""

    domain = models.CharField(max_length=253, unique=True)  # lower-case, no @
    organization = models.ForeignKey("crm.Organization", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)


class Campaign(models.Model):
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=255)
    body_html = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    recipients = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)


class EmailTemplate(models.Model):
    """Subject and body with merge fields ({{ first_name }} ...; see
    emails.merge)."""

    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=255)
    body_html = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)


class EngagementKind(models.TextChoices):
    OPEN = "open"
    CLICK = "click"
    # Flagged as machine-made (image-proxy prefetch, link scanner): kept and
    # reported apart, never counted as the person's.
    AUTOMATED_OPEN = "automated_open"
    AUTOMATED_CLICK = "automated_click"


class Engagement(models.Model):
    """Opens or clicks of one recipient's copy: first, last and a count in
    which repeats within an hour count once. Denormalized touchpoint, owner
    and contact so the Engagements page filters on one table."""

    participant = models.ForeignKey(EmailParticipant, on_delete=models.CASCADE, related_name="engagements")
    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    contact = models.ForeignKey("crm.Contact", null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=16, choices=EngagementKind.choices)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    last_counted_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)
    reason = models.CharField(max_length=60, blank=True)  # why it was flagged automated
    last_url = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["participant", "kind"], name="engagement_uniq")]
        indexes = [
            models.Index(fields=["-last_at", "-id"], name="engagement_last_idx"),
            models.Index(fields=["owner", "-last_at"], name="engagement_owner_idx"),
            models.Index(fields=["contact", "-last_at"], name="engagement_contact_idx"),
            models.Index(fields=["touchpoint"], name="engagement_touchpoint_idx"),
        ]


class ProviderEvent(models.Model):
    """Each provider webhook event once: providers retry, we answer 200 and
    ignore the repeat."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=20)
    received_at = models.DateTimeField(auto_now_add=True)
    participant = models.ForeignKey(EmailParticipant, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="providerevent_uniq")]
