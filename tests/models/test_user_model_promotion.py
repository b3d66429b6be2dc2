"""A user's model from end to end on the public German credit data, through the commands.

Train with the contract kept outside the checkout, under the contract's model name; the
production name is refused; promotion uses the user's contract and gates; the fairness
gate (foreign workers: 37 "no", too few to judge) needs a risk approver's sign-off; the
change takes effect only on a second person's approval, and the product's own champion
is never touched.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from test_bring_your_own_data import CONTRACT, german_credit_csv
from typer.testing import CliRunner

from models import registry
from review_ui.accounts import add_user
from scoring.cli import app
from scoring.config import get_settings
from scoring.storage.db import UnitOfWork, create_engine_for
from scoring.storage.migrate import upgrade

PASSWORDS = {"anna.analyst": "anna-long-password", "peeter.approver": "peeter-long-password"}
ROLES = {"anna.analyst": "risk_analyst", "peeter.approver": "risk_approver"}
MODEL = "german-credit-pd"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("user-model-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("INSTALLMENT_HOME", str(home))
    patch.delenv("INSTALLMENT_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    url = get_settings().database_url
    upgrade(url)
    engine = create_engine_for(url)
    with UnitOfWork.for_engine(engine) as uow:
        for username, role in ROLES.items():
            add_user(uow=uow, username=username, role=role, password=PASSWORDS[username])
    engine.dispose()
    yield home
    patch.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> Path:
    """The user's contract and gates in a folder outside the checkout."""
    folder = tmp_path_factory.mktemp("risk-team")
    shutil.copy(CONTRACT, folder / "german.odcs.yaml")
    declared = yaml.safe_load(registry.DEFAULT_GATES.read_text())
    # A user's bounds for a 1,000-row snapshot: ECE over ten bins of 250 held-out rows is
    # mostly sampling noise (about 0.05 for a perfectly calibrated model), so 0.03 could
    # never be met; the other bounds are the product's.
    (folder / "gates.yaml").write_text(
        yaml.safe_dump(dict(declared, contract="german.odcs.yaml", max_ece=0.12))
    )
    return folder


def run(*args: str, user: str | None = None):
    argv = list(args)
    stdin = None
    if user is not None:
        argv += ["--as", user, "--password-stdin"]
        stdin = PASSWORDS[user] + "\n"
    return CliRunner().invoke(app, argv, input=stdin, env={"COLUMNS": "200"})


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
