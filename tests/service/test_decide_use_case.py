"""The decision use case's branches, on a fake unit of work: no database, only the rules.

What depends on the database itself (statements, locks, pipelining, concurrent writers)
is specified by test_decision_service.py on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
from decision_fakes import CaseRecorder, FakeDatabase, FakeUnitOfWork
from service_fakes import PSEUDONYM_KEY, FakeBureau, LinearModel, StepClock, application

from scoring.domain.review import CaseKind
from scoring.service.api_keys import AuthenticatedClient
from scoring.service.decisions import decide_application, make_decision
from scoring.service.errors import (
    ApplicationAlreadyDecided,
    AuthenticationFailed,
    IdempotencyConflict,
    ScopeMissing,
)
from scoring.service.model_provider import StaticModelProvider
from scoring.service.policy_files import current_policy

CLIENT = AuthenticatedClient("sales", "sales", frozenset({"decisions:write"}), "0123456789ab")


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def bureau() -> FakeBureau:
    return FakeBureau("good")


@pytest.fixture
def decide(db, bureau):
    """``make_decision`` on the fake unit of work; keyword arguments override the defaults."""
    models = StaticModelProvider(LinearModel(version="1", intercept=-4.5))
    clock = StepClock()

    def run(request, *, key=None, uow=None, **overrides):
        arguments = dict(
            client=CLIENT, uow=uow or FakeUnitOfWork(db), bureau=bureau, models=models,
            policy=current_policy(), pseudonym_key=PSEUDONYM_KEY, clock=clock,
            open_case=CaseRecorder(db),
        )  # fmt: skip
        arguments.update(overrides)
        return make_decision(request=request, idempotency_key=key, **arguments)

    return run


def test_a_decision_is_stored_with_its_log_entry_in_one_committed_turn(decide, db):
    view = decide(application(amount=500, term=12), key="k-1")

    assert view.outcome == "approve" and not view.idempotent_replay
    assert db.counts() == {
        "decisions": 1, "decision_log": 1, "idempotency_records": 1, "customers": 1,
        "bureau_reports": 1, "review_cases": 0,
    }  # fmt: skip
    seq, decision_id, payload = db.log[0]
    entry = json.loads(payload)
    assert (seq, decision_id, entry["kind"]) == (1, view.decision_id, "decision")
    assert entry["record"]["outcome"] == "approve" and db.pending == []


def test_a_retry_with_the_same_key_and_body_answers_the_stored_decision(decide, db, bureau):
    first = decide(application(), key="retry-1")
    stored, asked = db.counts(), len(bureau.codes_seen)

    again = decide(application(), key="retry-1")

    assert again.idempotent_replay and again.decision_id == first.decision_id
    assert again.outcome == first.outcome and again.reasons == first.reasons
    assert db.counts() == stored and len(bureau.codes_seen) == asked  # nothing decided again


def test_a_key_reused_with_another_body_is_a_conflict(decide, db):
    decide(application(), key="retry-1")
    stored = db.counts()

    with pytest.raises(IdempotencyConflict, match="different request body"):
        decide(application(amount=501), key="retry-1")
    assert db.counts() == stored


def test_an_application_decided_before_is_refused_under_another_key_or_none(decide, db):
    decide(application(), key="a")
    for key in ("b", None):
        with pytest.raises(ApplicationAlreadyDecided, match="APP-0001 was already decided"):
            decide(application(), key=key)
    assert db.counts()["decisions"] == 1


@pytest.mark.parametrize("failure", ["unavailable", "malformed"])
def test_a_bureau_failure_refers_without_a_score_or_a_report(decide, db, bureau, failure):
    bureau.failure = failure

    view = decide(application(amount=3900, term=6))

    assert view.outcome == "refer" and not view.automated
    assert [r["code"] for r in view.reasons] == ["S01_BUREAU_UNAVAILABLE"]
    assert view.probability_of_default is None and view.letter is not None
    assert db.counts()["bureau_reports"] == 0
    assert json.loads(db.log[0][2])["bureau_failure"] == failure


def test_a_request_for_human_review_opens_a_case_with_the_decision(decide, db):
    view = decide(application(human_review_requested=True))

    assert view.outcome == "pending_review"
    assert [(d, k) for d, k, _ in db.cases] == [(view.decision_id, CaseKind.HUMAN_REVIEW_REQUESTED)]


def test_an_objection_opens_an_objection_case_and_consults_nobody(decide, db, bureau):
    first = decide(application(application_id="APP-0001"))
    customer_id = db.customers[db.decisions[first.decision_id].pseudonym]
    db.objected_at[customer_id] = first.decided_at
    asked = len(bureau.codes_seen)

    view = decide(application(application_id="APP-0002"))

    assert [r["code"] for r in view.reasons] == ["S03_PROFILING_OBJECTION"]
    assert db.cases[-1][:2] == (view.decision_id, CaseKind.OBJECTION)
    assert len(bureau.codes_seen) == asked


def test_a_twin_committed_while_deciding_is_found_in_the_writers_turn(decide, db, bureau):
    twin = {}
    fetch = bureau.fetch_report

    def fetch_after_the_twin_is_stored(code, **options):
        if not twin:
            twin["running"] = True
            twin["view"] = decide(application(), key="twin")
        return fetch(code, **options)

    bureau.fetch_report = fetch_after_the_twin_is_stored
    view = decide(application(), key="twin")

    assert view.idempotent_replay and view.decision_id == twin["view"].decision_id
    assert db.counts()["decisions"] == 1 and db.counts()["decision_log"] == 1


def test_a_unique_key_conflict_at_insert_is_answered_by_the_twin_that_won(decide, db):
    # PostgreSQL takes the chain head last, so a twin can commit between check and insert.
    uow = FakeUnitOfWork(db, head_first=False)
    twin = {}
    db.before_next_insert = lambda: twin.setdefault(
        "view", decide(application(), key="twin", uow=FakeUnitOfWork(db))
    )

    view = decide(application(), key="twin", uow=uow)

    assert view.idempotent_replay and view.decision_id == twin["view"].decision_id
    assert uow.opened[0].write_turns == 1 and db.counts()["decisions"] == 1


def test_the_use_case_checks_the_key_and_its_scope_before_anything_else(db, bureau):
    arguments = dict(
        uow=FakeUnitOfWork(db), request=application(), idempotency_key=None, bureau=bureau,
        models=StaticModelProvider(LinearModel(intercept=-4.5)), policy=current_policy(),
        pseudonym_key=PSEUDONYM_KEY, clock=StepClock(), open_case=CaseRecorder(db),
    )  # fmt: skip
    with pytest.raises(AuthenticationFailed, match="not valid"):
        decide_application(api_key="ik_0123456789ab_" + "x" * 43, **arguments)
    reader = db.issue_key(scopes=("decisions:read",))
    with pytest.raises(ScopeMissing, match="decisions:write"):
        decide_application(api_key=reader, **arguments)
    assert bureau.codes_seen == [] and db.counts()["decisions"] == 0

    writer = db.issue_key(scopes=("decisions:write",))
    view = decide_application(api_key=writer, **arguments)
    assert view.outcome == "approve" and db.counts()["decisions"] == 1


def test_the_bureau_and_the_writers_turn_draw_from_the_decisions_budget(decide, db, bureau):
    uow = FakeUnitOfWork(db)
    decide(application(), key="budget", uow=uow, budget_s=4.0)
    (given,) = bureau.budgets_seen
    assert 0 < given <= 4.0, "the bureau gets what is left of the budget"
    (wait,) = uow.opened[0].turn_timeouts
    assert 0 < wait <= given, "the writer waits for its turn at most what is left after it"


def test_a_decision_whose_budget_runs_out_before_it_is_stored_stores_nothing(decide, db, bureau):
    import time

    from scoring.domain.budget import DecisionTimedOut

    fetch = bureau.fetch_report

    def slow_bureau(code, **options):
        time.sleep(0.3)  # a bureau slower than the whole decision's budget
        return fetch(code, **options)

    bureau.fetch_report = slow_bureau
    with pytest.raises(DecisionTimedOut) as caught:
        decide(application(), key="late", budget_s=0.2)
    assert caught.value.step == "storing the decision"
    assert db.counts()["decisions"] == 0 and db.counts()["decision_log"] == 0
