"""Proof that a data-subject request comes from the person it is about (GDPR Art. 12(2), (6)).

A channel the engine trusts (a client's identity service: Smart-ID, Mobile-ID, ID card,
a bank link, a person at a desk who saw a document) identifies the person and signs a
short-lived assertion. Its claims bind the personal code, the channel, the method of
identification, the request it allows and the time; this module checks the claims once
the signature has been verified (``scoring.service.subject_proof``).

Standard library only, like the rest of ``scoring.domain``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from scoring.domain.errors import NotAuthenticatedError, NotPermittedError

# What the assertion's ``aud`` claim must say: a token minted for another service is no proof.
AUDIENCE = "installment-decision-engine/subjects"
# An assertion lives at most this long (``exp - iat``); identification is a moment, not a state.
MAX_LIFETIME = timedelta(minutes=5)
# Clocks of the channel and the engine may differ by this much.
CLOCK_SKEW = timedelta(seconds=30)
MAX_ASSERTION_ID = 128
MAX_REPRESENTATION = 200


class SubjectRequestKind(StrEnum):
    ACCESS = "access"
    ERASURE = "erasure"
    OBJECTION = "objection"


class IdentificationMethod(StrEnum):
    """How the channel established who the person is."""

    SMART_ID = "smart-id"
    MOBILE_ID = "mobile-id"
    ID_CARD = "id-card"
    EIDAS = "eidas"
    BANK_LINK = "bank-link"
    IDENTITY_DOCUMENT_IN_PERSON = "identity-document-in-person"


class ProofMissing(NotAuthenticatedError):
    """No identity assertion came with a data-subject request."""

    code = "identity_proof_required"


class ProofInvalid(NotAuthenticatedError):
    """The identity assertion is malformed, unsigned by its channel, expired or used before."""

    code = "identity_proof_invalid"


class ProofNotAccepted(NotPermittedError):
    """The assertion is genuine but does not allow this request by this client."""

    code = "identity_proof_not_accepted"


@dataclass(frozen=True)
class IdentityProof:
    """Who identified the person, how and when; what the audit log records of a request."""

    channel: str
    method: IdentificationMethod
    identified_at: datetime
    expires_at: datetime
    assertion_id: str
    representative: str | None = None

    def audit_details(self) -> dict[str, Any]:
        """The proof as the audit entry keeps it (no personal code: the entry is keyed by it)."""
        return {
            "channel": self.channel,
            "identification_method": self.method.value,
            "identified_at": self.identified_at.isoformat(),
            "assertion_id": self.assertion_id,
            "representative": self.representative,
        }


def _timestamp(claims: Mapping[str, Any], name: str) -> datetime:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProofInvalid(f"the identity assertion's '{name}' claim must be a NumericDate")
    return datetime.fromtimestamp(value, tz=UTC)


def _text(claims: Mapping[str, Any], name: str, *, limit: int) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ProofInvalid(f"the identity assertion's '{name}' claim must be text of 1-{limit}")
    return value


def checked_proof(
    claims: Mapping[str, Any],
    *,
    channel: str,
    personal_code: str,
    request: SubjectRequestKind,
    now: datetime,
) -> IdentityProof:
    """The proof the verified ``claims`` give for ``request`` about ``personal_code``.

    ``ProofInvalid`` (401) when a claim is missing, malformed or out of its time;
    ``ProofNotAccepted`` (403) when the assertion names another person or request.
    No message repeats the personal code.
    """
    identified_at = _timestamp(claims, "iat")
    expires_at = _timestamp(claims, "exp")
    if identified_at > now + CLOCK_SKEW:
        raise ProofInvalid("the identity assertion was issued in the future")
    if expires_at <= identified_at:
        raise ProofInvalid("the identity assertion expires before it was issued")
    if expires_at - identified_at > MAX_LIFETIME:
        minutes = int(MAX_LIFETIME.total_seconds() // 60)
        raise ProofInvalid(f"the identity assertion may live at most {minutes} minutes")
    if expires_at + CLOCK_SKEW <= now:
        raise ProofInvalid("the identity assertion has expired; identify the person again")
    assertion_id = _text(claims, "jti", limit=MAX_ASSERTION_ID)
    method_text = _text(claims, "identification_method", limit=64)
    try:
        method = IdentificationMethod(method_text)
    except ValueError:
        known = ", ".join(m.value for m in IdentificationMethod)
        raise ProofInvalid(f"identification_method must be one of: {known}") from None
    if claims.get("sub") != personal_code:
        raise ProofNotAccepted("the identity assertion is about another person")
    if claims.get("request") != request.value:
        raise ProofNotAccepted(f"the identity assertion does not allow a request of {request}")
    representative = claims.get("representative")
    if representative is not None:
        representative = _text(claims, "representative", limit=MAX_REPRESENTATION)
    return IdentityProof(
        channel=channel,
        method=method,
        identified_at=identified_at,
        expires_at=expires_at,
        assertion_id=assertion_id,
        representative=representative,
    )
