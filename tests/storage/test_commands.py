"""The database commands as an operator meets them: `db-upgrade` and `ingest`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scoring.cli import app
from scoring.config import get_settings
from scoring.storage.migrate import current_revision, head_revision

UNREACHABLE = "postgresql://scorer:s3cret-pw@127.0.0.1:1/nowhere"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private INSTALLMENT_HOME, so commands read fresh settings and write nowhere else."""
    home = tmp_path / "home"
    monkeypatch.setenv("INSTALLMENT_HOME", str(home))
    monkeypatch.delenv("INSTALLMENT_DATABASE_URL", raising=False)
    monkeypatch.delenv("INSTALLMENT_PSEUDONYM_KEY_FILE", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_db_upgrade_migrates_the_default_embedded_database(home: Path) -> None:
    code, out, _ = _run("db-upgrade")

    assert code == 0
    assert (home / "installment.db").is_file()
    assert f"revision {head_revision()}" in out


def test_ingest_loads_a_world_and_a_second_run_inserts_nothing(
    home: Path, db_url: str, tiny_world: Path
) -> None:
    code, out, _ = _run("ingest", str(tiny_world), "--database-url", db_url)

    assert code == 0, out
    assert current_revision(db_url) == head_revision()
    assert "0 already present" in out
    assert (home / "secrets" / "pseudonym.key").is_file()

    code, out, _ = _run("ingest", str(tiny_world), "--database-url", db_url)

    assert code == 0
    assert ": 0 rows inserted" in out


def test_ingest_shows_progress_on_stderr(home: Path, sqlite_url: str, tiny_world: Path) -> None:
    _, out, err = _run("ingest", str(tiny_world), "--database-url", sqlite_url)

    assert "invoices" in err
    assert "━" in err or "100%" in err or "/" in err
    assert "rows inserted" in out


@pytest.mark.parametrize("command", [["db-upgrade"], ["ingest", "WORLD"]])
def test_an_unreachable_database_is_one_clear_line_and_exit_code_2(
    home: Path, tiny_world: Path, command: list[str]
) -> None:
    args = [str(tiny_world) if part == "WORLD" else part for part in command]

    code, out, err = _run(*args, "--database-url", UNREACHABLE)

    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("error: cannot reach database postgresql+psycopg://scorer:***@")
    assert "s3cret-pw" not in err
    assert "Traceback" not in err + out


def test_an_unknown_database_kind_is_refused(home: Path, tiny_world: Path) -> None:
    code, _, err = _run("ingest", str(tiny_world), "--database-url", "oracle://x@y/z")

    assert code == 2
    assert "names backend 'oracle'" in err


def test_ingest_of_a_missing_folder_creates_no_database(home: Path, tmp_path: Path) -> None:
    code, _, err = _run("ingest", str(tmp_path / "no-world"))

    assert code == 2
    assert "does not exist" in err
    assert err.count("\n") == 1
    assert not (home / "installment.db").exists()


def test_ingest_of_a_malformed_world_loads_nothing(
    home: Path, sqlite_url: str, tiny_world: Path
) -> None:
    (tiny_world / "applications.parquet").write_text("id,amount\n1,2\n")

    code, _, err = _run("ingest", str(tiny_world), "--database-url", sqlite_url)

    assert code == 2
    assert "applications.parquet is not a readable Parquet file" in err
    assert current_revision(sqlite_url) is None
