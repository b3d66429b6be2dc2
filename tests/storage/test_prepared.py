"""Prepared statements: the same SQL, parameters and typed rows as SQLAlchemy's execution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Float, bindparam, cast, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from scoring.storage.prepared import Pipeline, Prepared, PreparedStatementError
from scoring.storage.tables import ApiClient, ApiKey

CLIENTS = ApiClient.__table__
KEYS = ApiKey.__table__
NOW = datetime(2026, 11, 20, 10, 30, 15, 123456, tzinfo=UTC)

ADD_CLIENT = Prepared(insert(CLIENTS))
ADD_KEY = Prepared(insert(KEYS).returning(KEYS.c.id))
KEY_BY_PREFIX = Prepared(
    select(KEYS.c.key_prefix, KEYS.c.scopes, KEYS.c.created_at, KEYS.c.expires_at, CLIENTS.c.active)
    .join(CLIENTS, CLIENTS.c.id == KEYS.c.client_id)
    .where(KEYS.c.key_prefix == bindparam("prefix"))
)


def _key(prefix: str, **changes) -> dict:
    values = {
        "client_id": "sales",
        "key_prefix": prefix,
        "key_hash": "h" * 64,
        "scopes": ["decisions:write", "decisions:read"],
        "created_at": NOW,
        "expires_at": NOW + timedelta(days=90),
        "revoked_at": None,
    }
    return {**values, **changes}


@pytest.fixture
def connection(migrated_engine):
    with migrated_engine.connect() as connection:
        with connection.begin():
            ADD_CLIENT.run(
                connection, {"id": "sales", "name": "Sales", "created_at": NOW, "active": True}
            )
        yield connection


def test_rows_come_back_typed_as_sqlalchemy_reads_them(connection):
    with connection.begin():
        key_id = ADD_KEY.scalar(connection, _key("aaaaaaaaaaaa"))
    assert isinstance(key_id, int)

    prepared = KEY_BY_PREFIX.one(connection, {"prefix": "aaaaaaaaaaaa"})
    expected = tuple(connection.execute(KEY_BY_PREFIX.statement, {"prefix": "aaaaaaaaaaaa"}).one())
    assert prepared == expected
    prefix, scopes, created_at, expires_at, active = prepared
    assert scopes == ["decisions:write", "decisions:read"]
    assert created_at == NOW and created_at.tzinfo is not None
    assert expires_at == NOW + timedelta(days=90)
    assert active is True


def test_no_row_and_many_rows(connection):
    assert KEY_BY_PREFIX.first(connection, {"prefix": "nobody"}) is None
    assert KEY_BY_PREFIX.scalar(connection, {"prefix": "nobody"}) is None
    with pytest.raises(PreparedStatementError, match="expected one row, got 0"):
        KEY_BY_PREFIX.one(connection, {"prefix": "nobody"})


def test_values_written_into_the_statement_are_sent(connection):
    with connection.begin():
        ADD_KEY.run(connection, _key("bbbbbbbbbbbb"))
        # ``== "sales"`` is a bind with its value in the statement, not given by the caller.
        revoke = Prepared(
            update(KEYS).where(KEYS.c.client_id == "sales").values(revoked_at=bindparam("at"))
        )
        revoke.run(connection, {"at": NOW})
    revoked = connection.execute(select(KEYS.c.revoked_at)).scalar_one()
    assert revoked == NOW


def test_a_missing_parameter_is_refused_before_anything_runs(connection):
    with pytest.raises(PreparedStatementError, match=r"\['prefix'\]"):
        KEY_BY_PREFIX.first(connection, {})


def test_an_insert_leaving_out_a_python_side_default_is_refused(connection):
    # ``active`` has a Python-side default that only SQLAlchemy's own execution fills in.
    with pytest.raises(PreparedStatementError, match="active"):
        ADD_CLIENT.run(connection, {"id": "other", "name": "Other", "created_at": NOW})


def test_driver_errors_are_raised_as_sqlalchemy_errors_and_the_transaction_recovers(connection):
    with connection.begin():
        ADD_KEY.run(connection, _key("cccccccccccc"))
    with pytest.raises(IntegrityError) as raised, connection.begin():
        ADD_KEY.run(connection, _key("cccccccccccc"))
    # The parameters (which may hold personal data elsewhere) are not in the message.
    assert "hhhhhhhh" not in str(raised.value)
    with connection.begin():
        ADD_KEY.run(connection, _key("dddddddddddd"))
    assert connection.execute(
        select(KEYS.c.key_prefix).order_by(KEYS.c.key_prefix)
    ).scalars().all() == [
        "cccccccccccc",
        "dddddddddddd",
    ]


def test_numbers_the_driver_types_itself_are_read_as_sqlalchemy_reads_them(connection):
    # PostgreSQL's numeric result conversions depend on the column type the driver reports.
    with connection.begin():
        key_id = ADD_KEY.scalar(connection, _key("eeeeeeeeeeee"))
    as_float = Prepared(
        select(cast(KEYS.c.id, Float), KEYS.c.id).where(KEYS.c.id == bindparam("id"))
    )
    value, same = as_float.one(connection, {"id": key_id})
    assert (value, same) == (float(key_id), key_id)
    assert isinstance(value, float) and isinstance(same, int)


ADD_KEY_QUIETLY = Prepared(insert(KEYS))
KEY_COUNT = Prepared(select(func.count()).select_from(KEYS))


def test_a_pipeline_sends_statements_and_reads_rows_in_order(connection):
    with connection.begin() as transaction, Pipeline(connection) as pipeline:
        ADD_KEY_QUIETLY.run(connection, _key("ffffffffffff"))
        ADD_KEY_QUIETLY.run(connection, _key("gggggggggggg"))
        # A read waits for the statements before it and sees their rows.
        assert KEY_COUNT.scalar(connection) == 2
        ADD_KEY_QUIETLY.run(connection, _key("hhhhhhhhhhhh"))
        pipeline.leave()
        # Out of the pipeline, SQLAlchemy's own execution works on the same transaction.
        assert connection.execute(select(func.count()).select_from(KEYS)).scalar_one() == 3
        transaction.commit()
    assert KEY_COUNT.scalar(connection) == 3


def test_a_failure_in_a_pipeline_is_an_integrity_error_and_nothing_stays(connection):
    with connection.begin():
        ADD_KEY.run(connection, _key("iiiiiiiiiiii"))
    with (
        pytest.raises(IntegrityError) as raised,
        connection.begin() as transaction,
        Pipeline(connection),
    ):
        ADD_KEY_QUIETLY.run(connection, _key("jjjjjjjjjjjj"))
        ADD_KEY_QUIETLY.run(connection, _key("iiiiiiiiiiii"))  # the prefix is unique
        ADD_KEY_QUIETLY.run(connection, _key("kkkkkkkkkkkk"))
        transaction.commit()  # on PostgreSQL the conflict is learnt here
    assert "hhhhhhhh" not in str(raised.value)
    connection.rollback()  # what SQLAlchemy asks for after a failed commit (a no-op here)
    assert Prepared(select(KEYS.c.key_prefix)).all(connection) == [("iiiiiiiiiiii",)]
    with connection.begin():  # the connection is usable again
        ADD_KEY_QUIETLY.run(connection, _key("llllllllllll"))
    assert KEY_COUNT.scalar(connection) == 2


def test_reads_under_autocommit_open_no_transaction(connection):
    from scoring.storage.db import autocommit

    with autocommit(connection):
        assert KEY_COUNT.scalar(connection) == 0
        assert not connection.in_transaction()
        if connection.dialect.name == "postgresql":
            status = connection.connection.driver_connection.info.transaction_status
            assert status == 0  # idle: the read committed by itself
    # Afterwards a transaction is a transaction again: a rollback undoes the insert.
    with connection.begin() as transaction:
        ADD_KEY_QUIETLY.run(connection, _key("mmmmmmmmmmmm"))
        transaction.rollback()
    assert KEY_COUNT.scalar(connection) == 0
