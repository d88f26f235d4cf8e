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
