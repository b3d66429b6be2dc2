"""Refused sign-ins from one address: after ten within ten minutes, that address waits.

The count is in the database, shared by every process (the last test runs two).
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from review_ui_web import sign_in
from sqlalchemy import select

from review_ui.accounts import AUDIT_ENTITY, SIGN_IN_FORM
from review_ui.throttle import SIGN_IN_LIMIT, SIGN_IN_WINDOW, SignInThrottle
from scoring.storage.db import UnitOfWork, session_factory
from scoring.storage.tables import AuditLogEntry
from scoring.storage.tables_privacy import RequestCounter

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.fixture
def throttle(ui_engine):  # type: ignore[no-untyped-def]
    sessions = session_factory(ui_engine)
    return SignInThrottle(unit_of_work=lambda: UnitOfWork(sessions), limit=3,
                          window=timedelta(minutes=10))  # fmt: skip


def test_an_address_waits_once_it_reaches_the_limit_until_its_window_ends(throttle):  # type: ignore[no-untyped-def]
    reached = [throttle.refused("10.0.0.1", T0 + n * timedelta(minutes=1)) for n in range(3)]
    assert reached == [False, False, True]
    assert throttle.wait("10.0.0.1", T0 + 3 * timedelta(minutes=1)) == timedelta(minutes=7)
    assert throttle.wait("10.0.0.2", T0) is None  # addresses are counted apart
    # A new window starts afresh.
    assert throttle.wait("10.0.0.1", T0 + timedelta(minutes=10)) is None
    assert throttle.refused("10.0.0.1", T0 + timedelta(minutes=10)) is False


def test_counters_keep_no_address_and_are_removed_once_their_window_ended(throttle, ui_engine):  # type: ignore[no-untyped-def]
    throttle.refused("198.51.100.23", T0)
    throttle.refused("198.51.100.24", T0 + SECOND)
    assert _counter_keys(ui_engine) and all(
        "198.51.100" not in key for key in _counter_keys(ui_engine)
    )
    throttle.refused("198.51.100.25", T0 + timedelta(minutes=10))
    assert len(_counter_keys(ui_engine)) == 1, "the older window's counters are gone"


def _counter_keys(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with UnitOfWork.for_engine(engine) as uow:
        return list(uow.session.scalars(select(RequestCounter.key)))


@pytest.mark.parametrize("options", [{"limit": 0}, {"window": timedelta(0)}])
def test_a_throttle_needs_positive_settings(options):  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="positive"):
        SignInThrottle(unit_of_work=lambda: None, **options)  # type: ignore[arg-type, return-value]


def _entries(engine) -> list[tuple[str, str]]:
    with UnitOfWork.for_engine(engine) as uow:
        rows = uow.session.scalars(
            select(AuditLogEntry)
            .where(AuditLogEntry.entity_type == AUDIT_ENTITY)
            .order_by(AuditLogEntry.seq)
        )
        return [(r.action, r.entity_id) for r in rows]


@pytest.fixture
def elsewhere(client):
    """The same UI process as ``client``, used from another address."""
    return TestClient(
        client.app, base_url="http://localhost", follow_redirects=False, client=("192.0.2.7", 4000)
    )


def test_guessing_from_one_address_is_paused_without_an_entry_per_guess(client, ui_engine, clock):
    for n in range(SIGN_IN_LIMIT):
        assert sign_in(client, f"guess{n:02d}", "wrong wrong wrong").status_code == 401

    paused = sign_in(client, "rita")  # even the right password waits
    assert paused.status_code == 429
    assert int(paused.headers["Retry-After"]) == SIGN_IN_WINDOW.total_seconds()
    assert "Too many sign-ins from this address" in paused.text
    assert "review_session=" not in paused.headers.get("set-cookie", "")

    entries = _entries(ui_engine)
    assert entries.count(("sign_ins_throttled", SIGN_IN_FORM)) == 1
    assert sum(action == "sign_in_refused" for action, _ in entries) == SIGN_IN_LIMIT
    with UnitOfWork.for_engine(ui_engine) as uow:
        throttled = uow.session.scalar(
            select(AuditLogEntry).where(AuditLogEntry.action == "sign_ins_throttled")
        )
        assert throttled.details == {"refused": SIGN_IN_LIMIT, "within_minutes": 10}
        assert "testclient" not in str(throttled.details)  # no address is kept

    clock.advance(SIGN_IN_WINDOW)
    assert sign_in(client, "rita").status_code == 303


def test_other_addresses_are_not_held_up(client, elsewhere):
    for n in range(SIGN_IN_LIMIT):
        sign_in(client, f"guess{n:02d}", "wrong wrong wrong")
    assert sign_in(client, "rita").status_code == 429
    assert sign_in(elsewhere, "rita").status_code == 303


def test_two_server_processes_share_the_count_of_one_peer(tmp_path, ui_db_url):  # type: ignore[no-untyped-def]
    """Guesses spread over two processes on one database are counted together; a forged
    X-Forwarded-For moves nothing unless the peer is a configured trusted proxy."""
    ports = [_free_port(), _free_port()]
    # The first process trusts no proxy; the second trusts 127.0.0.1, the test's own peer.
    servers = [
        subprocess.Popen(
            [sys.executable, str(HERE / "sign_in_server.py"), ui_db_url, str(port), *proxies],
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"{port}.log").open("wb"),
        )  # fmt: skip
        for port, proxies in zip(ports, [(), ("127.0.0.1",)], strict=True)
    ]
    try:
        untrusting, trusting = (_wait_until_up(port) for port in ports)

        def guess(client, n, **headers):  # type: ignore[no-untyped-def]
            return _http_sign_in(client, f"guess{n:02d}", "wrong wrong wrong", headers)

        # Each forged address on the untrusting process still counts against 127.0.0.1.
        half = SIGN_IN_LIMIT // 2
        for n in range(half):
            assert guess(untrusting, n, **{"X-Forwarded-For": f"203.0.113.{n}"}) == 401
        for n in range(half, SIGN_IN_LIMIT):
            assert guess(trusting, n) == 401
        assert guess(untrusting, 90) == 429
        assert guess(trusting, 91) == 429
        assert guess(untrusting, 92, **{"X-Forwarded-For": "203.0.113.77"}) == 429
        # Behind the trusted proxy, another client is its own address.
        assert guess(trusting, 93, **{"X-Forwarded-For": "203.0.113.77"}) == 401
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)


HERE = Path(__file__).resolve().parent
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(port: int) -> str:
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/review/login", timeout=1)
            return base
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"the UI process on port {port} did not start")


def _http_sign_in(base: str, username: str, password: str, headers: dict[str, str]) -> int:
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        form = client.get("/review/login")
        token = _CSRF_FIELD.search(form.text)
        assert token, form.text
        answer = client.post(
            "/review/login",
            data={"username": username, "password": password, "csrf_token": token.group(1)},
        )
        return answer.status_code
