from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from config.schemas import Id, IdList, InputSchema, LongText, Text
from emails.models import EngagementKind, Security

SecurityName = Literal[tuple(Security.values)]  # type: ignore[valid-type]
EngagementKindName = Literal[tuple(EngagementKind.values)]  # type: ignore[valid-type]
Address = Text(254, 3)


class IngestOut(Schema):
    status: Literal["stored", "duplicate", "skipped"]
    email_id: int | None
    touchpoint_id: int | None
    message_id: str | None
    reason: str | None


class Participant(Schema):
    id: int
    role: str
    address: str
    name: str
    contact_id: int | None
    user_id: int | None
    delivered_at: datetime | None
    bounced_at: datetime | None


class EmailDocumentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    stored: bool


class EmailOut(Schema):
    id: int
    touchpoint_id: int
    message_id: str
    thread_id: int
    in_reply_to: str | None
    subject: str
    status: str
    direction: str | None
    occurred_at: datetime
    from_address: str
    body_text: str
    automated: str | None
    sentiment: float | None
    emoticon: int | None
    tracked: bool
    participants: list[Participant]
    documents: list[EmailDocumentOut]
    engagement: dict[str, int]


class ThreadItem(Schema):
    id: int
    touchpoint_id: int
    subject: str
    occurred_at: datetime
    from_address: str


class ThreadPage(Schema):
    items: list[ThreadItem]
    next_cursor: str | None


class SendIn(InputSchema):
    to: list[Address] = Field(default=[], max_length=100)
    cc: list[Address] = Field(default=[], max_length=100)
    bcc: list[Address] = Field(default=[], max_length=100)
    subject: Text(255) = ""
    body_html: Text(500_000) = ""
    body_text: Text(500_000) = ""
    template_id: Id | None = None
    contact_ids: IdList = []
    organization_ids: IdList = []
    deal_ids: IdList = []


class SendOut(Schema):
    touchpoint_id: int
    email_id: int
    message_id: str
    status: str
    accepted: list[str]
    refused: dict[str, str]


class SendFailedOut(Schema):
    detail: str
    touchpoint_id: int


class CampaignIn(InputSchema):
    name: Text(200, 1)
    subject: Text(255, 1)
    body_html: Text(500_000, 1)
    contact_ids: list[Id] = Field(min_length=1, max_length=5000)


class SkippedContact(Schema):
    contact_id: int
    reason: str


class CampaignOut(Schema):
    id: int
    name: str
    subject: str
    recipients: int
    sent: int
    failed: int
    created_at: datetime
    skipped: list[SkippedContact] = []


class EngagementOut(Schema):
    id: int
    kind: str
    touchpoint_id: int
    email_id: int
    subject: str
    recipient: str
    role: str
    contact_id: int | None
    contact_name: str | None
    owner_id: int | None
    first_at: datetime
    last_at: datetime
    count: int
    automated_reason: str | None
    last_url: str | None


class EngagementPage(Schema):
    items: list[EngagementOut]
    next_cursor: str | None


class UnmatchedOut(Schema):
    address: str
    name: str | None
    emails: int
    last_seen: datetime | None


class UnmatchedPage(Schema):
    items: list[UnmatchedOut]
    next_cursor: str | None


class ContactFromAddressIn(InputSchema):
    address: Address
    first_name: Text(100) = ""
    last_name: Text(100, 1)
    title: Text(100) = ""
    organization_id: Id | None = None


class ContactFromAddressOut(Schema):
    contact_id: int
    emails_linked: int


class MailboxIn(InputSchema):
    email_address: Address
    imap_host: Text(255, 1)
    imap_port: int = Field(993, ge=1, le=65535)
    imap_security: SecurityName = "ssl"
    username: Text(255, 1)
    password: Text(1000, 1)
    sent_folder: Text(255) = ""
    enabled: bool = True


class MailboxPatch(InputSchema):
    email_address: Address | None = None
    imap_host: Text(255, 1) | None = None
    imap_port: int | None = Field(None, ge=1, le=65535)
    imap_security: SecurityName | None = None
    username: Text(255, 1) | None = None
    password: Text(1000, 1) | None = None
    sent_folder: Text(255) | None = None
    enabled: bool | None = None


class FolderOut(Schema):
    name: str
    role: str
    uidvalidity: int | None
    last_uid: int
    highest_modseq: int | None


class MailboxOut(Schema):
    id: int
    email_address: str
    imap_host: str
    imap_port: int
    imap_security: str
    username: str
    sent_folder: str
    enabled: bool
    last_sync_status: str
    last_sync_started_at: datetime | None
    last_sync_finished_at: datetime | None
    last_sync_error: str | None
    last_sync_stored: int
    last_sync_rejected: int
    folders: list[FolderOut]


class ConnectionTestOut(Schema):
    ok: bool
    error: str | None = None
    inbox_messages: int | None = None
    sent_folder: str | None = None
    condstore: bool | None = None


class SyncOut(Schema):
    status: str
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0
    rejected: int = 0
    folders: dict[str, str] = {}


class RejectionOut(Schema):
    id: int
    source: str
    reason: str
    detail: str
    message_id: str
    subject: str
    size: int
    created_at: datetime


class DropAddressOut(Schema):
    address: str
    smtp_host: str
    smtp_port: int


class RuleIn(InputSchema):
    domain: Text(253, 3)
    organization_id: Id


class RuleOut(Schema):
    id: int
    domain: str
    organization_id: int
    owner_id: int | None


class TemplateIn(InputSchema):
    name: Text(200, 1)
    subject: Text(255, 1)
    body_html: LongText


class TemplateOut(Schema):
    id: int
    name: str
    subject: str
    body_html: str
    owner_id: int | None


class JourneyPoint(Schema):
    occurred_at: datetime
    emoticon: int
    kind: str
    subject: str

