"""The credit bureau's report on a person, as the engine keeps it (the bureau data contract).

Only the contract's fields exist here; everything else a bureau sends is dropped by the
client before a report is built. The risk classes, their 12-month PD bands and their
plain-language definitions are the bureau's own, shown to reviewers and in letters.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

__all__ = [
    "BUREAU_NAME",
    "RISK_CLASSES",
    "BureauReport",
    "DefaultEntry",
    "RiskClass",
    "RiskClassDefinition",
    "class_for_pd",
    "class_rank",
    "risk_class_definition",
]

# The bureau named in letters and on the reviewer page; deployments may configure another.
BUREAU_NAME = "Creditinfo Eesti AS"

RiskClass = Literal["very_good", "good", "satisfactory", "poor"]


@dataclass(frozen=True)
class RiskClassDefinition:
    """One bureau risk class: its rank, 12-month PD band and plain-language texts."""

    code: RiskClass
    rank: int
    pd_band_low: float
    pd_band_high: float
    label_et: str
    label_en: str

    @property
    def meaning_en(self) -> str:
        """What the class says about the customer, addressed to them, in English."""
        return (
            "the bureau estimates the probability that you have a payment default in the next "
            f"12 months at {percent_band(self, '.')}."
        )

    @property
    def meaning_et(self) -> str:
        """What the class says about the customer, addressed to them, in Estonian."""
        return (
            "büroo hinnangul on tõenäosus, et teil tekib järgmise 12 kuu jooksul maksehäire, "
            f"{percent_band(self, ',')}."
        )

    @property
    def definition_en(self) -> str:
        """The bureau's definition of the class in English."""
        return (
            f"{self.label_en.capitalize()}: the bureau estimates the probability that the person "
            f"has a payment default in the next 12 months at {percent_band(self, '.')}."
        )

    @property
    def definition_et(self) -> str:
        """The bureau's definition of the class in Estonian."""
        return (
            f"{self.label_et.capitalize()}: krediidibüroo hinnangul on tõenäosus, et isikul "
            f"tekib järgmise 12 kuu jooksul maksehäire, {percent_band(self, ',')}."
        )


def percent_band(definition: RiskClassDefinition, decimal: str) -> str:
    """The class's 12-month PD band as the bureau publishes it, with this decimal mark."""

    # Bands are printed the way the bureau publishes them: 0-1.9 %, 2-5.9 %, 15-100 %.
    def fmt(share: float) -> str:
        text = f"{share * 100:.1f}".removesuffix(".0")
        return text.replace(".", decimal)

    return f"{fmt(definition.pd_band_low)}–{fmt(definition.pd_band_high)} %"


RISK_CLASSES: dict[str, RiskClassDefinition] = {
    d.code: d
    for d in (
        RiskClassDefinition("very_good", 0, 0.0, 0.019, "väga hea", "very good"),
        RiskClassDefinition("good", 1, 0.02, 0.059, "hea", "good"),
        RiskClassDefinition("satisfactory", 2, 0.06, 0.149, "rahuldav", "satisfactory"),
        RiskClassDefinition("poor", 3, 0.15, 1.0, "nõrk", "poor"),
    )
}


def risk_class_definition(risk_class: str) -> RiskClassDefinition:
    """The definition of a bureau risk class; ``ValueError`` for an unknown class."""
    try:
        return RISK_CLASSES[risk_class]
    except (KeyError, TypeError):
        known = ", ".join(RISK_CLASSES)
        raise ValueError(f"unknown bureau risk class {risk_class!r}; known: {known}") from None


def class_rank(risk_class: str) -> int:
    """Order of a risk class from 0 (very good) to 3 (poor)."""
    return risk_class_definition(risk_class).rank


def class_for_pd(probability_of_default: float) -> RiskClass:
    """The class whose band holds a 12-month probability of default."""
    if not 0.0 <= probability_of_default <= 1.0:
        raise ValueError("probability of default must lie between 0 and 1")
    # Bands are published to one decimal of a percent; the gaps between them belong upward.
    for code, upper in (("very_good", 0.02), ("good", 0.06), ("satisfactory", 0.15)):
        if probability_of_default < upper:
            return code  # type: ignore[return-value]
    return "poor"


@dataclass(frozen=True)
class DefaultEntry:
    """A payment default registered at the bureau; ``ended_on`` is None while it is open."""

    creditor_sector: str
    amount_eur: float
    started_on: date
    ended_on: date | None

    def __post_init__(self) -> None:
        if not self.creditor_sector:
            raise ValueError("default entry field 'creditor_sector' must not be empty")
        if not math.isfinite(self.amount_eur) or self.amount_eur < 0:
            raise ValueError("default entry field 'amount_eur' must be a non-negative amount")
        if self.ended_on is not None and self.ended_on < self.started_on:
            raise ValueError("default entry field 'ended_on' lies before 'started_on'")

    @property
    def is_open(self) -> bool:
        return self.ended_on is None


@dataclass(frozen=True)
class BureauReport:
    """A bureau report reduced to the contract's fields; ``requested_at`` is timezone-aware UTC."""

    report_id: str
    requested_at: datetime
    score: int
    risk_class: RiskClass
    pd_band_low: float
    pd_band_high: float
    open_default_count: int
    closed_default_count: int
    default_entries: tuple[DefaultEntry, ...] = ()

    def __post_init__(self) -> None:
        if not self.report_id:
            raise ValueError("bureau report field 'report_id' must not be empty")
        offset = self.requested_at.utcoffset()
        if offset is None:
            raise ValueError("bureau report field 'requested_at' must carry a timezone")
        if offset != timedelta(0):
            raise ValueError("bureau report field 'requested_at' must be in UTC")
        if not 0 <= self.score <= 1000:
            raise ValueError("bureau report field 'score' must lie between 0 and 1000")
        risk_class_definition(self.risk_class)
        low, high = self.pd_band_low, self.pd_band_high
        if not (math.isfinite(low) and math.isfinite(high) and 0.0 <= low <= high <= 1.0):
            raise ValueError(
                "bureau report fields 'pd_band_low' and 'pd_band_high' must satisfy "
                "0 <= low <= high <= 1"
            )
        for name in ("open_default_count", "closed_default_count"):
            if getattr(self, name) < 0:
                raise ValueError(f"bureau report field {name!r} must not be negative")

    @property
    def class_definition(self) -> RiskClassDefinition:
        """The bureau's definition of the class this report returned."""
        return RISK_CLASSES[self.risk_class]

    @property
    def has_open_default(self) -> bool:
        return self.open_default_count > 0 or any(e.is_open for e in self.default_entries)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (ISO dates and timestamps), in contract field order."""
        data = asdict(self)
        data["requested_at"] = self.requested_at.isoformat()
        data["default_entries"] = [
            {
                **entry,
                "started_on": entry["started_on"].isoformat(),
                "ended_on": entry["ended_on"].isoformat() if entry["ended_on"] else None,
            }
            for entry in data["default_entries"]
        ]
        return data
