"""Charts for the admin's report pages, drawn on the server as inline SVG: no JavaScript, no
assets, no network. Each chart is an image with a title for screen readers and a tooltip on every
mark; the pages put the same numbers in a table beside it. Colours come from CSS classes
(templates/admin/reports/report.html), so the admin's light and dark themes both apply."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

Number = int | float | Decimal

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 32, 36  # room for the y labels, the legend and the x labels
MAX_X_LABELS = 8
BAR_ROW = 26  # height of one row of a horizontal bar chart
BAR_LABEL_WIDTH = 250
BAR_LABEL_CHARS = 26


@dataclass(frozen=True)
class Series:
    """One set of values drawn in one colour; `css_class` picks the colour (s-success, …)."""

    name: str
    values: Sequence[Number]
    css_class: str


def plain_number(value: Number) -> str:
    """1,234 for whole numbers, 1,234.57 otherwise."""
    if isinstance(value, int) or value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}"


def axis_number(value: float) -> str:
    """A short axis label: 1.5k, 2M, 0.25."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def nice_scale(maximum: Number, ticks: int = 4) -> tuple[float, float]:
    """The top of the y axis and the distance between its ticks: a round step (1, 2, 2.5 or 5
    times a power of ten) such that about `ticks` steps cover `maximum`."""
    maximum = float(maximum)
    if maximum <= 0:
        return float(ticks), 1.0
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return math.ceil(maximum / step - 1e-9) * step, step


def column_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = False,
    value_format: Callable[[Number], str] = plain_number,
) -> SafeString:
    """Vertical columns, one group per label: the series side by side, or stacked."""
    count = len(labels)
    if stacked:
        columns = zip(*(s.values for s in series), strict=True)
        maximum = max((sum(column) for column in columns), default=0)
    else:
        maximum = max((max(s.values, default=0) for s in series), default=0)
    frame = _Frame(maximum, value_format)
    band = frame.plot_width / max(count, 1)
    width = band * 0.72
    marks = []
    for index, label in enumerate(labels):
        x = LEFT + index * band + (band - width) / 2
        base = 0.0
        for number, one in enumerate(series):
            value = one.values[index]
            if stacked:
                low, high, left, size = base, base + float(value), x, width
                base = high
            else:
                size = width / len(series)
                low, high, left = 0.0, float(value), x + number * size
            if high <= low:
                continue
            marks.append(
                _tag(
                    '<rect class="{}" x="{}" y="{}" width="{}" height="{}">'
                    "<title>{}: {} {}</title></rect>",
                    one.css_class,
                    left,
                    frame.y(high),
                    max(size - 1, 1),
                    frame.y(low) - frame.y(high),
                    label,
                    value_format(value),
                    one.name,
                )
            )
    return frame.svg(chart_id, title, marks, labels, band, series)


def line_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    value_format: Callable[[Number], str] = plain_number,
) -> SafeString:
    """One line per series, a dot with a tooltip on every value."""
    maximum = max((max(s.values, default=0) for s in series), default=0)
    frame = _Frame(maximum, value_format)
    band = frame.plot_width / max(len(labels), 1)
    marks = []
    for one in series:
        points = [
            (LEFT + (index + 0.5) * band, frame.y(value)) for index, value in enumerate(one.values)
        ]
        marks.append(
            _tag(
                '<polyline class="line {}" points="{}"/>',
                one.css_class,
                " ".join(f"{x:.1f},{y:.1f}" for x, y in points),
            )
        )
        marks.extend(
            _tag(
                '<circle class="{}" cx="{}" cy="{}" r="2.5"><title>{}: {} {}</title></circle>',
                one.css_class,
                x,
                y,
                label,
                value_format(value),
                one.name,
            )
            for (x, y), label, value in zip(points, labels, one.values, strict=True)
        )
    return frame.svg(chart_id, title, marks, labels, band, series)


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[Number],
    *,
    css_class: str,
    value_format: Callable[[Number], str] = plain_number,
) -> SafeString:
    """Horizontal bars, one row per label, largest first as given; the value at each bar's end."""
    height = TOP + BAR_ROW * max(len(labels), 1) + 8
    plot_width = WIDTH - BAR_LABEL_WIDTH - RIGHT - 72  # room for the value after the bar
    maximum = float(max(values, default=0)) or 1.0
    rows = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = TOP + index * BAR_ROW
        short = label if len(label) <= BAR_LABEL_CHARS else label[: BAR_LABEL_CHARS - 1] + "…"
        length = plot_width * float(value) / maximum
        rows.append(
            _tag(
                '<g><title>{}: {}</title><text class="label" x="{}" y="{}" '
                'text-anchor="end">{}</text><rect class="{}" x="{}" y="{}" width="{}" '
                'height="{}"/><text class="value" x="{}" y="{}">{}</text></g>',
                label,
                value_format(value),
                BAR_LABEL_WIDTH - 8,
                y + BAR_ROW * 0.62,
                short,
                css_class,
                BAR_LABEL_WIDTH,
                y + 4,
                max(length, 1),
                BAR_ROW - 8,
                BAR_LABEL_WIDTH + length + 6,
                y + BAR_ROW * 0.62,
                value_format(value),
            )
        )
    if not rows:
        rows.append(_no_data(WIDTH / 2, TOP + BAR_ROW / 2))
    return _svg(chart_id, title, height, rows)


class _Frame:
    """The plot area of a column or line chart: y scale, grid, axis labels and legend."""

    def __init__(self, maximum: Number, value_format: Callable[[Number], str]):
        self.top, self.step = nice_scale(maximum)
        self.empty = float(maximum) <= 0
        self.value_format = value_format
        self.plot_width = WIDTH - LEFT - RIGHT
        self.plot_height = HEIGHT - TOP - BOTTOM

    def y(self, value: Number) -> float:
        return TOP + self.plot_height * (1 - float(value) / self.top)

    def svg(self, chart_id, title, marks, labels, band, series) -> SafeString:
        ticks = round(self.top / self.step)
        grid = [
            _tag(
                '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="axis" x="{}" y="{}" text-anchor="end">{}</text>',
                LEFT,
                WIDTH - RIGHT,
                self.y(tick * self.step),
                self.y(tick * self.step),
                LEFT - 6,
                self.y(tick * self.step) + 4,
                axis_number(tick * self.step),
            )
            for tick in range(ticks + 1)
        ]
        # Every k-th label, counted back from the last (the latest day is always named).
        every = math.ceil(len(labels) / MAX_X_LABELS) or 1
        x_labels = [
            _tag(
                '<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                LEFT + (index + 0.5) * band,
                HEIGHT - BOTTOM + 18,
                labels[index],
            )
            for index in range(len(labels) - 1, -1, -every)
        ]
        legend = [
            _tag(
                '<rect class="{}" x="{}" y="8" width="12" height="12"/>'
                '<text class="legend" x="{}" y="18">{}</text>',
                one.css_class,
                LEFT + 130 * number,
                LEFT + 130 * number + 16,
                one.name,
            )
            for number, one in enumerate(series)
        ]
        if self.empty:
            marks = [_no_data(LEFT + self.plot_width / 2, TOP + self.plot_height / 2)]
        return _svg(chart_id, title, HEIGHT, [*grid, *x_labels, *legend, *marks])


def _no_data(x: float, y: float) -> SafeString:
    return _tag(
        '<text class="axis" x="{}" y="{}" text-anchor="middle">No data in this period</text>',
        x,
        y,
    )


def _tag(template: str, *args) -> SafeString:
    """format_html with floats written to one decimal (format_html escapes its arguments into
    strings first, so a format spec like {:.1f} cannot apply)."""
    return format_html(template, *(f"{a:.1f}" if isinstance(a, float) else a for a in args))


def _svg(chart_id: str, title: str, height: int, parts: list[SafeString]) -> SafeString:
    return format_html(
        # Drawn at its own size (width and height in px), never stretched: its text is the same
        # size on every page; a narrow screen scrolls the figure instead.
        '<svg class="chart" id="{}" width="{}" height="{}" viewBox="0 0 {} {}" role="img" '
        'aria-labelledby="{}-title" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{}-title">{}</title>{}</svg>',
        chart_id,
        WIDTH,
        height,
        WIDTH,
        height,
        chart_id,
        chart_id,
        title,
        format_html_join("", "{}", ((part,) for part in parts)),
    )
