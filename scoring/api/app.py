"""FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from scoring import __version__


def create_app() -> FastAPI:
    """Build the API application with its routes."""
    app = FastAPI(
        title="Installment decision engine",
        version=__version__,
        description="Instalment credit decisions for the sales system: explained, "
        "minimised by data contract, and contestable under GDPR Art. 22.",
    )

    @app.get("/healthz", tags=["operations"], summary="Process is alive")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
