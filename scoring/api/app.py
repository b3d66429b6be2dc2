"""FastAPI application factory: routers, error shape, operations endpoints, lifespan.

Each area adds its router with one ``app.include_router(...)`` line below.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

from scoring import __version__
from scoring.api import routes_decisions, routes_reviews, routes_subjects
from scoring.api.docs_pages import install_docs
from scoring.api.errors import error_response, error_responses, install_error_handlers
from scoring.api.exposure import ExposureGuard
from scoring.api.metrics import ApiMetrics
from scoring.api.openapi import install_openapi
from scoring.api.schemas_operations import ReadinessPublic
from scoring.service.runtime import Runtime

# Allocations between collections of the youngest generation (CPython's default is 700).
GC_YOUNG_THRESHOLD = 20_000


def create_app(
    runtime: Runtime | None = None, *, runtime_factory: Callable[[], Runtime] | None = None
) -> FastAPI:
    """Build the API application on ``runtime``, or on one ``runtime_factory`` builds at start.

    The reviewer UI is not part of it: ``scoring.bootstrap.create_server_app`` mounts it.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = None
        if getattr(app.state, "runtime", None) is None:
            if runtime_factory is None:
                raise RuntimeError(
                    "the API needs a runtime: pass one, or use scoring.bootstrap.create_server_app"
                )
            owned = runtime_factory()
            _attach(app, owned)
        # What is alive now (libraries, models, the runtime) lives as long as the process.
        # Out of the collector's reach, a full collection no longer walks those ~200,000
        # objects, which took over 100 ms here and stalled whichever request triggered it.
        gc.freeze()
        # A decision allocates thousands of short-lived objects; collecting the youngest
        # generation every 700 allocations (the default) ran several times per request.
        thresholds = gc.get_threshold()
        gc.set_threshold(GC_YOUNG_THRESHOLD, *thresholds[1:])
        try:
            yield
        finally:
            pool = getattr(app.state, "decision_pool", None)
            if pool is not None:  # decisions under way finish first
                app.state.decision_pool = None
                pool.shutdown(wait=True)
            gc.set_threshold(*thresholds)
            gc.unfreeze()
            if owned is not None:
                owned.close()

    app = FastAPI(
        title="Installment decision engine",
        version=__version__,
        description="Instalment credit decisions for the sales system: explained, "
        "minimised by data contract, and contestable under GDPR Art. 22. "
        "Authenticate with `Authorization: Bearer <API key>`.",
        lifespan=lifespan,
        # Served with local assets by scoring.api.docs_pages instead.
        docs_url=None,
        redoc_url=None,
        # No OpenTelemetry: operations read /metrics. With it on, every request asked the
        # global tracer, meter and logger providers whether they were configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = None
    if runtime is not None:
        _attach(app, runtime)
    install_error_handlers(app)
    app.add_middleware(ExposureGuard)

    @app.get("/healthz", tags=["operations"], summary="Process is alive")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="The database takes writes and a champion model is loaded",
        description="Answers within a few seconds whatever the database does. 503 names "
        "each failing dependency and its cause, e.g. `database: cannot write: the database "
        "is read-only (read_only)`.",
        response_model=ReadinessPublic,
        responses=error_responses(503),
    )
    def readyz(request: Request) -> Response:
        from scoring.service.readiness import readiness

        report = readiness(runtime=request.app.state.runtime)
        if report.ready:
            body = ReadinessPublic.model_validate(report.details)
            return Response(body.model_dump_json(), media_type="application/json")
        metrics = getattr(request.app.state, "metrics", None)
        for problem in report.problems:
            if metrics is not None:
                metrics.readiness_failures.labels(
                    dependency=problem.dependency, cause=problem.cause
                ).inc()
        return error_response(
            503, "not_ready", "; ".join(str(p) for p in report.problems),
            headers={"Retry-After": "1"},
        )  # fmt: skip

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=PlainTextResponse,
    )
    def metrics(request: Request) -> Response:
        body, content_type = request.app.state.metrics.render()
        return Response(body, media_type=content_type)

    app.include_router(routes_decisions.router)
    app.include_router(routes_reviews.router)
    app.include_router(routes_subjects.router)
    install_openapi(app)
    install_docs(app)
    return app


def _attach(app: FastAPI, runtime: Runtime) -> None:
    app.state.runtime = runtime
    app.state.metrics = ApiMetrics(bureau=runtime.bureau, models=runtime.models)
