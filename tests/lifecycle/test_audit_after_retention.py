"""`audit replay` after the retention sweep removed an application that a person decided:
what can be checked is checked against the decision log, and what was removed is named as
removed, never reported as a difference."""

from __future__ import annotations

from datetime import timedelta

from lifecycle_intercepts import DECLINING, REFERRING
from sqlalchemy import update
from test_paths import decide

from scoring.service import decision_log, retention
from scoring.storage.tables import DecisionLogEntry


def _sweep_everything_decided(life) -> retention.SweepReport:
    # Ten years on, every application decided here is past its retention period.
    as_of = (life.clock() + timedelta(days=3660)).date()
    return retention.run_sweep(sessions=life.runtime.sessions, as_of=as_of, clock=life.clock)


def _replay(life, decision_id: str) -> decision_log.ReplayResult:
    with life.uow() as uow:
        return decision_log.replay(
            session=uow.session, decision_id=decision_id, models=life.runtime.models
        )


def test_a_persons_decision_replays_after_retention_removed_what_it_replaced(life, codes):
    life.model(REFERRING)
    referred = life.apply(codes())
    review_id = referred["review"]["review_id"]
    person = decide(life, review_id, "declined").resulting_decision_id
    life.model(DECLINING)
    declined = life.apply(codes())
    contest = life.post(declined["contest"]["url"], {"statement": "I paid every invoice."})
    upheld = decide(life, contest.json()["review_id"], "upheld").resulting_decision_id
    before = {d: _replay(life, d) for d in (person, upheld)}
    assert all(r.matches and not r.removed for r in before.values())

    report = _sweep_everything_decided(life)
    assert report.counts["decisions"] == 4 and report.counts["review_cases"] == 2

    for decision_id, replaced, model in (
        (person, referred, REFERRING),
        (upheld, declined, DECLINING),
    ):
        result = _replay(life, decision_id)
        assert result.matches, result.differences
        assert result.made_by_person
        assert (result.stored_outcome, result.replayed_outcome) == ("decline", "decline")
        said = " ".join(result.removed)
        assert f"this decision ({decision_id}) was removed by retention on" in said
        assert f"the decision it replaced ({replaced['decision_id']}) was removed" in said
        assert "review case" in said and "checked as logged" in said
        # The automated decision it replaced still replays from its log entry (the tests'
        # models all say version 1, so the one that made it is put back first).
        life.model(model)
        automated = _replay(life, replaced["decision_id"])
        assert automated.matches, automated.differences
        assert "was removed by retention" in " ".join(automated.removed)
    with life.uow() as uow:
        assert decision_log.verify(session=uow.session) == []


def test_after_retention_a_bent_log_entry_is_still_found(life, codes):
    """Removal is not a licence: the inputs and the outcome are still checked against the
    log entries that remain, so an entry whose outcome was altered differs."""
    life.model(REFERRING)
    referred = life.apply(codes())
    person = decide(life, referred["review"]["review_id"], "declined").resulting_decision_id
    _sweep_everything_decided(life)
    with life.uow() as uow:
        entry = uow.session.query(DecisionLogEntry).filter_by(decision_id=person).one()
        bent = entry.payload.replace('"review_outcome":"declined"', '"review_outcome":"approved"')
        assert bent != entry.payload
        uow.session.execute(
            update(DecisionLogEntry).where(DecisionLogEntry.seq == entry.seq).values(payload=bent)
        )
    result = _replay(life, person)
    assert not result.matches
    assert "outcome decline now approve" in "; ".join(result.differences)


def test_the_replay_command_says_what_was_removed(life, codes, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from scoring.cli import app
    from scoring.config import get_settings

    life.model(REFERRING)
    referred = life.apply(codes())
    person = decide(life, referred["review"]["review_id"], "approved").resulting_decision_id
    _sweep_everything_decided(life)
    monkeypatch.setenv("INSTALLMENT_HOME", str(tmp_path))
    url = life.runtime.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("INSTALLMENT_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        replayed = CliRunner().invoke(app, ["audit", "replay", person])
    finally:
        get_settings.cache_clear()
    assert replayed.exit_code == 0, replayed.output
    assert "outcome      stored approve, replayed approve" in replayed.output
    assert f"removed: this decision ({person}) was removed by retention" in replayed.output
    assert "DIFFERS" not in replayed.output
    assert "replay matches the decision log and every record still stored" in replayed.output
