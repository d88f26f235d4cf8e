"""The small Python API: ``score(submission, year) -> Result`` and ``explain(result) -> str``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.base.errors import Location, SubmissionError
from engine.base.locations import available_years
from engine.batch.runner import BatchResult
from engine.batch.runner import score_many as run_many
from engine.inputs.profile import check_profile, load_profile
from engine.inputs.submission import SubmissionInput, as_submission, merge_submissions
from engine.population.hierarchy import hierarchy_params
from engine.population.neutrality import pool_params
from engine.rules.loader import load_rulebook
from engine.rules.model import Rulebook
from engine.scoring.columnar import compiled
from engine.scoring.pipeline import Result, score_submission


def load(year: int | str | Path, overrides: dict[str, Any] | None = None, as_of: str | None = None) -> Rulebook:
    """Load a performance year's rulebook or a rulebook folder, with optional what-if overrides; the scoring
    kernels and the population stage read their values now, so a value they cannot use is reported here, not at
    the first score."""
    book = load_rulebook(year, overrides, as_of)
    for rules in (book, *book.variants.values()):
        compiled(rules)
        hierarchy_params(rules)
        pool_params(rules)
    return book


def score(
    submission: SubmissionInput | list[SubmissionInput],
    year: int | str | Path | Rulebook | None = None,
    profile: str | Path | dict | None = None,
    overrides: dict[str, Any] | None = None,
    as_of: str | None = None,
) -> Result:
    """Score one submission (or several files of one entity and year) under a year's rules.

    ``year`` defaults to the submission's performance year; ``profile`` is a path or a dict of
    the facts the submission does not carry.
    """
    items = submission if isinstance(submission, list) else [submission]
    merged = merge_submissions([as_submission(i) for i in items])
    if year is None and merged.performance_year not in available_years():
        raise SubmissionError(
            Location(merged.sources[0], pointer="$.performanceYear"),
            f"performance year {merged.performance_year} has no rulebook",
            f"rulebooks exist for {', '.join(map(str, available_years()))}")
    book = year if isinstance(year, Rulebook) else load_rulebook(
        year if year is not None else merged.performance_year, overrides, as_of)
    facts = check_profile(profile) if isinstance(profile, dict) else load_profile(profile)
    return score_submission(book, merged, facts)


def score_many(
    submissions: Sequence[SubmissionInput],
    year: int | str | Path | Rulebook,
    profiles: Sequence[dict] | None = None,
    overrides: dict[str, Any] | None = None,
    as_of: str | None = None,
) -> BatchResult:
    """Score many submissions of one year at once with the array kernels (no explanation): columns of final
    scores, category scores, weights and payment adjustments, plus the submissions refused and why."""
    book = year if isinstance(year, Rulebook) else load_rulebook(year, overrides, as_of)
    return run_many(book, submissions, profiles)


def explain(result: Result, fmt: str = "text") -> str:
    """The feedback for a scored result (``fmt``: ``text``, ``md`` or ``html``), rendered from its trace by the
    report templates."""
    from engine.outputs.feedback import render

    return render(result.document, fmt, book=result.trace.book)
