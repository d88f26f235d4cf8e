"""One population scored under several years' rules: how its final scores, payment bands and adjustments move.

The population is read once (``engine.batch.layout``), chunk by chunk; each submission is read as one year's
submission under each other year's rules by the ``retarget`` it is given (the crosswalk ``mips compare`` uses:
its performance year set to the rulebook's, category names and measure ids crosswalked) and scored with the array
kernels. Written into the output folder:

- ``scores.parquet``: a row per input row, in input order: its position and place, its entity, and for each year its
  final score and payment band, or why it was refused (``final_score.<year>``, ``payment.band.<year>``,
  ``refusal.<year>``);
- ``summary.parquet``, ``summary.csv``, ``summary.md``: a row per year: rows in, scored, refused, the mean, quartiles
  and median of the final scores, the share of the scored in each payment band and their mean total adjustment;
- ``distributions.png``: the years' distributions side by side with their thresholds, drawn by ``chart``.

No row is dropped: for every year, rows in = scored + refused. The batch layer imports neither authoring nor outputs,
so the caller passes both: ``engine.authoring.crosswalk.retarget`` and ``engine.outputs.charts.distributions_chart``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from engine.base.errors import Location, MipsError, SubmissionError
from engine.batch import layout
from engine.batch.job import ENTITY_COLUMNS
from engine.batch.runner import score_many
from engine.inputs.submission import Submission, as_submission
from engine.rules.loader import load_rulebook
from engine.rules.model import Rulebook
from engine.scoring.fixed import precision
from engine.scoring.kernels.final import BANDS

Retarget = Callable[[Submission, Rulebook], tuple[Submission, Sequence[Any]]]  # a submission read under a rulebook's year
Chart = Callable[[dict[str, np.ndarray], dict[str, Rulebook], Path], None]  # final scores and rulebooks by year -> PNG
FILES = {"scores": "scores.parquet", "summary": "summary.parquet", "summary_csv": "summary.csv",
         "summary_markdown": "summary.md", "chart": "distributions.png"}
STATISTICS = ("mean", "minimum", "q1", "median", "q3", "maximum")
SUMMARY = pa.schema([("year", pa.int64()), ("rows", pa.int64()), ("scored", pa.int64()), ("refused", pa.int64()),
                     *[(name, pa.float64()) for name in STATISTICS], *[(f"share.{band}", pa.float64()) for band in BANDS],
                     ("mean_total_adjustment", pa.float64())])


def score_statistics(final_scores: np.ndarray) -> dict[str, float | None]:
    """The mean, extremes, quartiles and median of final scores (quartiles interpolated linearly between the sorted
    scores, numpy's default); None each when there are none."""
    scores = np.asarray(final_scores, dtype=float)
    if not len(scores):
        return dict.fromkeys(STATISTICS)
    q1, median, q3 = np.quantile(scores, [0.25, 0.5, 0.75]).tolist()
    return {"mean": float(np.mean(scores)), "minimum": float(scores.min()), "q1": q1, "median": median, "q3": q3,
            "maximum": float(scores.max())}


@dataclass
class _Year:
    """One year's rulebook and what its scoring of the population has given so far."""

    book: Rulebook
    finals: list[np.ndarray] = field(default_factory=list)
    bands: list[np.ndarray] = field(default_factory=list)
    totals: list[np.ndarray] = field(default_factory=list)
    refused: int = 0

    def score(self, chunk: layout.Chunk, submissions: Mapping[int, Submission], refusals: list[str | None],
              retarget: Retarget) -> dict[str, pa.Array]:
        """The chunk's columns for this year: final score and band of each row scored, why each other row was refused
        (``refusals`` holds the chunk's rows refused under every year)."""
        refusals = list(refusals)
        rows = [chunk.positions[index] - chunk.start for index in submissions]  # each scored item's row in the chunk
        result = score_many(self.book, [retarget(submission, self.book)[0] for submission in submissions.values()],
                            [chunk.profiles[index] for index in submissions])
        for index, message in result.refused:
            refusals[rows[index]] = message
        finals: list[float | None] = [None] * chunk.rows
        bands: list[str | None] = [None] * chunk.rows
        if result.positions:
            one = precision(self.book).one
            self.finals.append(result.columns["final_score"] / one)
            self.bands.append(result.columns["payment.band"])
            self.totals.append(result.columns["payment.total"] / one)
            for index, final, band in zip(result.positions, self.finals[-1].tolist(), self.bands[-1].tolist(), strict=True):
                finals[rows[index]], bands[rows[index]] = final, BANDS[band]
        self.refused += sum(message is not None for message in refusals)
        year = self.book.year
        return {f"final_score.{year}": pa.array(finals, pa.float64()), f"payment.band.{year}": pa.array(bands, pa.string()),
                f"refusal.{year}": pa.array(refusals, pa.string())}

    def summary(self, rows: int) -> dict[str, Any]:
        finals = np.concatenate(self.finals) if self.finals else np.zeros(0)
        counts = np.bincount(np.concatenate(self.bands), minlength=len(BANDS)) if self.bands else np.zeros(len(BANDS))
        shares = {f"share.{band}": float(counts[i] / len(finals)) if len(finals) else None for i, band in enumerate(BANDS)}
        mean_total = float(np.mean(np.concatenate(self.totals))) if self.totals else None
        return {"year": self.book.year, "rows": rows, "scored": len(finals), "refused": self.refused,
                **score_statistics(finals), **shares, "mean_total_adjustment": mean_total}


def _chunk_table(chunk: layout.Chunk, years: Sequence[_Year], retarget: Retarget) -> pa.Table:
    """A chunk's rows of ``scores.parquet``; each submission is read once, then scored under every year."""
    places: list[str] = [""] * chunk.rows
    refusals: list[str | None] = [None] * chunk.rows  # rows refused under every year
    entities: list[dict[str, Any]] = [{}] * chunk.rows
    for refusal in chunk.refusals:
        places[refusal.position - chunk.start], refusals[refusal.position - chunk.start] = str(refusal.where), refusal.message
    submissions: dict[int, Submission] = {}
    for index, (position, where, document) in enumerate(zip(chunk.positions, chunk.sources, chunk.documents, strict=True)):
        places[position - chunk.start] = str(where)
        try:
            submissions[index] = as_submission(document)
        except MipsError as exc:
            refusals[position - chunk.start] = str(exc)
            continue
        entities[position - chunk.start] = submissions[index].entity()
    columns = {"position": pa.array(range(chunk.start, chunk.next), pa.int64()), "source": pa.array(places, pa.string()),
               **{column: pa.array([e.get(key) for e in entities], pa.string()) for column, key in ENTITY_COLUMNS.items()}}
    for year in years:
        columns |= year.score(chunk, submissions, refusals, retarget)
    return pa.table(columns)


def _write_summary(summaries: list[dict[str, Any]], paths: Mapping[str, Path]) -> None:
    with layout.replacing(paths["summary"]) as temporary:
        pq.write_table(pa.Table.from_pylist(summaries, schema=SUMMARY), temporary, compression="zstd")
    with layout.replacing(paths["summary_csv"]) as temporary, open(temporary, "x", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, SUMMARY.names)
        writer.writeheader()
        writer.writerows(summaries)
    with layout.replacing(paths["summary_markdown"]) as temporary:
        temporary.write_text(_markdown(summaries), encoding="utf-8")


def _markdown(summaries: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table: scores to two decimals, band shares and adjustments in per cent."""
    def number(value: float | None, digits: int = 2, scale: float = 1.0) -> str:
        return "–" if value is None else f"{value * scale:.{digits}f}"

    header = ["year", "rows", "scored", "refused", "mean", "Q1", "median", "Q3",
              *[f"{band.replace('_', ' ')} %" for band in BANDS], "mean total adjustment %"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---:|" * len(header)]
    for s in summaries:
        cells = [str(s[key]) for key in ("year", "rows", "scored", "refused")]
        cells += [number(s[key]) for key in ("mean", "q1", "median", "q3")]
        cells += [number(s[f"share.{band}"], 1, 100) for band in BANDS] + [number(s["mean_total_adjustment"], 3)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def compare_population(source: str | Path, years: list[int], output_folder: str | Path, *, retarget: Retarget,
                       chart: Chart) -> dict[str, Any]:
    """Score the population at ``source`` (a folder, JSON Lines or Parquet) under each year's rules into
    ``output_folder`` (``FILES``); return rows in, each year's summary and the files written."""
    scoring = [_Year(load_rulebook(year)) for year in dict.fromkeys(years)]
    paths = {name: Path(output_folder) / file for name, file in FILES.items()}
    rows, writer = 0, None
    with layout.replacing(paths["scores"]) as temporary:
        try:
            for chunk in layout.read_population(source):
                table = _chunk_table(chunk, scoring, retarget)
                writer = writer or pq.ParquetWriter(temporary, table.schema, compression="zstd")
                writer.write_table(table)
                rows += chunk.rows
            if writer is None:
                raise SubmissionError(Location(str(source)), "no rows to score", "give a folder, JSON Lines or Parquet file")
        finally:
            if writer is not None:
                writer.close()
    summaries = [year.summary(rows) for year in scoring]
    _write_summary(summaries, paths)
    with layout.replacing(paths["chart"]) as temporary:
        chart({str(y.book.year): np.concatenate(y.finals) if y.finals else np.zeros(0) for y in scoring},
              {str(y.book.year): y.book for y in scoring}, temporary)
    return {"rows": rows, "years": summaries, "files": {name: str(path) for name, path in paths.items()}}
