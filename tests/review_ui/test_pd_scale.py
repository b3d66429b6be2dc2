"""The PD scale: bands at the policy's cut-offs, the PD and its interval, and no inline style."""

from __future__ import annotations

import re

from review_ui.pd_scale import WIDTH, pd_scale_svg


def test_bands_cut_offs_marker_and_interval_sit_where_the_numbers_say():
    svg = pd_scale_svg(
        probability_of_default=0.171, approve_below=0.06, decline_at_or_above=0.15,
        interval=(0.167, 0.237),
    )  # fmt: skip
    # The scale runs to twice the decline cut-off (0.30): 6 % at a fifth, 15 % at half.
    lines = [float(x) for x in re.findall(r'<line x1="([\d.]+)"', svg)]
    assert lines == [WIDTH * 0.2, WIDTH * 0.5]
    band = re.search(
        r'data-testid="pd-interval-band" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg
    )
    assert band is not None
    assert float(band.group(1)) == round(0.167 / 0.3 * WIDTH, 1)
    assert float(band.group(2)) == round(0.237 / 0.3 * WIDTH, 1) - round(0.167 / 0.3 * WIDTH, 1)
    assert "95 % interval 16.7 % to 23.7 %" in svg and ">17.1 %<" in svg
    # The reviewer UI's Content-Security-Policy refuses inline styles: geometry is markup.
    assert "style=" not in svg


def test_a_pd_beyond_twice_the_decline_cut_off_stretches_the_scale():
    svg = pd_scale_svg(probability_of_default=0.6, approve_below=0.06, decline_at_or_above=0.15)
    assert "pd-interval-band" not in svg
    marker = re.search(r'<rect x="([\d.]+)" y="[\d.]+" width="3"', svg)
    assert marker is not None and float(marker.group(1)) < WIDTH
