"""Bodies of the operations endpoints (``/readyz``), typed so the API schema documents them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ChampionPublic(BaseModel):
    """The model that decides now."""

    name: str = Field(examples=["installment-pd"])
    version: str = Field(examples=["3"])


class ReadinessPublic(BaseModel):
    """``/readyz`` when the service can decide: the database took a write, a champion is loaded."""

    # Further checks may add their own fields.
    model_config = ConfigDict(extra="allow")

    status: Literal["ready"] = "ready"
    policy_version: str = Field(examples=["2026.11.1"])
    database: str = Field(default="ok", examples=["ok"])
    champion: ChampionPublic
