"""Decisions made in a process of its own, as fast as it can, on one database (a load)."""

from __future__ import annotations

import sys
import time
from pathlib import Path


def write_decisions(db_url: str, seconds: float, ready, counter) -> None:  # type: ignore[no-untyped-def]
    """Decide new applications on ``db_url`` for ``seconds``; count them in ``counter``."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
    from service_fakes import FakeBureau, LinearModel

    from data_contracts.requests import DecisionRequest
    from scoring.domain.personal_code import build
    from scoring.service.api_keys import create_api_key, utc_now
    from scoring.service.decisions import make_decision
    from scoring.service.model_provider import StaticModelProvider
    from scoring.service.policy_files import current_policy
    from scoring.storage.db import UnitOfWork, create_engine_for

    engine = create_engine_for(db_url)
    uow = UnitOfWork.for_engine(engine)
    create_api_key(uow=uow, client="load", scopes=["decisions:write"])
    from scoring.service.api_keys import AuthenticatedClient

    client = AuthenticatedClient("load", "load", frozenset({"decisions:write"}), "load")
    models = StaticModelProvider(LinearModel(version="1", intercept=-4.5))
    policy = current_policy()
    bureau = FakeBureau("good")  # one, so its report ids stay unique
    end = time.monotonic() + seconds
    n = 0
    from datetime import date

    while time.monotonic() < end:
        n += 1
        code = build(date(1980, 1, 1 + n % 28), female=bool(n % 2), serial=n % 1000)
        make_decision(
            request=DecisionRequest.model_validate({
                "application_id": f"LOAD-{n:06d}", "personal_code": code, "channel": "web",
                "purchase": {"amount_eur": 500.0, "term_months": 12, "product_category": "phone"},
            }),
            client=client, idempotency_key=None, uow=uow, bureau=bureau,
            models=models, policy=policy, pseudonym_key=bytes(range(32)), clock=utc_now,
        )  # fmt: skip
        with counter.get_lock():
            counter.value += 1
        ready.set()  # after the first decision: the load is flowing
    engine.dispose()
