"""The data-subject routes by credential, across two clients: who may read or change a file.

Each of ``/v1/subjects/access|erasure|objection`` is tried with no key, a key without the
scope, an expired key, a revoked key and a valid key; and with the valid key, without
proof, with another client's channel's proof and with the client's own. Only the last one
is answered; every other answer discloses nothing and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from privacy.identity_channels import new_channel
from sqlalchemy import func, select

from scoring.domain.pseudonym import pseudonymise
from scoring.service.api_keys import create_api_key, revoke_api_key
from scoring.storage import tables as t
from scoring.storage.db import UnitOfWork

CODE = "38001085718"
PATHS = ["access", "erasure", "objection"]

# (credential, proof) -> (status, error code); None: answered.
TABLE = {
    ("none", "own"): (401, "unauthenticated"),
    ("wrong-scope", "own"): (403, "forbidden"),
    ("expired", "own"): (401, "unauthenticated"),
    ("revoked", "own"): (401, "unauthenticated"),
    ("valid", "none"): (401, "identity_proof_required"),
    ("valid", "other-client"): (403, "identity_proof_not_accepted"),
    ("valid", "own"): None,
}


@pytest.fixture
def person(runtime) -> None:  # type: ignore[no-untyped-def]
    with runtime.sessions() as session, session.begin():
        session.add(t.Customer(pseudonym=pseudonymise(CODE, key=runtime.pseudonym_key)))


def _key(runtime, client: str, scopes: list[str], **kwargs) -> str:  # type: ignore[no-untyped-def]
    return create_api_key(uow=UnitOfWork(runtime.sessions), client=client, scopes=scopes,
                          clock=runtime.clock, **kwargs).key  # fmt: skip


def _headers(runtime, credential: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    if credential == "none":
        return {}
    if credential == "wrong-scope":
        return {"Authorization": f"Bearer {_key(runtime, 'shop', ['decisions:write'])}"}
    if credential == "expired":
        key = _key(runtime, "shop", ["subjects:write"],
                   expires_at=runtime.clock.now + timedelta(seconds=1))  # fmt: skip
        runtime.clock.now += timedelta(seconds=2)
        return {"Authorization": f"Bearer {key}"}
    key = _key(runtime, "shop", ["subjects:write"])
    if credential == "revoked":
        revoke_api_key(uow=UnitOfWork(runtime.sessions), prefix=key.split("_")[1],
                       clock=runtime.clock)  # fmt: skip
    return {"Authorization": f"Bearer {key}"}


def _untouched(runtime) -> tuple[int, int, object]:  # type: ignore[no-untyped-def]
    with runtime.sessions() as session:
        subject_entries = session.scalar(
            select(func.count()).select_from(t.AuditLogEntry)
            .where(t.AuditLogEntry.entity_type == "data_subject")
        )  # fmt: skip
        customers = session.scalar(select(func.count()).select_from(t.Customer))
        objected = session.scalar(select(t.Customer.objected_to_profiling_at))
    return subject_entries or 0, customers or 0, objected


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("credential", "proof"), sorted(TABLE), ids="-".join)
def test_the_subject_routes_by_credential_and_proof(api, runtime, person, path, credential,
                                                     proof):  # fmt: skip
    now = runtime.clock.now
    shop = new_channel(runtime.engine, "shop-smartid", "shop", now=now)
    other = new_channel(runtime.engine, "selfservice-idcard", "selfservice", now=now)
    headers = _headers(runtime, credential)
    body: dict[str, str] = {"personal_code": CODE}
    if proof != "none":
        channel = shop if proof == "own" else other
        body["identity_assertion"] = channel.assertion(CODE, path, now=runtime.clock.now)

    answer = api.post(f"/v1/subjects/{path}", json=body, headers=headers)

    expected = TABLE[(credential, proof)]
    if expected is None:
        assert answer.status_code == 200, answer.text
        entries, _customers, _objected = _untouched(runtime)
        assert entries == 1
        return
    status, code = expected
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert CODE not in answer.text and "customer" not in answer.json()
    assert _untouched(runtime) == (0, 1, None)
