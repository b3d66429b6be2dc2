"""Every stored record survives a round trip unchanged, and the schema refuses impossible values."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError

from scoring.storage.db import UnitOfWork
from scoring.storage.tables import (
    ApiClient,
    ApiKey,
    Application,
    AuditLogEntry,
    Base,
    BureauDefaultEntry,
    BureauReport,
    Customer,
    Decision,
    DecisionLogEntry,
    IdempotencyRecord,
    Invoice,
    Payment,
    ReviewCase,
    User,
)

DECIDED_AT = datetime(2026, 1, 31, 23, 30, 15, 123456, tzinfo=UTC)
DECISION_ID = str(uuid.uuid4())
REVIEW_DECISION_ID = str(uuid.uuid4())
HASH_A, HASH_B = "a" * 64, "b" * 64


def _one_of_each() -> list[Base]:
    """A record for every table, linked the way the product links them."""
    customer = Customer(
        id=1,
        pseudonym="f" * 64,
        customer_since=date(2019, 3, 1),
        relationship_ended_on=None,
        segment="energy",
        objected_to_profiling_at=datetime(2026, 2, 1, 8, tzinfo=UTC),
    )
    invoice = Invoice(
        id=1,
        invoice_number="INV-1",
        customer_id=1,
        issued_on=date(2025, 12, 1),
        due_on=date(2025, 12, 15),
        amount=Decimal("123.45"),
        paid=Decimal("100.00"),
        paid_in_full_on=None,
        reminders_sent=1,
        sent_to_collection_on=date(2026, 3, 1),
    )
    payment = Payment(
        id=1,
        payment_number="PAY-1",
        invoice_id=1,
        paid_on=date(2025, 12, 20),
        amount=Decimal("100"),
    )
    report = BureauReport(
        id=1,
        report_id="CI-1",
        customer_id=1,
        requested_at=DECIDED_AT - timedelta(seconds=2),
        received_at=DECIDED_AT - timedelta(seconds=1),
        score=612,
        risk_class="satisfactory",
        pd_band_low=0.06,
        pd_band_high=0.149,
        open_default_count=1,
        closed_default_count=2,
    )
    entry = BureauDefaultEntry(
        id=1,
        bureau_report_id=1,
        creditor_sector="telecom",
        amount=Decimal("45.10"),
        started_on=date(2024, 5, 2),
        ended_on=None,
    )
    client = ApiClient(
        id="sales-system",
        name="Sales system",
        webhook_url="http://127.0.0.1:9/hooks",
        created_at=DECIDED_AT,
        active=True,
    )
    key = ApiKey(
        id=1,
        client_id="sales-system",
        key_prefix="sk_live_ab12",
        key_hash="$argon2id$v=19$m=65536,t=3,p=4$abc$def",
        scopes=["decisions:write", "decisions:read"],
        created_at=DECIDED_AT,
        expires_at=DECIDED_AT + timedelta(days=365),
        revoked_at=None,
    )
    application = Application(
        id=1,
        client_id="sales-system",
        external_id="SO-1001",
        customer_id=1,
        applied_at=DECIDED_AT - timedelta(seconds=3),
        amount=Decimal("2499.90"),
        term_months=24,
        product_category="heat_pump",
        channel="web",
        human_review_requested=False,
        bureau_report_id=1,
        defaulted_12m=None,
    )
    decision = Decision(
        id=DECISION_ID,
        application_id=1,
        outcome="decline",
        automated=True,
        probability_of_default=0.1834,
        risk_grade="E",
        model_name="installment-pd",
        model_version="7",
        policy_version="2026-01",
        contract_versions={"decision_request": "1.2.0", "bureau_report": "1.0.0"},
        reasons=[{"code": "R01", "text_en": "Recent late payments", "contribution": 0.41}],
        policy_rules=[{"rule": "open_bureau_default", "fired": True}],
        contributions={"days_past_due_max": 0.41, "bureau_score": 0.22, "bias": -2.9},
        counterfactual={"term_months": 36, "amount": 1800.0},
        bureau_report_id="CI-1",
        input_hash=HASH_A,
        decided_at=DECIDED_AT,
        contestable_until=DECIDED_AT + timedelta(days=90),
        supersedes_decision_id=None,
        shadow={"model_version": "8", "probability_of_default": 0.17},
    )
    reviewed = Decision(
        id=REVIEW_DECISION_ID,
        application_id=1,
        outcome="approve",
        automated=False,
        probability_of_default=None,
        risk_grade=None,
        model_name=None,
        model_version=None,
        policy_version="2026-01",
        contract_versions={},
        reasons=[],
        policy_rules=[],
        contributions={},
        counterfactual=None,
        bureau_report_id="CI-1",
        input_hash=HASH_B,
        decided_at=DECIDED_AT + timedelta(days=3),
        contestable_until=None,
        supersedes_decision_id=DECISION_ID,
        shadow=None,
    )
    log = DecisionLogEntry(
        seq=1,
        decision_id=DECISION_ID,
        payload='{"decision_id":"x","outcome":"decline"}',
        prev_hash="0" * 64,
        entry_hash=HASH_A,
        created_at=DECIDED_AT,
    )
    reviewer = User(
        id=1,
        username="kadri",
        password_hash="$argon2id$v=19$hash",
        role="reviewer",
        failed_logins=0,
        locked_until=None,
        training_completed_on=date(2026, 1, 5),
        active=True,
    )
    senior = User(
        id=2,
        username="mart",
        password_hash="$argon2id$v=19$hash2",
        role="senior_reviewer",
        failed_logins=2,
        locked_until=DECIDED_AT + timedelta(minutes=15),
        training_completed_on=None,
        active=True,
    )
    case = ReviewCase(
        id=str(uuid.uuid4()),
        decision_id=DECISION_ID,
        kind="contest",
        status="resolved",
        statement="The late invoice was paid; the bank transfer was delayed.",
        received_at=DECIDED_AT + timedelta(days=1),
        due_at=datetime(2026, 3, 1, tzinfo=UTC),
        extended_due_at=datetime(2026, 5, 1, tzinfo=UTC),
        extension_reason="Waiting for the bank statement",
        extension_notice_sent_at=DECIDED_AT + timedelta(days=5),
        claimed_by=1,
        claimed_at=DECIDED_AT + timedelta(days=2),
        outcome="overturned",
        justification="Payment evidence shows the delay was the bank's.",
        second_signature_by=2,
        resolved_at=DECIDED_AT + timedelta(days=3),
        resulting_decision_id=REVIEW_DECISION_ID,
    )
    audit = AuditLogEntry(
        seq=1,
        at=DECIDED_AT,
        actor="kadri",
        action="review.resolve",
        entity_type="review_case",
        entity_id=case.id,
        details={"outcome": "overturned", "nested": {"list": [1, 2.5, None, "x"]}},
        prev_hash="0" * 64,
        hash=HASH_B,
    )
    idempotency = IdempotencyRecord(
        id=1,
        client_id="sales-system",
        idempotency_key="2f1c7b9e-retry",
        request_hash=HASH_A,
        decision_id=DECISION_ID,
        created_at=DECIDED_AT,
    )
    return [
        customer,
        invoice,
        payment,
        report,
        entry,
        client,
        key,
        application,
        decision,
        reviewed,
        log,
        reviewer,
        senior,
        case,
        audit,
        idempotency,
    ]


def _columns(record: Base) -> dict[str, Any]:
    return {column.key: getattr(record, column.key) for column in inspect(type(record)).columns}


def test_every_core_table_is_covered_by_the_round_trip() -> None:
    # Tables of other areas (tables_<area>.py) have round-trip tests beside their services.
    core = {
        mapper.class_.__table__.name
        for mapper in Base.registry.mappers
        if mapper.class_.__module__ == "scoring.storage.tables"
    }
    covered = {type(record).__table__.name for record in _one_of_each()}

    assert covered == core


def test_every_record_reads_back_exactly_as_written(migrated_engine: Engine) -> None:
    written = _one_of_each()
    expected = [(type(record), _columns(record)) for record in written]
    with UnitOfWork.for_engine(migrated_engine) as uow:
        for record in written:
            uow.session.add(record)
            uow.session.flush()

    with UnitOfWork.for_engine(migrated_engine) as uow:
        for model, columns in expected:
            primary_key = inspect(model).primary_key[0].key
            stored = uow.session.scalars(
                select(model).where(getattr(model, primary_key) == columns[primary_key])
            ).one()
            assert _columns(stored) == columns, model.__name__


def test_timestamps_come_back_timezone_aware_in_utc(migrated_engine: Engine) -> None:
    tallinn = timezone(timedelta(hours=2))
    with UnitOfWork.for_engine(migrated_engine) as uow:
        uow.session.add(
            ApiClient(id="c", name="c", created_at=datetime(2026, 1, 1, 12, tzinfo=tallinn))
        )

    with UnitOfWork.for_engine(migrated_engine) as uow:
        stored = uow.session.get_one(ApiClient, "c").created_at

    assert stored == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)


def test_a_naive_timestamp_is_refused_rather_than_guessed(migrated_engine: Engine) -> None:
    with (
        pytest.raises(StatementError, match="timezone-aware"),
        UnitOfWork.for_engine(migrated_engine) as uow,
    ):
        uow.session.add(ApiClient(id="c", name="c", created_at=datetime(2026, 1, 1, 12)))
        uow.session.flush()


@pytest.mark.parametrize(
    ("model", "changes"),
    [
        (Invoice, {"amount": Decimal("-0.01")}),
        (Payment, {"amount": Decimal("-5")}),
        (Customer, {"segment": "gas_station"}),
        (BureauReport, {"risk_class": "excellent"}),
        (BureauReport, {"score": 1001}),
        (BureauReport, {"pd_band_low": 0.2, "pd_band_high": 0.1}),
        (Application, {"product_category": "car"}),
        (Application, {"amount": Decimal("0")}),
        (Decision, {"outcome": "maybe"}),
        (Decision, {"probability_of_default": 1.5}),
        (User, {"role": "superuser"}),
        (ReviewCase, {"justification": None}),
        (ReviewCase, {"kind": "complaint"}),
        (ReviewCase, {"extension_reason": None}),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "-".join(value),
)
def test_the_schema_refuses_impossible_values(
    migrated_engine: Engine, model: type[Base], changes: dict[str, Any]
) -> None:
    records = _one_of_each()
    for record in records:
        if isinstance(record, model):
            for name, value in changes.items():
                setattr(record, name, value)
    with pytest.raises(IntegrityError), UnitOfWork.for_engine(migrated_engine) as uow:
        for record in records:
            uow.session.add(record)
            uow.session.flush()

    with UnitOfWork.for_engine(migrated_engine) as uow:
        assert uow.session.scalars(select(Customer)).all() == []


def test_an_idempotency_key_is_unique_per_client(migrated_engine: Engine) -> None:
    with UnitOfWork.for_engine(migrated_engine) as uow:
        for record in _one_of_each():
            uow.session.add(record)

    with pytest.raises(IntegrityError), UnitOfWork.for_engine(migrated_engine) as uow:
        uow.session.add(
            IdempotencyRecord(
                client_id="sales-system",
                idempotency_key="2f1c7b9e-retry",
                request_hash=HASH_B,
                created_at=DECIDED_AT,
            )
        )
