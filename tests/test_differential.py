"""Differential tests of the array kernels: for every golden case and generated submissions of every year,
one entity at a time (Python values) and all at once (numpy columns) give identical outputs, and both agree
with the explained path's result document."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from engine import load, score
from engine.inputs.profile import check_profile, load_profile
from engine.inputs.submission import Submission, merge_submissions, parse_submission, read_submission
from engine.rules.model import Rulebook
from engine.scoring import columnar, document
from engine.scoring.fixed import precision
from engine.scoring.scope import program_of
from tests.generate import submissions

GOLDEN = Path(__file__).resolve().parent / "golden"
INFERRED_FACTS = (".eligibility.facts.automatic_euc", ".eligibility.facts.submitted_")
TOLERANCE = Decimal(0)  # the explained path is built from the same kernels: its numbers are theirs, exactly


def _golden() -> list[tuple[str, Rulebook, Submission, dict]]:
    cases = []
    for case in sorted(p for p in GOLDEN.glob("*/*") if (p / "expected.yaml").exists()):
        overrides = yaml.safe_load((case / "expected.yaml").read_text()).get("overrides") or None
        profile = case / "profile.yaml"
        submission = merge_submissions([read_submission(p) for p in sorted(case.glob("submission*.json"))])
        cases.append((f"{case.parent.name}/{case.name}", load(case.parent.name, overrides=overrides), submission,
                      load_profile(profile if profile.exists() else None)))
    return cases


def _generated(year: int, count: int) -> list[tuple[str, Rulebook, Submission, dict]]:
    book = load(year)
    return [(f"{year}/generated/{i}", book, parse_submission(document), check_profile(profile))
            for i, (document, profile) in enumerate(submissions(year, count, seed=7))]


def _groups(cases: list[tuple[str, Rulebook, Submission, dict]]) -> dict[Any, list]:
    groups: dict[Any, list] = defaultdict(list)
    for name, book, submission, profile in cases:
        program = program_of(submission)
        groups[(id(book), program)].append((name, book.for_program(program), submission, profile, program))
    return groups


def _leaves(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _leaves(item, f"{path}.{key}").items()}
    return {path: value}


def _check_group(items: list) -> None:
    book = items[0][1]
    entities = [columnar.entity_inputs(book, submission, profile, program) for _, _, submission, profile, program in items]
    one = [columnar.score_one(book, entity) for entity in entities]
    many = columnar.score_many(book, [columnar.entity_inputs(book, s, p, g) for _, _, s, p, g in items])
    digits = precision(book).digits
    columns = _leaves(many)
    for index, (name, _, submission, profile, _) in enumerate(items):
        for key, value in _leaves(one[index]).items():
            if key.startswith(".eligibility.facts.") and not key.startswith(INFERRED_FACTS):
                continue  # an input, not an output
            assert np.asarray(columns[key])[index].tolist() == value, (name, key)
        _agrees_with_explained(name, book, submission, profile, one[index], digits)


def _same_trace_from_batch(items: list) -> None:
    """Every trace node, and the whole result document, built from a batch run's slice of each entity equals the
    one built from that entity's own run."""
    book = items[0][1]
    entities = [columnar.entity_inputs(book, s, p, g) for _, _, s, p, g in items]
    outputs, rows = columnar.score_stacked_with_rows(book, columnar.stack_inputs(book, entities))
    kernels = columnar.compiled(book)
    for index, (name, _, submission, profile, _) in enumerate(items):
        own = document.explained(book, submission, profile, items[index][4]).document
        sliced, sliced_rows = columnar.entity_view(outputs, rows, index)
        entity = entities[index]
        for category, (kernel, p) in kernels.categories.items():
            entity.issues += kernel.issues(p, entity.categories[category], sliced["categories"][category])
        from_batch = document.result_of(book, submission, profile, entity, sliced, sliced_rows).document
        assert from_batch["trace"] == own["trace"], name
        assert from_batch == own, name


def _agrees_with_explained(name: str, book: Rulebook, submission: Submission, profile: dict, out: dict,
                           digits: int) -> None:
    document = score(submission, book, profile=profile).document

    def near(fixed_value: int, plain: Any) -> bool:
        return abs(Decimal(int(fixed_value)).scaleb(-digits) - Decimal(str(plain))) <= TOLERANCE

    assert near(out["final"]["final_score"], document["final_score"]), (name, "final score")
    assert bool(out["final"]["neutral"]) == document["neutral"], name
    for category, shown in document["categories"].items():
        assert near(out["eligibility"]["percent"][category], shown["percent"]), (name, category)
        assert int(out["final"]["weights"][category]) == shown["weight"], (name, category)
        assert bool(out["weighting"]["reweighted"][category]) == shown["reweighted"], (name, category)
    assert near(out["payment"]["adjustment_before_scaling"], document["payment"]["adjustment_before_scaling"]), name
    assert near(out["final"]["bonus"], document["complex_patient_bonus"]), name


def test_kernels_on_every_golden_case() -> None:
    for items in _groups(_golden()).values():
        _check_group(items)
        _same_trace_from_batch(items)


@pytest.mark.parametrize("year", [2017, 2020, 2021, 2022])
def test_kernels_on_generated_submissions(year: int) -> None:
    for items in _groups(_generated(year, 1000)).values():
        _check_group(items)
        _same_trace_from_batch(items)
