"""The quality kernel's inputs for one entity: a row per scorable measurement, joined with CMS's measure data,
its benchmark and the rulebook's suppressed-measure list, plus the entity facts the kernel reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from engine.inputs.measurements import UNIT, MeasurementValueError, measure_performance
from engine.inputs.submission import Issue, Submission
from engine.rules.model import Rulebook
from engine.scoring.fixed import Precision
from engine.scoring.kernels.quality import QualityParams

BELOW_EVERY_BOUND = 2**62  # the lower bound of a decile the benchmark does not list (decile 1 of nine bounds)

COLUMNS = {"measure": str, "measure_order": np.int64, "method": str, "row": np.int64, "path": str, "measure_type": str,
           "high_priority": bool,
           "inverse": bool, "ratio": bool, "first_year": np.int64, "rate_num": np.int64, "rate_den": np.int64,
           "dc_num": np.int64, "dc_den": np.int64, "cases": np.int64, "end_to_end": bool, "bounds": (np.int64, 10),
           "benchmark": bool, "topped_out": bool, "suppressed": bool, "reduce_when": np.int64, "cap_exempt": bool,
           "method_excluded": bool, "bonus_excluded": bool, "e2e_excluded": bool, "outcome_type": bool,
           "required_type": bool, "below_method_points": np.int64}  # name -> batch dtype


def _bounds(deciles: tuple, inverse: bool) -> tuple[int, ...]:
    """The ten decile lower bounds in units of 10**-4; a benchmark of nine starts at decile 2."""
    scaled = [int(round(d * UNIT)) for d in deciles]
    missing = 10 - len(scaled)
    return tuple([BELOW_EVERY_BOUND if inverse else -BELOW_EVERY_BOUND] * missing + scaled)


def measure_facts(book: Rulebook, p: QualityParams, measure_id: str, method: str, meta: dict) -> dict[str, Any]:
    """The row values that come from CMS's measure data, the benchmark and the rulebook alone, worked out once per
    (measure, method) and kept with the rulebook."""
    memo: dict[tuple[str, str], dict[str, Any]] = book.memo.setdefault("quality_rows.static", {})
    known = memo.get((measure_id, method))
    if known is not None:
        return known
    if "quality_order" not in book.memo:  # an integer sorts faster than a string, in the same order
        book.memo["quality_order"] = {measure: i for i, measure in enumerate(sorted(book.reference.quality))}
    inverse = bool(meta.get("isInverse"))
    benchmark = book.reference.benchmark(measure_id, method)
    measure_type = meta.get("measureType") or ""
    by_method = method not in ("default", "small_practice") and method in p.below_completeness
    known = memo[(measure_id, method)] = {
        "measure": measure_id, "measure_order": book.memo["quality_order"][measure_id], "method": method,
        "measure_type": measure_type, "high_priority": bool(meta.get("isHighPriority")),
        "inverse": inverse, "first_year": meta.get("firstPerformanceYear") or 0,
        "bounds": _bounds(benchmark.deciles, inverse) if benchmark else _bounds((), inverse),
        "benchmark": benchmark is not None,
        "topped_out": bool(benchmark and benchmark.topped_out_by_program),
        "suppressed": (measure_id, method) in p.suppressed,
        "reduce_when": p.suppressed.get((measure_id, method), 0),
        # the rulebook's lists of collection and measure types, each met or not (a string test once per pair, not per row)
        "cap_exempt": method in p.cap_exempt, "method_excluded": method in p.excluded_methods,
        "bonus_excluded": method in p.bonus_excluded_methods, "e2e_excluded": method in p.e2e_excluded_methods,
        "outcome_type": measure_type in p.outcome_types, "required_type": measure_type in p.required_types,
        "below_method_points": p.below_completeness[method] if by_method else -1,  # -1: the default's points
    }
    return known


def quality_rows(book: Rulebook, p: QualityParams, submission: Submission, issues: list[Issue]) -> dict[str, list[Any]]:
    """Columns of the entity's scorable quality measurements; problems become issues, never silent drops."""
    names = book.value("program.submission_categories")
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    first: dict[tuple[str, str], str] = {}
    for measurement_set in submission.sets:
        if names.get(measurement_set.category) != "quality":
            continue
        for m in measurement_set.measurements:
            key = (m.measure_id, measurement_set.method)
            if key in first:
                issues.append(Issue(m.path, f"measure {m.measure_id} by {measurement_set.method} was already submitted "
                                    f"at {first[key]}; the first is scored", measurement_set.source,
                                    code="measurement_duplicate", severity="warning"))
                continue
            first[key] = m.path
            meta = book.reference.quality.get(m.measure_id)
            if meta is None:
                issues.append(Issue(m.path, f"{m.measure_id} is not a {book.year} quality measure", measurement_set.source,
                                    code="measure_unknown", severity="error"))
                continue
            method = measurement_set.method
            if method not in meta.get("submissionMethods", []):
                issues.append(Issue(m.path, f"measure {m.measure_id} cannot be submitted by {method}; expected one of "
                                    f"{', '.join(meta.get('submissionMethods', []))}", measurement_set.source,
                                    code="method_not_allowed", severity="error"))
                continue
            try:
                performance = measure_performance(m.value, meta)
            except MeasurementValueError as exc:
                issues.append(Issue(m.path, f"measure {m.measure_id} not scored: {exc}", measurement_set.source,
                                    code="value_invalid", severity="error"))
                continue
            row = {
                **measure_facts(book, p, m.measure_id, method, meta), "row": len(columns["row"]), "path": m.path,
                "ratio": performance.ratio, "rate_num": performance.rate_num, "rate_den": performance.rate_den,
                "dc_num": max(performance.completeness_floor, 0), "dc_den": 1 if performance.completeness_floor >= 0 else 0,
                "cases": performance.cases, "end_to_end": performance.end_to_end,
            }
            for name in COLUMNS:
                columns[name].append(row[name])
    return columns


def quality_entity(profile: Mapping[str, Any], precision: Precision) -> dict[str, Any]:
    """The entity facts the quality kernel reads, from the profile."""
    prior = profile.get("priorYearQuality") or {}
    facility = profile.get("facilityBased") or {}
    return {
        "small_practice": bool(profile.get("smallGroupPractitioner")),
        "facility_percent": precision.fixed(facility["qualityScore"]) if facility else -1,
        "prior_percent": precision.fixed(prior["achievementPercent"]) if prior else -1,
        "prior_full": bool(prior.get("fullParticipation", False)),
    }
