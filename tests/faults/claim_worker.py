"""One reviewer in a process of its own: claim cases and print their ids as one JSON line.

Run as ``python claim_worker.py '{"database_url": ..., "user_id": ..., "username": ...,
"claims": N}'``. It prints ``ready`` once connected and starts claiming when a line arrives
on its standard input, so the parent can start all reviewers at the same moment.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime


def main(arguments: dict) -> None:
    from scoring.domain.review import Actor, Role
    from scoring.service import reviews
    from scoring.storage.db import UnitOfWork, create_engine_for, session_factory

    engine = create_engine_for(arguments["database_url"])
    sessions = session_factory(engine)
    reviewer = Actor(arguments["user_id"], arguments["username"], Role.REVIEWER)
    now = datetime(2027, 1, 31, 9, tzinfo=UTC)
    # Connect before the start line, so that the claims themselves overlap.
    with engine.connect():
        pass
    print("ready", flush=True)
    sys.stdin.readline()
    claimed = []
    for _ in range(arguments["claims"]):
        view = reviews.claim_next_case(
            uow=UnitOfWork(sessions), reviewer=reviewer, clock=lambda: now
        )
        if view is not None:
            claimed.append(view.id)
    engine.dispose()
    print(json.dumps({"claimed": claimed}))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
