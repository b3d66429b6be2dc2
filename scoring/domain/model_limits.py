"""What a model version's own evaluation says about one customer's estimate.

The tables come from training (``models.evaluation.known_limits``, stored with each
registered version): the held-out calibration in equal-count bins of predicted PD, and, per
segment (thin file, new customer, bureau class), the count, defaults, mean predicted PD,
observed default rate and AUC, next to the whole evaluation's.

- **The PD's uncertainty** is the 95 % Wilson interval of the observed default rate among the
  evaluation applications scored most like this one: the calibration bin holding its PD and,
  while they number fewer than ``MIN_WINDOW_COUNT``, the neighbouring bins whose mean PD is
  nearest, so the window stays centred on this PD. What became of applicants the model
  scored like this one, with the sampling error of a finite evaluation; beside it, the mean
  PD the model gave them, so a reviewer sees whether the model was right about them.
- **Known limits** are the segments this customer belongs to where the evaluation measured
  the model weaker than overall (AUC lower by ``AUC_GAP`` or more), mis-calibrated (mean PD
  off the observed rate by ``CALIBRATION_GAP_SHARE`` of it, and at least
  ``CALIBRATION_GAP_MIN``), or could not measure it (fewer than ``MIN_SEGMENT_COUNT``
  applications or ``MIN_SEGMENT_DEFAULTS`` defaults).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The layout of the stored tables this module reads.
TABLES_SCHEMA = 1
Z_95 = 1.959963984540054
AUC_GAP = 0.05
CALIBRATION_GAP_SHARE = 0.25
CALIBRATION_GAP_MIN = 0.02
# Below these an AUC or a default rate of a segment says little: with 20 defaults an AUC's
# 95 % interval is still about +-0.1 wide.
MIN_SEGMENT_COUNT = 50
MIN_SEGMENT_DEFAULTS = 20
# Applications the PD's interval rests on at least (while the evaluation has them): with 150
# and a rate near 10 % the 95 % interval is about +-5 points wide.
MIN_WINDOW_COUNT = 150

SEGMENT_NAMES = {
    "thin_file": "Thin file (no payment history with us)",
    "new_customer": "New customer (first invoice under 6 months before applying)",
    "bureau_class_rank": "Bureau class",
}
NEW_CUSTOMER_MONTHS = 6


@dataclass(frozen=True)
class PdInterval:
    """The observed default rate, with its interval, of evaluation applications scored alike."""

    low: float
    high: float
    observed: float
    count: int
    defaults: int
    bin_low: float
    bin_high: float
    # The mean PD the model gave these applications (None in tables without it).
    mean_pd: float | None = None


@dataclass(frozen=True)
class SegmentMeasure:
    """How the model did in the evaluation on one segment this customer belongs to."""

    segment: str  # "thin_file", "new_customer", "bureau_class_rank"
    label: str
    count: int
    defaults: int
    auc: float | None
    mean_pd: float
    observed: float
    limit: str | None  # the sentence saying what is wrong, None when nothing is


def wilson_interval(defaults: int, count: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95 % by default)."""
    if count <= 0:
        raise ValueError("a proportion needs at least one observation")
    share = defaults / count
    denominator = 1 + z * z / count
    centre = (share + z * z / (2 * count)) / denominator
    half = z * math.sqrt(share * (1 - share) / count + z * z / (4 * count * count)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def pd_interval(
    calibration: Sequence[Mapping[str, Any]], pd: float, *, at_least: int = MIN_WINDOW_COUNT
) -> PdInterval | None:
    """The interval of the applications scored most like ``pd``: the calibration bin holding
    it (the nearest bin beyond the ends), widened by the neighbouring bins nearest in mean PD
    until ``at_least`` applications are in it or no bin is left."""
    rows = sorted(
        (r for r in calibration if int(r["count"]) > 0), key=lambda r: float(r["pd_low"])
    )
    if not rows:
        return None
    first = len(rows) - 1
    for i, following in enumerate([*rows[1:], None]):
        # Bins are closed below; the gap up to the next bin's lowest PD belongs to this one.
        if following is None or pd < float(following["pd_low"]):
            first = i
            break
    lo = hi = first
    count = int(rows[first]["count"])
    while count < at_least and (lo > 0 or hi < len(rows) - 1):
        below = abs(pd - _centre(rows[lo - 1])) if lo > 0 else math.inf
        above = abs(_centre(rows[hi + 1]) - pd) if hi < len(rows) - 1 else math.inf
        if below <= above:
            lo -= 1
            count += int(rows[lo]["count"])
        else:
            hi += 1
            count += int(rows[hi]["count"])
    window = rows[lo : hi + 1]
    defaults = sum(int(round(float(r["observed"]) * int(r["count"]))) for r in window)
    means = [_number(r.get("mean_pd")) for r in window]
    mean_pd = (
        sum(m * int(r["count"]) for m, r in zip(means, window, strict=True) if m is not None)
        / count
        if all(m is not None for m in means)
        else None
    )
    low, high = wilson_interval(defaults, count)
    return PdInterval(
        low=low,
        high=high,
        observed=defaults / count,
        count=count,
        defaults=defaults,
        bin_low=float(window[0]["pd_low"]),
        bin_high=float(window[-1]["pd_high"]),
        mean_pd=mean_pd,
    )


def _centre(row: Mapping[str, Any]) -> float:
    mean = _number(row.get("mean_pd"))
    return mean if mean is not None else (float(row["pd_low"]) + float(row["pd_high"])) / 2


def customer_segments(
    features: Mapping[str, Any], *, has_bureau_report: bool
) -> dict[str, float | int]:
    """The segment values of this customer, named as the stored tables name them."""
    segments: dict[str, float | int] = {}
    thin = features.get("thin_file")
    if thin is not None:
        segments["thin_file"] = int(float(thin) >= 0.5)
        tenure = features.get("tenure_months")
        if not segments["thin_file"] and tenure is not None:
            segments["new_customer"] = int(float(tenure) < NEW_CUSTOMER_MONTHS)
    rank = features.get("bureau_class_rank")
    if has_bureau_report and rank is not None and not _missing(rank):
        segments["bureau_class_rank"] = int(float(rank))
    return segments


def segment_measures(
    tables: Mapping[str, Any],
    segments: Mapping[str, float | int],
    *,
    class_labels: Mapping[int, str] | None = None,
) -> list[SegmentMeasure]:
    """The evaluation's figures for each segment this customer belongs to, with any limit."""
    overall = tables.get("overall") or {}
    overall_auc = _number(overall.get("auc"))
    measures = []
    for name, value in segments.items():
        rows = (tables.get("segments") or {}).get(name)
        if not rows:
            continue
        row = next((r for r in rows if _same(r.get("segment"), value)), None)
        label = SEGMENT_NAMES.get(name, name)
        if name == "bureau_class_rank":
            label = f"{label} {(class_labels or {}).get(int(value), value)}"
        elif not value:
            # Only the segments a customer is in can limit the model for them.
            continue
        if row is None:
            measures.append(
                SegmentMeasure(name, label, 0, 0, None, 0.0, 0.0,
                               f"{label}: no such application was in the evaluation, so the "
                               "model's accuracy for this customer was never measured.")
            )  # fmt: skip
            continue
        count = int(row["count"])
        defaults = int(round(float(row["default_rate"]) * count))
        auc = _number(row.get("auc"))
        mean_pd, observed = float(row["mean_pd"]), float(row["default_rate"])
        measures.append(
            SegmentMeasure(
                name, label, count, defaults, auc, mean_pd, observed,
                _limit(label, count, defaults, auc, overall_auc, mean_pd, observed),
            )
        )  # fmt: skip
    return measures


def _limit(
    label: str,
    count: int,
    defaults: int,
    auc: float | None,
    overall_auc: float | None,
    mean_pd: float,
    observed: float,
) -> str | None:
    if count < MIN_SEGMENT_COUNT or defaults < MIN_SEGMENT_DEFAULTS:
        return (
            f"{label}: only {count} such applications ({defaults} defaults) were in the "
            "evaluation, too few to measure the model on them: treat the estimate as unproven."
        )
    said = []
    if auc is not None and overall_auc is not None and auc <= overall_auc - AUC_GAP:
        said.append(
            f"the model ranks such applicants less well: AUC {auc:.2f} against "
            f"{overall_auc:.2f} overall"
        )
    gap = mean_pd - observed
    if abs(gap) >= max(CALIBRATION_GAP_MIN, CALIBRATION_GAP_SHARE * observed):
        direction = "under-estimates" if gap < 0 else "over-estimates"
        said.append(
            f"it {direction} their risk: mean predicted PD {mean_pd:.1%} against "
            f"{observed:.1%} observed"
        )
    if not said:
        return None
    return f"{label}: " + "; ".join(said) + "."


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _missing(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _same(stored: Any, value: float | int) -> bool:
    try:
        return int(float(stored)) == int(value)
    except (TypeError, ValueError):
        return False
