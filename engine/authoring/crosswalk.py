"""Read a submission written for one performance year under another year's rules."""

from __future__ import annotations

import copy

from engine.inputs.submission import Issue, Submission
from engine.rules.model import Rulebook


def retarget(submission: Submission, book: Rulebook) -> tuple[Submission, list[Issue]]:
    """A copy of ``submission`` for ``book``'s year, with category names and measure ids crosswalked.

    Returns the copy and notes on what was renamed; what the year does not have is reported by
    scoring itself (an unknown measure is an input problem, never silently dropped).
    """
    if submission.performance_year == book.year:
        return submission, []
    categories = book.value_or("crosswalk.categories", {})
    measures = book.value_or("crosswalk.measures", {})
    known = book.value("program.submission_categories")
    moved = copy.deepcopy(submission)
    moved.performance_year = book.year
    notes: list[Issue] = []
    for measurement_set in moved.sets:
        if measurement_set.category not in known and measurement_set.category in categories:
            notes.append(Issue(measurement_set.path, f"category {measurement_set.category} read as "
                               f"{categories[measurement_set.category]} under the {book.year} rules",
                               measurement_set.source, code="carried_over", severity="warning"))
            measurement_set.category = categories[measurement_set.category]
        for m in measurement_set.measurements:
            if m.measure_id in measures:
                notes.append(Issue(m.path, f"measure {m.measure_id} read as {measures[m.measure_id]} under the "
                                   f"{book.year} rules", measurement_set.source, code="carried_over", severity="warning"))
                m.measure_id = measures[m.measure_id]
    return moved, notes
