"""CLI commands of the decision API: run it, and issue or revoke the clients' API keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

api_key_app = typer.Typer(
    help="Issue and revoke API keys of machine clients.", no_args_is_help=True
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8700, help="TCP port of the decision API."),
    bureau_url: Annotated[
        str | None, typer.Option(help="Bureau base URL (default INSTALLMENT_BUREAU_URL).")
    ] = None,
    in_process_bureau: Annotated[
        Path | None,
        typer.Option(
            help="Answer bureau queries in this process from a world folder (demos, benchmarks)."
        ),
    ] = None,
    reuse_port: Annotated[
        bool,
        typer.Option(
            help="Share the port with other `installment serve --reuse-port` processes on "
            "this machine (SO_REUSEPORT); the kernel spreads connections over them."
        ),
    ] = False,
    webhooks: Annotated[
        bool,
        typer.Option(
            "--webhooks/--no-webhooks",
            help="Deliver review outcomes to the clients' webhooks from a background thread; "
            "--no-webhooks when `installment webhooks deliver` runs elsewhere.",
        ),
    ] = True,
) -> None:
    """Run the decision API and the reviewer UI, delivering webhooks (one process)."""
    if bureau_url and in_process_bureau:
        raise _fail("give --bureau-url or --in-process-bureau, not both")
    from scoring.api import server
    from scoring.api.app import create_app
    from scoring.config import get_settings
    from scoring.service.bootstrap import build_runtime
    from scoring.storage.db import StorageError
    from scoring.storage.migrate import upgrade

    settings = get_settings()
    transport = None
    if in_process_bureau is not None:
        from scoring.bureau.simulator import ReportSource, WorldFormatError, in_process_transport

        try:
            transport = in_process_transport(ReportSource.from_world(in_process_bureau))
        except (WorldFormatError, OSError) as error:
            raise _fail(str(error)) from None
    try:
        upgrade(settings.database_url)
    except StorageError as error:
        raise _fail(str(error)) from None
    runtime = build_runtime(settings=settings, bureau_url=bureau_url, bureau_transport=transport)
    delivery = None
    if webhooks:
        from scoring.service.webhooks import DeliveryWorker

        # Replicas may each run one: every event is held by one worker while it is posted.
        delivery = DeliveryWorker(uow_factory=runtime.unit_of_work, clock=runtime.clock).start()
        typer.echo("delivering webhook events in the background (--no-webhooks turns it off)")
    try:
        server.run(create_app(runtime), host=host, port=port, reuse_port=reuse_port)
    except server.ServerSocketError as error:
        raise _fail(str(error)) from None
    finally:
        if delivery is not None:
            delivery.stop()
        runtime.close()


@api_key_app.command("create")
def create_key(
    client: Annotated[str, typer.Option(help="Client id, e.g. sales-system.")],
    scopes: Annotated[
        str, typer.Option(help="Comma-separated scopes, e.g. decisions:write,decisions:read.")
    ] = "decisions:write,decisions:read",
    expires_days: Annotated[
        int | None, typer.Option(min=1, help="Days until the key expires (default: never).")
    ] = None,
) -> None:
    """Issue an API key and print it once; only its hash is stored."""
    from datetime import UTC, datetime, timedelta

    from scoring.config import get_settings
    from scoring.service.api_keys import create_api_key
    from scoring.service.errors import ApiKeyError
    from scoring.storage.db import StorageError, UnitOfWork, create_engine_for
    from scoring.storage.migrate import upgrade

    url = get_settings().database_url
    expires_at = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None
    try:
        upgrade(url)
        engine = create_engine_for(url)
        try:
            issued = create_api_key(
                uow=UnitOfWork.for_engine(engine),
                client=client,
                scopes=scopes.split(","),
                expires_at=expires_at,
            )
        finally:
            engine.dispose()
    except (ApiKeyError, StorageError) as error:
        raise _fail(str(error)) from None
    typer.echo(issued.key)
    typer.echo(
        f"client {issued.client_id}, prefix {issued.prefix}, scopes {','.join(issued.scopes)}"
        + (f", expires {issued.expires_at:%Y-%m-%d}" if issued.expires_at else "")
        + "; the key is shown only now",
        err=True,
    )


@api_key_app.command("revoke")
def revoke_key(prefix: Annotated[str, typer.Argument(help="The key's prefix.")]) -> None:
    """Revoke an API key by its prefix; it stops working at once."""
    from scoring.config import get_settings
    from scoring.service.api_keys import revoke_api_key
    from scoring.service.errors import ApiKeyError
    from scoring.storage.db import StorageError, UnitOfWork, create_engine_for

    engine = create_engine_for(get_settings().database_url)
    try:
        client = revoke_api_key(uow=UnitOfWork.for_engine(engine), prefix=prefix)
    except (ApiKeyError, StorageError) as error:
        raise _fail(str(error)) from None
    finally:
        engine.dispose()
    typer.echo(f"revoked key {prefix} of client {client}")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(api_key_app, name="api-key")
