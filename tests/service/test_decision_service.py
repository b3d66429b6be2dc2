"""The decision service decides, explains, stores and logs one application per call."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from service_fakes import BOTH_DATABASES, CODE, PSEUDONYM_KEY, LinearModel, application
from sqlalchemy import func, select, text

from scoring.domain.pseudonym import pseudonymise
from scoring.service.decisions import get_decision
from scoring.service.errors import (
    ApplicationAlreadyDecided,
    DecisionNotFound,
    IdempotencyConflict,
    NoChampionModel,
)
from scoring.service.model_provider import StaticModelProvider
from scoring.storage import tables as t
from scoring.storage.tables_decisions import DecisionInput

STORED_TABLES = (t.Application, t.Decision, t.DecisionLogEntry, DecisionInput, t.ReviewCase)


def counts(uow_factory) -> dict[str, int]:
    with uow_factory() as uow:
        return {
            table.__tablename__: uow.session.scalar(select(func.count()).select_from(table))
            for table in (*STORED_TABLES, t.Customer, t.BureauReport, t.IdempotencyRecord)
        }


@BOTH_DATABASES
def test_a_good_applicant_is_approved_and_everything_is_stored_before_the_answer(
    decide, uow_factory
):
    view = decide(application(amount=500, term=12))

    assert view.outcome == "approve" and view.automated
    assert 0 < view.probability_of_default < 0.06 and view.risk_grade == "C"
    assert view.model == {"name": "installment-pd", "version": "1"}
    assert view.policy_version == "2026.11.1"
    assert view.contract_versions["decision_request"] == "1.0.0"
    assert view.contract_versions["training_snapshot"] == "1.0.0"
    assert view.contest["until"] == view.decided_at + timedelta(days=90)
    assert view.letter is None and view.counterfactual is None
    assert all(r["contribution"] > 0 for r in view.reasons) and len(view.reasons) <= 4
    with uow_factory() as uow:
        decision = uow.session.get(t.Decision, view.decision_id)
        customer = uow.session.scalar(select(t.Customer))
        inputs = uow.session.get(DecisionInput, view.decision_id)
        entry = uow.session.scalar(select(t.DecisionLogEntry))
    assert decision.probability_of_default == view.probability_of_default
    assert customer.customer_since is None  # a new applicant: thin file
    assert customer.pseudonym == pseudonymise(CODE, key=PSEUDONYM_KEY)
    assert inputs.features["thin_file"] == 1.0 and inputs.facts["age_years"] == 46
    assert entry.decision_id == view.decision_id and entry.seq == 1


def test_the_personal_code_is_stored_nowhere(decide, uow_factory, migrated_engine):
    decide(application())
    with migrated_engine.connect() as connection:
        for table in t.Base.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                assert CODE not in str(tuple(row)), table.name


def test_a_large_short_plan_is_declined_with_reasons_letters_and_a_valid_counterfactual(
    decide, uow_factory
):
    view = decide(application(amount=3900, term=6))

    assert view.outcome == "decline" and view.automated
    assert view.reasons[0]["code"] == "R08_INSTALMENT_SIZE"
    assert view.counterfactual["change"] == "term"
    suggested = view.counterfactual["suggested"]
    assert suggested["amount_eur"] == 3900 and suggested["term_months"] == 36
    assert "36" in view.counterfactual["text_en"]
    assert "Creditinfo Eesti AS" in view.letter["en"] and "hea" in view.letter["et"]
    assert view.counterfactual["text_en"] in view.letter["en"]

    again = decide(
        application(application_id="APP-0002", amount=suggested["amount_eur"],
                    term=suggested["term_months"]),
    )  # fmt: skip
    assert again.outcome == "approve" and again.model == view.model
    assert again.probability_of_default == pytest.approx(suggested["probability_of_default"])


@pytest.mark.parametrize("failure", ["unavailable", "malformed"])
def test_no_bureau_answer_refers_and_never_declines(decide, bureau, uow_factory, failure):
    bureau.failure = failure
    view = decide(application(amount=3900, term=6))

    assert view.outcome == "refer" and not view.automated
    assert [r["code"] for r in view.reasons] == ["S01_BUREAU_UNAVAILABLE"]
    assert view.probability_of_default is None and view.model is None
    assert "did not answer" in view.letter["en"]
    assert counts(uow_factory)["bureau_reports"] == 0


@BOTH_DATABASES
def test_a_request_for_human_review_opens_a_review_case_due_in_a_month(decide, uow_factory):
    view = decide(application(human_review_requested=True))

    assert view.outcome == "pending_review" and not view.automated
    assert [r["code"] for r in view.reasons] == ["S02_HUMAN_REVIEW_REQUESTED"]
    with uow_factory() as uow:
        case = uow.session.scalar(select(t.ReviewCase))
    assert (case.decision_id, case.kind, case.status) == (
        view.decision_id, "human_review_requested", "open",
    )  # fmt: skip
    assert case.due_at.date() == date(2026, 12, 21)  # 20 December 2026 is a Sunday


def test_an_objection_to_profiling_is_honoured_without_bureau_or_model(
    decide, bureau, models, uow_factory
):
    decide(application(application_id="APP-0001"))
    with uow_factory() as uow:
        customer = uow.session.scalar(select(t.Customer))
        customer.objected_to_profiling_at = datetime(2026, 11, 1, tzinfo=UTC)
    calls_before = (len(bureau.codes_seen), models.champion().calls)

    view = decide(application(application_id="APP-0002"))

    assert view.outcome == "pending_review"
    assert [r["code"] for r in view.reasons] == ["S03_PROFILING_OBJECTION"]
    assert (len(bureau.codes_seen), models.champion().calls) == calls_before
    with uow_factory() as uow:
        assert uow.session.scalar(select(t.ReviewCase.kind)) == "objection"


def test_the_oversight_switch_sends_every_application_to_a_person(decide, paused_policy):
    view = decide(application(), policy=paused_policy)
    assert view.outcome == "pending_review" and not view.automated
    assert [r["code"] for r in view.reasons] == ["S04_AUTOMATION_PAUSED"]


def test_without_a_champion_nothing_is_decided_or_stored(decide, bureau, uow_factory):
    before = counts(uow_factory)
    with pytest.raises(NoChampionModel, match="no champion model"):
        decide(application(), models=StaticModelProvider(None))
    assert counts(uow_factory) == before and bureau.codes_seen == []


def test_the_challenger_is_scored_in_shadow_and_never_shown(decide, uow_factory):
    models = StaticModelProvider(LinearModel(version="1", intercept=-4.5),
                                 LinearModel(version="2", intercept=-2.0))  # fmt: skip
    view = decide(application(amount=500, term=12), models=models)

    assert view.outcome == "approve" and view.challenger_disagrees is True
    with uow_factory() as uow:
        shadow = uow.session.get(t.Decision, view.decision_id).shadow
    assert shadow["model"]["version"] == "2" and shadow["outcome"] != "approve"
    assert view.model["version"] == "1"


def test_internal_arrears_from_stored_history_decline_by_rule(decide, uow_factory):
    with uow_factory() as uow:
        customer = t.Customer(
            pseudonym=pseudonymise(CODE, key=PSEUDONYM_KEY), customer_since=date(2020, 1, 1)
        )
        uow.session.add(customer)
        uow.session.flush()
        uow.session.add(
            t.Invoice(
                invoice_number="INV-1", customer_id=customer.id, issued_on=date(2026, 7, 1),
                due_on=date(2026, 7, 15), amount=Decimal("80.00"), paid=Decimal("0"),
                reminders_sent=3,
            )
        )  # fmt: skip

    view = decide(application(amount=500, term=12))

    assert view.outcome == "decline"
    assert view.policy_rules == [{"code": "P02_INTERNAL_ARREARS", "effect": "decline"}]
    # Paying the invoice lifts the arrears rule, but its long delay stays on record and keeps
    # the PD above the cut-off at any amount and term: nothing to suggest.
    assert view.counterfactual is None
    with uow_factory() as uow:
        features = uow.session.get(DecisionInput, view.decision_id).features
    assert features["current_dpd"] > 60 and features["thin_file"] == 0.0


@BOTH_DATABASES
def test_a_retry_with_the_same_key_and_body_returns_the_same_decision(decide, uow_factory):
    first = decide(application(), key="retry-1")
    stored = counts(uow_factory)
    second = decide(application(), key="retry-1")

    assert second.decision_id == first.decision_id and second.idempotent_replay
    assert counts(uow_factory) == stored


@BOTH_DATABASES
def test_the_same_key_with_another_body_is_a_conflict_and_stores_nothing(decide, uow_factory):
    decide(application(), key="retry-1")
    stored = counts(uow_factory)
    with pytest.raises(IdempotencyConflict, match="different request body"):
        decide(application(amount=501), key="retry-1")
    assert counts(uow_factory) == stored


@BOTH_DATABASES
@pytest.mark.parametrize("twin_key", ["twin", "other"])
def test_a_twin_stored_while_this_request_was_deciding_answers_it(
    decide, bureau, uow_factory, twin_key
):
    # The twin is stored after this request's reads and before its write: the check made in
    # the writer's turn finds it (a replay for the same key, a refusal for another).
    twin = {}
    fetch = bureau.fetch_report

    def fetch_after_the_twin_is_stored(code, **options):
        if not twin:
            twin["running"] = True
            twin["view"] = decide(application(), key=twin_key)
        return fetch(code, **options)

    bureau.fetch_report = fetch_after_the_twin_is_stored
    if twin_key == "twin":
        view = decide(application(), key="twin")
        assert view.idempotent_replay and view.decision_id == twin["view"].decision_id
    else:
        with pytest.raises(ApplicationAlreadyDecided, match="APP-0001 was already decided"):
            decide(application(), key="twin")
    counted = counts(uow_factory)
    assert (counted["decisions"], counted["decision_log"], counted["idempotency_records"]) == (
        1, 1, 1,
    )  # fmt: skip


@BOTH_DATABASES
def test_an_application_id_decided_before_is_refused_under_a_new_key(decide, uow_factory):
    decide(application(), key="a")
    with pytest.raises(ApplicationAlreadyDecided, match="APP-0001 was already decided"):
        decide(application(), key="b")


def test_a_client_sees_only_its_own_decisions(decide, uow_factory, client):
    from scoring.service.api_keys import AuthenticatedClient

    view = decide(application())
    assert get_decision(uow=uow_factory(), client=client, decision_id=view.decision_id) == view
    stranger = AuthenticatedClient("other", "other", frozenset({"decisions:read"}), "x")
    with pytest.raises(DecisionNotFound):
        get_decision(uow=uow_factory(), client=stranger, decision_id=view.decision_id)


@BOTH_DATABASES
def test_a_failure_while_storing_leaves_nothing_behind(decide, uow_factory, migrated_engine):
    before = counts(uow_factory)
    with migrated_engine.begin() as connection:
        connection.execute(text("DROP TABLE decision_inputs"))
    with pytest.raises(Exception, match="decision_inputs"):
        decide(application())
    with uow_factory() as uow:
        for table in (t.Application, t.Decision, t.DecisionLogEntry, t.Customer):
            assert (
                uow.session.scalar(select(func.count()).select_from(table))
                == before[table.__tablename__]
            )
