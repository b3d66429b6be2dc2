"""API keys of machine clients: issued once, stored hashed, scoped, expiring and revocable.

A key reads ``ik_<prefix>_<secret>``. The prefix (12 hex digits) finds the stored row; the
SHA-256 of the whole key proves it. The secret carries 256 bits of randomness, so a fast
hash is enough: nobody can guess a key from its hash, and checking stays cheap per request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from scoring.service.errors import ApiKeyError, AuthenticationFailed, ScopeMissing
from scoring.storage.api_keys import ApiKeyStore
from scoring.storage.db import UnitOfWork
from scoring.storage.tables import ApiClient, ApiKey

KEY_PREFIX = "ik"
DECISIONS_WRITE = "decisions:write"
DECISIONS_READ = "decisions:read"
_SCOPE = re.compile(r"^[a-z][a-z_]*:(read|write|admin)$")
_CLIENT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
_PRESENTED = re.compile(r"^ik_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AuthenticatedClient:
    """The client behind a valid API key, with the key's scopes."""

    client_id: str
    name: str
    scopes: frozenset[str]
    key_prefix: str

    def require(self, scope: str) -> None:
        """Raise ``ScopeMissing`` unless the key holds ``scope``."""
        if scope not in self.scopes:
            raise ScopeMissing(f"this API key lacks the scope {scope}")


@dataclass(frozen=True)
class IssuedKey:
    """A newly created key; ``key`` is shown once and never stored."""

    client_id: str
    prefix: str
    key: str
    scopes: tuple[str, ...]
    expires_at: datetime | None


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def _checked_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    if not cleaned:
        raise ApiKeyError("give at least one scope, e.g. decisions:write", field="scopes")
    bad = [s for s in cleaned if not _SCOPE.match(s)]
    if bad:
        raise ApiKeyError(
            f"scope(s) {', '.join(bad)} are not of the form area:read|write|admin", field="scopes"
        )
    return cleaned


def create_api_key(
    *,
    uow: UnitOfWork,
    client: str,
    scopes: Iterable[str],
    expires_at: datetime | None = None,
    clock: Clock = utc_now,
) -> IssuedKey:
    """Issue a key for ``client`` (created when new) with ``scopes``; the key is returned once."""
    if not _CLIENT_ID.match(client):
        raise ApiKeyError(
            "client must be 2-64 characters of lower-case letters, digits, '-' or '_'",
            field="client",
        )
    checked = _checked_scopes(scopes)
    now = clock()
    if expires_at is not None and expires_at <= now:
        raise ApiKeyError("the expiry lies in the past", field="expires_at")
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with uow:
        registry = uow.api_key_registry
        row = registry.client(client)
        if row is None:
            registry.add_client(ApiClient(id=client, name=client, created_at=now, active=True))
        elif not row.active:
            raise ApiKeyError(f"client {client} is deactivated", field="client")
        registry.add_key(
            ApiKey(
                client_id=client,
                key_prefix=prefix,
                key_hash=hash_key(key),
                scopes=list(checked),
                created_at=now,
                expires_at=expires_at,
                revoked_at=None,
            )
        )
    return IssuedKey(client, prefix, key, checked, expires_at)


def revoke_api_key(*, uow: UnitOfWork, prefix: str, clock: Clock = utc_now) -> str:
    """Revoke the key with ``prefix``; returns its client id. Revoking twice is harmless."""
    with uow:
        row = uow.api_key_registry.key(prefix)
        if row is None:
            raise ApiKeyError(f"no API key has the prefix {prefix!r}", field="prefix")
        if row.revoked_at is None:
            row.revoked_at = clock()
        return row.client_id


def authenticate(
    *, session: Session, presented: str | None, clock: Clock = utc_now
) -> AuthenticatedClient:
    """The client of a presented key; ``AuthenticationFailed`` says what is wrong with it."""
    return authenticate_with(
        api_keys=ApiKeyStore(session.connection()), presented=presented, clock=clock
    )


def authenticate_with(
    *, api_keys: ApiKeyStore, presented: str | None, clock: Clock = utc_now
) -> AuthenticatedClient:
    """:func:`authenticate` through a key repository (the decision path's own connection)."""
    if not presented:
        raise AuthenticationFailed("send the API key as 'Authorization: Bearer <key>'")
    match = _PRESENTED.match(presented)
    if match is None:
        raise AuthenticationFailed("the API key is not valid")
    stored = api_keys.by_prefix(match.group(1))
    if stored is None:
        raise AuthenticationFailed("the API key is not valid")
    key_hash, key_prefix, scopes, revoked_at, expires_at, client_id, name, active = stored
    if not hmac.compare_digest(key_hash, hash_key(presented)):
        raise AuthenticationFailed("the API key is not valid")
    now = clock()
    if revoked_at is not None:
        raise AuthenticationFailed("the API key was revoked")
    if expires_at is not None and expires_at <= now:
        raise AuthenticationFailed("the API key has expired")
    if not active:
        raise AuthenticationFailed("the client of this API key is deactivated")
    return AuthenticatedClient(client_id, name, frozenset(scopes), key_prefix)
