"""``installment api-key create|revoke``: the machine clients' API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from scoring.cli.common import fail

api_key_app = typer.Typer(
    help="Issue and revoke API keys of machine clients.", no_args_is_help=True
)


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
        raise fail(str(error)) from None
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
        raise fail(str(error)) from None
    finally:
        engine.dispose()
    typer.echo(f"revoked key {prefix} of client {client}")
