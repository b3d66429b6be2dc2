"""A user's model from end to end on the public German credit data, through the commands.

Train with the contract kept outside the checkout, under the contract's model name; the
production name is refused; promotion uses the user's contract and gates; the fairness
gate (foreign workers: 37 "no", too few to judge) needs a risk approver's sign-off; the
change takes effect only on a second person's approval, and the product's own champion
is never touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_bring_your_own_data import german_credit_csv
from user_model_cli import MODEL, risk_team_folder, run, user_home

from models import registry
from scoring.config import get_settings
from scoring.storage.db import UnitOfWork, create_engine_for


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Iterator[Path]:
    yield from user_home(tmp_path_factory, "user-model-home")


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> Path:
    return risk_team_folder(tmp_path_factory)


@pytest.fixture(scope="module")
def trained(home, elsewhere) -> str:
    result = run(
        "train", "--snapshot", str(german_credit_csv()),
        "--contract", str(elsewhere / "german.odcs.yaml"),
        "--bootstrap", "50", "--cv-repeats", "1", "--cv-folds", "3",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "registered versions {'lightgbm': '1', 'scorecard': '2'}" in result.output
    assert "calibration: ECE" in result.output and "calibration: Brier" in result.output
    return result.output


@pytest.mark.slow
def test_the_users_model_is_registered_under_the_contracts_name(trained, home):
    tags = registry.version_tags("1", model_name=MODEL)
    assert tags["contract_id"] == "german_credit"
    # Nothing was registered as the production model.
    with pytest.raises(registry.RegistryError):
        registry.version_tags("1")


@pytest.mark.slow
def test_the_production_models_name_is_refused_for_the_users_data(home, elsewhere):
    result = run(
        "train", "--snapshot", str(german_credit_csv()),
        "--contract", str(elsewhere / "german.odcs.yaml"), "--model-name", "installment-pd",
        "--no-register",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "'installment-pd' belongs to the production model" in result.output


@pytest.mark.slow
def test_promotion_through_a_sign_off_and_four_eyes(trained, home, elsewhere):
    version = "2"  # the scorecard
    gates = str(elsewhere / "gates.yaml")
    refused = run(
        "promote", version, "--model", MODEL, "--gates", gates, "--reason", "beats baselines",
        user="anna.analyst",
    )  # fmt: skip
    assert refused.exit_code == 2
    assert "gate fairness failed" in refused.output
    assert "not enough data to judge fairness on foreign_worker" in refused.output
    assert "gate contract failed" not in refused.output  # the user's contract was found

    not_approver = run(
        "change", "sign-off-fairness", version, "--model", MODEL, "--gates", gates,
        "--reason", "37 non-foreign workers; read their intervals", user="anna.analyst",
    )  # fmt: skip
    assert not_approver.exit_code == 2 and "risk_approver" in not_approver.output

    signed = run(
        "change", "sign-off-fairness", version, "--model", MODEL, "--gates", gates,
        "--reason", "37 non-foreign workers; read their intervals", user="peeter.approver",
    )  # fmt: skip
    assert signed.exit_code == 0, signed.output
    assert "signed off by peeter.approver for foreign_worker" in signed.output

    proposed = run(
        "promote", version, "--model", MODEL, "--gates", gates, "--reason", "beats baselines",
        user="anna.analyst",
    )  # fmt: skip
    assert proposed.exit_code == 0, proposed.output
    assert f"model {MODEL} version 2 as champion [proposed]" in proposed.output
    assert "gate fairness: passed" in proposed.output
    assert "signed off by user:peeter.approver" in proposed.output
    assert registry.champion_version(model_name=MODEL) is None

    approved = run("change", "approve", "1", "--note", "read the report", user="peeter.approver")
    assert approved.exit_code == 0, approved.output
    assert registry.champion_version(model_name=MODEL) == version
    # The product's own champion is untouched: nothing decides with the user's model.
    assert registry.champion_version() is None
    listed = run("change", "list").output.splitlines()
    assert listed[:2] == [
        "no approved champion of installment-pd is recorded",
        f"approved champion of {MODEL}: version 2 (change 1)",
    ]

    engine = create_engine_for(get_settings().database_url)
    with UnitOfWork.for_engine(engine) as uow:
        trail = uow.audit_log.entries_for(entity_type="model_version", entity_id=f"{MODEL}/2")
        change = uow.audit_log.entries_for(entity_type="change_request", entity_id="1")
    engine.dispose()
    assert [e.action for e in trail] == ["fairness_signed_off"]
    assert [e.action for e in change] == ["change_proposed", "change_approved"]
    assert change[0].details["model"] == MODEL
