"""Properties of the scores of generated submissions, for every year: the final score stays in [0, 100]; the
weights of the scored categories sum to 100 and a neutral row scores the performance threshold; a reweighted
category contributes nothing; better quality performance never lowers a measure's points or the category's
achievement points, and lowers the final score only where CMS's rules take a bonus away (below); one more improvement
activity never lowers a score; the payment curve never falls as the final score rises.

Volume goes through the batch path (``engine.score_many``); the properties that read the result document (a
measure's points, a category's points, the reweighting row) use the explained path (``engine.score``) on a prefix
of the same generated submissions. Every seed is fixed; a failure names the generated submission to rerun:
``tests.generate.submissions(year, count, seed)[index]`` with its profile.
"""

from __future__ import annotations

import copy
import functools
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.base.exact import ScalarOps
from engine.batch.runner import BatchResult
from engine.rules.model import Rulebook
from engine.scoring.columnar import compiled
from engine.scoring.kernels import final as kernel
from tests.generate import submissions

YEARS = (2017, 2020, 2021, 2022)
SEED = 41
BATCH = 2000  # generated submissions per year scored by the batch path
EXPLAINED = 250  # the first ones of those, scored by the explained path too
EXAMPLES = settings(max_examples=100, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MEASUREMENT = re.compile(r"^\$\.measurementSets\[(\d+)\]\.measurements\[(\d+)\]$")
SINGLE = ("singlePerformanceRate", "registrySinglePerformanceRate")
MULTI = ("multiPerformanceRate", "registryMultiPerformanceRate")
BAND = {name: code for code, name in enumerate(kernel.BANDS)}


# ------------------------------------------------------------------------------------------------ shared runs


@functools.cache
def _book(year: int) -> Rulebook:
    return engine.load(year)


@functools.cache
def _pairs(year: int) -> list[tuple[dict, dict]]:
    """The generated submissions the explained path scores (the first of the batch's: pair i depends on i only)."""
    return submissions(year, EXPLAINED, SEED)


def _score_generated(year: int) -> BatchResult:
    pairs = submissions(year, BATCH, SEED)
    return engine.score_many([document for document, _ in pairs], engine.load(year), [profile for _, profile in pairs])


@functools.cache
def _batches() -> dict[int, BatchResult]:
    """Every year's batch run, the years spread over the machine's cores (two at most)."""
    workers = min(2, os.cpu_count() or 1)
    if workers == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return {year: _score_generated(year) for year in YEARS}
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return dict(zip(YEARS, pool.map(_score_generated, YEARS), strict=True))


def _batch(year: int) -> BatchResult:
    return _batches()[year]


@functools.cache
def _document(year: int, index: int) -> dict[str, Any]:
    document, profile = _pairs(year)[index]
    return engine.score(document, _book(year), profile=profile).document


def _rescore(year: int, index: int, document: dict) -> dict[str, Any]:
    return engine.score(document, _book(year), profile=_pairs(year)[index][1]).document


def _nodes(document: dict[str, Any]) -> dict[str, Any]:
    return {node["id"]: node["value"] for node in document["trace"]}


def _which(year: int, index: int) -> str:
    return f"tests.generate.submissions({year}, {index + 1}, seed={SEED})[{index}]"


def _scored_positions(year: int) -> list[int]:
    refused = {position for position, _ in _batch(year).refused}
    return [i for i in range(BATCH) if i not in refused]


def _fixed(year: int, value: Any) -> int:
    return compiled(_book(year)).final.precision.fixed(value)


def _matrix(result: BatchResult, categories: tuple[str, ...], suffix: str) -> np.ndarray:
    return np.stack([np.asarray(result.columns[f"{name}.{suffix}"]) for name in categories], axis=1)


def _first(mask: np.ndarray, year: int) -> str:
    """The generated submissions a row mask selects (at most five), for a failure message."""
    positions = _scored_positions(year)
    return ", ".join(_which(year, positions[row]) for row in np.flatnonzero(mask)[:5].tolist())


# ----------------------------------------------------------------------------- 1-3: ranges, weights, reweighting


@pytest.mark.parametrize("year", YEARS)
def test_every_generated_submission_is_scored(year: int) -> None:
    result = _batch(year)
    assert result.refused == []
    assert len(result.columns["final_score"]) == BATCH


@pytest.mark.parametrize("year", YEARS)
def test_final_score_is_between_0_and_100(year: int) -> None:
    result = _batch(year)
    final = np.asarray(result.columns["final_score"])
    outside = (final < 0) | (final > _fixed(year, 100))
    assert not outside.any(), f"{year}: final score outside [0, 100] for {_first(outside, year)}"


@pytest.mark.parametrize("year", YEARS)
def test_scored_weights_sum_to_100_and_neutral_rows_score_the_threshold(year: int) -> None:
    """Batch: the scored categories' weights sum to 100 (all weights 0 when none is scored); the result is neutral
    exactly when fewer categories than the rulebook's minimum are scored, and then scores the threshold."""
    book, result = _book(year), _batch(year)
    categories = tuple(book.value("program.categories"))
    weights = _matrix(result, categories, "weight")
    scored = ~_matrix(result, categories, "reweighted").astype(bool)
    count = scored.sum(axis=1)
    total = (weights * scored).sum(axis=1)
    wrong_sum = total != np.where(count > 0, _fixed(year, 100), 0)
    assert not wrong_sum.any(), f"{year}: scored weights do not sum to 100 for {_first(wrong_sum, year)}"
    neutral = np.asarray(result.columns["neutral"]).astype(bool)
    wrong_neutral = neutral != (count < book.value("weights.minimum_scored_categories"))
    assert not wrong_neutral.any(), f"{year}: neutral disagrees with the scored count for {_first(wrong_neutral, year)}"
    final = np.asarray(result.columns["final_score"])
    not_threshold = neutral & (final != _fixed(year, book.value("payment.performance_threshold")))
    assert not not_threshold.any(), f"{year}: a neutral result is not the threshold for {_first(not_threshold, year)}"


@pytest.mark.parametrize("year", YEARS)
def test_a_reweighted_category_weighs_nothing_in_the_batch(year: int) -> None:
    result = _batch(year)
    categories = tuple(_book(year).value("program.categories"))
    reweighted = _matrix(result, categories, "reweighted").astype(bool)
    heavy = (reweighted & (_matrix(result, categories, "weight") != 0)).any(axis=1)
    assert not heavy.any(), f"{year}: a reweighted category has a weight for {_first(heavy, year)}"


def _row(book: Rulebook, document: dict[str, Any]) -> dict[str, Any]:
    variant = document["rulebook"]["program_variant"]
    rules = book.variants[variant] if variant else book
    label = document["reweighting"]["row"]
    return next(row for row in rules.value(document["reweighting"]["table"]) if row["label"] == label)


@pytest.mark.parametrize("year", YEARS)
def test_explained_documents_follow_their_reweighting_row(year: int) -> None:
    """Explained path: the row's scored categories are the ones not reweighted, their weights sum to 100, a
    reweighted category contributes 0 points, and the result is neutral exactly when the row says so."""
    book = _book(year)
    threshold = book.value("payment.performance_threshold")
    for index in range(EXPLAINED):
        document, which = _document(year, index), _which(year, index)
        row, nodes = _row(book, document), _nodes(document)
        categories = document["categories"]
        scored = {name for name, category in categories.items() if not category["reweighted"]}
        assert set(row["scored"]) == scored, which
        assert sum(categories[name]["weight"] for name in scored) == (100 if scored else 0), which
        for name, category in categories.items():
            if category["reweighted"]:
                assert (category["weight"], category["points"], nodes[f"{name}.contribution"]) == (0, 0, 0), (which, name)
        assert document["neutral"] == (row["adjustment"] == "neutral"), which
        if document["neutral"]:
            assert Decimal(str(document["final_score"])) == Decimal(str(threshold)), which
        assert 0 <= document["final_score"] <= 100, which


# --------------------------------------------------------------------------- 4: better quality never scores less


def _quality_candidates(year: int) -> list[tuple[int, int, int, str, str]]:
    """(submission, set, measurement, measure, method) of every quality measurement the engine read as a row."""
    found = []
    for index in range(EXPLAINED):
        for measure in _document(year, index)["categories"]["quality"]["detail"].get("measures", []):
            where = MEASUREMENT.match(measure.get("path") or "")
            if where:
                found.append((index, int(where[1]), int(where[2]), measure["measure_id"], measure["method"]))
    return found


@functools.cache
def _improvable(year: int) -> list[tuple[int, int, int, str, str]]:
    """The candidates whose performance can still move in the better direction."""
    return [c for c in _quality_candidates(year) if _room(year, _measurement_value(year, c), c[3]) > 0]


def _measurement_value(year: int, candidate: tuple[int, int, int, str, str]) -> dict[str, Any]:
    index, set_index, measurement, _, _ = candidate
    return _pairs(year)[index][0]["measurementSets"][set_index]["measurements"][measurement]["value"]


def _room(year: int, value: dict[str, Any], measure: str) -> int:
    """How many cases (a proportion) or units (a ratio's numerator) the performance can move the better way."""
    meta = _book(year).reference.quality[measure]
    inverse = bool(meta.get("isInverse"))
    if meta["metricType"] in SINGLE:
        return _counts_room(value, inverse)
    if meta["metricType"] in MULTI:
        return max(_counts_room(stratum, inverse) for stratum in value["strata"])
    numerator = Decimal(str(value["numerator"]))
    return int(numerator) if inverse else min(max(int(Decimal(str(value["denominator"]))), 1), 10**9 - int(numerator) - 1)


def _counts_room(counts: dict[str, Any], inverse: bool) -> int:
    return counts.get("performanceMet", 0) if inverse else counts.get("performanceNotMet", 0)


def _move(counts: dict[str, Any], inverse: bool, step: int) -> None:
    sign = -1 if inverse else 1
    counts["performanceMet"] = counts.get("performanceMet", 0) + sign * step
    counts["performanceNotMet"] = counts.get("performanceNotMet", 0) - sign * step


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _better(year: int, value: dict[str, Any], measure: str, step: int) -> None:
    """Move ``step`` cases from not met to met (from met to not met for an inverse measure), in every stratum as far
    as it can; raise a ratio's numerator by ``step`` (lower it, inverse). Denominators stay as they are."""
    meta = _book(year).reference.quality[measure]
    inverse = bool(meta.get("isInverse"))
    if meta["metricType"] in MULTI:
        for stratum in value["strata"]:
            _move(stratum, inverse, min(step, _counts_room(stratum, inverse)))
    elif meta["metricType"] in SINGLE:
        _move(value, inverse, step)
    else:
        value["numerator"] = _number(Decimal(str(value["numerator"])) + (-step if inverse else step))


def _quality_row(document: dict[str, Any], path: str) -> dict[str, Any]:
    return next(m for m in document["categories"]["quality"]["detail"]["measures"] if m.get("path") == path)


def _bonus(document: dict[str, Any]) -> Decimal:
    return sum((Decimal(str(v)) for v in document["categories"]["quality"]["detail"]["bonus"].values()), Decimal(0))


def _why_it_fell(before: dict[str, Any], after: dict[str, Any], path: str) -> str | None:
    """Why CMS's rules let the final score fall when the measurement at ``path`` got better, or None if they do not.

    Two rules take a bonus away from a better measure, so the final score is not monotone in a measure's performance:
    - the highest-scoring outcome measure fills the required slot (S001 p.23-24, policy §2.6) and the required measure
      earns no bonus (42 CFR 414.1380(b)(1)(xiii)(A) @2017, (b)(1)(v) @2021, policy §3.3, §4.3): a measure that
      overtakes one that cannot earn a bonus (below the case minimum, say) takes its place and loses its own bonus;
    - a measure sent through several collection types is "scored only on the data submission with the greatest number
      of measure achievement points" and gets its bonus points once (42 CFR 414.1380(b)(1)(i),(v) @2021, policy §2.6):
      a submission that overtakes (or ties) another's achievement points replaces it, bonus and all (an end-to-end
      bonus of the other one is lost). Ties in either rule are readings no source settles (policy §8, item 13).
    """
    old, new = _quality_row(before, path), _quality_row(after, path)
    if new["status"] == "scored" and old["status"] == "superseded":
        return "replaced another collection type"
    if new["required"] and not old["required"]:
        return "took the required slot"
    return None


def _check_better(before: dict[str, Any], after: dict[str, Any], node: str, path: str, what: str) -> str | None:
    """The measure's points and the category's achievement points never fall; the final score falls only as
    ``_why_it_fell`` allows, and then with less bonus. Returns why it fell, if it did."""
    old, new = _nodes(before)[node], _nodes(after)[node]
    if old is None:  # a suppressed measure has no points whatever its rate
        assert new is None, f"{what}: {node} was {old}, now {new}"
    else:
        assert new >= old, f"{what}: {node} fell from {old} to {new}"
    achievement = [d["categories"]["quality"]["detail"]["achievement"] for d in (before, after)]
    assert achievement[1] >= achievement[0], f"{what}: quality achievement points fell from {achievement}"
    if after["final_score"] >= before["final_score"]:
        return None
    why = _why_it_fell(before, after, path)
    assert why and _bonus(after) < _bonus(before), \
        f"{what}: final score fell from {before['final_score']} to {after['final_score']} ({why or 'no rule says why'})"
    return why


@pytest.mark.parametrize("year", YEARS)
@EXAMPLES
@given(data=st.data())
def test_better_quality_performance_never_lowers_points_or_the_score_but_as_the_rules_say(year: int,
                                                                                          data: st.DataObject) -> None:
    candidates = _improvable(year)
    candidate = data.draw(st.sampled_from(candidates), label="measurement")
    index, set_index, measurement, measure, method = candidate
    room = _room(year, _measurement_value(year, candidate), measure)
    step = data.draw(st.one_of(st.sampled_from(sorted({1, room})), st.integers(1, room)), label="step")
    document = copy.deepcopy(_pairs(year)[index][0])
    value = document["measurementSets"][set_index]["measurements"][measurement]["value"]
    _better(year, value, measure, step)
    what = (f"{_which(year, index)}: measurementSets[{set_index}].measurements[{measurement}] ({measure}, {method}, "
            f"{'inverse' if _book(year).reference.quality[measure].get('isInverse') else 'direct'}) "
            f"moved {step} the better way to {value}")
    _check_better(_document(year, index), _rescore(year, index, document), f"quality.measures.{measure}.{method}",
                  f"$.measurementSets[{set_index}].measurements[{measurement}]", what)


def _quality_set(year: int, method: str, measurements: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"category": "quality", "submissionMethod": method, "programName": "mips", "performanceStart": f"{year}-01-01",
            "performanceEnd": f"{year}-12-31", "measurements": [{"measureId": m, "value": v} for m, v in measurements.items()]}


def _raised(document: dict[str, Any], set_index: int, measure: str, counts: dict[str, int]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    value = next(m["value"] for m in changed["measurementSets"][set_index]["measurements"] if m["measureId"] == measure)
    value.update(counts)
    return changed


# 2021, an individual: IRIS45 (outcome) at 157 of 10000 sits on its decile-3 bound (3 points) and earns the 2-point
# outcome bonus; 356 (outcome) has 16 cases, under the case minimum of 20 (3 points, no bonus). At equal points the
# lower ID, 356, is the required outcome measure. One more case met makes IRIS45 3.013158 points: it becomes the
# required measure and loses its bonus, which 356 cannot earn: quality 13.333333 -> 10.02193, final 15.083333 ->
# 12.268641 (the batch path gives the same).
REQUIRED_SWAP = {
    "entityType": "individual", "taxpayerIdentificationNumber": "000000001", "nationalProviderIdentifier": "0000000001",
    "performanceYear": 2021,
    "measurementSets": [
        {"category": "ia", "submissionMethod": "registry", "programName": "mips", "performanceStart": "2021-01-01",
         "performanceEnd": "2021-12-31", "measurements": [{"measureId": "IA_BE_5", "value": True}]},
        _quality_set(2021, "registry", {"IRIS45": {"performanceMet": 157, "performanceNotMet": 9843, "eligiblePopulation": 10000},
                                        "356": {"performanceMet": 1, "performanceNotMet": 15, "eligiblePopulation": 16}}),
    ],
}
# 2020, a group reports 001 (inverse) by registry, 50 of 100 (6 points), and by EHR end to end, 0 of 100 (10 points
# and the end-to-end bonus). Lowering the registry rate to 10 of 100 makes it 10 points too; the tie goes to the
# registry row (submitted first), the EHR row is superseded and its end-to-end bonus lost: quality 18.333333 ->
# 16.666667, final 10.083333 -> 9.166667 (the batch path gives the same).
COLLECTION_TYPE_SWAP = {
    "entityType": "group", "taxpayerIdentificationNumber": "000000001", "performanceYear": 2020,
    "measurementSets": [
        _quality_set(2020, "registry", {"001": {"performanceMet": 50, "performanceNotMet": 50, "eligiblePopulation": 100}}),
        _quality_set(2020, "electronicHealthRecord", {"001": {"isEndToEndReported": True, "performanceMet": 0,
                                                              "performanceNotMet": 100, "eligiblePopulation": 100}}),
    ],
}


@pytest.mark.parametrize(("year", "document", "set_index", "measure", "method", "counts", "why"), [
    pytest.param(2021, REQUIRED_SWAP, 1, "IRIS45", "registry", {"performanceMet": 158, "performanceNotMet": 9842},
                 "took the required slot", id="2021-required-outcome"),
    pytest.param(2020, COLLECTION_TYPE_SWAP, 0, "001", "registry", {"performanceMet": 10, "performanceNotMet": 90},
                 "replaced another collection type", id="2020-best-collection-type"),
])
def test_better_quality_performance_lowers_the_final_score_only_as_the_rules_say(
        year: int, document: dict, set_index: int, measure: str, method: str, counts: dict[str, int], why: str) -> None:
    """Minimal reproducers, found on generated submissions and reduced by hand, of the two ways CMS's rules let a
    better measure lower the final score (``_why_it_fell``): the measure's points rise, both paths agree, the final
    score falls, and the property above accepts the fall for its reason."""
    raised = _raised(document, set_index, measure, counts)
    before, after = engine.score(document, _book(year)).document, engine.score(raised, _book(year)).document
    node = f"quality.measures.{measure}.{method}"
    assert _nodes(after)[node] > _nodes(before)[node]
    batch = engine.score_many([document, raised], _book(year))
    assert batch.decimal("final_score") == [Decimal(str(before["final_score"])), Decimal(str(after["final_score"]))]
    assert after["final_score"] < before["final_score"]
    path = next(m["path"] for m in before["categories"]["quality"]["detail"]["measures"]
                if (m["measure_id"], m["method"]) == (measure, method))
    assert _check_better(before, after, node, path, f"{year} {measure} {method}") == why


def test_there_are_improvable_measurements_in_every_year() -> None:
    assert all(len(_improvable(year)) >= 100 for year in YEARS), {year: len(_improvable(year)) for year in YEARS}


# ------------------------------------------------------------------------- 5: one more activity never scores less


@functools.cache
def _ia_scored(year: int) -> list[int]:
    return [i for i in range(EXPLAINED) if not _document(year, i)["categories"]["ia"]["reweighted"]]


def _ia_name(year: int) -> str:
    return next(name for name, rule in _book(year).value("program.submission_categories").items() if rule == "ia")


def _activities(year: int) -> list[str]:
    return sorted(a for a, meta in _book(year).reference.ia.items() if meta.get("weight"))


def _add_activity(year: int, document: dict[str, Any], activity: str) -> str:
    """Attest ``activity`` in the first IA set, or in a new one like the others (program, full year); say where."""
    sets = document["measurementSets"]
    ia = [s for s in sets if s.get("category") == _ia_name(year)]
    if ia:
        ia[0]["measurements"].append({"measureId": activity, "value": True})
        return f"appended to measurementSets[{sets.index(ia[0])}]"
    added: dict[str, Any] = {"category": _ia_name(year), "submissionMethod": "registry",
                             "performanceStart": f"{year}-01-01", "performanceEnd": f"{year}-12-31",
                             "measurements": [{"measureId": activity, "value": True}]}
    program = next((s["programName"] for s in sets if "programName" in s), None)
    if program:
        added["programName"] = program
    sets.append(added)
    return "in a new IA set"


@pytest.mark.parametrize("year", YEARS)
@EXAMPLES
@given(data=st.data())
def test_one_more_activity_never_lowers_the_final_score_where_ia_is_scored(year: int, data: st.DataObject) -> None:
    index = data.draw(st.sampled_from(_ia_scored(year)), label="submission")
    document = copy.deepcopy(_pairs(year)[index][0])
    present = {m.get("measureId") for s in document["measurementSets"] if s.get("category") == _ia_name(year)
               for m in s["measurements"]}
    activity = data.draw(st.sampled_from([a for a in _activities(year) if a not in present]), label="activity")
    where = _add_activity(year, document, activity)
    before, after = _document(year, index), _rescore(year, index, document)
    what = f"{_which(year, index)}: activity {activity} attested {where}"
    assert after["categories"]["ia"]["percent"] >= before["categories"]["ia"]["percent"], what
    assert after["final_score"] >= before["final_score"], \
        f"{what}: final score fell from {before['final_score']} to {after['final_score']}"


def test_ia_is_scored_for_enough_submissions_in_every_year() -> None:
    assert all(len(_ia_scored(year)) >= 100 for year in YEARS), {year: len(_ia_scored(year)) for year in YEARS}


# -------------------------------------------------------------------------------------- 6: the payment curve


def _payment(year: int, score: int) -> dict[str, Any]:
    return kernel.payment(ScalarOps, compiled(_book(year)).final, score)


@dataclass(frozen=True)
class Curve:
    """payment.yaml's values in units of 10**-digits (the declared precision), read from the rulebook's values."""

    one: int
    threshold: int
    applicable: int
    cliff: int  # the performance threshold times the full negative fraction: PT/4
    additional: int | None
    low: int
    high: int

    def adjustment(self, score: int) -> tuple[int, int]:
        """The adjustment before scaling at ``score``, exactly, as numerator and denominator (10**-digits units)."""
        if score <= self.cliff:
            return -self.applicable, 1
        if score < self.threshold:
            return -self.applicable * (self.threshold - score), self.threshold
        return self.applicable * (score - self.threshold), 100 * self.one - self.threshold

    def exceptional(self, score: int) -> tuple[int, int]:
        """The exceptional adjustment before scaling at ``score``, exactly, as numerator and denominator."""
        if self.additional is None or score < self.additional or score <= self.threshold:
            return 0, 1
        width = 100 * self.one - self.additional
        return self.low * width + (self.high - self.low) * (score - self.additional), width


@functools.cache
def _curve(year: int) -> Curve:
    v, one = _book(year).value, compiled(_book(year)).final.precision.one

    def units(value: Any) -> int:
        exact = Fraction(str(value)) * one
        assert exact.denominator == 1, (year, value)
        return int(exact)

    additional, exceptional = v("payment.additional_performance_threshold"), v("payment.exceptional")
    threshold = units(v("payment.performance_threshold"))
    return Curve(one, threshold, units(v("payment.applicable_percent")),
                 units(Fraction(threshold, one) * Fraction(str(v("payment.full_negative_fraction")))),
                 None if additional is None else units(additional), units(exceptional["at_threshold"]),
                 units(exceptional["at_maximum"]))


def _rounds_to(value: int, exact: tuple[int, int]) -> bool:
    """Whether ``value`` is the exact fraction rounded to a whole unit (within half a unit)."""
    numerator, denominator = exact
    return abs(2 * (value * denominator - numerator)) <= denominator


def _jumps(values: list[int], step_bound: int) -> list[int]:
    """Grid positions i where values[i + 1] - values[i] exceeds what a linear piece can rise in one step."""
    return [i for i in range(len(values) - 1) if values[i + 1] - values[i] > step_bound]


@pytest.mark.parametrize("year", YEARS)
def test_payment_curve_on_a_grid_of_final_scores(year: int) -> None:
    """Every 0.01 from 0 to 100: the values are the rulebook's linear scale rounded to the declared precision,
    never fall, and jump only at PT/4 (the adjustment) and at the additional threshold (the exceptional one)."""
    curve = _curve(year)
    step = curve.one // 100
    scores = list(range(0, 100 * curve.one + 1, step))
    grid = [_payment(year, score) for score in scores]
    for score, out in zip(scores, grid, strict=True):
        assert _rounds_to(out["adjustment_before_scaling"], curve.adjustment(score)), (year, score)
        assert _rounds_to(out["exceptional_before_scaling"], curve.exceptional(score)), (year, score)
    for key in ("adjustment_before_scaling", "exceptional_before_scaling", "total", "band"):
        values = [out[key] for out in grid]
        falls = [Fraction(scores[i + 1], curve.one) for i in range(len(values) - 1) if values[i + 1] < values[i]]
        assert falls == [], f"{year}: payment {key} falls at final scores {[str(f) for f in falls[:10]]}"
    slope = curve.applicable * step // min(curve.threshold, 100 * curve.one - curve.threshold) + 2
    jumps = _jumps([out["adjustment_before_scaling"] for out in grid], slope)
    assert [scores[i] for i in jumps] == [curve.cliff], f"{year}: the adjustment jumps after {jumps}, not only after PT/4"
    if curve.additional is not None:
        slope = (curve.high - curve.low) * step // (100 * curve.one - curve.additional) + 2
        jumps = _jumps([out["exceptional_before_scaling"] for out in grid], slope)
        assert [scores[i + 1] for i in jumps] == [curve.additional], f"{year}: the exceptional adjustment jumps at {jumps}"
    assert grid[0]["adjustment_before_scaling"] == -curve.applicable
    assert grid[scores.index(curve.threshold)]["band"] == BAND["neutral"]
    assert grid[scores.index(curve.threshold)]["adjustment_before_scaling"] == 0
    assert grid[-1]["adjustment_before_scaling"] == curve.applicable
    assert grid[-1]["exceptional_before_scaling"] == (curve.high if curve.additional is not None else 0)


@pytest.mark.parametrize("year", YEARS)
@settings(max_examples=150, derandomize=True, deadline=None, database=None)
@given(data=st.data())
def test_payment_never_falls_between_any_two_final_scores(year: int, data: st.DataObject) -> None:
    """At the full declared precision, not only on the grid."""
    top = compiled(_book(year)).final.maximum
    low = data.draw(st.integers(0, top), label="low")
    high = data.draw(st.integers(low, top), label="high")
    before, after = _payment(year, low), _payment(year, high)
    for key in ("band", "adjustment_before_scaling", "exceptional_before_scaling", "adjustment", "total"):
        assert after[key] >= before[key], (year, key, low, high)


@pytest.mark.parametrize("year", YEARS)
def test_batch_payment_columns_are_the_curve_at_each_final_score(year: int) -> None:
    result, book = _batch(year), _book(year)
    for variant in book.variants.values():  # one payment curve per year, whatever the program
        base, other = compiled(book).final, compiled(variant).final
        assert (base.threshold, base.applicable, base.full_negative_fraction, base.additional_threshold,
                base.exceptional_low, base.exceptional_high, base.scaling, base.exceptional_scaling) == \
               (other.threshold, other.applicable, other.full_negative_fraction, other.additional_threshold,
                other.exceptional_low, other.exceptional_high, other.scaling, other.exceptional_scaling)
    for row, final in enumerate(result.columns["final_score"].tolist()):
        out = _payment(year, final)
        shown = tuple(int(result.columns[f"payment.{key}"][row])
                      for key in ("band", "adjustment_before_scaling", "exceptional_before_scaling", "total"))
        assert shown == (out["band"], out["adjustment_before_scaling"], out["exceptional_before_scaling"], out["total"]), \
            _which(year, _scored_positions(year)[row])
