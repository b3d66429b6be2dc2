"""Secrets the engine must read back (webhook signing secrets), sealed at rest.

A webhook's shared secret cannot be hashed like a password: the engine signs every
delivery with it. It is stored sealed with Fernet (``cryptography``'s authenticated
AES-128-CBC with HMAC-SHA256), under a key file of its own
(``INSTALLMENT_WEBHOOK_SECRET_KEY_FILE``, by default ``<home>/secrets/webhook-secrets.key``,
0600, created on first use and refused when others may read it, like the other keys). A
copy of the database alone then gives no secret away. ``SealedString`` seals on write and
opens on read, so repositories and services handle the clear secret only in memory.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from scoring.domain.errors import UnavailableError

PREFIX = "fernet:"


class SealedSecretError(UnavailableError):
    """A sealed secret cannot be opened: the key file is not the one it was sealed with."""

    code = "sealed_secret_error"


class SecretSeal:
    """Seals and opens short secrets with one key file's key."""

    def __init__(self, key: bytes, *, key_file: Path | None = None) -> None:
        # Any key file of 16+ bytes gives Fernet its 32-byte key.
        derived = hashlib.sha256(b"installment webhook secrets\x00" + key).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))
        self._key_file = key_file

    def seal(self, secret: str) -> str:
        return PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        if not sealed.startswith(PREFIX):
            raise SealedSecretError(
                "a webhook secret in the database is not sealed; run `installment db-upgrade`"
            )
        try:
            return self._fernet.decrypt(sealed.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise SealedSecretError(
                f"a webhook secret cannot be opened with the key file {self._key_file}: it "
                "was sealed with another key (set INSTALLMENT_WEBHOOK_SECRET_KEY_FILE to the "
                "key the database was written with)"
            ) from None


_seals: dict[Path, SecretSeal] = {}
_lock = threading.Lock()


def configured_seal() -> SecretSeal:
    """The seal of the configured key file, read (or created) once per process and path."""
    from scoring.config import get_settings, read_or_create_key

    path = get_settings().webhook_secret_key_file
    with _lock:
        seal = _seals.get(path)
        if seal is None:
            seal = _seals[path] = SecretSeal(read_or_create_key(path), key_file=path)
        return seal


class SealedString(TypeDecorator[str]):
    """A column whose text is stored sealed (:class:`SecretSeal`) and read back clear."""

    impl = String(512)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else configured_seal().seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else configured_seal().open(value)
