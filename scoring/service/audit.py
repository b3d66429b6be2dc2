"""The audit log: an append-only, hash-chained record of who did what to which record.

Appends take turns (an advisory lock on PostgreSQL, the database write lock on SQLite)
so the chain never forks, and number entries themselves so a rolled-back transaction
leaves no gap that would look like a removed entry. Call ``append`` as the last write
of a transaction: it holds the lock until the transaction ends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from scoring.domain.hash_chain import (
    GENESIS_HASH,
    ChainBreak,
    ChainEntry,
    canonical_json,
    entry_hash,
    verify_chain,
)
from scoring.storage.tables import AuditLogEntry
from scoring.storage.write_turn import is_postgres, take_write_lock

# Any fixed number distinct from the migration lock: audit appends take turns on it.
_POSTGRES_AUDIT_LOCK = 7_245_101


def _payload(
    *, at: datetime, actor: str, action: str, entity_type: str, entity_id: str, details: Any
) -> str:
    return canonical_json(
        {
            "at": at,
            "actor": actor,
            "action": action,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "details": details,
        }
    )


def _take_turn(session: Session) -> None:
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _POSTGRES_AUDIT_LOCK})
    else:
        take_write_lock(session)


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
    _take_turn(session)
    at = at.astimezone(UTC)
    last = session.execute(
        select(AuditLogEntry.seq, AuditLogEntry.hash).order_by(AuditLogEntry.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
    details = dict(details or {})
    payload = _payload(
        at=at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        details=details,
    )
    entry = AuditLogEntry(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        # Stored as the canonical text parses, so verification re-hashes exactly this.
        details=_json_roundtrip(details),
        prev_hash=prev_hash,
        hash=entry_hash(prev_hash=prev_hash, seq=seq, canonical_payload=payload),
    )
    session.add(entry)
    session.flush()
    return entry


def _json_roundtrip(details: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(canonical_json(details))


def entries_for(*, session: Session, entity_type: str, entity_id: str) -> list[AuditLogEntry]:
    """The audit trail of one record, oldest first."""
    return list(
        session.scalars(
            select(AuditLogEntry)
            .where(AuditLogEntry.entity_type == entity_type, AuditLogEntry.entity_id == entity_id)
            .order_by(AuditLogEntry.seq)
        )
    )


def latest(*, session: Session, entity_type: str, limit: int = 50) -> list[AuditLogEntry]:
    """The newest entries about one kind of record, newest first."""
    return list(
        session.scalars(
            select(AuditLogEntry)
            .where(AuditLogEntry.entity_type == entity_type)
            .order_by(AuditLogEntry.seq.desc())
            .limit(limit)
        )
    )


def verify(*, session: Session) -> list[ChainBreak]:
    """Every place where the stored audit chain does not hold; empty when intact."""
    rows: Sequence[AuditLogEntry] = session.scalars(
        select(AuditLogEntry).order_by(AuditLogEntry.seq)
    ).all()
    return verify_chain(
        ChainEntry(
            seq=row.seq,
            canonical_payload=_payload(
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
        for row in rows
    )


def count(*, session: Session) -> int:
    """How many entries the audit log holds."""
    return session.scalar(select(func.count()).select_from(AuditLogEntry)) or 0
