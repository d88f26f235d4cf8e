"""General scoring mechanisms; a rule file's ``mechanism:`` selects one and its values parameterise it."""

from __future__ import annotations

from collections.abc import Callable

from ..context import CategoryScore, Context
from . import activities, base_performance_bonus, cost_benchmarks, deciles, interoperability, not_scored

CATEGORY_MECHANISMS: dict[str, Callable[[Context, str], CategoryScore]] = {
    "decile_benchmarks": deciles.score,
    "activity_points": activities.score,
    "measure_points": interoperability.score,
    "not_scored": not_scored.score,
    "cost_benchmarks": cost_benchmarks.score,
    "base_performance_bonus": base_performance_bonus.score,
}
