"""The reviewer UI in a server process of its own: ``python sign_in_server.py URL PORT [PROXY]``.

Served by uvicorn with the product's configuration (``uvicorn_config``), so the client
address is the peer's unless the peer is the given trusted proxy.
"""

from __future__ import annotations

import sys


def main(database_url: str, port: int, trusted_proxies: tuple[str, ...]) -> None:
    import uvicorn
    from argon2 import PasswordHasher
    from fastapi import FastAPI

    from review_ui import accounts
    from review_ui.app import create_review_app
    from scoring.api.server import uvicorn_config
    from scoring.storage.db import UnitOfWork, create_engine_for, session_factory

    # Cheap hashes: the same code path without a tenth of a second per guess.
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    accounts._DUMMY_HASH = accounts._hasher.hash("dummy")
    sessions = session_factory(create_engine_for(database_url))
    app = FastAPI()
    app.mount("/review", create_review_app(unit_of_work=lambda: UnitOfWork(sessions)))
    config = uvicorn_config(app, host="127.0.0.1", port=port, trusted_proxies=trusted_proxies)
    config.log_level = "warning"
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), tuple(sys.argv[3:]))
