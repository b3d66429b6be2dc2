"""The commands as an operator meets them: `report-defaults` and `default verify|dispute|notice`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scoring.cli import app
from scoring.config import get_settings
from scoring.storage.db import create_engine_for
from scoring.storage.migrate import upgrade

from .conftest import ANNA_CODE, VAULT_KEY, Ledger


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private INSTALLMENT_HOME whose vault key is the one the ledger encrypts with."""
    home = tmp_path / "home"
    key_file = tmp_path / "vault.key"
    key_file.write_text(VAULT_KEY.hex())
    key_file.chmod(0o600)
    monkeypatch.setenv("INSTALLMENT_HOME", str(home))
    monkeypatch.setenv("INSTALLMENT_IDENTITY_VAULT_KEY_FILE", str(key_file))
    monkeypatch.delenv("INSTALLMENT_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def cli_ledger(home: Path) -> Iterator[tuple[Ledger, str]]:
    """Anna with an invoice 60 days overdue, in the embedded database of ``home``."""
    url = get_settings().database_url
    upgrade(url)
    engine = create_engine_for(url)
    ledger = Ledger(engine)
    anna = ledger.customer(ANNA_CODE)
    ledger.invoice(anna, "A-1", date.today() - timedelta(days=60), "80.00")
    yield ledger, anna
    engine.dispose()


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_an_operator_notifies_verifies_and_reports_a_default(
    cli_ledger: tuple[Ledger, str], home: Path
) -> None:
    _, anna = cli_ledger
    start = (date.today() - timedelta(days=60)).isoformat()
    sent = (date.today() - timedelta(days=50)).isoformat()

    held = invoke("report-defaults", "--as-of", (date.today() - timedelta(days=1)).isoformat())
    notice = invoke(
        *("default", "notice", "--customer", anna, "--start", start),
        *("--sent-on", sent, "--by", "collections"),
    )
    verified = invoke("default", "verify", "--customer", anna, "--start", start, "--by", "kask")
    listed = invoke("default", "list", "--customer", anna)
    reported = invoke("report-defaults", "--as-of", date.today().isoformat())

    assert held[0] == 0 and "0 new" in held[1] and "verified" in held[1]
    assert notice[0] == 0 and verified[0] == 0, notice[2] + verified[2]
    assert "reportable" in listed[1]
    assert reported[0] == 0, reported[2]
    assert "1 new" in reported[1]
    report = home / "reports" / "defaults" / f"payment-defaults-{date.today().isoformat()}.csv"
    assert ANNA_CODE in report.read_text()
    assert ANNA_CODE not in held[1] + reported[1]


def test_a_future_report_date_is_refused_with_the_reason(cli_ledger: tuple[Ledger, str]) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()

    code, _, err = invoke("report-defaults", "--as-of", tomorrow)

    assert code == 2
    assert f"report date {tomorrow} is in the future" in err


def test_a_malformed_date_is_refused_naming_the_option(home: Path) -> None:
    code, _, err = invoke("report-defaults", "--as-of", "31.12.2026")

    assert code == 2
    assert "--as-of '31.12.2026' is not a date; write it as YYYY-MM-DD" in err


def test_an_unreadable_database_gives_a_clear_message_and_no_file(
    home: Path, tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database at all" * 100)

    code, _, err = invoke(
        "report-defaults",
        "--as-of",
        "2026-01-31",
        "--database-url",
        f"sqlite:///{garbage}",
        "--out",
        str(tmp_path / "out"),
    )

    assert code == 2
    assert "file is not a database" in err
    assert "Traceback" not in err
    assert list((tmp_path / "out").iterdir()) == []


def test_a_database_without_the_schema_says_to_upgrade_it(home: Path, tmp_path: Path) -> None:
    code, _, err = invoke(
        "report-defaults",
        "--as-of",
        "2026-01-31",
        "--database-url",
        f"sqlite:///{tmp_path / 'empty.db'}",
        "--out",
        str(tmp_path / "out"),
    )

    assert code == 2
    assert "cannot read the database" in err and "installment db-upgrade" in err
    assert list((tmp_path / "out").iterdir()) == []


def test_verifying_for_an_unknown_customer_names_the_pseudonym(
    cli_ledger: tuple[Ledger, str],
) -> None:
    code, _, err = invoke(
        "default", "verify", "--customer", "0" * 64, "--start", "2026-01-01", "--by", "kask"
    )

    assert code == 2
    assert f"no customer with pseudonym {'0' * 64}" in err
