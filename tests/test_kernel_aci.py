"""The 2017 Advancing Care Information kernel: hand-derived cases, and one entity == batch.

Rule values read here (rules/2017/pi.yaml): required_attestations ACI_INFBLO_1, ACI_ONCDIR_1; base_score 50;
base_exclusions (ACI_LVPP_1 stands in for ACI_EP_1, ...); performance_points decile_width 10 and
minimum_percent_above_zero 1; registry_bonus 5 (category registryBonus); cehrt_bonus 10 (ACI_IACEHRT_1);
maximum_points 100; set_choice best. CMS's 2017 data: the ACI set's required base measures are ACI_PPHI_1 (yes/no),
ACI_EP_1 (weight 0), ACI_PEA_1, ACI_HIE_1 and ACI_HIE_2 (weight 10); the transition set's ACI_TRANS_PPHI_1,
ACI_TRANS_EP_1 (weight 0), ACI_TRANS_PEA_1 and ACI_TRANS_HIE_1 (weight 20); ACI_PHCDRR_1 is a yes/no performance
measure of weight 10, ACI_PHCDRR_2 a registry-bonus measure.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine import load
from engine.inputs.submission import Issue, parse_submission
from engine.scoring.frame import stack_entities
from engine.scoring.kernels.aci import (
    ATTESTATION_MISSING,
    ATTESTATION_NO,
    BASE_NOT_EARNED,
    NO_SET,
    NONE,
    NOT_SUBMITTED,
    AciParams,
    aci_params,
    score,
)
from engine.scoring.kernels.aci_inputs import aci_entity
from tests.generate import submissions

ONE = 10**6  # the declared precision: six decimals
ATTESTED = [("ACI_INFBLO_1", True), ("ACI_ONCDIR_1", True)]
STANDARD_BASE = [("ACI_PPHI_1", True), ("ACI_EP_1", {"numerator": 1, "denominator": 2}),
                 ("ACI_PEA_1", {"numerator": 10, "denominator": 10}), ("ACI_HIE_1", {"numerator": 5, "denominator": 10}),
                 ("ACI_HIE_2", {"numerator": 1, "denominator": 10})]


@pytest.fixture(scope="module")
def book() -> Any:
    return load("2017")


@pytest.fixture(scope="module")
def params(book: Any) -> AciParams:
    return aci_params(book)


def _submission(measurements: list[tuple[str, Any]], entity_type: str = "individual", sets: int = 1) -> Any:
    return parse_submission({
        "entityType": entity_type, "taxpayerIdentificationNumber": "000000001", "nationalProviderIdentifier": "1000000001",
        "performanceYear": 2017, "measurementSets": [{
            "category": "aci", "submissionMethod": "electronicHealthRecord", "performanceStart": "2017-01-01",
            "performanceEnd": "2017-12-31", "measurements": [{"measureId": m, "value": v} for m, v in measurements]}
            for _ in range(sets)]})


def _score(book: Any, params: AciParams, measurements: list[tuple[str, Any]], issues: list[Issue] | None = None,
           **kw: Any) -> dict[str, Any]:
    entity = aci_entity(book, params, _submission(measurements, **kw), [] if issues is None else issues)
    return score(entity, params)


def test_params_come_from_the_rulebook(params: AciParams) -> None:
    assert (params.base, params.decile_width, params.minimum_percent) == (50 * ONE, 10 * ONE, 1)
    assert (params.registry_points, params.cehrt_points, params.maximum) == (5 * ONE, 10 * ONE, 100 * ONE)
    assert [name for name, _ in params.sets] == ["standard", "transition"]


def test_transition_set(book: Any, params: AciParams) -> None:
    # 47 % on the 20-point ACI_TRANS_PEA_1 is decile 5: 5 x 20 / 10 = 10; 2 % on ACI_TRANS_HIE_1 is decile 1: 2.
    # Base 50 + performance 12 = 62 (the rulebook's note: "47/100 on a 20-point measure earns 10 and 2/100 earns 2").
    out = _score(book, params, ATTESTED + [("ACI_TRANS_PPHI_1", True), ("ACI_TRANS_EP_1", {"numerator": 30, "denominator": 40}),
                                           ("ACI_TRANS_PEA_1", {"numerator": 47, "denominator": 100}),
                                           ("ACI_TRANS_HIE_1", {"numerator": 2, "denominator": 100})])
    assert (out["zero_reason"], out["set"], out["base"], out["performance"], out["bonus"]) == (NONE, 1, 50 * ONE, 12 * ONE, 0)
    assert (out["ACI_TRANS_PEA_1:decile"], out["ACI_TRANS_PEA_1:points"]) == (5, 10 * ONE)
    assert (out["ACI_TRANS_HIE_1:decile"], out["ACI_TRANS_HIE_1:points"]) == (1, 2 * ONE)
    assert "ACI_TRANS_EP_1:points" not in out  # weight 0: it earns no performance points
    assert (out["percent"], out["submitted"]) == (62 * ONE, True)


@pytest.mark.parametrize("numerator,decile", [(1, 1), (4, 1), (5, 1), (0, 0), (104, 1), (105, 2), (1000, 10)])
def test_rate_deciles(book: Any, params: AciParams, numerator: int, decile: int) -> None:
    # ACI_HIE_3 (weight 10) of 1000: 0.1 % and 0.4 % (0 % once rounded) count as 1 %, decile 1; 0.5 % rounds half up to
    # 1 %; 0 % is decile 0; 10.4 % rounds to 10 % (decile 1), 10.5 % to 11 % (decile 2); 100 % is decile 10.
    # Points: decile x 10 / 10.
    out = _score(book, params, ATTESTED + STANDARD_BASE + [("ACI_HIE_3", {"numerator": numerator, "denominator": 1000})])
    assert out["zero_reason"] == NONE and out["ACI_HIE_3:listed"]
    assert (out["ACI_HIE_3:decile"], out["ACI_HIE_3:points"]) == (decile, decile * ONE)


def test_standard_set_with_an_exclusion_bonuses_and_the_cap(book: Any, params: AciParams) -> None:
    # ACI_EP_1 left out but excluded by ACI_LVPP_1: base 50. PEA_1 100 % (10) + HIE_1 50 % (5) + HIE_2 10 % (1)
    # + ACI_PHCDRR_1 yes (10) = 26; registry bonus 5 + CEHRT bonus 10 = 15. 50 + 26 + 15 = 91.
    measurements = ATTESTED + [m for m in STANDARD_BASE if m[0] != "ACI_EP_1"] + [
        ("ACI_LVPP_1", True), ("ACI_PHCDRR_1", True), ("ACI_PHCDRR_2", True), ("ACI_IACEHRT_1", True)]
    out = _score(book, params, measurements)
    assert (out["base"], out["performance"], out["bonus"], out["percent"]) == (50 * ONE, 26 * ONE, 15 * ONE, 91 * ONE)
    assert out["registry_bonus"] and out["cehrt_bonus"] and out["ACI_PHCDRR_1:decile"] == -1
    # Three more measures at 100 % (ACI_PEA_2, ACI_HIE_3, ACI_CCTPE_1: 30 more) pass 100: capped.
    more = [(m, {"numerator": 3, "denominator": 3}) for m in ("ACI_PEA_2", "ACI_HIE_3", "ACI_CCTPE_1")]
    out = _score(book, params, measurements + more)
    assert (out["points"], out["percent"]) == (121 * ONE, 100 * ONE)


def test_best_set_and_a_tie(book: Any, params: AciParams) -> None:
    # Both sets complete: standard 50 + 10 (PEA_1 100 %) + 5 (HIE_1 50 %) + 1 (HIE_2 10 %) = 66; transition
    # 50 + 20 + 20 (both 100 %) = 90: the transition set.
    full = {"numerator": 1, "denominator": 1}
    transition = [("ACI_TRANS_PPHI_1", True), ("ACI_TRANS_EP_1", full), ("ACI_TRANS_PEA_1", full), ("ACI_TRANS_HIE_1", full)]
    out = _score(book, params, ATTESTED + STANDARD_BASE + transition)
    assert (out["set"], out["percent"]) == (1, 90 * ONE)
    assert out["ACI_PEA_1:points"] == 0 and not out["ACI_PEA_1:listed"]  # the other set's measures are not shown
    # Standard 50 + 10 + 1 + 1 = 62 (HIE_1 and HIE_2 at 10 %); transition 50 + 10 (PEA 50 %: 5 x 20 / 10) + 2 (HIE 10 %)
    # = 62: on equal totals the standard set.
    standard = STANDARD_BASE[:3] + [("ACI_HIE_1", {"numerator": 1, "denominator": 10}),
                                    ("ACI_HIE_2", {"numerator": 1, "denominator": 10})]
    transition = transition[:2] + [("ACI_TRANS_PEA_1", {"numerator": 1, "denominator": 2}),
                                   ("ACI_TRANS_HIE_1", {"numerator": 1, "denominator": 10})]
    out = _score(book, params, ATTESTED + standard + transition)
    assert (out["set"], out["percent"], out["ACI_HIE_1:points"]) == (0, 62 * ONE, ONE)


def test_zero_reasons(book: Any, params: AciParams) -> None:
    # No ACI set: not submitted. An attestation missing or answered no, no measure of either set, a required base
    # measure missing: 0 %, submitted.
    out = score(aci_entity(book, params, parse_submission({"entityType": "individual", "performanceYear": 2017,
                                                            "taxpayerIdentificationNumber": "000000001",
                                                            "nationalProviderIdentifier": "1000000001",
                                                            "measurementSets": []}), []), params)
    assert (out["zero_reason"], out["submitted"], out["percent"]) == (NOT_SUBMITTED, False, 0)
    out = _score(book, params, [("ACI_INFBLO_1", True)] + STANDARD_BASE)
    assert (out["zero_reason"], params.ids[out["zero_subject"]], out["submitted"]) == (ATTESTATION_MISSING, "ACI_ONCDIR_1", True)
    out = _score(book, params, [("ACI_INFBLO_1", False), ("ACI_ONCDIR_1", True)] + STANDARD_BASE)
    assert (out["zero_reason"], params.ids[out["zero_subject"]]) == (ATTESTATION_NO, "ACI_INFBLO_1")
    assert _score(book, params, ATTESTED + [("ACI_IACEHRT_1", True)])["zero_reason"] == NO_SET
    out = _score(book, params, ATTESTED + STANDARD_BASE[1:] + [("ACI_PHCDRR_2", True), ("ACI_IACEHRT_1", True)])
    assert (out["zero_reason"], out["set"], out["ACI_PPHI_1:missing"], out["percent"], out["bonus"]) == (
        BASE_NOT_EARNED, 0, True, 0, 0)


def test_input_issues(book: Any, params: AciParams) -> None:
    issues: list[Issue] = []
    _score(book, params, ATTESTED + [("ACI_NOPE", True), ("ACI_PPHI_1", {"numerator": 1, "denominator": 1}),
                                     ("ACI_PEA_1", {"numerator": 3, "denominator": 2})], issues)
    assert [i.message for i in issues] == [
        "ACI_NOPE is not a 2017 Advancing Care Information measure",
        "measure ACI_PPHI_1 not scored: expected true or false, found {'denominator': 1, 'numerator': 1}",
        "measure ACI_PEA_1 not scored: numerator 3 exceeds denominator 2"]
    issues = []
    out = _score(book, params, ATTESTED + STANDARD_BASE, issues, entity_type="apm")
    assert out["submitted"] is False and "may not submit" in issues[0].message


def test_one_entity_equals_batch(book: Any, params: AciParams) -> None:
    entities, singles = [], []
    for document, _ in submissions(2017, 300, seed=9):
        entity = aci_entity(book, params, parse_submission(document), [])
        entities.append(entity)
        singles.append(score(entity, params))
    out = score(stack_entities(entities), params)
    assert {s["zero_reason"] for s in singles} >= {NONE, NOT_SUBMITTED, BASE_NOT_EARNED}
    for i, single in enumerate(singles):
        assert {k: int(v) for k, v in single.items()} == {k: int(out[k][i]) for k in single}
