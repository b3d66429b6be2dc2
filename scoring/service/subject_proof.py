"""Who may make a data-subject request: registered identity channels, signed assertions, throttles.

A client (the sales or self-service system) registers the public key of each channel that
identifies people for it (``installment subject-channel add``). For every request the
channel signs a short-lived JWT (EdDSA or ES256) binding the personal code (``sub``), the
request (``request``), the method of identification and the time; the engine verifies it
with the channel's key, accepts it only from the client that registered the channel, and
spends it once. Requests are counted per client and per person before anything is read.
The flow for integrators: ``docs/data-subject-requests.md``.

PyJWT verifies the signature, the audience and the issuer: a well-kept implementation of
RFC 7519 whose algorithm list is fixed per channel, so "none" or an HMAC made with the
public key as the secret cannot pass.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from sqlalchemy.orm import Session, sessionmaker

from scoring.domain.errors import (
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
    RateLimitedError,
)
from scoring.domain.identity_proof import (
    AUDIENCE,
    MAX_LIFETIME,
    IdentificationMethod,
    IdentityProof,
    ProofInvalid,
    ProofMissing,
    ProofNotAccepted,
    SubjectRequestKind,
    checked_proof,
)
from scoring.domain.permissions import Actor, may_enter_subject_requests
from scoring.domain.personal_code import parse as parse_personal_code
from scoring.service.errors import ServiceError
from scoring.storage.db import UnitOfWork
from scoring.storage.subject_proofs import (
    SubjectChannelRegistry,
    count_request,
    spend_assertion,
)
from scoring.storage.tables_privacy import SubjectChannel

_CHANNEL_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
MAX_ASSERTION_CHARS = 4096
CLIENT_WINDOW = timedelta(hours=1)
PERSON_WINDOW = timedelta(days=1)


class ChannelError(ServiceError, InvalidInputError):
    """A channel cannot be registered or changed as asked."""

    code = "subject_channel_error"


class ChannelNotFound(ServiceError, NotFoundError):
    """No identity channel has that id."""

    code = "subject_channel_not_found"


class SubjectRequestsThrottled(ServiceError, RateLimitedError):
    """Too many data-subject requests from one client, or about one person, in the window."""

    code = "subject_requests_throttled"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


@dataclass(frozen=True)
class Requester:
    """Who asks for a data-subject request and the evidence of the person's identity.

    ``actor`` names the acting client (``client:<id>``) or operator in the audit log;
    ``evidence`` is what the audit entry keeps about the identification.
    """

    actor: str
    evidence: Mapping[str, Any]


@dataclass(frozen=True)
class ChannelView:
    """A registered channel as operators see it (the key's algorithm, not the key)."""

    id: str
    client_id: str
    algorithm: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class SubjectLimits:
    """How many requests one client may send per hour, and one person may be named per day."""

    per_client_hour: int
    per_person_day: int


def _view(row: SubjectChannel) -> ChannelView:
    return ChannelView(row.id, row.client_id, row.algorithm, row.created_at, row.revoked_at)


def _algorithm_of(public_key_pem: str) -> str:
    if "PRIVATE KEY" in public_key_pem:
        raise ChannelError(
            "this is a private key: register the channel's public key only, and keep the "
            "private key with the channel",
            field="public_key",
        )
    try:
        key = load_pem_public_key(public_key_pem.encode())
    except (ValueError, TypeError):
        raise ChannelError("the public key is not a PEM public key", field="public_key") from None
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise ChannelError(
        "the public key must be Ed25519 (EdDSA) or EC P-256 (ES256)", field="public_key"
    )


def register_channel(
    *, uow: UnitOfWork, channel_id: str, client_id: str, public_key_pem: str, now: datetime
) -> ChannelView:
    """Register ``client_id``'s identity channel with its public key; audited."""
    if not _CHANNEL_ID.match(channel_id):
        raise ChannelError(
            "the channel id must be 2-64 characters of lower-case letters, digits, '.', '-' or '_'",
            field="channel",
        )
    algorithm = _algorithm_of(public_key_pem)
    with uow:
        client = uow.api_key_registry.client(client_id)
        if client is None or not client.active:
            raise ChannelError(f"no active API client is called {client_id!r}", field="client")
        if uow.subject_channels.channel(channel_id) is not None:
            raise ChannelError(f"a channel {channel_id!r} is registered already", field="channel")
        row = SubjectChannel(
            id=channel_id,
            client_id=client_id,
            public_key_pem=public_key_pem.strip() + "\n",
            algorithm=algorithm,
            created_at=now,
            revoked_at=None,
        )
        uow.subject_channels.add(row)
        uow.session.flush()
        uow.audit_log.append(
            at=now,
            actor="operator",
            action="subject_channel.registered",
            entity_type="subject_channel",
            entity_id=channel_id,
            details={"client": client_id, "algorithm": algorithm},
        )
        return _view(row)


def revoke_channel(*, uow: UnitOfWork, channel_id: str, now: datetime) -> ChannelView:
    """Stop accepting the channel's assertions from now on; audited. Revoking twice is harmless."""
    with uow:
        row = uow.subject_channels.channel(channel_id)
        if row is None:
            raise ChannelNotFound(f"no identity channel is called {channel_id!r}")
        if row.revoked_at is None:
            row.revoked_at = now
            uow.session.flush()
            uow.audit_log.append(
                at=now,
                actor="operator",
                action="subject_channel.revoked",
                entity_type="subject_channel",
                entity_id=channel_id,
                details={"client": row.client_id},
            )
        return _view(row)


def list_channels(*, uow: UnitOfWork) -> list[ChannelView]:
    """Every registered channel, revoked ones included."""
    with uow:
        return [_view(row) for row in uow.subject_channels.all()]


def _window_start(now: datetime, window: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=now.tzinfo)
    return now - (now - epoch) % window


def _count(
    sessions: sessionmaker[Session], *, key: str, now: datetime, window: timedelta, limit: int,
    message: str,
) -> None:  # fmt: skip
    start = _window_start(now, window)
    with sessions() as session:
        counted = count_request(session, key=key, window_started_at=start)
    if counted > limit:
        retry_after = math.ceil((start + window - now).total_seconds())
        raise SubjectRequestsThrottled(message, retry_after=retry_after)


def _unverified_issuer(assertion: str) -> str:
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise ProofInvalid("the identity assertion is not a signed JWT") from None
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise ProofInvalid("the identity assertion names no channel in its 'iss' claim")
    return issuer


def prove(
    *,
    sessions: sessionmaker[Session],
    client_id: str,
    assertion: str | None,
    personal_code: str,
    pseudonym: str,
    request: SubjectRequestKind,
    limits: SubjectLimits,
    now: datetime,
) -> Requester:
    """The requester of a proven request, or the refusal: 429, 401 or 403; nothing read yet.

    Every attempt counts against the client; a proven one also against the person.
    """
    _count(sessions, key=f"subjects:client:{client_id}", now=now, window=CLIENT_WINDOW,
           limit=limits.per_client_hour,
           message=f"more than {limits.per_client_hour} data-subject requests from this client "
           "in an hour")  # fmt: skip
    if not assertion:
        raise ProofMissing(
            "a data-subject request needs the person's identity proven: send an "
            "identity_assertion signed by one of your registered channels"
        )
    if len(assertion) > MAX_ASSERTION_CHARS:
        raise ProofInvalid(
            f"the identity assertion is longer than {MAX_ASSERTION_CHARS} characters"
        )
    channel_id = _unverified_issuer(assertion)
    with sessions() as session:
        channel = SubjectChannelRegistry(session).channel(channel_id)
        if channel is not None:
            session.expunge(channel)
    if channel is None:
        raise ProofInvalid("the identity assertion's channel is not registered")
    if channel.revoked_at is not None and channel.revoked_at <= now:
        raise ProofInvalid("the identity assertion's channel was revoked")
    if channel.client_id != client_id:
        raise ProofNotAccepted("the identity assertion's channel is registered to another client")
    try:
        claims = jwt.decode(
            assertion,
            key=channel.public_key_pem,
            algorithms=[channel.algorithm],
            audience=AUDIENCE,
            issuer=channel.id,
            # The times are checked against the engine's clock in ``checked_proof``.
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                     "require": ["iss", "aud", "sub", "iat", "exp", "jti"]},
        )  # fmt: skip
    except jwt.InvalidTokenError as error:
        raise ProofInvalid(f"the identity assertion is not valid: {_reason(error)}") from None
    proof = checked_proof(
        claims, channel=channel.id, personal_code=personal_code, request=request, now=now
    )
    _count(sessions, key=f"subjects:person:{pseudonym}", now=now, window=PERSON_WINDOW,
           limit=limits.per_person_day,
           message=f"more than {limits.per_person_day} data-subject requests about this person "
           "in a day")  # fmt: skip
    with sessions() as session:
        spent = spend_assertion(
            session,
            channel_id=channel.id,
            assertion_id=proof.assertion_id,
            expires_at=proof.expires_at,
            now=now,
        )
    if not spent:
        raise ProofInvalid("the identity assertion was used before; each proves one request")
    return requester_of(client_id, proof)


def requester_of(client_id: str, proof: IdentityProof) -> Requester:
    """The acting client and its channel's proof, as the audit log names them."""
    return Requester(actor=f"client:{client_id}", evidence=proof.audit_details())


def operator_requester(
    *, operator: str, method: IdentificationMethod, note: str | None
) -> Requester:
    """A request an operator entered after identifying the person themselves (the CLI)."""
    evidence: dict[str, Any] = {"channel": "operator", "identification_method": method.value}
    if note:
        evidence["note"] = note
    return Requester(actor=f"operator:{operator}", evidence=evidence)


class NotTheOfficer(ServiceError, NotPermittedError):
    """Only the data-protection officer's role enters data-subject requests in the UI."""

    code = "not_the_data_protection_officer"


MAX_OFFICER_NOTE = 200


def officer_requester(*, actor: Actor, method: IdentificationMethod, note: str | None) -> Requester:
    """A request the data-protection officer entered after identifying the person (the UI).

    The audit entry names the officer (``user:<username>``) and how the person was
    identified; the note (a document number's last digits, a letter's date) is optional.
    """
    if not may_enter_subject_requests(actor):
        raise NotTheOfficer(
            "Only the data-protection officer enters data-subject requests; ask them, or "
            "have the person use a client's identified channel."
        )
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_OFFICER_NOTE:
        raise ChannelError(f"the note may hold at most {MAX_OFFICER_NOTE} characters", field="note")
    evidence: dict[str, Any] = {
        "channel": "data-protection-officer",
        "identification_method": method.value,
    }
    if note:
        evidence["note"] = note
    return Requester(actor=actor.label, evidence=evidence)


# -- the channel's side: keys and signed assertions ------------------------------------------


def new_channel_key() -> tuple[str, str]:
    """A new Ed25519 key pair for a channel: ``(private PEM, public PEM)``."""
    private = ed25519.Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    public_pem = (
        private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    )
    return private_pem, public_pem


def signed_assertion(
    *,
    private_key_pem: str,
    channel_id: str,
    personal_code: str,
    request: SubjectRequestKind,
    method: IdentificationMethod,
    now: datetime,
    lifetime: timedelta = timedelta(minutes=2),
) -> str:
    """What a channel sends after identifying the person: a short-lived signed assertion.

    For a channel built on this product's command line (``installment subject assert``),
    and the demo's identity desk; a client's own identity service signs the same claims.
    """
    parse_personal_code(personal_code)  # a code the engine would refuse is refused here
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise ChannelError(
            f"an assertion lives at most {int(MAX_LIFETIME.total_seconds() // 60)} minutes",
            field="lifetime",
        )
    try:
        key = load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ChannelError(
            "the channel key is not an unencrypted PEM private key", field="key"
        ) from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        algorithm = "EdDSA"
    elif isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        algorithm = "ES256"
    else:
        raise ChannelError("the channel key must be Ed25519 or EC P-256", field="key")
    claims = {
        "iss": channel_id,
        "aud": AUDIENCE,
        "sub": personal_code,
        "request": request.value,
        "identification_method": method.value,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=algorithm)


def _reason(error: jwt.InvalidTokenError) -> str:
    """PyJWT's reason in a few words; its messages name claims, never their values."""
    if isinstance(error, jwt.InvalidSignatureError):
        return "the signature does not match the channel's key"
    if isinstance(error, jwt.InvalidAudienceError):
        return f"its audience must be {AUDIENCE}"
    if isinstance(error, jwt.InvalidIssuerError):
        return "its issuer is not the channel"
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"the '{error.claim}' claim is missing"
    if isinstance(error, jwt.InvalidAlgorithmError):
        return "it is signed with an algorithm other than the channel's"
    return "it cannot be decoded"
