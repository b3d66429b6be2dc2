"""A synthetic world's own history as past applications to simulate on, with the truth.

The world knows what the engine's database never holds: each application's true PD, its
12-month outcome, and the attributes kept aside for fairness (age band, sex, language). The
applications' features are computed by the same code as training and serving.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from scoring.features import FEATURE_NAMES
from scoring.features.catalogue import PRODUCT_CATEGORY_CODE
from scoring.storage.past_applications import PastApplication

_CATEGORY_OF_CODE = {code: name for name, code in PRODUCT_CATEGORY_CODE.items()}


def past_from_world(
    world_dir: Path,
) -> tuple[list[PastApplication], dict[str, float], dict[str, bool], dict[str, dict[str, str]]]:
    """Applications, true PDs, outcomes and kept-aside groups, keyed by application id."""
    from data_contracts.world_folder import read_frame
    from models.evaluation.fairness import read_world_groups
    from models.evaluation.report import read_truth
    from models.training.run import snapshot_from_world

    snapshot = snapshot_from_world(world_dir)
    people = read_frame(
        world_dir, "applications.parquet", columns=["application_id", "personal_code"]
    )
    births = read_frame(world_dir, "customers.parquet", columns=["personal_code", "birth_date"])
    birth_of = dict(
        zip(
            people["application_id"],
            people["personal_code"].map(
                dict(zip(births["personal_code"], births["birth_date"], strict=True))
            ),
            strict=True,
        )
    )
    past = []
    outcomes: dict[str, bool] = {}
    for row in snapshot.to_dict(orient="records"):
        app_id = str(row["application_id"])
        applied = row["applied_at"].to_pydatetime()
        born = birth_of.get(app_id)
        if born is None:
            raise ValueError(f"world folder {world_dir}: application {app_id} has no birth date")
        age = _age(born, applied)
        facts: dict[str, Any] = {
            "amount_eur": float(row["amount_eur"]),
            "term_months": int(row["term_months"]),
            "product_category": _CATEGORY_OF_CODE[int(row["product_category_code"])],
            "age_years": age,
        }
        features = {n: (None if _missing(row[n]) else float(row[n])) for n in FEATURE_NAMES}
        past.append(PastApplication(app_id, applied, "", "", None, facts, features))
        if not _missing(row.get("defaulted_12m")):
            outcomes[app_id] = bool(row["defaulted_12m"])
    truth_series = read_truth(world_dir)
    truth = {str(k): float(v) for k, v in truth_series.items()} if truth_series is not None else {}
    groups: dict[str, dict[str, str]] = {}
    frame = read_world_groups(world_dir)
    if frame is not None:
        frame = frame.reset_index() if "application_id" not in frame.columns else frame
        for record in frame.to_dict(orient="records"):
            groups[str(record["application_id"])] = {
                "age band": str(record.get("age_band")),
                "sex": str(record.get("sex")),
                "language": str(record.get("language")),
            }
    return past, truth, outcomes, groups


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _age(born: Any, applied: Any) -> int:
    born = born.date() if hasattr(born, "date") else born
    day = applied.date()
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
