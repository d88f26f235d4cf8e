"""One population scored under several years' rules: counts, scores against the single-year batch scorer, band
shares, the summary files and the charts (valid PNGs of a fixed size, the same bytes on every run)."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from matplotlib import image

import engine
from engine.authoring.crosswalk import retarget
from engine.base.errors import MipsError
from engine.batch import layout
from engine.batch.population_compare import FILES, compare_population, score_statistics
from engine.inputs.submission import Submission, as_submission
from engine.outputs.charts import DPI, SIZE, distributions_chart, score_histogram
from engine.population.synthetic import population
from engine.rules.model import Rulebook
from engine.scoring.kernels.final import BANDS

YEARS = [2020, 2021, 2022]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PIXELS = (round(SIZE[1] * DPI), round(SIZE[0] * DPI))  # rows, columns


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated 2021 population of 300 TIN/NPIs as JSON Lines, plus a line that is not JSON and a submission with no
    entity header (both refused under every year) and a copy of an APM Entity's submission under the APM Performance
    Pathway (a program 2020 does not score)."""
    people = population(2021, size=300, seed=7)
    path = layout.write_population(people, tmp_path_factory.mktemp("population"), "jsonl")["submissions"]
    document, profile = next((d, p) for d, p in people if d["entityType"] == "apm")
    pathway = copy.deepcopy(document)
    for measurement_set in pathway["measurementSets"]:
        measurement_set["programName"] = "app1"
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
        handle.write(json.dumps({"entityType": "individual", "measurementSets": []}) + "\n")  # no entity header
        handle.write(json.dumps({**pathway, layout.PROFILE_KEY: profile}) + "\n")
    return path


def _compare(source: Path, folder: Path) -> dict[str, Any]:
    return compare_population(source, YEARS, folder, retarget=retarget, chart=distributions_chart)


@pytest.fixture(scope="module")
def runs(source: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return [_compare(source, tmp_path_factory.mktemp(f"run{n}")) for n in range(2)]


def _rows(source: Path) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    return [(position, document, profile) for chunk in layout.read_population(source)
            for position, document, profile in zip(chunk.positions, chunk.documents, chunk.profiles, strict=True)]


def _retargeted(document: dict[str, Any], book: Rulebook) -> Submission | dict[str, Any]:
    """The document read under ``book``'s year; as it is when it cannot be read (the scorer refuses it)."""
    try:
        return retarget(as_submission(document), book)[0]
    except MipsError:
        return document


def test_every_row_is_scored_or_refused_under_every_year(source: Path, runs: list[dict[str, Any]]) -> None:
    summary, lines = runs[0], len(source.read_text(encoding="utf-8").splitlines())
    scores = pq.read_table(summary["files"]["scores"])
    assert summary["rows"] == lines == scores.num_rows
    assert scores.column("position").to_pylist() == list(range(lines))
    assert [s["year"] for s in summary["years"]] == YEARS
    for year in summary["years"]:
        assert year["scored"] + year["refused"] == year["rows"] == lines
        finals = scores.column(f"final_score.{year['year']}").to_pylist()
        refusals = scores.column(f"refusal.{year['year']}").to_pylist()
        assert all((final is None) != (refusal is None) for final, refusal in zip(finals, refusals, strict=True))
        assert sum(final is not None for final in finals) == year["scored"]
    refused = {s["year"]: s["refused"] for s in summary["years"]}
    assert refused[2021] >= 2 and refused[2020] > refused[2021]  # the pathway copy is refused by 2020 only
    assert pq.read_table(summary["files"]["summary"]).to_pylist() == summary["years"]


def test_scores_equal_the_batch_scorer_on_retargeted_submissions(source: Path, runs: list[dict[str, Any]]) -> None:
    scores = pq.read_table(runs[0]["files"]["scores"]).to_pydict()
    rows = _rows(source)
    for year in YEARS:
        book = engine.load(year)
        moved = [_retargeted(document, book) for _, document, _ in rows]
        result = engine.score_many(moved, book, [profile for _, _, profile in rows])
        one = 10**result.digits
        expected: dict[int, tuple[float | None, str | None]] = {position: (None, None) for position in scores["position"]}
        for index, final, band in zip(result.positions, result.columns["final_score"].tolist(),
                                      result.columns["payment.band"].tolist(), strict=True):
            expected[rows[index][0]] = (final / one, BANDS[band])
        assert list(zip(scores[f"final_score.{year}"], scores[f"payment.band.{year}"], strict=True)) == \
            [expected[p] for p in scores["position"]]
        refused = {p for p, refusal in zip(scores["position"], scores[f"refusal.{year}"], strict=True) if refusal}
        assert refused == {rows[index][0] for index, _ in result.refused} | set(scores["position"]) - {p for p, _, _ in rows}


def test_summary_shares_statistics_and_files(runs: list[dict[str, Any]]) -> None:
    summary = runs[0]
    scores = pq.read_table(summary["files"]["scores"])
    for year in summary["years"]:
        assert sum(year[f"share.{band}"] for band in BANDS) == pytest.approx(1.0)
        finals = np.array([f for f in scores.column(f"final_score.{year['year']}").to_pylist() if f is not None])
        assert {k: year[k] for k in ("mean", "q1", "median", "q3")} == \
            {"mean": pytest.approx(finals.mean()), "q1": np.quantile(finals, 0.25), "median": np.median(finals),
             "q3": np.quantile(finals, 0.75)}
        assert year["minimum"] <= year["q1"] <= year["median"] <= year["q3"] <= year["maximum"]
    with open(summary["files"]["summary_csv"], encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [int(row["year"]) for row in table] == YEARS
    assert [float(row["mean"]) for row in table] == [year["mean"] for year in summary["years"]]
    markdown = Path(summary["files"]["summary_markdown"]).read_text(encoding="utf-8").splitlines()
    assert [line.split(" | ")[0] for line in markdown[2:]] == [f"| {year}" for year in YEARS]
    assert set(summary["files"]) == set(FILES) and all(Path(path).is_file() for path in summary["files"].values())


def _png(path: str | Path) -> bytes:
    data = Path(path).read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert image.imread(path).shape[:2] == PIXELS
    return data


def test_distributions_chart_is_a_png_with_the_same_bytes_every_run(runs: list[dict[str, Any]]) -> None:
    assert _png(runs[0]["files"]["chart"]) == _png(runs[1]["files"]["chart"])


def test_score_histogram_is_a_png_with_the_same_bytes_every_time(tmp_path: Path, runs: list[dict[str, Any]]) -> None:
    scores = pq.read_table(runs[0]["files"]["scores"]).column("final_score.2021").drop_null().to_numpy()
    book = engine.load(2021)
    score_histogram(scores, book, tmp_path / "a.png", "2021 final scores")
    score_histogram(scores, book, tmp_path / "b.png", "2021 final scores")
    score_histogram(scores, book, tmp_path / "c.png", "2021 final scores", bin_width=1)
    assert _png(tmp_path / "a.png") == _png(tmp_path / "b.png") != _png(tmp_path / "c.png")


def test_statistics_of_hand_made_scores() -> None:
    # sorted: 15, 30, 60, 75, 90; mean 270 / 5; quartiles at sorted positions 1, 2 and 3 (of 0..4)
    assert score_statistics(np.array([75.0, 15.0, 60.0, 30.0, 90.0])) == \
        {"mean": 54.0, "minimum": 15.0, "q1": 30.0, "median": 60.0, "q3": 75.0, "maximum": 90.0}
    # sorted: 0, 10, 20, 100; positions 0.75, 1.5, 2.25: 0 + 0.75 * 10, 10 + 0.5 * 10, 20 + 0.25 * 80
    assert score_statistics(np.array([100.0, 0.0, 20.0, 10.0])) == \
        {"mean": 32.5, "minimum": 0.0, "q1": 7.5, "median": 15.0, "q3": 40.0, "maximum": 100.0}
    assert score_statistics(np.zeros(0)) == dict.fromkeys(("mean", "minimum", "q1", "median", "q3", "maximum"))
