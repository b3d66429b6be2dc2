"""The feature catalogue: each model input's label, unit, rounding, meaning and risk direction.

One file (``feature_catalogue.yaml`` beside this module) read once; the reviewer's case
page, the waterfall, letters and the evaluation report label and format inputs from it, so
a reader sees "Longest delay, past 3 months: 34 days" and not ``max_dpd_3m = 34.0``.
Values are formatted in Estonian or English with Babel (CLDR number forms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from babel.numbers import format_currency, format_decimal, format_percent

from scoring.domain.bureau import RISK_CLASSES
from scoring.domain.errors import InvalidInputError
from scoring.domain.reasons import PRODUCT_NAMES
from scoring.features.catalogue import BUREAU_CLASS_RANK, PRODUCT_CATEGORY_CODE

CATALOGUE_FILE = Path(__file__).resolve().parent / "feature_catalogue.yaml"

UNITS = frozenset(
    {"eur", "days", "months", "count", "share", "ratio", "score", "rank", "flag", "category"}
)
RISK_DIRECTIONS = frozenset({"higher", "lower", "none"})
LOCALES = {"et": "et_EE", "en": "en_IE"}
_PRODUCT_BY_CODE = {code: name for name, code in PRODUCT_CATEGORY_CODE.items()}
_CLASS_BY_RANK = {rank: RISK_CLASSES[name] for name, rank in BUREAU_CLASS_RANK.items()}


class FeatureCatalogueError(InvalidInputError, ValueError):
    """The catalogue file lacks an entry or a field, or holds a value it may not."""


@dataclass(frozen=True)
class FeatureEntry:
    """What one model input is, for people."""

    name: str
    label_en: str
    label_et: str
    unit: str
    decimals: int
    riskier: str  # "higher", "lower" or "none"
    meaning_en: str
    meaning_et: str

    def label(self, lang: str) -> str:
        return self.label_et if lang == "et" else self.label_en

    def meaning(self, lang: str) -> str:
        return self.meaning_et if lang == "et" else self.meaning_en

    def risk_direction(self, lang: str) -> str:
        """Which way is riskier, in words."""
        words = {
            ("higher", "en"): "higher is riskier",
            ("lower", "en"): "lower is riskier",
            ("none", "en"): "no order",
            ("higher", "et"): "suurem on riskantsem",
            ("lower", "et"): "väiksem on riskantsem",
            ("none", "et"): "järjestus puudub",
        }
        return words[(self.riskier, "et" if lang == "et" else "en")]

    def display(self, value: object, lang: str = "en") -> str:
        """The value rounded and with its unit, in the language's number form."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        if isinstance(value, str):
            return value
        number = float(value)  # type: ignore[arg-type]
        locale = LOCALES["et" if lang == "et" else "en"]
        if self.unit == "eur":
            return format_currency(number, "EUR", locale=locale)
        if self.unit == "flag":
            yes = number >= 0.5
            return ("jah" if yes else "ei") if lang == "et" else ("yes" if yes else "no")
        if self.unit == "category":
            names = PRODUCT_NAMES.get(_PRODUCT_BY_CODE.get(int(number), ""))
            return (names[0] if lang == "et" else names[1]) if names else f"code {number:.0f}"
        if self.unit == "rank":
            definition = _CLASS_BY_RANK.get(int(number))
            if definition is None:
                return f"{number:.0f}"
            return definition.label_et if lang == "et" else definition.label_en
        if self.unit == "share":
            return format_percent(number, locale=locale)
        pattern = "#,##0" + ("." + "0" * self.decimals if self.decimals else "")
        shown = format_decimal(round(number, self.decimals), format=pattern, locale=locale)
        unit = _UNIT_WORDS.get((self.unit, "et" if lang == "et" else "en"))
        if unit is None:
            return shown
        singular = abs(number - 1.0) < 1e-9
        return f"{shown} {unit[0] if singular else unit[1]}"


_UNIT_WORDS = {
    ("days", "en"): ("day", "days"),
    ("days", "et"): ("päev", "päeva"),
    ("months", "en"): ("month", "months"),
    ("months", "et"): ("kuu", "kuud"),
    ("ratio", "en"): ("×", "×"),
    ("ratio", "et"): ("×", "×"),
}


@lru_cache(maxsize=1)
def feature_catalogue() -> dict[str, FeatureEntry]:
    """Every model input's entry, by feature name."""
    return read_catalogue(CATALOGUE_FILE)


def read_catalogue(path: Path) -> dict[str, FeatureEntry]:
    """The catalogue at ``path``, checked field by field."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, dict) or not features:
        raise FeatureCatalogueError(f"{path.name}: no 'features' mapping")
    entries = {}
    fields = ("label_en", "label_et", "unit", "decimals", "riskier", "meaning_en", "meaning_et")
    for name, spec in features.items():
        if not isinstance(spec, dict):
            raise FeatureCatalogueError(f"{path.name}: {name} is not a mapping")
        missing = [f for f in fields if spec.get(f) in (None, "")]
        if missing:
            raise FeatureCatalogueError(f"{path.name}: {name} lacks {', '.join(missing)}")
        if spec["unit"] not in UNITS:
            raise FeatureCatalogueError(
                f"{path.name}: {name} has unit {spec['unit']!r}; expected one of {sorted(UNITS)}"
            )
        if spec["riskier"] not in RISK_DIRECTIONS:
            raise FeatureCatalogueError(
                f"{path.name}: {name} has riskier {spec['riskier']!r}; expected one of "
                f"{sorted(RISK_DIRECTIONS)}"
            )
        if not isinstance(spec["decimals"], int) or not 0 <= spec["decimals"] <= 4:
            raise FeatureCatalogueError(f"{path.name}: {name} decimals must be 0 to 4")
        entries[name] = FeatureEntry(name, *(spec[f] for f in fields))
    return entries


def feature_label(name: str, lang: str = "en") -> str:
    """A feature's label; the name itself for something the catalogue does not hold."""
    entry = feature_catalogue().get(name)
    return entry.label(lang) if entry else name.replace("_", " ")


def feature_display(name: str, value: object, lang: str = "en") -> str:
    """A feature's value with unit and rounding; as given for something not catalogued."""
    entry = feature_catalogue().get(name)
    if entry is None:
        return "–" if value is None else str(value)
    return entry.display(value, lang)
