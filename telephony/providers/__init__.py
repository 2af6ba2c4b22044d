"""Telephony/SMS provider adapters (Twilio, Plivo): see ``base``."""
from telephony.providers.base import (
    CALL_STATUSES,
    SMS_STATUSES,
    CallEvent,
    Credentials,
    PayloadError,
    Provider,
    ProviderError,
    SmsEvent,
    get_provider,
)

__all__ = [
    "CALL_STATUSES",
    "SMS_STATUSES",
    "CallEvent",
    "Credentials",
    "PayloadError",
    "Provider",
    "ProviderError",
    "SmsEvent",
    "get_provider",
]
