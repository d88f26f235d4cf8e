"""Final score (weighted sum plus the complex patient bonus) and the payment adjustment."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from engine.base.numbers import HUNDRED, ZERO, decimal
from engine.scoring.context import CategoryScore, Context
from engine.scoring.final.reweighting import Weighting


def complex_patient_bonus(ctx: Context, facts: dict[str, Any]) -> Decimal:
    rule = ctx.book.rule("bonuses.complex_patient")
    inputs = ctx.profile.get("complexPatient") or {}
    if ctx.value("bonuses.requires_submitted_data") and not facts["submitted_any"]:
        return ctx.trace.add("bonuses.complex_patient", ZERO, ["bonuses.requires_submitted_data"], {},
                             "no data submitted in any category, so no complex patient bonus")
    needed = sorted(rule.expression.names)
    if any(n not in inputs for n in needed):
        return ctx.trace.add("bonuses.complex_patient", ZERO, ["bonuses.complex_patient"], {},
                             "no complex patient data (" + ", ".join(needed) + ") in the profile")
    value = max(decimal(ctx.book.evaluate("bonuses.complex_patient", inputs)), ZERO)
    return ctx.trace.add("bonuses.complex_patient", value, ["bonuses.complex_patient"],
                         {n: inputs[n] for n in needed}, rule.expression.text)


NEUTRAL_SCORES = {"performance_threshold": "payment.performance_threshold"}  # the value a neutral final score takes


def final_score(ctx: Context, categories: dict[str, CategoryScore], weighting: Weighting,
                bonus: Decimal) -> Decimal:
    contributions = {}
    for name, category in categories.items():
        points = category.percent * weighting.weights[name] / HUNDRED
        contributions[name] = points
        ctx.trace.add(f"{name}.contribution", points, [weighting.table],
                      {"percent": category.percent, "weight": weighting.weights[name]},
                      f"{name} percent x weight")
    if weighting.neutral:
        source = NEUTRAL_SCORES[ctx.value("final.neutral_final_score")]
        minimum = ctx.value("weights.minimum_scored_categories")
        rules = ["final.neutral_final_score", "weights.minimum_scored_categories", source]
        return ctx.trace.add("final_score", ctx.number(source), rules, {"row": weighting.row_label},
                             f"fewer than {minimum} categories scored, so the final score is the "
                             f"{source.split('.')[-1].replace('_', ' ')}")
    total = sum(contributions.values(), ZERO) + bonus
    value = min(total, ctx.number("final.maximum"))
    return ctx.trace.add("final_score", value, ["final.maximum"], {**contributions, "complex_patient_bonus": bonus},
                         "sum of the weighted category scores plus the complex patient bonus, at most 100")


def _display(ctx: Context, value: Decimal) -> Decimal:
    spec = ctx.value("payment.display")
    step = Decimal(1).scaleb(-spec["decimals"])
    return value.quantize(step, rounding=ROUND_DOWN if spec["mode"] == "truncate" else ROUND_HALF_UP)


def payment(ctx: Context, score: Decimal) -> dict[str, Any]:
    threshold = ctx.number("payment.performance_threshold")
    applicable = ctx.number("payment.applicable_percent")
    fraction = ctx.number("payment.full_negative_fraction")
    scaling = ctx.number("payment.scaling_factor")
    exceptional_scaling = ctx.number("payment.exceptional_scaling_factor")
    additional = ctx.value("payment.additional_performance_threshold")
    spec = ctx.value("payment.exceptional")
    exceptional = ZERO
    rules = ["payment.performance_threshold", "payment.applicable_percent"]
    if score <= threshold * fraction:
        band, adjustment = "maximum_negative", -applicable
        rules.append("payment.full_negative_fraction")
    elif score < threshold:
        band, adjustment = "negative", -applicable * (threshold - score) / threshold
    elif score == threshold:
        band, adjustment = "neutral", ZERO
    else:
        band, adjustment = "positive", applicable * (score - threshold) / (HUNDRED - threshold)
        if additional is not None and score >= decimal(additional):
            additional = decimal(additional)
            band = "positive_exceptional"
            low, high = decimal(spec["at_threshold"]), decimal(spec["at_maximum"])
            exceptional = low + (high - low) * (score - additional) / (HUNDRED - additional)
            rules += ["payment.additional_performance_threshold", "payment.exceptional"]
    ctx.trace.add("payment.adjustment_before_scaling", adjustment, rules, {"final_score": score},
                  f"{band.replace('_', ' ')}: linear scale through the performance threshold {threshold}")
    ctx.trace.add("payment.exceptional_before_scaling", exceptional, rules, {"final_score": score},
                  "exceptional performance adjustment" if exceptional else "no exceptional performance adjustment")
    scaled = adjustment * (scaling if adjustment > 0 else 1)
    total = scaled + exceptional * exceptional_scaling
    ctx.trace.add("payment.total", total, ["payment.scaling_factor", "payment.exceptional_scaling_factor"],
                  {"scaling_factor": scaling, "exceptional_scaling_factor": exceptional_scaling},
                  "adjustment x scaling factor + exceptional adjustment x its scaling factor")
    return {
        "band": band, "adjustment_before_scaling": adjustment, "exceptional_before_scaling": exceptional,
        "scaling_factor": scaling, "exceptional_scaling_factor": exceptional_scaling, "total": total,
        "display": {"adjustment": _display(ctx, scaled),
                    "exceptional": _display(ctx, exceptional * exceptional_scaling),
                    "total": _display(ctx, total)},
        "performance_threshold": threshold, "additional_performance_threshold": additional,
        "scaling_factor_unverified": bool(ctx.book.param("payment.scaling_factor").unverified),
    }
