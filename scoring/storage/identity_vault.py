"""The identity vault: pseudonym -> identification code, encrypted under a key of its own.

The operational tables hold only pseudonyms. The bureau, however, must be told whose
default it is, so the code is kept here under AES-GCM with the pseudonym as associated
data (a ciphertext copied onto another row does not decrypt). The key comes from
``INSTALLMENT_IDENTITY_VAULT_KEY_FILE``, never from the database. Codes are decrypted
only by ``IdentityVault.code_for`` while an export file is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.domain.errors import UnavailableError
from scoring.domain.personal_code import parse
from scoring.domain.pseudonym import pseudonymise
from scoring.storage.tables_payment_defaults import IdentityVaultEntry

_NONCE_BYTES = 12


class IdentityVaultError(UnavailableError):
    """The vault cannot give back a code (missing entry or wrong key); names no code."""


def _cipher(key: bytes) -> AESGCM:
    if len(key) not in (16, 24, 32):
        raise IdentityVaultError(
            f"the identity vault key has {len(key)} bytes; AES-GCM needs 16, 24 or 32"
        )
    return AESGCM(key)


def sealed_entries(
    pairs: Iterable[tuple[str, str]], *, vault_key: bytes, now: datetime
) -> list[dict[str, object]]:
    """Vault rows for (code, pseudonym) pairs, ready for a bulk insert."""
    cipher = _cipher(vault_key)
    rows = []
    for code, pseudonym in pairs:
        nonce = os.urandom(_NONCE_BYTES)
        rows.append(
            {
                "pseudonym": pseudonym,
                "nonce": nonce,
                "ciphertext": cipher.encrypt(nonce, code.encode(), pseudonym.encode()),
                "created_at": now,
            }
        )
    return rows


def register_identity(
    *, session: Session, code: str, pseudonym_key: bytes, vault_key: bytes
) -> str:
    """Keep the encrypted code under its pseudonym (once); returns the pseudonym."""
    personal_code = parse(code)
    pseudonym = pseudonymise(personal_code.value, key=pseudonym_key)
    if session.get(IdentityVaultEntry, pseudonym) is None:
        (row,) = sealed_entries(
            [(personal_code.value, pseudonym)], vault_key=vault_key, now=datetime.now(UTC)
        )
        session.add(IdentityVaultEntry(**row))
        session.flush()
    return pseudonym


def pseudonyms_on_file(session: Session, pseudonyms: Iterable[str]) -> frozenset[str]:
    """The subset of ``pseudonyms`` that have a vault entry (no key needed)."""
    wanted = sorted(set(pseudonyms))
    found: set[str] = set()
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        found.update(
            session.scalars(
                select(IdentityVaultEntry.pseudonym).where(IdentityVaultEntry.pseudonym.in_(chunk))
            )
        )
    return frozenset(found)


class IdentityVault:
    """Read access to the vault for one export: which pseudonyms it knows, and their codes."""

    def __init__(self, *, session: Session, key: bytes) -> None:
        self._session = session
        self._cipher = _cipher(key)

    def known(self, pseudonyms: Iterable[str]) -> frozenset[str]:
        """The subset of ``pseudonyms`` that have an entry."""
        return pseudonyms_on_file(self._session, pseudonyms)

    def code_for(self, pseudonym: str) -> str:
        """The identification code behind ``pseudonym``; raises when missing or undecryptable."""
        entry = self._session.get(IdentityVaultEntry, pseudonym)
        if entry is None:
            raise IdentityVaultError(f"no identity vault entry for customer {pseudonym}")
        try:
            plain = self._cipher.decrypt(entry.nonce, entry.ciphertext, pseudonym.encode())
        except InvalidTag:
            raise IdentityVaultError(
                f"the identity vault entry of customer {pseudonym} does not decrypt with this "
                "key; check INSTALLMENT_IDENTITY_VAULT_KEY_FILE"
            ) from None
        return plain.decode()
