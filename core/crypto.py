"""Secrets at rest: a Fernet keyring from the environment, with rotation.

``FG_ENCRYPTION_KEYS`` lists keys newest first. New values are encrypted with the newest; every
listed key can decrypt, so a key is added at the front, ``rotate_encryption_keys`` re-encrypts
every row, and only then is the old key dropped.
"""

from __future__ import annotations

import functools
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.crypto import salted_hmac


@functools.lru_cache(maxsize=4)
def _keyring(keys: tuple[str, ...]) -> MultiFernet:
    if not keys or not all(keys):
        raise ImproperlyConfigured("FG_ENCRYPTION_KEYS must list at least one Fernet key")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"FG_ENCRYPTION_KEYS holds an invalid key: {exc}") from exc


def keyring() -> MultiFernet:
    # Read on each use (cached per key list) so a settings override takes effect.
    return _keyring(tuple(settings.FG_ENCRYPTION_KEYS))


def encrypt(plain: str) -> str:
    return keyring().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return keyring().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with any key in FG_ENCRYPTION_KEYS"
        ) from exc


def is_current(token: str) -> bool:
    """True when the value is already encrypted under the newest key."""
    newest = Fernet(settings.FG_ENCRYPTION_KEYS[0].encode())
    try:
        newest.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def secret_fingerprint(value: str | None, *, purpose: str = "focus-token") -> str:
    """A keyed, deterministic digest of a secret, so equal secrets can be found by a query.

    Fernet ciphertext differs on every write, so encrypted columns cannot be compared; this can.
    Keyed (HMAC-SHA256 under a key derived from SECRET_KEY) so a database dump alone cannot
    confirm a guessed token. Rotating DJANGO_SECRET_KEY changes every fingerprint: they must be
    recomputed then (each row's ``save()`` does it).
    """
    if not value:
        return ""
    return salted_hmac(f"fiscal-gateway.{purpose}", value, algorithm="sha256").hexdigest()


def mask_secret(value: str | None) -> str:
    """What may be shown of a secret: its last four characters at most."""
    if not value:
        return ""
    if len(value) <= 8:
        return "••••"
    return "••••" + value[-4:]


class EncryptedTextField(models.TextField):
    """A text column holding Fernet ciphertext; Python code sees the plain value.

    Empty strings are stored empty (not encrypted) so "no token" stays visible to queries.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
