"""Disputes of a default: the customer's objection holds it back until it is resolved."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.exc import SQLAlchemyError

from scoring.service.payment_default_reporting.errors import (
    DefaultNotFound,
    DefaultReportingError,
    database_unreadable,
)
from scoring.service.payment_default_reporting.history import customer_id_of, existing_default
from scoring.service.payment_default_reporting.records import audit_default, check_actor
from scoring.storage.db import UnitOfWork


def record_dispute(
    *,
    uow: UnitOfWork,
    customer: str,
    started_on: date,
    by: str,
    now: datetime,
    note: str | None = None,
) -> None:
    """Record that the customer disputes the default; it is held back (or removed) from now."""
    by = check_actor(by)
    try:
        with uow:
            register = uow.payment_default_register
            customer_id = existing_default(
                register, pseudonym=customer, started_on=started_on, today=now.date()
            )
            register.add_dispute(
                customer_id=customer_id,
                started_on=started_on,
                raised_at=now,
                recorded_by=by,
                note=note,
            )
            audit_default(
                uow.audit_log,
                now=now,
                actor=by,
                action="default.disputed",
                pseudonym=customer,
                started_on=started_on,
                details={},
            )
    except SQLAlchemyError as error:
        raise database_unreadable(error) from None


def resolve_dispute(
    *,
    uow: UnitOfWork,
    customer: str,
    started_on: date,
    resolution: str,
    by: str,
    now: datetime,
) -> int:
    """Close the open disputes of a default: ``rejected`` (it stands) or ``accepted``."""
    by = check_actor(by)
    if resolution not in ("rejected", "accepted"):
        raise DefaultReportingError(
            f"resolution {resolution!r} is not 'rejected' (the default stands) or 'accepted'",
            field="resolution",
        )
    try:
        with uow:
            register = uow.payment_default_register
            customer_id = customer_id_of(register, customer)
            open_disputes = register.open_disputes(customer_id, started_on)
            if not open_disputes:
                raise DefaultNotFound(
                    f"customer {customer} has no open dispute of the default starting "
                    f"{started_on.isoformat()}",
                    field="start",
                )
            for dispute in open_disputes:
                dispute.resolution = resolution
                dispute.resolved_at = now
                dispute.resolved_by = by
            audit_default(
                uow.audit_log,
                now=now,
                actor=by,
                action=f"default.dispute_{resolution}",
                pseudonym=customer,
                started_on=started_on,
                details={"disputes": len(open_disputes)},
            )
    except SQLAlchemyError as error:
        raise database_unreadable(error) from None
    return len(open_disputes)
