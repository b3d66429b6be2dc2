"""Promotion gates of a user's model use the user's contract, wherever its file lives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from models import registry

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "docs" / "examples" / "german_credit.odcs.yaml"


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """The user's contract in a folder outside the checkout."""
    folder = tmp_path / "risk-team"
    folder.mkdir()
    shutil.copy(CONTRACT, folder / "german.odcs.yaml")
    return folder


def test_a_users_model_is_judged_against_the_contract_given_by_path(elsewhere):
    gates, contract = registry.gates_for(
        model_name="german-credit-pd", contract_file=elsewhere / "german.odcs.yaml"
    )
    assert gates["contract_id"] == "german_credit" and contract.id == "german_credit"
    # The attributes the user declares, not the product's age band, sex and language.
    assert gates["fairness"]["attributes"] == ["personal_status_and_sex", "foreign_worker"]
    assert gates["max_ece"] == 0.03  # the declared bounds are kept


def test_a_gates_file_may_name_the_contract_beside_it(elsewhere):
    gates_file = elsewhere / "gates.yaml"
    declared = yaml.safe_load(registry.DEFAULT_GATES.read_text())
    gates_file.write_text(yaml.safe_dump(dict(declared, contract="german.odcs.yaml", max_ece=0.1)))
    gates, contract = registry.gates_for(model_name="german-credit-pd", gates_file=gates_file)
    assert contract.id == "german_credit" and gates["max_ece"] == 0.1


def test_a_users_model_without_its_contract_is_refused_naming_the_option():
    with pytest.raises(
        ValueError, match=r"german-credit-pd is not the production model.*--contract"
    ):
        registry.gates_for(model_name="german-credit-pd")


def test_the_production_model_is_never_judged_against_a_users_contract(elsewhere):
    with pytest.raises(
        ValueError, match=r"installment-pd is the production model.*training_snapshot"
    ):
        registry.gates_for(contract_file=elsewhere / "german.odcs.yaml")


def test_a_contract_file_that_is_not_there_is_named(elsewhere):
    with pytest.raises(ValueError, match="contract file .*missing.odcs.yaml not found"):
        registry.gates_for(
            model_name="german-credit-pd", contract_file=elsewhere / "missing.odcs.yaml"
        )


def test_the_contract_gate_refuses_a_version_trained_on_another_contract(elsewhere):
    gates, contract = registry.gates_for(
        model_name="german-credit-pd", contract_file=elsewhere / "german.odcs.yaml"
    )
    tags = {"contract_id": "training_snapshot", "contract_version": "3.0.0", "features": "age"}
    result = registry.evaluate_gates(tags, None, gates, contract=contract)[0]
    assert result.gate == "contract" and not result.passed
    assert "required german_credit" in result.detail
