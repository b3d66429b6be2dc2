"""The decision log is a hash chain that never forks, detects tampering and replays decisions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from service_fakes import BOTH_DATABASES, LinearModel, application
from sqlalchemy import delete, select, update

from scoring.service import decision_log
from scoring.service.model_provider import StaticModelProvider
from scoring.storage import tables as t
from scoring.storage.db import UnitOfWork
from scoring.storage.write_turn import write_turn

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def verify(uow_factory):
    with uow_factory() as uow:
        return decision_log.verify(session=uow.session)


@BOTH_DATABASES
def test_concurrent_writers_take_turns_and_the_chain_verifies(migrated_engine, uow_factory):
    writers, per_writer = 6, 8
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(writer: int) -> None:
        try:
            start.wait()
            for n in range(per_writer):
                with UnitOfWork.for_engine(migrated_engine) as uow:
                    decision_log.append(
                        session=uow.session, decision_id=f"w{writer}-{n}",
                        payload={"writer": writer, "n": n}, at=AT,
                    )  # fmt: skip
        except BaseException as error:  # reported below with the thread's own error
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with uow_factory() as uow:
        entries = uow.session.scalars(select(t.DecisionLogEntry).order_by("seq")).all()
    assert [e.seq for e in entries] == list(range(1, writers * per_writer + 1))
    assert all(e.prev_hash == p.entry_hash for p, e in zip(entries, entries[1:], strict=False))
    chain_only = [b for b in verify(uow_factory) if "no log entry" not in b.problem]
    assert [b for b in chain_only if "was deleted" not in b.problem] == []


@pytest.fixture
def three_decisions(decide):
    return [decide(application(application_id=f"APP-000{i}", amount=a, term=m))
            for i, (a, m) in enumerate([(500, 12), (3900, 6), (1200, 24)], start=1)]  # fmt: skip


def test_an_untouched_log_verifies(three_decisions, uow_factory):
    assert verify(uow_factory) == []


def test_a_changed_decision_row_is_named(three_decisions, uow_factory):
    declined = three_decisions[1]
    with uow_factory() as uow:
        uow.session.execute(
            update(t.Decision)
            .where(t.Decision.id == declined.decision_id)
            .values(outcome="approve")
        )
    (problem,) = verify(uow_factory)
    assert problem.seq == 2
    assert problem.problem == (
        f"decision {declined.decision_id} differs from its log entry in outcome"
    )


def test_a_changed_log_entry_breaks_the_chain_there(three_decisions, uow_factory):
    with uow_factory() as uow:
        entry = uow.session.get(t.DecisionLogEntry, 2)
        entry.payload = entry.payload.replace('"decline"', '"approve"')
    problems = verify(uow_factory)
    assert {b.seq for b in problems} == {2}
    assert "content differs from what was hashed" in [b.problem for b in problems]


def test_a_deleted_entry_in_the_middle_and_at_the_end_are_both_detected(
    three_decisions, uow_factory
):
    with uow_factory() as uow:
        uow.session.execute(delete(t.DecisionLogEntry).where(t.DecisionLogEntry.seq == 3))
    problems = verify(uow_factory)
    assert any("head records entry 3" in b.problem for b in problems)
    assert any(f"decision {three_decisions[2].decision_id} has no log entry" in b.problem
               for b in problems)  # fmt: skip

    with uow_factory() as uow:
        uow.session.execute(delete(t.DecisionLogEntry).where(t.DecisionLogEntry.seq == 1))
    assert any(b.seq == 2 and "does not link" in b.problem for b in verify(uow_factory))


def test_replay_recomputes_each_decision_with_its_model_and_policy(
    three_decisions, uow_factory, models
):
    for view in three_decisions:
        with uow_factory() as uow:
            result = decision_log.replay(
                session=uow.session, decision_id=view.decision_id, models=models
            )
        assert result.matches, result.differences
        assert result.replayed_outcome == view.outcome
        assert result.replayed_probability_of_default == view.probability_of_default


def test_replay_with_a_different_model_shows_what_differs(three_decisions, uow_factory):
    other = StaticModelProvider(LinearModel(version="1", intercept=-1.0))
    with uow_factory() as uow:
        result = decision_log.replay(
            session=uow.session, decision_id=three_decisions[0].decision_id, models=other
        )
    assert not result.matches
    assert result.differences[0] == "outcome approve now decline"


def test_replay_of_a_refer_without_bureau_needs_no_model(decide, bureau, uow_factory):
    bureau.failure = "unavailable"
    view = decide(application())
    with uow_factory() as uow:
        result = decision_log.replay(
            session=uow.session, decision_id=view.decision_id, models=StaticModelProvider(None)
        )
    assert result.matches and result.replayed_outcome == "refer"


def test_a_deleted_decision_breaks_verification_unless_it_was_removed_lawfully(
    three_decisions, uow_factory
):
    from scoring.storage.tables_privacy import RemovedDecision

    gone = three_decisions[1].decision_id
    with uow_factory() as uow:
        uow.session.execute(delete(t.Decision).where(t.Decision.id == gone))
    assert any(f"decision {gone} was deleted" in b.problem for b in verify(uow_factory))

    with uow_factory() as uow:
        uow.session.add(
            RemovedDecision(
                decision_id=gone, removed_at=datetime.now(UTC), removed_by="retention",
                rule="decision_log_P6M",
            )
        )
    assert [b for b in verify(uow_factory) if gone in b.problem] == []


def test_sqlite_writers_of_other_processes_queue_on_the_lock_file_beside_the_database(tmp_path):
    """A replica holding the write turn makes this process wait, without SQLite's busy sleeps."""
    import subprocess
    import sys
    import time

    from scoring.storage.db import create_engine_for

    engine = create_engine_for(f"sqlite:///{tmp_path / 'shared.db'}")
    lock_file = tmp_path / "shared.db-writer.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time\n"
         f"fd = os.open({str(lock_file)!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\n"
         "print('held', flush=True)\n"
         "time.sleep(0.5)\n"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with engine.connect() as connection, write_turn(connection):
            waited = time.monotonic() - started
        assert holder.wait(timeout=10) == 0
    finally:
        holder.kill()
        engine.dispose()
    # The turn came when the other process let go (its lock ends with it), not before.
    assert 0.3 < waited < 5.0


def test_a_writer_that_gave_up_its_turn_leaves_the_lock_file_free_for_the_others(tmp_path):
    """A turn not given in time ends in DatabaseBusy, and the lock the process was still
    waiting for is passed on when it comes, not kept: another process takes it at once."""
    import fcntl
    import os
    import subprocess
    import sys

    from scoring.storage.db import DatabaseBusy, create_engine_for

    engine = create_engine_for(f"sqlite:///{tmp_path / 'shared.db'}")
    lock_file = tmp_path / "shared.db-writer.lock"
    holder = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)  # another writer's description
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with engine.connect() as connection:
            with pytest.raises(DatabaseBusy), write_turn(connection, timeout_s=0.2):
                pass
            fcntl.flock(holder, fcntl.LOCK_UN)  # the holder lets go after the writer gave up
            other = subprocess.run(
                [sys.executable, "-c",
                 "import fcntl, os, sys, time\n"
                 f"fd = os.open({str(lock_file)!r}, os.O_RDWR)\n"
                 "deadline = time.monotonic() + 5\n"
                 "while True:\n"
                 "    try:\n"
                 "        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); break\n"
                 "    except BlockingIOError:\n"
                 "        if time.monotonic() > deadline: sys.exit(3)\n"
                 "        time.sleep(0.01)\n"
                 "fcntl.flock(fd, fcntl.LOCK_UN)\n"],
                timeout=30,
            )  # fmt: skip
            assert other.returncode == 0  # the lock was free again, not held by the gone writer
            with write_turn(connection):  # and this process gets its next turn as usual
                pass
    finally:
        os.close(holder)
        engine.dispose()


def test_in_memory_sqlite_writers_queue_within_the_process_only(tmp_path, monkeypatch):
    from scoring.storage.db import create_engine_for

    monkeypatch.chdir(tmp_path)  # no lock file appears in the working folder either
    engine = create_engine_for("sqlite://")
    with engine.connect() as connection, write_turn(connection):
        pass
    assert list(tmp_path.iterdir()) == []
    engine.dispose()
