"""The Promoting Interoperability kernel (``measure_points``) on hand-worked cases, and one entity == a batch."""

from __future__ import annotations

import random
from functools import cache
from typing import Any

import numpy as np
import pytest

from engine import load
from engine.inputs.submission import Issue, parse_submission
from engine.rules.model import Rulebook
from engine.scoring.kernels import pi as K
from engine.scoring.kernels.pi_inputs import pi_entity, pi_issues, stack

ONE = 10**6  # the declared precision of 2020-2022 (program.precision: 6 decimals)
YES = True


@cache
def book(year: int, what_if: tuple[tuple[str, Any], ...] = ()) -> Rulebook:
    return load(year, overrides=dict(what_if) or None)


def run(year: int, measures: dict[str, Any], what_if: tuple[tuple[str, Any], ...] = (), cehrt: bool = True,
        attest: bool = True) -> tuple[K.PiParams, dict[str, Any], list[Issue]]:
    """Score one PI set (the year's required attestations answered yes unless ``attest`` is False)."""
    b = book(year, what_if)
    p = K.pi_params(b)
    values = {**({a: YES for a in p.attestations} if attest else {}), **measures}
    ms = [{"measureId": k, "value": {"numerator": v[0], "denominator": v[1]} if isinstance(v, tuple) else v}
          for k, v in values.items() if v is not None]  # None: not reported
    pi_set: dict[str, Any] = {"category": "pi", "submissionMethod": "electronicHealthRecord", "measurements": ms}
    if cehrt:
        pi_set["cehrtId"] = "0015E8XXXXXXXXX"
    sub = parse_submission({"entityType": "individual", "performanceYear": year, "measurementSets": [pi_set]})
    issues: list[Issue] = []
    entity = pi_entity(b, p, sub, issues)
    out = K.score(entity, p)
    return p, out, issues + pi_issues(p, entity, out)


FULL_2020 = {"PI_EP_1": (1, 1), "PI_HIE_1": (1, 1), "PI_HIE_4": (1, 1), "PI_PEA_1": (1, 1), "PI_PHCDRR_1": YES,
             "PI_PHCDRR_2": YES}


def test_exclusion_redistributes_its_points_and_half_rounds_up() -> None:
    # rules/2020/pi.yaml: PI_LVPP_1 excludes PI_EP_1 (10 points) and redistributes {PI_HIE_1: 5, PI_HIE_4: 5}: both
    # HIE measures are worth 20 + 5 = 25. PI_HIE_4 50/100 x 25 = 12.5, rounding half_up -> 13. PI_HIE_1 25, PI_PEA_1
    # 40, public health 2 x 5 = 10 (points_per_yes 5, objective 10): 25 + 13 + 40 + 10 = 88.
    p, out, _ = run(2020, {**FULL_2020, "PI_EP_1": None, "PI_LVPP_1": YES, "PI_HIE_4": (50, 100)})
    assert out["PI_LVPP_1:claimed"] and out["PI_EP_1:status"] == K.EXCLUDED and out["PI_EP_1:points"] == 0
    assert out["PI_HIE_1:available"] == out["PI_HIE_4:available"] == 25 * ONE
    assert (out["PI_HIE_1:points"], out["PI_HIE_4:points"]) == (25 * ONE, 13 * ONE)
    assert out["public_health"] == 10 * ONE and out["percent"] == 88 * ONE and out["zero_reason"] == K.NONE


def test_half_even_rounds_a_half_to_the_even_point() -> None:
    # The same submission with pi.rounding = half_even: 12.5 -> 12, so 25 + 12 + 40 + 10 = 87.
    _, out, _ = run(2020, {**FULL_2020, "PI_EP_1": None, "PI_LVPP_1": YES, "PI_HIE_4": (50, 100)},
                    (("pi.rounding", "half_even"),))
    assert out["PI_HIE_4:points"] == 12 * ONE and out["percent"] == 87 * ONE


def test_an_exact_half_is_a_half() -> None:
    # PI_LVOTC_1 moves PI_HIE_1's 20 points to PI_PEA_1: 40 + 20 = 60; 13/120 x 60 = 6.5 exactly -> 7 (half_up).
    # (A 28-digit decimal quotient 13/120 = 0.1083..3 makes it 6.4999..98, which the current path rounds to 6.)
    _, out, _ = run(2020, {**FULL_2020, "PI_HIE_1": None, "PI_LVOTC_1": YES, "PI_PEA_1": (13, 120)})
    assert out["PI_PEA_1:available"] == 60 * ONE and out["PI_PEA_1:points"] == 7 * ONE
    assert out["percent"] == (10 + 20 + 7 + 10) * ONE


def test_a_numerator_of_one_earns_the_minimum_point() -> None:
    # PI_EP_1 1/1000 x 10 = 0.01 -> 0, raised to pi.minimum_points_with_numerator 1: 1 + 20 + 20 + 40 + 10 = 91.
    _, out, _ = run(2020, {**FULL_2020, "PI_EP_1": (1, 1000)})
    assert (out["PI_EP_1:status"], out["PI_EP_1:points"]) == (K.RATE_MINIMUM, ONE) and out["percent"] == 91 * ONE


def test_public_health_single_yes_with_exclusion_and_all_excluded() -> None:
    # One "yes" and an exclusion: single_yes_with_exclusion_points 10 (not 5).
    _, out, _ = run(2020, {**FULL_2020, "PI_PHCDRR_2": None, "PI_PHCDRR_2_EX_1": YES})
    assert out["public_health"] == 10 * ONE and out["percent"] == 100 * ONE
    # No "yes", exclusions only: the objective's 10 points go to all_excluded_to PI_PEA_1 (40 + 10 = 50); 25/100 x 50.
    _, out, _ = run(2020, {**FULL_2020, "PI_PHCDRR_1": None, "PI_PHCDRR_2": None, "PI_PHCDRR_1_EX_1": YES,
                           "PI_PEA_1": (25, 100)})
    assert out["public_health"] == 0 and out["PI_PEA_1:available"] == 50 * ONE
    assert out["PI_PEA_1:points"] == 13 * ONE  # 12.5 -> 13


def test_bonuses_and_the_cap() -> None:
    # rules/2022/pi.yaml: every measure in full (10 + 20 + 20 + 40), both required registries 2 x 5, one optional
    # registry bonus_any 5 and PI_EP_2 10 = 115 points, capped at maximum_points 100.
    full = {"PI_PPHI_2": False, "PI_EP_1": (5, 5), "PI_HIE_1": (5, 5), "PI_HIE_4": (5, 5), "PI_PEA_1": (5, 5),
            "PI_PHCDRR_1": YES, "PI_PHCDRR_3": YES, "PI_PHCDRR_4": YES, "PI_PHCDRR_5": YES, "PI_EP_2": YES}
    _, out, _ = run(2022, full)
    assert (out["points"], out["percent"]) == (115 * ONE, 100 * ONE)
    assert out["public_health_bonus"] == 5 * ONE and out["PI_EP_2:points"] == 10 * ONE


def test_bidirectional_exchange_replaces_both_referral_measures() -> None:
    # rules/2021/pi.yaml: PI_HIE_5 "yes" (40) substitutes PI_HIE_1 and PI_HIE_4; a reported PI_HIE_1 is not scored.
    p, out, issues = run(2021, {**FULL_2020, "PI_HIE_4": None, "PI_HIE_5": YES})
    for other in ("PI_HIE_1", "PI_HIE_4"):
        assert out[f"{other}:status"] == K.SUBSTITUTED and p.ids[out[f"{other}:substituted_by"]] == "PI_HIE_5"
    assert out["PI_HIE_5:points"] == 40 * ONE and out["percent"] == (10 + 40 + 40 + 10) * ONE
    assert [i.message for i in issues] == ["PI_HIE_1 may not be reported with PI_HIE_5, which replaces it; "
                                           "PI_HIE_5 is scored"]
    assert [(i.code, i.severity) for i in issues] == [("substitute_conflict", "warning")]


@pytest.mark.parametrize("year, change, reason, subject", [
    (2020, {"PI_INFBLO_1": False}, K.ATTESTATION_NO, "PI_INFBLO_1"),
    (2020, {"PI_PEA_1": (0, 10)}, K.NUMERATOR_ZERO, "PI_PEA_1"),
    (2020, {"PI_HIE_4": None}, K.MEASURE_MISSING, "PI_HIE_4"),
    (2021, {"PI_HIE_1": None, "PI_HIE_4": None, "PI_HIE_5": False}, K.SUBSTITUTE_NO, "PI_HIE_5"),
    (2022, {"PI_PHCDRR_1": None, "PI_PHCDRR_2": None}, K.ANSWER_MISSING, "PI_PPHI_2"),
    (2022, {"PI_PPHI_2": True, "PI_PHCDRR_1": None, "PI_PHCDRR_2": None}, K.PUBLIC_HEALTH_MISSING, None),
])
def test_zero_reasons(year: int, change: dict[str, Any], reason: int, subject: str | None) -> None:
    p, out, _ = run(year, {**FULL_2020, **change})
    assert (out["percent"], out["submitted"], out["zero_reason"]) == (0, True, reason)
    assert out["zero_subject"] == (p.at(subject) if subject else -1)


def test_no_set_no_cehrt_id_and_no_attestation() -> None:
    assert run(2020, {}, cehrt=False)[1]["zero_reason"] == K.NO_CEHRT_ID
    p, out, _ = run(2020, FULL_2020, attest=False)
    assert out["zero_reason"] == K.ATTESTATION_MISSING and p.ids[out["zero_subject"]] == p.attestations[0]
    b = book(2020)
    p = K.pi_params(b)
    sub = parse_submission({"entityType": "individual", "performanceYear": 2020, "measurementSets": []})
    out = K.score(pi_entity(b, p, sub, []), p)
    assert (out["submitted"], out["zero_reason"], out["percent"]) == (False, K.NOT_SUBMITTED, 0)


def test_bad_records_become_issues() -> None:
    _, out, issues = run(2020, {**FULL_2020, "PI_EP_1": (5, 3), "PI_XYZ_1": YES, "PI_ONCACB_1": YES})
    assert [i.message for i in issues] == [
        "measure PI_EP_1 not scored: numerator 5 exceeds denominator 3",
        "PI_XYZ_1 is not a 2020 Promoting Interoperability measure",
        "PI_ONCACB_1 is in CMS's 2020 measure data but no rule of this rulebook scores it; it is not counted"]
    assert [(i.code, i.severity) for i in issues] == [
        ("value_invalid", "error"), ("measure_unknown", "error"), ("record_unscored", "error")]
    assert out["zero_reason"] == K.MEASURE_MISSING  # PI_EP_1 was not scored, so the required measure is missing


def _random_entity(rng: random.Random, p: K.PiParams) -> dict[str, Any]:
    entity: dict[str, Any] = {"sets": rng.random() < 0.95, "cehrt_missing": rng.random() < 0.05}
    for name in p.ids:
        present = rng.random() < (0.97 if name in p.attestations else 0.8 if name in [m.id for m in p.measures] else 0.3)
        answer = rng.random() < 0.5  # a yes/no answer, else counts
        den = rng.choice([0, 1, 2, 3, 7, 8, 24, 120, 1000, rng.randint(1, 10**9)])
        num = rng.choice([0, 1, den, den // 2, den // 8, rng.randint(0, den)])
        yes = present and answer and rng.random() < 0.7
        counts = present and not answer
        entity.update({f"{name}:present": present, f"{name}:yes": yes, f"{name}:no": present and answer and not yes,
                       f"{name}:num": num if counts else 0, f"{name}:den": den if counts else 0})
    return entity


@pytest.mark.parametrize("year, what_if", [(2020, ()), (2021, (("pi.substitute_answered_no", "no_points"),)),
                                           (2022, (("pi.rounding", "half_even"),))])
def test_one_entity_equals_a_batch(year: int, what_if: tuple[tuple[str, Any], ...]) -> None:
    p = K.pi_params(book(year, what_if))
    rng = random.Random(f"pi-kernel-{year}")
    entities = [_random_entity(rng, p) for _ in range(300)]
    singles = [K.score(e, p) for e in entities]
    batch = K.score(stack(entities), p)
    assert set(batch) == set(singles[0])
    for key, column in batch.items():
        assert isinstance(column, np.ndarray) and column.shape == (len(entities),), key
        assert [int(s[key]) for s in singles] == column.tolist(), key
    assert all(0 <= s["percent"] <= p.maximum for s in singles)
    assert len({s["zero_reason"] for s in singles}) >= 5  # the generator reaches most of the checks
