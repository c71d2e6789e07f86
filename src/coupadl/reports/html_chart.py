"""The throughput charts of ``report.html`` as plain geometry; the template draws the SVG.

Three charts over the same time axis: POs finished per minute, MB saved per minute,
and concurrency (POs in flight on average, distinct workers busy) per bucket.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from coupadl.reports.html_data import Buckets
from coupadl.reports.html_text import duration

WIDTH, HEIGHT = 720, 180
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 14, 34
# More buckets than this and the points would touch: only the line is drawn.
MAX_DOTS = 240


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Line:
    css: str  # its class, which sets its colour
    label: str
    points: str  # the polyline's points attribute
    dots: list[Dot]


@dataclass(frozen=True)
class Chart:
    title: str
    lines: list[Line]
    grid: list[tuple[float, str]]  # (y, label) of each horizontal grid line
    total: str  # the label at the end of the time axis
    bucket: str  # the bucket width, as text
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    axis_y: int = HEIGHT - BOTTOM


def nice_ceiling(value: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``value`` (and at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def _line(css: str, label: str, values: Sequence[float], y_max: float, width: float) -> Line:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(values)
    xs = [LEFT + (i + 0.5) * plot_w / n for i in range(n)]
    ys = [TOP + plot_h * (1 - v / y_max) for v in values]
    dots = (
        [
            Dot(x, y, f"{duration(i * width)} to {duration((i + 1) * width)}: {v:.1f} {label}")
            for i, (x, y, v) in enumerate(zip(xs, ys, values, strict=True))
        ]
        if n <= MAX_DOTS
        else []
    )
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    return Line(css, label, points, dots)


def _chart(title: str, series: Sequence[tuple[str, str, Sequence[float]]], b: Buckets) -> Chart:
    y_max = nice_ceiling(max(max(values) for _, _, values in series))
    plot_h = HEIGHT - TOP - BOTTOM
    grid = [(TOP + plot_h * (1 - v / y_max), f"{v:g}") for v in (0, y_max / 2, y_max)]
    return Chart(
        title=title,
        lines=[_line(css, label, values, y_max, b.width) for css, label, values in series],
        grid=grid,
        total=duration(len(b.pos) * b.width),
        bucket=duration(b.width),
    )


def charts(b: Buckets) -> list[Chart]:
    return [
        _chart("POs finished per minute", [("l1", "POs/min", b.pos_per_minute)], b),
        _chart("MB saved per minute", [("l2", "MB/min", b.mb_per_minute)], b),
        _chart(
            "Concurrency",
            [
                ("l3", "POs in flight (average)", list(b.in_flight)),
                ("l4", "workers busy", [float(w) for w in b.workers]),
            ],
            b,
        ),
    ]
