"""Secrets at rest (mailbox passwords, telephony auth tokens): Fernet (AES-128-CBC + HMAC-SHA256) from the
``cryptography`` package, never a home-made cipher.

Keys: CREDENTIALS_KEYS (comma-separated Fernet keys, newest first, so a
rotation keeps old rows readable: MultiFernet decrypts with any, encrypts
with the first). Without it, one key is derived from SECRET_KEY with HKDF,
so a first run needs no configuration; changing SECRET_KEY then makes
stored passwords unreadable, which the mailbox page reports as "re-enter
the password" instead of failing the sync silently.
"""
from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class CredentialsUnreadable(Exception):
    pass


@cache
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if keys:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"touchpoints-credentials", info=b"mailbox-passwords").derive(
        secret_key.encode()
    )
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.CREDENTIALS_KEYS), settings.SECRET_KEY)


def encrypt(plain: str) -> str:
    return _current().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise CredentialsUnreadable("the stored password cannot be decrypted with the current keys: enter it again") from exc
