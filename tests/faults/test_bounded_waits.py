"""Every wait on the database is bounded, and readiness says which dependency fails and why.

The API runs in this process (``TestClient``) on a real database: SQLite in a temporary
folder and PostgreSQL at 127.0.0.1, each reached as in production. The faults are real
too: another writer holding SQLite's writers' lock file, another connection holding the
decision log's head row lock on PostgreSQL, a PostgreSQL that stops answering (a proxy on
127.0.0.1 that stops passing bytes on, as a frozen server does), and a SQLite file that is
read-only when the API starts (immutable through ``chattr``) and made writable later.
Each must give a bounded 503 naming the cause, store nothing, and recover by itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parents[1] / "service"))
sys.path.insert(0, str(Path(__file__).parents[1] / "api"))

from api_requests import body, issue_key  # noqa: E402
from service_fakes import FakeBureau, LinearModel, StepClock  # noqa: E402

from scoring.api.app import create_app  # noqa: E402
from scoring.config import load_settings  # noqa: E402
from scoring.service.model_provider import StaticModelProvider  # noqa: E402
from scoring.service.policy_files import current_policy  # noqa: E402
from scoring.service.runtime import Runtime  # noqa: E402
from scoring.storage.db import create_engine_for, session_factory  # noqa: E402

BUDGET_S = 1.0
# Generous against a loaded machine, and far below the hangs these faults used to cause.
BOUND_S = 8.0


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """The migrated engine of this module's SQLite tests (PostgreSQL ones build their own)."""
    return sqlite_url


def make_runtime(engine, home: Path) -> Runtime:
    settings = replace(load_settings({"INSTALLMENT_HOME": str(home)}), decision_budget_s=BUDGET_S)
    return Runtime(
        settings=settings, engine=engine, sessions=session_factory(engine),
        bureau=FakeBureau("good"), models=StaticModelProvider(LinearModel(version="1")),
        policy=current_policy(), pseudonym_key=bytes(range(32)), clock=StepClock(),
    )  # fmt: skip


def decisions_stored(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM decisions")).scalar_one()


def timed(call):
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def test_a_held_sqlite_writers_lock_gives_a_bounded_503_and_readiness_names_it(
    sqlite_url, migrated_engine, tmp_path
):
    runtime = make_runtime(migrated_engine, tmp_path)
    auth = {"Authorization": f"Bearer {issue_key(runtime)}"}
    lock_file = make_url(sqlite_url).database + "-writer.lock"
    with TestClient(create_app(runtime), raise_server_exceptions=False) as api:
        holder = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(holder, fcntl.LOCK_EX)  # another process's writer, stuck in its turn
            answer, took = timed(lambda: api.post("/v1/decisions", json=body(), headers=auth))
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "database_busy"
            assert took < BOUND_S
            ready, took = timed(lambda: api.get("/readyz"))
            assert ready.status_code == 503 and took < BOUND_S
            assert "database" in ready.json()["error"]["message"]
            assert "(lock_timeout)" in ready.json()["error"]["message"]
            assert decisions_stored(migrated_engine) == 0
        finally:
            fcntl.flock(holder, fcntl.LOCK_UN)
            os.close(holder)
        assert api.get("/readyz").status_code == 200
        again = api.post("/v1/decisions", json=body(), headers=auth)
        assert again.status_code == 201, again.text
        metrics = api.get("/metrics").text
        assert 'installment_database_failures_total{cause="lock_timeout"} 1.0' in metrics
        assert (
            'installment_readiness_failures_total{cause="lock_timeout",dependency="database"} 1.0'
            in metrics
        )


@pytest.mark.postgres
def test_a_held_log_head_row_lock_on_postgres_gives_a_bounded_503(postgres_url, tmp_path):
    from scoring.storage.migrate import upgrade

    upgrade(postgres_url)
    engine = create_engine_for(postgres_url, lock_timeout_s=0.5)
    runtime = make_runtime(engine, tmp_path)
    auth = {"Authorization": f"Bearer {issue_key(runtime)}"}
    try:
        with TestClient(create_app(runtime), raise_server_exceptions=False) as api:
            first = api.post("/v1/decisions", json=body(), headers=auth)
            assert first.status_code == 201, first.text  # the chain's head row exists now
            holder = engine.connect()
            transaction = holder.begin()
            holder.execute(text("SELECT * FROM decision_log_head FOR UPDATE"))
            try:
                second = body(application_id="APP-0002")
                answer, took = timed(lambda: api.post("/v1/decisions", json=second, headers=auth))
                assert answer.status_code == 503, answer.text
                assert "a lock the write needs was held" in answer.json()["error"]["message"]
                assert took < BOUND_S
                assert decisions_stored(engine) == 1, "nothing of the refused one is stored"
            finally:
                transaction.rollback()
                holder.close()
            again = api.post("/v1/decisions", json=second, headers=auth)
            assert again.status_code == 201, again.text
    finally:
        engine.dispose()


class FreezableProxy:
    """A TCP proxy on 127.0.0.1 to ``target``; ``freeze()`` stops passing bytes either way."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.running = threading.Event()
        self.running.set()
        self.closed = False
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.running.clear()

    def thaw(self) -> None:
        self.running.set()

    def close(self) -> None:
        self.closed = True
        self.running.set()
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = source.recv(65536)
                if not data:
                    break
                self.running.wait()
                if self.closed:
                    break
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.mark.postgres
def test_a_postgres_that_stops_answering_gives_bounded_answers_and_recovers(postgres_url, tmp_path):
    from scoring.storage.migrate import upgrade

    upgrade(postgres_url)
    url = make_url(postgres_url)
    proxy = FreezableProxy((url.host or "127.0.0.1", url.port or 5432))
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    engine = create_engine_for(proxied)
    runtime = make_runtime(engine, tmp_path)
    auth = {"Authorization": f"Bearer {issue_key(runtime)}"}
    try:
        with TestClient(create_app(runtime), raise_server_exceptions=False) as api:
            assert api.post("/v1/decisions", json=body(), headers=auth).status_code == 201
            proxy.freeze()
            second = body(application_id="APP-0002")
            answer, took = timed(lambda: api.post("/v1/decisions", json=second, headers=auth))
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "decision_timeout"
            assert took < BOUND_S
            ready, took = timed(lambda: api.get("/readyz"))
            assert ready.status_code == 503 and took < BOUND_S
            assert "(no_answer)" in ready.json()["error"]["message"]
            proxy.thaw()
            deadline = time.monotonic() + 30
            while api.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "readiness did not recover"
                time.sleep(0.2)
            # The same key answers with whatever the first attempt left: stored or not, one.
            again = api.post("/v1/decisions", json=second, headers=auth)
            assert again.status_code in (200, 201, 409), again.text
            third = api.post("/v1/decisions", json=body(application_id="APP-0003"), headers=auth)
            assert third.status_code == 201, third.text
    finally:
        proxy.close()
        engine.dispose()


def _immutable(path: Path, on: bool) -> bool:
    if shutil.which("chattr") is None:
        return False
    done = subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True)
    return done.returncode == 0


def test_an_api_started_on_a_read_only_sqlite_file_recovers_when_it_becomes_writable(
    sqlite_url, migrated_engine, tmp_path
):
    runtime = make_runtime(migrated_engine, tmp_path)
    auth = {"Authorization": f"Bearer {issue_key(runtime)}"}
    migrated_engine.dispose()
    database = Path(make_url(sqlite_url).database)
    if not _immutable(database, True):
        pytest.skip("cannot make the database file read-only here (chattr +i needs root)")
    try:
        with TestClient(create_app(runtime), raise_server_exceptions=False) as api:
            answer = api.post("/v1/decisions", json=body(), headers=auth)
            assert answer.status_code == 503, answer.text
            assert "read-only" in answer.json()["error"]["message"]
            ready = api.get("/readyz")
            assert ready.status_code == 503
            assert "(read_only)" in ready.json()["error"]["message"]
            assert _immutable(database, False)
            ready = api.get("/readyz")
            assert ready.status_code == 200, ready.text
            again = api.post("/v1/decisions", json=body(), headers=auth)
            assert again.status_code == 201, again.text
            assert decisions_stored(migrated_engine) == 1
    finally:
        _immutable(database, False)
