"""The default-reporting tables store and read back exactly what was written, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError

from scoring.storage.db import UnitOfWork
from scoring.storage.tables import Base, Customer
from scoring.storage.tables_payment_defaults import (
    DefaultDispute,
    DefaultNotice,
    DefaultReportLine,
    DefaultReportRun,
    DefaultVerification,
    IdentityVaultEntry,
)

AT = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
START = date(2026, 3, 10)
PSEUDONYM = "c" * 64


def _columns(record: Base) -> dict[str, object]:
    return {column.key: getattr(record, column.key) for column in inspect(type(record)).columns}


def test_each_table_reads_back_exactly_as_written(migrated_engine: Engine) -> None:
    with UnitOfWork.for_engine(migrated_engine) as uow:
        customer = Customer(pseudonym=PSEUDONYM, segment="telecom")
        uow.session.add(customer)
        uow.session.flush()
        run = DefaultReportRun(
            id="7d7e4a52-0c1c-4a7e-9f59-1f0f4b0b7a11",
            as_of=date(2026, 5, 1),
            created_at=AT,
            created_by="report-defaults",
            file_name="payment-defaults-2026-05-01.csv",
            file_sha256="ab" * 32,
            new_count=1,
            correction_count=0,
            removal_count=0,
            held_back_count=2,
        )
        written: list[Base] = [
            DefaultVerification(
                customer_id=customer.id, started_on=START, verified_by="kask", verified_at=AT
            ),
            DefaultDispute(
                customer_id=customer.id,
                started_on=START,
                raised_at=AT,
                recorded_by="support",
                note="says it was paid",
                resolution="rejected",
                resolved_at=AT,
                resolved_by="tamm",
            ),
            DefaultNotice(
                customer_id=customer.id,
                started_on=START,
                sent_on=date(2026, 3, 20),
                recorded_by="collections",
                recorded_at=AT,
            ),
            run,
            IdentityVaultEntry(
                pseudonym=PSEUDONYM, nonce=bytes(12), ciphertext=b"\x01" * 27, created_at=AT
            ),
        ]
        uow.session.add_all(written)
        uow.session.flush()
        line = DefaultReportLine(
            run_id=run.id,
            line_no=1,
            transaction_type="new",
            pseudonym=PSEUDONYM,
            started_on=START,
            amount=Decimal("80.00"),
            ended_on=None,
            note="",
        )
        uow.session.add(line)
        written.append(line)
    expected = [(type(record), _columns(record)) for record in written]

    with UnitOfWork.for_engine(migrated_engine) as uow:
        for table, columns in expected:
            [stored] = uow.session.scalars(select(table)).all()
            assert _columns(stored) == columns


def test_a_dispute_resolution_needs_who_and_when(migrated_engine: Engine) -> None:
    with UnitOfWork.for_engine(migrated_engine) as uow:
        customer = Customer(pseudonym=PSEUDONYM)
        uow.session.add(customer)
        uow.session.flush()
        customer_id = customer.id

    with pytest.raises(IntegrityError), UnitOfWork.for_engine(migrated_engine) as uow:
        uow.session.add(
            DefaultDispute(
                customer_id=customer_id,
                started_on=START,
                raised_at=AT,
                recorded_by="support",
                resolution="rejected",
            )
        )
