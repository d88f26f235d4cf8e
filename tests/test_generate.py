"""The submission generator: every generated pair is scored to a final score in [0, 100]; the generator is
deterministic; what it says must be refused is refused; exact decile bounds are hit."""

from __future__ import annotations

import json
import re
import traceback
from collections import Counter
from fractions import Fraction

import pytest

from engine import score
from engine.base.errors import MipsError
from tests.generate import YEARS, boundary_rates, refused_submissions, submissions

DOTTED_NAME = re.compile(r"[\w-]+(?:[.][\w-]+)+")  # e.g. a trace node's name, masked to group failures by kind


def _failure(index: int, document: dict, profile: dict, problem: str) -> str:
    return (f"pair {index}: {problem}\n  profile: {json.dumps(profile)}\n"
            f"  document: {json.dumps(document, separators=(',', ':'))}")


@pytest.mark.parametrize("year", YEARS)
def test_every_generated_pair_is_scored(year: int) -> None:
    failures: list[str] = []
    kinds: Counter[str] = Counter()
    for index, (document, profile) in enumerate(submissions(year, 300, seed=1)):
        try:
            final = score(document, year, profile=profile).document["final_score"]
        except Exception as exc:  # any exception here is a finding, reported with its document
            kinds[f"{type(exc).__name__}: {DOTTED_NAME.sub('<name>', str(exc))}"] += 1
            failures.append(_failure(index, document, profile, traceback.format_exc(limit=3)))
            continue
        if not 0 <= final <= 100:
            kinds["final score outside [0, 100]"] += 1
            failures.append(_failure(index, document, profile, f"final score {final} outside [0, 100]"))
    assert not failures, (f"{len(failures)} of 300 generated {year} pairs failed: {dict(kinds)}\nThe first:\n"
                          + failures[0])


@pytest.mark.parametrize("year", YEARS)
def test_generator_is_deterministic(year: int) -> None:
    first = submissions(year, 60, seed=3)
    assert first == submissions(year, 60, seed=3)
    assert first[:20] == submissions(year, 20, seed=3)  # pair i does not depend on count
    assert first != submissions(year, 60, seed=4)


@pytest.mark.parametrize("year", YEARS)
def test_refused_submissions_are_refused(year: int) -> None:
    for document, profile, why in refused_submissions(year):
        with pytest.raises(MipsError):
            score(document, year, profile=profile)
            pytest.fail(f"not refused: {why}")


def _single_rates(document: dict) -> list[tuple[str, str, Fraction]]:
    """(measure, method, rate %) of the well-formed single-rate quality measurements of a document."""
    rates = []
    for measurement_set in document["measurementSets"]:
        for record in measurement_set["measurements"]:
            value = record.get("value")
            if not isinstance(value, dict) or "performanceMet" not in value:
                continue
            met, not_met = value["performanceMet"], value.get("performanceNotMet", 0)
            if isinstance(met, int) and isinstance(not_met, int) and met >= 0 and not_met >= 0 and met + not_met:
                rates.append((record["measureId"], measurement_set["submissionMethod"], Fraction(100 * met, met + not_met)))
    return rates


@pytest.mark.parametrize("year", YEARS)
def test_exact_decile_bounds_are_hit(year: int) -> None:
    bounds = {(m, method, Fraction(bound)) for m, method, bound in boundary_rates(year)}
    rates = [r for document, _ in submissions(year, 200, seed=2) for r in _single_rates(document)]
    on_bound = [r for r in rates if r in bounds and 0 < r[2] < 100]
    assert len(on_bound) >= 0.03 * len(rates), (len(on_bound), len(rates))
