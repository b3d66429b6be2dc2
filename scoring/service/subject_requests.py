"""Data-subject requests: access (GDPR Art. 15), erasure (Art. 17), objection (Art. 21).

The person is named by their identification code, which is checked and turned into the
keyed pseudonym at once; the code itself is never stored, logged or put in an answer.
Every request leaves an audit log entry under the pseudonym, the evidence that it was
answered (Art. 5(2), 12); that entry outlives an erasure on purpose. The records are
read and changed through ``scoring.storage.subject_records`` and ``retention_store``;
the export document is built in ``subject_export``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from scoring.domain.errors import InvalidInputError
from scoring.domain.identity_proof import IdentificationMethod, SubjectRequestKind
from scoring.domain.permissions import Actor
from scoring.domain.personal_code import InvalidPersonalCode
from scoring.domain.pseudonym import pseudonymise
from scoring.service import audit
from scoring.service.errors import ServiceError
from scoring.service.retention import (
    ApplicationItem,
    application_kept_until,
    contract_followed,
    remove_application_items,
)
from scoring.service.subject_export import (
    EXPORT_FORMAT,
    SOURCES,
    build_export,
    invoice_kept_until,
    render_export_html,
)
from scoring.service.subject_proof import Requester, SubjectLimits, officer_requester, prove
from scoring.storage import tables as t
from scoring.storage.db import UnitOfWork
from scoring.storage.retention_store import RetentionStore
from scoring.storage.subject_records import SubjectRecords

__all__ = [
    "EXPORT_FORMAT",
    "SOURCES",
    "ErasureReport",
    "InvalidSubjectRequest",
    "KeptRecords",
    "ObjectionReceipt",
    "OfficerAnswer",
    "Requester",
    "SubjectLimits",
    "access_with_proof",
    "erasure_with_proof",
    "objection_with_proof",
    "application_kept_until",
    "erase_held_records",
    "erase_subject",
    "export_subject",
    "object_to_profiling",
    "officer_request",
    "pseudonym_of",
    "render_export_html",
]


class InvalidSubjectRequest(ServiceError, InvalidInputError):
    """The request names no valid person; the message never repeats the code."""

    code = "invalid_personal_code"


@dataclass(frozen=True)
class KeptRecords:
    """Records an erasure could not remove, with the obligation that holds them."""

    records: str
    count: int
    kept_until: str | None
    reason: str


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure removed and what it kept, and why."""

    received_at: datetime
    held_data: bool
    erased: dict[str, int]
    kept: list[KeptRecords] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received_at": self.received_at.isoformat(),
            "held_data": self.held_data,
            "erased": self.erased,
            "kept": [asdict(k) for k in self.kept],
        }


@dataclass(frozen=True)
class ObjectionReceipt:
    """The recorded objection to profiling and what it changes."""

    objected_at: datetime
    already_recorded: bool
    effect: str = (
        "every later application of this person goes to a human reviewer; no decision "
        "about them is made by automated processing alone"
    )

    def as_dict(self) -> dict[str, Any]:
        return {
            "objected_at": self.objected_at.isoformat(),
            "already_recorded": self.already_recorded,
            "effect": self.effect,
        }


def pseudonym_of(code: str, *, pseudonym_key: bytes) -> str:
    """The pseudonym of a valid code; ``InvalidSubjectRequest`` naming the rule otherwise."""
    try:
        return pseudonymise(code, key=pseudonym_key)
    except InvalidPersonalCode as error:
        raise InvalidSubjectRequest(str(error), field="personal_code") from None


def _audit(
    session: Session,
    *,
    at: datetime,
    action: str,
    pseudonym: str,
    requester: Requester,
    details: dict[str, Any],
) -> None:
    audit.append(
        session=session,
        at=at,
        actor=requester.actor,
        action=action,
        entity_type="data_subject",
        entity_id=pseudonym,
        details={**details, "identity": dict(requester.evidence)},
    )


# -- access (Art. 15) ------------------------------------------------------------------------


def export_subject(
    *, session: Session, code: str, pseudonym_key: bytes, now: datetime, requester: Requester
) -> dict[str, Any]:
    """Everything held about the person, with sources and retention dates; audited."""
    pseudonym = pseudonym_of(code, pseudonym_key=pseudonym_key)
    with session.begin():
        records = SubjectRecords(session)
        customer = records.customer(pseudonym)
        export = build_export(records, customer, now=now)
        _audit(
            session,
            at=now,
            action="subject.access",
            pseudonym=pseudonym,
            requester=requester,
            details={"held_data": customer is not None},
        )
    return export


# -- erasure (Art. 17) -----------------------------------------------------------------------


def erase_subject(
    *, session: Session, code: str, pseudonym_key: bytes, now: datetime, requester: Requester
) -> ErasureReport:
    """Remove what no retention obligation holds; say what was kept and why; audited."""
    pseudonym = pseudonym_of(code, pseudonym_key=pseudonym_key)
    with session.begin():
        records = SubjectRecords(session)
        customer = records.customer_to_change(pseudonym)
        erased, kept = erase_held_records(records, RetentionStore(session), customer, now=now)
        report = ErasureReport(
            received_at=now, held_data=customer is not None, erased=erased, kept=kept
        )
        _audit(session, at=now, action="subject.erasure", pseudonym=pseudonym,
               requester=requester,
               details={"erased": erased, "kept": [asdict(k) for k in kept]})  # fmt: skip
    return report


def erase_held_records(
    records: SubjectRecords, store: RetentionStore, customer: t.Customer | None, *, now: datetime
) -> tuple[dict[str, int], list[KeptRecords]]:
    """Remove the person's records no obligation holds: ``(erased counts, kept records)``."""
    as_of = now.date()
    erased = {"applications": 0, "decisions": 0, "review_cases": 0, "bureau_reports": 0,
              "invoices": 0, "payments": 0, "customers": 0}  # fmt: skip
    kept: list[KeptRecords] = []
    if customer is None:
        return erased, kept
    _erase_applications(records, store, customer, as_of=as_of, now=now, erased=erased, kept=kept)
    _erase_invoices(records, customer, as_of=as_of, erased=erased, kept=kept)
    erased["customers"] = store.remove_customers([customer.id])
    if not erased["customers"]:
        kept.append(
            KeptRecords(
                "customer link (pseudonym, relationship dates, segment)",
                1,
                None,
                "links the records above that must be kept; removed with the last of them",
            )
        )
    return erased, kept


def _erase_applications(
    records: SubjectRecords,
    store: RetentionStore,
    customer: t.Customer,
    *,
    as_of: date,
    now: datetime,
    erased: dict[str, int],
    kept: list[KeptRecords],
) -> None:
    applications = records.applications(customer.id)
    removable: list[ApplicationItem] = []
    held: dict[tuple[str, str | None], int] = defaultdict(int)
    reports: list[int] = []
    for application in applications:
        decisions = records.decisions(application.id)
        cases = records.review_cases([d.id for d in decisions])
        kept_until = application_kept_until(application, decisions, cases)
        followed = contract_followed(application.client_id, decisions)
        if kept_until is None:
            held[("an open review case of the decision must be answered first", None)] += 1
        elif as_of <= kept_until:
            without_cases = application_kept_until(application, decisions, [])
            if without_cases is not None and kept_until > without_cases:
                reason = "correspondence of a review case: 3 years after it closed (legal claims)"
            elif followed:
                reason = "contract data: the contract's life plus 3 years (legal claims)"
            else:
                reason = (
                    "decision log: automated decisions are logged for at least 6 months "
                    "(AI Act Art. 12, 19)"
                )
            held[(reason, kept_until.isoformat())] += 1
        else:
            removable.append(
                ApplicationItem(
                    id=application.id,
                    customer_id=customer.id,
                    decision_ids=[d.id for d in decisions],
                    case_ids=[c.id for c in cases],
                    bureau_report_id=application.bureau_report_id,
                    rule="erasure",
                )
            )
            if application.bureau_report_id is not None:
                reports.append(application.bureau_report_id)
    if removable:
        remove_application_items(store, removable, at=now, removed_by="erasure")
        erased["applications"] = len(removable)
        erased["decisions"] = sum(len(i.decision_ids) for i in removable)
        erased["review_cases"] = sum(len(i.case_ids) for i in removable)
    unlinked = records.bureau_report_ids(customer.id)
    erased["bureau_reports"] = store.remove_bureau_reports(unlinked)
    for (reason, until), count in sorted(held.items(), key=lambda item: item[0][1] or ""):
        kept.append(
            KeptRecords(
                "applications with their decisions, explanations, review cases and bureau reports",
                count,
                until,
                reason,
            )
        )


def _erase_invoices(
    records: SubjectRecords,
    customer: t.Customer,
    *,
    as_of: date,
    erased: dict[str, int],
    kept: list[KeptRecords],
) -> None:
    invoices = records.invoices(customer.id)
    payments = records.payments_by_invoice(customer.id)
    open_claims = 0
    held_until: list[str] = []
    for invoice in invoices:
        until = invoice_kept_until(invoice, payments[invoice.id])
        if until is None:
            open_claims += 1
        elif as_of <= date.fromisoformat(until):
            held_until.append(until)
        else:
            records.remove_invoice(invoice, payments[invoice.id])
            erased["invoices"] += 1
            erased["payments"] += len(payments[invoice.id])
    records.flush()
    if held_until:
        kept.append(
            KeptRecords(
                "invoices and payments",
                len(held_until),
                max(held_until),
                "accounting records: 7 years from the end of the financial year "
                "(Estonian Accounting Act)",
            )
        )
    if open_claims:
        kept.append(
            KeptRecords(
                "unpaid invoices",
                open_claims,
                None,
                "an open claim is kept until it is settled, then as an accounting record",
            )
        )


# -- objection (Art. 21) ---------------------------------------------------------------------


def object_to_profiling(
    *, session: Session, code: str, pseudonym_key: bytes, now: datetime, requester: Requester
) -> ObjectionReceipt:
    """Record the objection so that every later application goes to human review; audited."""
    pseudonym = pseudonym_of(code, pseudonym_key=pseudonym_key)
    with session.begin():
        records = SubjectRecords(session)
        customer = records.customer_to_change(pseudonym)
        if customer is None:
            # A person not known yet: a bare row keeps the objection for a first application.
            customer = records.add_customer(pseudonym)
        already = customer.objected_to_profiling_at is not None
        if not already:
            customer.objected_to_profiling_at = now
        receipt = ObjectionReceipt(
            objected_at=customer.objected_to_profiling_at or now, already_recorded=already
        )
        records.flush()
        _audit(session, at=now, action="subject.objection", pseudonym=pseudonym,
               requester=requester, details={"already_recorded": already})  # fmt: skip
    return receipt


# -- requests of a client, with the person's identity proven (the API) -----------------------


def _proven(
    request: SubjectRequestKind,
    *,
    sessions: sessionmaker[Session],
    client_id: str,
    assertion: str | None,
    code: str,
    pseudonym_key: bytes,
    limits: SubjectLimits,
    now: datetime,
) -> Requester:
    pseudonym = pseudonym_of(code, pseudonym_key=pseudonym_key)
    return prove(
        sessions=sessions,
        client_id=client_id,
        assertion=assertion,
        personal_code=code,
        pseudonym=pseudonym,
        request=request,
        limits=limits,
        now=now,
    )


def access_with_proof(
    *,
    sessions: sessionmaker[Session],
    client_id: str,
    assertion: str | None,
    code: str,
    pseudonym_key: bytes,
    limits: SubjectLimits,
    now: datetime,
) -> dict[str, Any]:
    """:func:`export_subject` for a client whose channel proved the person's identity."""
    requester = _proven(SubjectRequestKind.ACCESS, sessions=sessions, client_id=client_id,
                        assertion=assertion, code=code, pseudonym_key=pseudonym_key,
                        limits=limits, now=now)  # fmt: skip
    with sessions() as session:
        return export_subject(
            session=session, code=code, pseudonym_key=pseudonym_key, now=now, requester=requester
        )


def erasure_with_proof(
    *,
    sessions: sessionmaker[Session],
    client_id: str,
    assertion: str | None,
    code: str,
    pseudonym_key: bytes,
    limits: SubjectLimits,
    now: datetime,
) -> ErasureReport:
    """:func:`erase_subject` for a client whose channel proved the person's identity."""
    requester = _proven(SubjectRequestKind.ERASURE, sessions=sessions, client_id=client_id,
                        assertion=assertion, code=code, pseudonym_key=pseudonym_key,
                        limits=limits, now=now)  # fmt: skip
    with sessions() as session:
        return erase_subject(
            session=session, code=code, pseudonym_key=pseudonym_key, now=now, requester=requester
        )


def objection_with_proof(
    *,
    sessions: sessionmaker[Session],
    client_id: str,
    assertion: str | None,
    code: str,
    pseudonym_key: bytes,
    limits: SubjectLimits,
    now: datetime,
) -> ObjectionReceipt:
    """:func:`object_to_profiling` for a client whose channel proved the person's identity."""
    requester = _proven(SubjectRequestKind.OBJECTION, sessions=sessions, client_id=client_id,
                        assertion=assertion, code=code, pseudonym_key=pseudonym_key,
                        limits=limits, now=now)  # fmt: skip
    with sessions() as session:
        return object_to_profiling(
            session=session, code=code, pseudonym_key=pseudonym_key, now=now, requester=requester
        )


# -- requests the data-protection officer enters in the reviewer UI -------------------------


@dataclass(frozen=True)
class OfficerAnswer:
    """What the officer hands the person: the export, the erasure report or the receipt."""

    request: SubjectRequestKind
    export: dict[str, Any] | None = None
    erasure: ErasureReport | None = None
    objection: ObjectionReceipt | None = None


def officer_request(
    *,
    uow: UnitOfWork,
    actor: Actor,
    request: SubjectRequestKind,
    code: str,
    method: IdentificationMethod,
    note: str | None,
    pseudonym_key: bytes,
    now: datetime,
) -> OfficerAnswer:
    """Answer a request the data-protection officer entered, with how they identified the
    person; refused before anything is read for any other role. Audited with the officer."""
    requester = officer_requester(actor=actor, method=method, note=note)
    pseudonym_of(code, pseudonym_key=pseudonym_key)  # a wrong code is refused before a read
    with uow:
        session = uow.session
        if request is SubjectRequestKind.ACCESS:
            export = export_subject(session=session, code=code, pseudonym_key=pseudonym_key,
                                    now=now, requester=requester)  # fmt: skip
            return OfficerAnswer(request, export=export)
        if request is SubjectRequestKind.ERASURE:
            report = erase_subject(session=session, code=code, pseudonym_key=pseudonym_key,
                                   now=now, requester=requester)  # fmt: skip
            return OfficerAnswer(request, erasure=report)
        receipt = object_to_profiling(session=session, code=code, pseudonym_key=pseudonym_key,
                                      now=now, requester=requester)  # fmt: skip
        return OfficerAnswer(request, objection=receipt)
