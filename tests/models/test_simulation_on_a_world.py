"""Simulating on a synthetic world's own history: moving approve-below to 0.08 flips what
re-deciding each application one by one flips, and the expected loss holds the truth."""

from __future__ import annotations

from datetime import timedelta

import pytest
from models_fake_contract import FakeContract, fake_validate
from models_small_world import write_small_world

from models.training.train import train_candidates
from models.world_simulation import past_from_world
from scoring.service import simulation
from scoring.service.policy_files import current_policy

LIVE = current_policy()
CANDIDATE = LIVE.with_cutoffs(approve_below=0.08)


@pytest.fixture(scope="module")
def replay(small_world, snapshot, tmp_path_factory):
    """The world's newest applications (never trained on) replayed with a model of the rest."""
    folder = tmp_path_factory.mktemp("world")
    write_small_world(small_world, folder)
    trained = train_candidates(snapshot, FakeContract(), validate=fake_validate)
    model = trained.models["lightgbm"]
    past, truth, outcomes, groups = past_from_world(folder)
    start = trained.split.evaluation["applied_at"].min().to_pydatetime()
    end = max(a.decided_at for a in past) + timedelta(seconds=1)
    result = simulation.simulate(
        uow=None,  # type: ignore[arg-type]  # the world's history replaces the stored inputs
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
    in_period = [a for a in past if start <= a.decided_at < end]
    return result, in_period, model


def test_the_flips_match_re_deciding_each_world_application_one_by_one(replay):
    result, past, model = replay
    one_by_one = {
        app.decision_id: (
            simulation.redecide_one(app=app, policy=LIVE, model=model)[0],
            simulation.redecide_one(app=app, policy=CANDIDATE, model=model)[0],
        )
        for app in past
    }
    assert result.applications == len(past) > 300
    assert {r.decision_id: (r.before, r.after) for r in result.replayed} == one_by_one
    flips = sum(before != after for before, after in one_by_one.values())
    assert result.flips() == flips > 0
    assert result.flip_matrix()["refer"]["approve"] == flips


def test_the_true_expected_loss_lies_inside_the_stated_interval(replay):
    result, _past, _model = replay
    summary = result.to_dict()
    for when in ("before", "after"):
        loss = summary[f"expected_loss_{when}"]
        truth = summary[f"true_expected_loss_{when}"]
        assert truth is not None
        assert loss["low_eur"] <= truth <= loss["high_eur"], (when, loss, truth)
        assert summary[f"true_loss_within_interval_{when}"] is True
    assert summary["bad_rate_approved_after"]["total"] > 0
    assert {r["segment"] for r in summary["segments"]} >= {"sex", "language", "bureau class"}
    classes = {r["value"] for r in summary["segments"] if r["segment"] == "bureau class"}
    # By the names the bureau class definitions give, never their codes.
    assert "very good" in classes and not any("_" in name for name in classes)
