"""Promoting Interoperability: required attestations, measure points, exclusions and bonus, capped."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

from engine.base.numbers import ZERO, decimal
from engine.scoring.context import CategoryScore, Context

ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}


def _zero(ctx: Context, reason: str, rules: list[str], detail: dict[str, Any]) -> CategoryScore:
    ctx.trace.add("pi.score", ZERO, rules, {}, reason)
    return CategoryScore("pi", ZERO, True, {**detail, "zero_reason": reason})


def gather(ctx: Context) -> tuple[dict[str, Any], dict[str, str], list[str], bool]:
    """Merge the PI sets that may be scored; return values, paths, sets lacking a CEHRT ID, any scored."""
    allowed = ctx.value("pi.allowed_entity_types")
    values: dict[str, Any] = {}
    paths: dict[str, str] = {}
    missing_cehrt: list[str] = []
    any_set = False
    for measurement_set in ctx.sets("pi"):
        if ctx.submission.entity_type not in allowed:
            title = ctx.value("program.category_titles").get("pi", "pi")
            ctx.issue(measurement_set.path, f"entity type {ctx.submission.entity_type} may not submit {title} "
                      f"data in {ctx.book.year}; this measurement set is not scored",
                      measurement_set.source)
            continue
        any_set = True
        if not measurement_set.cehrt_id:
            missing_cehrt.append(measurement_set.path)
        for m in measurement_set.measurements:
            meta = ctx.book.reference.pi.get(m.measure_id)
            if meta is None:
                ctx.issue(m.path, f"{m.measure_id} is not a {ctx.book.year} "
                          f"{ctx.value('program.category_titles').get('pi', 'pi')} measure",
                          measurement_set.source)
                continue
            problem = _shape_problem(m.value, meta.get("metricType"))
            if problem:
                ctx.issue(m.path, f"measure {m.measure_id} not scored: {problem}", measurement_set.source)
                continue
            if m.measure_id in values and values[m.measure_id] != m.value:
                ctx.issue(m.path, f"measure {m.measure_id} conflicts with {paths[m.measure_id]}; the first is scored",
                          measurement_set.source)
                continue
            values[m.measure_id], paths[m.measure_id] = m.value, m.path
    return values, paths, missing_cehrt, any_set


def _shape_problem(value: Any, metric: str | None) -> str | None:
    if metric == "boolean":
        return None if isinstance(value, bool) else f"expected true or false, found {value!r}"
    if not isinstance(value, dict):
        return f"expected {{numerator, denominator}}, found {value!r}"
    numbers = [value.get("numerator"), value.get("denominator")]
    if any(isinstance(n, bool) or not isinstance(n, int | float) or n < 0 or n != int(n) for n in numbers):
        return f"numerator and denominator must be whole numbers of at least 0, found {numbers}"
    if float(numbers[0] or 0) > float(numbers[1] or 0):
        return f"numerator {numbers[0]} exceeds denominator {numbers[1]}"
    return None


def _available(ctx: Context, values: dict[str, Any]) -> tuple[dict[str, Decimal], list[str]]:
    """Points available per measure after the claimed exclusions moved theirs elsewhere."""
    available = {k: decimal(v["points"]) for k, v in ctx.value("pi.measures").items()}
    claimed = []
    for exclusion, spec in ctx.value("pi.exclusions").items():
        if values.get(exclusion) is True and spec["excludes"] in available:
            claimed.append(exclusion)
            moved = available[spec["excludes"]]
            available[spec["excludes"]] = ZERO
            total = sum((decimal(p) for p in spec["redistribute"].values()), ZERO)
            for target, share in spec["redistribute"].items():
                available[target] = available.get(target, ZERO) + moved * decimal(share) / total
    return available, claimed


def reported(value: Any) -> bool:
    """A measure counts as reported when attested yes or given with a numerator of at least one."""
    return value is True or (isinstance(value, dict) and value.get("numerator", 0) >= 1)


def _substituted(ctx: Context, values: dict[str, Any], paths: dict[str, str]) -> dict[str, str]:
    """Measures replaced by a reported substitute (e.g. one bi-directional exchange for two HIE measures)."""
    replaced: dict[str, str] = {}
    for measure, spec in ctx.value("pi.measures").items():
        if not reported(values.get(measure)):
            continue
        for other in spec.get("substitutes", []):
            replaced[other] = measure
            if other in values:
                ctx.issue(paths[other], f"{other} may not be reported with {measure}, which replaces it; "
                          f"{measure} is scored")
    return replaced


def _substitute_answered_no(ctx: Context, values: dict[str, Any]) -> tuple[str, list[str]] | None:
    """A substitute answered no while none of the measures it replaces is reported, if any."""
    for measure, spec in ctx.value("pi.measures").items():
        others = list(spec.get("substitutes", []))
        if others and values.get(measure) is False and not any(o in values for o in others):
            return measure, others
    return None


def _unscored(ctx: Context, values: dict[str, Any], paths: dict[str, str]) -> None:
    """Report every record of this year's measure data that no rule of the rulebook scores."""
    health = ctx.value("pi.public_health")
    scored = {*ctx.value("pi.measures"), *ctx.value("pi.bonus_measures"), *ctx.value("pi.exclusions"),
              *ctx.value("pi.required_attestations"), *ctx.book.value_or("pi.required_answers", []),
              *health["measures"], *health["exclusion_measures"], *(health.get("bonus_any") or {}).get("measures", [])}
    for measure in sorted(set(values) - scored, key=lambda m: paths[m]):
        ctx.issue(paths[measure], f"{measure} is in CMS's {ctx.book.year} measure data but no rule of this rulebook "
                  "scores it; it is not counted")


def score(ctx: Context, category: str = "pi") -> CategoryScore:
    values, paths, missing_cehrt, any_set = gather(ctx)
    detail: dict[str, Any] = {"measures": []}
    if not any_set:
        ctx.trace.add("pi.score", ZERO, ["pi.allowed_entity_types"], {}, "no data for this category")
        return CategoryScore("pi", ZERO, False, detail)
    if missing_cehrt and ctx.value("pi.cehrt_id_required"):
        return _zero(ctx, "no CMS EHR Certification ID (cehrtId) on " + ", ".join(missing_cehrt),
                     ["pi.cehrt_id_required"], detail)
    for attestation in ctx.value("pi.required_attestations"):
        if values.get(attestation) is not True:
            state = "missing" if attestation not in values else "answered no"
            return _zero(ctx, f"required attestation {attestation} is {state}", ["pi.required_attestations"], detail)
    for answer in ctx.book.value_or("pi.required_answers", []):
        if answer not in values:
            return _zero(ctx, f"required attestation {answer} is missing (yes or no)", ["pi.required_answers"], detail)
    _unscored(ctx, values, paths)
    answered_no = _substitute_answered_no(ctx, values)
    if answered_no and ctx.value("pi.substitute_answered_no") == "category_zero":
        measure, others = answered_no
        return _zero(ctx, f"{measure} (which replaces {' and '.join(others)}) is answered no and neither "
                     f"{' nor '.join(others)} is reported", ["pi.substitute_answered_no", "pi.measures"], detail)
    available, claimed = _available(ctx, values)
    health = ctx.value("pi.public_health")
    yes = [m for m in health["measures"] if values.get(m) is True]
    health_excluded = [m for m in health["exclusion_measures"] if values.get(m) is True]
    if yes:
        health_points = decimal(health["single_yes_with_exclusion_points"] if len(yes) == 1 and health_excluded
                                    else min(len(yes) * health["points_per_yes"], health["objective_points"]))
    else:
        health_points = ZERO
        if health_excluded:
            target = health["all_excluded_to"]
            available[target] = available.get(target, ZERO) + decimal(health["objective_points"])
    if health.get("required") and not yes and not health_excluded:
        return _zero(ctx, "no public health registry reported and no exclusion claimed", ["pi.public_health"], detail)
    ctx.trace.add("pi.measures.public_health", health_points, ["pi.public_health"],
                  {"yes": yes, "exclusions": health_excluded}, f"{len(yes)} registries reported")
    bonus_any = health.get("bonus_any")
    if bonus_any and any(values.get(m) is True for m in bonus_any["measures"]):
        health_points += decimal(bonus_any["points"])
        ctx.trace.add("pi.measures.public_health_bonus", decimal(bonus_any["points"]), ["pi.public_health"],
                      {"yes": [m for m in bonus_any["measures"] if values.get(m) is True]},
                      "one bonus for any optional public health registry reported")
    rounding = ROUNDING[ctx.value("pi.rounding")]
    floor = decimal(ctx.value("pi.minimum_points_with_numerator"))
    total = health_points
    replaced = _substituted(ctx, values, paths)
    if answered_no:  # the no_points reading: the substitute stands, with 0 points, in place of the others
        replaced.update({other: answered_no[0] for other in answered_no[1]})
    for measure, spec in ctx.value("pi.measures").items():
        if measure in replaced:
            detail["measures"].append({"id": measure, "substituted_by": replaced[measure], "points": ZERO})
            ctx.trace.add(f"pi.measures.{measure}", ZERO, ["pi.measures"], {}, f"replaced by {replaced[measure]}")
            continue
        if available[measure] == 0 and any(ctx.value("pi.exclusions")[c]["excludes"] == measure for c in claimed):
            detail["measures"].append({"id": measure, "excluded": True, "points": ZERO})
            ctx.trace.add(f"pi.measures.{measure}", ZERO, ["pi.exclusions"], {}, "exclusion claimed")
            continue
        value = values.get(measure)
        if value is None:
            if spec["required"]:
                return _zero(ctx, f"required measure {measure} is missing and no exclusion was claimed",
                             ["pi.measures"], detail)
            continue
        if isinstance(value, bool):  # a yes/no measure earns its available points on "yes"
            if not value and spec["required"]:
                return _zero(ctx, f"required measure {measure} is answered no", ["pi.measures"], detail)
            points = available[measure] if value else ZERO
            total += points
            detail["measures"].append({"id": measure, "answer": value, "available": available[measure],
                                       "points": points, "path": paths[measure]})
            ctx.trace.add(f"pi.measures.{measure}", points, ["pi.measures"], {"answer": value},
                          f"answered {'yes' if value else 'no'}")
            continue
        numerator, denominator = decimal(value["numerator"]), decimal(value["denominator"])
        if numerator == 0 and spec["required"]:
            return _zero(ctx, f"required measure {measure} has a numerator of 0", ["pi.measures"], detail)
        exact = numerator / denominator * available[measure] if denominator else ZERO
        points = exact.quantize(Decimal(1), rounding=rounding)
        rules = ["pi.measures", "pi.rounding"] + (["pi.exclusions"] if claimed else [])
        if numerator >= 1 and points < floor:
            points = floor
            rules.append("pi.minimum_points_with_numerator")
        total += points
        detail["measures"].append({"id": measure, "numerator": numerator, "denominator": denominator,
                                   "available": available[measure], "points": points, "path": paths[measure]})
        ctx.trace.add(f"pi.measures.{measure}", points, rules,
                      {"numerator": numerator, "denominator": denominator, "available": available[measure]},
                      f"{numerator}/{denominator} x {available[measure]} = {exact.quantize(Decimal('0.01'))}, "
                      f"rounded to {points}")
    for measure, points in ctx.value("pi.bonus_measures").items():
        if values.get(measure) is True:
            total += decimal(points)
            detail["measures"].append({"id": measure, "bonus": True, "points": decimal(points)})
            ctx.trace.add(f"pi.measures.{measure}", decimal(points), ["pi.bonus_measures"], {}, "bonus")
    percent = min(total, decimal(ctx.value("pi.maximum_points")))
    detail.update({"public_health": health_points, "exclusions": claimed, "points": total})
    ctx.trace.add("pi.score", percent, ["pi.maximum_points"], {"points": total},
                  f"{total} points, at most {ctx.value('pi.maximum_points')}")
    return CategoryScore("pi", percent, True, detail)
