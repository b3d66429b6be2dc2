"""Data-subject requests through the API (API key, scope) and the CLI (code on stdin)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from scoring.api.app import create_app
from scoring.config import load_settings
from scoring.service.api_keys import create_api_key
from scoring.service.decisions import make_decision
from scoring.service.policy_files import current_policy
from scoring.service.runtime import Runtime
from scoring.storage import tables as t
from scoring.storage.db import UnitOfWork

from .conftest import CODE, OTHER_CODE, PSEUDONYM_KEY, REQUESTER, count
from .identity_channels import Channel, new_channel

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def build_api(migrated_engine, sessions, tmp_path, **env):  # type: ignore[no-untyped-def]
    runtime = Runtime(
        settings=load_settings({"INSTALLMENT_HOME": str(tmp_path), **env}),
        engine=migrated_engine,
        sessions=sessions,
        bureau=None,
        models=None,
        policy=current_policy(),
        pseudonym_key=PSEUDONYM_KEY,
        clock=lambda: NOW,
    )
    return TestClient(create_app(runtime))


@pytest.fixture
def api(migrated_engine, sessions, tmp_path):
    with build_api(migrated_engine, sessions, tmp_path) as client:
        yield client


def key(migrated_engine, scopes, client: str = "selfservice") -> dict[str, str]:
    issued = create_api_key(uow=UnitOfWork.for_engine(migrated_engine), client=client,
                            scopes=scopes)  # fmt: skip
    return {"Authorization": f"Bearer {issued.key}"}


@pytest.fixture
def channel(migrated_engine) -> Channel:
    return new_channel(migrated_engine, "selfservice-smartid", "selfservice", now=NOW)


@pytest.fixture
def other_channel(migrated_engine) -> Channel:
    return new_channel(migrated_engine, "shop-idcard", "shop", now=NOW, curve="p256")


def proven(channel: Channel, request: str, code: str = CODE, **claims) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"personal_code": code, "identity_assertion": channel.assertion(code, request, now=NOW,
                                                                           **claims)}  # fmt: skip


def subject_trail(sessions) -> list[t.AuditLogEntry]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        query = select(t.AuditLogEntry).where(t.AuditLogEntry.entity_type == "data_subject")
        return list(session.scalars(query))


def test_the_three_requests_answer_with_a_channels_proof(api, migrated_engine, sessions, seed,
                                                          channel):  # fmt: skip
    seed.customer(CODE)
    headers = key(migrated_engine, ["subjects:write"])

    objection = api.post("/v1/subjects/objection", json=proven(channel, "objection"),
                         headers=headers)  # fmt: skip
    access = api.post("/v1/subjects/access", json=proven(channel, "access"), headers=headers)
    page = api.post("/v1/subjects/access?format=html", json=proven(channel, "access"),
                    headers=headers)  # fmt: skip
    erasure = api.post("/v1/subjects/erasure", json=proven(channel, "erasure"), headers=headers)

    assert objection.status_code == 200 and objection.json()["already_recorded"] is False
    assert access.json()["customer"]["objected_to_profiling_at"] == NOW.isoformat()
    assert page.headers["content-type"].startswith("text/html") and "Data held" in page.text
    assert erasure.json()["erased"]["customers"] == 1 and erasure.json()["kept"] == []
    assert count(sessions, t.Customer) == 0
    for answer in (objection, access, page, erasure):
        assert CODE not in answer.text
    trail = subject_trail(sessions)
    assert [e.action for e in trail] == [
        "subject.objection", "subject.access", "subject.access", "subject.erasure",
    ]  # fmt: skip
    for entry in trail:
        assert entry.actor == "client:selfservice"
        assert entry.details["identity"]["channel"] == "selfservice-smartid"
        assert entry.details["identity"]["identification_method"] == "smart-id"
        assert CODE not in str(entry.details)


def test_a_representative_is_recorded_with_the_proof(api, migrated_engine, sessions, seed, channel):
    seed.customer(CODE)
    body = proven(channel, "access", representative="parent of a minor", method="id-card")

    answer = api.post("/v1/subjects/access", json=body,
                      headers=key(migrated_engine, ["subjects:write"]))  # fmt: skip

    assert answer.status_code == 200
    (entry,) = subject_trail(sessions)
    assert entry.details["identity"]["representative"] == "parent of a minor"
    assert entry.details["identity"]["identification_method"] == "id-card"


def _refused_untouched(answer, sessions, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert "customer" not in answer.json() and CODE not in answer.text
    assert count(sessions, t.Customer) == 1
    with sessions() as session:
        assert session.scalar(select(t.Customer.objected_to_profiling_at)) is None
    assert subject_trail(sessions) == []


@pytest.mark.parametrize("path", ["access", "erasure", "objection"])
def test_without_an_assertion_nothing_is_disclosed_or_changed(api, migrated_engine, sessions,
                                                               seed, channel, path):  # fmt: skip
    seed.customer(CODE)
    answer = api.post(f"/v1/subjects/{path}", json={"personal_code": CODE},
                      headers=key(migrated_engine, ["subjects:write"]))  # fmt: skip
    _refused_untouched(answer, sessions, 401, "identity_proof_required")
    assert "identity_assertion" in answer.json()["error"]["message"]


def _forged(channel: Channel, request: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    impostor = Channel(channel.id, channel.client, ed25519.Ed25519PrivateKey.generate(), "EdDSA")
    return impostor.assertion(CODE, request, now=NOW)


def _hmac_with_public_key(channel: Channel, request: str) -> str:
    import jwt as pyjwt

    from scoring.domain.identity_proof import AUDIENCE

    claims = {"iss": channel.id, "aud": AUDIENCE, "sub": CODE, "request": request,
              "identification_method": "smart-id", "iat": int(NOW.timestamp()),
              "exp": int(NOW.timestamp()) + 60, "jti": "x1"}  # fmt: skip
    return pyjwt.encode(claims, "a shared secret nobody registered", algorithm="HS256")


def _unsigned(channel: Channel, request: str) -> str:
    import jwt as pyjwt

    from scoring.domain.identity_proof import AUDIENCE

    claims = {"iss": channel.id, "aud": AUDIENCE, "sub": CODE, "request": request,
              "identification_method": "smart-id", "iat": int(NOW.timestamp()),
              "exp": int(NOW.timestamp()) + 60, "jti": "x2"}  # fmt: skip
    return pyjwt.encode(claims, None, algorithm="none")


BAD_PROOFS = {
    "not-a-jwt": (lambda c, r: "not.a.jwt", 401, "identity_proof_invalid"),
    "forged-signature": (_forged, 401, "identity_proof_invalid"),
    "hmac-instead-of-signature": (_hmac_with_public_key, 401, "identity_proof_invalid"),
    "unsigned": (_unsigned, 401, "identity_proof_invalid"),
    "expired": (lambda c, r: c.assertion(CODE, r, now=NOW - timedelta(minutes=10)), 401,
                "identity_proof_invalid"),
    "lives-too-long": (lambda c, r: c.assertion(CODE, r, now=NOW, lifetime=timedelta(hours=1)),
                       401, "identity_proof_invalid"),
    "issued-in-the-future": (lambda c, r: c.assertion(CODE, r, now=NOW + timedelta(minutes=5)),
                             401, "identity_proof_invalid"),
    "other-audience": (lambda c, r: c.assertion(CODE, r, now=NOW, aud="another-service"), 401,
                       "identity_proof_invalid"),
    "no-assertion-id": (lambda c, r: c.assertion(CODE, r, now=NOW, jti=None), 401,
                        "identity_proof_invalid"),
    "unknown-method": (lambda c, r: c.assertion(CODE, r, now=NOW, method="asked-nicely"), 401,
                       "identity_proof_invalid"),
    "unknown-channel": (lambda c, r: c.assertion(CODE, r, now=NOW, iss="nobody"), 401,
                        "identity_proof_invalid"),
    "another-person": (lambda c, r: c.assertion(OTHER_CODE, r, now=NOW), 403,
                       "identity_proof_not_accepted"),
    "another-request": (lambda c, r: c.assertion(CODE, "objection" if r != "objection"
                                                 else "access", now=NOW), 403,
                        "identity_proof_not_accepted"),
}  # fmt: skip


@pytest.mark.parametrize("path", ["access", "erasure", "objection"])
@pytest.mark.parametrize("proof", sorted(BAD_PROOFS))
def test_an_assertion_that_proves_nothing_is_refused(api, migrated_engine, sessions, seed,
                                                      channel, path, proof):  # fmt: skip
    seed.customer(CODE)
    make, status, code = BAD_PROOFS[proof]
    body = {"personal_code": CODE, "identity_assertion": make(channel, path)}
    answer = api.post(f"/v1/subjects/{path}", json=body,
                      headers=key(migrated_engine, ["subjects:write"]))  # fmt: skip
    _refused_untouched(answer, sessions, status, code)


def test_an_assertion_proves_one_request_only(api, migrated_engine, sessions, seed, channel):
    seed.customer(CODE)
    headers = key(migrated_engine, ["subjects:write"])
    body = proven(channel, "access")

    first = api.post("/v1/subjects/access", json=body, headers=headers)
    replayed = api.post("/v1/subjects/access", json=body, headers=headers)

    assert first.status_code == 200
    assert replayed.status_code == 401 and "used before" in replayed.json()["error"]["message"]
    assert len(subject_trail(sessions)) == 1


def test_a_revoked_channel_proves_nothing(api, migrated_engine, sessions, seed, channel):
    from scoring.service.subject_proof import revoke_channel

    seed.customer(CODE)
    revoke_channel(uow=UnitOfWork.for_engine(migrated_engine), channel_id=channel.id,
                   now=NOW - timedelta(seconds=1))  # fmt: skip
    answer = api.post("/v1/subjects/erasure", json=proven(channel, "erasure"),
                      headers=key(migrated_engine, ["subjects:write"]))  # fmt: skip
    _refused_untouched(answer, sessions, 401, "identity_proof_invalid")


def test_across_two_clients_each_proves_only_through_its_own_channels(
    api, migrated_engine, sessions, seed, channel, other_channel
):
    seed.customer(CODE)
    selfservice = key(migrated_engine, ["subjects:write"], client="selfservice")
    shop = key(migrated_engine, ["subjects:write"], client="shop")

    borrowed = api.post("/v1/subjects/objection", json=proven(channel, "objection"),
                        headers=shop)  # fmt: skip
    bare = api.post("/v1/subjects/access", json={"personal_code": CODE}, headers=shop)
    assert borrowed.status_code == 403
    assert borrowed.json()["error"]["code"] == "identity_proof_not_accepted"
    assert bare.status_code == 401
    with sessions() as session:
        assert session.scalar(select(t.Customer.objected_to_profiling_at)) is None
    assert subject_trail(sessions) == []

    own = api.post("/v1/subjects/access", json=proven(other_channel, "access"), headers=shop)
    theirs = api.post("/v1/subjects/access", json=proven(channel, "access"), headers=selfservice)
    assert own.status_code == 200 and theirs.status_code == 200
    assert [e.actor for e in subject_trail(sessions)] == ["client:shop", "client:selfservice"]
    assert [e.details["identity"]["channel"] for e in subject_trail(sessions)] == [
        "shop-idcard", "selfservice-smartid",
    ]  # fmt: skip


def test_requests_are_throttled_per_client(migrated_engine, sessions, tmp_path, seed, channel):
    seed.customer(CODE)
    headers = key(migrated_engine, ["subjects:write"])
    limits = {"INSTALLMENT_SUBJECT_REQUESTS_PER_CLIENT_HOUR": "3"}
    with build_api(migrated_engine, sessions, tmp_path, **limits) as api:
        # Unproven guesses count too: guessing codes is what the throttle stops.
        guesses = [api.post("/v1/subjects/access", json={"personal_code": OTHER_CODE},
                            headers=headers) for _ in range(3)]  # fmt: skip
        throttled = api.post("/v1/subjects/access", json=proven(channel, "access"),
                             headers=headers)  # fmt: skip

    assert [g.status_code for g in guesses] == [401, 401, 401]
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "subject_requests_throttled"
    assert 0 < int(throttled.headers["Retry-After"]) <= 3600
    assert subject_trail(sessions) == []


def test_requests_about_one_person_are_throttled_across_clients(
    migrated_engine, sessions, tmp_path, seed, channel, other_channel
):
    seed.customer(CODE)
    selfservice = key(migrated_engine, ["subjects:write"], client="selfservice")
    shop = key(migrated_engine, ["subjects:write"], client="shop")
    limits = {"INSTALLMENT_SUBJECT_REQUESTS_PER_PERSON_DAY": "2"}
    with build_api(migrated_engine, sessions, tmp_path, **limits) as api:
        first = api.post("/v1/subjects/access", json=proven(channel, "access"),
                         headers=selfservice)  # fmt: skip
        second = api.post("/v1/subjects/access", json=proven(other_channel, "access"),
                          headers=shop)  # fmt: skip
        third = api.post("/v1/subjects/access", json=proven(channel, "access"),
                         headers=selfservice)  # fmt: skip
        stranger = api.post("/v1/subjects/objection", json=proven(channel, "objection",
                                                                  code=OTHER_CODE),
                            headers=selfservice)  # fmt: skip

    assert [first.status_code, second.status_code, third.status_code] == [200, 200, 429]
    assert "about this person" in third.json()["error"]["message"]
    assert stranger.status_code == 200
    assert len(subject_trail(sessions)) == 3


def test_without_the_scope_or_a_key_nothing_happens(api, migrated_engine, sessions, seed, channel):
    seed.customer(CODE)
    wrong = key(migrated_engine, ["decisions:write"])

    forbidden = api.post("/v1/subjects/erasure", json=proven(channel, "erasure"), headers=wrong)
    anonymous = api.post("/v1/subjects/erasure", json=proven(channel, "erasure"))

    assert forbidden.status_code == 403 and anonymous.status_code == 401
    assert count(sessions, t.Customer) == 1 and count(sessions, t.AuditLogEntry) == 1  # the channel


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"personal_code": "38001085719"}, "personal_code"),  # checksum
        ({"personal_code": "3800108571X"}, "personal_code"),  # shape
        ({"personal_code": CODE, "email": "a@b.ee"}, "email"),  # not listed
        ({}, "personal_code"),
    ],
)
def test_bad_bodies_are_refused_naming_the_field_and_never_echoing_the_code(
    api, migrated_engine, sessions, body, field
):
    answer = api.post(
        "/v1/subjects/objection", json=body, headers=key(migrated_engine, ["subjects:write"])
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["field"].endswith(field)
    assert "3800108571" not in answer.text
    assert count(sessions, t.Customer) == 0


def test_an_objection_sends_the_next_application_to_a_person(migrated_engine, sessions, tmp_path):
    from service_fakes import FakeBureau, LinearModel, StepClock

    from data_contracts.requests import DecisionRequest
    from scoring.service.api_keys import authenticate
    from scoring.service.model_provider import StaticModelProvider
    from scoring.service.subject_requests import object_to_profiling

    issued = create_api_key(uow=UnitOfWork.for_engine(migrated_engine), client="sales",
                            scopes=["decisions:write"])  # fmt: skip
    with sessions() as session:
        client = authenticate(session=session, presented=issued.key)
    with sessions() as session:
        object_to_profiling(session=session, code=CODE, pseudonym_key=PSEUDONYM_KEY, now=NOW,
                            requester=REQUESTER)  # fmt: skip
    bureau = FakeBureau("good")

    view = make_decision(
        request=DecisionRequest.model_validate(
            {
                "application_id": "APP-0001",
                "personal_code": CODE,
                "channel": "web",
                "purchase": {"amount_eur": 500.0, "term_months": 12, "product_category": "phone"},
            }
        ),  # fmt: skip
        idempotency_key=None,
        client=client,
        uow=UnitOfWork.for_engine(migrated_engine),
        bureau=bureau,
        models=StaticModelProvider(LinearModel(version="1", intercept=-4.5)),
        policy=current_policy(),
        pseudonym_key=PSEUDONYM_KEY,
        clock=StepClock(),
    )

    assert view.outcome == "pending_review" and not view.automated
    assert [r["code"] for r in view.reasons] == ["S03_PROFILING_OBJECTION"]
    assert bureau.codes_seen == []  # not even the bureau was asked
    with sessions() as session:
        assert session.scalar(select(t.ReviewCase.kind)) == "objection"


def test_the_cli_reads_the_code_from_stdin_only(sqlite_url, tmp_path, monkeypatch):
    from scoring.cli import app
    from scoring.config import get_settings

    monkeypatch.setenv("INSTALLMENT_HOME", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()
    proof = ["--identified-by", "id-card", "--note", "letter 2026-114"]
    try:
        objected = runner.invoke(
            app, ["subject", "object", "--code-stdin", *proof, "--database-url", sqlite_url],
            input=f"{CODE}\n",
        )  # fmt: skip
        exported = runner.invoke(
            app, ["subject", "export", "--code-stdin", *proof, "--database-url", sqlite_url],
            input=f"{CODE}\n",
        )  # fmt: skip
        html = tmp_path / "export.html"
        runner.invoke(
            app,
            ["subject", "export", "--code-stdin", *proof, "--format", "html", "--out", str(html),
             "--database-url", sqlite_url],
            input=f"{CODE}\n",
        )  # fmt: skip
        erased = runner.invoke(
            app, ["subject", "erase", "--code-stdin", *proof, "--database-url", sqlite_url],
            input=f"{CODE}\n",
        )  # fmt: skip
        without_flag = runner.invoke(
            app, ["subject", "erase", *proof, "--database-url", sqlite_url]
        )
        unidentified = runner.invoke(
            app, ["subject", "erase", "--code-stdin", "--database-url", sqlite_url],
            input=f"{CODE}\n",
        )  # fmt: skip
        bad_method = runner.invoke(
            app, ["subject", "erase", "--code-stdin", "--identified-by", "phone-call",
                  "--database-url", sqlite_url], input=f"{CODE}\n",
        )  # fmt: skip
        bad = runner.invoke(
            app, ["subject", "erase", "--code-stdin", *proof, "--database-url", sqlite_url],
            input="38001085719\n",
        )  # fmt: skip
    finally:
        get_settings.cache_clear()

    assert objected.exit_code == 0 and "objection to profiling recorded" in objected.output
    assert exported.exit_code == 0 and '"objected_to_profiling_at": "20' in exported.output
    assert "Data held about you" in html.read_text()
    assert erased.exit_code == 0 and "erased: 1 customers" in erased.output
    assert without_flag.exit_code == 2 and "--code-stdin" in without_flag.output
    assert unidentified.exit_code == 2 and "--identified-by" in unidentified.output
    assert bad_method.exit_code == 2 and "--identified-by must be one of" in bad_method.output
    assert bad.exit_code == 2 and "personal code:" in bad.output
    assert "38001085719" not in bad.output
    for result in (objected, exported, erased):
        assert CODE not in result.output.replace(f"{CODE}\n", "", 0)
    from scoring.storage.db import create_engine_for, session_factory

    engine = create_engine_for(sqlite_url)
    try:
        trail = subject_trail(session_factory(engine))
    finally:
        engine.dispose()
    assert [e.action for e in trail] == [
        "subject.objection", "subject.access", "subject.access", "subject.erasure",
    ]  # fmt: skip
    for entry in trail:
        assert entry.actor.startswith("operator:")
        assert entry.details["identity"] == {
            "channel": "operator", "identification_method": "id-card", "note": "letter 2026-114",
        }  # fmt: skip


def test_channels_are_registered_listed_and_revoked_by_the_cli(sqlite_url, tmp_path, monkeypatch):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    from scoring.cli import app
    from scoring.config import get_settings

    from .identity_channels import public_pem

    private = ed25519.Ed25519PrivateKey.generate()
    good = tmp_path / "channel.pub.pem"
    good.write_text(public_pem(private))
    leaked = tmp_path / "channel.key.pem"
    leaked.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))  # fmt: skip
    weak = tmp_path / "rsa.pub.pem"
    weak.write_text(public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    monkeypatch.setenv("INSTALLMENT_HOME", str(tmp_path))
    monkeypatch.setenv("INSTALLMENT_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["api-key", "create", "--client", "selfservice",
                                   "--scopes", "subjects:write"]).exit_code == 0  # fmt: skip

        def add(*args: str):  # type: ignore[no-untyped-def]
            return runner.invoke(app, ["subject", "channel", "add", *args])

        added = add("selfservice-smartid", "--client", "selfservice", "--public-key", str(good))
        again = add("selfservice-smartid", "--client", "selfservice", "--public-key", str(good))
        private_refused = add("x-1", "--client", "selfservice", "--public-key", str(leaked))
        rsa_refused = add("x-2", "--client", "selfservice", "--public-key", str(weak))
        no_client = add("x-3", "--client", "nobody", "--public-key", str(good))
        listed = runner.invoke(app, ["subject", "channel", "list"])
        revoked = runner.invoke(app, ["subject", "channel", "revoke", "selfservice-smartid"])
        unknown = runner.invoke(app, ["subject", "channel", "revoke", "nope"])
        listed_after = runner.invoke(app, ["subject", "channel", "list"])
    finally:
        get_settings.cache_clear()

    assert added.exit_code == 0 and "registered (EdDSA)" in added.output
    assert again.exit_code == 2 and "registered already" in again.output
    assert private_refused.exit_code == 2 and "private key" in private_refused.output
    assert rsa_refused.exit_code == 2 and "Ed25519" in rsa_refused.output
    assert no_client.exit_code == 2 and "no active API client" in no_client.output
    assert "selfservice-smartid\tclient selfservice\tEdDSA\tactive" in listed.output
    assert revoked.exit_code == 0 and unknown.exit_code == 2
    assert "revoked 20" in listed_after.output
