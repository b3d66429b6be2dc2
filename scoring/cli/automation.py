"""``installment automation stop|start|status``: the oversight stop switch (AI Act Art. 14(4)(e)).

While automated decisions are stopped every new application goes to a person; every API
process obeys within a few seconds (its poll), without a restart. The person acting names
themselves with ``--as`` and gives their password; each turn is in the audit log.
"""

from __future__ import annotations

from typing import Annotated

import typer

from scoring.cli.change import AsOption, PasswordStdinOption, acting_person, now_utc
from scoring.cli.common import DatabaseUrlOption, fail, migrated_unit_of_work

automation_app = typer.Typer(
    help="The oversight stop switch: stop or restart automated decisions, with a reason.",
    no_args_is_help=True,
)

ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")]


def _switch(automated: bool, acting: str, reason: str, password_stdin: bool,
            database_url: str | None) -> None:  # fmt: skip
    from scoring.domain.errors import EngineError
    from scoring.service.policy_in_force import switch_automation

    person = acting_person(database_url, acting, password_stdin)
    try:
        with migrated_unit_of_work(database_url) as uow:
            state = switch_automation(
                uow=uow, actor=person, automated=automated, reason=reason, now=now_utc()
            )
    except EngineError as error:
        raise fail(error.message) from None
    _print(state)
    typer.echo("every API process obeys within a few seconds (its poll of the record)")


def _print(state) -> None:  # type: ignore[no-untyped-def]
    if state.automated_decisions:
        typer.echo("automated decisions: ON")
    else:
        typer.echo("automated decisions: STOPPED (every new application goes to a person)")
    if state.changed_at is not None:
        typer.echo(
            f"  last changed by {state.changed_by} at {state.changed_at:%Y-%m-%d %H:%M:%S} UTC: "
            f"{state.reason}"
        )


@automation_app.command("stop")
def stop(
    acting: AsOption,
    reason: ReasonOption,
    password_stdin: PasswordStdinOption = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Stop automated decisions: every new application goes to a person."""
    _switch(False, acting, reason, password_stdin, database_url)


@automation_app.command("start")
def start(
    acting: AsOption,
    reason: ReasonOption,
    password_stdin: PasswordStdinOption = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Restart automated decisions after a stop."""
    _switch(True, acting, reason, password_stdin, database_url)


@automation_app.command("status")
def status(database_url: DatabaseUrlOption = None) -> None:
    """Whether automated decisions are on, and who changed that last, when and why."""
    from scoring.domain.errors import EngineError
    from scoring.service.policy_in_force import automation_state

    try:
        with migrated_unit_of_work(database_url) as uow:
            state = automation_state(uow=uow)
    except EngineError as error:
        raise fail(error.message) from None
    _print(state)
