"""Score one submission under one year's rulebook: categories, weights, bonus, final score, payment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine._version import __version__
from engine.base.numbers import ZERO
from engine.inputs.submission import Submission
from engine.rules.model import Rulebook
from engine.scoring.categories import CATEGORY_MECHANISMS
from engine.scoring.context import CategoryScore, Context
from engine.scoring.final.final_score import complex_patient_bonus, final_score, payment
from engine.scoring.final.reweighting import apply_credits, eligibility, weigh
from engine.scoring.scope import check_scope, program_of
from engine.scoring.trace import Trace, plain

RESULT_SCHEMA = "mips-result/1"


@dataclass
class Result:
    """A scored submission: the result document plus the trace it was built from."""

    document: dict[str, Any]
    trace: Trace

    @property
    def final_score(self) -> float:
        return self.document["final_score"]

    def category(self, name: str) -> dict[str, Any]:
        return self.document["categories"][name]


def score_submission(book: Rulebook, submission: Submission, profile: dict[str, Any]) -> Result:
    """Score ``submission`` with ``book``; bad measurements become issues, the rest is scored."""
    check_scope(book, submission)
    program = program_of(submission)
    book = book.for_program(program)
    ctx = Context(book, submission, profile, Trace(book), list(submission.issues), program)
    categories: dict[str, CategoryScore] = {}
    for name in book.value("program.categories"):
        categories[name] = CATEGORY_MECHANISMS[book.mechanisms[name]](ctx, name)
    facts = eligibility(ctx, categories)
    categories, facts = apply_credits(ctx, categories, facts)
    weighting = weigh(ctx, facts)
    bonus = complex_patient_bonus(ctx, facts) if not weighting.neutral else ZERO
    final = final_score(ctx, categories, weighting, bonus)
    adjustment = payment(ctx, final)
    titles = book.value("program.category_titles")
    rules = ctx.trace.rules_used()
    document = {
        "schema": RESULT_SCHEMA,
        "engine": {"name": "mips-rules-engine", "version": __version__},
        "rulebook": book.describe(),
        "reference_data": book.reference.describe(),
        "entity": submission.entity(),
        "sources": submission.sources,
        "final_score": final,
        "neutral": weighting.neutral,
        "reweighting": {"table": weighting.table, "row": weighting.row_label,
                        "automatic_euc": facts["automatic_euc"]},
        "categories": {
            name: {
                "title": titles.get(name, name),
                "percent": category.percent,
                "weight": weighting.weights[name],
                "points": ctx.trace.nodes[f"{name}.contribution"].value,
                "reweighted": weighting.reweighted[name],
                "submitted": category.submitted,
                "detail": category.detail,
            }
            for name, category in categories.items()
        },
        "complex_patient_bonus": bonus,
        "payment": adjustment,
        "issues": [i.as_dict() for i in ctx.issues],
        "unverified_rules_used": sorted(a for a, r in rules.items() if r["unverified"]),
        "trace": [n.as_dict() for n in ctx.trace.nodes.values()],
        "rules": rules,
    }
    return Result(plain(document), ctx.trace)
