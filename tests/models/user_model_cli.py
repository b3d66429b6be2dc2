"""A user's model through the commands: a home with risk accounts, the user's contract and
gates kept outside the checkout, and the CLI as the risk team types it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from test_bring_your_own_data import CONTRACT
from typer.testing import CliRunner

from models import registry
from review_ui.accounts import add_user
from scoring.cli import app
from scoring.config import get_settings
from scoring.storage.db import UnitOfWork, create_engine_for
from scoring.storage.migrate import upgrade

MODEL = "german-credit-pd"
PASSWORDS = {
    "anna.analyst": "anna-long-password",
    "peeter.approver": "peeter-long-password",
    "mari.approver": "mari-long-password",
}
ROLES = {
    "anna.analyst": "risk_analyst",
    "peeter.approver": "risk_approver",
    "mari.approver": "risk_approver",
}


def user_home(tmp_path_factory, name: str) -> Iterator[Path]:
    """A fresh home with its database migrated and the risk accounts, for a module."""
    home = tmp_path_factory.mktemp(name)
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


def risk_team_folder(tmp_path_factory) -> Path:
    """The user's contract and gates in a folder outside the checkout.

    A user's bounds for a 1,000-row snapshot: ECE over ten bins of 250 held-out rows is
    mostly sampling noise (about 0.05 for a perfectly calibrated model), so 0.03 could never
    be met; the other bounds are the product's.
    """
    folder = tmp_path_factory.mktemp("risk-team")
    shutil.copy(CONTRACT, folder / "german.odcs.yaml")
    declared = yaml.safe_load(registry.DEFAULT_GATES.read_text())
    (folder / "gates.yaml").write_text(
        yaml.safe_dump(dict(declared, contract="german.odcs.yaml", max_ece=0.12))
    )
    return folder


def run(*args: str, user: str | None = None):
    """The command as typed, with the user's password on standard input."""
    argv = list(args)
    stdin = None
    if user is not None:
        argv += ["--as", user, "--password-stdin"]
        stdin = PASSWORDS[user] + "\n"
    return CliRunner().invoke(app, argv, input=stdin, env={"COLUMNS": "200"})


def ok(*args: str, user: str | None = None) -> str:
    """The command's output; it must succeed."""
    result = run(*args, user=user)
    assert result.exit_code == 0, result.output
    return result.output
