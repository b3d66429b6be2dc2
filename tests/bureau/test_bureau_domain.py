"""The bureau report as the engine keeps it: classes, bands, definitions, invariants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from scoring.bureau.client import parse_report
from scoring.domain.bureau import (
    BUREAU_NAME,
    RISK_CLASSES,
    BureauReport,
    DefaultEntry,
    class_for_pd,
    class_rank,
    risk_class_definition,
)


def _report(**overrides: object) -> BureauReport:
    fields: dict[str, object] = {
        "report_id": "R-1",
        "requested_at": datetime(2024, 5, 2, 10, 0, tzinfo=UTC),
        "score": 700,
        "risk_class": "good",
        "pd_band_low": 0.02,
        "pd_band_high": 0.059,
        "open_default_count": 1,
        "closed_default_count": 0,
        "default_entries": (DefaultEntry("energy", 120.0, date(2023, 1, 1), None),),
    }
    fields.update(overrides)
    return BureauReport(**fields)  # type: ignore[arg-type]


def test_classes_rank_from_very_good_to_poor() -> None:
    assert [class_rank(c) for c in ("very_good", "good", "satisfactory", "poor")] == [0, 1, 2, 3]


def test_unknown_class_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown bureau risk class 'excellent'"):
        class_rank("excellent")


@pytest.mark.parametrize(
    ("pd", "expected"),
    [(0.0, "very_good"), (0.019, "very_good"), (0.0195, "very_good"), (0.02, "good"),
     (0.059, "good"), (0.06, "satisfactory"), (0.149, "satisfactory"), (0.15, "poor"),
     (1.0, "poor")],
)  # fmt: skip
def test_class_for_pd_follows_the_published_bands(pd: float, expected: str) -> None:
    assert class_for_pd(pd) == expected
    assert RISK_CLASSES[expected].pd_band_low <= pd


def test_class_for_pd_refuses_a_probability_outside_0_1() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        class_for_pd(1.2)


def test_definitions_state_the_band_in_both_languages() -> None:
    good = risk_class_definition("good")
    assert "2–5.9 %" in good.definition_en and good.definition_en.startswith("Good:")
    assert "2–5,9 %" in good.definition_et and good.definition_et.startswith("Hea:")
    assert "15–100 %" in risk_class_definition("poor").definition_en
    assert "maksehäire" in risk_class_definition("very_good").definition_et
    assert BUREAU_NAME


def test_report_exposes_its_class_definition_and_open_default() -> None:
    report = _report()
    assert report.class_definition.label_en == "good"
    assert report.has_open_default
    assert not _report(open_default_count=0, default_entries=()).has_open_default


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"score": 1001}, "score"),
        ({"risk_class": "excellent"}, "risk class"),
        ({"requested_at": datetime(2024, 5, 2, 10, 0)}, "requested_at"),
        ({"requested_at": datetime(2024, 5, 2, tzinfo=timezone(timedelta(hours=3)))}, "UTC"),
        ({"pd_band_low": 0.5, "pd_band_high": 0.1}, "pd_band_low"),
        ({"open_default_count": -1}, "open_default_count"),
        ({"report_id": ""}, "report_id"),
    ],
)
def test_report_refuses_impossible_values(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        _report(**overrides)


def test_default_entry_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="ended_on"):
        DefaultEntry("energy", 10.0, date(2023, 5, 1), date(2023, 4, 1))


def test_to_dict_round_trips_through_the_parser() -> None:
    report = _report()
    assert parse_report(report.to_dict()) == report
    assert list(report.to_dict()) == [
        "report_id", "requested_at", "score", "risk_class", "pd_band_low", "pd_band_high",
        "open_default_count", "closed_default_count", "default_entries",
    ]  # fmt: skip
