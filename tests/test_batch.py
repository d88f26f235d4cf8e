"""score_many: many submissions at once with the array kernels; every row scored or refused, in input order."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from engine import load, score, score_many
from tests.generate import submissions

ROOT = Path(__file__).resolve().parents[1]


def test_every_row_is_scored_or_refused_in_input_order() -> None:
    pairs = submissions(2021, 60, seed=11)
    documents = [document for document, _ in pairs]
    profiles = [profile for _, profile in pairs]
    documents.insert(7, {"entityType": "individual"})  # no year: refused with its JSON path
    profiles.insert(7, {})
    documents.insert(20, ROOT / "tests" / "golden" / "2020" / "appA_none_individual" / "submission.json")  # 2020
    profiles.insert(20, {})
    result = score_many(documents, 2021, profiles)
    assert [position for position, _ in result.refused] == [7, 20]
    assert "performanceYear" in result.refused[0][1] and "performance year 2020" in result.refused[1][1]
    assert len(result.sources) + len(result.refused) == len(documents) == len(result.columns["final_score"]) + 2
    book = load(2021)
    scored = [d for i, d in enumerate(documents) if i not in (7, 20)]
    kept = [p for i, p in enumerate(profiles) if i not in (7, 20)]
    for document, profile, final in zip(scored, kept, result.decimal("final_score"), strict=True):
        explained = Decimal(str(score(document, book, profile=profile).final_score))
        assert abs(final - explained) <= Decimal("0.00001")


def test_a_submission_the_reweighting_tables_have_no_row_for_is_refused_not_guessed() -> None:
    # 2017: an APM Entity with quality data and an ACI hardship has no row in the APM scoring standard's table
    # (tests/generate.py refused_submissions); scored alone it is refused, and in a batch it is refused too while
    # the others are scored.
    from tests.generate import refused_submissions

    document, profile, _ = next(case for case in refused_submissions(2017) if case[0].get("entityType") == "apm")
    good = submissions(2017, 5, seed=3)
    documents = [good[0][0], document, *[d for d, _ in good[1:]]]
    profiles = [good[0][1], profile, *[p for _, p in good[1:]]]
    result = score_many(documents, 2017, profiles)
    assert [position for position, _ in result.refused] == [1]
    assert "no reweighting table row" in result.refused[0][1]
    assert len(result.columns["final_score"]) == 5 and len(result.sources) == 5


def test_a_completeness_beyond_int64_is_held_alike_in_a_batch_and_explained() -> None:
    """A non-proportion measure with 3 x 10**9 cases reported of a denominator of 0.0001: completeness 3 x 10**15 %
    does not fit a column of int64 (in units of 10**-4 %), so its whole part is held at 2**62 // 10**6 % on both
    paths; 150 of 200 stays 75 % (750,000 units)."""
    from engine.inputs.measurements import _completeness_floor

    assert _completeness_floor(150 * 10**4, 200 * 10**4) == 750_000
    assert _completeness_floor(3 * 10**13, 1) == 4_611_686_018_427 * 10**6
    pairs = submissions(2020, 80, seed=4)
    index, value = next((i, m["value"]) for i, (document, _) in enumerate(pairs)
                        for s in document["measurementSets"] for m in s["measurements"]
                        if isinstance(m["value"], dict) and "numerator" in m["value"])
    value.update(denominator=0.0001, observationInstances=1e9, denominatorException=1e9, numeratorExclusion=1e9)
    book = load(2020)
    result = score_many([d for d, _ in pairs], book, [p for _, p in pairs])
    assert result.refused == []
    explained = score(pairs[index][0], book, profile=pairs[index][1])
    assert result.decimal("final_score")[index] == Decimal(str(explained.final_score))
