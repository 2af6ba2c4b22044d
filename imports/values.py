"""Cell values read the way people (and Vtiger) write them.

Each parser takes the cell's text (stripped, never empty: an empty cell is
simply not set) and returns the value, or raises ValueError with the reason
that goes into the error report.

- Dates: ISO (2026-12-07) always; 07-12-2026 / 12/07/2026 month first unless
  the job says ``day_first`` (Vtiger writes dates in the exporting user's
  format, mm-dd-yyyy by default); a day over 12 settles it either way.
- Times without an offset are in the importing user's time zone (a Vtiger
  export shows times in the exporting user's zone).
- Amounts: currency signs and thousands separators are dropped
  ("$1,250.00", "1 250.00").
- References: Vtiger writes a related record as "Accounts::::Grasspods";
  the module part is dropped.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from config.schemas import EARLIEST, LATEST
from crm.models import DealStage
from crm.services import normalize_email, normalize_phone
from config.errors import Invalid
from lists.rows import FORMULA_START
from touchpoints.rules import STATUSES, Direction, Kind

# Kinds a file may hold. Documents, cases and portal visits are written by
# their own records (touchpoints.rules.DERIVED_SOURCES), never imported.
IMPORTABLE_KINDS = (Kind.EVENT, Kind.PHONE_CALL, Kind.EMAIL, Kind.EMAIL_CAMPAIGN, Kind.SMS, Kind.CHAT, Kind.NOTE)
# (kind, event_type) by a kind cell's normalized words: ours, their labels,
# and Vtiger's activity types (a Vtiger "Call" is a calendar event).
KIND_WORDS: dict[str, tuple[str, str | None]] = {
    **{k.replace("_", " "): (k, None) for k in IMPORTABLE_KINDS},
    "meeting": (Kind.EVENT, "meeting"),
    "call": (Kind.EVENT, "call"),
    "onsite meeting": (Kind.EVENT, "onsite_meeting"),
    "onsite service": (Kind.EVENT, "onsite_service"),
    "phone": (Kind.PHONE_CALL, None),
    "e mail": (Kind.EMAIL, None),
    "campaign": (Kind.EMAIL_CAMPAIGN, None),
    "text": (Kind.SMS, None),
    "text message": (Kind.SMS, None),
}
STAGE_WORDS: dict[str, str] = {
    **{s.value.replace("_", " "): s.value for s in DealStage},
    # Vtiger's sales stages, folded into ours.
    "needs analysis": DealStage.QUALIFICATION,
    "value proposition": DealStage.QUALIFICATION,
    "id decision makers": DealStage.QUALIFICATION,
    "identify decision makers": DealStage.QUALIFICATION,
    "perception analysis": DealStage.PROPOSAL,
    "proposal price quote": DealStage.PROPOSAL,
    "negotiation review": DealStage.NEGOTIATION,
    "won": DealStage.CLOSED_WON,
    "lost": DealStage.CLOSED_LOST,
}
_WORDS = re.compile(r"[^0-9a-z]+")
# The API's dates (config.schemas): an imported row holds what a request could.
MIN_DATE, MAX_DATE = EARLIEST.date(), (LATEST - timedelta(days=1)).date()
_NUMERIC_DATE = re.compile(r"^(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})$")
_AMOUNT_JUNK = re.compile(r"[\s,'$€£¥]|[A-Z]{3}")


def unguard(value: str) -> str:
    """A cell as it was before an export guarded it: our CSV export (and
    other tools) put an apostrophe before text a spreadsheet would run as a
    formula (``'=1+1``, ``'+1 202 555 0143``, ``'-CTO``); read back, the
    apostrophe is not part of the value."""
    return value[1:] if value[:1] == "'" and value[1:2] and value[1:2] in FORMULA_START else value


def _check_day(day: date, value: str) -> date:
    # The years the API takes (1900-2199, by the wall clock): year 1 or 9999
    # in a spreadsheet is a typo, and outside them a moment may not exist in
    # UTC (9999-12-31 23:59 -01:00 is in year 10000).
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueError(f"{value!r} is not a date from {MIN_DATE} to {MAX_DATE}")
    return day


def words(value: str) -> str:
    return _WORDS.sub(" ", value.lower()).strip()


def text(limit: int):
    def parse(value: str, options: dict) -> str:
        if len(value) > limit:
            raise ValueError(f"longer than {limit} characters")
        return value

    return parse


def long_text(value: str, options: dict) -> str:
    return value


def external_id(value: str, options: dict) -> str:
    return text(100)(value, options)


def email(value: str, options: dict) -> str:
    try:
        return normalize_email(value, ())
    except Invalid as exc:
        raise ValueError(exc.errors[0]["msg"]) from exc


def phone(value: str, options: dict) -> str:
    try:
        return normalize_phone(value, ())
    except Invalid as exc:
        raise ValueError(exc.errors[0]["msg"]) from exc


def reference(value: str, options: dict) -> tuple[str | None, str]:
    """(module, name) of a related record: Vtiger writes "Accounts::::Grasspods"."""
    module, sep, name = value.partition("::::")
    if not sep:
        return None, value
    if not name.strip():
        raise ValueError(f"{value!r} names no record")
    return module.strip(), name.strip()


def parse_date(value: str, options: dict) -> date:
    try:
        day = date.fromisoformat(value[:10]) if len(value) >= 10 and value[4] == "-" else _numeric_date(value, options)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD{', DD-MM-YYYY' if options.get('day_first') else ', MM-DD-YYYY'})") from exc
    return _check_day(day, value)


def _numeric_date(value: str, options: dict) -> date:
    match = _NUMERIC_DATE.match(value)
    if not match:
        raise ValueError(value)
    a, b, c = (int(x) for x in match.groups())
    if len(match.group(1)) == 4:
        return date(a, b, c)
    year = c + 2000 if c < 100 else c
    first, second = (b, a) if options.get("day_first") else (a, b)  # (month, day)
    if first > 12 and second <= 12:  # only one reading is a date
        first, second = second, first
    return date(year, first, second)


def parse_datetime(value: str, options: dict) -> datetime:
    zone = ZoneInfo(options.get("time_zone") or "UTC")
    try:
        parsed = datetime.fromisoformat(value.replace(" UTC", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None:
        day, _, clock = value.partition(" ")
        try:
            moment = time.fromisoformat(clock.strip()) if clock.strip() else time(0, 0)
        except ValueError:
            moment = _twelve_hour(clock.strip(), value)
        try:
            parsed = datetime.combine(parse_date(day, options), moment)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a date and time (ISO 8601, e.g. 2026-12-07 14:30 or 2026-12-07T14:30:00+01:00)") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    _check_day(parsed.date(), value)
    return parsed


def _twelve_hour(clock: str, value: str) -> time:
    for fmt in ("%I:%M %p", "%I:%M:%S %p", "%I:%M%p"):
        try:
            return datetime.strptime(clock.upper(), fmt).time()
        except ValueError:
            continue
    raise ValueError(f"{value!r} is not a date and time")


def amount(value: str, options: dict) -> Decimal:
    cleaned = _AMOUNT_JUNK.sub("", value)
    try:
        number = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not an amount") from exc
    if not number.is_finite() or abs(number) >= Decimal("1e12"):
        raise ValueError(f"{value!r} is not an amount this CRM holds (at most 12 digits before the point)")
    return number.quantize(Decimal("0.01"))


def duration(value: str, options: dict) -> int:
    """Seconds, or h:mm:ss / mm:ss."""
    try:
        parts = [int(p) for p in value.split(":")]
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a duration (seconds, or h:mm:ss)") from exc
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + part
    if len(parts) > 3 or seconds < 0 or seconds > 7 * 24 * 3600:
        raise ValueError(f"{value!r} is not a duration between 0 and 7 days")
    return seconds


def kind(value: str, options: dict) -> tuple[str, str | None]:
    found = KIND_WORDS.get(words(value))
    if found is None:
        raise ValueError(f"{value!r} is not a kind that can be imported; use one of {', '.join(IMPORTABLE_KINDS)} (or Call, Meeting)")
    return found


def status(value: str, options: dict) -> str:
    return words(value).replace(" ", "_")  # checked against the kind by touchpoints.services


def direction(value: str, options: dict) -> str:
    found = {"inbound": Direction.INBOUND, "in": Direction.INBOUND, "incoming": Direction.INBOUND, "outbound": Direction.OUTBOUND, "out": Direction.OUTBOUND, "outgoing": Direction.OUTBOUND}.get(words(value))
    if found is None:
        raise ValueError(f"{value!r} is not a direction (inbound or outbound)")
    return found


def stage(value: str, options: dict) -> str:
    found = STAGE_WORDS.get(words(value))
    if found is None:
        raise ValueError(f"{value!r} is not a deal stage; use one of {', '.join(s.label for s in DealStage)}")
    return found


def owner(value: str, options: dict) -> str:
    return value  # resolved to a user by imports.writers, once per distinct value


PARSERS = {
    "text32": text(32),
    "text100": text(100),
    "text200": text(200),
    "text255": text(255),
    "long_text": long_text,
    "external_id": external_id,
    "email": email,
    "phone": phone,
    "reference": reference,
    "date": parse_date,
    "datetime": parse_datetime,
    "amount": amount,
    "duration": duration,
    "kind": kind,
    "status": status,
    "direction": direction,
    "stage": stage,
    "owner": owner,
}
assert all(s in STATUSES for s in IMPORTABLE_KINDS)
