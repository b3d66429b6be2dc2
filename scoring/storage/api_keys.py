"""API keys in storage: found by prefix on every request, issued and revoked by operators.

``ApiKeyStore`` reads on the decision path's own connection; ``ApiKeyRegistry`` issues and
revokes keys in a unit of work's session.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from scoring.storage.prepared import Prepared
from scoring.storage.tables import ApiClient, ApiKey, table_of


class StoredKey(NamedTuple):
    """A key's stored hash, scopes and validity with its client's id, name and status."""

    key_hash: str
    key_prefix: str
    scopes: list[str]
    revoked_at: datetime | None
    expires_at: datetime | None
    client_id: str
    name: str
    active: bool


class ApiKeyStore:
    """API keys as read on ``connection`` (its transaction, or none under ``autocommit``)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def by_prefix(self, prefix: str) -> StoredKey | None:
        """The key with this unique prefix and its client, or None.

        One indexed lookup read as plain columns (no ORM objects): it runs on every request,
        and reading it each time makes a revocation count at once.
        """
        row = _KEY_BY_PREFIX.first(self._connection, {"prefix": prefix})
        return None if row is None else StoredKey(*row)


class ApiKeyRegistry:
    """Clients and their keys as ORM rows, changed in the session's transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def client(self, client_id: str) -> ApiClient | None:
        """The client with this id, or None."""
        return self._session.get(ApiClient, client_id)

    def add_client(self, client: ApiClient) -> None:
        """Store a new client."""
        self._session.add(client)

    def add_key(self, key: ApiKey) -> None:
        """Store a newly issued key (its hash, never the key)."""
        self._session.add(key)

    def key(self, prefix: str) -> ApiKey | None:
        """The key with this prefix, or None."""
        return self._session.scalar(select(ApiKey).where(ApiKey.key_prefix == prefix))


_KEYS = table_of(ApiKey)
_CLIENTS = table_of(ApiClient)
_KEY_BY_PREFIX = Prepared(
    select(
        _KEYS.c.key_hash, _KEYS.c.key_prefix, _KEYS.c.scopes, _KEYS.c.revoked_at,
        _KEYS.c.expires_at, _CLIENTS.c.id.label("client_id"), _CLIENTS.c.name, _CLIENTS.c.active,
    )
    .join(_CLIENTS, _CLIENTS.c.id == _KEYS.c.client_id)
    .where(_KEYS.c.key_prefix == bindparam("prefix"))
)  # fmt: skip
