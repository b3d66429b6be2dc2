"""A client's identity channel for tests: its key pair, registration and signed assertions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from scoring.domain.identity_proof import AUDIENCE
from scoring.service.api_keys import create_api_key
from scoring.service.subject_proof import register_channel
from scoring.storage.db import UnitOfWork


@dataclass
class Channel:
    """A registered channel of ``client`` and the private key only the channel holds."""

    id: str
    client: str
    private_key: Any
    algorithm: str

    def assertion(
        self,
        code: str,
        request: str,
        *,
        now: datetime,
        lifetime: timedelta = timedelta(minutes=2),
        method: str = "smart-id",
        **claims: Any,
    ) -> str:
        """A signed assertion that the channel identified ``code`` for ``request`` at ``now``."""
        body: dict[str, Any] = {
            "iss": self.id,
            "aud": AUDIENCE,
            "sub": code,
            "request": request,
            "identification_method": method,
            "iat": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, self.private_key, algorithm=self.algorithm)


def public_pem(private_key: Any) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def new_channel(
    engine, channel_id: str, client: str, *, now: datetime, curve: str = "ed25519"
) -> Channel:  # type: ignore[no-untyped-def]
    """Register a new channel (and its client, when new) on ``engine``."""
    if curve == "ed25519":
        private: Any = ed25519.Ed25519PrivateKey.generate()
        algorithm = "EdDSA"
    else:
        private = ec.generate_private_key(ec.SECP256R1())
        algorithm = "ES256"
    uow = UnitOfWork.for_engine(engine)
    with uow:
        known = uow.api_key_registry.client(client) is not None
    if not known:
        create_api_key(uow=UnitOfWork.for_engine(engine), client=client, scopes=["subjects:write"])
    register_channel(
        uow=UnitOfWork.for_engine(engine),
        channel_id=channel_id,
        client_id=client,
        public_key_pem=public_pem(private),
        now=now - timedelta(days=1),
    )
    return Channel(channel_id, client, private, algorithm)
