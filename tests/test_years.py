"""Tools across rulebooks: new-year, diff, what-if dependents and compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.authoring.compare import compare
from engine.authoring.newyear import new_year
from engine.authoring.rulediff import diff_rulebooks
from engine.base.errors import OverrideError
from engine.inputs.submission import read_submission
from engine.interfaces.cli import main
from engine.rules.loader import load_rulebook

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "2020-individual-quality-ia-pi.json"


@pytest.fixture
def next_year(tmp_path: Path) -> Path:
    """2020 copied as the start of another year, with its threshold edited like a policy change."""
    target = new_year(ROOT / "rules" / "2020", 2030, tmp_path)
    payment = target / "payment.yaml"
    payment.write_text(payment.read_text().replace("performance_threshold:\n  value: 45",
                                                   "performance_threshold:\n  value: 50"))
    reference = target / "reference" / "cms-measures.json"  # as if the year's CMS data were imported
    doc = json.loads(reference.read_text())
    reference.write_text(json.dumps({**doc, "performanceYear": 2030}))
    return target


def test_new_year_advances_only_the_years(tmp_path: Path) -> None:
    target = new_year(ROOT / "rules" / "2020", 2030, tmp_path)
    book = load_rulebook(target, reference_year_must_match=False)
    assert (book.year, book.value("program.payment_year")) == (2030, 2032)
    assert diff_rulebooks(load_rulebook(2020), book) == []


def test_diff_lists_each_changed_value_with_both_sources(next_year: Path) -> None:
    changes = diff_rulebooks(load_rulebook(2020), load_rulebook(next_year, reference_year_must_match=False))
    assert [(c.address, c.kind, c.old, c.new) for c in changes] == [("payment.performance_threshold", "changed", 45, 50)]
    change = changes[0]
    assert change.old_source["file"] == "rules/2020/payment.yaml"
    assert change.new_source["file"] == f"{next_year}/payment.yaml"
    assert "42 CFR 414.1405 (payment; performance threshold, applicable percent, exceptional performance)" in \
        change.new_source["cite"]


def test_diff_command_json(next_year: Path, capsys) -> None:
    assert main(["diff", "2020", str(next_year), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["changes"][0]["address"] == "payment.performance_threshold"


def test_table_rows_are_compared_by_their_scored_categories(tmp_path: Path) -> None:
    target = new_year(ROOT / "rules" / "2020", 2030, tmp_path)
    weights = target / "weights.yaml"
    weights.write_text(weights.read_text().replace("weights: {quality: 70, cost: 0, ia: 0, pi: 30}",
                                                   "weights: {quality: 60, cost: 0, ia: 0, pi: 40}", 1))
    changes = diff_rulebooks(load_rulebook(2020), load_rulebook(target, reference_year_must_match=False))
    assert [c.address for c in changes] == ["weights.tables.appendix_a[scored=pi+quality]"]
    assert changes[0].old["weights"]["quality"] == 70 and changes[0].new["weights"]["quality"] == 60


def test_what_if_on_a_base_weight_names_the_tables_derived_from_it() -> None:
    with pytest.raises(OverrideError, match="weights.tables.appendix_a, weights.tables.appendix_b, "
                                            "weights.tables.apm_scoring_standard are derived from this value"):
        load_rulebook(2020, {"weights.default_weights": {"quality": 50, "cost": 10, "ia": 15, "pi": 25}})


def test_compare_explains_differences_by_the_rules_that_differ(next_year: Path) -> None:
    doc = compare(read_submission(EXAMPLE), ["2020", str(next_year)], {})
    first, second = doc["years"]
    # Same categories; the threshold moves the payment: 9 x (77.0703 - 45)/55 vs 9 x (77.0703 - 50)/50.
    assert first["final_score"] == second["final_score"]
    assert round(first["payment"]["adjustment_before_scaling"], 4) == round(9 * (first["final_score"] - 45) / 55, 4)
    assert round(second["payment"]["adjustment_before_scaling"], 4) == round(9 * (second["final_score"] - 50) / 50, 4)
    assert [d["address"] for d in second["differences"]] == ["payment.performance_threshold"]


def test_compare_what_if_applies_to_each_year(capsys) -> None:
    assert main(["compare", str(EXAMPLE), "--years", "2020", "--set", "payment.performance_threshold=60",
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["years"][0]["overrides"] == {"payment.performance_threshold": 60}


SAMPLES = sorted(p for p in (ROOT / "tests" / "samples").glob("*.json") if "response" not in p.name)
YEARS = ["2017", "2020", "2021", "2022"]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_compare_every_real_sample_under_all_four_years(sample: Path) -> None:
    from engine import load, score

    submission = read_submission(sample)
    doc = compare(submission, YEARS, {})
    columns = {str(c["year"]): c for c in doc["years"]}
    assert list(columns) == YEARS
    own = columns[str(submission.performance_year)]
    assert own["final_score"] == score(sample, load(submission.performance_year)).document["final_score"]
    scored = [c for c in doc["years"] if "final_score" in c]
    assert all("final_score" in c or c["error"] for c in doc["years"])
    for previous, column in zip(scored, scored[1:], strict=False):
        assert column["differences_from"] == previous["year"]


def test_as_of_scores_2021_groups_as_the_rules_stood_before_cost_was_reweighted() -> None:
    from engine import load, score

    case = ROOT / "tests" / "golden" / "2021" / "group_pi_hardship_66"
    now = score(case / "submission.json", load(2021), profile=case / "profile.yaml").document
    before = score(case / "submission.json", load(2021, as_of="2022-03-01"), profile=case / "profile.yaml").document
    # Table 6 of 42 CFR 414.1380(c)(2)(ii)(E): "No Cost and no PI" 85/0/15/0 vs "No PI" 65/20/15/0;
    # quality 60 %, IA 100 %, cost (no 2021 cost data) 0 %: 51 + 15 = 66 vs 39 + 0 + 15 = 54.
    assert (now["categories"]["quality"]["weight"], now["final_score"]) == (85, 66)
    assert (before["categories"]["quality"]["weight"], before["categories"]["cost"]["weight"]) == (65, 20)
    assert before["final_score"] == 54
    assert before["rulebook"]["as_of"] == "2022-03-01"


def test_compare_reports_a_year_without_rulebook_and_scores_the_rest(capsys) -> None:
    assert main(["compare", str(EXAMPLE), "--years", "1999", "2020", "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert "|  | 2020 |" in out
    assert "1999: not scored:" in out and "no rulebook folder here" in out


def test_new_year_refuses_an_existing_folder(tmp_path: Path, capsys) -> None:
    assert main(["new-year", "2020", "2030", "--into", str(tmp_path)]) == 0
    assert main(["new-year", "2020", "2030", "--into", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_aci_explanation_shows_base_performance_and_bonus() -> None:
    from engine import explain, load, score

    case = ROOT / "tests" / "golden" / "2017" / "aci_transition_set_62_15_5"
    text = explain(score(case / "submission.json", load(2017)))
    # Transition set: base 50 + performance 10 (47 %: decile 5 x 20/10) + 2 (2 %: decile 1 x 20/10) = 62.
    assert "Advancing Care Information score 62% (transition measure set) = base 50 + performance 12 + bonus 0" in text
    assert "- Base score: 50 (every required base measure reported)" in text
    assert "(ACI_TRANS_PEA_1): 10 points (47 / 100 is in decile 5: 5 x 20 / 10)" in text


def test_new_year_refuses_to_write_beside_an_installed_copy(tmp_path: Path, monkeypatch, capsys) -> None:
    import engine.authoring.newyear as newyear

    monkeypatch.setattr(newyear, "inside_installed_package", lambda folder: True)
    assert main(["new-year", "2020", "2030"]) == 2
    assert "installed with the engine" in capsys.readouterr().err and not (ROOT / "rules" / "2030").exists()
    assert main(["new-year", "2020", "2030", "--into", str(tmp_path)]) == 0  # a folder of one's own is fine
