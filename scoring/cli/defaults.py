"""``installment report-defaults`` and ``installment default ...``: payment-default reporting.

The report run, and the defaults' verification, disputes and notices.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scoring.cli.common import DatabaseUrlOption, database_url_or_configured, fail

if TYPE_CHECKING:
    from scoring.storage.db import UnitOfWork

CustomerOption = Annotated[str, typer.Option("--customer", help="The customer's pseudonym.")]
StartOption = Annotated[
    str, typer.Option("--start", help="The default's start date (YYYY-MM-DD), as listed.")
]
ByOption = Annotated[str, typer.Option("--by", help="Who records this (operator or reviewer).")]

default_app = typer.Typer(
    help="Payment defaults: list them, verify, record notices and disputes.",
    no_args_is_help=True,
)


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} {text!r} is not a date; write it as YYYY-MM-DD") from None


def _run(call, database_url: str | None):  # type: ignore[no-untyped-def]
    """Call ``call(uow)`` on the configured database, turning known errors into messages."""
    from scoring.service.errors import ServiceError
    from scoring.storage.db import StorageError, UnitOfWork, create_engine_for
    from scoring.storage.identity_vault import IdentityVaultError

    url = database_url_or_configured(database_url)
    try:
        engine = create_engine_for(url)
    except StorageError as error:
        raise fail(str(error)) from None
    try:
        uow: UnitOfWork = UnitOfWork.for_engine(engine)
        return call(uow)
    except (ServiceError, StorageError, IdentityVaultError) as error:
        raise fail(str(error)) from None
    finally:
        engine.dispose()


def report_defaults(
    as_of: Annotated[str, typer.Option("--as-of", help="Report date (YYYY-MM-DD), not future.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder of the report files; default HOME/reports/defaults."),
    ] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Write the payment-default report for the bureau, and the list of what was held back."""
    from datetime import UTC, datetime

    from scoring.config import get_settings, read_or_create_key
    from scoring.service.payment_default_reporting import report_defaults as make_report

    settings = get_settings()
    day = _date(as_of, "--as-of")
    out_dir = out or settings.home / "reports" / "defaults"
    try:
        vault_key = read_or_create_key(settings.identity_vault_key_file)
    except (OSError, ValueError) as error:
        raise fail(
            f"cannot use the identity vault key {settings.identity_vault_key_file}: {error}"
        ) from None

    def call(uow: UnitOfWork):  # type: ignore[no-untyped-def]
        return make_report(
            uow=uow,
            as_of=day,
            out_dir=out_dir,
            vault_key=vault_key,
            today=date.today(),
            now=datetime.now(UTC),
        )

    run = _run(call, database_url)
    counts = ", ".join(f"{count} {kind}" for kind, count in run.counts.items())
    verb = "re-wrote the unchanged" if run.repeated else "wrote the"
    typer.echo(f"{verb} report for {day.isoformat()}: {counts}")
    typer.echo(f"  bureau file: {run.report_file}")
    typer.echo(f"  held back:   {run.held_back_count} defaults, listed in {run.held_back_file}")
    for rule, count in run.held_back_by_rule.items():
        typer.echo(f"    {rule:<28} {count}")
    typer.echo(
        f"  not listed:  {run.never_reportable} ended defaults that can never be reported "
        "(at most 45 days overdue, under 30 EUR, or ended five years ago)"
    )


@default_app.command("list")
def list_defaults(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date (YYYY-MM-DD); default today.")
    ] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="Only this customer (pseudonym).")
    ] = None,
    show_all: Annotated[
        bool,
        typer.Option("--all", help="Also ended defaults that can never be reported."),
    ] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """List the derived payment defaults with what stops each from being reported."""
    from scoring.service.payment_default_reporting import list_defaults as list_views

    today = date.today()
    day = _date(as_of, "--as-of") if as_of else today
    views = _run(
        lambda uow: list_views(
            uow=uow,
            as_of=day,
            today=today,
            customer=customer,
            include_never_reportable=show_all,
        ),
        database_url,
    )
    for view in views:
        d = view.default
        ended = d.ended_on.isoformat() if d.ended_on else "open"
        status = "reportable" if view.reportable else ", ".join(f.rule for f in view.failures)
        typer.echo(
            f"{d.customer}  {d.started_on.isoformat()}  {ended:<10}  {d.amount:>10.2f} EUR  "
            f"{d.days_overdue:>5} days  {status}"
        )
    typer.echo(f"{len(views)} payment defaults as of {day.isoformat()}")


@default_app.command("verify")
def verify(
    customer: CustomerOption,
    start: StartOption,
    by: ByOption,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Record that the default was checked and is correct."""
    from datetime import UTC, datetime

    from scoring.service.payment_default_reporting import verify_default

    started_on = _date(start, "--start")
    result = _run(
        lambda uow: verify_default(
            uow=uow, customer=customer, started_on=started_on, by=by, now=datetime.now(UTC)
        ),
        database_url,
    )
    if result.newly_recorded:
        typer.echo(f"verified the default of {customer} starting {started_on} (by {by})")
    else:
        typer.echo(
            f"already verified by {result.verified_by} at {result.verified_at:%Y-%m-%d %H:%M} UTC"
        )


@default_app.command("dispute")
def dispute(
    customer: CustomerOption,
    start: StartOption,
    by: ByOption,
    note: Annotated[
        str | None, typer.Option("--note", help="Where the dispute came from (no personal codes).")
    ] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Record that the customer disputes the default; it is held back until resolved."""
    from datetime import UTC, datetime

    from scoring.service.payment_default_reporting import record_dispute

    started_on = _date(start, "--start")
    _run(
        lambda uow: record_dispute(
            uow=uow,
            customer=customer,
            started_on=started_on,
            by=by,
            now=datetime.now(UTC),
            note=note,
        ),
        database_url,
    )
    typer.echo(f"recorded the dispute of the default of {customer} starting {started_on}")


@default_app.command("resolve-dispute")
def resolve(
    customer: CustomerOption,
    start: StartOption,
    resolution: Annotated[
        str,
        typer.Option(
            "--resolution", help="'rejected' (the default stands) or 'accepted' (it does not)."
        ),
    ],
    by: ByOption,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Close the open disputes of a default."""
    from datetime import UTC, datetime

    from scoring.service.payment_default_reporting import resolve_dispute

    started_on = _date(start, "--start")
    count = _run(
        lambda uow: resolve_dispute(
            uow=uow,
            customer=customer,
            started_on=started_on,
            resolution=resolution,
            by=by,
            now=datetime.now(UTC),
        ),
        database_url,
    )
    typer.echo(
        f"{resolution} {count} dispute(s) of the default of {customer} starting {started_on}"
    )


@default_app.command("notice")
def notice(
    customer: CustomerOption,
    start: StartOption,
    sent_on: Annotated[str, typer.Option("--sent-on", help="Day the notice was sent.")],
    by: ByOption,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Record the notice sent to the debtor before reporting."""
    from datetime import UTC, datetime

    from scoring.service.payment_default_reporting import record_notice

    started_on = _date(start, "--start")
    sent = _date(sent_on, "--sent-on")
    _run(
        lambda uow: record_notice(
            uow=uow,
            customer=customer,
            started_on=started_on,
            sent_on=sent,
            by=by,
            now=datetime.now(UTC),
        ),
        database_url,
    )
    typer.echo(f"recorded the notice of {sent} for the default of {customer} starting {started_on}")
