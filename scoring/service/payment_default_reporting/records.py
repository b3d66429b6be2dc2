"""Who-and-when records of a default: its verification and the notice sent to the debtor.

Each record is audited under the default it is about; the helpers for that are shared
with the dispute records.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import SQLAlchemyError

from scoring.service.payment_default_reporting.errors import (
    DefaultReportingError,
    database_unreadable,
)
from scoring.service.payment_default_reporting.history import existing_default
from scoring.storage.audit_log import AuditLog
from scoring.storage.db import UnitOfWork

AUDIT_ENTITY_DEFAULT = "payment_default"


@dataclass(frozen=True)
class Verification:
    customer: str
    started_on: date
    verified_by: str
    verified_at: datetime
    newly_recorded: bool


def _default_entity_id(pseudonym: str, started_on: date) -> str:
    # Pseudonyms are 64 hex characters, as long as the column; a digest keeps the date in.
    return hashlib.sha256(f"{pseudonym}:{started_on.isoformat()}".encode()).hexdigest()


def audit_default(
    audit_log: AuditLog,
    *,
    now: datetime,
    actor: str,
    action: str,
    pseudonym: str,
    started_on: date,
    details: dict[str, object],
) -> None:
    """Add an audit entry about one customer's default."""
    audit_log.append(
        at=now,
        actor=actor,
        action=action,
        entity_type=AUDIT_ENTITY_DEFAULT,
        entity_id=_default_entity_id(pseudonym, started_on),
        details={"customer": pseudonym, "started_on": started_on, **details},
    )


def check_actor(by: str) -> str:
    """The name of who records something, trimmed; refuses an empty or overlong one."""
    name = by.strip()
    if not name:
        raise DefaultReportingError("say who records this (--by NAME)", field="by")
    if len(name) > 100:
        raise DefaultReportingError("the name given with --by is longer than 100 characters")
    return name


def verify_default(
    *, uow: UnitOfWork, customer: str, started_on: date, by: str, now: datetime
) -> Verification:
    """Record that a reviewer or operator confirmed the default is correct (once)."""
    by = check_actor(by)
    try:
        with uow:
            register = uow.payment_default_register
            customer_id = existing_default(
                register, pseudonym=customer, started_on=started_on, today=now.date()
            )
            existing = register.verification(customer_id, started_on)
            if existing is not None:
                return Verification(
                    customer, started_on, existing.verified_by, existing.verified_at, False
                )
            register.add_verification(
                customer_id=customer_id, started_on=started_on, verified_by=by, verified_at=now
            )
            audit_default(
                uow.audit_log,
                now=now,
                actor=by,
                action="default.verified",
                pseudonym=customer,
                started_on=started_on,
                details={},
            )
    except SQLAlchemyError as error:
        raise database_unreadable(error) from None
    return Verification(customer, started_on, by, now, True)


def record_notice(
    *,
    uow: UnitOfWork,
    customer: str,
    started_on: date,
    sent_on: date,
    by: str,
    now: datetime,
) -> None:
    """Record the notice sent to the debtor before the default may be reported."""
    by = check_actor(by)
    if sent_on > now.date():
        raise DefaultReportingError(
            f"notice date {sent_on.isoformat()} is in the future", field="sent_on"
        )
    if sent_on < started_on:
        raise DefaultReportingError(
            f"notice date {sent_on.isoformat()} is before the default started "
            f"({started_on.isoformat()}); a notice is about a default that exists",
            field="sent_on",
        )
    try:
        with uow:
            register = uow.payment_default_register
            customer_id = existing_default(
                register, pseudonym=customer, started_on=started_on, today=now.date()
            )
            register.add_notice(
                customer_id=customer_id,
                started_on=started_on,
                sent_on=sent_on,
                recorded_by=by,
                recorded_at=now,
            )
            audit_default(
                uow.audit_log,
                now=now,
                actor=by,
                action="default.notice_recorded",
                pseudonym=customer,
                started_on=started_on,
                details={"sent_on": sent_on},
            )
    except SQLAlchemyError as error:
        raise database_unreadable(error) from None
