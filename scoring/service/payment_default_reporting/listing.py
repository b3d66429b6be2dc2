"""Listing the payment defaults as of a day, with the guards that hold each one back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import SQLAlchemyError

from scoring.domain.payment_defaults import (
    GuardFailure,
    PaymentDefault,
    guard_failures,
    never_reportable,
)
from scoring.service.payment_default_reporting.errors import database_unreadable
from scoring.service.payment_default_reporting.history import (
    check_report_date,
    customer_id_of,
    load_defaults,
)
from scoring.storage.db import UnitOfWork


@dataclass(frozen=True)
class DefaultView:
    default: PaymentDefault
    failures: tuple[GuardFailure, ...]

    @property
    def reportable(self) -> bool:
        return not self.failures


def list_defaults(
    *,
    uow: UnitOfWork,
    as_of: date,
    today: date,
    customer: str | None = None,
    include_never_reportable: bool = False,
) -> list[DefaultView]:
    """The derived defaults as of ``as_of`` with the guards each fails (none when reportable)."""
    check_report_date(as_of, today)
    try:
        with uow:
            register = uow.payment_default_register
            customer_id = customer_id_of(register, customer) if customer else None
            defaults = [
                default
                for default in load_defaults(register, as_of=as_of, customer_id=customer_id)
                if include_never_reportable or not never_reportable(default, as_of=as_of)
            ]
            known = register.identities_on_file(d.customer for d in defaults)
    except SQLAlchemyError as error:
        raise database_unreadable(error) from None
    return [
        DefaultView(
            default,
            guard_failures(default, as_of=as_of, identity_on_file=default.customer in known),
        )
        for default in defaults
    ]
