"""A small ledger of customers, invoices and payments in a migrated database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from scoring.domain.personal_code import build
from scoring.storage.db import UnitOfWork
from scoring.storage.identity_vault import register_identity
from scoring.storage.tables import Customer, Invoice, Payment

PSEUDONYM_KEY = bytes(range(32))
VAULT_KEY = bytes(range(100, 132))
ANNA_CODE = build(date(1980, 1, 8), female=True, serial=571)
BRUNO_CODE = build(date(1975, 11, 30), female=False, serial=12)


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)


@dataclass
class Ledger:
    """Writes payment history the way ingest stores it: customers by pseudonym only."""

    engine: Engine

    def uow(self) -> UnitOfWork:
        return UnitOfWork.for_engine(self.engine)

    def customer(self, code: str, *, in_vault: bool = True) -> str:
        from scoring.domain.pseudonym import pseudonymise

        with self.uow() as uow:
            if in_vault:
                pseudonym = register_identity(
                    session=uow.session, code=code, pseudonym_key=PSEUDONYM_KEY, vault_key=VAULT_KEY
                )
            else:
                pseudonym = pseudonymise(code, key=PSEUDONYM_KEY)
            uow.session.add(
                Customer(pseudonym=pseudonym, customer_since=date(2020, 1, 1), segment="energy")
            )
        return pseudonym

    def invoice(self, pseudonym: str, number: str, due_on: date, amount: str) -> None:
        with self.uow() as uow:
            customer = uow.session.query(Customer).filter_by(pseudonym=pseudonym).one()
            uow.session.add(
                Invoice(
                    invoice_number=number,
                    customer_id=customer.id,
                    issued_on=due_on.replace(day=1),
                    due_on=due_on,
                    amount=Decimal(amount),
                    paid=Decimal("0"),
                    reminders_sent=0,
                )
            )

    def payment(self, number: str, paid_on: date, amount: str) -> None:
        with self.uow() as uow:
            invoice = uow.session.query(Invoice).filter_by(invoice_number=number).one()
            uow.session.add(
                Payment(
                    payment_number=f"P-{number}-{paid_on.isoformat()}",
                    invoice_id=invoice.id,
                    paid_on=paid_on,
                    amount=Decimal(amount),
                )
            )
            invoice.paid += Decimal(amount)


@pytest.fixture
def ledger(migrated_engine: Engine) -> Iterator[Ledger]:
    yield Ledger(migrated_engine)
