"""Sign-ins, sign-outs and refused sign-ins in the audit log; sessions cleaned up and revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from review_ui_web import PASSWORD, csrf_of, sign_in
from sqlalchemy import func, select
from typer.testing import CliRunner

from review_ui.accounts import ABSOLUTE_TIMEOUT, AUDIT_ENTITY, IDLE_TIMEOUT, NOT_A_USERNAME
from scoring.cli import app as cli
from scoring.service import audit
from scoring.storage.db import UnitOfWork
from scoring.storage.tables import AuditLogEntry
from scoring.storage.tables_web_sessions import WebSession


def _account_entries(ui_engine) -> list[tuple[str, str, str, dict]]:
    """(actor, action, username, details) of every account entry, oldest first."""
    with UnitOfWork.for_engine(ui_engine) as uow:
        assert audit.verify(session=uow.session) == []
        rows = uow.session.scalars(
            select(AuditLogEntry)
            .where(AuditLogEntry.entity_type == AUDIT_ENTITY)
            .order_by(AuditLogEntry.seq)
        )
        return [(r.actor, r.action, r.entity_id, dict(r.details)) for r in rows]


def _sessions(ui_engine) -> int:
    with UnitOfWork.for_engine(ui_engine) as uow:
        return uow.session.scalar(select(func.count()).select_from(WebSession))


def test_signing_in_and_out_is_recorded_under_the_persons_name(client, ui_engine):
    sign_in(client, "rita")
    page = client.get("/review/queue")
    client.post("/review/logout", data={"csrf_token": csrf_of(page.text)})
    # Signing out again with the stale form changes nothing and records nothing.
    client.post("/review/logout", data={"csrf_token": csrf_of(page.text)})
    assert _account_entries(ui_engine) == [
        ("user:rita", "signed_in", "rita", {}),
        ("user:rita", "signed_out", "rita", {}),
    ]


def test_a_refused_sign_in_reads_the_same_whatever_the_cause_and_keeps_no_password(
    client, ui_engine, clock
):
    wrong = "this-is-the-wrong-password"
    sign_in(client, "rita", wrong)  # an account that exists
    sign_in(client, "nobody", wrong)  # no such account
    sign_in(client, "Correct Horse Battery!", wrong)  # a password typed as the username
    for _ in range(5):
        sign_in(client, "sven", wrong)
    assert sign_in(client, "sven").status_code == 401  # locked: refused like the rest
    refused = [("anonymous", "sign_in_refused", name, {}) for name in ("rita", "nobody")]
    refused.append(("anonymous", "sign_in_refused", NOT_A_USERNAME, {}))
    refused += [("anonymous", "sign_in_refused", "sven", {})] * 6
    assert _account_entries(ui_engine) == refused
    with UnitOfWork.for_engine(ui_engine) as uow:
        stored = " ".join(
            f"{r.actor} {r.entity_id} {r.details}"
            for r in uow.session.scalars(select(AuditLogEntry))
        )
    for secret in (wrong, PASSWORD, "Correct Horse", "Battery"):
        assert secret not in stored


def test_oversight_shows_the_sign_in_activity(client):
    sign_in(client, "nobody", "not the password")
    sign_in(client, "aino")
    page = client.get("/review/oversight")
    assert page.status_code == 200
    activity = page.text[page.text.index('data-testid="account-activity"') :]
    assert activity.count('data-testid="account-event"') == 2
    assert "signed in" in activity and "sign in refused" in activity
    # Newest first.
    assert activity.index("signed in") < activity.index("sign in refused")


def test_expired_and_ended_sessions_are_deleted_at_the_next_sign_in(client, ui_engine, clock):
    sign_in(client, "rita")  # left to go idle
    client.cookies.clear()
    sign_in(client, "aino")
    page = client.get("/review/queue")
    client.post("/review/logout", data={"csrf_token": csrf_of(page.text)})  # ended
    assert _sessions(ui_engine) == 2
    clock.advance(IDLE_TIMEOUT + timedelta(seconds=1))
    client.cookies.clear()
    sign_in(client, "sven")
    assert _sessions(ui_engine) == 1  # only sven's new one
    # Active all day, sven's session still ends 12 hours after sign-in, and then goes too.
    for _ in range(int(ABSOLUTE_TIMEOUT / timedelta(minutes=20))):
        clock.advance(timedelta(minutes=20))
        client.get("/review/queue")
    client.cookies.clear()
    sign_in(client, "rita")
    assert _sessions(ui_engine) == 1


@pytest.fixture
def cli_runner() -> CliRunner:
    return CliRunner()


def test_every_session_of_an_account_can_be_revoked_from_the_command_line(
    client, ui_db_url, ui_engine, cli_runner
):
    sign_in(client, "rita")
    assert client.get("/review/queue").status_code == 200
    result = cli_runner.invoke(
        cli, ["user", "revoke-sessions", "--username", "rita", "--database-url", ui_db_url]
    )
    assert result.exit_code == 0, result.output
    assert "ended 1 session(s) of 'rita'" in result.output
    assert client.get("/review/queue").status_code == 303
    # Not deactivated: rita may sign in again.
    assert sign_in(client, "rita").status_code == 303
    actor, action, username, details = _account_entries(ui_engine)[-2]
    assert (actor, action, username, details) == (
        "cli:user revoke-sessions",
        "sessions_revoked",
        "rita",
        {"sessions_ended": 1},
    )


def test_a_leaver_is_signed_out_and_cannot_sign_in_again(client, ui_db_url, ui_engine, cli_runner):
    sign_in(client, "rita")
    result = cli_runner.invoke(
        cli,
        [
            "user",
            "revoke-sessions",
            "--username",
            "rita",
            "--deactivate",
            "--database-url",
            ui_db_url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "the account is deactivated" in result.output
    assert client.get("/review/queue").status_code == 303
    assert sign_in(client, "rita").status_code == 401
    assert ("cli:user revoke-sessions", "account_deactivated", "rita", {"sessions_ended": 1}) in (
        _account_entries(ui_engine)
    )


def test_revoking_an_unknown_account_is_a_clear_error(ui_db_url, cli_runner):
    result = cli_runner.invoke(
        cli, ["user", "revoke-sessions", "--username", "nobody", "--database-url", ui_db_url]
    )
    assert result.exit_code == 2
    assert "no account is named 'nobody'" in result.output
