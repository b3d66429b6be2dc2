"""Core statements compiled once per dialect and run straight on the driver's cursor.

A decision runs about fifteen statements. SQLAlchemy's execution of a Core statement
(cache key of the statement tree, parameter processing, a result object with its
metadata) costs 20 to 40 µs above the driver's own work on this machine, as much as the
SQLite work itself. A :class:`Prepared` statement keeps SQLAlchemy as the one place where
tables and SQL are written: it compiles the statement for the connection's dialect once,
keeps the SQL text, the parameter order and each parameter's bind processor (datetime to
text on SQLite, JSON to text), and afterwards hands the driver only the text and the
processed values. Rows come back as plain tuples.

The statements run in the transaction of the SQLAlchemy ``Connection`` they are given
(its DBAPI connection), so they mix freely with ordinary SQLAlchemy work on it.

:class:`Pipeline` sends a run of statements to PostgreSQL without waiting for each answer
(psycopg's pipeline mode): a decision's inserts cost one round trip instead of one each.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert

from scoring.storage.failures import needs_reopen


class PreparedStatementError(RuntimeError):
    """A prepared statement was given parameters it cannot run with (a programming error)."""


@dataclass
class _Compiled:
    sql: str
    # Bind names in the order of the SQL text (positional drivers), or None for named ones.
    order: tuple[str, ...] | None
    # Binds the caller must give, and the values of those written into the statement.
    required: frozenset[str]
    defaults: tuple[tuple[str, Any], ...]
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    # The result columns' types; their conversions of the driver's values are found on the
    # first fetch, from the column types the driver reports (PostgreSQL's numerics need them).
    result_types: tuple[Any, ...]
    results: tuple[Callable[[Any], Any] | None, ...] | None = None
    results_known: bool = False


class Prepared:
    """One Core statement, compiled per dialect (and per set of inserted columns) on first use.

    ``execute`` returns the driver's cursor; ``one``, ``first``, ``all`` and ``scalar``
    read it. An INSERT is compiled for exactly the columns given, so columns left out take
    their server default; a left-out column with a Python-side default is refused, since
    only a SQLAlchemy execution would fill it in.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._is_insert = isinstance(statement, Insert)
        self._compiled: dict[tuple[str, frozenset[str] | None], _Compiled] = {}
        self._lock = threading.Lock()

    def _for(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        columns = frozenset(params) if self._is_insert else None
        key = (dialect.name, columns)
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key) or self._compile(dialect, columns)
                self._compiled[key] = compiled
        return compiled

    def _compile(self, dialect: Dialect, columns: frozenset[str] | None) -> _Compiled:
        kwargs: dict[str, Any] = {"dialect": dialect}
        if columns is not None:
            kwargs["column_keys"] = sorted(columns)
        compiled = self.statement.compile(**kwargs)
        assert isinstance(compiled, SQLCompiler)  # a statement compiles to SQL
        prefetch = getattr(compiled, "insert_prefetch", None) or []
        if prefetch:
            missing = sorted(column.key for column in prefetch)
            raise PreparedStatementError(
                f"insert leaves out {missing}, which have Python-side defaults; give them"
            )
        if getattr(compiled, "escaped_bind_names", None):
            raise PreparedStatementError("bind names that need escaping are not supported")
        processors, required, defaults = [], set(), []
        # ``bind_names`` holds each bind once, under the name it has in the SQL text.
        for bind, name in compiled.bind_names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors.append((name, processor))
            if bind.required:
                required.add(name)
            else:
                defaults.append((name, bind.effective_value))
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        result_types = tuple(
            column.type.dialect_impl(dialect)
            for column in getattr(self.statement, "exported_columns", ())
        )
        return _Compiled(
            sql=compiled.string,
            order=order,
            required=frozenset(required),
            defaults=tuple(defaults),
            processors=tuple(processors),
            result_types=result_types,
        )

    def execute(
        self, connection: Connection, params: Mapping[str, Any] | None = None
    ) -> DBAPICursor:
        """Run on ``connection``'s DBAPI connection, in its transaction; the driver's cursor.

        Rows read from the cursor itself come as the driver gives them; ``first``, ``all``
        and friends convert them as SQLAlchemy would (text to datetime on SQLite, JSON...).
        """
        return self._execute(connection, params)[0]

    def _execute(
        self, connection: Connection, params: Mapping[str, Any] | None
    ) -> tuple[Any, _Compiled]:
        params = params or {}
        dialect = connection.dialect
        compiled = self._for(dialect, params)
        if not compiled.required <= params.keys():
            missing = sorted(compiled.required - params.keys())
            raise PreparedStatementError(f"no value given for bind parameter(s) {missing}")
        values = dict(compiled.defaults)
        values.update(params)
        for name, process in compiled.processors:
            values[name] = process(values[name])
        arguments: Sequence[Any] | Mapping[str, Any] = (
            tuple(values[name] for name in compiled.order) if compiled.order is not None else values
        )
        dbapi_connection = connection.connection
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, arguments)
        except dialect.loaded_dbapi.Error as error:
            raise _wrapped(error, connection, compiled.sql, cursor) from error
        return cursor, compiled

    def one(self, connection: Connection, params: Mapping[str, Any] | None = None) -> tuple:
        """The only row; ``PreparedStatementError`` if there is none or more than one."""
        rows = self.all(connection, params)
        if len(rows) != 1:
            raise PreparedStatementError(f"expected one row, got {len(rows)}")
        return rows[0]

    def first(
        self, connection: Connection, params: Mapping[str, Any] | None = None
    ) -> tuple | None:
        """The first row, or None."""
        row, results = self._read(connection, params, lambda cursor: cursor.fetchone())
        return row if row is None or results is None else _typed(row, results)

    def all(self, connection: Connection, params: Mapping[str, Any] | None = None) -> list[tuple]:
        """Every row, as tuples."""
        rows, results = self._read(connection, params, lambda cursor: cursor.fetchall())
        return rows if results is None else [_typed(row, results) for row in rows]

    def _read(
        self,
        connection: Connection,
        params: Mapping[str, Any] | None,
        fetch: Callable[[Any], Any],
    ) -> tuple[Any, Any]:
        """Run, fetch with ``fetch`` and close the cursor: (what it fetched, result types)."""
        cursor, compiled = self._execute(connection, params)
        try:
            fetched = fetch(cursor)
            results = _results(compiled, cursor, connection.dialect)
        except connection.dialect.loaded_dbapi.Error as error:
            # In a pipeline, reading waits for earlier statements, whose errors come here.
            raise _wrapped(error, connection, compiled.sql, cursor) from error
        finally:
            cursor.close()
        return fetched, results

    def scalar(self, connection: Connection, params: Mapping[str, Any] | None = None) -> object:
        """The first column of the first row, or None when there is no row."""
        row = self.first(connection, params)
        return None if row is None else row[0]

    def run(self, connection: Connection, params: Mapping[str, Any] | None = None) -> None:
        """Execute for its effect."""
        self.execute(connection, params).close()


class Pipeline:
    """On PostgreSQL, statements go out without waiting for their answers while it is open.

    A block ``with Pipeline(connection) as pipeline:`` puts the driver in pipeline mode
    (psycopg's): reading a row (``first``, ``scalar``...) waits for the answers so far, and
    the rest are waited for when the pipeline ends. A failing statement therefore raises
    (as SQLAlchemy's error, a unique-key conflict as ``IntegrityError``) by then at the
    latest, and the transaction must be rolled back. SQLAlchemy's own execution (the ORM)
    does not work in pipeline mode: call :meth:`leave` before it. A block that raises
    leaves the transaction rolled back. Elsewhere than PostgreSQL this does nothing.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._open: Any = None
        self._driver: Any = None

    def __enter__(self) -> Pipeline:
        if self._connection.dialect.name == "postgresql":
            self._driver = self._connection.connection.driver_connection
            self._open = self._driver.pipeline()
            self._open.__enter__()
        return self

    def leave(self) -> None:
        """Wait for every answer and end pipeline mode (before work through SQLAlchemy)."""
        self.__exit__(None, None, None)

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        pipeline, self._open = self._open, None
        if pipeline is None:
            return
        connection = self._connection
        if exc_type is not None:
            # A failed statement aborted the pipeline and the transaction with it; rolling
            # back here ends both quietly (the caller's rollback then finds nothing to do).
            with contextlib.suppress(Exception):  # a lost connection cannot roll back
                self._driver.rollback()
        try:
            pipeline.__exit__(exc_type, exc, traceback)
        except connection.dialect.loaded_dbapi.Error as error:
            raise _wrapped(error, connection, "(pipelined statements)", None) from error


def _results(
    compiled: _Compiled, cursor: Any, dialect: Dialect
) -> tuple[Callable[[Any], Any] | None, ...] | None:
    """The result conversions of ``compiled``, found once from the cursor's description."""
    if not compiled.results_known:
        codes = [column[1] for column in cursor.description or ()]
        if len(codes) != len(compiled.result_types):
            raise PreparedStatementError(
                f"the statement returned {len(codes)} columns, "
                f"{len(compiled.result_types)} expected"
            )
        results = tuple(
            kind.result_processor(dialect, code)
            for kind, code in zip(compiled.result_types, codes, strict=True)
        )
        compiled.results = results if any(results) else None
        compiled.results_known = True
    return compiled.results


def _typed(row: Sequence[Any], results: tuple[Callable[[Any], Any] | None, ...]) -> tuple:
    return tuple(
        value if process is None else process(value)
        for value, process in zip(row, results, strict=True)
    )


def _wrapped(error: Any, connection: Connection, sql: str, cursor: Any) -> DBAPIError:
    """The driver's error as SQLAlchemy would raise it (IntegrityError, OperationalError...).

    A lost connection is invalidated, as SQLAlchemy does, so the pool does not hand it out
    again. The statement's parameters are left out of the message.
    """
    dialect = connection.dialect
    already = connection.invalidated
    reopen = needs_reopen(error)
    lost = already or reopen or dialect.is_disconnect(error, connection.connection, cursor)
    if cursor is not None:
        cursor.close()
    if lost and not already:
        connection.invalidate(error)
    if reopen:
        # The pool's other connections were opened under the same condition (a read-only
        # file): they are dropped too, so the next checkout sees the database as it is now.
        connection.engine.dispose(close=False)
    wrapped = DBAPIError.instance(
        sql,
        None,
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=lost,
        dialect=dialect,
    )
    assert isinstance(wrapped, DBAPIError)  # the driver's errors derive from its Error
    return wrapped
