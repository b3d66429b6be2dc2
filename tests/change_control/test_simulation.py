"""Simulation: moving the refer band flips exactly what re-deciding each application one by
one flips; the figures, segments and the report follow from those outcomes."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scoring.config import load_settings
from scoring.service import simulation
from scoring.service.model_provider import StaticModelProvider
from scoring.service.policy_files import current_policy
from scoring.service.runtime import Runtime
from scoring.storage.db import session_factory

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))

LIVE = current_policy()
CANDIDATE = LIVE.with_cutoffs(approve_below=0.08)


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def decided(migrated_engine, tmp_path):
    """Sixty decisions through the API, from small to large monthly instalments."""
    from api_requests import body, issue_key
    from service_fakes import FakeBureau, LinearModel, StepClock

    from scoring.api.app import create_app

    clock = StepClock()
    model = LinearModel(version="1", intercept=-4.6)
    runtime = Runtime(
        settings=load_settings({"INSTALLMENT_HOME": str(tmp_path)}),
        engine=migrated_engine,
        sessions=session_factory(migrated_engine),
        bureau=FakeBureau("good"),
        models=StaticModelProvider(model),
        policy=LIVE,
        pseudonym_key=bytes(range(32)),
        clock=clock,
    )
    auth = {"Authorization": f"Bearer {issue_key(runtime)}"}
    started = clock()
    with TestClient(create_app(runtime)) as api:
        for n in range(60):
            amount = 150 + 65 * n
            category = ["electronics", "heat_pump", "smart_home"][n % 3]
            answer = api.post(
                "/v1/decisions",
                headers=auth,
                json=body(
                    application_id=f"SIM-{n:03d}",
                    purchase={
                        "amount_eur": amount,
                        "term_months": 12,
                        "product_category": category,
                    },
                    human_review_requested=n == 7,
                ),
            )
            assert answer.status_code == 201, answer.text
    return model, started - timedelta(days=1), clock() + timedelta(days=1)


def test_the_flips_match_re_deciding_each_application_one_by_one(uow_factory, decided):
    model, start, end = decided
    with uow_factory() as uow:
        result = simulation.simulate(
            uow=uow,
            start=start,
            end=end,
            live_policy=LIVE,
            live_model=model,
            candidate_policy=CANDIDATE,
        )
        past = list(uow.past_applications.in_period(start, end))

    one_by_one = {
        app.decision_id: (
            simulation.redecide_one(app=app, policy=LIVE, model=model)[0],
            simulation.redecide_one(app=app, policy=CANDIDATE, model=model)[0],
        )
        for app in past
    }
    assert result.applications == len(past) == 60
    assert {r.decision_id: (r.before, r.after) for r in result.replayed} == one_by_one
    flips = sum(before != after for before, after in one_by_one.values())
    assert result.flips() == flips > 0
    matrix = result.flip_matrix()
    # Moving approve-below from 0.06 to 0.08 only turns refers into approvals.
    assert matrix["refer"]["approve"] == flips
    assert matrix["pending_review"]["pending_review"] == 1  # asked for a person: stays so
    # Before, the replay agrees with what was stored.
    assert all(r.before == app.outcome for r, app in zip(result.replayed, past, strict=True))


def test_more_approvals_more_expected_loss_fewer_cases_for_reviewers(uow_factory, decided):
    model, start, end = decided
    with uow_factory() as uow:
        result = simulation.simulate(
            uow=uow,
            start=start,
            end=end,
            live_policy=LIVE,
            live_model=model,
            candidate_policy=CANDIDATE,
        )
    summary = result.to_dict()

    before, after = summary["approval_before"], summary["approval_after"]
    assert after["count"] - before["count"] == result.flips()
    assert before["low"] <= before["value"] <= before["high"]
    loss_b, loss_a = summary["expected_loss_before"], summary["expected_loss_after"]
    assert loss_a["expected_eur"] > loss_b["expected_eur"] > 0
    assert loss_a["low_eur"] <= loss_a["expected_eur"] <= loss_a["high_eur"]
    assert summary["reviewer_cases_after"] == summary["reviewer_cases_before"] - result.flips()
    expected = sum(
        r.pd_after * r.amount_eur * LIVE.loss_given_default
        for r in result.replayed
        if r.after == "approve"
    )
    assert loss_a["expected_eur"] == pytest.approx(expected, abs=0.01)
    products = {r["value"]: r for r in summary["segments"] if r["segment"] == "product"}
    assert set(products) == {"electronics", "heat_pump", "smart_home"}
    assert sum(r["flips"] for r in products.values()) == result.flips()


def test_a_period_with_no_applications_is_refused_by_name(uow_factory, decided):
    model, start, _ = decided
    with uow_factory() as uow, pytest.raises(simulation.SimulationRefused, match="no applications"):
        simulation.simulate(
            uow=uow,
            start=start - timedelta(days=30),
            end=start,
            live_policy=LIVE,
            live_model=model,
            candidate_policy=CANDIDATE,
        )


def test_the_report_has_the_flip_matrix_and_its_plots(uow_factory, decided, tmp_path):
    from models.simulation_report import write_report

    model, start, end = decided
    with uow_factory() as uow:
        result = simulation.simulate(
            uow=uow,
            start=start,
            end=end,
            live_policy=LIVE,
            live_model=model,
            candidate_policy=CANDIDATE,
        )
    report = write_report(result.to_dict(), tmp_path / "sim")

    page = report.read_text()
    assert "What the change would have done" in page
    assert page.count("data:image/png;base64,") == 3
    assert f'<td colspan="2">{result.flips()}</td>' in page
    assert (tmp_path / "sim" / "summary.json").is_file()


def test_with_the_truth_the_true_loss_and_bad_rate_are_reported_and_segments_added(
    uow_factory, decided
):
    model, start, end = decided
    with uow_factory() as uow:
        past = list(uow.past_applications.in_period(start, end))
    live_pds = dict(
        zip((a.decision_id for a in past), simulation._probabilities(past, model), strict=True)
    )
    truth = {k: v for k, v in live_pds.items() if v is not None}
    outcomes = {a.decision_id: i % 10 == 0 for i, a in enumerate(past)}
    groups = {a.decision_id: {"sex": "F" if i % 2 else "M"} for i, a in enumerate(past)}
    with uow_factory() as uow:
        result = simulation.simulate(
            uow=uow,
            start=start,
            end=end,
            live_policy=LIVE,
            live_model=model,
            candidate_policy=CANDIDATE,
            past=past,
            truth=truth,
            outcomes=outcomes,
            groups=groups,
        )

    summary = result.to_dict()
    # The true PDs are the model's here, so the truth is the estimate and inside its interval.
    assert summary["true_expected_loss_after"] == summary["expected_loss_after"]["expected_eur"]
    approved = [r for r in result.replayed if r.after == "approve"]
    assert summary["bad_rate_approved_after"]["total"] == len(approved)
    assert summary["bad_rate_approved_after"]["count"] == sum(bool(r.defaulted) for r in approved)
    assert {r["value"] for r in summary["segments"] if r["segment"] == "sex"} == {"F", "M"}


def test_outcomes_the_product_stores_give_the_realised_bad_rate(
    uow_factory, decided, migrated_engine, tmp_path
):
    from sqlalchemy import text

    from models.simulation_report import write_report

    model, start, end = decided
    with migrated_engine.begin() as connection:
        ids = [
            row.id for row in connection.execute(text("SELECT id FROM applications ORDER BY id"))
        ]
        # Half the plans have run their year: every fourth of those defaulted.
        for n, application_id in enumerate(ids[: len(ids) // 2]):
            connection.execute(
                text("UPDATE applications SET defaulted_12m = :d WHERE id = :id"),
                {"d": n % 4 == 0, "id": application_id},
            )
    with uow_factory() as uow:
        result = simulation.simulate(
            uow=uow, start=start, end=end, live_policy=LIVE, live_model=model,
            candidate_policy=CANDIDATE,
        )  # fmt: skip
        past = {a.decision_id: a.defaulted for a in uow.past_applications.in_period(start, end)}

    summary = result.to_dict()
    assert summary["outcomes_known"] == sum(v is not None for v in past.values()) == 30
    for when, after in (("before", False), ("after", True)):
        approved = [
            r.decision_id
            for r in result.replayed
            if (r.after if after else r.before) == "approve" and past[r.decision_id] is not None
        ]
        bad = summary[f"bad_rate_approved_{when}"]
        assert bad["total"] == len(approved) > 0
        assert bad["count"] == sum(bool(past[d]) for d in approved)
    assert summary["true_expected_loss_after"] is None  # no truth outside a synthetic world
    page = write_report(summary, tmp_path / "sim").read_text()
    assert "bad rate among the approved (realised, of those with a known outcome)" in page
    assert "30 of the 60 applications have a known 12-month outcome" in page


def test_without_any_known_outcome_the_report_says_so_rather_than_show_a_rate(
    uow_factory, decided, tmp_path
):
    from models.simulation_report import write_report

    model, start, end = decided
    with uow_factory() as uow:
        result = simulation.simulate(
            uow=uow, start=start, end=end, live_policy=LIVE, live_model=model,
            candidate_policy=CANDIDATE,
        )  # fmt: skip

    summary = result.to_dict()
    assert summary["outcomes_known"] == 0
    assert summary["bad_rate_approved_before"] is None is summary["bad_rate_approved_after"]
    page = write_report(summary, tmp_path / "sim").read_text()
    assert "not known: none of the 60 applications has a 12-month outcome yet" in page
