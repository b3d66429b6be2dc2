"""The whole API in a server process of its own, for schemathesis over HTTP.

``python fuzz_server.py DATABASE_FILE HOME PORT KEY_FILE``: migrates the database, writes an
API key holding every scope to KEY_FILE and serves the app (the hostile tests' runtime: a
fake bureau and a transparent model, the real routes, storage and middleware) with
uvicorn's configuration of ``installment serve`` on 127.0.0.1:PORT.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(database: Path, home: Path, port: int, key_file: Path) -> None:
    import uvicorn
    from hostile_app import build_app, build_runtime, issue_key

    from scoring.api.server import uvicorn_config
    from scoring.storage.db import create_engine_for
    from scoring.storage.migrate import upgrade

    url = f"sqlite:///{database}"
    upgrade(url)
    runtime = build_runtime(create_engine_for(url), home)
    key_file.write_text(issue_key(runtime))
    config = uvicorn_config(build_app(runtime), host="127.0.0.1", port=port)
    config.log_level = "warning"
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
