"""Writers' turns: how every writer of the database waits for its turn, on both dialects.

SQLite has one write lock per database. A transaction that reads first and writes later can
be refused the upgrade of its lock, or act on reads that another writer made stale, so a
writer takes the lock with its first statement (:func:`take_write_lock`). Writers that
come often (decisions) also queue here (:func:`write_turn`) instead of in SQLite's busy
handler, which sleeps in steps of up to 100 ms and so inflates tail latency: the threads of
one process on a lock per engine, the processes sharing a database file (API replicas) on
an exclusive ``flock`` of a file beside it, which the kernel hands to the next waiter as
soon as it is released.

PostgreSQL writers lock the rows they change (``SELECT ... FOR UPDATE``, a chain's head
row, an advisory lock for the audit chain), so both helpers do nothing there.

A turn is waited for at most ``timeout_s`` (``WRITER_TURN_TIMEOUT_S`` unless the caller
has less time left, as a decision does): a writer that holds the turn (a stuck process, an
operator's open transaction) costs the others a bounded wait and ``DatabaseBusy``, never a
hang. A blocking ``flock`` cannot be given up on from the thread that waits, and one asked
for again after pauses is taken late (and lost to a releaser that comes straight back), so
the blocking call runs in a waiter thread and the writer waits for it only until its
deadline (:class:`_FileLock`).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from scoring.storage.db import DatabaseBusy, in_memory_sqlite

# A write that changes nothing: as a transaction's first statement it takes SQLite's write
# lock (the statement opens the table for writing before its condition is evaluated).
_NO_OP_WRITE = text("UPDATE decision_log_head SET seq = seq WHERE 0")

# The longest any writer waits for its turn unless it has less time left.
WRITER_TURN_TIMEOUT_S = 10.0

_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, _WriterQueue] = weakref.WeakKeyDictionary()
_SQLITE_WRITERS_GUARD = threading.Lock()


def engine_of(bind: Session | Connection) -> Engine:
    """The engine a session or connection works on."""
    if isinstance(bind, Connection):
        return bind.engine
    engine = bind.get_bind()
    return engine if isinstance(engine, Engine) else engine.engine


def is_postgres(bind: Session | Connection) -> bool:
    """Whether ``bind`` works on PostgreSQL (else SQLite)."""
    return engine_of(bind).dialect.name == "postgresql"


def take_write_lock(bind: Session | Connection) -> None:
    """On SQLite, take the database write lock now, for the rest of the transaction.

    Call it as the transaction's first statement; the reads that follow then cannot go stale
    before the transaction writes. On PostgreSQL it does nothing.
    """
    if not is_postgres(bind):
        bind.execute(_NO_OP_WRITE)


@contextmanager
def write_turn(bind: Session | Connection, *, timeout_s: float | None = None) -> Iterator[None]:
    """Queue behind the other SQLite writers of the database for the block (else no-op).

    The other writers are this process's threads and other processes on the same file.
    Commit inside the block; on an error the transaction is rolled back before the turn ends.
    Raises ``DatabaseBusy`` when the turn has not come within ``timeout_s`` (by default
    ``WRITER_TURN_TIMEOUT_S``).
    """
    engine = engine_of(bind)
    if engine.dialect.name == "postgresql":
        yield
        return
    wait = WRITER_TURN_TIMEOUT_S if timeout_s is None else min(timeout_s, WRITER_TURN_TIMEOUT_S)
    with _writer_queue(engine).turn(wait):
        try:
            yield
        except BaseException:
            bind.rollback()
            raise


class _WriterQueue:
    """The turn of one SQLite writer at a time, across threads and processes."""

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._path = f"{database}-writer.lock" if database else None
        self._file: _FileLock | None = None

    @contextmanager
    def turn(self, timeout_s: float) -> Iterator[None]:
        deadline = time.monotonic() + timeout_s
        if not self._threads.acquire(timeout=max(timeout_s, 0.0)):
            raise _busy(timeout_s)
        try:
            if self._path is None:
                yield
                return
            if self._file is None:
                self._file = _FileLock(self._path)
            self._file.acquire(deadline, timeout_s)
            try:
                yield
            finally:
                self._file.release()
        finally:
            self._threads.release()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class _FileLock:
    """An exclusive ``flock`` of the file beside the database, waited for until a deadline.

    Taken without blocking when it is free. When another process holds it, a daemon thread
    of this process makes the blocking call, which the kernel answers the moment the holder
    releases, and the writer waits for that thread at most until its deadline; a lock the
    thread gets after the writer gave up is released at once. One writer of the process
    asks at a time (the queue's thread lock), so at most one request is in flight.
    """

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._state = threading.Lock()  # guards the flags below and every call on the lock
        self._wanted = threading.Event()
        self._granted = threading.Event()
        self._asking = False  # a writer waits for the thread's answer
        self._pending = False  # the thread is in its blocking call
        self._closed = False
        self._thread: threading.Thread | None = None

    def acquire(self, deadline: float, timeout_s: float) -> None:
        with self._state:
            if not self._pending:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    pass
            self._asking = True
            self._granted.clear()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._wait_for_lock, name="sqlite-writer-flock", daemon=True
                )
                self._thread.start()
        self._wanted.set()
        if self._granted.wait(max(deadline - time.monotonic(), 0.0)):
            return
        with self._state:
            if self._granted.is_set():
                return  # handed over just as the wait ran out
            self._asking = False
        raise _busy(timeout_s)

    def release(self) -> None:
        with self._state:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _wait_for_lock(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            with self._state:
                if self._closed:
                    return
                if not self._asking:
                    continue
                self._pending = True
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            with self._state:
                self._pending = False
                if self._closed:
                    os.close(self._fd)
                    return
                if self._asking:
                    self._asking = False
                    self._granted.set()
                else:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)  # the writer gave up: pass it on

    def close(self) -> None:
        with self._state:
            if self._closed:
                return
            self._closed = True
            self._wanted.set()
            if not self._pending:
                os.close(self._fd)


def _busy(timeout_s: float) -> DatabaseBusy:
    return DatabaseBusy(
        f"another writer held the database for more than {timeout_s:.1f} s; "
        "nothing was written, retry later"
    )


def _writer_queue(engine: Engine) -> _WriterQueue:
    with _SQLITE_WRITERS_GUARD:
        queue = _SQLITE_WRITERS.get(engine)
        if queue is None:
            database = engine.url.database or ""
            file = None if in_memory_sqlite(database) else database
            queue = _SQLITE_WRITERS[engine] = _WriterQueue(file)
            weakref.finalize(engine, queue.close)
        return queue
