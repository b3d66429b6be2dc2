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
from typing import TYPE_CHECKING, cast

from scoring.config import Settings, get_settings, read_or_create_key
from scoring.domain.policy import Policy
from scoring.service.model_provider import ModelProvider
from scoring.service.runtime import Runtime, utc_now
from scoring.storage.db import UnitOfWork, create_engine_for, session_factory

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from scoring.service.change_control import ChangeRegistry

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
    registry = cast("ChangeRegistry", _RegistryOnFirstUse())
    if runtime is not None:
        review = create_review_app(
            unit_of_work=runtime.unit_of_work,
            clock=runtime.clock,
            registry=registry,
            pseudonym_key=lambda: runtime.pseudonym_key,
        )
    else:

        def unit_of_work():  # type: ignore[no-untyped-def]
            return app.state.runtime.unit_of_work()

        def clock():  # type: ignore[no-untyped-def]
            return app.state.runtime.clock()

        def pseudonym_key():  # type: ignore[no-untyped-def]
            return app.state.runtime.pseudonym_key

        review = create_review_app(
            unit_of_work=unit_of_work, clock=clock, registry=registry, pseudonym_key=pseudonym_key
        )
    app.mount("/review", review)
    return app


class _RegistryOnFirstUse:
    """``models.registry``, imported when a page first needs it (MLflow loads slowly)."""

    def __getattr__(self, name: str) -> object:
        from models import registry

        return getattr(registry, name)


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
    """A runtime on the configured database, bureau, registry and the policy in force.

    ``poll_models`` also starts the poll of the approved policies and the stop switch.
    """
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
    sessions = session_factory(engine)
    if models is None:
        from scoring.service.recorded_champion import RecordedChampion

        record = RecordedChampion(
            unit_of_work=lambda: UnitOfWork(sessions),
            clock=utc_now,
            adopt_unrecorded=settings.adopt_registry_champion,
        )
        models = RegistryModelProvider(settings=settings, record=record)
        if poll_models:
            models.start_polling()
        closers.append(models.close)
    given = policy is not None or policy_file is not None
    if policy is None:
        policy = load_policy(policy_file) if policy_file else current_policy()
    from scoring.service.policy_files import policy_for_version
    from scoring.service.policy_in_force import PolicyInForce

    # A policy given by the caller stays the one decided under; the stop switch still applies.
    policy_in_force = PolicyInForce(
        unit_of_work=lambda: UnitOfWork(sessions),
        clock=utc_now,
        start_policy=policy,
        policy_for_version=policy_for_version,
        follow_changes=not given,
    )
    if poll_models:
        policy_in_force.start_polling()
    closers.append(policy_in_force.close)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        bureau=bureau,
        models=models,
        policy=policy,
        pseudonym_key=read_or_create_key(settings.pseudonym_key_file),
        closers=closers,
        policy_in_force=policy_in_force,
    )
