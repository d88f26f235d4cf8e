"""After the categories: eligibility facts, credits, the reweighting row, the final score and the payment
adjustment. One definition for one entity (Python values) or a batch (numpy columns, one element per entity).

The conditions and formulas are the rulebook's expressions, evaluated on a dict of values (one entity) or
lowered to columns (a batch); ``EvalOps`` and ``LowerOps`` say which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.rules import fixed_point
from engine.rules.expressions import Expression
from engine.rules.fixed_point import to_fixed
from engine.rules.model import Rulebook
from engine.rules.names import PROFILE_FLAGS, Kind
from engine.scoring.fixed import Precision, fixed, precision

NEUTRAL_SCORES = {"performance_threshold": "payment.performance_threshold"}  # the value a neutral final score takes
BANDS = ("maximum_negative", "negative", "neutral", "positive", "positive_exceptional")
NO_ROW = -1  # no reweighting row fits: the rulebook is incomplete for this entity (reported, never guessed)


@dataclass(frozen=True)
class Table:
    address: str
    applies_when: Expression
    rows: dict[frozenset[str], int]  # scored categories -> row index
    labels: tuple[str, ...]
    weights: tuple[tuple[int, ...], ...]  # per row, per category (in the rulebook's category order)
    neutral: tuple[bool, ...]
    lookup: tuple[int, ...]  # the row for each set of scored categories, as a bit mask in category order (NO_ROW: none)


@dataclass(frozen=True)
class FinalParams:
    precision: Precision
    categories: tuple[str, ...]
    automatic_euc: Expression
    credits: tuple[tuple[str, str, Expression, int], ...]  # category, address, condition, percent
    reweight_when: dict[str, Expression]
    grounds: dict[str, tuple[tuple[str, Expression], ...]]  # per category, why it may be reweighted (the explanation's)
    tables: tuple[Table, ...]
    grid_rows: int  # rows per table in the grids below (the longest table's, at least 1)
    weight_grids: tuple[tuple[int, ...], ...]  # per category, every table's weights as one lookup (see ``_grid``)
    neutral_grid: tuple[int, ...]  # 1 where a table's row is neutral, as one lookup
    neutral_score: int
    maximum: int
    bonus_formula: Expression
    bonus_requires_data: bool
    submitted_categories: frozenset[str]  # the categories a submission carries: only their data counts as submitted
    threshold: int
    applicable: int
    full_negative_fraction: int
    additional_threshold: int | None
    exceptional_low: int
    exceptional_high: int
    scaling: int
    exceptional_scaling: int
    display_digits: int
    display_rounding: str


def final_params(book: Rulebook) -> FinalParams:
    p = precision(book)
    v = book.value
    categories = tuple(v("program.categories"))
    tables = []
    for address in [a for a in book.params if a.startswith("weights.tables.")]:
        rows = v(address)
        index = {frozenset(row["scored"]): i for i, row in enumerate(rows)}
        weights = tuple(tuple(fixed(row["weights"][c], 0) for c in categories) for row in rows)
        neutral = tuple(row["adjustment"] == "neutral" for row in rows)
        lookup = tuple(index.get(frozenset(c for b, c in enumerate(categories) if m >> b & 1), NO_ROW)
                       for m in range(1 << len(categories)))
        tables.append(Table(address, book.rule(f"{address}.applies_when").expression, index,
                            tuple(row["label"] for row in rows), weights, neutral, lookup))
    credits = tuple((c, a, book.rule(a).expression, p.fixed(v(f"{a}.percent")))
                    for c in categories for a in book.rules if a.startswith(f"{c}.credits."))
    grid_rows = max([len(t.weights) for t in tables] + [1])
    exceptional = v("payment.exceptional")
    additional = v("payment.additional_performance_threshold")
    display = v("payment.display")
    return FinalParams(
        precision=p, categories=categories, automatic_euc=book.rule("weights.automatic_euc").expression,
        credits=credits,
        reweight_when={c: book.rule(f"weights.reweight_when.{c}").expression for c in categories
                       if f"weights.reweight_when.{c}" in book.rules},
        grounds={c: tuple((a, book.rule(a).expression) for a in book.rules
                          if a.startswith(f"weights.reweight_grounds.{c}.")) for c in categories},
        tables=tuple(tables), grid_rows=grid_rows,
        weight_grids=tuple(_grid([[w[i] for w in t.weights] for t in tables], grid_rows) for i in range(len(categories))),
        neutral_grid=_grid([[int(n) for n in t.neutral] for t in tables], grid_rows),
        neutral_score=p.fixed(v(NEUTRAL_SCORES[v("final.neutral_final_score")])),
        maximum=p.fixed(v("final.maximum")), bonus_formula=book.rule("bonuses.complex_patient").expression,
        bonus_requires_data=bool(v("bonuses.requires_submitted_data")),
        submitted_categories=frozenset(v("program.submission_categories").values()),
        threshold=p.fixed(v("payment.performance_threshold")), applicable=p.fixed(v("payment.applicable_percent")),
        full_negative_fraction=p.fixed(v("payment.full_negative_fraction")),
        additional_threshold=None if additional is None else p.fixed(additional),
        exceptional_low=p.fixed(exceptional["at_threshold"]), exceptional_high=p.fixed(exceptional["at_maximum"]),
        scaling=p.fixed(v("payment.scaling_factor")), exceptional_scaling=p.fixed(v("payment.exceptional_scaling_factor")),
        display_digits=display["decimals"], display_rounding="down" if display["mode"] == "truncate" else "half_up",
    )


def _grid(per_table: list[list[int]], rows: int) -> tuple[int, ...]:
    """Every table's values in one flat lookup: table t's row r at ``t * rows + r``, then a last 0 for an entity
    with no table or no row."""
    return tuple(v for values in per_table for v in [*values, *[0] * (rows - len(values))]) + (0,)


def _condition(xp: Any, expression: Expression, facts: dict[str, Any]) -> Any:
    """A condition's value: evaluated for one entity, lowered to a column for a batch."""
    if isinstance(facts["entity_type"], np.ndarray):
        return np.asarray(expression.lower(facts), dtype=bool)
    return bool(expression.evaluate(facts))


def eligibility(xp: Any, p: FinalParams, categories: dict[str, dict[str, Any]], facts: dict[str, Any]) -> dict[str, Any]:
    """The facts every condition reads, the automatic EUC, and the credits CMS assigns (each its own value, with
    ``credit_rule``: the index into ``p.credits`` of the credit applied, -1 for none)."""
    facts = dict(facts)
    for name, category in categories.items():
        facts[f"submitted_{name}"] = category["submitted"]
    facts["submitted_any"] = _any(xp, [c["submitted"] & c["from_submission"] for c in categories.values()])
    facts["automatic_euc"] = _condition(xp, p.automatic_euc, facts)
    percents, credits, rules = {}, {}, {}
    for name, category in categories.items():
        credit = -1 + 0 * category["percent"]
        rule = -1 + 0 * category["percent"]  # the credit applied: an index into ``p.credits`` (the first highest)
        for index, (owner, _, condition, percent) in enumerate(p.credits):
            if owner == name:
                holds = _condition(xp, condition, facts)
                rule = xp.where(holds & (percent > credit), index, rule)
                credit = xp.where(holds, xp.maximum(credit, percent), credit)
        credited = credit >= 0
        facts[f"submitted_{name}"] = category["submitted"] | credited
        facts["submitted_any"] = facts["submitted_any"] | credited
        percents[name] = xp.where(credited, xp.maximum(category["percent"], credit), category["percent"])
        credits[name] = credit
        rules[name] = rule
    return {"facts": facts, "percent": percents, "credit": credits, "credit_rule": rules}


def _any(xp: Any, values: list[Any]) -> Any:
    result = values[0]
    for value in values[1:]:
        result = result | value
    return result


def weigh(xp: Any, p: FinalParams, facts: dict[str, Any]) -> dict[str, Any]:
    """Which categories are reweighted, and the first table that applies and its row for the scored categories."""
    never = facts["entity_type"] != facts["entity_type"]  # False, for one entity or for each of a batch
    reweighted = {c: _condition(xp, p.reweight_when[c], facts) if c in p.reweight_when else never for c in p.categories}
    mask = 0
    for bit, name in enumerate(p.categories):
        mask = mask + xp.where(reweighted[name], 0, 1 << bit)
    table, row = -1 + 0 * mask, NO_ROW + 0 * mask
    for index, candidate in enumerate(p.tables):
        applies = (table < 0) & _condition(xp, candidate.applies_when, facts)
        row = xp.where(applies, _index(xp, candidate.lookup, mask), row)
        table = xp.where(applies, index, table)
    return {"reweighted": reweighted, "table": table, "row": row}


def _index(xp: Any, values: Sequence[int], index: Any) -> Any:
    return np.asarray(values)[index] if isinstance(index, np.ndarray) else values[index]


def _table_value(xp: Any, p: FinalParams, table: Any, row: Any, grid: Sequence[int]) -> Any:
    """The chosen table's value for the chosen row, from one of ``p``'s grids (0 where none was found)."""
    return _index(xp, grid, xp.where((table >= 0) & (row >= 0), table * p.grid_rows + row, len(grid) - 1))


def final_score(xp: Any, p: FinalParams, percents: dict[str, Any], weighting: dict[str, Any], bonus: Any) -> dict[str, Any]:
    """The weighted sum of the category scores plus the bonus, at most the maximum; a neutral row scores the
    rulebook's neutral final score."""
    rounding = p.precision.rounding
    table, row = weighting["table"], weighting["row"]
    weights, contributions = {}, {}
    for position, name in enumerate(p.categories):
        weights[name] = _table_value(xp, p, table, row, p.weight_grids[position])
        contributions[name] = xp.divide(percents[name] * weights[name], 100, 0, rounding)
    neutral = _table_value(xp, p, table, row, p.neutral_grid) == 1
    total = bonus
    for value in contributions.values():
        total = total + value
    final = xp.where(neutral, p.neutral_score, xp.minimum(total, p.maximum))
    return {"weights": weights, "contributions": contributions, "neutral": neutral, "final_score": final,
            "bonus": xp.where(neutral, 0, bonus)}


def payment(xp: Any, p: FinalParams, score: Any) -> dict[str, Any]:
    """The payment adjustment before and after the scaling factors, on the year's linear scale."""
    one, rounding = p.precision.one, p.precision.rounding
    threshold, top = p.threshold, p.maximum
    cliff = score * one <= threshold * p.full_negative_fraction
    below = score < threshold
    negative = -xp.divide(p.applicable * (threshold - score), max(threshold, 1), 0, rounding)
    positive = xp.divide(p.applicable * (score - threshold), max(top - threshold, 1), 0, rounding)
    adjustment = xp.where(cliff, -p.applicable, xp.where(below, negative, xp.where(score == threshold, 0, positive)))
    band = xp.where(cliff, 0, xp.where(below, 1, xp.where(score == threshold, 2, 3)))
    exceptional = 0 * score
    if p.additional_threshold is not None:
        additional = p.additional_threshold
        reached = (score > threshold) & (score >= additional)
        share = xp.divide((p.exceptional_high - p.exceptional_low) * (score - additional), max(top - additional, 1), 0,
                          rounding)
        exceptional = xp.where(reached, p.exceptional_low + share, 0)
        band = xp.where(reached, 4, band)
    scaled = xp.where(adjustment > 0, xp.divide(adjustment * p.scaling, one, 0, rounding), adjustment)
    total = scaled + xp.divide(exceptional * p.exceptional_scaling, one, 0, rounding)
    step = 10 ** (p.precision.digits - p.display_digits)
    return {
        "band": band, "adjustment_before_scaling": adjustment, "exceptional_before_scaling": exceptional,
        "adjustment": scaled, "total": total,
        "display": {name: xp.divide(value, step, 0, p.display_rounding) * step
                    for name, value in (("adjustment", scaled),
                                        ("exceptional", total - scaled), ("total", total))},
    }


def entity_facts(entity_type: str, program: str, profile: dict[str, Any]) -> dict[str, Any]:
    """The facts of one entity the conditions read, besides what scoring finds (submitted_*, automatic_euc)."""
    facts: dict[str, Any] = {name: bool(profile.get(name, False)) for name in PROFILE_FLAGS}
    facts.update({
        "entity_type": entity_type, "program": program,
        "clinicianType": profile.get("clinicianType", ""), "clinicianCount": profile.get("clinicianCount", 0),
        "eucApproved": sorted(set(profile.get("eucApproved", []))), "facility_based": bool(profile.get("facilityBased")),
    })
    return facts


def complex_patient(xp: Any, p: FinalParams, inputs: dict[str, Any], known: Any, submitted_any: Any) -> Any:
    """The complex patient bonus: the rulebook's formula, not below 0; 0 without its inputs (or without data
    submitted, where the rulebook requires it)."""
    digits, rounding = p.precision.digits, p.precision.rounding
    value = xp.maximum(fixed_point.evaluate(p.bonus_formula, xp, inputs, digits, rounding), 0)
    if p.bonus_requires_data:
        value = xp.where(submitted_any, value, 0)
    return xp.where(known, value, 0)


def bonus_inputs(p: FinalParams, profile: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The formula's inputs from the profile's complexPatient facts (numbers in fixed point), and whether all
    of them are there."""
    given = profile.get("complexPatient") or {}
    values: dict[str, Any] = {}
    for name, kind in p.bonus_formula.inputs.items():
        raw = given.get(name)
        values[name] = (to_fixed(raw, p.precision.digits) if raw is not None else 0) if kind == Kind.NUMBER \
            else bool(raw)
    return values, all(name in given for name in p.bonus_formula.inputs)
