"""The command line of change control: propose, approve by a second person, roll back."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from review_ui.accounts import add_user
from scoring.cli import app
from scoring.storage.db import UnitOfWork, create_engine_for
from scoring.storage.migrate import upgrade

PASSWORDS = {
    "anna.analyst": "anna-long-password",
    "peeter.approver": "peeter-long-password",
    "olga.oversight": "olga-long-password",
}
ROLES = {
    "anna.analyst": "risk_analyst",
    "peeter.approver": "risk_approver",
    "olga.oversight": "oversight",
}


@pytest.fixture
def cli(sqlite_url, registry, monkeypatch):
    upgrade(sqlite_url)
    engine = create_engine_for(sqlite_url)
    with UnitOfWork.for_engine(engine) as uow:
        for username, role in ROLES.items():
            add_user(uow=uow, username=username, role=role, password=PASSWORDS[username])
    engine.dispose()
    monkeypatch.setattr("scoring.cli.change._registry", lambda: registry)
    runner = CliRunner()

    def run(*args: str, user: str | None = None, password: str | None = None):
        argv = [*args, "--database-url", sqlite_url]
        stdin = None
        if user is not None:
            argv += ["--as", user, "--password-stdin"]
            stdin = (password or PASSWORDS[user]) + "\n"
        return runner.invoke(app, argv, input=stdin)

    return run


def test_promote_proposes_and_a_second_person_makes_it_take_effect(cli, registry):
    proposed = cli("promote", "2", "--reason", "better calibrated", user="anna.analyst")
    assert proposed.exit_code == 0, proposed.output
    assert "change 1: model version 2 as champion [proposed]" in proposed.output
    assert "gate calibration: passed" in proposed.output
    assert "champion" not in registry.aliases

    own = cli("change", "approve", "1", user="anna.analyst")
    assert own.exit_code == 2
    assert "may not approve" in own.output or "different person" in own.output

    approved = cli("change", "approve", "1", "--note", "read the report", user="peeter.approver")
    assert approved.exit_code == 0, approved.output
    assert "[approved]" in approved.output
    assert registry.aliases["champion"] == "2"

    listing = cli("change", "list")
    assert "approved champion: model version 2 (change 1)" in listing.output


def test_a_wrong_password_acts_for_nobody(cli, registry):
    refused = cli("promote", "2", "--reason", "better", user="anna.analyst", password="guess")
    assert refused.exit_code == 2
    assert "refused: wrong account or password" in refused.output
    assert "no change requests" in cli("change", "list").output


def test_rollback_is_one_command_and_not_blocked_by_the_auc_gate(cli, registry):
    for change, version in (("1", "1"), ("2", "2")):
        cli("promote", version, "--reason", "next champion", user="anna.analyst")
        cli("change", "approve", change, user="peeter.approver")
    assert registry.aliases["champion"] == "2"
    registry.auc_ok["1"] = False

    refused = cli("promote", "1", "--reason", "go back", user="anna.analyst")
    assert refused.exit_code == 2 and "auc_vs_champion" in refused.output

    rollback = cli("rollback", "--reason", "version 2 misbehaves", user="anna.analyst")
    assert rollback.exit_code == 0, rollback.output
    assert "rollback of the champion to model version 1 [proposed]" in rollback.output
    assert "previously approved in change 1" in rollback.output
    approved = cli("change", "approve", "3", user="peeter.approver")
    assert approved.exit_code == 0, approved.output
    assert registry.aliases["champion"] == "1"


def test_a_change_proposed_against_another_champion_is_refused_and_nothing_moves(cli, registry):
    for version in ("1", "2"):
        cli("promote", version, "--reason", "next champion", user="anna.analyst")
    assert cli("change", "approve", "1", user="peeter.approver").exit_code == 0

    stale = cli("change", "approve", "2", user="peeter.approver")

    assert stale.exit_code == 2
    assert (
        "change 2 was proposed when model installment-pd had no champion; its champion "
        "is version 1 (change 1) now"
    ) in " ".join(stale.output.split())
    assert registry.aliases["champion"] == "1"
    listing = " ".join(cli("change", "list").output.split())
    assert "change 2: model version 2 as champion [proposed]" in listing
    assert (
        "can no longer be approved: change 2 was proposed when model installment-pd had no "
        "champion; its champion is version 1 (change 1) now; refuse it and propose it again"
    ) in listing
    assert "can no longer be approved" in cli("change", "show", "2").output
    assert "can no longer be approved" not in cli("change", "show", "1").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["promote", "7", "--reason", "a version nobody registered"], "unknown to the registry"),
        (["change", "approve", "99"], "no change request 99"),
        (["promote", "2", "--reason", "x"], "reason of at least 5 characters"),
    ],
)
def test_bad_input_is_refused_by_name(cli, args, message):
    user = "peeter.approver" if args[0] == "change" else "anna.analyst"
    result = cli(*args, user=user)
    assert result.exit_code == 2
    assert message in result.output


def test_the_stop_switch_from_the_command_line(cli):
    refused = cli("automation", "stop", "--reason", "just testing", user="anna.analyst")
    assert refused.exit_code == 2 and "oversight role" in refused.output

    stopped = cli("automation", "stop", "--reason", "bureau feed suspect", user="olga.oversight")
    assert stopped.exit_code == 0, stopped.output
    assert "automated decisions: STOPPED" in stopped.output
    status = cli("automation", "status")
    assert "STOPPED" in status.output and "olga.oversight" in status.output
    again = cli("automation", "stop", "--reason", "bureau feed suspect", user="olga.oversight")
    assert again.exit_code == 2 and "stopped already" in again.output
    started = cli("automation", "start", "--reason", "feed repaired", user="olga.oversight")
    assert started.exit_code == 0 and "automated decisions: ON" in started.output


POLICY = (Path(__file__).parents[2] / "scoring" / "policies" / "policy-2026.11.1.yaml").read_text()


def _policy_file(tmp_path, text: str) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cutoffs: [unclosed", "not valid YAML"),
        (POLICY.replace("approve_below: 0.06", "approve_below: 0.2"), "cut-offs must satisfy"),
        (POLICY.replace("{grade: C, below: 0.06}", "{grade: C, below: 0.01}"), "risk grades"),
        (POLICY.replace('version: "2026.11.1"', 'version: "2027.1.1"'), "in the past"),
    ],
    ids=["unparseable", "cutoffs-out-of-order", "grade-table-with-a-gap", "date-in-the-past"],
)
def test_a_bad_policy_is_refused_by_name_and_nothing_is_proposed(cli, tmp_path, text, message):
    result = cli(
        "change",
        "propose-policy",
        _policy_file(tmp_path, text),
        "--reason",
        "new cut-offs",
        user="anna.analyst",
    )
    assert result.exit_code == 2
    assert message in result.output
    assert "no change requests" in cli("change", "list").output


def test_a_policy_is_proposed_for_a_date_and_approved_by_a_second_person(cli, tmp_path):
    text = (
        POLICY.replace('version: "2026.11.1"', 'version: "2099.1.1"')
        .replace('effective_from: "2026-11-20"', 'effective_from: "2099-01-01"')
        .replace("approve_below: 0.06", "approve_below: 0.08")
    )
    proposed = cli(
        "change",
        "propose-policy",
        _policy_file(tmp_path, text),
        "--reason",
        "approve below 0.08",
        user="anna.analyst",
    )
    assert proposed.exit_code == 0, proposed.output
    assert "policy 2099.1.1 from 2099-01-01 00:00 UTC [proposed]" in proposed.output
    approved = cli("change", "approve", "1", user="peeter.approver")
    assert approved.exit_code == 0, approved.output
    assert "[approved]" in approved.output


@pytest.fixture
def with_champion(cli, registry, monkeypatch, tmp_path):
    """Version 1 approved as champion; the registry loads 1 to 3 as linear models."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "service"))
    from service_fakes import LinearModel

    from models import registry as mlflow_registry

    def load_model(version, *, settings=None):
        if str(version) not in registry.versions:
            raise mlflow_registry.RegistryError(
                f"installment-pd has no version or alias {version!r}"
            )
        return LinearModel(version=str(version))

    monkeypatch.setattr(mlflow_registry, "load_model", load_model)
    monkeypatch.setenv("INSTALLMENT_HOME", str(tmp_path / "home"))
    assert cli("promote", "1", "--reason", "first champion", user="anna.analyst").exit_code == 0
    assert cli("change", "approve", "1", user="peeter.approver").exit_code == 0
    return cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--approve-below", "0.08", "--model", "99"], "has no version or alias '99'"),
        (["--approve-below", "0.08"], "no applications were decided between 2026-01-01"),
        (["--approve-below", "0.2"], "cut-offs must satisfy"),
        ([], "give a candidate"),
    ],
    ids=["unknown-model-version", "period-without-applications", "cutoffs-out-of-order", "none"],
)
def test_a_simulation_that_cannot_run_is_refused_by_name_and_writes_nothing(
    with_champion, tmp_path, args, message
):
    out = tmp_path / "simulation"
    result = with_champion(
        "simulate", "--from", "2026-01-01", "--to", "2026-02-01", "--out", str(out),
        "--no-mlflow", *args,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not out.exists()


def test_an_approver_cannot_approve_their_own_proposal_and_nothing_takes_effect(cli, registry):
    proposed = cli("promote", "2", "--reason", "better calibrated", user="peeter.approver")
    assert proposed.exit_code == 0, proposed.output

    own = cli("change", "approve", "1", "--note", "looks fine to me", user="peeter.approver")

    assert own.exit_code == 2
    assert "different person" in " ".join(own.output.split())
    assert "champion" not in registry.aliases
    assert "[proposed]" in cli("change", "list").output


def test_a_users_model_rolls_back_with_its_name_and_contract(cli, registry, tmp_path):
    contract = tmp_path / "german.odcs.yaml"
    contract.write_text("kept by the risk team")
    user = ["--model", "german-credit-pd", "--contract", str(contract)]
    assert cli("promote", "3", "--reason", "product champion", user="anna.analyst").exit_code == 0
    assert cli("change", "approve", "1", user="peeter.approver").exit_code == 0
    for change, version in (("2", "1"), ("3", "2")):
        proposed = cli("promote", version, *user, "--reason", "next one", user="anna.analyst")
        assert proposed.exit_code == 0, proposed.output
        assert cli("change", "approve", change, user="peeter.approver").exit_code == 0

    rollback = cli("rollback", *user, "--reason", "version 2 misbehaves", user="anna.analyst")
    assert rollback.exit_code == 0, rollback.output
    assert "change 4: rollback of the champion to model german-credit-pd version 1" in (
        rollback.output
    )
    assert "replaces the champion, model german-credit-pd version 2" in rollback.output
    assert f"attached contract: {contract.resolve()}" in rollback.output
    assert registry.gate_calls[-1]["model"] == "german-credit-pd"

    approved = cli("change", "approve", "4", user="peeter.approver")
    assert approved.exit_code == 0, approved.output
    assert "german-credit-pd's champion alias now points to version 1" in approved.output
    assert registry.named_aliases[("german-credit-pd", "champion")] == "1"
    assert registry.aliases["champion"] == "3"

    listing = cli("change", "list").output.splitlines()
    assert listing[:2] == [
        "approved champion: model version 3 (change 1)",
        "approved champion of german-credit-pd: version 1 (change 4)",
    ]
    assert sum(line.startswith("change ") for line in listing) == 4
    only_user = cli("change", "list", "--model", "german-credit-pd").output
    assert "approved champion of german-credit-pd: version 1 (change 4)" in only_user
    assert "approved champion: model version 3" not in only_user
    assert "change 1:" not in only_user and "change 4:" in only_user
    shown = cli("change", "show", "4").output
    assert "replaces the champion, model german-credit-pd version 2" in shown
    assert "approved by peeter.approver" in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "german-credit-pd"],
         "model german-credit-pd has no previously approved champion to roll back to"),
        (["--model", "german-credit-pd", "--contract", "/nowhere/german.odcs.yaml"],
         "contract file /nowhere/german.odcs.yaml does not exist"),
        (["--gates", "/nowhere/gates.yaml"], "gates file /nowhere/gates.yaml does not exist"),
    ],
    ids=["no-previous-champion", "missing-contract", "missing-gates"],
)  # fmt: skip
def test_a_rollback_that_cannot_be_proposed_is_refused_by_name(cli, args, message):
    result = cli("rollback", *args, "--reason", "go back please", user="anna.analyst")
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "no change requests" in cli("change", "list").output


def test_the_listing_says_which_models_have_no_champion(cli):
    assert cli("change", "list").output.splitlines()[:2] == [
        "no approved champion of installment-pd is recorded",
        "no change requests",
    ]
    assert cli("change", "list", "--model", "german-credit-pd").output.splitlines() == [
        "no approved champion of german-credit-pd is recorded",
        "no change requests of model german-credit-pd",
    ]
