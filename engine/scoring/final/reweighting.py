"""Which categories are scored, and their weights from the year's reweighting table."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from engine.base.errors import MipsError
from engine.base.numbers import decimal
from engine.rules.names import PROFILE_FLAGS
from engine.scoring.context import CategoryScore, Context


class NoReweightingRow(MipsError):
    """The rulebook's table has no row for the categories this submission is scored on."""


@dataclass(frozen=True)
class Weighting:
    weights: dict[str, Decimal]
    reweighted: dict[str, bool]
    neutral: bool
    table: str
    row_label: str


def eligibility_facts(ctx: Context, categories: dict[str, CategoryScore]) -> dict[str, Any]:
    """The names a reweighting condition may read (see engine.inputs)."""
    facts: dict[str, Any] = {name: ctx.flag(name) for name in PROFILE_FLAGS}
    facts.update({
        "entity_type": ctx.submission.entity_type,
        "clinicianType": ctx.profile.get("clinicianType", ""),
        "clinicianCount": ctx.profile.get("clinicianCount", 0),
        "eucApproved": list(ctx.profile.get("eucApproved", [])),
        "facility_based": bool(ctx.profile.get("facilityBased")),
        "submitted_any": any(c.submitted and c.from_submission for c in categories.values()),
        "program": ctx.program,
    })
    for name, category in categories.items():
        facts[f"submitted_{name}"] = category.submitted
    return facts


def eligibility(ctx: Context, categories: dict[str, CategoryScore]) -> dict[str, Any]:
    """The facts every condition reads, with the automatic EUC decided by its rule."""
    facts = eligibility_facts(ctx, categories)
    facts["automatic_euc"] = bool(ctx.book.evaluate("weights.automatic_euc", facts))
    ctx.trace.add("eligibility.automatic_euc", facts["automatic_euc"], ["weights.automatic_euc"],
                  _used(ctx, "weights.automatic_euc", facts), ctx.book.rule("weights.automatic_euc").note or "")
    return facts


def apply_credits(ctx: Context, categories: dict[str, CategoryScore],
                  facts: dict[str, Any]) -> tuple[dict[str, CategoryScore], dict[str, Any]]:
    """Scores CMS assigns when a condition holds (e.g. an APM Entity's improvement activities): each credit is
    its own trace node, and ``<category>.percent`` is the higher of the score from data and the credit."""
    facts = dict(facts)
    credited: dict[str, CategoryScore] = {}
    for name, category in categories.items():
        applicable = [(decimal(ctx.value(f"{a}.percent")), a) for a in ctx.book.rules
                      if a.startswith(f"{name}.credits.") and ctx.book.evaluate(a, facts)]
        rules: list[str] = []
        if applicable:
            credit, address = max(applicable)
            ctx.trace.add(f"{name}.credit", credit, [address], _used(ctx, address, facts),
                          ctx.book.rule(address).note or f"credited {credit} %")
            facts[f"submitted_{name}"] = facts["submitted_any"] = True
            if credit > category.percent:
                rules = [address]
                category = replace(category, percent=credit, submitted=True, detail={**category.detail, "credit": address})
            else:
                category = replace(category, submitted=True)
        ctx.trace.add(f"{name}.percent", category.percent, rules, {"score": ctx.trace.nodes[f"{name}.score"].value},
                      "credited" if rules else "the score from the data")
        credited[name] = category
    return credited, facts


def _used(ctx: Context, address: str, facts: dict[str, Any]) -> dict[str, Any]:
    return {n: facts[n] for n in sorted(ctx.book.rule(address).expression.names) if n in facts}


def weigh(ctx: Context, facts: dict[str, Any]) -> Weighting:
    reweighted = {}
    for name in ctx.value("program.categories"):
        address = f"weights.reweight_when.{name}"
        reweighted[name] = bool(ctx.book.evaluate(address, facts)) if address in ctx.book.rules else False
        used = _used(ctx, address, facts) if address in ctx.book.rules else {}
        ctx.trace.add(f"{name}.reweighted", reweighted[name], [address] if address in ctx.book.rules else [],
                      used, f"{name} {'is not scored (weight redistributed)' if reweighted[name] else 'is scored'}")
    scored = {n for n, r in reweighted.items() if not r}
    tables = [a for a in ctx.book.params if a.startswith("weights.tables.")]
    for address in tables:
        if not ctx.book.evaluate(f"{address}.applies_when", facts):
            continue
        for row in ctx.value(address):
            if set(row["scored"]) == scored:
                weights = {c: decimal(w) for c, w in row["weights"].items()}
                for category, weight in weights.items():
                    ctx.trace.add(f"{category}.weight", weight, [address],
                                  {"scored": sorted(scored)}, f"row \"{row['label']}\"")
                neutral = row["adjustment"] == "neutral"
                return Weighting(weights, reweighted, neutral, address, row["label"])
        raise NoReweightingRow(f"{ctx.book.param(address).file}: table {address} has no row for scored "
                               f"categories {sorted(scored)} ({ctx.submission.entity_type})")
    raise NoReweightingRow(f"no reweighting table of {ctx.book.display_path} applies to entity type "
                           f"{ctx.submission.entity_type}")
