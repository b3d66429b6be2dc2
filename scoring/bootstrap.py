"""The composition root: where the running product is put together, once.

``build_runtime`` wires the real adapters (database, bureau client, model registry, policy
file, key) into the one ``Runtime`` that the decision API, the reviewer UI and the command
line share; ``create_server_app`` is the application ``installment serve`` and the demo run:
the decision API with the reviewer UI mounted under ``/review``, both on that runtime.

``Runtime`` itself is defined with the services (:mod:`scoring.service.runtime`), so the
API and the UI below this module can name it; only this module builds one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from scoring.config import Settings, get_settings, read_or_create_key
from scoring.domain.policy import Policy
from scoring.service.model_provider import ModelProvider
from scoring.service.runtime import Runtime, utc_now
from scoring.storage.db import create_engine_for, session_factory

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

IN_PROCESS_BUREAU_URL = "http://bureau.in-process"

__all__ = ["IN_PROCESS_BUREAU_URL", "Runtime", "build_runtime", "create_server_app", "utc_now"]


def create_server_app(runtime: Runtime | None = None) -> FastAPI:
    """The API app with the reviewer UI under ``/review``, the two on one runtime.

    Without ``runtime`` the API builds the real one when it starts (its lifespan); the UI
    opens its units of work on that same runtime, asking for it per request.
    """
    from review_ui.app import create_review_app
    from scoring.api.app import create_app

    app = create_app(runtime, runtime_factory=build_runtime)
    if runtime is not None:
        review = create_review_app(unit_of_work=runtime.unit_of_work, clock=runtime.clock)
    else:

        def unit_of_work():  # type: ignore[no-untyped-def]
            return app.state.runtime.unit_of_work()

        def clock():  # type: ignore[no-untyped-def]
            return app.state.runtime.clock()

        review = create_review_app(unit_of_work=unit_of_work, clock=clock)
    app.mount("/review", review)
    return app


def build_runtime(
    *,
    settings: Settings | None = None,
    database_url: str | None = None,
    bureau_url: str | None = None,
    bureau_transport: httpx.BaseTransport | None = None,
    models: ModelProvider | None = None,
    policy: Policy | None = None,
    policy_file: Path | None = None,
    poll_models: bool = True,
) -> Runtime:
    """A runtime on the configured database, bureau, registry and newest policy file."""
    from scoring.bureau.client import BureauClient
    from scoring.service.model_provider import RegistryModelProvider
    from scoring.service.policy_files import current_policy, load_policy

    settings = settings or get_settings()
    engine = create_engine_for(
        database_url or settings.database_url,
        statement_timeout_s=settings.db_statement_timeout_s,
        lock_timeout_s=settings.db_lock_timeout_s,
    )
    closers: list[Callable[[], None]] = [engine.dispose]
    bureau = BureauClient(
        bureau_url or (IN_PROCESS_BUREAU_URL if bureau_transport else settings.bureau_url),
        transport=bureau_transport,
    )
    closers.append(bureau.close)
    if models is None:
        models = RegistryModelProvider(settings=settings)
        if poll_models:
            models.start_polling()
        closers.append(models.close)
    if policy is None:
        policy = load_policy(policy_file) if policy_file else current_policy()
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        bureau=bureau,
        models=models,
        policy=policy,
        pseudonym_key=read_or_create_key(settings.pseudonym_key_file),
        closers=closers,
    )
