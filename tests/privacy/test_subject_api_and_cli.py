"""Data-subject requests through the API (API key, scope) and the CLI (code on stdin)."""

from __future__ import annotations

from datetime import UTC, datetime

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

from .conftest import CODE, PSEUDONYM_KEY, count

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def api(migrated_engine, sessions, tmp_path):
    runtime = Runtime(
        settings=load_settings({"INSTALLMENT_HOME": str(tmp_path)}),
        engine=migrated_engine,
        sessions=sessions,
        bureau=None,
        models=None,
        policy=current_policy(),
        pseudonym_key=PSEUDONYM_KEY,
        clock=lambda: NOW,
    )
    with TestClient(create_app(runtime)) as client:
        yield client


def key(migrated_engine, scopes) -> dict[str, str]:
    issued = create_api_key(uow=UnitOfWork.for_engine(migrated_engine), client="selfservice",
                            scopes=scopes)  # fmt: skip
    return {"Authorization": f"Bearer {issued.key}"}


def test_the_three_requests_answer_through_the_api(api, migrated_engine, sessions, seed):
    seed.customer(CODE)
    headers = key(migrated_engine, ["subjects:write"])

    objection = api.post("/v1/subjects/objection", json={"personal_code": CODE}, headers=headers)
    access = api.post("/v1/subjects/access", json={"personal_code": CODE}, headers=headers)
    page = api.post(
        "/v1/subjects/access?format=html", json={"personal_code": CODE}, headers=headers
    )
    erasure = api.post("/v1/subjects/erasure", json={"personal_code": CODE}, headers=headers)

    assert objection.status_code == 200 and objection.json()["already_recorded"] is False
    assert access.json()["customer"]["objected_to_profiling_at"] == NOW.isoformat()
    assert page.headers["content-type"].startswith("text/html") and "Data held" in page.text
    assert erasure.json()["erased"]["customers"] == 1 and erasure.json()["kept"] == []
    assert count(sessions, t.Customer) == 0
    for answer in (objection, access, page, erasure):
        assert CODE not in answer.text


def test_without_the_scope_or_a_key_nothing_happens(api, migrated_engine, sessions, seed):
    seed.customer(CODE)
    wrong = key(migrated_engine, ["decisions:write"])

    forbidden = api.post("/v1/subjects/erasure", json={"personal_code": CODE}, headers=wrong)
    anonymous = api.post("/v1/subjects/erasure", json={"personal_code": CODE})

    assert forbidden.status_code == 403 and anonymous.status_code == 401
    assert count(sessions, t.Customer) == 1 and count(sessions, t.AuditLogEntry) == 0


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
        object_to_profiling(session=session, code=CODE, pseudonym_key=PSEUDONYM_KEY, now=NOW)
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
    try:
        objected = runner.invoke(
            app, ["subject", "object", "--code-stdin", "--database-url", sqlite_url],
            input=f"{CODE}\n",
        )  # fmt: skip
        exported = runner.invoke(
            app, ["subject", "export", "--code-stdin", "--database-url", sqlite_url],
            input=f"{CODE}\n",
        )  # fmt: skip
        html = tmp_path / "export.html"
        runner.invoke(
            app,
            ["subject", "export", "--code-stdin", "--format", "html", "--out", str(html),
             "--database-url", sqlite_url],
            input=f"{CODE}\n",
        )  # fmt: skip
        erased = runner.invoke(
            app, ["subject", "erase", "--code-stdin", "--database-url", sqlite_url],
            input=f"{CODE}\n",
        )  # fmt: skip
        without_flag = runner.invoke(app, ["subject", "erase", "--database-url", sqlite_url])
        bad = runner.invoke(
            app, ["subject", "erase", "--code-stdin", "--database-url", sqlite_url],
            input="38001085719\n",
        )  # fmt: skip
    finally:
        get_settings.cache_clear()

    assert objected.exit_code == 0 and "objection to profiling recorded" in objected.output
    assert exported.exit_code == 0 and '"objected_to_profiling_at": "20' in exported.output
    assert "Data held about you" in html.read_text()
    assert erased.exit_code == 0 and "erased: 1 customers" in erased.output
    assert without_flag.exit_code == 2 and "--code-stdin" in without_flag.output
    assert bad.exit_code == 2 and "personal code:" in bad.output
    assert "38001085719" not in bad.output
    for result in (objected, exported, erased):
        assert CODE not in result.output.replace(f"{CODE}\n", "", 0)
