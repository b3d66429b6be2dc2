"""The probability of default against the policy's cut-offs, as a server-rendered SVG.

SVG geometry is markup, not style, so the drawing holds under the UI's Content-Security-
Policy (``style-src 'self'``), which refuses inline ``style`` attributes.
"""

from __future__ import annotations

from html import escape

WIDTH = 900
BAND_TOP = 18
BAND_HEIGHT = 26
BANDS = (("approve", "#e3f1e3"), ("refer", "#fff4d6"), ("decline", "#fbeaea"))


def _percent(share: float) -> str:
    return f"{share * 100:.1f} %"


def pd_scale_svg(
    *,
    probability_of_default: float,
    approve_below: float,
    decline_at_or_above: float,
    interval: tuple[float, float] | None = None,
) -> str:
    """Approve, refer and decline bands with their cut-offs, the PD and its interval."""
    ends = [decline_at_or_above * 2, probability_of_default * 1.15]
    if interval is not None:
        ends.append(interval[1] * 1.05)
    top = max(ends)

    def x(share: float) -> float:
        return round(min(max(share, 0.0), top) / top * WIDTH, 1)

    edges = [0.0, approve_below, decline_at_or_above, top]
    height = BAND_TOP + BAND_HEIGHT + 20
    within = ""
    if interval is not None:
        within = f" (95 % interval {_percent(interval[0])} to {_percent(interval[1])})"
    label = (
        f"PD {_percent(probability_of_default)}{within} against the policy's cut-offs: approve "
        f"below {_percent(approve_below)}, decline at or above {_percent(decline_at_or_above)}"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pd-scale" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" aria-labelledby="pd-scale-title">',
        f'<title id="pd-scale-title">{escape(label)}</title>',
    ]
    for (name, colour), low, high in zip(BANDS, edges, edges[1:], strict=False):
        parts.append(
            f'<rect x="{x(low)}" y="{BAND_TOP}" width="{x(high) - x(low)}" '
            f'height="{BAND_HEIGHT}" fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{(x(low) + x(high)) / 2}" y="{BAND_TOP + 17}" font-size="12" '
            f'text-anchor="middle">{name}</text>'
        )
    for cut in (approve_below, decline_at_or_above):
        parts.append(
            f'<line x1="{x(cut)}" x2="{x(cut)}" y1="{BAND_TOP - 4}" y2="{BAND_TOP + BAND_HEIGHT}" '
            'stroke="#777"/>'
        )
        parts.append(
            f'<text x="{x(cut)}" y="{BAND_TOP - 6}" font-size="11" text-anchor="middle">'
            f"{_percent(cut)}</text>"
        )
    if interval is not None:
        low, high = x(interval[0]), x(interval[1])
        parts.append(
            f'<rect data-testid="pd-interval-band" x="{low}" y="{BAND_TOP + 8}" '
            f'width="{max(high - low, 2)}" height="{BAND_HEIGHT - 16}" fill="#111" '
            'fill-opacity="0.35" stroke="#111"><title>95 % interval</title></rect>'
        )
    marker = x(probability_of_default)
    parts.append(
        f'<rect x="{marker - 1.5}" y="{BAND_TOP - 4}" width="3" height="{BAND_HEIGHT + 8}" '
        'fill="#111"><title>this application</title></rect>'
    )
    parts.append(
        f'<text x="{marker}" y="{BAND_TOP + BAND_HEIGHT + 16}" font-size="11" '
        f'text-anchor="middle" font-weight="bold">{_percent(probability_of_default)}</text>'
    )
    parts.append(
        f'<text x="{WIDTH}" y="{BAND_TOP + BAND_HEIGHT + 16}" font-size="10" text-anchor="end" '
        f'fill="#555">{_percent(top)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
