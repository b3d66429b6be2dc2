"""A user's model rolled back through the commands, on the public German credit data.

One training run registers two versions of ``german-credit-pd`` (LightGBM 1, scorecard 2)
in a real MLflow registry and database. Version 1 is approved, then version 2, then a
rollback to version 1 is proposed with the user's contract and approved by a second
person: the model's champion alias goes back to 1, every step is audited, ``change list``
names the model's champion, and the product's ``installment-pd`` is never touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_bring_your_own_data import german_credit_csv
from user_model_cli import MODEL, ok, risk_team_folder, run, user_home

from models import registry
from scoring.config import get_settings
from scoring.service import change_control
from scoring.storage.db import UnitOfWork, create_engine_for


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Iterator[Path]:
    yield from user_home(tmp_path_factory, "user-model-rollback-home")


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> Path:
    return risk_team_folder(tmp_path_factory)


def audit(entity_type: str, entity_id: str) -> list[tuple[str, str, dict]]:
    engine = create_engine_for(get_settings().database_url)
    with UnitOfWork.for_engine(engine) as uow:
        entries = uow.audit_log.entries_for(entity_type=entity_type, entity_id=entity_id)
        trail = [(e.actor, e.action, dict(e.details)) for e in entries]
    engine.dispose()
    return trail


def product_record() -> object | None:
    engine = create_engine_for(get_settings().database_url)
    with UnitOfWork.for_engine(engine) as uow:
        served = change_control.served_champion(uow=uow)
    engine.dispose()
    return served


@pytest.mark.slow
def test_a_users_model_goes_back_to_its_previous_champion_through_four_eyes(home, elsewhere):
    trained = ok(
        "train", "--snapshot", str(german_credit_csv()),
        "--contract", str(elsewhere / "german.odcs.yaml"),
        "--bootstrap", "50", "--cv-repeats", "1", "--cv-folds", "3",
    )  # fmt: skip
    assert "registered versions {'lightgbm': '1', 'scorecard': '2'}" in trained
    user = ["--model", MODEL, "--gates", str(elsewhere / "gates.yaml")]
    for version in ("1", "2"):
        ok(
            "change", "sign-off-fairness", version, *user,
            "--reason", "37 non-foreign workers; read their intervals", user="peeter.approver",
        )  # fmt: skip
    ok("promote", "1", *user, "--reason", "beats the plain baselines", user="anna.analyst")
    ok("change", "approve", "1", "--note", "read the report", user="peeter.approver")
    ok("promote", "2", *user, "--reason", "the scorecard explains better", user="anna.analyst")
    ok("change", "approve", "2", "--note", "read the report", user="mari.approver")
    assert registry.champion_version(model_name=MODEL) == "2"

    without_contract = run(
        "rollback", "--model", MODEL, "--reason", "scorecard misbehaves", user="anna.analyst"
    )
    assert without_contract.exit_code == 2
    assert f"{MODEL} is not the production model: give the contract" in without_contract.output

    proposed = ok(
        "rollback", "--model", MODEL, "--contract", str(elsewhere / "german.odcs.yaml"),
        "--reason", "the scorecard refers too many thin files", user="anna.analyst",
    )  # fmt: skip
    assert f"change 3: rollback of the champion to model {MODEL} version 1 [proposed]" in proposed
    assert f"replaces the champion, model {MODEL} version 2" in proposed
    # Judged against the user's contract, with version 1's fairness sign-off.
    assert "gate contract: passed (validated against german_credit" in proposed
    assert "signed off by user:peeter.approver" in proposed
    assert "auc_vs_champion" not in proposed
    assert registry.champion_version(model_name=MODEL) == "2"

    own = run("change", "approve", "3", user="anna.analyst")
    assert own.exit_code == 2 and "risk_approver" in own.output
    approved = ok("change", "approve", "3", "--note", "version 1 behaved", user="peeter.approver")
    assert f"{MODEL}'s champion alias now points to version 1" in approved

    assert registry.champion_version(model_name=MODEL) == "1"
    # The product's model: no alias, no record; nothing decides with the user's model.
    assert registry.champion_version() is None
    assert product_record() is None
    trail = audit("change_request", "3")
    assert [(actor, action) for actor, action, _ in trail] == [
        ("user:anna.analyst", "rollback_proposed"),
        ("user:peeter.approver", "rollback_approved"),
    ]
    assert trail[0][2]["model"] == MODEL and trail[0][2]["replaces_version"] == "2"
    assert trail[0][2]["previously_approved_in"] == 1

    listed = ok("change", "list").splitlines()
    assert listed[:2] == [
        "no approved champion of installment-pd is recorded",
        f"approved champion of {MODEL}: version 1 (change 3)",
    ]
    assert [line for line in listed if line.startswith("change ")] == [
        f"change 3: rollback of the champion to model {MODEL} version 1 [approved]",
        f"change 2: model {MODEL} version 2 as champion [approved]",
        f"change 1: model {MODEL} version 1 as champion [approved]",
    ]
    assert ok("change", "list", "--model", "installment-pd").splitlines() == [
        "no approved champion of installment-pd is recorded",
        "no change requests of model installment-pd",
    ]
