"""The ACI kernel's inputs for one entity: its scorable ACI answers and counts as wide columns (a few per measure ID
the rulebook or CMS's data knows), every problem in them reported as an issue, never silently dropped."""

from __future__ import annotations

import math
from typing import Any

from engine.inputs.measurements import MAXIMUM_COUNT
from engine.inputs.submission import Issue, Measurement, Submission
from engine.rules.model import Rulebook
from engine.scoring.kernels.aci import AciParams


def _shape_problem(value: Any, metric: str | None) -> str | None:
    if metric == "boolean":
        return None if isinstance(value, bool) else f"expected true or false, found {value!r}"
    if not isinstance(value, dict):
        return f"expected {{numerator, denominator}}, found {value!r}"
    numbers: list[Any] = [value.get("numerator"), value.get("denominator")]
    if any(isinstance(n, bool) or not isinstance(n, int | float) or (isinstance(n, float) and not math.isfinite(n))
           or n < 0 or n != int(n) for n in numbers):
        return f"numerator and denominator must be whole numbers of at least 0, found {numbers}"
    if numbers[0] > numbers[1]:
        return f"numerator {numbers[0]} exceeds denominator {numbers[1]}"
    if numbers[1] > MAXIMUM_COUNT:  # the kernel's integer columns are exact up to this bound
        return f"numerator and denominator must be at most {MAXIMUM_COUNT}, found {numbers}"
    return None


def _problem(book: Rulebook, title: str, m: Measurement, values: dict[str, Any],
             paths: dict[str, str]) -> tuple[str, str, str] | None:
    """The measurement's problem as (code, severity, message), or None when it may be scored."""
    meta = book.reference.pi.get(m.measure_id)
    if meta is None:
        return "measure_unknown", "error", f"{m.measure_id} is not a {book.year} {title} measure"
    problem = _shape_problem(m.value, meta.get("metricType"))
    if problem:
        return "value_invalid", "error", f"measure {m.measure_id} not scored: {problem}"
    if m.measure_id in values and values[m.measure_id] != m.value:
        return ("measure_conflict", "warning",
                f"measure {m.measure_id} conflicts with {paths[m.measure_id]}; the first is scored")
    return None


def _gather(book: Rulebook, p: AciParams, submission: Submission, issues: list[Issue]) -> tuple[dict[str, Any], bool]:
    """The ACI sets that may be scored, merged: values by measure ID, and whether any set may be scored."""
    names = book.value("program.submission_categories")
    title = book.value("program.category_titles").get("pi", "pi")
    values: dict[str, Any] = {}
    paths: dict[str, str] = {}
    scored = False
    for measurement_set in submission.sets:
        if names.get(measurement_set.category) != "pi":
            continue
        if submission.entity_type not in p.allowed_entity_types:
            issues.append(Issue(measurement_set.path, f"entity type {submission.entity_type} may not submit {title} "
                                f"data in {book.year}; this measurement set is not scored", measurement_set.source,
                                code="category_not_allowed", severity="error"))
            continue
        scored = True
        for m in measurement_set.measurements:
            problem = _problem(book, title, m, values, paths)
            if problem:
                code, severity, message = problem
                issues.append(Issue(m.path, message, measurement_set.source, code=code, severity=severity))
                continue
            values[m.measure_id], paths[m.measure_id] = m.value, m.path
    return values, scored


def aci_entity(book: Rulebook, p: AciParams, submission: Submission, issues: list[Issue]) -> dict[str, Any]:
    """The entity's ACI columns (see ``engine.scoring.kernels.aci``)."""
    values, scored = _gather(book, p, submission, issues)
    entity: dict[str, Any] = {"sets": scored}
    for name in p.ids:
        value = values.get(name)
        counts = value if isinstance(value, dict) else {"numerator": 0, "denominator": 0}
        entity.update({f"{name}:present": name in values, f"{name}:yes": value is True,
                       f"{name}:rate": isinstance(value, dict), f"{name}:num": int(counts["numerator"]),
                       f"{name}:den": int(counts["denominator"])})
    return entity
