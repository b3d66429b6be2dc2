"""Append-only hash chains for the decision log and the audit log.

Each entry's hash covers its canonical payload and the previous entry's hash, so
changing, removing or reordering any entry breaks every hash after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

GENESIS_HASH = "0" * 64


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot put a {type(value).__name__} into a log entry")


def canonical_json(payload: Mapping[str, Any]) -> str:
    """Stable JSON text: sorted keys, no spaces, ISO dates; equal payloads give equal text."""
    return json.dumps(
        payload,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=_default,
        allow_nan=False,
    )


def entry_hash(*, prev_hash: str, seq: int, canonical_payload: str) -> str:
    """SHA-256 over the previous hash, the sequence number and the canonical payload."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode())
    digest.update(b"\n")
    digest.update(str(seq).encode())
    digest.update(b"\n")
    digest.update(canonical_payload.encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class ChainEntry:
    seq: int
    canonical_payload: str
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


def verify_chain(entries: Iterable[ChainEntry]) -> list[ChainBreak]:
    """Every place where the chain does not hold, in order; empty when it is intact."""
    breaks: list[ChainBreak] = []
    expected_prev = GENESIS_HASH
    expected_seq: int | None = None
    for entry in entries:
        if expected_seq is not None and entry.seq != expected_seq:
            breaks.append(
                ChainBreak(entry.seq, f"entries {expected_seq}..{entry.seq - 1} are missing")
            )
        if entry.prev_hash != expected_prev:
            breaks.append(ChainBreak(entry.seq, "does not link to the entry before it"))
        recomputed = entry_hash(
            prev_hash=entry.prev_hash, seq=entry.seq, canonical_payload=entry.canonical_payload
        )
        if recomputed != entry.entry_hash:
            breaks.append(ChainBreak(entry.seq, "content differs from what was hashed"))
        expected_prev = entry.entry_hash
        expected_seq = entry.seq + 1
    return breaks
