"""Trace nodes and result-document parts built from the kernels' outputs for one entity, one module per mechanism.

The kernels compute every number (integers at the rulebook's declared precision, status and reason codes); these
builders only name them: each number becomes a node citing the rules behind it, with a short reason code and the
inputs the feedback templates (reports/*.j2) turn into sentences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.base.exact import ScalarOps
from engine.rules.model import Rulebook
from engine.scoring.fixed import Precision, number
from engine.scoring.trace import Trace, plain


@dataclass
class Build:
    """What a node builder reads and writes: the rulebook, its precision, the profile and the trace."""

    book: Rulebook
    precision: Precision
    profile: dict[str, Any]
    trace: Trace

    def __post_init__(self) -> None:
        self.one = self.precision.one

    def d(self, value: int) -> int | float:
        """A kernel's fixed-point integer as the JSON number it stands for."""
        return number(int(value), self.one)

    def deciles(self, measure: str, method: str) -> tuple[list[int | float], int | None]:
        """A benchmark's decile bounds as JSON numbers (worked out once per rulebook) and its benchmark year;
        no bounds when the measure has no benchmark for ``method``."""
        memo = self.book.memo.setdefault("nodes.deciles", {})
        if (measure, method) not in memo:
            benchmark = self.book.reference.benchmark(measure, method)
            memo[measure, method] = ((plain(list(benchmark.deciles)), benchmark.benchmark_year) if benchmark
                                     else ([], None))
        bounds, year = memo[measure, method]
        return list(bounds), year

    def ratio(self, num: int, den: int) -> int | float:
        """num / den at the declared precision, rounded by the declared rule (den > 0)."""
        return self.d(ScalarOps.divide(num, den, self.precision.digits, self.precision.rounding))


@dataclass
class CategoryPart:
    """One category as scored from its data: the percent (before credits), whether data was submitted, the detail
    the document shows, and whether the data comes from the submission (cost comes from claims)."""

    percent: int | float
    submitted: bool
    detail: dict[str, Any]
