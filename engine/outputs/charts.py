"""Charts of final-score distributions as PNG files, each year's payment thresholds marked on the score axis.

Drawn with matplotlib's Agg renderer (no display, no pyplot state) under matplotlib's default style, at a fixed size
and resolution, without the Software tag: the same scores and rulebooks always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib import style
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from engine.rules.model import Rulebook

SIZE = (10.0, 5.0)  # inches ...
DPI = 100  # ... at this resolution: 1000 x 500 pixels
BIN_WIDTH = 5  # points of final score per bar
LINE_STYLES = (":", "--", "-.")  # the cliff, the performance threshold, the additional performance threshold


def thresholds(book: Rulebook) -> list[tuple[str, float]]:
    """The year's marks on the final-score axis, (label, score): the score at or below which the full negative
    adjustment applies, the performance threshold and (where the year has one) the additional performance threshold."""
    threshold = float(book.value("payment.performance_threshold"))
    fraction = float(book.value("payment.full_negative_fraction"))
    marks = [(f"full negative at or below {threshold * fraction:g} (threshold × {fraction:g})", threshold * fraction),
             (f"performance threshold {threshold:g}", threshold)]
    additional = book.value("payment.additional_performance_threshold")
    if additional is not None:
        marks.append((f"additional performance threshold {float(additional):g}", float(additional)))
    return marks


def _bins(books: list[Rulebook], width: float) -> list[float]:
    """Bin edges from 0 to the highest final score the books allow, ``width`` points apart."""
    maximum = max(float(book.value("final.maximum")) for book in books)
    return np.arange(0.0, maximum + width, width).tolist()


def _mark(ax: Axes, book: Rulebook, color: str, prefix: str = "") -> None:
    for (label, score), line in zip(thresholds(book), LINE_STYLES, strict=True):
        ax.axvline(score, color=color, linestyle=line, linewidth=1.2, label=f"{prefix}{label}")


def _axes() -> tuple[Figure, Axes]:
    """A figure of the fixed size, its plot on the left and room on the right for the legend."""
    figure = Figure(figsize=SIZE, dpi=DPI)
    figure.subplots_adjust(left=0.07, right=0.62)
    return figure, figure.add_subplot()


def _save(figure: Figure, ax: Axes, path: str | Path) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small", borderaxespad=0.0)
    FigureCanvasAgg(figure)  # the figure draws with Agg
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})


def score_histogram(final_scores: np.ndarray, book: Rulebook, path: str | Path, title: str,
                    bin_width: float = BIN_WIDTH) -> None:
    """A PNG histogram of final scores (``bin_width`` points per bar) with ``book``'s thresholds marked."""
    with style.context("default"):
        figure, ax = _axes()
        ax.hist(np.asarray(final_scores, dtype=float), bins=_bins([book], bin_width), color="tab:blue",
                edgecolor="white", label=f"final scores (n = {len(final_scores)})")
        _mark(ax, book, "tab:red")
        ax.set(title=title, xlabel=f"final score ({book.year} rules)", ylabel="submissions")
        _save(figure, ax, path)


def distributions_chart(columns: Mapping[str, np.ndarray], books: Mapping[str, Rulebook], path: str | Path,
                        title: str = "Final scores of one population under each year's rules",
                        bin_width: float = BIN_WIDTH) -> None:
    """A PNG of several final-score distributions overlaid as step histograms (each as a share of its scored
    submissions, so columns of different sizes compare), each with its year's thresholds in its colour.
    ``columns`` and ``books`` are keyed alike (a year's label)."""
    with style.context("default"):
        figure, ax = _axes()
        edges = _bins([books[label] for label in columns], bin_width)
        for index, (label, scores) in enumerate(columns.items()):
            color = f"C{index % 10}"
            values = np.asarray(scores, dtype=float)
            ax.hist(values, bins=edges, weights=np.full(len(values), 1 / max(len(values), 1)), histtype="step",
                    linewidth=1.8, color=color, label=f"{label} (n = {len(values)})")
            _mark(ax, books[label], color, f"{label}: ")
        ax.set(title=title, xlabel="final score", ylabel="share of scored submissions")
        _save(figure, ax, path)
