"""Engagement tracking building blocks: signed tokens, the open pixel, link
rewriting, automated-open/click detection and the one-hour counting window.

Pure functions only (no models): the sending code instruments each
recipient's copy, the ``/t/o/`` and ``/t/c/`` views read the tokens and
classify the hit, the services record the engagement.

Tokens
    ``django.core.signing.Signer`` with a dedicated salt, HMAC-SHA256 over
    SECRET_KEY (SECRET_KEY_FALLBACKS are accepted on read, so a key rotation
    keeps old emails' links working). A token is a compact url-safe
    ``payload:signature``: the payload (recipient id, and for a click the
    destination) is readable but cannot be changed or made up without the
    key, so ids cannot be enumerated and the click redirect can only go to
    a URL we signed: no open redirect.

Automated hits
    Rules are data (``DEFAULT_RULES``; NetBox-style condition sets), extended
    or overridden by ``settings.TRACKING_PROXY_RULES``; see ``classify_open``.
"""
from __future__ import annotations

import html
import ipaddress
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any, Literal
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured

# --- Tokens -----------------------------------------------------------------

TOKEN_SALT = "touchpoints.emails.tracking"
OPEN_PATH = "/t/o/"
CLICK_PATH = "/t/c/"
PIXEL_SUFFIX = ".gif"
# A click token carries its URL; past this the request is not ours.
MAX_TOKEN_LENGTH = 8192
MAX_URL_LENGTH = 4096

_OPEN, _CLICK = "o", "c"


class BadToken(ValueError):
    """The token was not made by us (tampered, forged, truncated, wrong kind)."""


@dataclass(frozen=True)
class TrackedHit:
    kind: Literal["open", "click"]
    recipient_id: int
    url: str | None  # the signed destination of a click; None for an open


def _signer() -> signing.Signer:
    return signing.Signer(salt=TOKEN_SALT)


def _check_recipient_id(recipient_id: int) -> None:
    if isinstance(recipient_id, bool) or not isinstance(recipient_id, int) or recipient_id <= 0:
        raise ValueError(f"recipient_id must be a positive int, not {recipient_id!r}")


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def open_token(recipient_id: int) -> str:
    """The signed token of one recipient's open pixel."""
    _check_recipient_id(recipient_id)
    return _signer().sign_object([_OPEN, recipient_id], compress=True)


def click_token(recipient_id: int, url: str) -> str:
    """The signed token of one recipient's click on ``url`` (already
    entity-decoded). The URL is inside the signature, so the redirect view
    needs no lookup and cannot be pointed anywhere else."""
    _check_recipient_id(recipient_id)
    if not isinstance(url, str) or not _is_http_url(url) or len(url) > MAX_URL_LENGTH:
        raise ValueError("only absolute http(s) URLs are tracked")
    return _signer().sign_object([_CLICK, recipient_id, url], compress=True)


def read_token(token: str, *, kind: Literal["open", "click"] | None = None) -> TrackedHit:
    """The hit a token stands for; ``BadToken`` for anything we did not sign.
    ``kind`` makes the open view refuse a click token and vice versa."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise BadToken("missing or oversized token")
    try:
        payload = _signer().unsign_object(token)
    except signing.BadSignature as exc:
        raise BadToken("bad signature") from exc
    except (ValueError, TypeError, zlib.error) as exc:  # signed but undecodable: not one of ours
        raise BadToken("undecodable payload") from exc
    hit = _hit_from_payload(payload)
    if kind is not None and hit.kind != kind:
        raise BadToken(f"expected a {kind} token, got a {hit.kind} token")
    return hit


def _hit_from_payload(payload: Any) -> TrackedHit:
    # Defensive: the signature already proves we made it, but a payload
    # shape from a future version must fail closed, not half-work.
    if isinstance(payload, list) and payload:
        rid = payload[1] if len(payload) > 1 else None
        valid_id = isinstance(rid, int) and not isinstance(rid, bool) and rid > 0
        if payload[0] == _OPEN and len(payload) == 2 and valid_id:
            return TrackedHit("open", rid, None)
        if payload[0] == _CLICK and len(payload) == 3 and valid_id:
            url = payload[2]
            if isinstance(url, str) and _is_http_url(url):
                return TrackedHit("click", rid, url)
    raise BadToken("malformed payload")


def _base(base_url: str) -> str:
    if not isinstance(base_url, str) or not _is_http_url(base_url):
        raise ValueError(f"base_url must be an absolute http(s) URL (settings.PUBLIC_BASE_URL), not {base_url!r}")
    return base_url.rstrip("/")


def pixel_url(token: str, base_url: str) -> str:
    """Absolute URL of the open pixel: ``<base_url>/t/o/<token>.gif``."""
    return f"{_base(base_url)}{OPEN_PATH}{token}{PIXEL_SUFFIX}"


def click_url(token: str, base_url: str) -> str:
    """Absolute URL of the click redirect: ``<base_url>/t/c/<token>``."""
    return f"{_base(base_url)}{CLICK_PATH}{token}"


def instrument_for_recipient(html_text: str, recipient_id: int, base_url: str) -> str:
    """One recipient's tracked copy (To, Cc and each Bcc get their own):
    ``instrument_html`` with that recipient's pixel and links."""
    return instrument_html(
        html_text,
        open_url=pixel_url(open_token(recipient_id), base_url),
        click_url_for=lambda url: click_url(click_token(recipient_id, url), base_url),
    )


# A valid 1x1 transparent GIF89a (43 bytes): one-entry palette, a Graphic
# Control Extension marking index 0 transparent, one LZW-coded pixel.
PIXEL_GIF: bytes = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
    b"!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


# --- HTML instrumentation ---------------------------------------------------

# The stdlib parser's own tokenizing patterns (CPython 3.11 html.parser
# ``tagfind_tolerant``/``attrfind_tolerant``), used to find where in the raw
# tag text the href value sits, so only that value is rewritten.
_TAGFIND = re.compile(r"([a-zA-Z][^\t\n\r\f />\x00]*)(?:\s|/(?!>))*")
_ATTRFIND = re.compile(
    r"((?<=[\'\"\s/])[^\s/>][^\s/=>]*)(\s*=+\s*"
    r"(\'[^\']*\'|\"[^\"]*\"|(?![\'\"])[^>\s]*))?(?:\s|/(?!>))*"
)
_LINK_TAGS = ("a", "area")
# Browsers drop these from URLs (WHATWG URL parsing); so do we before signing.
_URL_NOISE = re.compile(r"[\t\n\r]")


@dataclass
class _Edit:
    start: int
    end: int
    text: str


class _LinkScanner(HTMLParser):
    """Collects the offsets of what to rewrite; writes nothing itself, so
    every byte we do not touch (comments, conditional comments, odd
    whitespace, entity spellings) goes out exactly as written."""

    def __init__(self, source: str):
        super().__init__(convert_charrefs=True)
        self.source = source
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.links: list[tuple[int, str, str]] = []  # (offset, raw tag text, decoded href)
        self.img_srcs: list[str] = []
        self.body_end: int | None = None
        self.html_end: int | None = None

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _LINK_TAGS:
            if _untracked_by_author(attrs):
                return
            href = next((v for k, v in attrs if k == "href"), None)
            raw = self.get_starttag_text()
            if href is not None and raw:
                self.links.append((self._offset(), raw, href))
        elif tag == "img":
            self.img_srcs.extend(v for k, v in attrs if k == "src" and v)

    def handle_endtag(self, tag: str) -> None:
        if tag == "body":
            self.body_end = self._offset()
        elif tag == "html":
            self.html_end = self._offset()


def _untracked_by_author(attrs: list[tuple[str, str | None]]) -> bool:
    # SendGrid's documented opt-out (clicktracking=off) and a data attribute.
    for name, value in attrs:
        if name == "clicktracking" and (value or "").lower() == "off":
            return True
        if name == "data-no-track":
            return True
    return False


def _href_value_span(raw_tag: str) -> tuple[int, int, str] | None:
    """(start, end, quote) of the first href value inside the raw tag text;
    start/end exclude the quotes. None when the tag has no href value."""
    m = _TAGFIND.match(raw_tag, 1)
    if not m:
        return None
    k = m.end()
    while k < len(raw_tag):
        m = _ATTRFIND.match(raw_tag, k)
        if not m or m.end() == k:
            return None
        if m.group(1).lower() == "href":
            if m.group(3) is None:
                return None
            start, end = m.span(3)
            value = m.group(3)
            if value[:1] in ("'", '"') and value[:1] == value[-1:] and len(value) >= 2:
                return start + 1, end - 1, value[0]
            return start, end, ""
        k = m.end()
    return None


def _trackable(href: str, tracked_prefix: str | None) -> str | None:
    """The URL to sign for this href, or None to leave the link alone
    (mailto:, tel:, #anchors, relative, template placeholders, ours)."""
    url = _URL_NOISE.sub("", href).strip()
    if not _is_http_url(url) or len(url) > MAX_URL_LENGTH:
        return None
    if tracked_prefix and url.startswith(tracked_prefix):
        return None
    return url


def _tracked_click_prefix(open_url: str) -> str | None:
    # Our click links live beside the pixel: <base>/t/c/ next to <base>/t/o/.
    base, sep, _ = open_url.rpartition(OPEN_PATH)
    return f"{base}{CLICK_PATH}" if sep else None


def _pixel_tag(open_url: str) -> str:
    src = html.escape(open_url, quote=True)
    return (
        f'<img src="{src}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0" />'
    )


def instrument_html(html_text: str, *, open_url: str, click_url_for: Callable[[str], str]) -> str:
    """Rewrite every http(s) ``<a href>``/``<area href>`` to
    ``click_url_for(decoded original)`` and add one 1x1 pixel before
    ``</body>`` (else before ``</html>``, else at the end).

    Left alone: mailto:, tel:, #anchors, relative or placeholder hrefs,
    links already pointing at our ``/t/c/`` next to ``open_url``, and links
    marked ``clicktracking="off"`` or ``data-no-track``. Unsubscribe links
    are rewritten like any other (their clicks are engagements too).
    Entities in hrefs (``&amp;``) are decoded before ``click_url_for`` sees
    them, so the redirect goes where a mail client would have gone.

    Only href values and the pixel are written; the rest of the document is
    returned byte for byte. Links inside comments (Outlook ``<!--[if mso]>``
    blocks) are not seen by the parser and stay untracked. Instrument the
    original HTML once per recipient, never an already-instrumented copy.
    """
    scanner = _LinkScanner(html_text)
    scanner.feed(html_text)
    scanner.close()
    tracked_prefix = _tracked_click_prefix(open_url)

    edits: list[_Edit] = []
    for offset, raw_tag, href in scanner.links:
        url = _trackable(href, tracked_prefix)
        span = _href_value_span(raw_tag) if url else None
        if url is None or span is None:
            continue
        start, end, quote = span
        # Fail safe: only rewrite when our span decodes to what the parser saw.
        if html.unescape(raw_tag[start:end]) != href:
            continue
        new_value = html.escape(click_url_for(url), quote=True)
        if not quote:
            new_value = f'"{new_value}"'
        edits.append(_Edit(offset + start, offset + end, new_value))

    if open_url not in scanner.img_srcs:
        at = scanner.body_end if scanner.body_end is not None else scanner.html_end
        at = len(html_text) if at is None else at
        edits.append(_Edit(at, at, _pixel_tag(open_url)))
    return _apply(html_text, edits)


def _apply(text: str, edits: list[_Edit]) -> str:
    out: list[str] = []
    pos = 0
    for edit in sorted(edits, key=lambda e: e.start):
        out.append(text[pos : edit.start])
        out.append(edit.text)
        pos = edit.end
    out.append(text[pos:])
    return "".join(out)


# --- Automated opens and clicks ---------------------------------------------
#
# A rule: {"name": slug, "reason": stored text (<= 60 chars), "applies_to":
# ["open"] and/or ["click"], "source": where it comes from, "when": condition}.
# A condition is {"and": [...]}, {"or": [...]} or a leaf
# {"attr": "ip"|"user_agent"|"seconds_since_sent", "op": ..., "value": ...,
#  "negate": bool}, after NetBox's ConditionSet. Ops:
#   eq, in (attr in value list), contains (case-insensitive substring; value
#   a string or list: any), regex (re.search), in_network (ip in any CIDR of
#   value), lt/lte/gt/gte (numbers), empty (attr missing or blank).
# A missing attribute fails every op but eq/empty (then "negate" applies).
# First matching rule wins; its reason is what gets stored.

_PROXYISH_UA: dict[str, Any] = {
    # No UA, a UA without a "(platform; ...)" comment (real browsers and mail
    # clients all have one), or one that says it is a proxy.
    "or": [
        {"attr": "user_agent", "op": "empty"},
        {"attr": "user_agent", "op": "contains", "value": "(", "negate": True},
        {"attr": "user_agent", "op": "contains", "value": ["proxy", "prefetch", "preview"]},
    ]
}

TOO_SOON_SECONDS = 10

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {
        "name": "apple_mpp",
        "reason": "Apple Mail Privacy Protection prefetch",
        "applies_to": ["open"],
        "source": (
            "Apple Mail Privacy Protection (iOS 15 / macOS 12+) fetches remote images through Apple's proxies "
            "when mail arrives, opened or not, with the bare user agent 'Mozilla/5.0' (Mailgun bot-detection "
            "docs and blog; SendGrid flags the same opens sg_machine_open). 17.0.0.0/8 is Apple's own address "
            "block (ARIN). Apple staff on Apple's network would match too."
        ),
        "when": {
            "or": [
                {"attr": "ip", "op": "in_network", "value": ["17.0.0.0/8"]},
                {"attr": "user_agent", "op": "eq", "value": "Mozilla/5.0"},
            ]
        },
    },
    {
        "name": "google_image_proxy",
        "reason": "Google image proxy",
        "applies_to": ["open"],
        "source": (
            "Gmail loads images through Google's image proxy: user agent '... (via ggpht.com GoogleImageProxy)', "
            "from Google ranges such as 66.102.0.0/20 and 66.249.80.0/20. Gmail fetches when the person opens "
            "the message (then caches it), so such an open is usually real: OFF by default, and a Gmail fetch "
            "seconds after sending is still caught by open_too_soon. Turn it on with TRACKING_PROXY_RULES "
            "[{'name': 'google_image_proxy', 'enabled': True}] to report every Gmail open apart."
        ),
        "enabled": False,
        "when": {
            "or": [
                {"attr": "user_agent", "op": "contains", "value": ["GoogleImageProxy", "ggpht.com"]},
                {"attr": "ip", "op": "in_network", "value": ["66.102.0.0/20", "66.249.80.0/20"]},
            ]
        },
    },
    {
        "name": "yahoo_mail_proxy",
        "reason": "Yahoo Mail image proxy",
        "applies_to": ["open"],
        "source": "Yahoo Mail's image proxy user agent 'YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html'.",
        "when": {"attr": "user_agent", "op": "contains", "value": "YahooMailProxy"},
    },
    {
        "name": "security_scanner",
        "reason": "Email security scanner",
        "applies_to": ["open", "click"],
        "source": (
            "Link-protection gateways fetch links and images to scan them before the person sees the mail. "
            "Only the ones that name themselves are caught here (Barracuda, Mimecast, Proofpoint); most use a "
            "stock browser user agent and are caught by timing instead."
        ),
        "when": {"attr": "user_agent", "op": "contains", "value": ["Barracuda", "Mimecast", "Proofpoint"]},
    },
    {
        "name": "non_browser_client",
        "reason": "Bot or HTTP library",
        "applies_to": ["open", "click"],
        "source": "Self-declared crawlers and HTTP libraries: no person reads mail with curl or python-requests.",
        "when": {
            "attr": "user_agent",
            "op": "contains",
            "value": [
                "bot/", "bot;", "+http", "crawler", "spider", "python-requests", "python-urllib", "aiohttp",
                "curl/", "wget/", "go-http-client", "okhttp", "java/", "libwww-perl", "node-fetch", "axios/",
                "headlesschrome", "phantomjs",
            ],
        },
    },
    {
        "name": "open_too_soon",
        "reason": "Opened seconds after sending by a proxy",
        "applies_to": ["open"],
        "source": (
            f"Image prefetchers fetch on arrival; a person rarely opens within {TOO_SOON_SECONDS} s of sending. "
            "Only proxy-like user agents are flagged, so a person who does open at once is not."
        ),
        "when": {
            "and": [
                {"attr": "seconds_since_sent", "op": "lt", "value": TOO_SOON_SECONDS},
                _PROXYISH_UA,
            ]
        },
    },
    {
        "name": "click_too_soon",
        "reason": "Clicked seconds after sending (link scanner)",
        "applies_to": ["click"],
        "source": (
            "Safe-links scanners (Microsoft Defender, Proofpoint, Mimecast...) follow every link on arrival with "
            f"a normal browser user agent; no person reads and clicks within {TOO_SOON_SECONDS} s of sending."
        ),
        "when": {"attr": "seconds_since_sent", "op": "lt", "value": TOO_SOON_SECONDS},
    },
)

_ATTRS = ("ip", "user_agent", "seconds_since_sent")
_OPS = ("eq", "in", "contains", "regex", "in_network", "lt", "lte", "gt", "gte", "empty")
_KINDS = ("open", "click")
MAX_REASON_LENGTH = 60  # Engagement.reason


def _validate_condition(cond: Any, where: str) -> None:
    if not isinstance(cond, Mapping):
        raise ImproperlyConfigured(f"{where}: a condition must be a dict")
    for logic in ("and", "or"):
        if logic in cond:
            if not isinstance(cond[logic], list) or not cond[logic]:
                raise ImproperlyConfigured(f"{where}: '{logic}' needs a non-empty list")
            for i, sub in enumerate(cond[logic]):
                _validate_condition(sub, f"{where}.{logic}[{i}]")
            return
    if cond.get("attr") not in _ATTRS:
        raise ImproperlyConfigured(f"{where}: attr must be one of {_ATTRS}")
    if cond.get("op") not in _OPS:
        raise ImproperlyConfigured(f"{where}: op must be one of {_OPS}")
    if cond["op"] == "in_network":
        for net in _as_list(cond.get("value")):
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError as exc:
                raise ImproperlyConfigured(f"{where}: {net!r} is not a network") from exc
    if cond["op"] == "regex":
        try:
            re.compile(cond.get("value", ""))
        except (re.error, TypeError) as exc:
            raise ImproperlyConfigured(f"{where}: bad regex") from exc


def validate_rules(rules: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Check rules the way settings would write them; ImproperlyConfigured
    names the broken rule, so a typo is found at the first hit, not never."""
    checked = []
    for rule in rules:
        name = rule.get("name") if isinstance(rule, Mapping) else None
        if not isinstance(name, str) or not name:
            raise ImproperlyConfigured(f"tracking rule without a name: {rule!r}")
        reason = rule.get("reason")
        if not isinstance(reason, str) or not reason or len(reason) > MAX_REASON_LENGTH:
            raise ImproperlyConfigured(f"tracking rule {name}: reason must be 1..{MAX_REASON_LENGTH} characters")
        applies = rule.get("applies_to")
        if not isinstance(applies, (list, tuple)) or not applies or any(k not in _KINDS for k in applies):
            raise ImproperlyConfigured(f"tracking rule {name}: applies_to must list 'open' and/or 'click'")
        _validate_condition(rule.get("when"), f"tracking rule {name}")
        checked.append(rule)
    return checked


def active_rules() -> list[Mapping[str, Any]]:
    """DEFAULT_RULES merged with settings.TRACKING_PROXY_RULES (a list of
    rule dicts). An entry named like a default is laid over it, key by key:
    ``{"name": "google_image_proxy", "enabled": False}`` switches that one
    off, ``{"name": "open_too_soon", "when": {...}}`` changes only its
    condition. Entries with new names are checked before the defaults."""
    extra = [r for r in (getattr(settings, "TRACKING_PROXY_RULES", None) or []) if isinstance(r, Mapping)]
    overrides = {r.get("name"): r for r in extra}
    default_names = {d["name"] for d in DEFAULT_RULES}
    merged: list[Mapping[str, Any]] = [r for r in extra if r.get("name") not in default_names]
    for default in DEFAULT_RULES:
        merged.append({**default, **overrides.get(default["name"], {})})
    enabled = [r for r in merged if r.get("enabled", True)]
    return validate_rules(enabled)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


@lru_cache(maxsize=256)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


def _parse_ip(ip: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        return addr.ipv4_mapped  # "::ffff:17.1.2.3" from a dual-stack listener
    return addr


def _leaf(attr_value: Any, op: str, value: Any) -> bool:
    if op != "in_network" and isinstance(attr_value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        attr_value = str(attr_value)  # eq/in/contains/regex compare the text
    if op == "empty":
        return attr_value is None or (isinstance(attr_value, str) and not attr_value.strip())
    if op == "eq":
        return attr_value == value
    if attr_value is None:
        return False
    if op == "in":
        return attr_value in _as_list(value)
    if op == "contains":
        text = str(attr_value).lower()
        return any(str(v).lower() in text for v in _as_list(value))
    if op == "regex":
        return re.search(value, str(attr_value)) is not None
    if op == "in_network":
        return any(attr_value.version == _network(c).version and attr_value in _network(c) for c in _as_list(value))
    numeric = {"lt": float.__lt__, "lte": float.__le__, "gt": float.__gt__, "gte": float.__ge__}
    return numeric[op](float(attr_value), float(value))


def _matches(cond: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    if "and" in cond:
        return all(_matches(c, facts) for c in cond["and"])
    if "or" in cond:
        return any(_matches(c, facts) for c in cond["or"])
    result = _leaf(facts.get(cond["attr"]), cond["op"], cond.get("value"))
    return not result if cond.get("negate") else result


def match_rule(
    kind: Literal["open", "click"],
    ip: str | None,
    user_agent: str | None,
    seconds_since_sent: float | None,
    *,
    rules: Sequence[Mapping[str, Any]] | None = None,
) -> Mapping[str, Any] | None:
    """The first rule (``active_rules()`` unless given) that calls this hit
    automated, or None for a person."""
    facts = {
        "ip": _parse_ip(ip),
        "user_agent": user_agent.strip() if isinstance(user_agent, str) else None,
        "seconds_since_sent": seconds_since_sent,
    }
    for rule in validate_rules(rules) if rules is not None else active_rules():
        if kind in rule["applies_to"] and _matches(rule["when"], facts):
            return rule
    return None


def classify_open(
    ip: str | None,
    user_agent: str | None,
    seconds_since_sent: float | None,
    *,
    rules: Sequence[Mapping[str, Any]] | None = None,
) -> str | None:
    """Why this pixel fetch looks automated (the matched rule's reason), or
    None for a person.

    The default rules (``DEFAULT_RULES``, each with its ``source``) are
    best-effort: proxy address ranges and user agents change without notice
    and the lists are not exhaustive. Extend or override them with
    ``settings.TRACKING_PROXY_RULES`` (see ``active_rules``). Pass
    ``seconds_since_sent`` as seconds since our send (None if unknown);
    provider delivery comes later, so this is the safer bound.
    """
    rule = match_rule("open", ip, user_agent, seconds_since_sent, rules=rules)
    return rule["reason"] if rule else None


def classify_click(
    ip: str | None,
    user_agent: str | None,
    seconds_since_sent: float | None,
    *,
    rules: Sequence[Mapping[str, Any]] | None = None,
) -> str | None:
    """As ``classify_open``, for a click: link scanners that name themselves,
    HTTP libraries, and any click within TOO_SOON_SECONDS of sending. A click
    flagged automated should not imply a human open either."""
    rule = match_rule("click", ip, user_agent, seconds_since_sent, rules=rules)
    return rule["reason"] if rule else None


# --- Counting -----------------------------------------------------------------


def should_count(last_counted_at: datetime | None, now: datetime, window: timedelta = timedelta(hours=1)) -> bool:
    """"Repeated opens within an hour count once": count this hit unless one
    was counted less than ``window`` from it. Compared both ways, so a late
    webhook for an earlier hit inside the window is not counted again."""
    if last_counted_at is None:
        return True
    return abs(now - last_counted_at) >= window
