"""Reviewers sign in while decisions flow from another process: no error, bounded hashing.

On SQLite a sign-in used to read, hash, then write, and lost the upgrade of its lock to
the decision writers ("database is locked", a 500). On both databases every sign-in here
must either open a session or be refused for its password, nothing else.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from decision_writer import write_decisions
from review_ui_web import PASSWORD

from review_ui import accounts
from scoring.storage.db import UnitOfWork

LOAD_SECONDS = 20.0


def test_sign_ins_hold_while_another_process_decides(migrated_engine, db_url):  # type: ignore[no-untyped-def]
    with UnitOfWork.for_engine(migrated_engine) as uow:
        for n in range(4):
            accounts.add_user(uow=uow, username=f"rev{n}", role="reviewer", password=PASSWORD)
    context = multiprocessing.get_context("spawn")
    ready, counter = context.Event(), context.Value("i", 0)
    writer = context.Process(target=write_decisions, args=(db_url, LOAD_SECONDS, ready, counter))
    writer.start()
    outcomes: list[str] = []
    try:
        assert ready.wait(120), "the decision process did not start"

        def sign_in(n: int) -> str:
            password = PASSWORD if n % 3 else "a wrong password of some length"
            try:
                with UnitOfWork.for_engine(migrated_engine) as uow:
                    accounts.sign_in(uow=uow, username=f"rev{n % 4}", password=password,
                                     now=datetime.now(UTC))  # fmt: skip
                return "signed_in"
            except accounts.SignInRefused:
                return "refused"
            except Exception as error:  # noqa: BLE001 - what the test looks for
                return f"error: {type(error).__name__}: {error}"

        start = counter.value
        with ThreadPoolExecutor(max_workers=4) as pool:
            while writer.is_alive() and len(outcomes) < 200:
                outcomes += list(pool.map(sign_in, range(len(outcomes), len(outcomes) + 4)))
        decided = counter.value - start
    finally:
        writer.join(LOAD_SECONDS + 60)
        if writer.is_alive():
            writer.terminate()
    assert writer.exitcode == 0
    assert decided > 0, "no decision was made while reviewers signed in"
    errors = [o for o in outcomes if o.startswith("error")]
    assert errors == []
    assert "signed_in" in outcomes and "refused" in outcomes


def test_argon2_hashes_run_at_most_a_few_at_once(ui_engine, monkeypatch):  # type: ignore[no-untyped-def]
    running, most = 0, 0
    guard = threading.Lock()
    cheap = accounts._hasher

    class Counting:
        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(cheap, name)

        def verify(self, *args):  # type: ignore[no-untyped-def]
            nonlocal running, most
            with guard:
                running += 1
                most = max(most, running)
            try:
                threading.Event().wait(0.05)
                return cheap.verify(*args)
            finally:
                with guard:
                    running -= 1

    with UnitOfWork.for_engine(ui_engine) as uow:
        accounts.add_user(uow=uow, username="rita", role="reviewer", password=PASSWORD)
    monkeypatch.setattr(accounts, "_hasher", Counting())

    def sign_in(_: int) -> None:
        try:
            with UnitOfWork.for_engine(ui_engine) as uow:
                accounts.sign_in(uow=uow, username="rita", password="wrong password here",
                                 now=datetime.now(UTC))  # fmt: skip
        except accounts.SignInRefused:
            pass

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(sign_in, range(8)))
    assert 1 <= most <= accounts.ARGON2_AT_ONCE
