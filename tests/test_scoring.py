"""Scoring through the Python API: submissions in every accepted form, refusals, PI arithmetic, payment."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import explain, load, score
from engine.base.errors import OverrideError, RulebookErrors, SubmissionError
from engine.base.schemas import validator

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "2020-individual-quality-ia-pi.json"
PI_ONLY_WE14 = {
    "entityType": "group", "taxpayerIdentificationNumber": "000111222", "performanceYear": 2020,
    "measurementSets": [{
        "category": "pi", "submissionMethod": "electronicHealthRecord", "cehrtId": "0015H8ABCD12345",
        "measurements": [
            {"measureId": "PI_PPHI_1", "value": True}, {"measureId": "PI_INFBLO_1", "value": True},
            {"measureId": "PI_ONCDIR_1", "value": True},
            {"measureId": "PI_EP_1", "value": {"numerator": 49, "denominator": 115}},
            {"measureId": "PI_HIE_1", "value": {"numerator": 1123, "denominator": 1951}},
            {"measureId": "PI_HIE_4", "value": {"numerator": 923, "denominator": 951}},
            {"measureId": "PI_PEA_1", "value": {"numerator": 861, "denominator": 1809}},
            {"measureId": "PI_PHCDRR_1", "value": True},
        ],
    }],
}


@pytest.fixture(scope="module")
def book():
    return load(2020)


def test_pi_points_round_to_whole_numbers_as_in_cms_example(book) -> None:
    # CMS scoring example: 4 + 12 + 19 + 19 + public health; here one registry (5): 59 points.
    result = score(PI_ONLY_WE14, book)
    assert result.category("pi")["percent"] == 4 + 12 + 19 + 19 + 5


def test_pi_one_point_minimum_with_a_numerator(book) -> None:
    doc = copy.deepcopy(PI_ONLY_WE14)
    doc["measurementSets"][0]["measurements"][3]["value"] = {"numerator": 1, "denominator": 300}
    result = score(doc, book)
    assert result.category("pi")["percent"] == 1 + 12 + 19 + 19 + 5


def test_result_document_matches_its_schema(book) -> None:
    document = score(EXAMPLE, book).document
    errors = list(validator("result.schema.json").iter_errors(document))
    assert not errors, errors[0].message
    assert document["reference_data"]["version"] == "v11.1.0"
    assert json.loads(json.dumps(document)) == document


def test_every_trace_node_names_rules_the_rulebook_has(book) -> None:
    document = score(EXAMPLE, book).document
    for node in document["trace"]:
        for address in node["rules"]:
            assert address in document["rules"], (node["id"], address)
    final = next(n for n in document["trace"] if n["id"] == "final_score")
    assert final["value"] == document["final_score"]


def test_explanation_shows_each_number_with_its_rule(book) -> None:
    text = explain(score(EXAMPLE, book, profile={"smallGroupPractitioner": True}))
    assert "- 236 Controlling High Blood Pressure (MIPS CQM): 8.25 points + 2 bonus\n" \
           "    72.5% is in decile 8, which runs from 70% to 80%" in text
    assert "] weights.tables.appendix_a (rules/2020/weights.yaml:" in text
    assert "(PI_HIE_1): 12 points (1,123 / 1,951 x 20 = 11.51, rounded to 12)" in text


@pytest.mark.parametrize("final,band,adjustment", [
    (Decimal("11.25"), "maximum_negative", Decimal(-9)),
    (Decimal("11.26"), "negative", Decimal(-9) * Decimal("33.74") / 45),
    (Decimal(45), "neutral", Decimal(0)),
    (Decimal(100), "positive_exceptional", Decimal(9)),
])
def test_payment_scale_with_the_cliff_at_a_quarter_of_the_threshold(book, final, band, adjustment) -> None:
    from engine.base.exact import ScalarOps
    from engine.scoring import columnar
    from engine.scoring.fixed import precision
    from engine.scoring.kernels.final import BANDS, payment

    p = precision(book)
    result = payment(ScalarOps, columnar.compiled(book).final, p.fixed(final))
    assert BANDS[result["band"]] == band
    assert abs(p.decimal(result["adjustment_before_scaling"]) - adjustment) <= Decimal("0.000001")
    if band == "positive_exceptional":
        assert p.decimal(result["exceptional_before_scaling"]) == 10


def test_wrapped_and_measurement_set_forms_score_alike(book) -> None:
    bare = json.loads(EXAMPLE.read_text())
    wrapped = score({"data": {"submission": bare}}, book).document
    assert wrapped["final_score"] == score(bare, book).document["final_score"]
    quality = bare["measurementSets"][0]
    header = {k: bare[k] for k in ("entityType", "taxpayerIdentificationNumber", "nationalProviderIdentifier",
                                   "performanceYear")}
    request = score({**quality, "submission": header}, book).document
    assert request["categories"]["quality"]["percent"] == wrapped["categories"]["quality"]["percent"]


def test_bad_measurement_is_reported_and_the_rest_scored(book) -> None:
    doc = json.loads(EXAMPLE.read_text())
    doc["measurementSets"][0]["measurements"][0]["value"]["performanceNotMet"] = -5
    document = score(doc, book).document
    assert document["issues"][0]["path"] == "$.measurementSets[0].measurements[0]"
    assert "performanceNotMet is -5; expected a number from 0 to 1000000000" in document["issues"][0]["message"]
    assert (document["issues"][0]["code"], document["issues"][0]["severity"]) == ("value_invalid", "error")
    assert [m["measure_id"] for m in document["categories"]["quality"]["detail"]["measures"]].count("236") == 0
    assert document["categories"]["pi"]["percent"] == 69


def test_unsupported_program_is_refused_not_scored(book) -> None:
    doc = json.loads(EXAMPLE.read_text())
    for measurement_set in doc["measurementSets"]:
        measurement_set["programName"] = "cpcPlus"
    with pytest.raises(SubmissionError, match="program 'cpcPlus' is not scored by this rulebook"):
        score(doc, book)


def test_sets_of_different_programs_are_refused(book) -> None:
    doc = json.loads(EXAMPLE.read_text())
    doc["measurementSets"][0]["programName"] = "app1"  # the other sets default to mips
    with pytest.raises(SubmissionError, match=r"measurement sets name different programs \(app1, mips\)"):
        score(doc, book)


def test_year_without_rulebook_is_refused() -> None:
    doc = json.loads(EXAMPLE.read_text())
    doc["performanceYear"] = 2019
    with pytest.raises(SubmissionError, match="performance year 2019 has no rulebook"):
        score(doc)


def test_header_errors_name_the_json_path() -> None:
    doc = json.loads(EXAMPLE.read_text())
    doc["performanceYear"] = "< performanceYearToBeReported >"
    with pytest.raises(SubmissionError, match=r"at \$/performanceYear|at \$\.performanceYear"):
        score(doc)


def test_files_of_one_entity_merge_and_different_entities_are_refused(tmp_path: Path, book) -> None:
    bare = json.loads(EXAMPLE.read_text())
    parts = []
    for index, measurement_set in enumerate(bare["measurementSets"]):
        path = tmp_path / f"part{index}.json"
        path.write_text(json.dumps({**bare, "measurementSets": [measurement_set]}))
        parts.append(path)
    assert score(parts, book).document["final_score"] == score(bare, book).document["final_score"]
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**bare, "nationalProviderIdentifier": "1111111111"}))
    with pytest.raises(SubmissionError, match="entity or year differs"):
        score([parts[0], other], book)


def test_an_eligibility_api_response_is_a_profile(tmp_path: Path, book) -> None:
    response = {"data": {"organizations": [{"TIN": "000456789", "individualScenario": {
        "smallGroupPractitioner": True, "ruralClinician": False, "aciHardship": True, "isFacilityBased": False}}]}}
    path = tmp_path / "eligibility.json"
    path.write_text(json.dumps(response))
    result = score(EXAMPLE, book, profile=path).document
    # smallGroupPractitioner carried over: the 6-point small-practice bonus (two high activities earn 40 anyway).
    assert result["categories"]["quality"]["detail"]["bonus"]["small_practice"] == 6
    assert result["categories"]["ia"]["percent"] == 100


def test_an_eligibility_response_fact_needing_detail_is_refused(tmp_path: Path, book) -> None:
    from engine.base.errors import ProfileError

    response = {"data": {"organizations": [{"individualScenario": {"isFacilityBased": True}}]}}
    path = tmp_path / "eligibility.json"
    path.write_text(json.dumps(response))
    with pytest.raises(ProfileError, match="isFacilityBased is true.*facilityBased.qualityScore"):
        score(EXAMPLE, book, profile=path)


@pytest.mark.parametrize("precision,points", [("exact", 4.333333), ("two_decimals", 4.333)])
def test_rate_precision_is_a_rulebook_option(precision: str, points: float) -> None:
    # 236 registry 2020 deciles start at 0, 20, 30, 40, ...: 7/21 = 33.33... % is in decile 4 (30 to 40),
    # exact: 4 + 3.333.../10 = 4.3333...; rounded to 33.33 %: 4 + 3.33/10 = 4.333.
    doc = {"entityType": "group", "taxpayerIdentificationNumber": "000111222", "performanceYear": 2020,
           "measurementSets": [{"category": "quality", "submissionMethod": "registry", "measurements": [
               {"measureId": "236", "value": {"isEndToEndReported": False, "performanceMet": 7,
                                              "performanceNotMet": 14, "eligiblePopulation": 21}}]}]}
    result = score(doc, load(2020, {"quality.rate_precision": precision}))
    measure = result.category("quality")["detail"]["measures"][0]
    assert round(measure["points"], 6) == points


def test_a_measure_sent_twice_by_one_collection_type_is_reported_and_scored_once() -> None:
    # 2020 registry 236 at 75/100 in two quality sets: decile 8 => 8.5 points (2020 benchmark; see the golden
    # case topped_out_cap_7), counted once as the required outcome measure: 8.5 / 60 x 100 = 14.1667 %.
    measurement = {"measureId": "236", "value": {"isEndToEndReported": False, "performanceMet": 75,
                                                 "performanceNotMet": 25, "eligiblePopulation": 100}}
    quality_set = {"category": "quality", "submissionMethod": "registry", "programName": "mips",
                   "measurements": [measurement]}
    doc = {"entityType": "individual", "taxpayerIdentificationNumber": "000000001",
           "nationalProviderIdentifier": "1000000001", "performanceYear": 2020,
           "measurementSets": [quality_set, quality_set]}
    result = score(doc, 2020)
    assert [i["path"] for i in result.document["issues"]] == ["$.measurementSets[1].measurements[0]"]
    assert "already submitted at $.measurementSets[0].measurements[0]" in result.document["issues"][0]["message"]
    assert ({k: result.document["issues"][0][k] for k in ("code", "severity")}
            == {"code": "measurement_duplicate", "severity": "warning"})
    assert round(result.category("quality")["percent"], 4) == 14.1667


def test_a_2017_facility_score_does_not_make_quality_submitted() -> None:
    # 2017 had no facility-based scoring (rules/2017/quality.yaml facility_based enabled: false). An individual in
    # a disaster area (automatic EUC) with only improvement activities is scored on one category, so the final
    # score is the performance threshold, 3 — with or without a facility score in the profile.
    doc = {"entityType": "individual", "taxpayerIdentificationNumber": "000000001",
           "nationalProviderIdentifier": "1000000001", "performanceYear": 2017,
           "measurementSets": [{"category": "ia", "submissionMethod": "registry", "programName": "mips",
                                "measurements": [{"measureId": "IA_EPA_1", "value": True}]}]}
    plain = score(doc, 2017, profile={"eucDisasterArea": True})
    facility = score(doc, 2017, profile={"eucDisasterArea": True, "facilityBased": {"qualityScore": 90}})
    assert plain.final_score == facility.final_score == 3
    assert facility.document["neutral"] is True


def test_a_certified_medical_home_is_a_credit_of_the_rulebook() -> None:
    # rules/2020/ia.yaml credits.pcmh: the profile's pcmh earns IA 100 % with no activity attested, as a credit
    # node of its own; from the (absent) activities alone the category scores 0 %.
    doc = json.loads(EXAMPLE.read_text())
    doc["measurementSets"] = [s for s in doc["measurementSets"] if s["category"] != "ia"]
    result = score(doc, 2020, profile={"pcmh": True})
    nodes = {n["id"]: n for n in result.document["trace"]}
    assert result.category("ia")["percent"] == 100 and result.category("ia")["reweighted"] is False
    assert nodes["ia.score"]["value"] == 0 and nodes["ia.credit"]["rules"] == ["ia.credits.pcmh", "ia.credits.pcmh.percent"]
    # The credit's percent, as the node cites it, is a what-if address: quality (41.1312 + 4) / 60 = 75.218667 % x 55 %
    # = 41.370267 (no small-practice bonus in this profile), PI 20.7, no complex patient bonus; IA 100 % x 15 % = 15
    # gives 77.070267, a credit of 50 % gives 7.5 and 69.570267.
    assert result.final_score == 77.070267
    assert score(doc, 2020, profile={"pcmh": True}, overrides={"ia.credits.pcmh.percent": 50}).final_score == 69.570267
    with pytest.raises(RulebookErrors, match="expected number, found a string 'abc'") as broken:
        score(doc, 2020, profile={"pcmh": True}, overrides={"ia.credits.pcmh.percent": "abc"})
    assert broken.value.errors[0].location.pointer == "/credits/0/percent"


@pytest.mark.parametrize(("condition", "bonus", "final"), [
    # The bundled small practice submits 6 scorable quality measures: achievement 41.1312, outcome/high-priority
    # bonus 4, denominator 60; IA 15, PI 20.7 and the complex patient bonus 6.6 are untouched by the condition.
    # Holds: (41.1312 + 4 + 6) / 60 = 85.218667 %, x 55 % = 46.870267; + 15 + 20.7 + 6.6 = 89.170267.
    ("smallGroupPractitioner and measures_submitted >= 6", 6, 89.170267),
    # Fails: (41.1312 + 4) / 60 = 75.218667 %, x 55 % = 41.370267; + 15 + 20.7 + 6.6 = 83.670267.
    ("smallGroupPractitioner and measures_submitted >= 7", 0, 83.670267),
])
def test_small_practice_bonus_condition_is_the_rulebooks(condition: str, bonus: int, final: float) -> None:
    profile = EXAMPLE.parent / "2020-small-practice.yaml"
    result = score(EXAMPLE, overrides={"quality.small_practice_bonus_when": condition}, profile=profile)
    nodes = result.trace.nodes
    assert result.final_score == final
    assert nodes["quality.score"].inputs["bonus"].get("small_practice", 0) == bonus
    assert ("quality.bonus.small_practice" in nodes) == bool(bonus)
    if bonus:
        assert nodes["quality.bonus.small_practice"].rules[:2] == ("quality.small_practice_bonus",
                                                                  "quality.small_practice_bonus_when")
        assert nodes["quality.bonus.small_practice"].inputs == {"measures_submitted": 6}


def test_a_tables_condition_is_a_what_if_address() -> None:
    # The weight nodes cite the chosen table's condition (weights.tables.<id>.applies_when): a what-if on that address
    # moves the bundled individual from Appendix A (55 / 0 / 15 / 30) to the APM scoring standard's row
    # "APM scoring standard default" (rules/2020/weights.yaml: 50 / 0 / 20 / 30). Quality 85.218667 % (as derived
    # above) x 50 % = 42.6093335, 42.609334 at six decimals half up; + 100 x 20 % + 69 x 30 % + 6.6 = 89.909334.
    result = score(EXAMPLE, profile=EXAMPLE.parent / "2020-small-practice.yaml", overrides={
        "weights.tables.appendix_a.applies_when": "entity_type == 'nobody'",
        "weights.tables.apm_scoring_standard.applies_when": "entity_type in ('apm', 'individual')"})
    assert result.final_score == 89.909334
    assert result.document["reweighting"]["row"] == "APM scoring standard default"
    assert result.trace.nodes["quality.weight"].rules[:2] == ("weights.tables.apm_scoring_standard",
                                                             "weights.tables.apm_scoring_standard.applies_when")
    with pytest.raises(OverrideError, match="replaced by its expression"):
        score(EXAMPLE, overrides={"weights.tables.appendix_a.applies_when": None})
    with pytest.raises(RulebookErrors) as broken:  # located at the condition itself, as the file has it
        score(EXAMPLE, overrides={"weights.tables.appendix_a.applies_when": "entity_type =="})
    error = broken.value.errors[0]
    assert (error.location.file, error.location.line, error.location.pointer) == ("rules/2020/weights.yaml", 177,
                                                                                    "/tables/0/applies_when")
    assert "does not parse" in error.message


def _quality_set(method: str, measurements: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"category": "quality", "submissionMethod": method, "programName": "mips", "performanceStart": "2020-01-01",
            "performanceEnd": "2020-12-31", "measurements": [{"measureId": m, "value": v} for m, v in measurements.items()]}


# 2020, a group sends 001 (inverse, intermediate outcome) by registry, 10 of 100 (decile 10 of 100 ... 10: 10 points),
# then by EHR end to end, 0 of 100 (decile 10: 10 points). The points tie. first_submitted: the registry row counts
# (required outcome slot, no bonus), the EHR row and its end-to-end bonus are superseded: quality 10 / 60 = 16.666667 %,
# final 16.666667 x 55 % = 9.166667. last_submitted: the EHR row counts with its end-to-end bonus (1 point, within
# the 10 % cap of 60): quality 11 / 60 = 18.333333 %, final 10.083333.
TIED_COLLECTION_TYPES = {
    "entityType": "group", "taxpayerIdentificationNumber": "000000001", "performanceYear": 2020,
    "measurementSets": [
        _quality_set("registry", {"001": {"performanceMet": 10, "performanceNotMet": 90, "eligiblePopulation": 100}}),
        _quality_set("electronicHealthRecord", {"001": {"isEndToEndReported": True, "performanceMet": 0,
                                                        "performanceNotMet": 100, "eligiblePopulation": 100}}),
    ],
}


@pytest.mark.parametrize(("reading", "counted", "superseded", "quality", "final"), [
    ("first_submitted", "registry", "electronicHealthRecord", 16.666667, 9.166667),
    ("last_submitted", "electronicHealthRecord", "registry", 18.333333, 10.083333),
])
def test_equal_points_by_two_collection_types_follow_the_rulebooks_tie_break(
        reading: str, counted: str, superseded: str, quality: float, final: float) -> None:
    book = load(2020, overrides={"quality.collection_type_tie_break": reading})
    result = score(copy.deepcopy(TIED_COLLECTION_TYPES), book)
    assert (result.category("quality")["percent"], result.final_score) == (quality, final)
    nodes = {n["id"]: n for n in result.document["trace"]}
    loser = nodes[f"quality.measures.001.{superseded}"]
    assert loser["rules"][-2:] == ["quality.best_collection_type", "quality.collection_type_tie_break"]
    assert (loser["inputs"]["counted_instead"], loser["inputs"]["equal_points"]) == (counted, True)
    assert "quality.collection_type_tie_break" not in nodes[f"quality.measures.001.{counted}"]["rules"]
    assert book.param("quality.collection_type_tie_break").unverified


@pytest.mark.parametrize(("categories", "bonus"), [
    (None, 0),  # the year's rulebook: cost is not a submission category
    ({"quality": "quality", "ia": "ia", "pi": "pi", "cost": "cost"}, 6),  # a what-if that makes it one
])
def test_cost_scored_from_claims_is_not_data_submitted(categories: dict[str, str] | None, bonus: int) -> None:
    """2022, an individual submits nothing but has TPCC_1 scored from claims (25 cases, at least the minimum of 20):
    the complex patient bonus needs data submitted for a category (42 CFR 414.1380(c)(3)), and only the categories
    in program.submission_categories count. Quality, IA and PI score 0 %, so the final score is cost's points plus
    the bonus; with cost counted the bonus is (1.5 + 4 x 0.5) + (1.5 + 4 x 0.25) = 6."""
    case = EXAMPLE.parents[1] / "tests" / "golden" / "2022" / "no_disaster_area_non_submitter"
    profile = yaml.safe_load((case / "profile.yaml").read_text())
    profile["costMeasures"][0]["attributedCases"] = 25
    overrides = {"program.submission_categories": categories} if categories else None
    result = score(json.loads((case / "submission.json").read_text()), load(2022, overrides=overrides), profile=profile)
    cost = result.category("cost")
    assert cost["submitted"] and cost["weight"] == 30 and cost["points"] > 0
    assert [result.category(c)["percent"] for c in ("quality", "ia", "pi")] == [0, 0, 0]
    assert result.document["complex_patient_bonus"] == bonus
    assert result.final_score == round(cost["points"] + bonus, 6)
    node = {n["id"]: n for n in result.document["trace"]}["bonuses.complex_patient"]
    if not bonus:
        assert (node["reason"], node["rules"]) == (
            "no_data_submitted", ["bonuses.requires_submitted_data", "program.submission_categories"])
