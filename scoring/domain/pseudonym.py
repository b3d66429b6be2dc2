"""Keyed pseudonyms of personal identification codes: the only form in which a person is stored.

HMAC-SHA256 under a secret key, so the same person always gets the same pseudonym
(history can be joined) while nobody without the key can go back from a pseudonym
to the code, not even by hashing all of the few hundred million possible codes.
"""

from __future__ import annotations

import hashlib
import hmac

from scoring.domain import personal_code

MIN_KEY_BYTES = 16


def pseudonymise(code: str, *, key: bytes) -> str:
    """The hex HMAC-SHA256 pseudonym of a valid personal code; raises ``InvalidPersonalCode``."""
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"pseudonym key must hold at least {MIN_KEY_BYTES} bytes")
    valid = personal_code.parse(code)
    return hmac.new(key, valid.value.encode("ascii"), hashlib.sha256).hexdigest()
