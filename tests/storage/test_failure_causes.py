"""Database failures are named by cause from SQLSTATE or SQLite's fixed texts, never values."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from scoring.storage.db import DatabaseBusy, DatabaseUnavailable
from scoring.storage.failures import CAUSES, TRANSIENT_CAUSES, failure_cause, needs_reopen


class PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__("a message that may quote values: 38001085718")
        self.sqlstate = sqlstate


def wrapped(error: Exception) -> DBAPIError:
    return OperationalError("INSERT ...", None, error)


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (sqlite3.OperationalError("database or disk is full"), "disk_full"),
        (sqlite3.OperationalError("attempt to write a readonly database"), "read_only"),
        (sqlite3.OperationalError("database is locked"), "lock_timeout"),
        (sqlite3.OperationalError("unable to open database file"), "cannot_open"),
        (PgError("53100"), "disk_full"),
        (PgError("25006"), "read_only"),
        (PgError("55P03"), "lock_timeout"),
        (PgError("57014"), "statement_timeout"),
        (PgError("57P01"), "connection_lost"),
        (PgError("08006"), "connection_lost"),
        (PgError("08XYZ"), "connection_lost"),
        (PgError("42P01"), "other"),
    ],
)
def test_driver_errors_are_named_by_cause(error, cause):
    assert failure_cause(wrapped(error)) == cause
    assert failure_cause(error) == cause


def test_the_engines_own_errors_carry_their_cause():
    assert failure_cause(DatabaseBusy("held")) == "lock_timeout"
    refused = DatabaseUnavailable(
        "postgresql://u@127.0.0.1:1/db", "connection to server failed: Connection refused"
    )
    assert failure_cause(refused) == "connection_refused"
    slow = DatabaseUnavailable("postgresql://u@10.0.0.1/db", "timeout expired")
    assert failure_cause(slow) == "connect_timeout"


def test_only_conditions_an_operator_can_fix_discard_the_connection():
    assert needs_reopen(wrapped(sqlite3.OperationalError("attempt to write a readonly database")))
    assert needs_reopen(wrapped(sqlite3.OperationalError("database or disk is full")))
    assert not needs_reopen(wrapped(sqlite3.OperationalError("database is locked")))
    assert not needs_reopen(wrapped(PgError("42P01")))


def test_every_cause_reads_as_a_sentence_and_only_other_is_not_transient():
    assert all(text and text[0].islower() for text in CAUSES.values())
    assert set(CAUSES) - TRANSIENT_CAUSES == {"other"}
