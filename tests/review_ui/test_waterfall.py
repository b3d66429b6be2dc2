"""The SHAP waterfall: one bar per large contribution, the rest summed, labels escaped."""

from __future__ import annotations

import math

from review_ui.waterfall import LOWERS_RISK, RAISES_RISK, waterfall_svg


def test_bars_run_from_the_base_value_to_the_model_output():
    svg = waterfall_svg(base_value=-3.0, contributions={"max_dpd_12m": 0.8, "tenure_months": -0.3})
    assert svg.count(f'fill="{RAISES_RISK}"') == 1
    assert svg.count(f'fill="{LOWERS_RISK}"') == 1
    output = -3.0 + 0.8 - 0.3
    assert f"PD {1 / (1 + math.exp(-output)):.1%}" in svg


def test_small_contributions_are_summed_into_one_bar():
    contributions = {f"feature_{i}": 0.01 * (i + 1) for i in range(15)}
    svg = waterfall_svg(base_value=0.0, contributions=contributions, top=10)
    assert "5 other features" in svg
    assert svg.count("<rect") == 11 + 2  # ten features, the rest, and two markers


def test_labels_are_escaped():
    svg = waterfall_svg(base_value=0.0, contributions={"<script>": 0.2})
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
