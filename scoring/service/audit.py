"""The audit log: an append-only, hash-chained record of who did what to which record.

The table and its locking live in ``scoring.storage.audit_log``; these functions are the
service's calls on it and the check that the chain still holds. Call ``append`` as the
last write of a transaction: it holds the audit turn until the transaction ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from scoring.domain.hash_chain import ChainBreak, ChainEntry, verify_chain
from scoring.storage.audit_log import AuditLog, entry_payload
from scoring.storage.tables import AuditLogEntry


def append(
    *,
    session: Session,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    details: Mapping[str, Any] | None = None,
) -> AuditLogEntry:
    """Add one entry at the end of the chain, in the caller's transaction."""
    return AuditLog(session).append(
        at=at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        details=details,
    )


def entries_for(*, session: Session, entity_type: str, entity_id: str) -> list[AuditLogEntry]:
    """The audit trail of one record, oldest first."""
    return AuditLog(session).entries_for(entity_type=entity_type, entity_id=entity_id)


def latest(*, session: Session, entity_type: str, limit: int = 50) -> list[AuditLogEntry]:
    """The newest entries about one kind of record, newest first."""
    return AuditLog(session).latest(entity_type=entity_type, limit=limit)


def verify(*, session: Session) -> list[ChainBreak]:
    """Every place where the stored audit chain does not hold; empty when intact."""
    return verify_chain(
        ChainEntry(
            seq=row.seq,
            canonical_payload=entry_payload(
                at=row.at,
                actor=row.actor,
                action=row.action,
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                details=row.details,
            ),
            prev_hash=row.prev_hash,
            entry_hash=row.hash,
        )
        for row in AuditLog(session).in_order()
    )


def count(*, session: Session) -> int:
    """How many entries the audit log holds."""
    return AuditLog(session).count()
