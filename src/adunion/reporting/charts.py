"""Charts as inline SVG, rendered on the server: no JavaScript, no CDN.

Every text that reaches the SVG (titles, labels, tooltips) is escaped here; the result is marked
safe for Jinja only after that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

WIDTH = 640
HEIGHT = 220
PAD_LEFT = 8
PAD_RIGHT = 8
PAD_TOP = 28
PAD_BOTTOM = 28


def bar_chart(
    title: str,
    points: Sequence[tuple[str, int]],
    fmt: Callable[[int], str] = str,
    *,
    css_class: str = "chart",
) -> Markup:
    """One bar per point; the largest value and the first/last labels are written out."""
    e = escape
    top = max((value for _, value in points), default=0)
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = [
        f'<svg class="{e(css_class)}" role="img" aria-label="{e(title)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMidYMid meet">',
        f"<title>{e(title)}</title>",
        f'<text x="{PAD_LEFT}" y="16" class="chart-title">{e(title)}</text>',
        f'<text x="{WIDTH - PAD_RIGHT}" y="16" text-anchor="end" class="chart-max">'
        f"max {e(fmt(top))}</text>",
        f'<line x1="{PAD_LEFT}" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH - PAD_RIGHT}" '
        f'y2="{HEIGHT - PAD_BOTTOM}" class="chart-axis" stroke="#888"/>',
    ]
    if points:
        slot = inner_w / len(points)
        bar = max(1.0, slot * 0.8)
        for n, (label, value) in enumerate(points):
            height = 0.0 if top <= 0 else inner_h * max(value, 0) / top
            x = PAD_LEFT + n * slot + (slot - bar) / 2
            y = HEIGHT - PAD_BOTTOM - height
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'class="chart-bar" fill="#3b6fb6">'
                f"<title>{e(label)}: {e(fmt(value))}</title></rect>"
            )
        parts.append(
            f'<text x="{PAD_LEFT}" y="{HEIGHT - 8}" class="chart-label">{e(points[0][0])}</text>'
        )
        if len(points) > 1:
            parts.append(
                f'<text x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 8}" text-anchor="end" '
                f'class="chart-label">{e(points[-1][0])}</text>'
            )
    else:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="chart-empty">'
            "No data in this period</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
