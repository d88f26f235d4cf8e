"""Golden cases: hand-derived expectations asserted exactly, plus the full result document as a
pytest-regressions file beside each case.

Regenerate the regression files (never the hand-derived expected.yaml) with:
    .venv/bin/pytest tests/test_golden.py --force-regen
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import load, score

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p for p in GOLDEN.glob("*/*") if (p / "expected.yaml").exists())
VOLATILE = ("engine", "rulebook", "sources", "rules")  # identity and rule lines: not results


def _case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@cache
def _book(year: str, overrides: str):
    return load(year, overrides=yaml.safe_load(overrides) or None)


def _run(case: Path):
    """Score a case; an ``overrides:`` mapping in expected.yaml makes it a what-if case."""
    submissions = sorted(case.glob("submission*.json"))
    profile = case / "profile.yaml"
    overrides = yaml.safe_load((case / "expected.yaml").read_text()).get("overrides") or {}
    book = _book(case.parent.name, yaml.safe_dump(overrides, sort_keys=True))
    return score(submissions, year=book, profile=profile if profile.exists() else None)


def _close(actual: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return actual == expected
    return round(float(actual), 4) == round(float(expected), 4)


def _check(actual: Any, expected: Any, where: str, failures: list[str]) -> None:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            failures.append(f"{where}: expected a mapping, got {actual!r}")
            return
        for key, value in expected.items():
            if key not in actual:
                failures.append(f"{where}.{key}: missing from the result")
            else:
                _check(actual[key], value, f"{where}.{key}", failures)
    elif isinstance(expected, list):
        if sorted(map(str, actual)) != sorted(map(str, expected)):
            failures.append(f"{where}: expected {expected!r}, got {actual!r}")
    elif not _close(actual, expected):
        failures.append(f"{where}: expected {expected!r}, got {actual!r}")


def _observed(document: dict) -> dict[str, Any]:
    """The result document in the shape expected.yaml uses."""
    quality = document["categories"]["quality"]["detail"]
    measures: dict[str, Any] = {}
    for m in quality.get("measures", []):
        current = measures.get(m["measure_id"])
        if current is None or m["status"] == "scored":
            measures[m["measure_id"]] = {"points": m["points"], "counted": m["counted"], "status": m["status"]}
    bonus = dict(quality.get("bonus", {}))
    return {
        "final_score": document["final_score"],
        "categories": {k: {"percent": v["percent"], "weight": v["weight"], "points": v["points"],
                           "reweighted": v["reweighted"]} for k, v in document["categories"].items()},
        "complex_patient_bonus": document["complex_patient_bonus"],
        "payment": document["payment"],
        "quality_measures": measures,
        "quality_bonus": {"outcome_high_priority": 0, "end_to_end": 0, "small_practice": 0, **bonus},
        "errors": [i["path"] for i in document["issues"]],
        "neutral": document["neutral"],
    }


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_hand_derived_expectations(case: Path) -> None:
    expected = yaml.safe_load((case / "expected.yaml").read_text())["expect"]
    result = _run(case)
    failures: list[str] = []
    _check(_observed(result.document), expected, "expect", failures)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_result_document_regression(case: Path, data_regression) -> None:
    document = {k: v for k, v in _run(case).document.items() if k not in VOLATILE}
    for issue in document["issues"]:
        issue["file"] = Path(issue["file"]).name
    data_regression.check(document, fullpath=case / "result.yml")


def test_every_year_has_enough_cases() -> None:
    for year in sorted({c.parent.name for c in CASES}):
        assert len([c for c in CASES if c.parent.name == year]) >= 12, year
