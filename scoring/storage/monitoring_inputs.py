"""What model monitoring reads from the decision store: decisions, their inputs, reviews.

The risk team's monitoring (``models.monitoring``) works on these frames; the queries
live here, with the rest of the SQL.

Tables written by other parts of the engine may be missing in an older database (for
example ``review_cases`` holds no rows until reviewers work, ``decision_inputs`` appears with
the decision service); each absent source gives ``None`` and the report says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, inspect, text
from sqlalchemy.engine import Engine

from scoring.storage.tables import UtcDateTime


@dataclass
class MonitoringInputs:
    """Recent decisions (one row each), their feature values and their review cases."""

    decisions: pd.DataFrame
    features: pd.DataFrame | None
    reviews: pd.DataFrame | None


DECISION_COLUMNS = [
    "decision_id",
    "decided_at",
    "outcome",
    "automated",
    "pd",
    "risk_grade",
    "model_version",
    "reasons",
    "defaulted_12m",
]


def _codes(reasons: str | list[Any] | None) -> list[str]:
    """The reason codes of a stored decision's reasons (JSON text on some drivers)."""
    listed = _json(reasons) or []
    return [str(r["code"]) for r in listed if isinstance(r, dict) and r.get("code")]


def _json(value: Any) -> Any:
    """A JSON column's value, parsed when the driver hands it over as text."""
    return json.loads(value) if isinstance(value, str) else value


def read_monitoring_inputs(engine: Engine, *, since: datetime | None = None) -> MonitoringInputs:
    """Decisions made at or after ``since`` (all when None) with inputs and reviews."""
    tables = set(inspect(engine).get_table_names())
    if "decisions" not in tables:
        raise LookupError("the database has no decisions table: run `installment db-upgrade`")
    sql = (
        "SELECT d.id AS decision_id, d.decided_at, d.outcome, d.automated, "
        "d.probability_of_default AS pd, d.risk_grade, d.model_version, d.reasons, "
        "a.defaulted_12m FROM decisions d JOIN applications a ON a.id = d.application_id "
        # A review's new decision is not a fresh application: monitor first decisions only.
        "WHERE d.supersedes_decision_id IS NULL"
    )
    params = {}
    if since is not None:
        sql += " AND d.decided_at >= :since"
        params["since"] = since
    query = text(sql).bindparams(bindparam("since", type_=UtcDateTime())) if params else text(sql)
    with engine.connect() as connection:
        decisions = pd.read_sql(query, connection, params=params)
        decisions["reasons"] = decisions["reasons"].map(_codes)
        decisions["decided_at"] = pd.to_datetime(decisions["decided_at"], utc=True)
        features = None
        if "decision_inputs" in tables and len(decisions):
            raw = pd.read_sql(text("SELECT decision_id, features FROM decision_inputs"), connection)
            raw = raw[raw["decision_id"].isin(decisions["decision_id"])]
            rows = {
                d: _json(f)
                for d, f in zip(raw["decision_id"], raw["features"], strict=True)
                if _json(f)
            }
            features = pd.DataFrame.from_dict(rows, orient="index").astype("float64")
            features.index.name = "decision_id"
        reviews = None
        if "review_cases" in tables:
            reviews = pd.read_sql(
                text("SELECT decision_id, kind, status, outcome FROM review_cases"), connection
            )
            reviews = reviews[reviews["decision_id"].isin(decisions["decision_id"])]
    return MonitoringInputs(
        decisions=decisions[DECISION_COLUMNS], features=features, reviews=reviews
    )
