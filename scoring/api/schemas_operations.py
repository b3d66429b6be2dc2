"""Bodies of the operations endpoints (``/readyz``), typed so the API schema documents them."""

from __future__ import annotations

from pydantic import BaseModel


class ChampionPublic(BaseModel):
    """The model that decides now."""

    name: str
    version: str


class ReadinessPublic(BaseModel):
    """``/readyz`` when the service can decide: the database took a write, a champion is loaded."""

    status: str = "ready"
    policy_version: str
    database: str = "ok"
    champion: ChampionPublic
