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
