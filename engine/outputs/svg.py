"""Inline SVG charts of the HTML report, drawn from the view model's chart series: the category contributions to the
final score, a measure's rate on its decile scale, and the year's payment curve. Plain markup with every label
escaped, fixed sizes, nothing loaded from elsewhere; labels use the one number formatter."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

from engine.outputs import formatting
from engine.outputs.view_model import Bar, Curve

WIDTH = 640  # the contributions and payment charts
SCALE_WIDTH = 480  # a measure's decile scale
COLOURS = ("#1f5f8b", "#6a8d2f", "#c27c0e", "#7b4f9d", "#b3403a", "#3c8c8c")
LABELS: dict[str, Callable[[Any], str]] = {"percent": formatting.percent, "dollars": formatting.dollars,
                                            "number": formatting.number}


def _n(value: Any) -> str:
    """A coordinate, to two decimals."""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def _svg(height: int, title: str, body: Iterable[str], width: int = WIDTH) -> Markup:
    return Markup(f'<svg viewBox="0 0 {width} {height}" width="100%" '
                  f'role="img" class="chart"><title>{escape(title)}</title>{"".join(body)}</svg>')


def _text(x: float, y: float, text: str, anchor: str = "start", css: str = "") -> str:
    return (f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}"{f" class={css!r}" if css else ""}>'
            f"{escape(text)}</text>")


def _rect(x: float, y: float, width: float, height: float, fill: str, css: str = "") -> str:
    return (f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(width, 0))}" height="{_n(height)}" fill="{fill}"'
            f'{f" class={css!r}" if css else ""}/>')


def contributions(bars: Sequence[Bar], final: Any, maximum: Any) -> Markup:
    """The final score as one bar stacked by category (one plain bar when it is not their sum), then each category's
    points against its weight."""
    left, right, row = 200, WIDTH - 110, 24
    scale = (right - left) / float(maximum or 1)
    body, x = [_text(8, 22, "Final score", css="b")], float(left)
    if sum(Decimal(str(bar.value or 0)) for bar in bars) == Decimal(str(final)):
        for index, bar in enumerate(bars):
            width = float(bar.value or 0) * scale
            body.append(_rect(x, 8, width, 18, COLOURS[index % len(COLOURS)]))
            x += width
    else:  # a final score that is not the sum of its parts (set to the threshold, or capped): one bar
        body.append(_rect(x, 8, float(final) * scale, 18, "#5b6776"))
    body.append(_text(right + 8, 22, f"{formatting.number(final)} of {formatting.number(maximum)}", css="b"))
    for index, bar in enumerate(bars):
        y = 44 + index * row
        body.append(_text(8, y + 13, bar.label))
        body.append(_rect(left, y, float(bar.maximum or 0) * scale, 16, "#e3e8ee"))
        body.append(_rect(left, y, float(bar.value or 0) * scale, 16, COLOURS[index % len(COLOURS)]))
        body.append(_text(right + 8, y + 13, f"{formatting.number(bar.value)} of {formatting.number(bar.maximum)}"))
    return _svg(48 + len(bars) * row, "Points toward the final score, by category", body)


def deciles(bounds: Sequence[Any], lower: Any, upper: Any, value: Any, decile: Any, unit: str = "percent") -> Markup:
    """A measure's value on the scale of its benchmark's decile bounds, its own decile shaded between its bounds."""
    label = LABELS[unit]
    numbers = [Decimal(str(b)) for b in bounds] + ([Decimal(str(value))] if value is not None else [])
    if unit == "percent":  # a rate's whole scale
        low, high = min([Decimal(0), *numbers]), max([Decimal(100), *numbers])
    else:  # costs and counts: the bounds and the value, with a margin
        margin = (max(numbers) - min(numbers)) / 10 or Decimal(1)
        low, high = min(numbers) - margin, max(numbers) + margin
    span = float(high - low) or 1.0
    left, right = 12, SCALE_WIDTH - 12

    def at(v: Any) -> float:
        return left + (float(Decimal(str(v)) - low) / span) * (right - left)

    body = [_rect(left, 18, right - left, 14, "#eef1f5")]
    shade: list[float] = []
    if lower is not None and upper is not None:
        shade = sorted((at(lower), at(upper)))
    elif lower is not None or upper is not None:  # the top or bottom decile: from its one bound to the scale's end
        bound = Decimal(str(lower if lower is not None else upper))
        shade = sorted((at(bound), right if value is not None and Decimal(str(value)) >= bound else left))
    if shade:
        body.append(_rect(shade[0], 18, shade[1] - shade[0], 14, "#b9d3ea"))
        if decile:
            body.append(_text(sum(shade) / 2, 12, f"decile {decile}", "middle", "s"))
    for b in bounds:
        body.append(f'<line x1="{_n(at(b))}" y1="16" x2="{_n(at(b))}" y2="34" stroke="#8a97a6" stroke-width="1"/>')
    own = at(value) if value is not None else None
    if own is not None:
        body.append(f'<path d="M{_n(own)} 34 l-5 9 h10 z" fill="#b3403a"/>')
        body.append(_text(min(max(own, 40), SCALE_WIDTH - 40), 56, label(value), "middle", "b"))
    if unit == "percent":  # the scale's ends, unless the value's own label is there
        body += [_text(end, 56, label(v), anchor, "s") for end, v, anchor in ((left, low, "start"), (right, high, "end"))
                 if own is None or abs(own - end) > 70]
    return _svg(62, f"{label(value)} on the decile scale", body, SCALE_WIDTH)


def curve(c: Curve, marks: dict[str, str]) -> Markup:
    """The payment adjustment by final score, before scaling and as received, the thresholds and this score marked;
    ``marks`` names each threshold."""
    left, right, top, bottom = 56, WIDTH - 16, 16, 196
    values = [p.before_scaling for p in c.points] + [p.received for p in c.points] + [Decimal(0)]
    low, high = min(values), max(values)
    span = float(high - low) or 1.0

    def x(score: Decimal) -> float:
        return left + float(score / c.maximum) * (right - left) if c.maximum else left

    def y(value: Decimal) -> float:
        return bottom - (float(value - low) / span) * (bottom - top)

    def line(points: Iterable[tuple[Decimal, Decimal]], css: str) -> str:
        path = " ".join(f"{_n(x(s))},{_n(y(v))}" for s, v in points)
        return f'<polyline points="{path}" class="{css}" fill="none"/>'

    body = [f'<line x1="{left}" y1="{_n(y(Decimal(0)))}" x2="{right}" y2="{_n(y(Decimal(0)))}" class="axis"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" class="axis"/>']
    for value in sorted({low, Decimal(0), high}):
        body.append(_text(left - 6, y(value) + 4, formatting.signed_percent(value, 2), "end", "s"))
    for tick in range(0, int(c.maximum) + 1, 25):
        body.append(_text(x(Decimal(tick)), bottom + 16, str(tick), "middle", "s"))
    for index, (label, score) in enumerate(c.marks):
        body.append(f'<line x1="{_n(x(score))}" y1="{top}" x2="{_n(x(score))}" y2="{bottom}" class="mark"/>')
        text = f"{marks.get(label, label)} {formatting.number(score)}"
        beyond = x(score) > right - 220  # near the right edge: the label goes left of its line
        body.append(_text(x(score) + (-4 if beyond else 4), top + 10 + 12 * index, text, "end" if beyond else "start", "s"))
    body.append(line(((p.score, p.before_scaling) for p in c.points), "before"))
    body.append(line(((p.score, p.received) for p in c.points), "received"))
    own = next((p for p in c.points if p.score == c.score), None)
    if own is not None:
        body.append(f'<circle cx="{_n(x(own.score))}" cy="{_n(y(own.received))}" r="5" class="own"/>')
        body.append(f'<circle cx="{_n(x(own.score))}" cy="{_n(y(own.before_scaling))}" r="4" class="own-before"/>')
    body.append(_text(right, bottom + 32, "final score", "end", "s"))
    return _svg(bottom + 40, "Payment adjustment by final score", body)
