"""The composition root: where the running product is put together, once.

``build_runtime`` wires the real adapters (database, bureau client, model registry, policy
file, key) into the one ``Runtime`` that the decision API, the reviewer UI and the command
line share; ``create_server_app`` is the application ``installment serve`` and the demo run:
the decision API with the reviewer UI mounted under ``/review``, both on that runtime.

``Runtime`` and ``build_runtime`` are defined in :mod:`scoring.service.bootstrap` and
re-exported here; the API, the UI and the commands take them from this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scoring.service.bootstrap import IN_PROCESS_BUREAU_URL, Runtime, build_runtime, utc_now

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["IN_PROCESS_BUREAU_URL", "Runtime", "build_runtime", "create_server_app", "utc_now"]


def create_server_app(runtime: Runtime | None = None) -> FastAPI:
    """The API app with the reviewer UI under ``/review``, the two on one runtime.

    Without ``runtime`` the API builds the real one when it starts (its lifespan); the UI
    opens its units of work on that same runtime, asking for it per request.
    """
    from review_ui.app import create_review_app
    from scoring.api.app import create_app

    app = create_app(runtime)
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
