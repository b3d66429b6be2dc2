"""Data-subject requests: access, erasure and objection, each audited, none echoing the code."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from scoring.domain.pseudonym import pseudonymise
from scoring.service import audit
from scoring.service.subject_requests import (
    InvalidSubjectRequest,
    erase_subject,
    export_subject,
    object_to_profiling,
    render_export_html,
)
from scoring.storage import tables as t
from scoring.storage.tables_payment_defaults import IdentityVaultEntry

from .conftest import CODE, OTHER_CODE, PSEUDONYM_KEY, REQUESTER, count

NOW = datetime(2030, 6, 15, 9, 0, tzinfo=UTC)
PSEUDONYM = pseudonymise(CODE, key=PSEUDONYM_KEY)


def call(action, sessions, code=CODE):
    with sessions() as session:
        return action(
            session=session, code=code, pseudonym_key=PSEUDONYM_KEY, now=NOW, requester=REQUESTER
        )


def trail(sessions):
    with sessions() as session:
        entries = audit.entries_for(
            session=session, entity_type="data_subject", entity_id=PSEUDONYM
        )
        return [(e.action, e.details) for e in entries]


@pytest.fixture
def person(seed):
    """A customer with old and recent invoices, a contested decline and an approved plan."""
    customer = seed.customer(CODE, since=date(2018, 1, 1))
    seed.invoice(customer, issued=date(2019, 3, 1))
    seed.invoice(customer, issued=date(2029, 3, 1))
    seed.application(
        customer, applied=date(2021, 1, 5), outcome="decline", case="resolved",
        case_resolved=date(2021, 2, 1),
    )  # fmt: skip
    seed.application(customer, applied=date(2030, 3, 1), outcome="decline")
    seed.application(customer, applied=date(2029, 1, 10), term=24, outcome="approve")
    seed.customer(OTHER_CODE)
    return customer


def test_the_export_holds_data_decisions_explanations_reviews_sources_and_retention(
    sessions, person
):
    export = call(export_subject, sessions)

    assert export["held_data"] is True
    assert export["customer"]["customer_since"] == "2018-01-01"
    assert len(export["invoices"]) == 2
    assert export["invoices"][0]["kept_until"] == "2026-12-31"
    assert export["invoices"][0]["payments"][0]["amount_eur"] == "40.00"
    assert len(export["bureau_reports"]) == 3
    assert export["bureau_reports"][0]["default_entries"][0]["creditor_sector"] == "telecom"
    contested = export["applications"][0]
    decision = contested["decisions"][0]
    assert (
        decision["outcome"] == "decline" and decision["reasons"][0]["code"] == "R01_LATE_PAYMENTS"
    )
    assert decision["contributions"] == {"max_dpd_12m": 0.3}
    assert contested["review_cases"][0]["statement"] == "I paid that invoice"
    assert contested["kept_until"] == "2024-02-01"
    assert [a["kept_until"] for a in export["applications"][1:]] == ["2034-01-10", "2030-09-01"]
    assert "Creditinfo" in export["sources"]["bureau_reports"]
    assert "7 years" in export["retention_rules"]["accounting_P7Y_after_financial_year"]
    assert CODE not in str(export) and PSEUDONYM not in str(export)
    assert trail(sessions) == [
        ("subject.access", {"held_data": True, "identity": dict(REQUESTER.evidence)})
    ]


def test_the_export_page_is_readable_and_escapes_what_it_shows(sessions, person):
    page = render_export_html(call(export_subject, sessions))

    assert "<h1>Data held about you</h1>" in page
    assert "Late payments &lt;b&gt;" in page and "Late payments <b>" not in page
    assert "I paid that invoice" in page and "2026-12-31" in page


def test_a_person_nothing_is_held_about_gets_an_empty_export(sessions, seed):
    export = call(export_subject, sessions)
    assert export["held_data"] is False and export["applications"] == []
    assert "hold no data" in render_export_html(export)


def test_erasure_removes_what_no_obligation_holds_and_says_what_was_kept_and_why(sessions, person):
    report = call(erase_subject, sessions)

    assert report.held_data
    assert report.erased["applications"] == 1 and report.erased["decisions"] == 1
    assert report.erased["review_cases"] == 1 and report.erased["bureau_reports"] == 1
    assert report.erased["invoices"] == 1 and report.erased["payments"] == 1
    assert report.erased["customers"] == 0
    reasons = {(k.records.split()[0], k.kept_until, k.reason.split(":")[0]) for k in report.kept}
    assert reasons == {
        ("applications", "2030-09-01", "decision log"),
        ("applications", "2034-01-10", "contract data"),
        ("invoices", "2036-12-31", "accounting records"),
        (
            "customer",
            None,
            "links the records above that must be kept; removed with the last of them",
        ),
    }
    with sessions() as session:
        assert session.scalar(select(t.Customer.id).where(t.Customer.pseudonym == PSEUDONYM))
    assert count(sessions, t.Customer) == 2  # the other person is untouched
    ((action, details),) = trail(sessions)
    assert action == "subject.erasure" and details["erased"]["applications"] == 1


def test_erasure_of_a_person_with_nothing_left_to_keep_removes_them_and_their_vault_entry(
    sessions, seed
):
    customer = seed.customer(CODE, since=None)
    seed.application(customer, applied=date(2028, 1, 5), outcome="decline")
    with sessions() as session, session.begin():
        session.add(
            IdentityVaultEntry(
                pseudonym=PSEUDONYM, nonce=b"n" * 12, ciphertext=b"c", created_at=NOW
            )
        )

    report = call(erase_subject, sessions)

    assert report.erased["customers"] == 1 and report.kept == []
    assert count(sessions, t.Customer) == 0 and count(sessions, IdentityVaultEntry) == 0
    assert count(sessions, t.DecisionLogEntry) == 1  # the evidence stays, without the person


def test_an_objection_is_recorded_once_and_audited(sessions, seed):
    customer = seed.customer(CODE)

    first = call(object_to_profiling, sessions)
    second = call(object_to_profiling, sessions)

    assert not first.already_recorded and second.already_recorded
    assert first.objected_at == second.objected_at == NOW
    with sessions() as session:
        assert session.get(t.Customer, customer).objected_to_profiling_at == NOW
    assert [a for a, _ in trail(sessions)] == ["subject.objection", "subject.objection"]


def test_an_objection_of_an_unknown_person_waits_for_their_first_application(sessions, seed):
    call(object_to_profiling, sessions)
    with sessions() as session:
        row = session.scalar(select(t.Customer))
    assert row.pseudonym == PSEUDONYM and row.customer_since is None
    assert row.objected_to_profiling_at == NOW


@pytest.mark.parametrize("code", ["38001085719", "3800108571", "99999999999"])
def test_an_invalid_code_is_refused_without_repeating_it_and_nothing_is_stored(
    sessions, seed, code
):
    for action in (export_subject, erase_subject, object_to_profiling):
        with pytest.raises(InvalidSubjectRequest) as refused:
            call(action, sessions, code=code)
        assert refused.value.field == "personal_code" and code not in refused.value.message
    assert count(sessions, t.AuditLogEntry) == 0 and count(sessions, t.Customer) == 0
