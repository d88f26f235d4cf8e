"""`mips review`: CMS's published figures beside the engine's, the first figure where they part, the input and rule
behind it, and the targeted-review ground it points to.

The 2020 submission (review/2020-individual-quality-ia-pi.json) is scored by hand (CMS qpp-measures-data v11.1.0
2020 benchmarks; the policy fact sheet):
- Quality, registry 236 (Controlling High Blood Pressure, intermediate outcome): 75 met, 25 not met, 100 eligible ⇒
  rate 75 %, data completeness 100 % ≥ 70 %, 100 cases ≥ 20. Benchmark 236/registry (benchmark year 2018) deciles
  [0, 20, 30, 40, 50, 60, 70, 80, 90]: 70 ≤ 75 < 80 ⇒ decile 8 ⇒ 8 + (75 − 70)/(80 − 70) = 8.5 points
  (42 CFR 414.1380(b)(1)(i)). It fills the outcome slot (no bonus); no end-to-end reporting; one measure of six,
  denominator 60 ⇒ 8.5/60 × 100 = 14.1666… ⇒ 14.166667 % at six decimals.
- IA: IA_PSPA_6, high weight ⇒ 20 of 40 ⇒ 50 %.
- PI (CEHRT id, the three attestations yes): PI_EP_1 40/40 × 10 = 10, PI_HIE_1 60/60 × 20 = 20, PI_HIE_4 90/90 × 20 = 20,
  PI_PEA_1 150/200 × 40 = 30, public health PI_PHCDRR_1 and _3 ⇒ 10 ⇒ 90 %.
- Weights: an individual (automatic EUC), cost reweighted for all: Appendix A row "Q + IA + PI" 55 / 0 / 15 / 30.
- Contributions: 14.166667 × 55/100 = 7.79166685 ⇒ 7.791667; 50 × 15/100 = 7.5; 90 × 30/100 = 27.
  Final score 7.791667 + 7.5 + 27 = 42.291667.
- Payment (threshold 45, 11.25 < 42.291667 < 45): −9 × (45 − 42.291667)/45 = −0.54166666… ⇒ −0.541667, not scaled;
  CMS shows it truncated to two decimals: −0.54.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.base.numbers import decimal
from engine.inputs.cms_figures import CmsFiguresError, Figure, read_cms_figures
from engine.interfaces.cli import main
from engine.outputs.review import agrees
from engine.rules.loader import load_rulebook

HERE = Path(__file__).resolve().parent
CMS_EXAMPLE = HERE / "review"

SUBMISSION: dict[str, Any] = json.loads((CMS_EXAMPLE / "2020-individual-quality-ia-pi.json").read_text())

# CMS's feedback for it, as CMS prints figures: scores to two or four decimals, adjustments truncated to two.
FIGURES: dict[str, Any] = {
    "performance_year": 2020,
    "entity": {"tin": "000000301", "npi": "1000000301"},
    "final_score": 42.29,
    "categories": {
        "quality": {"score": 14.1667, "weight": 55, "points": 7.79, "measures": {"236": 8.5}},
        "cost": {"weight": 0},
        "ia": {"score": 50, "weight": 15, "points": 7.5, "measures": {"IA_PSPA_6": 20}},
        "pi": {"score": 90, "weight": 30, "points": 27,
               "measures": {"PI_EP_1": 10, "PI_HIE_1": 20, "PI_HIE_4": 20, "PI_PEA_1": 30}},
    },
    "complex_patient_bonus": 0,
    "payment": {"adjustment": -0.54, "exceptional": 0, "total": -0.54},
}


def _review(tmp_path: Path, capsys: Any, figures: Any, *extra: str, suffix: str = ".yaml") -> tuple[int, str, str]:
    submission = tmp_path / "submission.json"
    submission.write_text(json.dumps(SUBMISSION))
    cms = tmp_path / f"feedback{suffix}"
    cms.write_text(figures if isinstance(figures, str) else yaml.safe_dump(figures, sort_keys=False))
    code = main(["review", str(submission), "--cms", str(cms), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def _sheet(tmp_path: Path, capsys: Any, figures: Any) -> dict[str, Any]:
    code, out, err = _review(tmp_path, capsys, figures, "--format", "json")
    assert code == 0, err
    sheet: dict[str, Any] = json.loads(out)
    return sheet


def _with(**changes: Any) -> dict[str, Any]:
    """FIGURES with values replaced by dotted path, e.g. ``categories.quality.weight=85``."""
    figures = json.loads(json.dumps(FIGURES))
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        target = figures
        for key in parents:
            target = target[key]
        target[leaf] = value
    return figures


def test_figures_equal_to_the_engine_name_no_difference(tmp_path: Path, capsys) -> None:
    sheet = _sheet(tmp_path, capsys, FIGURES)
    assert sheet["first_difference"] is None and sheet["also_differ"] == []
    rows = {r["id"]: r for r in sheet["rows"]}
    assert all(r["agrees"] for r in rows.values())
    # the engine's exact figures, derived by hand in the module docstring
    assert rows["quality.measures.236.registry"]["engine"] == 8.5
    assert rows["quality.percent"]["engine"] == 14.166667 and rows["quality.contribution"]["engine"] == 7.791667
    assert rows["final_score"]["engine"] == 42.291667 and rows["payment.adjustment"]["engine"] == -0.541667
    assert list(rows)[:3] == ["entity.tin", "entity.npi", "quality.measures.236.registry"]  # dependency order
    assert list(rows)[-4:] == ["final_score", "payment.adjustment", "payment.exceptional", "payment.total"]
    code, text, _ = _review(tmp_path, capsys, FIGURES)
    assert code == 0 and "No difference" in text and "points to no targeted-review ground" in text


def test_one_measure_differs_names_the_measure_its_benchmark_input_and_rule(tmp_path: Path, capsys) -> None:
    # CMS gives 236 7.5 points: decile 7 of the same deciles would be 7 + (75 − 60)/(70 − 60) only above 70, so 7.5
    # is not what the 2018 registry benchmark gives a 75 % rate (8.5, derived above): a measure scored against
    # another benchmark. The category score CMS shows follows from it (7.5/60 = 12.5 %).
    figures = _with(categories__quality__measures={"236": 7.5}, categories__quality__score=12.5)
    sheet = _sheet(tmp_path, capsys, figures)
    first = sheet["first_difference"]
    assert first["id"] == "quality.measures.236.registry"
    assert (first["cms"], first["engine"]) == (7.5, 8.5)
    assert first["cms_path"] == "$.categories.quality.measures['236']"
    assert first["benchmark"]["deciles"] == [0, 20, 30, 40, 50, 60, 70, 80, 90]
    assert (first["benchmark"]["decile"], first["benchmark"]["lower"], first["benchmark"]["upper"]) == (8, 70, 80)
    assert (first["benchmark"]["rate"], first["benchmark"]["benchmark_year"]) == (75, 2018)
    assert first["benchmark"]["file"] == "rules/2020/reference/cms-measures.json"
    assert first["submission_paths"][0]["path"] == "$.measurementSets[0].measurements[0]"
    decile_points = next(r for r in first["rules"] if r["address"] == "quality.decile_points")
    assert decile_points["file"] == "rules/2020/quality.yaml" and decile_points["line"] > 0
    assert any("414.1380(b)(1)" in c for c in decile_points["cite"])
    assert [g["id"] for g in first["grounds"]] == ["measure_scoring"]
    assert sheet["also_differ"] == ["quality.percent"]  # 12.5 vs 14.166667; the rest CMS printed agrees
    code, text, _ = _review(tmp_path, capsys, figures)
    assert "First difference: Quality 236 (Controlling High Blood Pressure), registry: points" in text
    assert "performance rate 75 % in decile 8, from 70 to 80, of the 2018 benchmark" in text
    assert "$.measurementSets[0].measurements[0]" in text and "quality.decile_points (rules/2020/quality.yaml:" in text


def test_a_weight_that_differs_names_the_reweighting_rule_and_the_special_status_ground(tmp_path: Path, capsys) -> None:
    # CMS weighted the categories 85 / 0 / 15 / 0 (Appendix A row "Q + IA": PI reweighted, as for a clinician type or
    # special status); the engine scored PI (PI data were submitted) and used 55 / 0 / 15 / 30. The category scores
    # agree, so the first figure that parts is the quality weight.
    figures = _with(categories__quality__weight=85, categories__quality__points=12.04,
                    categories__pi={"weight": 0}, final_score=19.54)
    figures.pop("payment")
    sheet = _sheet(tmp_path, capsys, figures)
    first = sheet["first_difference"]
    assert (first["id"], first["cms"], first["engine"]) == ("quality.weight", 85, 55)
    addresses = [r["address"] for r in first["rules"]]
    assert addresses[:3] == ["weights.tables.appendix_a", "weights.tables.appendix_a.applies_when",
                             "weights.reweight_when.pi"]
    reweight = first["rules"][2]
    assert reweight["file"] == "rules/2020/weights.yaml" and "not submitted_pi" in reweight["expression"]
    assert [f["decision"] for f in first["facts"]] == ["pi.reweighted"]
    assert first["facts"][0]["inputs"]["submitted_pi"] is True
    assert first["submission_paths"] == [{"file": str(tmp_path / "submission.json"), "path": "$.measurementSets[2]",
                                          "what": "measurement set pi (electronicHealthRecord)"}]
    grounds = {g["id"]: g for g in first["grounds"]}
    assert set(grounds) == {"special_status", "euc_reweighting"}
    assert "special status" in grounds["special_status"]["cms_wording"]
    assert grounds["special_status"]["file"] == "rules/2020/review.yaml" and grounds["special_status"]["cite"]
    assert sheet["also_differ"] == ["pi.weight", "quality.contribution", "final_score"]


def test_a_tin_under_which_cms_scored_points_to_the_wrong_identifier_ground(tmp_path: Path, capsys) -> None:
    sheet = _sheet(tmp_path, capsys, _with(entity={"tin": "000000302", "npi": "1000000301"}))
    first = sheet["first_difference"]
    assert (first["id"], first["cms"], first["engine"]) == ("entity.tin", "000000302", "000000301")
    assert first["submission_paths"][0]["path"] == "$.taxpayerIdentificationNumber"
    assert [g["id"] for g in first["grounds"]] == ["wrong_identifier"]


def test_cms_score_response_as_is_agrees_with_the_engine() -> None:
    """CMS's own example: its 2017 example submission and the score its engine returned (total 100). Quality: six
    measures at decile 10 (each 10 points of 60) ⇒ 100 %; ACI 100 %; IA: IA_AHE_1 high 20 + three medium 10 = 50,
    capped at 40 ⇒ 40 of 40 (the response prints 40 out of its set's maximum of 40) ⇒ 100 %; 60 + 25 + 15 = 100."""
    from engine import score
    from engine.inputs.submission import read_submission
    from engine.outputs.review import worksheet

    figures = read_cms_figures(CMS_EXAMPLE / "cms-2017-example-score-response.json")
    assert figures.form == "score response"
    assert figures.categories["ia"].score == Figure(decimal(100), "$.data.score.parts[0].original.value", 0)
    assert figures.categories["quality"].measures["192"].points.value == 10  # decileScore, not 13 with its bonuses
    submission = read_submission(CMS_EXAMPLE / "cms-2017-example-submission.json")
    result = score(submission, year=2017)
    sheet = worksheet(result.document, result.trace.book, submission, figures)
    assert sheet["first_difference"] is None
    assert len(sheet["rows"]) == 20 and {r["id"] for r in sheet["rows"]} >= {"final_score", "pi.weight", "ia.percent"}
    assert [n["what"] for n in sheet["not_compared"]] == []  # ACI's base and performance groups are not measures


def test_a_score_response_with_a_measure_cms_scored_lower(tmp_path: Path, capsys) -> None:
    response = json.loads((CMS_EXAMPLE / "cms-2017-example-score-response.json").read_text())
    measure = response["data"]["score"]["parts"][2]["original"]["parts"][0]["parts"][1]
    assert measure["name"] == "005"
    measure["metadata"]["decileScore"] = 9.5
    path = tmp_path / "score.json"
    path.write_text(json.dumps(response))
    code = main(["review", str(CMS_EXAMPLE / "cms-2017-example-submission.json"), "--cms", str(path),
                 "--format", "json"])
    sheet = json.loads(capsys.readouterr().out)
    assert code == 0
    first = sheet["first_difference"]
    assert first["id"] == "quality.measures.005.electronicHealthRecord"
    assert first["cms_path"] == "$.data.score.parts[2].original.parts[0].parts[1].metadata.decileScore"
    assert first["benchmark"]["decile"] == 10 and first["benchmark"]["benchmark_year"] == 2015


@pytest.mark.parametrize(("text", "suffix", "expected"), [
    ("final_score: 42.29\ncategories:\n  quality:\n    score: 14.17\n    wieght: 55\n", ".yaml",
     "feedback.yaml:5:5: at $.categories.quality.wieght: unknown key 'wieght'; expected one of measures, points, score, "
     "weight (did you mean 'weight'?)"),
    ('{"final_score": 42.29, "categories": {"quality": {"measures": {"236": "eight"}}}}', ".json",
     "feedback.json:1:71: at $.categories.quality.measures['236']: expected number, found a string 'eight'"),
    ("categories: {ia: {score: 50}}\n", ".yaml", "feedback.yaml:1:1: at $: missing required key 'final_score'"),
    ("final_score: 142\n", ".yaml", "feedback.yaml:1:14: at $.final_score: 142 is greater than the maximum of 100"),
    ("final_score: [1\n", ".yaml", "feedback.yaml:2:1: not valid JSON or YAML"),
    ("- 42.29\n", ".yaml", "feedback.yaml:1:1: at $: expected a mapping of CMS's figures"),
    ('{"data": {"score": {"value": 50, "parts": [{"name": "quality", "value": 30, "original": {"value": "x"}}]}}}',
     ".json", "at $.data.score.parts[0].original.value: expected the category score, a number from 0 to 100, "
              "found 'x' (expected a QPP Submissions API score response"),
    ("final_score: 42.29\ncategories:\n  qualiti: {score: 3}\n", ".yaml",
     "at $.categories.qualiti: 'qualiti' is not a performance category of 2020 (did you mean 'quality'?"),
    ("performance_year: 2021\nfinal_score: 42.29\n", ".yaml",
     "at $.performance_year: these figures are for performance year 2021; the submission is scored under the 2020 rules"),
], ids=["unknown-key", "not-a-number", "no-final-score", "out-of-range", "not-yaml", "not-a-mapping",
        "bad-score-response", "unknown-category", "other-year"])
def test_malformed_cms_figures_are_refused_where_they_are(tmp_path: Path, capsys, text: str, suffix: str,
                                                         expected: str) -> None:
    code, out, err = _review(tmp_path, capsys, text, suffix=suffix)
    assert (code, out) == (2, "")
    assert expected in err


def test_a_missing_figures_file_is_refused_before_scoring(tmp_path: Path, capsys) -> None:
    assert main(["review", str(tmp_path / "none.json"), "--cms", str(tmp_path / "absent.json")]) == 2
    assert "absent.json: cannot read CMS figures file" in capsys.readouterr().err


@pytest.mark.parametrize(("cms", "engine", "same"), [
    ("42.29", 42.291667, True),      # rounded half up to CMS's two decimals
    ("0.58", 0.585514, True),        # truncated, as CMS shows payment adjustments
    ("0.59", 0.585514, True),        # rounded
    ("-0.54", -0.541667, True),
    ("8", 8.25, True),               # a whole number written as one: shown without decimals
    ("7", 7.9, True),                # truncated
    ("7", 7.2, True),
    ("8", 7.2, False),
    ("5.7", 5.834793, False),
    ("14.1666666666", 14.166667, True),  # more decimals than the rulebook's six: compared at six
    ("55", 56, False),
])
def test_a_figure_agrees_when_the_engines_shown_as_cms_shows_it_is_the_same(cms: str, engine: float, same: bool) -> None:
    assert agrees(Figure(decimal(cms), "$"), engine, 6) is same


@pytest.mark.parametrize("year", ["2017", "2020", "2021", "2022"])
def test_every_year_carries_the_grounds_with_cms_wording_and_sources(year: str) -> None:
    from engine.outputs.review_explain import grounds

    book = load_rulebook(year)
    found = {g["id"]: g for g in grounds(book)}
    assert set(found) == {"wrong_identifier", "special_status", "euc_reweighting", "measure_scoring"}
    for ground in found.values():
        assert ground["cms_wording"] and ground["cite"] and ground["points_to"]
        assert book.param(f"review.grounds.{ground['id']}").documentary  # read by the worksheet, never by scoring


def test_markdown_worksheet_escapes_what_the_files_say(tmp_path: Path, capsys) -> None:
    code, out, _ = _review(tmp_path, capsys, _with(categories__quality__measures={"236": 7.5}), "--format", "md")
    assert code == 0
    assert "## First difference: Quality 236" in out
    assert "$.categories.quality.measures\\['236'\\]" in out  # a path's brackets are not Markdown links


def test_read_cms_figures_keeps_each_figures_path(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps(FIGURES))
    figures = read_cms_figures(path)
    assert figures.form == "figures"
    assert figures.categories["pi"].measures["PI_EP_1"].points == Figure(decimal(10), "$.categories.pi.measures.PI_EP_1")
    assert figures.payment["adjustment"].decimals == 2
    with pytest.raises(CmsFiguresError, match="expected the path of a CMS figures file"):
        read_cms_figures(7)  # type: ignore[arg-type]
