"""Identifiers the engine hands out.

Decision ids are version 7 UUIDs (RFC 9562): the first 48 bits are the Unix time in
milliseconds, the other 74 are random. They are as unguessable as version 4 ids for
anyone without the time of the decision (which its answer states anyway), and they sort
by creation: every index keyed by a decision id (the decision's own, its inputs', the
log's) then grows at its right-hand edge, where a version 4 id lands on a random page of
an index that may not be in memory, and makes that page be read and written again.
"""

from __future__ import annotations

import os
import time
import uuid

_MS_BITS = 48
_VERSION = 7
_VARIANT = 0b10


def time_ordered_uuid(*, unix_ms: int | None = None) -> uuid.UUID:
    """A version 7 UUID for now (or for ``unix_ms``, milliseconds since 1970)."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
    if not 0 <= ms < 1 << _MS_BITS:
        raise ValueError(f"{ms} ms since 1970 does not fit the 48 bits of a version 7 UUID")
    random_bits = int.from_bytes(os.urandom(10), "big")
    rand_a = random_bits >> 68  # 12 bits
    rand_b = random_bits & ((1 << 62) - 1)  # 62 bits
    value = ms << 80 | _VERSION << 76 | rand_a << 64 | _VARIANT << 62 | rand_b
    return uuid.UUID(int=value)
