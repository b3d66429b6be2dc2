"""``installment webhooks add|list|deliver``: webhook subscriptions and the delivery worker."""

from __future__ import annotations

from typing import Annotated

import typer

from scoring.cli.common import DatabaseUrlOption, database_url_or_configured, fail

webhooks_app = typer.Typer(
    help="Webhooks that tell the sales system about review outcomes.", no_args_is_help=True
)


def _unit_of_work_factory(database_url: str | None):  # type: ignore[no-untyped-def]
    from scoring.storage.db import UnitOfWork, create_engine_for, session_factory

    sessions = session_factory(create_engine_for(database_url_or_configured(database_url)))
    return lambda: UnitOfWork(sessions)


@webhooks_app.command("add")
def add(
    client: Annotated[str, typer.Option("--client", help="API client id or name.")],
    url: Annotated[str, typer.Option("--url", help="Where to POST the events (http or https).")],
    secret: Annotated[
        str | None,
        typer.Option("--secret", help="Shared secret (16+ characters); generated when omitted."),
    ] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Register a webhook URL for a client; prints the shared secret once."""
    from scoring.service.errors import ServiceError
    from scoring.service.webhooks import add_subscription
    from scoring.storage.db import StorageError

    try:
        created = add_subscription(
            uow=_unit_of_work_factory(database_url)(), client=client, url=url, secret=secret
        )
    except (ServiceError, StorageError) as error:
        raise fail(str(error)) from None
    typer.echo(
        f"webhook {created.subscription.id} for client {created.subscription.client_id}: "
        f"{created.subscription.url}"
    )
    typer.echo(f"shared secret (shown once; verify the {_signature_header()} header with it):")
    typer.echo(created.secret)


def _signature_header() -> str:
    from scoring.service.webhooks import SIGNATURE_HEADER

    return SIGNATURE_HEADER


@webhooks_app.command("list")
def list_events(
    pending: Annotated[bool, typer.Option("--pending", help="Only undelivered events.")] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Show subscriptions and recent events with attempts, last error and next try."""
    from scoring.service.webhooks import events, subscriptions

    with _unit_of_work_factory(database_url)() as uow:
        for sub in subscriptions(session=uow.session):
            state = "active" if sub.active else "inactive"
            typer.echo(f"subscription {sub.id} {sub.client_id} {sub.url} ({state})")
        for event in events(session=uow.session, pending_only=pending):
            line = f"{event.id} {event.event_type} {event.status} attempts={event.attempts}"
            if event.next_attempt_at is not None:
                line += f" next={event.next_attempt_at.isoformat(timespec='seconds')}"
            if event.last_error:
                line += f" last_error={event.last_error!r}"
            typer.echo(line)


@webhooks_app.command("deliver")
def deliver(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between idle passes.")] = 2.0,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Post due webhook events, retrying failures with backoff; runs until interrupted."""
    import httpx

    from scoring.service.webhooks import REQUEST_TIMEOUT_S, deliver_due, run_worker

    factory = _unit_of_work_factory(database_url)
    if once:
        with httpx.Client(timeout=REQUEST_TIMEOUT_S) as http:
            result = deliver_due(uow_factory=factory, http=http)
        typer.echo(f"delivered {result.delivered}, failed {result.failed}")
        return
    typer.echo("delivering webhook events; Ctrl-C stops")
    try:
        run_worker(
            uow_factory=factory,
            interval_s=interval,
            on_round=lambda r: typer.echo(f"delivered {r.delivered}, failed {r.failed}"),
        )
    except KeyboardInterrupt:
        typer.echo("stopped")


@webhooks_app.command("listen")
def listen(
    client: Annotated[str, typer.Option("--client", help="API client id or name.")],
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Local port.")] = 8799,
    database_url: DatabaseUrlOption = None,
) -> None:
    """A small local receiver: registers itself for the client and prints each event it gets.

    For trying the product: it shows every move of a review case arriving, from its opening
    to its outcome, as the sales system's endpoint would receive them (signature verified).
    Ctrl-C stops it.
    """
    import json
    from datetime import UTC, datetime
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from scoring.service.errors import ServiceError
    from scoring.service.webhooks import SIGNATURE_HEADER, add_subscription, verify_signature
    from scoring.storage.db import StorageError

    url = f"http://127.0.0.1:{port}/installment-events"
    try:
        server = HTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
    except OSError as error:
        raise fail(f"cannot listen on 127.0.0.1:{port}: {error.strerror}") from None
    try:
        created = add_subscription(
            uow=_unit_of_work_factory(database_url)(), client=client, url=url
        )
    except (ServiceError, StorageError) as error:
        server.server_close()
        raise fail(str(error)) from None
    secret = created.secret

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server interface
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            signed = verify_signature(
                secret=secret,
                header=self.headers.get(SIGNATURE_HEADER) or "",
                body=body,
                now=datetime.now(UTC),
            )
            self.send_response(204 if signed else 401)
            self.end_headers()
            if not signed:
                typer.echo("refused an event whose signature does not verify")
                return
            event = json.loads(body)
            data = event.get("data", {})
            outcome = data.get("resulting_outcome") or data.get("outcome") or "-"
            moved = f"{data.get('previous_status') or 'new'} -> {data.get('status')}"
            typer.echo(
                f"{event.get('type')} #{data.get('sequence')}: review {data.get('review_id')} "
                f"({data.get('kind')}) {moved}, decision {data.get('decision_id')} "
                f"{data.get('decision_state')}, outcome {outcome}, due {data.get('due_on')}"
            )

        def log_message(self, *args: object) -> None:
            pass

    server.RequestHandlerClass = Handler
    typer.echo(f"listening on {url} for client {created.subscription.client_id} (Ctrl-C stops)")
    typer.echo("events are posted by the API's delivery worker or `installment webhooks deliver`")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.server_close()
