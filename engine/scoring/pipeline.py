"""Score one submission under one year's rulebook: categories, weights, bonus, final score, payment.

The numbers are the array kernels' (``engine.scoring.columnar``), run on one entity; ``engine.scoring.document``
turns them into the trace and the result document."""

from __future__ import annotations

from typing import Any

from engine.inputs.submission import Submission
from engine.rules.model import Rulebook
from engine.scoring.document import RESULT_SCHEMA, Result, explained
from engine.scoring.scope import check_scope, program_of

__all__ = ["RESULT_SCHEMA", "Result", "score_submission"]


def score_submission(book: Rulebook, submission: Submission, profile: dict[str, Any]) -> Result:
    """Score ``submission`` with ``book``; bad measurements become issues, the rest is scored."""
    check_scope(book, submission)
    program = program_of(submission)
    book = book.for_program(program)
    return explained(book, submission, profile, program)
