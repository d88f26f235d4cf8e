"""General scoring mechanisms; a rule file's ``mechanism:`` selects one and its values parameterise it."""

from __future__ import annotations

from collections.abc import Callable

from engine.scoring.categories import (
    activity_points,
    base_performance_bonus,
    cost_benchmarks,
    decile_benchmarks,
    measure_points,
    not_scored,
)
from engine.scoring.context import CategoryScore, Context

CATEGORY_MECHANISMS: dict[str, Callable[[Context, str], CategoryScore]] = {
    "decile_benchmarks": decile_benchmarks.score,
    "activity_points": activity_points.score,
    "measure_points": measure_points.score,
    "not_scored": not_scored.score,
    "cost_benchmarks": cost_benchmarks.score,
    "base_performance_bonus": base_performance_bonus.score,
}
