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
