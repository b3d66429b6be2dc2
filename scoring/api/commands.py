"""CLI commands that run the HTTP service."""

from __future__ import annotations

import typer


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8700, help="TCP port of the decision API."),
) -> None:
    """Run the decision API (one process, embedded defaults)."""
    import uvicorn

    from scoring.api.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level="info", access_log=False)


def register(app: typer.Typer) -> None:
    app.command()(serve)
