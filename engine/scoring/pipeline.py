"""Score one submission under one year's rulebook: categories, weights, bonus, final score, payment.

The numbers are the array kernels' (``engine.scoring.columnar``), run on one entity; ``engine.scoring.document``
turns them into the trace and the result document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.inputs.submission import Submission
from engine.rules.model import Rulebook
from engine.scoring.document import RESULT_SCHEMA, explained
from engine.scoring.scope import check_scope, program_of
from engine.scoring.trace import Trace

__all__ = ["RESULT_SCHEMA", "Result", "score_submission"]


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
    document, trace = explained(book, submission, profile, program)
    return Result(document, trace)
