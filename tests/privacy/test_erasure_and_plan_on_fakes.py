"""Erasure and the sweep's plan as rules over repositories: run on in-memory fakes, no database."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

from scoring.service.retention import plan_from
from scoring.service.subject_requests import erase_held_records

NOW = datetime(2030, 6, 1, 12, tzinfo=UTC)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=UTC)


def _application(app_id: int, applied_on: date, *, report: int | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        id=app_id,
        customer_id=1,
        client_id="sales",
        applied_at=_at(applied_on),
        term_months=12,
        bureau_report_id=report,
    )


def _decision(decision_id: str, app_id: int, decided_on: date, outcome: str) -> SimpleNamespace:
    return SimpleNamespace(
        id=decision_id,
        application_id=app_id,
        outcome=outcome,
        decided_at=_at(decided_on),
        supersedes_decision_id=None,
    )


def _case(case_id: str, decision_id: str, status: str, resolved_on: date | None = None):
    resolved_at = None if resolved_on is None else _at(resolved_on)
    return SimpleNamespace(
        id=case_id, decision_id=decision_id, status=status, resolved_at=resolved_at
    )


def _invoice(
    invoice_id: int, issued_on: date, *, paid: str, amount: str = "100"
) -> SimpleNamespace:
    return SimpleNamespace(
        id=invoice_id,
        customer_id=1,
        issued_on=issued_on,
        paid_in_full_on=issued_on if paid == amount else None,
        sent_to_collection_on=None,
        amount=Decimal(amount),
        paid=Decimal(paid),
    )


@dataclass
class FakeSubjectRecords:
    """One person's records held in lists; removals are recorded, not applied."""

    applications_held: list[SimpleNamespace] = field(default_factory=list)
    decisions_made: list[SimpleNamespace] = field(default_factory=list)
    cases: list[SimpleNamespace] = field(default_factory=list)
    invoices_held: list[SimpleNamespace] = field(default_factory=list)
    report_ids: list[int] = field(default_factory=list)
    removed_invoices: list[int] = field(default_factory=list)
    flushed: bool = False

    def applications(self, customer_id: int) -> list[SimpleNamespace]:
        return list(self.applications_held)

    def decisions(self, application_id: int) -> list[SimpleNamespace]:
        return [d for d in self.decisions_made if d.application_id == application_id]

    def review_cases(self, decision_ids: Sequence[str]) -> list[SimpleNamespace]:
        return [c for c in self.cases if c.decision_id in decision_ids]

    def invoices(self, customer_id: int) -> list[SimpleNamespace]:
        return list(self.invoices_held)

    def payments_by_invoice(self, customer_id: int) -> defaultdict[int, list[SimpleNamespace]]:
        return defaultdict(list)

    def remove_invoice(self, invoice: SimpleNamespace, payments: Sequence[SimpleNamespace]) -> None:
        self.removed_invoices.append(invoice.id)

    def bureau_report_ids(self, customer_id: int) -> list[int]:
        return list(self.report_ids)

    def flush(self) -> None:
        self.flushed = True


@dataclass
class FakeRetentionStore:
    """What erasure asked to remove; ``customer_removable``: nothing else holds the row."""

    customer_removable: bool = True
    removed_applications: list[int] = field(default_factory=list)
    tombstones: list[tuple[str, str]] = field(default_factory=list)
    removed_by: str | None = None

    def remove_applications(self, *, application_ids, case_ids, removed_decisions, at, removed_by):
        self.removed_applications.extend(application_ids)
        self.tombstones.extend(removed_decisions)
        self.removed_by = removed_by

    def remove_bureau_reports(self, report_ids: Sequence[int]) -> int:
        return 0

    def remove_customers(self, customer_ids: Sequence[int]) -> int:
        return 1 if self.customer_removable else 0


CUSTOMER = SimpleNamespace(id=1)


def test_erasure_of_a_person_not_held_removes_nothing():
    records, store = FakeSubjectRecords(), FakeRetentionStore()

    erased, kept = erase_held_records(records, store, None, now=NOW)

    assert set(erased.values()) == {0}
    assert kept == []
    assert store.removed_applications == []


def test_erasure_removes_an_expired_declined_application_and_leaves_a_tombstone():
    records = FakeSubjectRecords(
        applications_held=[_application(7, date(2028, 1, 10))],
        decisions_made=[_decision("D-7", 7, date(2028, 1, 10), "decline")],
    )
    store = FakeRetentionStore()

    erased, kept = erase_held_records(records, store, CUSTOMER, now=NOW)

    assert store.removed_applications == [7]
    assert store.tombstones == [("D-7", "erasure")]
    assert store.removed_by == "erasure"
    assert erased["applications"] == 1 and erased["decisions"] == 1
    assert kept == []


def test_erasure_keeps_a_declined_decision_for_the_decision_log_minimum():
    records = FakeSubjectRecords(
        applications_held=[_application(8, date(2030, 3, 1))],
        decisions_made=[_decision("D-8", 8, date(2030, 3, 1), "decline")],
    )
    store = FakeRetentionStore(customer_removable=False)

    erased, kept = erase_held_records(records, store, CUSTOMER, now=NOW)

    assert store.removed_applications == []
    assert erased["applications"] == 0
    application_kept = kept[0]
    assert application_kept.count == 1
    assert application_kept.kept_until == "2030-09-01"
    assert application_kept.reason.startswith("decision log")
    # The customer row links what is kept, so it stays too and the report says why.
    assert kept[-1].records.startswith("customer link")


def test_erasure_keeps_an_application_whose_review_case_is_open_without_a_date():
    records = FakeSubjectRecords(
        applications_held=[_application(9, date(2020, 1, 1))],
        decisions_made=[_decision("D-9", 9, date(2020, 1, 1), "decline")],
        cases=[_case("C-9", "D-9", "open")],
    )
    store = FakeRetentionStore(customer_removable=False)

    _erased, kept = erase_held_records(records, store, CUSTOMER, now=NOW)

    assert store.removed_applications == []
    assert kept[0].kept_until is None
    assert "open review case" in kept[0].reason


def test_erasure_keeps_an_unpaid_invoice_as_an_open_claim_and_removes_an_expired_one():
    records = FakeSubjectRecords(
        invoices_held=[
            _invoice(1, date(2020, 2, 1), paid="100"),  # kept until the end of 2027
            _invoice(2, date(2029, 2, 1), paid="40"),  # an open claim
        ]
    )
    store = FakeRetentionStore(customer_removable=False)

    erased, kept = erase_held_records(records, store, CUSTOMER, now=NOW)

    assert records.removed_invoices == [1]
    assert records.flushed
    assert erased["invoices"] == 1
    assert [(k.records, k.count, k.kept_until) for k in kept[:1]] == [("unpaid invoices", 1, None)]


@dataclass
class FakePlanStore:
    """Candidates for the sweep's plan, held in lists."""

    applications: list[SimpleNamespace] = field(default_factory=list)
    decisions: list[SimpleNamespace] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)

    def applications_before(self, cutoff: datetime) -> list[SimpleNamespace]:
        return [a for a in self.applications if a.applied_at < cutoff]

    def decisions_by_application(self, ids: Sequence[int]) -> dict[int, list[SimpleNamespace]]:
        found: defaultdict[int, list[SimpleNamespace]] = defaultdict(list)
        for decision in self.decisions:
            if decision.application_id in ids:
                found[decision.application_id].append(decision)
        return found

    def cases_by_decision(self, ids: Sequence[str]) -> dict[str, list[SimpleNamespace]]:
        return {}

    def applications_using_reports(self, report_ids: Sequence[int]) -> list[tuple[int, int]]:
        return [
            (a.id, a.bureau_report_id)
            for a in self.applications
            if a.bureau_report_id in report_ids
        ]

    def unused_reports_before(self, cutoff: datetime) -> list[SimpleNamespace]:
        return []

    def invoices_issued_before(self, cutoff: date) -> list[SimpleNamespace]:
        return []

    def customers_ended_or_never(self) -> list[SimpleNamespace]:
        return []

    def web_sessions_ended_by(self, at: datetime) -> list[str]:
        return list(self.sessions)


def test_the_plan_keeps_a_bureau_report_that_a_kept_application_still_uses():
    store = FakePlanStore(
        applications=[
            _application(1, date(2028, 1, 10), report=50),  # declined long ago: expired
            _application(2, date(2030, 1, 10), report=50),  # declined recently: kept
        ],
        decisions=[
            _decision("D-1", 1, date(2028, 1, 10), "decline"),
            _decision("D-2", 2, date(2030, 1, 10), "decline"),
        ],
    )

    plan = plan_from(store, as_of=NOW.date())

    assert [a.id for a in plan.applications] == [1]
    assert plan.applications[0].rule == "declined_P6M"
    assert plan.application_reports == []


def test_the_plan_lists_ended_web_sessions_from_the_store():
    plan = plan_from(FakePlanStore(sessions=["h1", "h2"]), as_of=NOW.date())

    assert plan.web_sessions == ["h1", "h2"]
    assert plan.counts()["web_sessions"] == 2
