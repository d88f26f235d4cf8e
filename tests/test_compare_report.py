"""`mips compare` as a report: each difference in final score between consecutive years split into parts that add up
to it exactly, largest first, each explained by the trace nodes and rules that differ, in words.

The submission (review/2020-individual-quality-ia-pi.json) scored by hand under each year's rules:
- Quality: 236/registry, rate 75 % (75 met of 100). Its registry benchmark is flat in every year from 2020 (deciles
  [0, 20, ..., 90], fact sheet §2.5) ⇒ decile 8 ⇒ 8.5 points of 60 ⇒ 14.166667 %; no bonus (it fills the outcome slot,
  no end-to-end reporting; 2022 has no bonuses at all).
- IA: IA_PSPA_6 high ⇒ 20 of 40 ⇒ 50 %.
- PI: 10 + 20 + 20 + 30 + public health 10 = 90 % in 2020 and 2021. In 2022 the SAFER Guides attestation (PI_PPHI_2)
  is required and must be answered (fact sheet §6.5); the submission has none ⇒ PI 0 %.
- Weights: 2020 Appendix A "Q + IA + PI" 55/0/15/30; 2021 Table 6 "No Cost" 55/0/15/30 (cost reweighted to 0 for
  everyone); 2022 table (F): "No Cost" 55/0/15/30 without cost measures, all four 30/30/15/25 with them.
- Cost (profile TPCC_1, 900 cases, score 1118.94): not scored in 2020 and 2021 (reweighted for all); in 2022 1118.94
  is decile 9's bound of the 2022 cost benchmark ⇒ 9.0 points ⇒ 90 %.
- Complex patient bonus (profile average HCC 1.5, dual ratio 0.2): 2020 and 2021 min(10, 2 × (1.5 + 5 × 0.2)) = 5;
  2022 needs the z-scores of the new formula (42 CFR 414.1380(c)(3)(v)-(viii)), which the profile lacks ⇒ 0.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.authoring.compare import compare
from engine.inputs.submission import read_submission
from engine.interfaces.cli import main

HERE = Path(__file__).resolve().parent
SUBMISSION = HERE / "review" / "2020-individual-quality-ia-pi.json"
COST = {"costMeasures": [{"measureId": "TPCC_1", "attributedCases": 900, "score": 1118.94}]}
BONUS = {"complexPatient": {"averageHccScore": 1.5, "dualEligibleRatio": 0.2}}


def _exact(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _years(profile: dict[str, Any]) -> dict[int, dict[str, Any]]:
    doc = compare(read_submission(SUBMISSION), ["2020", "2021", "2022"], profile)
    return {y["year"]: y for y in doc["years"]}


def _parts(column: dict[str, Any]) -> list[tuple[str, str | None, Decimal]]:
    return [(p["kind"], p["category"], _exact(p["amount"])) for p in column["attribution"]["parts"]]


def test_cost_scored_and_pi_requirement_new_in_2022_split_exactly_largest_first() -> None:
    years = _years(COST)
    # 2020: 7.791667 + 7.5 + 27 = 42.291667; 2021: the same; 2022: 14.166667 × 30/100 = 4.2500001 ⇒ 4.25,
    # + 90 × 30/100 = 27 + 7.5 + 0 = 38.75.
    assert [years[y]["final_score"] for y in (2020, 2021, 2022)] == [42.291667, 42.291667, 38.75]
    assert years[2021]["attribution"]["parts"] == []  # same final score: nothing to attribute
    attribution = years[2022]["attribution"]
    assert attribution["final_score"] == {"old": 42.291667, "new": 38.75, "difference": -3.541667}
    # cost score effect (90 − 0) × 30/100 = +27; PI score effect (0 − 90) × 25/100 = −22.5; PI weight effect
    # (25 − 30) × 90/100 = −4.5; quality weight effect (30 − 55) × 14.166667/100 = −3.54166675; quality's
    # contribution rounded to six decimals: (4.25 − 7.791667) − (−3.54166675) = −0.00000025. IA and the cost weight
    # effect ((30 − 0) × 0 %) are 0 and left out. Sum: −3.541667.
    assert _parts(years[2022]) == [("score", "cost", Decimal(27)), ("score", "pi", Decimal("-22.5")),
                                   ("weight", "pi", Decimal("-4.5")), ("weight", "quality", Decimal("-3.54166675")),
                                   ("rounding", "quality", Decimal("-0.00000025"))]
    assert sum(amount for *_, amount in _parts(years[2022])) == Decimal("-3.541667")
    pi = attribution["parts"][1]["causes"][0]
    assert (pi["node"], pi["old"], pi["new"], pi["new_reason"]) == ("pi.score", 90, 0, "answer_missing")
    assert pi["inputs"]["new"] == {"measure": "PI_PPHI_2"} and "SAFER" in pi["titles"]["PI_PPHI_2"]
    assert [(c["address"], c["kind"], c["new"]) for c in pi["changed_rules"]] == [
        ("pi.required_answers", "added", ["PI_PPHI_2"])]
    weights = attribution["parts"][2]["causes"]
    assert (weights[0]["old_reason"], weights[0]["old"], weights[0]["new"]) == ("No Cost", 30, 25)
    assert [c["node"] for c in weights[1:]] == ["cost.reweighted"]  # cost scored in 2022, the row follows
    # Payment before scaling: 2021 −9 × (60 − 42.291667)/60 = −2.65624995 ⇒ −2.65625; 2022 −9 × (75 − 38.75)/75 = −4.35.
    payment = attribution["payment"]
    assert (payment["old"]["adjustment_before_scaling"], payment["new"]["adjustment_before_scaling"]) == (-2.65625, -4.35)
    threshold = next(c for c in payment["changed_rules"] if c["address"] == "payment.performance_threshold")
    assert (threshold["old"], threshold["new"]) == (60, 75)


def test_the_complex_patient_bonus_removed_in_2022_is_its_own_part() -> None:
    years = _years(BONUS)
    # 2021: 42.291667 + 5 = 47.291667; 2022 (no cost measures: "No Cost" 55/0/15/30): 7.791667 + 7.5 + 0 + 0 =
    # 15.291667. Difference −32 = PI score effect (0 − 90) × 30/100 = −27, then the bonus 0 − 5 = −5.
    assert (years[2021]["final_score"], years[2022]["final_score"]) == (47.291667, 15.291667)
    assert _parts(years[2022]) == [("score", "pi", Decimal(-27)), ("bonus", None, Decimal(-5))]
    bonus = years[2022]["attribution"]["parts"][1]["causes"][0]
    assert (bonus["old"], bonus["new"], bonus["old_reason"], bonus["new_reason"]) == (5, 0, "formula", "no_inputs")
    changed = {c["address"]: c["kind"] for c in bonus["changed_rules"]}
    assert changed["bonuses.complex_patient"] == "changed" and changed["bonuses.multiplier"] == "removed"


def test_text_report_says_why_in_words_with_rules_and_citations(tmp_path: Path, capsys) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump(COST))
    assert main(["compare", str(SUBMISSION), "--years", "2021", "2022", "--profile", str(profile)]) == 0
    out = capsys.readouterr().out
    assert "2022 vs 2021: final score 42.2917 → 38.75 (-3.5417), largest part first" in out
    assert "weight effect = (new weight - old weight) x old score / 100" in out
    lines = out.splitlines()
    parts = [line for line in lines if line[:2] in ("1.", "2.", "3.", "4.", "5.")]
    assert parts[0].startswith("1. +27  Cost: score effect (0 % → 90 %)")
    assert parts[1].startswith("2. -22.5  Promoting Interoperability: score effect (90 % → 0 %)")
    assert any("pi.score: 90 → 0 (points → answer missing); the 2022 inputs: measure PI_PPHI_2 (High Priority "
               "Practices Guide of the Safety Assurance Factors for EHR" in line for line in lines)
    assert "rule that differs: pi.required_answers: new in 2022: PI_PPHI_2 (2022: rules/2022/pi.yaml:" in out
    assert "payment.performance_threshold: 60 → 75 (2021: rules/2021/payment.yaml:" in out
    rules = out.split("every rule used whose value differs, with its sources")[1]
    assert ('- weights (row used): row "No Cost" of weights.tables.table_6: quality 55 %, cost 0 %, ia 15 %, pi 30 % → '
            'row "All four performance categories scored" of weights.tables.redistribution_f: quality 30 %, cost 30 %, '
            'ia 15 %, pi 25 % [2021: rules/2021/weights.yaml:') in rules
    assert "Cost reweighted (not scored): yes → no (reweighted → scored)" in out
    assert not re.search(r'[{\[]"|"\w+":\s*[\[{"\d]', out)  # never raw JSON


def test_markdown_keeps_the_side_by_side_table_and_json_keeps_the_structure(capsys) -> None:
    assert main(["compare", str(SUBMISSION), "--years", "2021", "2022", "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert "|  | 2021 | 2022 |" in out and "## 2022 vs 2021: final score" in out
    assert main(["compare", str(SUBMISSION), "--years", "2021", "2022", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    second = doc["years"][1]
    assert second["differences_from"] == 2021 and second["attribution"]["to"] == 2022
    assert {"kind", "category", "what", "amount", "old", "new", "causes"} <= set(second["attribution"]["parts"][0])


SAMPLES = sorted(p for p in (HERE / "samples").glob("*.json") if "response" not in p.name)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_parts_add_up_to_the_difference_for_every_real_sample(sample: Path) -> None:
    doc = compare(read_submission(sample), ["2017", "2020", "2021", "2022"], {})
    for column in doc["years"]:
        if "attribution" not in column:
            continue
        attribution = column["attribution"]
        total = sum((_exact(p["amount"]) for p in attribution["parts"]), Decimal(0))
        assert total == _exact(attribution["final_score"]["difference"])
        amounts = [abs(_exact(p["amount"])) for p in attribution["parts"]]
        assert amounts == sorted(amounts, reverse=True) and all(amounts)
