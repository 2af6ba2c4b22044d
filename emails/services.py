"""Writes for mailboxes, drop addresses, unmatched senders and auto-create
rules. Receiving is emails.ingest, sending emails.sending, engagement
emails.engagement; each is one code path for the API, the pages and jobs.
"""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction

from accounts.models import User
from config.errors import Forbidden, Invalid, NotFound, error
from crm.models import Contact, ContactEmail, Organization
from crm.permissions import get_visible, visible
from crm.services import do_create_contact, normalize_email
from config import crypto
from emails import imap
from emails.models import AutoContactRule, DropAddress, EmailParticipant, EmailTemplate, Mailbox, Security
from emails.parsing import base_address
from touchpoints.services import direct_links, update_touchpoint, visible_touchpoints

MAILBOX_FIELDS = ("email_address", "imap_host", "imap_port", "imap_security", "username", "sent_folder", "enabled")


def check_mailbox_data(data: dict, *, partial: bool) -> dict:
    errors = []
    clean = {}
    required = ("email_address", "imap_host", "username", "password")
    for name in required:
        # On a change, a field left out stays as it is; one sent empty is an error.
        if (not partial or name in data and name != "password") and not str(data.get(name) or "").strip():
            errors.append(error((name,), "is required"))
    if data.get("email_address"):
        try:
            clean["email_address"] = normalize_email(data["email_address"], ("email_address",))
        except Invalid as exc:
            errors.extend(exc.errors)
    if data.get("imap_security") is not None and data["imap_security"] not in Security.values:
        errors.append(error(("imap_security",), f"must be one of {', '.join(Security.values)}"))
    port = data.get("imap_port")
    if port is not None and not (isinstance(port, int) and 0 < port < 65536):
        errors.append(error(("imap_port",), "must be a TCP port (1-65535)"))
    if errors:
        raise Invalid(errors)
    for name in MAILBOX_FIELDS:
        if name in data and data[name] is not None and name not in clean:
            clean[name] = data[name].strip() if isinstance(data[name], str) else data[name]
    return clean


def do_connect_mailbox(actor: User, data: dict) -> Mailbox:
    clean = check_mailbox_data(data, partial=False)
    mailbox = Mailbox(user=actor, password_encrypted=crypto.encrypt(data["password"]), **clean)
    if Mailbox.objects.filter(user=actor, imap_host=mailbox.imap_host, username=mailbox.username).exists():
        raise Invalid.field("username", "you already connected this account on this server")
    mailbox.save()
    return mailbox


def get_own_mailbox(actor: User, mailbox_id: int, *, for_update: bool = False) -> Mailbox:
    """Mailboxes are personal: only their user (or an admin) may read or
    change one; anyone else gets the same 404 as for a missing one."""
    qs = Mailbox.objects.select_for_update() if for_update else Mailbox.objects.all()
    mailbox = qs.filter(id=mailbox_id).first()
    if mailbox is None or not (mailbox.user_id == actor.id or actor.role == "admin" or actor.is_superuser):
        raise NotFound(f"mailbox {mailbox_id} not found")
    return mailbox


@transaction.atomic
def do_update_mailbox(actor: User, mailbox_id: int, data: dict) -> Mailbox:
    mailbox = get_own_mailbox(actor, mailbox_id, for_update=True)
    for name, value in check_mailbox_data(data, partial=True).items():
        setattr(mailbox, name, value)
    if data.get("password"):
        mailbox.password_encrypted = crypto.encrypt(data["password"])
    mailbox.save()
    return mailbox


def do_delete_mailbox(actor: User, mailbox_id: int) -> None:
    """Disconnecting keeps the emails already stored: they are the
    customers' history, not the mailbox's."""
    get_own_mailbox(actor, mailbox_id).delete()


def test_mailbox(actor: User, mailbox_id: int | None = None, data: dict | None = None) -> dict:
    """Try the connection: a stored mailbox, or settings not yet saved."""
    if mailbox_id is not None:
        # Saved settings with any unsaved edits laid over them, so the page
        # can test a change before saving it without retyping the password.
        m = get_own_mailbox(actor, mailbox_id)
        edits = {k: v for k, v in check_mailbox_data(data or {}, partial=True).items() if v not in (None, "")}
        params = tuple(edits.get(k, getattr(m, k)) for k in ("imap_host", "imap_port", "imap_security", "username"))
        try:
            password = (data or {}).get("password") or crypto.decrypt(m.password_encrypted)
        except crypto.CredentialsUnreadable as exc:
            return {"ok": False, "error": str(exc)}
    else:
        clean = check_mailbox_data(data or {}, partial=False)
        params = (clean["imap_host"], clean.get("imap_port", 993), clean.get("imap_security", Security.SSL), clean["username"])
        password = data["password"]
    try:
        return imap.test_connection(*params, password)
    except imap.SyncError as exc:
        return {"ok": False, "error": str(exc)}


def drop_address_of(user: User) -> str:
    """The user's personal BCC/forward address, created on first use."""
    drop, _ = DropAddress.objects.get_or_create(user=user, defaults={"key": secrets.token_hex(8)})
    return f"{drop.key}@{settings.BCC_DROP_DOMAIN}"


def user_for_drop_address(address: str) -> User | None:
    local, _, domain = address.lower().partition("@")
    if domain != settings.BCC_DROP_DOMAIN.lower():
        return None
    drop = DropAddress.objects.select_related("user").filter(key=base_address(local + "@x").split("@")[0]).first()
    return drop.user if drop and drop.user.is_active else None


# --- unmatched senders -----------------------------------------------------------------


def do_create_contact_from_address(actor: User, address: str, data: dict) -> Contact:
    """Turn an unmatched address into a contact, and put every stored email
    with that address (plus-addressing aware) on the new contact's timeline
    (and so on its organization's and deals')."""
    address = normalize_email(address, ("address",))
    existing = ContactEmail.objects.filter(email=address, contact__in=visible(Contact, actor).values("id")).first()
    if existing is not None:
        # A double submit, or an address made a contact meanwhile: one contact per address.
        raise Invalid.field("address", f"{address} is already the address of contact {existing.contact_id}")
    with transaction.atomic():
        contact = do_create_contact(actor, {**data, "emails": list(dict.fromkeys([address, *(data.get("emails") or [])]))})
        relink_address(actor, address, contact.id)
    return contact


def relink_address(actor: User, address: str, contact_id: int) -> int:
    """Attach unmatched participants with ``address`` on emails the actor
    may see to the contact, and add the contact to those touchpoints'
    direct links. Returns how many emails changed."""
    base = base_address(address)
    mine = EmailParticipant.objects.filter(contact__isnull=True, user__isnull=True)
    if not actor.sees_everything:
        mine = mine.filter(email__touchpoint_id__in=visible_touchpoints(actor).values("id"))
    candidates = mine.filter(address__in={address, base})
    # Tagged variants (bob+x@) share the base; the index covers the exact
    # forms, and the few tagged ones are found by suffix within the domain.
    local, domain = base.split("@")
    tagged = mine.filter(address__startswith=f"{local}+", address__endswith=f"@{domain}")
    ids = set(candidates.values_list("id", flat=True)) | set(tagged.values_list("id", flat=True))
    touchpoint_ids = set(
        EmailParticipant.objects.filter(id__in=ids).values_list("email__touchpoint_id", flat=True)
    )
    EmailParticipant.objects.filter(id__in=ids).update(contact_id=contact_id)
    for tp_id in sorted(touchpoint_ids):
        links = direct_links(tp_id)
        if contact_id not in links["contact_ids"]:
            update_touchpoint(None, tp_id, {"contact_ids": [*links["contact_ids"], contact_id]}, checked=True)
    return len(touchpoint_ids)


# --- auto-create rules and templates -------------------------------------------------------


def do_create_auto_contact_rule(actor: User, domain: str, organization_id: int) -> AutoContactRule:
    domain = domain.strip().lower().lstrip("@")
    if not domain or "." not in domain or "@" in domain or " " in domain:
        raise Invalid.field("domain", f"{domain!r} is not a domain name")
    organization = get_visible(Organization, actor, organization_id, loc=("organization_id",))
    if AutoContactRule.objects.filter(domain=domain).exists():
        raise Invalid.field("domain", f"a rule for {domain} exists already")
    return AutoContactRule.objects.create(domain=domain, organization=organization, owner=actor)


def visible_rules(viewer: User):
    """Rules on organizations the viewer may see (the ones that apply to
    their mail)."""
    return AutoContactRule.objects.filter(organization__in=visible(Organization, viewer).values("id"))


def do_delete_auto_contact_rule(actor: User, rule_id: int) -> None:
    rule = visible_rules(actor).filter(id=rule_id).first()
    if rule is None:
        raise NotFound(f"rule {rule_id} not found")
    if not (actor.sees_everything or rule.owner_id == actor.id):
        raise Forbidden("only the rule's creator, an admin or a manager may delete it")
    rule.delete()


def do_create_template(actor: User, name: str, subject: str, body_html: str) -> EmailTemplate:
    from emails import merge

    errors = [error((n,), "must not be empty") for n, v in (("name", name), ("subject", subject), ("body_html", body_html)) if not v.strip()]
    for loc, text in (("subject", subject), ("body_html", body_html)):
        try:
            merge.check_fields(text, loc)
        except Invalid as exc:
            errors.extend(exc.errors)
    if errors:
        raise Invalid(errors)
    return EmailTemplate.objects.create(name=name.strip(), subject=subject, body_html=body_html, owner=actor)
