"""The PI kernel's inputs for one entity: its scorable PI answers and counts as wide columns (a few per measure ID
the rulebook or CMS's data knows), every problem in them reported as an issue, never silently dropped."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from engine.base.numbers import excerpt
from engine.inputs.measurements import MAXIMUM_COUNT
from engine.inputs.submission import Issue, Measurement, Submission
from engine.rules.model import Rulebook
from engine.scoring.frame import NoData
from engine.scoring.kernels.pi import MEASURE_MISSING, NONE, SUBSTITUTE_NO, PiParams


def _shape_problem(value: Any, metric: str | None) -> str | None:
    if metric == "boolean":
        return None if isinstance(value, bool) else f"expected true or false, found {excerpt(value)}"
    if not isinstance(value, dict):
        return f"expected {{numerator, denominator}}, found {excerpt(value)}"
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


def gather(book: Rulebook, allowed_entity_types: Sequence[str], submission: Submission,
           issues: list[Issue]) -> dict[str, Any]:
    """The PI (ACI) sets that may be scored, merged: values and paths by measure ID, sets lacking a cehrtId, and
    whether any set may be scored."""
    names = book.value("program.submission_categories")
    title = book.value("program.category_titles").get("pi", "pi")
    values: dict[str, Any] = {}
    paths: dict[str, str] = {}
    missing: list[str] = []
    scored = False
    for measurement_set in submission.sets:
        if names.get(measurement_set.category) != "pi":
            continue
        if submission.entity_type not in allowed_entity_types:
            issues.append(Issue(measurement_set.path, f"entity type {submission.entity_type} may not submit {title} "
                                f"data in {book.year}; this measurement set is not scored", measurement_set.source,
                                code="category_not_allowed", severity="error"))
            continue
        scored = True
        if not measurement_set.cehrt_id:
            missing.append(measurement_set.path)
        for m in measurement_set.measurements:
            problem = _problem(book, title, m, values, paths)
            if problem:
                code, severity, message = problem
                issues.append(Issue(m.path, message, measurement_set.source, code=code, severity=severity))
                continue
            values[m.measure_id], paths[m.measure_id] = m.value, m.path
    return {"values": values, "paths": paths, "missing": missing, "scored": scored}


def pi_entity(book: Rulebook, p: PiParams, submission: Submission, issues: list[Issue]) -> dict[str, Any]:
    """The entity's PI columns (see ``engine.scoring.kernels.pi``) plus ``<id>:path`` and the sets lacking a cehrtId."""
    found = gather(book, p.allowed_entity_types, submission, issues)
    if not found["scored"]:
        return no_data(book, "pi_inputs.no_data", lambda: _columns(p, found))
    return _columns(p, found)


def no_data(book: Rulebook, key: str, build: Callable[[], dict[str, Any]]) -> NoData:
    """The columns of an entity with no scorable set, built once per rulebook."""
    known = book.memo.get(key)
    if known is None:
        known = book.memo[key] = NoData(build())
    return known


def _columns(p: PiParams, found: dict[str, Any]) -> dict[str, Any]:
    values, paths = found["values"], found["paths"]
    entity: dict[str, Any] = {"sets": found["scored"], "cehrt_missing": bool(found["missing"]),
                              "cehrt_missing_sets": ", ".join(found["missing"])}
    for name in p.ids:
        value = values.get(name)
        counts = value if isinstance(value, dict) else {"numerator": 0, "denominator": 0}
        entity.update({f"{name}:present": name in values, f"{name}:yes": value is True, f"{name}:no": value is False,
                       f"{name}:num": int(counts["numerator"]), f"{name}:den": int(counts["denominator"]),
                       f"{name}:path": paths.get(name, "")})
    return entity


def pi_issues(p: PiParams, entity: Mapping[str, Any], out: Mapping[str, Any]) -> list[Issue]:
    """The problems scoring reports once it gets that far: records no rule scores, measures reported with the
    substitute that replaces them (``out``: one entity's kernel outputs)."""
    reason = out["zero_reason"]
    issues = []
    if reason == NONE or reason >= SUBSTITUTE_NO:
        unscored = sorted((name for name in p.unscored if entity[f"{name}:present"]), key=lambda n: entity[f"{n}:path"])
        issues += [Issue(entity[f"{name}:path"], f"{name} is in CMS's {p.year} measure data but no rule of this rulebook "
                         "scores it; it is not counted", code="record_unscored", severity="error") for name in unscored]
    if reason == NONE or reason >= MEASURE_MISSING:
        for m in p.measures:
            if entity[f"{m.id}:yes"] or entity[f"{m.id}:num"] >= 1:
                issues += [Issue(entity[f"{other}:path"], f"{other} may not be reported with {m.id}, which replaces it; "
                                 f"{m.id} is scored", code="substitute_conflict", severity="warning")
                           for other in m.substitutes if entity[f"{other}:present"]]
    return issues


def stack(entities: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """One-entity columns stacked into a batch (the entities share a rulebook, hence the same columns)."""
    columns: dict[str, np.ndarray] = {}
    for key, first in entities[0].items():
        kind = bool if isinstance(first, bool) else np.int64 if isinstance(first, int) else str
        columns[key] = np.array([e[key] for e in entities], dtype=kind)
    return columns
