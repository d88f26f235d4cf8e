"""Rulebook loading: policy staff get located errors with what was expected, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.base.errors import RulebookErrors
from engine.rules.loader import load_rulebook

RULES = Path(__file__).resolve().parents[1] / "rules" / "2020"


@pytest.fixture
def book_copy(tmp_path: Path) -> Path:
    target = tmp_path / "2020"
    shutil.copytree(RULES, target)
    return target


def _edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


def _errors(folder: Path) -> list[str]:
    with pytest.raises(RulebookErrors) as info:
        load_rulebook(folder)
    return [str(e) for e in info.value.errors]


def _line_of(folder: Path, name: str, text: str) -> int:
    return next(i for i, line in enumerate((folder / name).read_text().splitlines(), 1) if text in line)


def test_the_2020_rulebook_loads_with_its_values_and_citations() -> None:
    book = load_rulebook(2020)
    assert book.value("payment.performance_threshold") == 45
    assert book.value("weights.default_weights") == {"quality": 45, "cost": 15, "ia": 15, "pi": 25}
    assert book.param("payment.performance_threshold").cite == ("cfr-1405", "faq-2020-payment")
    assert book.param("payment.performance_threshold").file == "rules/2020/payment.yaml"
    assert book.checksum.startswith("sha256:")
    assert "payment.scaling_factor" in {p.address for p in book.unverified()}


def test_unknown_key_gives_file_line_pointer_and_did_you_mean(book_copy: Path) -> None:
    _edit(book_copy, "quality.yaml", "case_minimum:", "case_minimun:")
    line = _line_of(book_copy, "quality.yaml", "case_minimun:")
    errors = _errors(book_copy)
    assert any(f"{book_copy}/quality.yaml:{line}:1: at /case_minimun: unknown key 'case_minimun'" in e
               and "did you mean 'case_minimum'?" in e for e in errors), errors


def test_wrong_type_names_the_value_and_what_was_expected(book_copy: Path) -> None:
    _edit(book_copy, "payment.yaml", "value: 45", "value: forty-five")
    line = _line_of(book_copy, "payment.yaml", "forty-five")
    errors = _errors(book_copy)
    assert any(f"payment.yaml:{line}:10: at /performance_threshold/value: expected number" in e for e in errors), errors


def test_formula_name_typo_is_a_load_time_error(book_copy: Path) -> None:
    _edit(book_copy, "bonuses.yaml", "averageHccScore +", "averageHccScor +")
    errors = _errors(book_copy)
    assert any("bonuses.yaml:3" in e and "'averageHccScor', which is not a declared input" in e
               and "did you mean 'averageHccScore'?" in e for e in errors), errors


def test_citation_must_be_listed_in_sources(book_copy: Path) -> None:
    _edit(book_copy, "quality.yaml", "cite: [cfr-1340]", "cite: [cfr-13400]")
    errors = _errors(book_copy)
    assert any("cites 'cfr-13400', which sources.yaml does not list" in e and "did you mean 'cfr-1340'?" in e
               for e in errors), errors


def test_reweighting_row_must_add_up_to_100(book_copy: Path) -> None:
    _edit(book_copy, "weights.yaml", "weights: {quality: 70, cost: 0, ia: 0, pi: 30}",
          "weights: {quality: 70, cost: 0, ia: 0, pi: 25}")
    errors = _errors(book_copy)
    assert any("weights.tables.appendix_a row 5 (Quality and Promoting Interoperability): weights add up to 95"
               in e for e in errors), errors


def test_neutral_rows_follow_the_fewer_than_two_categories_rule(book_copy: Path) -> None:
    _edit(book_copy, "weights.yaml", 'pi: 0}, adjustment: neutral, label: "Quality only"',
          'pi: 0}, adjustment: scored, label: "Quality only"')
    errors = _errors(book_copy)
    assert any("row 2 (Quality only): 1 categories scored, so the adjustment must be neutral" in e
               for e in errors), errors


def test_duplicate_key_and_broken_yaml_are_located(book_copy: Path) -> None:
    _edit(book_copy, "ia.yaml", "maximum_points:\n", "maximum_points:\n  value: 40\nmaximum_points:\n")
    errors = _errors(book_copy)
    assert any("ia.yaml:" in e and "duplicate key 'maximum_points'" in e for e in errors), errors


def test_missing_and_unknown_files_are_reported(book_copy: Path) -> None:
    (book_copy / "cost.yaml").rename(book_copy / "costs.yaml")
    errors = _errors(book_copy)
    assert f"{book_copy}/cost.yaml: file is missing" in errors
    assert any("costs.yaml" in e and "this file is not a rulebook concern" in e for e in errors)


def test_overrides_are_checked_against_the_schema() -> None:
    book = load_rulebook(2020, {"payment.performance_threshold": 60})
    assert book.value("payment.performance_threshold") == 60
    assert book.overrides == {"payment.performance_threshold": 60}
    with pytest.raises(RulebookErrors) as info:
        load_rulebook(2020, {"payment.performance_threshold": "high"})
    assert "--set value: expected number" in str(info.value)


def test_as_of_picks_the_amendment_in_force() -> None:
    assert load_rulebook(2020, as_of="2021-09-01").value("payment.published_maximum_adjustment") == 2.20
    assert load_rulebook(2020, as_of="2021-10-01").value("payment.published_maximum_adjustment") == 1.87
