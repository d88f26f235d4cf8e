"""The improvement activities kernel: hand-derived cases from the 2022 rulebook, and one entity == batch.

Rule values read here (rules/2022/ia.yaml): activity_points medium 10, high 20; special_status_multiplier 2 for
any of doubling_statuses; maximum_points 40; full_credit_activities [IA_PCMH]. Weights are CMS's 2022 activity data:
IA_AHE_5 medium, IA_AHE_1 and IA_AHE_3 high, IA_PCMH none (full credit).
"""

from __future__ import annotations

from typing import Any

import pytest

from engine import load
from engine.inputs.profile import check_profile
from engine.inputs.submission import Issue, parse_submission
from engine.scoring.fixed import precision
from engine.scoring.frame import OneEntity, stack_entities
from engine.scoring.kernels.ia import IaParams, ia_params, score
from engine.scoring.kernels.ia_rows import ia_batch, ia_entity, ia_rows
from tests.generate import submissions

ONE = 10**6  # the declared precision: six decimals


@pytest.fixture(scope="module")
def book() -> Any:
    return load("2022")


@pytest.fixture(scope="module")
def params(book: Any) -> IaParams:
    return ia_params(book)


def _submission(measurements: list[tuple[str, Any]]) -> Any:
    return parse_submission({
        "entityType": "individual", "taxpayerIdentificationNumber": "000000001", "nationalProviderIdentifier": "1000000001",
        "performanceYear": 2022, "measurementSets": [{
            "category": "ia", "submissionMethod": "registry", "performanceStart": "2022-01-01",
            "performanceEnd": "2022-12-31", "measurements": [{"measureId": m, "value": v} for m, v in measurements]}]})


def _score(book: Any, params: IaParams, measurements: list[tuple[str, Any]], profile: dict | None = None,
           issues: list[Issue] | None = None) -> tuple[dict[str, Any], OneEntity]:
    rows = OneEntity(ia_rows(book, _submission(measurements), [] if issues is None else issues))
    return score(rows, ia_entity(profile or {}, params), params), rows


def test_params_come_from_the_rulebook(params: IaParams) -> None:
    assert params.weights == (("medium", 10 * ONE), ("high", 20 * ONE))
    assert (params.multiplier, params.maximum, params.full_credit) == (2, 40 * ONE, ("IA_PCMH",))
    assert precision(load("2022")).digits == 6


def test_medium_and_high_activity(book: Any, params: IaParams) -> None:
    # medium 10 + high 20 = 30 of 40 points: 75 %.
    out, rows = _score(book, params, [("IA_AHE_5", True), ("IA_AHE_1", True)])
    assert rows["points"] == [10 * ONE, 20 * ONE]
    assert (out["activity_points"], out["points"], out["percent"], out["submitted"]) == (30 * ONE, 30 * ONE, 75 * ONE, True)
    assert out["doubled"] is False and out["factor"] == 1


def test_special_status_multiplies_and_the_cap_applies(book: Any, params: IaParams) -> None:
    # A small practice: medium 10 x 2 = 20, high 20 x 2 = 40; 60 points capped at 40: 100 %.
    out, rows = _score(book, params, [("IA_AHE_5", True), ("IA_AHE_1", True)], {"smallGroupPractitioner": True})
    assert rows["points"] == [20 * ONE, 40 * ONE]
    assert (out["activity_points"], out["points"], out["percent"]) == (60 * ONE, 40 * ONE, 100 * ONE)
    assert out["doubled_for:smallGroupPractitioner"] is True and out["doubled_for:ruralClinician"] is False


def test_duplicates_and_false_answers_earn_nothing(book: Any, params: IaParams) -> None:
    # The second "true" of IA_AHE_5 and the "false" IA_AHE_1 count for nothing: 10 of 40 points, 25 %.
    measurements = [("IA_AHE_1", False), ("IA_AHE_5", True), ("IA_AHE_3", False)]
    rows = ia_rows(book, _submission(measurements), [])
    for name in rows:  # the same activity attested twice (as two sets of one submission would give)
        rows[name].append(rows[name][1] if name != "row" else 3)
    one = OneEntity(rows)
    out = score(one, ia_entity({}, params), params)
    assert one["counted"] == [False, True, False, False]
    assert (out["points"], out["percent"], out["submitted"]) == (10 * ONE, 25 * ONE, True)


def test_only_false_answers_is_not_submitted(book: Any, params: IaParams) -> None:
    out, _ = _score(book, params, [("IA_AHE_5", False)])
    assert (out["percent"], out["submitted"]) == (0, False)


def test_full_credit_activity(book: Any, params: IaParams) -> None:
    # IA_PCMH earns the maximum itself (40 of 40): 100 %. (The profile's pcmh is a credit of rules/<year>/ia.yaml,
    # applied after the categories; see tests/test_scoring.py.)
    out, rows = _score(book, params, [("IA_PCMH", True), ("IA_AHE_5", True)])
    assert rows["points"] == [40 * ONE, 10 * ONE] and rows["full_credit"] == [True, False]
    assert (out["activity_points"], out["points"], out["percent"]) == (50 * ONE, 40 * ONE, 100 * ONE)
    assert out["full_credit"] and out["full_credit_activity"]


def test_no_activity(book: Any, params: IaParams) -> None:
    out, _ = _score(book, params, [])
    assert (out["percent"], out["points"], out["submitted"]) == (0, 0, False)


def test_unknown_activity_and_non_boolean_answer_are_issues(book: Any, params: IaParams) -> None:
    issues: list[Issue] = []
    out, rows = _score(book, params, [("IA_NOPE", True), ("IA_AHE_5", "yes"), ("IA_AHE_1", True)], issues=issues)
    assert rows["activity"] == ["IA_AHE_1"]
    assert [i.message for i in issues] == ["IA_NOPE is not an improvement activity of 2022",
                                           "an activity is attested with true or false, found 'yes'"]
    assert [i.code for i in issues] == ["measure_unknown", "activity_value_invalid"]
    assert out["percent"] == 50 * ONE  # high 20 of 40


def test_multiplier_is_read_from_the_rulebook() -> None:
    book = load("2022", overrides={"ia.special_status_multiplier": 3})
    params = ia_params(book)
    out, rows = _score(book, params, [("IA_AHE_5", True)], {"ruralClinician": True})
    assert rows["points"] == [30 * ONE] and out["percent"] == 75 * ONE  # medium 10 x 3 = 30 of 40


@pytest.mark.parametrize("year", ["2017", "2022"])
def test_one_entity_equals_batch(year: str) -> None:
    groups: dict[str, list[tuple[Any, ...]]] = {}  # one batch per program (its rulebook variant)
    for document, profile in submissions(int(year), 150, seed=11):
        submission = parse_submission(document)
        program = ((submission.sets[0].program if submission.sets else submission.program) or "mips").lower()
        book = load(year).for_program(program)
        params = ia_params(book)
        rows = ia_rows(book, submission, [])
        entity = ia_entity(check_profile(profile), params)
        one = OneEntity(rows)
        groups.setdefault(program, []).append((params, rows, entity, one, score(one, entity, params)))
    assert sum(item[3].size for items in groups.values() for item in items) > 100
    assert any(item[4]["doubled"] for items in groups.values() for item in items)
    for items in groups.values():
        batch = ia_batch([item[1] for item in items])
        out = score(batch, stack_entities([item[2] for item in items]), items[0][0])
        for i, (_, _, _, one, single) in enumerate(items):
            assert {k: int(v) for k, v in single.items()} == {k: int(out[k][i]) for k in single}
            for name, column in one.columns.items():
                assert list(batch[name][batch.starts[i]:batch.ends[i]]) == list(column), name
