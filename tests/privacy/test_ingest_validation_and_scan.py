"""World files are validated against their contracts at ingest; no clear code is stored anywhere."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from sqlalchemy import func, select
from storage.conftest import SCHEMAS, stored_text_values, world_rows, write_world

from scoring.service.retention import run_sweep
from scoring.service.subject_requests import erase_subject, export_subject, render_export_html
from scoring.storage import tables as t
from scoring.storage.ingest import WorldFailedValidation, ingest_world

from .conftest import PSEUDONYM_KEY, REQUESTER

# Validation runs before the database is touched: one backend shows it.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def stored_rows(engine) -> int:
    with engine.connect() as connection:
        return sum(
            connection.scalar(select(func.count()).select_from(model))
            for model in (t.Customer, t.Invoice, t.Payment, t.BureauReport, t.Application)
        )


@SQLITE_ONLY
def test_a_world_file_that_breaks_its_contract_stops_the_load_before_anything_is_written(
    migrated_engine, tmp_path
):
    rows = world_rows(customers=12, seed=5)
    rows["applications.parquet"][0]["product_category"] = "yacht"
    rows["customers.parquet"][1]["segment"] = "space"
    for row in rows["invoices.parquet"]:
        row["free_text_notes"] = "called, was rude"
    schemas = dict(SCHEMAS)
    schemas["invoices.parquet"] = SCHEMAS["invoices.parquet"].append(
        pa.field("free_text_notes", pa.string())
    )
    world = write_world(tmp_path / "world", rows, schemas=schemas)
    reports = tmp_path / "validation"

    with pytest.raises(WorldFailedValidation) as stopped:
        ingest_world(
            world_dir=world, engine=migrated_engine, pseudonym_key=PSEUDONYM_KEY,
            validation_dir=reports,
        )  # fmt: skip

    message = str(stopped.value)
    assert "nothing was loaded" in message
    assert "customers.parquet" in message and "'segment'" in message and "'space'" in message
    assert "applications.parquet" in message and "'yacht'" in message
    assert "invoices.parquet" in message and "unexpected ['free_text_notes']" in message
    assert stored_rows(migrated_engine) == 0
    saved = sorted(p.name for p in reports.iterdir())
    assert saved == [
        "applications.validation.json", "customers.validation.json", "invoices.validation.json",
    ]  # fmt: skip
    codes = {row["personal_code"] for row in rows["customers.parquet"]}
    text = message + "".join((reports / name).read_text() for name in saved)
    assert not any(code in text for code in codes)


@SQLITE_ONLY
def test_a_world_with_a_bad_code_pattern_names_the_rule_but_hides_the_value(
    migrated_engine, tmp_path
):
    rows = world_rows(customers=6, seed=2)
    rows["invoices.parquet"][0]["personal_code"] = "X1234567890"
    world = write_world(tmp_path / "world", rows)

    with pytest.raises(WorldFailedValidation) as stopped:
        ingest_world(world_dir=world, engine=migrated_engine, pseudonym_key=PSEUDONYM_KEY,
                     validation_dir=tmp_path / "v")  # fmt: skip

    assert "column 'personal_code': matches ^[1-8][0-9]{10}$" in str(stopped.value)
    assert "X1234567890" not in str(stopped.value) and stored_rows(migrated_engine) == 0


def test_after_ingest_decisions_requests_and_a_sweep_no_clear_code_is_stored_or_logged(
    migrated_engine, sessions, tmp_path, caplog
):
    from service_fakes import FakeBureau, LinearModel, StepClock

    from data_contracts.requests import DecisionRequest
    from scoring.service.api_keys import authenticate, create_api_key
    from scoring.service.decisions import make_decision
    from scoring.service.model_provider import StaticModelProvider
    from scoring.service.policy_files import current_policy
    from scoring.service.subject_requests import object_to_profiling
    from scoring.storage.db import UnitOfWork

    caplog.set_level(logging.DEBUG)
    rows = world_rows(customers=20, seed=11)
    codes = [row["personal_code"] for row in rows["customers.parquet"]]
    world = write_world(tmp_path / "world", rows)
    ingest_world(world_dir=world, engine=migrated_engine, pseudonym_key=PSEUDONYM_KEY,
                 validation_dir=tmp_path / "v")  # fmt: skip
    issued = create_api_key(uow=UnitOfWork.for_engine(migrated_engine), client="sales",
                            scopes=["decisions:write"])  # fmt: skip
    with sessions() as session:
        client = authenticate(session=session, presented=issued.key)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    bureau = FakeBureau("good")
    for number, code in enumerate(codes[:4]):
        make_decision(
            request=DecisionRequest.model_validate(
                {
                    "application_id": f"APP-{number:04d}",
                    "personal_code": code,
                    "channel": "web",
                    "purchase": {
                        "amount_eur": 800.0,
                        "term_months": 12,
                        "product_category": "phone",
                    },
                }
            ),  # fmt: skip
            idempotency_key=f"key-{number}",
            client=client,
            uow=UnitOfWork.for_engine(migrated_engine),
            bureau=bureau,
            models=StaticModelProvider(LinearModel(version="1", intercept=-4.5)),
            policy=current_policy(),
            pseudonym_key=PSEUDONYM_KEY,
            clock=StepClock(),
        )
    for action in (export_subject, object_to_profiling, erase_subject):
        with sessions() as session:
            result = action(session=session, code=codes[0], pseudonym_key=PSEUDONYM_KEY, now=now,
                            requester=REQUESTER)  # fmt: skip
            if action is export_subject:
                page = render_export_html(result)
    run_sweep(sessions=sessions, as_of=date(2045, 1, 1))

    stored = "\n".join(stored_text_values(migrated_engine))
    logged = caplog.text
    assert stored and logged is not None
    leaked = [code for code in codes if code in stored or code in logged or code in page]
    assert leaked == []
