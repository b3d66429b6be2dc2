"""Database files and key files are for their owner alone."""

from __future__ import annotations

import stat

import pytest

from scoring.config import KeyFileError, read_or_create_key
from scoring.storage.db import create_engine_for
from scoring.storage.migrate import upgrade


def mode(path) -> int:  # type: ignore[no-untyped-def]
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_folder_are_the_owners_alone(tmp_path):
    database = tmp_path / "fresh" / "installment.db"
    upgrade(f"sqlite:///{database}")
    create_engine_for(f"sqlite:///{database}").dispose()
    assert mode(database.parent) == 0o700
    assert mode(database) == 0o600
    for companion in database.parent.glob("installment.db-*"):
        assert mode(companion) & 0o077 == 0, companion.name


def test_a_new_key_file_is_private_and_read_back(tmp_path):
    path = tmp_path / "secrets" / "pseudonym.key"
    key = read_or_create_key(path)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert read_or_create_key(path) == key


@pytest.mark.parametrize("loose", [0o640, 0o604, 0o660])
def test_a_key_file_others_may_read_is_refused_with_the_fix(tmp_path, loose):
    path = tmp_path / "pseudonym.key"
    read_or_create_key(path)
    path.chmod(loose)
    with pytest.raises(KeyFileError, match=f"chmod 600 {path}") as refused:
        read_or_create_key(path)
    assert path.read_text() not in str(refused.value)  # the key is never shown


def test_a_key_file_in_a_folder_others_may_write_is_refused(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    path = folder / "pseudonym.key"
    read_or_create_key(path)
    folder.chmod(0o777)
    with pytest.raises(KeyFileError, match="chmod 700"):
        read_or_create_key(path)


def test_an_existing_database_open_to_others_is_made_private_and_the_change_logged(
    tmp_path, caplog
):  # type: ignore[no-untyped-def]
    folder = tmp_path / "home"
    database = folder / "installment.db"
    upgrade(f"sqlite:///{database}")
    # As a database made before the rule was, or copied in with a loose umask.
    folder.chmod(0o755)
    database.chmod(0o644)
    wal = database.with_name("installment.db-wal")
    wal.write_bytes(b"")
    wal.chmod(0o644)
    with caplog.at_level("WARNING", logger="scoring.storage.db"):
        upgrade(f"sqlite:///{database}")
    assert mode(database) == 0o600 and mode(folder) == 0o700
    said = [r.getMessage() for r in caplog.records if r.name == "scoring.storage.db"]
    # SQLite removes the empty WAL when it closes; it was made private before it opened.
    assert f"database file {wal} was open to other users: mode 0644 -> 0600" in said
    assert f"database file {database} was open to other users: mode 0644 -> 0600" in said
    assert f"database folder {folder} was open to other users: mode 0755 -> 0700" in said
    caplog.clear()
    create_engine_for(f"sqlite:///{database}").dispose()
    assert not [r for r in caplog.records if r.name == "scoring.storage.db"], "said once only"


def test_db_upgrade_says_which_files_it_made_private(tmp_path):  # type: ignore[no-untyped-def]
    import subprocess
    import sys
    from pathlib import Path

    database = tmp_path / "db" / "installment.db"
    upgrade(f"sqlite:///{database}")
    database.chmod(0o664)
    done = subprocess.run(
        [str(Path(sys.executable).with_name("installment")), "db-upgrade", "--database-url",
         f"sqlite:///{database}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert f"database file {database} was open to other users: mode 0664 -> 0600" in done.stderr
    assert mode(database) == 0o600


def test_a_database_in_a_shared_sticky_folder_leaves_the_folder_alone(tmp_path):  # type: ignore[no-untyped-def]
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    database = shared / "installment.db"
    upgrade(f"sqlite:///{database}")
    assert mode(shared) == 0o1777 and mode(database) == 0o600
