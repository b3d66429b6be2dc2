"""Engines and the unit of work: how the rest of the product reaches the database."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from scoring.storage.db import (
    DatabaseUnavailable,
    InvalidDatabaseUrl,
    UnitOfWork,
    create_engine_for,
    masked_url,
    ping,
)
from scoring.storage.tables import ApiClient

UNREACHABLE = "postgresql://scorer:s3cret-pw@127.0.0.1:1/nowhere"


def _client(client_id: str) -> ApiClient:
    return ApiClient(id=client_id, name=client_id, created_at=datetime.now(UTC))


def _clients(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(ApiClient.id).order_by(ApiClient.id)))


def test_a_sqlite_file_gets_its_folder_wal_journal_foreign_keys_and_busy_timeout(
    tmp_path: Path,
) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'deep' / 'er' / 'db.sqlite'}")
    with engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    engine.dispose()

    assert (tmp_path / "deep" / "er").is_dir()
    assert (journal, foreign_keys) == ("wal", 1)
    assert busy_timeout >= 1000


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_postgresql_urls_use_psycopg_3(scheme: str) -> None:
    engine = create_engine_for(f"{scheme}://user@127.0.0.1:5432/db")

    assert engine.dialect.name == "postgresql"
    assert engine.dialect.driver == "psycopg"


@pytest.mark.parametrize("url", ["mysql://root@localhost/db", "not a url"])
def test_an_unsupported_or_garbled_url_is_refused_by_name(url: str) -> None:
    with pytest.raises(InvalidDatabaseUrl, match="database URL"):
        create_engine_for(url)


def test_an_unreachable_database_is_named_with_its_password_masked() -> None:
    engine = create_engine_for(UNREACHABLE)

    with pytest.raises(DatabaseUnavailable) as refused:
        ping(engine)

    message = str(refused.value)
    assert "postgresql+psycopg://scorer:***@127.0.0.1:1/nowhere" in message
    assert "s3cret-pw" not in message
    assert "INSTALLMENT_DATABASE_URL" in message
    assert "\n" not in message


def test_a_sqlite_file_in_a_folder_that_cannot_exist_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    with pytest.raises(DatabaseUnavailable, match="cannot create its folder"):
        create_engine_for(f"sqlite:///{blocker / 'db.sqlite'}")


def test_masked_url_hides_only_the_password() -> None:
    assert masked_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert masked_url("sqlite:///var/x.db") == "sqlite:///var/x.db"


def test_a_unit_of_work_commits_when_its_block_succeeds(migrated_engine: Engine) -> None:
    with UnitOfWork.for_engine(migrated_engine) as uow:
        uow.session.add(_client("sales"))

    assert _clients(migrated_engine) == ["sales"]


def test_a_unit_of_work_rolls_back_everything_when_its_block_raises(
    migrated_engine: Engine,
) -> None:
    with pytest.raises(RuntimeError), UnitOfWork.for_engine(migrated_engine) as uow:
        uow.session.add(_client("sales"))
        uow.session.flush()
        raise RuntimeError("the bureau timed out")

    assert _clients(migrated_engine) == []


def test_an_explicit_commit_is_durable_even_if_the_block_later_fails(
    migrated_engine: Engine,
) -> None:
    with pytest.raises(RuntimeError), UnitOfWork.for_engine(migrated_engine) as uow:
        uow.session.add(_client("committed"))
        uow.commit()
        uow.session.add(_client("lost"))
        raise RuntimeError("failure after the commit")

    assert _clients(migrated_engine) == ["committed"]


def test_a_unit_of_work_can_roll_back_part_of_its_work(migrated_engine: Engine) -> None:
    with UnitOfWork.for_engine(migrated_engine) as uow:
        uow.session.add(_client("kept"))
        uow.commit()
        uow.session.add(_client("discarded"))
        uow.rollback()

    assert _clients(migrated_engine) == ["kept"]


def test_savepoints_work_on_both_backends(migrated_engine: Engine) -> None:
    with UnitOfWork.for_engine(migrated_engine) as uow:
        uow.session.add(_client("outer"))
        with pytest.raises(RuntimeError), uow.session.begin_nested():
            uow.session.add(_client("inner"))
            uow.session.flush()
            raise RuntimeError("inner step failed")

    assert _clients(migrated_engine) == ["outer"]


def test_objects_stay_readable_after_the_unit_of_work_ends(migrated_engine: Engine) -> None:
    with UnitOfWork.for_engine(migrated_engine) as uow:
        client = _client("sales")
        uow.session.add(client)

    assert client.name == "sales"


def test_the_database_enforces_foreign_keys(migrated_engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), migrated_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO api_keys (client_id, key_prefix, key_hash, scopes, created_at) "
                "VALUES ('no-such-client', 'p', 'h', '[]', :now)"
            ),
            {"now": datetime.now(UTC).isoformat()},
        )
    with migrated_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ApiClient)) == 0


@pytest.mark.postgres
def test_a_pooled_connection_the_server_ended_is_replaced_without_an_error(
    postgres_url: str,
) -> None:
    engine = create_engine_for(postgres_url)
    try:
        with engine.connect() as connection:
            first = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # The pool holds the connection; the server ends its session (as a restart would).
        with create_engine_for(postgres_url).connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            admin.commit()
            deadline = time.monotonic() + 10
            gone = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
            while admin.execute(gone, {"pid": first}).scalar_one():
                assert time.monotonic() < deadline, "the backend did not end"
                admin.rollback()  # a new snapshot of pg_stat_activity
                time.sleep(0.05)
        # The next checkout notices the closed socket and opens a new connection: no error.
        with engine.connect() as connection:
            pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert pid != first
    finally:
        engine.dispose()
