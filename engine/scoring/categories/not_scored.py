"""A category the year does not score for anyone (its weight is always redistributed)."""

from __future__ import annotations

from decimal import Decimal

from engine.scoring.context import CategoryScore, Context


def score(ctx: Context, category: str) -> CategoryScore:
    ctx.trace.add(f"{category}.score", Decimal(0), [f"{category}.reason"],
                  note=str(ctx.value(f"{category}.reason")))
    return CategoryScore(category, Decimal(0), False, {"reason": ctx.value(f"{category}.reason")})
