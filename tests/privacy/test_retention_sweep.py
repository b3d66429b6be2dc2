"""The retention sweep removes exactly what its contract no longer allows, and nothing else."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from scoring.domain.hash_chain import ChainEntry, verify_chain
from scoring.service import audit
from scoring.service.retention import plan_sweep, run_sweep
from scoring.storage import tables as t
from scoring.storage.tables_privacy import RemovedDecision

from .conftest import count

AS_OF = date(2030, 6, 15)
DAY = timedelta(days=1)


def exists(sessions, model, row_id) -> bool:
    with sessions() as session:
        return session.get(model, row_id) is not None


def sweep(sessions, as_of=AS_OF, **options):
    return run_sweep(
        sessions=sessions, as_of=as_of, clock=lambda: datetime(2030, 6, 15, tzinfo=UTC), **options
    )


def test_a_declined_quote_is_kept_six_months_after_the_decision_and_not_a_day_longer(
    sessions, seed
):
    person = seed.customer(since=None)
    kept, kept_decision = seed.application(person, applied=date(2029, 12, 15), outcome="decline")
    swept, swept_decision = seed.application(person, applied=date(2029, 12, 14), outcome="decline")

    report = sweep(sessions)

    assert exists(sessions, t.Application, kept) and exists(sessions, t.Decision, kept_decision)
    assert not exists(sessions, t.Application, swept)
    assert not exists(sessions, t.Decision, swept_decision)
    assert report.counts["applications"] == 1 and report.counts["decisions"] == 1
    assert report.counts["bureau_reports"] == 1  # the swept application's report went with it


def test_contract_data_is_kept_for_the_contract_life_plus_three_years(sessions, seed):
    person = seed.customer()
    # 12 instalments from 15 June 2026 end 15 June 2027; plus 3 years is 15 June 2030.
    kept, _ = seed.application(person, applied=date(2026, 6, 15), outcome="approve")
    swept, _ = seed.application(person, applied=date(2026, 6, 14), outcome="approve")
    historical_kept, _ = seed.application(person, applied=date(2026, 6, 15))
    historical_swept, _ = seed.application(person, applied=date(2026, 6, 14))

    sweep(sessions)

    assert exists(sessions, t.Application, kept) and exists(
        sessions, t.Application, historical_kept
    )
    assert not exists(sessions, t.Application, swept)
    assert not exists(sessions, t.Application, historical_swept)


def test_a_review_case_holds_its_decision_three_years_after_it_closed_and_for_ever_while_open(
    sessions, seed
):
    person = seed.customer(since=None)
    old = date(2020, 1, 10)
    kept, _ = seed.application(
        person, applied=old, outcome="decline", case="resolved", case_resolved=date(2027, 6, 15)
    )
    swept, _ = seed.application(
        person, applied=old, outcome="decline", case="resolved", case_resolved=date(2027, 6, 14)
    )
    still_open, _ = seed.application(person, applied=old, outcome="decline", case="open")

    report = sweep(sessions)

    assert exists(sessions, t.Application, kept) and exists(sessions, t.Application, still_open)
    assert not exists(sessions, t.Application, swept)
    assert report.counts["review_cases"] == 1
    assert count(sessions, t.ReviewCase) == 2


@pytest.mark.parametrize(
    ("as_of", "removed"), [(date(2029, 12, 31), 0), (date(2030, 1, 1), 1)], ids=["last", "after"]
)
def test_accounting_records_are_kept_seven_years_from_the_end_of_the_financial_year(
    sessions, seed, as_of, removed
):
    person = seed.customer()
    # Issued in December 2021 and paid in January 2022: the payment's year counts.
    late_paid = seed.invoice(person, issued=date(2021, 12, 20), paid_on=date(2022, 1, 5))
    seed.invoice(person, issued=date(2022, 12, 31))
    unpaid = seed.invoice(person, issued=date(2010, 3, 1), open_claim=True)

    report = sweep(sessions, as_of=as_of)

    assert report.counts["invoices"] == 2 * removed and report.counts["payments"] == 2 * removed
    assert exists(sessions, t.Invoice, late_paid) is not bool(removed)
    assert exists(sessions, t.Invoice, unpaid)  # an open claim is never swept


def test_a_customer_goes_five_years_after_the_relationship_once_nothing_of_theirs_remains(
    sessions, seed
):
    kept = seed.customer(ended=date(2025, 6, 15))
    swept = seed.customer(ended=date(2025, 6, 14))
    held_by_invoice = seed.customer(ended=date(2020, 1, 1))
    seed.invoice(held_by_invoice, issued=date(2024, 5, 1))
    objected = seed.customer(since=None, objected=datetime(2024, 1, 1, tzinfo=UTC))
    active = seed.customer(ended=None)

    report = sweep(sessions)

    assert report.counts["customers"] == 1
    assert not exists(sessions, t.Customer, swept)
    for customer_id in (kept, held_by_invoice, objected, active):
        assert exists(sessions, t.Customer, customer_id)


def test_a_never_customer_goes_with_the_last_of_their_quotes_in_the_same_run(sessions, seed):
    person = seed.customer(since=None)
    seed.application(person, applied=date(2028, 1, 5), outcome="decline")

    report = sweep(sessions)

    assert report.counts["customers"] == 1 and not exists(sessions, t.Customer, person)


def test_a_bureau_report_without_application_is_kept_six_months(sessions, seed):
    person = seed.customer()
    kept = seed.report(person, requested=date(2029, 12, 15))
    swept = seed.report(person, requested=date(2029, 12, 14))

    sweep(sessions)

    assert exists(sessions, t.BureauReport, kept) and not exists(sessions, t.BureauReport, swept)
    assert count(sessions, t.BureauDefaultEntry) == 1


def aged_mix(seed) -> None:
    person = seed.customer(since=None)
    for days in range(4):
        seed.application(person, applied=date(2028, 1, 1) + DAY * days, outcome="decline")
    customer = seed.customer(ended=date(2015, 1, 1))
    seed.invoice(customer, issued=date(2015, 1, 1))
    seed.invoice(customer, issued=date(2015, 2, 1))


def test_a_dry_run_changes_nothing_and_reports_what_the_real_run_then_removes(sessions, seed):
    aged_mix(seed)
    before = {m: count(sessions, m) for m in (t.Application, t.Invoice, t.AuditLogEntry)}

    dry = sweep(sessions, dry_run=True)

    assert {m: count(sessions, m) for m in before} == before
    real = sweep(sessions)
    assert dry.dry_run and not real.dry_run
    assert dry.counts == real.counts and real.total == 4 + 4 + 4 + 2 + 2 + 2
    assert count(sessions, t.Customer) == 0


def test_a_second_run_does_nothing(sessions, seed):
    aged_mix(seed)
    sweep(sessions)
    entries = count(sessions, t.AuditLogEntry)

    again = sweep(sessions)

    assert again.total == 0 and again.batches == 0
    assert count(sessions, t.AuditLogEntry) == entries


def test_every_batch_is_audited_and_the_audit_chain_holds(sessions, seed):
    aged_mix(seed)
    report = sweep(sessions, batch_size=2)

    with sessions() as session:
        entries = audit.entries_for(
            session=session, entity_type="retention_run", entity_id=report.run_id
        )
        assert audit.verify(session=session) == []
    assert len(entries) == report.batches == 2 + 2 + 1 + 1
    assert [e.action for e in entries][:2] == ["retention.applications_removed"] * 2
    assert sum(e.details["removed"].get("applications", 0) for e in entries) == 4


def test_the_decision_log_keeps_its_entries_and_stays_verifiable(sessions, seed):
    aged_mix(seed)
    with sessions() as session:
        logged = session.scalars(select(t.DecisionLogEntry.decision_id)).all()

    sweep(sessions)

    with sessions() as session:
        entries = session.scalars(select(t.DecisionLogEntry).order_by(t.DecisionLogEntry.seq)).all()
        tombstones = session.scalars(select(RemovedDecision)).all()
    assert len(entries) == len(logged) == 4
    assert (
        verify_chain(ChainEntry(e.seq, e.payload, e.prev_hash, e.entry_hash) for e in entries) == []
    )
    assert sorted(r.decision_id for r in tombstones) == sorted(logged)
    assert {(r.removed_by, r.rule) for r in tombstones} == {("retention", "declined_P6M")}


def test_an_interrupted_sweep_leaves_whole_batches_and_the_next_run_finishes(sessions, seed):
    aged_mix(seed)
    readings = iter(range(100))

    def failing_clock():
        if next(readings) == 2:
            raise RuntimeError("power cut")
        return datetime(2030, 6, 15, tzinfo=UTC)

    with pytest.raises(RuntimeError, match="power cut"):
        run_sweep(sessions=sessions, as_of=AS_OF, clock=failing_clock, batch_size=1)

    # Two applications went, each with its decision, tombstone and audit entry; no half batch.
    assert count(sessions, t.Application) == 2
    assert count(sessions, t.Decision) == 2 and count(sessions, RemovedDecision) == 2
    assert count(sessions, t.AuditLogEntry) == 2
    rest = sweep(sessions)
    assert rest.counts["applications"] == 2 and count(sessions, t.Customer) == 0
    with sessions() as session:
        assert plan_sweep(session=session, as_of=AS_OF).counts() == dict.fromkeys(rest.counts, 0)


def test_reviewer_sessions_go_once_they_are_over(sessions):
    from scoring.storage.tables_web_sessions import WebSession

    start = datetime(2030, 6, 15, tzinfo=UTC)  # AS_OF, as the sweep reads it
    minute = timedelta(minutes=1)
    with sessions() as session, session.begin():
        reviewer = t.User(username="mari", password_hash="x", role="reviewer")
        session.add(reviewer)
        session.flush()

        def signed_in(token, at, *, seen=None, revoked=None):
            session.add(
                WebSession(
                    token_hash=token, user_id=reviewer.id, csrf_token="c", created_at=at,
                    last_seen_at=seen or at, expires_at=at + timedelta(hours=12),
                    revoked_at=revoked,
                )
            )  # fmt: skip

        signed_in("signed-out", start - 10 * minute, revoked=start - 5 * minute)
        signed_in("idle", start - 40 * minute, seen=start - 30 * minute)
        signed_in("past-its-end", start - timedelta(hours=12), seen=start - minute)
        signed_in("in-use", start - timedelta(hours=11), seen=start - 29 * minute)

    report = sweep(sessions)

    with sessions() as session:
        assert session.scalars(select(WebSession.token_hash)).all() == ["in-use"]
        entries = audit.entries_for(
            session=session, entity_type="retention_run", entity_id=report.run_id
        )
    assert report.counts["web_sessions"] == 3
    assert [e.action for e in entries] == ["retention.web_sessions_removed"]
    assert sweep(sessions).total == 0
