"""The cost and not-scored kernels: hand-derived cases, and one entity == batch.

Rule values read here (rules/2022/cost.yaml): case_minimums default 20, TPCC_1 20, MSPB_1 35, COST_KA_1 10;
decile_points floor 1, floor_below_decile 1, maximum 10. CMS's 2022 cost benchmarks (inverse, lower cost is better):
TPCC_1 decile 5 starts at 1318.42 and decile 6 at 1268.81; COST_KA_1 decile 1 at 20569 and decile 2 at 18823.5;
COST_SPH_1 has no benchmark.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine import load
from engine.inputs.profile import check_profile
from engine.inputs.submission import Issue
from engine.scoring.frame import OneEntity
from engine.scoring.kernels import not_scored
from engine.scoring.kernels.cost import BELOW_CASE_MINIMUM, NO_BENCHMARK, SCORED, CostParams, cost_params, score
from engine.scoring.kernels.cost_rows import cost_batch, cost_rows
from tests.generate import submissions

ONE = 10**6  # the declared precision: six decimals


@pytest.fixture(scope="module")
def book() -> Any:
    return load("2022")


@pytest.fixture(scope="module")
def params(book: Any) -> CostParams:
    return cost_params(book)


def _score(book: Any, params: CostParams, measures: list[tuple[str, int, Any]],
           issues: list[Issue] | None = None) -> tuple[dict[str, Any], OneEntity]:
    profile = {"costMeasures": [{"measureId": m, "attributedCases": n, "score": s} for m, n, s in measures]}
    rows = OneEntity(cost_rows(book, profile, [] if issues is None else issues))
    return score(rows, params), rows


def test_params_come_from_the_rulebook(params: CostParams) -> None:
    assert (params.default_minimum, dict(params.minimums)["MSPB_1"], dict(params.minimums)["COST_KA_1"]) == (20, 35, 10)
    assert (params.floor, params.floor_below, params.maximum) == (ONE, 1, 10 * ONE)


def test_interpolated_points_and_the_average(book: Any, params: CostParams) -> None:
    # TPCC_1 1293.615 is halfway from 1318.42 (decile 5) to 1268.81: 5.5 points. COST_KA_1 19696.25 is halfway from
    # 20569 (decile 1) to 18823.5: 1.5. Average (5.5 + 1.5) / (10 x 2) = 35 %.
    out, rows = _score(book, params, [("TPCC_1", 20, 1293.615), ("COST_KA_1", 10, 19696.25)])
    assert rows["decile"] == [5, 1] and rows["points"] == [5_500_000, 1_500_000]
    assert (out["percent"], out["scored"], out["points"], out["submitted"]) == (35 * ONE, 2, 7 * ONE, True)


def test_bounds_are_inclusive_and_the_ends_earn_floor_and_maximum(book: Any, params: CostParams) -> None:
    # Exactly 1318.42 reaches decile 5: 5 points. Above decile 1's bound (2239.54): the 1-point floor. At or below
    # decile 10's bound (1040.82), and a negative cost: 10 points.
    _, rows = _score(book, params, [("TPCC_1", 20, 1318.42), ("TPCC_1", 20, 5000), ("TPCC_1", 20, 1040.82),
                                    ("TPCC_1", 20, -3)])
    assert rows["decile"] == [5, 0, 10, 10]
    assert rows["points"] == [5 * ONE, ONE, 10 * ONE, 10 * ONE]


def test_case_minimum_and_missing_benchmark(book: Any, params: CostParams) -> None:
    # MSPB_1 needs 35 attributed cases (34: not scored); COST_SPH_1 has no benchmark; nothing scored: 0 %, and cost
    # is not submitted (so the category is reweighted).
    out, rows = _score(book, params, [("MSPB_1", 34, 24000), ("COST_SPH_1", 40, 15000)])
    assert rows["why"] == [BELOW_CASE_MINIMUM, NO_BENCHMARK] and rows["case_minimum"] == [35, 20]
    assert rows["points"] == [0, 0] and rows["decile"] == [-1, -1]
    assert (out["percent"], out["submitted"]) == (0, False)
    _, rows = _score(book, params, [("MSPB_1", 35, 24000)])
    assert rows["why"] == [SCORED]


def test_unknown_measure_is_an_issue(book: Any, params: CostParams) -> None:
    issues: list[Issue] = []
    out, rows = _score(book, params, [("COST_NOPE", 50, 10), ("TPCC_1", 20, 1318.42)], issues)
    assert rows["measure"] == ["TPCC_1"] and out["percent"] == 50 * ONE  # 5 of 10
    assert [(i.path, i.message) for i in issues] == [("profile.costMeasures[0]", "COST_NOPE is not a 2022 cost measure")]


def test_synthetic_benchmark_of_nine_bounds() -> None:
    # Nine bounds 900 .. 100 (units of 10**-4) list deciles 2-10: 850 is in decile 2, half of the way from 900 to 800:
    # 2.5 points; 950 is below every listed bound, decile 1: the floor of 1 (floor_below_decile 1).
    params = cost_params(load("2022"))
    pad = 2**62
    rows = OneEntity({"measure": ["X", "X"], "row": [0, 1], "path": ["", ""], "cases": [50, 50], "score_num": [850, 950],
                      "score_den": [1, 1], "benchmark": [True, True], "first": [2, 2], "inverse": [True, True],
                      "bounds": [(pad, 900, 800, 700, 600, 500, 400, 300, 200, 100)] * 2})
    out = score(rows, params)
    assert rows["decile"] == [2, 1] and rows["points"] == [2_500_000, ONE]
    assert out["percent"] == 17_500_000  # (2.5 + 1) / 20 = 17.5 %


def test_a_cost_with_many_decimals_compares_exactly(book: Any, params: CostParams) -> None:
    # 1318.420000001 is above decile 5's bound 1318.42 (lower cost is better): decile 4, not 5.
    _, rows = _score(book, params, [("TPCC_1", 20, 1318.420000001)])
    assert rows["decile"] == [4]


def test_not_scored_category() -> None:
    # rules/2017/cost.yaml: mechanism not_scored; percent 0, never submitted, for one entity and for a batch.
    params = not_scored.not_scored_params(load("2017"), "cost")
    assert params.reason.startswith("The cost performance category is weighted 0 percent")
    assert not_scored.score(OneEntity(not_scored.not_scored_rows()), params) == {"percent": 0, "submitted": False}
    out = not_scored.score(not_scored.not_scored_batch(4), params)
    assert out["percent"].tolist() == [0] * 4 and out["submitted"].tolist() == [False] * 4


def test_one_entity_equals_batch(book: Any, params: CostParams) -> None:
    parts, singles, ones = [], [], []
    for _, profile in submissions(2022, 300, seed=5):
        rows = cost_rows(book, check_profile(profile), [])
        one = OneEntity(rows)
        singles.append(score(one, params))
        parts.append(rows)
        ones.append(one)
    batch = cost_batch(parts)
    out = score(batch, params)
    assert sum(one.size for one in ones) > 200 and any(s["scored"] for s in singles)
    for i, single in enumerate(singles):
        assert {k: int(v) for k, v in single.items()} == {k: int(out[k][i]) for k in single}
        for name, column in ones[i].columns.items():
            got = batch[name][batch.starts[i]:batch.ends[i]]
            assert np.array_equal(got, np.array(column, dtype=got.dtype).reshape(got.shape)), name
