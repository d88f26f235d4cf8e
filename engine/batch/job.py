"""``mips batch``: score a population read from disk with the array kernels, chunk by chunk, into one Parquet file
of results (a row per scored submission, its numbers in columns named by the trace nodes that explain them) and a
JSON Lines file of rejects (a row per refused input row: where it is and why). Rows in = results + rejects, always;
both files are written beside their targets and moved into place only when complete, so an interrupted run
leaves the previous outputs (or none) and a rerun starts clean."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from engine.base.errors import Location, SubmissionError
from engine.batch import layout
from engine.batch.runner import score_many
from engine.rules.model import Rulebook
from engine.scoring.fixed import precision
from engine.scoring.kernels.final import BANDS

ENTITY_COLUMNS = {"entity_type": "type", "tin": "tin", "npi": "npi", "entity_id": "entity_id", "program": "program"}
METADATA_INPUT, METADATA_YEAR, METADATA_RULEBOOK = b"mips.input", b"mips.year", b"mips.rulebook"


@dataclass
class Summary:
    """What a batch run did: rows in, scored, refused, and the distribution of final scores and payment bands."""

    rows: int = 0
    scored: int = 0
    refused: int = 0
    finals: list[float] = field(default_factory=list)
    bands: Counter[str] = field(default_factory=Counter)

    def describe(self) -> dict[str, Any]:
        shares = {band: round(self.bands[band] / self.scored, 4) if self.scored else 0.0 for band in BANDS}
        return {"rows": self.rows, "scored": self.scored, "refused": self.refused,
                "mean_final_score": round(statistics.fmean(self.finals), 4) if self.finals else None,
                "median_final_score": round(statistics.median(self.finals), 4) if self.finals else None,
                "payment_bands": shares}


def results_table(chunk: layout.Chunk, result: Any, one: int) -> pa.Table:
    """One chunk's results: input position and place, the entity, then every output column."""
    positions = [chunk.positions[i] for i in result.positions]
    columns: dict[str, Any] = {"position": pa.array(positions, pa.int64()),
                               "source": pa.array([str(chunk.sources[i]) for i in result.positions], pa.string())}
    for column, key in ENTITY_COLUMNS.items():
        columns[column] = pa.array([header[key] for header in result.entities], pa.string())
    for name, values in result.columns.items():
        values = np.asarray(values)
        if name == "payment.band":
            columns[name] = pa.array(np.asarray(BANDS, dtype=object)[values] if len(values) else [], pa.string())
        elif values.dtype == bool or name == "neutral" or name.endswith(".reweighted"):
            columns[name] = pa.array(values.astype(bool))
        else:
            columns[name] = pa.array(values.astype(np.int64) / one, pa.float64())  # <= 15 digits: prints exactly
    return pa.table(columns)


def _rejects(chunk: layout.Chunk, result: Any) -> Iterator[dict[str, Any]]:
    for refusal in chunk.refusals:
        yield {"position": refusal.position, "where": str(refusal.where), "message": refusal.message}
    for index, message in result.refused:
        yield {"position": chunk.positions[index], "where": str(chunk.sources[index]), "message": message}


def run(source: str | Path, book: Rulebook, output: str | Path, rejects: str | Path | None = None,
        progress: Callable[[int], None] | None = None, chunk_rows: int = layout.CHUNK_ROWS) -> Summary:
    """Score every row of ``source`` (a folder, JSON Lines or Parquet: ``engine.batch.layout``) under ``book``."""
    output = Path(output)
    rejects = Path(rejects) if rejects else output.with_suffix(".rejects.jsonl")
    one, summary = precision(book).one, Summary()
    metadata = {METADATA_INPUT: str(Path(source).resolve()).encode(), METADATA_YEAR: str(book.year).encode(),
                METADATA_RULEBOOK: json.dumps(book.describe(), default=str).encode()}
    writer = None
    with layout.replacing(output) as results, layout.replacing(rejects) as refused, refused.open("w") as bad:
        try:
            for chunk in layout.read_population(source, chunk_rows):
                result = score_many(book, chunk.documents, chunk.profiles)
                table = results_table(chunk, result, one)
                if writer is None:
                    writer = pq.ParquetWriter(results, table.schema.with_metadata(metadata), compression="zstd")
                writer.write_table(table)
                for row in sorted(_rejects(chunk, result), key=lambda r: r["position"]):
                    bad.write(json.dumps(row) + "\n")
                    summary.refused += 1
                _count(summary, chunk, table)
                if progress:
                    progress(summary.rows)
            if writer is None:
                raise SubmissionError(Location(str(source)), "no rows to score", "give a folder, JSON Lines or Parquet file")
        finally:
            if writer is not None:
                writer.close()
    return summary


def _count(summary: Summary, chunk: layout.Chunk, table: pa.Table) -> None:
    summary.rows += chunk.rows
    summary.scored += table.num_rows
    summary.finals += table.column("final_score").to_pylist()
    summary.bands.update(table.column("payment.band").to_pylist())


def results_input(path: str | Path) -> tuple[Path, int]:
    """The input a results file was scored from, and its year (from the file's metadata)."""
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowException) as exc:
        raise SubmissionError(Location(str(path)), f"not a readable Parquet file: {exc}") from None
    if METADATA_INPUT not in metadata:
        raise SubmissionError(Location(str(path)), "not a results file of mips batch (no input recorded in it)")
    return Path(metadata[METADATA_INPUT].decode()), int(metadata[METADATA_YEAR].decode())


def input_row(path: str | Path, row: int) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Row ``row`` (from 0) of a results file: the submission and profile it was scored from, and its position."""
    source, _ = results_input(path)
    table = pq.read_table(path, columns=["position"])
    if not 0 <= row < table.num_rows:
        raise SubmissionError(Location(str(path)), f"row {row} is not in the results ({table.num_rows} rows, from 0)")
    position = table.column("position")[row].as_py()
    for chunk in layout.read_population(source):
        if chunk.start <= position < chunk.next:
            index = chunk.positions.index(position)
            return chunk.documents[index], chunk.profiles[index], position
    raise SubmissionError(Location(str(source)), f"input row {position} is no longer there (was the input changed?)")
