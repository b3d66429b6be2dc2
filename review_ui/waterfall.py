"""The SHAP waterfall of one decision as a server-rendered SVG: no plotting library, no script.

Bars start at the model's base value (log-odds) and each feature moves the running total
by its contribution; red bars raise the probability of default, blue bars lower it. The
largest contributions are drawn one by one and the rest are summed into a single bar.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape

ROW_HEIGHT = 26
LABEL_WIDTH = 250
VALUE_WIDTH = 70
PLOT_WIDTH = 420
RAISES_RISK = "#b3261e"
LOWERS_RISK = "#1f5fa8"


def _probability(log_odds: float) -> float:
    return 1.0 / (1.0 + math.exp(-log_odds))


def waterfall_svg(
    *,
    base_value: float,
    contributions: Mapping[str, float],
    labels: Mapping[str, str] | None = None,
    top: int = 10,
) -> str:
    """An accessible SVG waterfall from the base value to the model's output (log-odds)."""
    labels = labels or {}
    ordered = sorted(contributions.items(), key=lambda item: (-abs(item[1]), item[0]))
    shown = ordered[:top]
    rest = ordered[top:]
    if rest:
        shown.append((f"{len(rest)} other features", sum(value for _, value in rest)))

    steps: list[tuple[str, float, float]] = []
    running = base_value
    for name, value in shown:
        steps.append((labels.get(name, name), running, running + value))
        running += value
    output = running
    points = [base_value, output, *(end for _, _, end in steps)]
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    low, high = low - span * 0.05, high + span * 0.05

    def x(value: float) -> float:
        return LABEL_WIDTH + (value - low) / (high - low) * PLOT_WIDTH

    height = ROW_HEIGHT * (len(steps) + 3)
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    title = (
        f"From the base value {base_value:.2f} (PD {_probability(base_value):.1%}) to the "
        f"model output {output:.2f} (PD {_probability(output):.1%}), in log-odds"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="waterfall" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="waterfall-title">',
        f'<title id="waterfall-title">{escape(title)}</title>',
        _row_text(0, "Base value (average applicant)", f"{base_value:+.2f}", bold=True),
        _marker(x(base_value), 0),
    ]
    for index, (label, start, end) in enumerate(steps, start=1):
        y = index * ROW_HEIGHT
        left, right = sorted((x(start), x(end)))
        colour = RAISES_RISK if end > start else LOWERS_RISK
        parts.append(_row_text(index, label, f"{end - start:+.2f}"))
        parts.append(
            f'<rect x="{left:.1f}" y="{y + 5}" width="{max(right - left, 1.0):.1f}" '
            f'height="{ROW_HEIGHT - 10}" fill="{colour}"><title>{escape(label)}: '
            f"{end - start:+.3f} log-odds</title></rect>"
        )
        parts.append(
            f'<line x1="{x(end):.1f}" x2="{x(end):.1f}" y1="{y + ROW_HEIGHT - 5}" '
            f'y2="{y + ROW_HEIGHT + 5}" stroke="#777" stroke-dasharray="2,2"/>'
        )
    last = (len(steps) + 1) * ROW_HEIGHT
    parts.append(
        _row_text(
            len(steps) + 1,
            f"Model output: PD {_probability(output):.1%}",
            f"{output:+.2f}",
            bold=True,
        )
    )
    parts.append(_marker(x(output), last))
    axis_y = last + ROW_HEIGHT + 4
    parts.append(
        f'<line x1="{LABEL_WIDTH}" x2="{LABEL_WIDTH + PLOT_WIDTH}" y1="{axis_y}" '
        f'y2="{axis_y}" stroke="#444"/>'
    )
    parts.append(
        f'<text x="{LABEL_WIDTH}" y="{axis_y + 16}" font-size="11">{low:.2f}</text>'
        f'<text x="{LABEL_WIDTH + PLOT_WIDTH}" y="{axis_y + 16}" font-size="11" '
        f'text-anchor="end">{high:.2f} log-odds</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _row_text(index: int, label: str, value: str, *, bold: bool = False) -> str:
    y = index * ROW_HEIGHT + ROW_HEIGHT * 0.65
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="4" y="{y:.1f}" font-size="12"{weight}>{escape(label)}</text>'
        f'<text x="{LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH - 4}" y="{y:.1f}" font-size="12" '
        f'text-anchor="end"{weight}>{escape(value)}</text>'
    )


def _marker(x: float, y: float) -> str:
    return f'<rect x="{x - 1:.1f}" y="{y + 4}" width="3" height="{ROW_HEIGHT - 8}" fill="#222"/>'
