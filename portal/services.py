"""Every write of the customer portal: invitations, sign-in, sessions.

Sessions. A sign-in creates a ``PortalSession`` whose random token is the
portal cookie (only its SHA-256 is stored): a new token at every sign-in, so
a session cannot be fixed in advance, and apart from the staff session
cookie, so a portal sign-in never opens the CRM and a staff sign-in never
opens the portal. A session ends by signing out, by expiry (no request for
PORTAL_SESSION_IDLE_MINUTES, or PORTAL_SESSION_MAX_HOURS after sign-in) or
when staff revoke the account.

Touchpoints. "When a customer logs in to or logs out of the customer
portal, the activity is logged in the Activity section of the contact
record": each session's start is one ``portal_login`` touchpoint and its end
one ``portal_logout`` (an expiry too, dated when the session expired, not
when we noticed). Exactly once: the end is a conditional UPDATE (``ended_at
IS NULL``) that only one caller wins, and both touchpoints carry external
ids (``session-<id>-login`` / ``-logout``), unique in the log. They appear on
the contact only (touchpoints.rules.CONTACT_ONLY) and never move Last
Contacted: the customer visited, nobody contacted them.
"""
from __future__ import annotations

import secrets
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from accounts.models import User, hash_token
from config.errors import Forbidden, Invalid, NotFound, ServiceError
from crm.models import Contact, ContactEmail
from crm.permissions import get_visible, owned_by_team_of
from crm.services import normalize_email
from portal.models import AttemptKind, EndReason, PortalAccount, PortalSession, PortalToken, SignInAttempt, TokenPurpose
from touchpoints import services as touchpoint_services
from touchpoints.rules import Direction, Kind, Source

HASHER = "argon2"
# A dummy hash to check a password against when the address has no account,
# so a sign-in takes as long whether or not the address is known.
_DUMMY_HASH: list[str] = []


class MailNotSent(ServiceError):
    status = 502


class RateLimited(ServiceError):
    status = 429


def new_token() -> str:
    return secrets.token_urlsafe(32)


def portal_url(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/portal/{path.lstrip('/')}"


# --- touchpoints ------------------------------------------------------------------------------


def _record_visit(session: PortalSession, contact: Contact, kind: str, at: datetime, subject: str) -> None:
    suffix = "login" if kind == Kind.PORTAL_LOGIN else "logout"
    touchpoint_services.record_touchpoints(
        None,
        [
            touchpoint_services.NewTouchpoint(
                kind=kind,
                status="logged",
                direction=Direction.INBOUND,
                occurred_at=at,
                subject=subject,
                source=Source.PORTAL,
                external_id=f"session-{session.id}-{suffix}",
                owner_id=contact.owner_id,
                contact_ids=[contact.id],
            )
        ],
        checked=True,
    )


# --- sessions ----------------------------------------------------------------------------------


@dataclass
class SignedIn:
    session: PortalSession
    token: str  # the cookie's value, shown once


def _idle_deadline(now: datetime, started_at: datetime) -> datetime:
    return min(now + timedelta(minutes=settings.PORTAL_SESSION_IDLE_MINUTES), started_at + timedelta(hours=settings.PORTAL_SESSION_MAX_HOURS))


def start_session(account: PortalAccount, *, ip: str | None = None, user_agent: str = "") -> SignedIn:
    """A new session (and its portal_login touchpoint). Call inside a transaction."""
    now = timezone.now()
    token = new_token()
    session = PortalSession.objects.create(
        account=account,
        token_hash=hash_token(token),
        started_at=now,
        last_seen_at=now,
        expires_at=_idle_deadline(now, now),
        ip=ip,
        user_agent=(user_agent or "")[:255],
    )
    PortalAccount.objects.filter(id=account.id).update(last_login_at=now)
    _record_visit(session, account.contact, Kind.PORTAL_LOGIN, now, "Signed in to the customer portal")
    return SignedIn(session=session, token=token)


def end_session(session_id: int, reason: str, at: datetime | None = None) -> bool:
    """End a live session once: the conditional UPDATE decides who records
    its portal_logout touchpoint, so a sign-out racing an expiry sweep (or a
    double click on Sign out) gives one touchpoint. Expiry is dated at the
    deadline that passed."""
    with transaction.atomic():
        session = PortalSession.objects.select_related("account__contact").filter(id=session_id).first()
        if session is None or session.ended_at is not None:
            return False
        when = at or (session.expires_at if reason == EndReason.EXPIRED else timezone.now())
        live = PortalSession.objects.filter(id=session_id, ended_at__isnull=True)
        if reason == EndReason.EXPIRED:
            live = live.filter(expires_at__lte=timezone.now())  # not one a request has just extended
        won = live.update(ended_at=when, end_reason=reason)
        if not won:
            return False
        subject = {
            EndReason.LOGOUT: "Signed out of the customer portal",
            EndReason.EXPIRED: "Customer portal session expired",
            EndReason.REVOKED: "Customer portal access revoked",
        }[reason]
        _record_visit(session, session.account.contact, Kind.PORTAL_LOGOUT, when, subject)
        return True


def resume_session(raw_token: str | None) -> PortalSession | None:
    """The live session the cookie names, its deadline slid forward; None
    (and the session ended as expired, if it had) otherwise. The slide is
    written at most once a minute, so reading pages does not turn every
    request into a write."""
    if not raw_token or len(raw_token) > 100:
        return None
    session = PortalSession.objects.select_related("account__contact").filter(token_hash=hash_token(raw_token), ended_at__isnull=True).first()
    if session is None:
        return None
    now = timezone.now()
    if session.expires_at <= now or not session.account.is_active:
        end_session(session.id, EndReason.EXPIRED if session.account.is_active else EndReason.REVOKED)
        return None
    if now - session.last_seen_at >= timedelta(minutes=1):
        deadline = _idle_deadline(now, session.started_at)
        PortalSession.objects.filter(id=session.id, ended_at__isnull=True).update(last_seen_at=now, expires_at=deadline)
        session.last_seen_at, session.expires_at = now, deadline
    return session


def do_sign_out(raw_token: str | None) -> None:
    if not raw_token:
        return
    session = PortalSession.objects.filter(token_hash=hash_token(raw_token), ended_at__isnull=True).first()
    if session is not None:
        reason = EndReason.EXPIRED if session.expires_at <= timezone.now() else EndReason.LOGOUT
        end_session(session.id, reason)


def end_expired_sessions(limit: int = 1000) -> int:
    """The periodic sweep (portal.tasks): end every session whose deadline
    passed without a sign-out, each with its one portal_logout touchpoint."""
    ids = list(PortalSession.objects.filter(ended_at__isnull=True, expires_at__lte=timezone.now()).order_by("expires_at").values_list("id", flat=True)[:limit])
    return sum(end_session(session_id, EndReason.EXPIRED) for session_id in ids)


# --- signing in ----------------------------------------------------------------------------------


def _window_start() -> datetime:
    return timezone.now() - timedelta(minutes=settings.PORTAL_SIGN_IN_WINDOW_MINUTES)


def check_rate_limit(email: str, ip: str | None, kind: str = AttemptKind.PASSWORD, *, over: int = 0) -> None:
    """Refuse (429) once an address or a client has failed too often in the
    window: PORTAL_SIGN_IN_FAILURES per address, four times that per IP (one
    office behind one address has several people). Password failures and
    link requests are counted apart (see SignInAttempt)."""
    since = _window_start()
    attempts = SignInAttempt.objects.filter(kind=kind, at__gte=since)
    by_email = attempts.filter(email=email).count()
    by_ip = attempts.filter(ip=ip).count() if ip else 0
    # ``over``: attempts already recorded for this request, not counted against it.
    if by_email - over >= settings.PORTAL_SIGN_IN_FAILURES or by_ip - over >= 4 * settings.PORTAL_SIGN_IN_FAILURES:
        if kind == AttemptKind.LINK:
            raise RateLimited(f"Too many sign-in links asked for. Try again in {settings.PORTAL_SIGN_IN_WINDOW_MINUTES} minutes.")
        raise RateLimited(f"Too many failed sign-ins. Try again in {settings.PORTAL_SIGN_IN_WINDOW_MINUTES} minutes, or ask for a sign-in link.")


def _password_matches(account: PortalAccount | None, password: str) -> bool:
    if account is None or not account.password:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(make_password(secrets.token_urlsafe(16), hasher=HASHER))
        check_password(password, _DUMMY_HASH[0])
        return False
    return check_password(password, account.password)


def do_sign_in(email: str, password: str, *, ip: str | None = None, user_agent: str = "") -> SignedIn:
    """Email and password. Every failure says the same thing (no hint
    whether the address has an account) and counts toward the rate limit.
    The attempt is counted before the password is checked (and forgotten
    when it was right), so guesses sent in parallel count each other."""
    email = (email or "").strip().lower()[:254]
    attempt = SignInAttempt.objects.create(kind=AttemptKind.PASSWORD, email=email, ip=ip, at=timezone.now())
    check_rate_limit(email, ip, over=1)
    account = PortalAccount.objects.select_related("contact").filter(email=email, is_active=True).first()
    if not _password_matches(account, password or ""):
        raise Invalid.field(("password",), "That email address and password do not match a portal account.")
    attempt.delete()
    with transaction.atomic():
        return start_session(account, ip=ip, user_agent=user_agent)


def _consume(raw_token: str, purpose: str) -> PortalToken:
    """A valid, unused token of ``purpose``, marked used (once: a conditional
    UPDATE, so two clicks on the same link cannot both sign in)."""
    now = timezone.now()
    token = PortalToken.objects.select_related("account__contact").filter(token_hash=hash_token(raw_token or ""), purpose=purpose).first()
    if token is None or not _usable(token, now):
        raise NotFound("This link is not valid any more: it was used already or has expired. Ask for a new one.")
    if not PortalToken.objects.filter(id=token.id, used_at__isnull=True).update(used_at=now):
        raise NotFound("This link is not valid any more: it was used already or has expired. Ask for a new one.")
    return token


def peek_token(raw_token: str, purpose: str) -> PortalToken | None:
    """The token if it would still work (pages show the form or say why not), without using it."""
    token = PortalToken.objects.select_related("account__contact").filter(token_hash=hash_token(raw_token or ""), purpose=purpose).first()
    return token if token is not None and _usable(token, timezone.now()) else None


def _usable(token: PortalToken, now: datetime) -> bool:
    """Unused and unexpired; a sign-in link also needs an active account,
    while an invitation is what turns a revoked account back on."""
    if token.used_at is not None or token.expires_at <= now:
        return False
    return token.purpose == TokenPurpose.INVITATION or token.account.is_active


def check_new_password(password: str) -> None:
    try:
        validate_password(password or "")
    except ValidationError as exc:
        raise Invalid.field(("password",), " ".join(exc.messages)) from exc


@transaction.atomic
def do_accept_invitation(raw_token: str, password: str, *, ip: str | None = None, user_agent: str = "") -> SignedIn:
    """Set the password from the invitation link, and sign in."""
    token = peek_token(raw_token, TokenPurpose.INVITATION)
    if token is not None:
        check_new_password(password)  # before using the link: a weak password may be retried
    token = _consume(raw_token, TokenPurpose.INVITATION)
    account = token.account
    account.password = make_password(password, hasher=HASHER)
    account.activated_at = account.activated_at or timezone.now()
    account.is_active = True
    account.save(update_fields=["password", "activated_at", "is_active"])
    return start_session(account, ip=ip, user_agent=user_agent)


@transaction.atomic
def do_sign_in_with_link(raw_token: str, *, ip: str | None = None, user_agent: str = "") -> SignedIn:
    token = _consume(raw_token, TokenPurpose.SIGN_IN)
    return start_session(token.account, ip=ip, user_agent=user_agent)


def _issue(account: PortalAccount, purpose: str, lifetime: timedelta) -> tuple[str, PortalToken]:
    """A new link; earlier unused links of the same purpose stop working."""
    now = timezone.now()
    PortalToken.objects.filter(account=account, purpose=purpose, used_at__isnull=True).update(used_at=now)
    raw = new_token()
    token = PortalToken.objects.create(account=account, purpose=purpose, token_hash=hash_token(raw), created_at=now, expires_at=now + lifetime)
    return raw, token


def _send(to: str, subject: str, body: str) -> None:
    try:
        EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[to]).send()
    except (smtplib.SMTPException, OSError) as exc:
        raise MailNotSent(f"The email to {to} could not be sent: {exc}") from exc


def do_request_sign_in_link(email: str, *, ip: str | None = None) -> None:
    """Ask for a one-time sign-in link. The request only counts toward the
    rate limit (its own, so the form can neither flood an inbox nor lock a
    password out) and queues the job; the worker looks the address up and
    mails a link if it has an active account. So the answer is the same,
    and as quick, whether or not the address is known, and whatever the
    mail server is doing."""
    from portal.tasks import send_sign_in_link

    email = (email or "").strip().lower()[:254]
    SignInAttempt.objects.create(kind=AttemptKind.LINK, email=email, ip=ip, at=timezone.now())
    check_rate_limit(email, ip, AttemptKind.LINK, over=1)
    transaction.on_commit(lambda: send_sign_in_link(email))


def do_send_sign_in_link(email: str) -> bool:
    """The job behind do_request_sign_in_link: a link for an active account
    of ``email``, mailed; False when there is none (nothing is sent)."""
    account = PortalAccount.objects.select_related("contact").filter(email=email, is_active=True).first()
    if account is None:
        return False
    with transaction.atomic():
        raw, _ = _issue(account, TokenPurpose.SIGN_IN, timedelta(minutes=settings.PORTAL_SIGN_IN_LINK_MINUTES))
    _send(
        account.email,
        "Your sign-in link",
        f"Hello {account.contact.first_name or account.contact.full_name},\n\n"
        f"Sign in to the customer portal with this link (it works once, for {settings.PORTAL_SIGN_IN_LINK_MINUTES} minutes):\n\n"
        f"{portal_url(f'link/{raw}/')}\n\nIf you did not ask for it, ignore this email.\n",
    )
    return True


# --- staff: invitations and access ---------------------------------------------------------------


@dataclass
class Invitation:
    account: PortalAccount
    expires_at: datetime


def do_invite(actor: User, contact_id: int, email: str | None = None) -> Invitation:
    """Invite a contact the actor may see to the portal: an account for one
    of the contact's addresses (the first, unless one is named) and an
    emailed link to set a password, valid PORTAL_INVITATION_DAYS. Inviting
    again sends a new link (the old one stops working)."""
    with transaction.atomic():
        contact = get_visible(Contact, actor, contact_id)
        check_may_manage_access(actor, contact)
        addresses = list(ContactEmail.objects.filter(contact=contact).order_by("position", "id").values_list("email", flat=True))
        if email is not None:
            email = normalize_email(email, ("email",))
            if email not in addresses:
                raise Invalid.field(("email",), f"{email} is not one of this contact's email addresses")
        elif not addresses:
            raise Invalid.field(("email",), "the contact has no email address to send the invitation to")
        else:
            email = addresses[0]
        taken = PortalAccount.objects.filter(email=email).exclude(contact=contact).exists()
        if taken:
            raise Invalid.field(("email",), f"{email} already signs another contact in to the portal")
        account, created = PortalAccount.objects.select_for_update().get_or_create(contact=contact, defaults={"email": email, "is_active": False})
        if not created and account.email != email:
            # Another address is another person's mailbox: what the old one
            # signed in with stops working until the new one sets a password.
            _end_all(account, EndReason.REVOKED)
            account.password = ""
            account.is_active = False
        account.email = email
        account.invited_at = timezone.now()
        account.invited_by = actor
        account.save()
        raw, token = _issue(account, TokenPurpose.INVITATION, timedelta(days=settings.PORTAL_INVITATION_DAYS))
    sender = actor.get_full_name() or actor.username
    _send(
        email,
        "You are invited to our customer portal",
        f"Hello {contact.first_name or contact.full_name},\n\n{sender} invited you to the customer portal, where you can follow "
        f"your cases and find the documents shared with you.\n\nSet your password here (the link works once, for "
        f"{settings.PORTAL_INVITATION_DAYS} days):\n\n{portal_url(f'invitation/{raw}/')}\n",
    )
    return Invitation(account=account, expires_at=token.expires_at)


def check_may_manage_access(actor: User, contact: Contact) -> None:
    """Who may give a contact portal access, change its address or turn it
    off: admins, managers and the contact owner's team. Not whoever the
    contact is merely shared with: an invitation sent to an address they
    add would let them sign in as the contact and see what was shared with
    the contact's organization, which they may not."""
    if not (actor.sees_everything or owned_by_team_of(actor, contact.owner_id)):
        raise Forbidden("only the contact owner's team, an admin or a manager may manage this contact's portal access")


def invitation_pending(account: PortalAccount) -> bool:
    """Invited and not accepted yet: an invitation link that still works was sent."""
    return not account.is_active and PortalToken.objects.filter(
        account=account, purpose=TokenPurpose.INVITATION, used_at__isnull=True, expires_at__gt=timezone.now()
    ).exists()


def _end_all(account: PortalAccount, reason: str) -> None:
    for session_id in PortalSession.objects.filter(account=account, ended_at__isnull=True).values_list("id", flat=True):
        end_session(session_id, reason)


@transaction.atomic
def do_revoke(actor: User, contact_id: int) -> None:
    """Turn a contact's portal access off: every live session ends
    (portal_logout, "access revoked"), the password is forgotten and no
    sign-in link works; only a new invitation turns it on again."""
    contact = get_visible(Contact, actor, contact_id)
    check_may_manage_access(actor, contact)
    account = PortalAccount.objects.select_for_update().filter(contact=contact).first()
    if account is None:
        raise NotFound(f"contact {contact_id} has no portal account")
    PortalAccount.objects.filter(id=account.id).update(is_active=False, password="")
    PortalToken.objects.filter(account=account, used_at__isnull=True).update(used_at=timezone.now())
    _end_all(account, EndReason.REVOKED)


def purge_old_attempts() -> int:
    deleted, _ = SignInAttempt.objects.filter(at__lt=timezone.now() - timedelta(days=1)).delete()
    return deleted
