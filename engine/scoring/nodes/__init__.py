"""Trace nodes and result-document parts built from the kernels' outputs for one entity, one module per mechanism.

The kernels compute every number (integers at the rulebook's declared precision, status and reason codes); these
builders only name them: each number becomes a node citing the rules behind it, with a short reason code and the
inputs the feedback templates (reports/*.j2) turn into sentences.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.rules.model import Rulebook
from engine.scoring.fixed import Precision
from engine.scoring.trace import Trace


@dataclass
class Build:
    """What a node builder reads and writes: the rulebook, its precision, the profile and the trace."""

    book: Rulebook
    precision: Precision
    profile: dict[str, Any]
    trace: Trace

    def d(self, value: int) -> Decimal:
        """A kernel's fixed-point integer as the exact decimal it stands for."""
        return self.precision.decimal(value)

    def ratio(self, num: int, den: int) -> Decimal:
        """num / den at the declared precision, rounded by the declared rule (den > 0)."""
        from engine.base.exact import ScalarOps

        return self.d(ScalarOps.divide(num, den, self.precision.digits, self.precision.rounding))


@dataclass
class CategoryPart:
    """One category as scored from its data: the percent (before credits), whether data was submitted, the detail
    the document shows, and whether the data comes from the submission (cost comes from claims)."""

    percent: Decimal
    submitted: bool
    detail: dict[str, Any]
