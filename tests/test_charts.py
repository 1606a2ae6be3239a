"""The admin's SVG charts: round axis scales, marks in proportion to the values, every value in
a tooltip, text escaped, and a message instead of an empty plot."""

import re
from decimal import Decimal

import pytest

from legalplatform.charts import (
    Series,
    axis_number,
    bar_chart,
    column_chart,
    line_chart,
    nice_scale,
)


@pytest.mark.parametrize(
    "maximum, scale",
    [
        (0, (4.0, 1.0)),
        (7, (8.0, 2.0)),
        (18, (20.0, 5.0)),
        (100, (100.0, 25.0)),
        (123_456, (150_000.0, 50_000.0)),
        (Decimal("0.035"), (0.04, 0.01)),
    ],
)
def test_nice_scale(maximum, scale):
    top, step = nice_scale(maximum)
    assert (round(top, 6), round(step, 6)) == scale
    assert top >= float(maximum)


def test_axis_numbers_are_short():
    assert [axis_number(v) for v in (0, 0.25, 15, 1500, 2_500_000)] == [
        "0",
        "0.25",
        "15",
        "1.5k",
        "2.5M",
    ]


def rect_heights(svg: str, css_class: str) -> list[float]:
    """Heights of the columns (the rects with a tooltip; the legend's swatches have none)."""
    marks = re.findall(rf'<rect class="{css_class}" [^>]*height="([\d.]+)"><title>', svg)
    return [float(height) for height in marks]


def test_stacked_columns_are_in_proportion_and_titled():
    svg = str(
        column_chart(
            "c",
            "Executions",
            ["Mon", "Tue", "Wed"],
            [Series("ok", [10, 0, 5], "s-success"), Series("failed", [10, 0, 0], "s-failure")],
            stacked=True,
        )
    )
    ok, failed = rect_heights(svg, "s-success"), rect_heights(svg, "s-failure")
    assert len(ok) == 2 and len(failed) == 1  # nothing drawn for zeros
    assert ok[0] == pytest.approx(failed[0]) == pytest.approx(2 * ok[1])
    assert "<title>Mon: 10 ok</title>" in svg and "<title>Wed: 5 ok</title>" in svg
    assert svg.startswith('<svg class="chart" id="c"') and 'role="img"' in svg
    assert '<title id="c-title">Executions</title>' in svg


def test_lines_and_bars_carry_every_value():
    line = str(line_chart("l", "Tokens", ["a", "b"], [Series("used", [1, 3], "s-used")]))
    assert line.count("<circle") == 2 and "<polyline" in line and "b: 3 used" in line
    bars = str(
        bar_chart(
            "b",
            "Top",
            ["A skill with a name far longer than the room for labels", "<b>"],
            [Decimal("2.5"), 1],
            css_class="s-cost",
            value_format=lambda v: f"${v:,.2f}",
        )
    )
    assert "A skill with a name far l…" in bars and "$2.50" in bars
    assert "<title>A skill with a name far longer than the room for labels: $2.50</title>" in bars
    assert "&lt;b&gt;" in bars and "<b>" not in bars


def test_empty_charts_say_so():
    assert "No data in this period" in column_chart("e", "E", ["a"], [Series("x", [0], "s")])
    assert "No data in this period" in bar_chart("e", "E", [], [], css_class="s")
