"""``installment serve``: the decision API and the reviewer UI in one process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scoring.cli.common import fail


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
        raise fail("give --bureau-url or --in-process-bureau, not both")
    from scoring.api import server
    from scoring.bootstrap import build_runtime, create_server_app
    from scoring.config import get_settings
    from scoring.storage.db import StorageError
    from scoring.storage.migrate import upgrade

    settings = get_settings()
    transport = None
    if in_process_bureau is not None:
        from scoring.bureau.simulator import ReportSource, WorldFormatError, in_process_transport

        try:
            transport = in_process_transport(ReportSource.from_world(in_process_bureau))
        except (WorldFormatError, OSError) as error:
            raise fail(str(error)) from None
    try:
        upgrade(settings.database_url)
    except StorageError as error:
        raise fail(str(error)) from None
    from scoring.config import KeyFileError

    try:
        runtime = build_runtime(
            settings=settings, bureau_url=bureau_url, bureau_transport=transport
        )
    except KeyFileError as error:
        raise fail(error.message) from None
    delivery = None
    if webhooks:
        from scoring.service.webhooks import DeliveryWorker

        # Replicas may each run one: every event is held by one worker while it is posted.
        delivery = DeliveryWorker(uow_factory=runtime.unit_of_work, clock=runtime.clock).start()
        typer.echo("delivering webhook events in the background (--no-webhooks turns it off)")
    try:
        server.run(
            create_server_app(runtime),
            host=host,
            port=port,
            reuse_port=reuse_port,
            trusted_proxies=settings.trusted_proxies,
        )
    except server.ServerSocketError as error:
        raise fail(str(error)) from None
    finally:
        if delivery is not None:
            delivery.stop()
        runtime.close()
