"""An application's retention date: one function, asked by the sweep and by subject requests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from scoring.service import retention, subject_requests


def _application(applied_on: date, term_months: int = 12) -> SimpleNamespace:
    applied_at = datetime(applied_on.year, applied_on.month, applied_on.day, 10, tzinfo=UTC)
    return SimpleNamespace(client_id="sales", applied_at=applied_at, term_months=term_months)


def _decision(decided_on: date, outcome: str, *, id: str = "D-1") -> SimpleNamespace:
    decided_at = datetime(decided_on.year, decided_on.month, decided_on.day, 10, tzinfo=UTC)
    return SimpleNamespace(
        id=id, outcome=outcome, decided_at=decided_at, supersedes_decision_id=None
    )


def _case(status: str, resolved_on: date | None = None) -> SimpleNamespace:
    resolved_at = (
        None
        if resolved_on is None
        else datetime(resolved_on.year, resolved_on.month, resolved_on.day, tzinfo=UTC)
    )
    return SimpleNamespace(status=status, resolved_at=resolved_at)


APPLIED = date(2026, 1, 15)


def test_the_sweep_and_subject_requests_use_the_same_function():
    assert subject_requests.application_kept_until is retention.application_kept_until


def test_a_declined_application_is_kept_six_months_after_the_decision():
    decisions = [_decision(APPLIED, "decline")]
    kept = retention.application_kept_until(_application(APPLIED), decisions, [])
    assert kept == date(2026, 7, 15)


def test_an_approved_application_is_kept_for_the_contract_and_three_years():
    decisions = [_decision(APPLIED, "approve")]
    kept = retention.application_kept_until(_application(APPLIED, 12), decisions, [])
    assert kept == date(2030, 1, 15)


def test_an_open_review_case_keeps_the_application_and_a_closed_one_three_years():
    decisions = [_decision(APPLIED, "decline")]
    application = _application(APPLIED)
    assert retention.application_kept_until(application, decisions, [_case("open")]) is None
    closed = [_case("resolved", date(2026, 3, 1))]
    assert retention.application_kept_until(application, decisions, closed) == date(2029, 3, 1)
