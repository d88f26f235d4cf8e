"""``mips batch``: score a population read from disk with the array kernels, chunk by chunk, into one Parquet file
of results (a row per scored submission, its numbers in columns named by the trace nodes that explain them) and a
JSON Lines file of rejects (a row per refused input row: where it is and why). Rows in = results + rejects, always.

Parquet is read from its typed columns straight into the kernels' input columns (``engine.batch.typed``); rows that
hold JSON text, folders and JSON Lines are read document by document (``engine.batch.layout``). Each chunk's output
is kept in a work folder beside the results (``engine.batch.parts``) and the outputs are written from the parts
when every chunk is done, each whole and then moved into place: an interrupted run leaves the previous outputs (or
none), and running it again resumes with the chunks not done."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from engine._version import __version__
from engine.base.errors import Location, SubmissionError
from engine.batch import layout, parts, typed
from engine.batch.runner import ENTITY_COLUMNS, score_many
from engine.rules.model import Rulebook
from engine.scoring.fixed import precision
from engine.scoring.kernels.final import BANDS

METADATA_INPUT, METADATA_YEAR, METADATA_RULEBOOK = b"mips.input", b"mips.year", b"mips.rulebook"
METADATA_CHECKSUM = b"mips.input_sha256"
TYPED_CHUNK_ROWS = 65_536  # rows per chunk read from typed columns: the fewer chunks, the less work per row


@dataclass
class Summary:
    """What a batch run did: rows in, scored, refused, the distribution of final scores and payment bands, and how
    many chunks an earlier, interrupted run had done."""

    rows: int = 0
    scored: int = 0
    refused: int = 0
    finals: list[np.ndarray] = field(default_factory=list)  # the final scores, a column per part
    bands: Counter[str] = field(default_factory=Counter)
    resumed_chunks: int = 0

    def describe(self) -> dict[str, Any]:
        shares = {band: round(self.bands[band] / self.scored, 4) if self.scored else 0.0 for band in BANDS}
        finals = np.concatenate(self.finals) if self.finals else np.zeros(0)
        return {"rows": self.rows, "scored": self.scored, "refused": self.refused,
                "mean_final_score": round(math.fsum(finals.tolist()) / len(finals), 4) if len(finals) else None,
                "median_final_score": round(float(np.median(finals)), 4) if len(finals) else None,
                "payment_bands": shares, "resumed_chunks": self.resumed_chunks}


def result_arrays(columns: dict[str, np.ndarray], one: int) -> dict[str, pa.Array]:
    """Result columns as Arrow: the payment band by name, flags as booleans, numbers as decimals (fixed point / one)."""
    arrays = {}
    for name, values in columns.items():
        values = np.asarray(values)
        if name == "payment.band":
            arrays[name] = pa.array(BANDS, pa.string()).take(pa.array(values, pa.int64()))
        elif values.dtype == bool or name == "neutral" or name.endswith(".reweighted"):
            arrays[name] = pa.array(values.astype(bool))
        else:
            arrays[name] = pa.array(values.astype(np.int64) / one, pa.float64())  # <= 15 digits: prints exactly
    return arrays


def results_table(chunk: layout.Chunk, result: Any, one: int) -> pa.Table:
    """One chunk's results: input position and place, the entity, then every output column."""
    positions = [chunk.positions[i] for i in result.positions]
    columns: dict[str, Any] = {"position": pa.array(positions, pa.int64()),
                               "source": pa.array([str(chunk.sources[i]) for i in result.positions], pa.string())}
    for column, key in ENTITY_COLUMNS.items():
        columns[column] = pa.array([header[key] for header in result.entities], pa.string())
    return pa.table({**columns, **result_arrays(result.columns, one)})


def typed_table(scored: typed.Scored, file: str, one: int) -> pa.Table:
    """The results of a batch's typed rows, as ``results_table`` gives them."""
    positions = pa.array(scored.positions, pa.int64())
    source = pc.binary_join_element_wise(pa.scalar(f"{file}[row "), pc.cast(positions, pa.string()), pa.scalar("]"), "")
    return pa.table({"position": positions, "source": source,
                     **{column: scored.entities.get(column, pa.nulls(0, pa.string())) for column in ENTITY_COLUMNS},
                     **result_arrays(scored.columns, one)})


def results_schema(book: Rulebook) -> pa.Schema:
    """The columns of a results file of ``book``, found by scoring a submission with no measurement sets (every
    rulebook scores one)."""
    probe = {"entityType": "individual", "taxpayerIdentificationNumber": "0" * 9, "nationalProviderIdentifier": "0" * 10,
             "performanceYear": book.year, "measurementSets": []}
    chunk = layout.Chunk(0)
    chunk.add(layout.Where("probe"), probe, {})
    result = score_many(book, chunk.documents, chunk.profiles)
    if result.refused:
        raise ValueError(f"{book.display_path}: an empty submission is refused, so the result columns are unknown: "
                         f"{result.refused[0][1]}")
    return results_table(chunk, result, precision(book).one).schema


@dataclass
class Chunk:
    """A chunk of input rows scored: its first position, rows, results and rejects."""

    start: int
    rows: int
    results: pa.Table
    rejects: list[dict[str, Any]]


def _refusals(refusals: list[layout.Refusal]) -> list[dict[str, Any]]:
    return [{"position": r.position, "where": str(r.where), "message": r.message} for r in refusals]


def _rejects(chunk: layout.Chunk, result: Any) -> list[dict[str, Any]]:
    return _refusals(chunk.refusals) + [{"position": chunk.positions[index], "where": str(chunk.sources[index]),
                                         "message": message} for index, message in result.refused]


def _scored(book: Rulebook, chunk: layout.Chunk, one: int) -> tuple[pa.Table, list[dict[str, Any]]]:
    result = score_many(book, chunk.documents, chunk.profiles)
    return results_table(chunk, result, one), _rejects(chunk, result)


def ahead(items: Iterator[Any]) -> Iterator[Any]:
    """``items`` in order, the next one read in a background thread while this one is used: Parquet is decoded
    without Python's lock, so reading and scoring share the cores."""
    end = object()
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(next, items, end)
        while (item := future.result()) is not end:
            future = pool.submit(next, items, end)
            yield item


class Scan:
    """The chunks of an input not done yet, scored; and how many input rows the scan has passed (``rows``)."""

    def __init__(self, source: str | Path, book: Rulebook, chunk_rows: int | None, done: dict[int, parts.Record]):
        self.source, self.book, self.done = Path(source), book, done
        self.typed = layout.is_parquet(self.source) and typed.supported(book)
        self.chunk_rows = chunk_rows or (TYPED_CHUNK_ROWS if self.typed else layout.CHUNK_ROWS)
        self.ends: list[int] = []  # where each chunk passed ends (appended from the reading thread too)
        self.schema = results_schema(book)

    @property
    def rows(self) -> int:
        return max(self.ends, default=0)

    def _conformed(self, table: pa.Table) -> pa.Table:
        """A chunk's results with the file's columns (a chunk with no result has no result columns of its own)."""
        return table.select(self.schema.names).cast(self.schema) if table.num_rows else self.schema.empty_table()

    def __iter__(self) -> Iterator[Chunk]:
        if self.typed:
            yield from self._typed()
            return
        one = precision(self.book).one
        for chunk in layout.read_population(self.source, self.chunk_rows):
            self.ends.append(chunk.next)
            if chunk.start not in self.done:
                results, rejects = _scored(self.book, chunk, one)
                yield Chunk(chunk.start, chunk.rows, self._conformed(results), rejects)

    def _skip(self, start: int, rows: int) -> bool:
        """Row groups whose rows are all done are not read."""
        position = start
        while position in self.done and position < start + rows:
            position += self.done[position].rows
        if position == start + rows:
            self.ends.append(start + rows)
            return True
        return False

    def _typed(self) -> Iterator[Chunk]:
        file, one = str(self.source), precision(self.book).one
        for start, batch in ahead(layout.parquet_batches(self.source, self.chunk_rows, self._skip)):
            if isinstance(batch, layout.Chunk):  # rows that cannot be read
                self.ends.append(batch.next)
                if start not in self.done:
                    yield Chunk(start, batch.rows, self.schema.empty_table(), _refusals(batch.refusals))
                continue
            self.ends.append(start + batch.num_rows)
            if start in self.done:
                continue
            scored = typed.score(self.book, batch, file, start)
            results, rejects = _scored(self.book, layout.json_rows(scored.conformed, scored.problems, file, start,
                                                                   scored.to_json), one)
            table = pa.concat_tables([self._conformed(typed_table(scored, file, one)), self._conformed(results)])
            rejects += _refusals(scored.refusals)
            yield Chunk(start, batch.num_rows, table.sort_by("position"), rejects)


def run(source: str | Path, book: Rulebook, output: str | Path, rejects: str | Path | None = None,
        progress: Callable[[int], None] | None = None, chunk_rows: int | None = None) -> Summary:
    """Score every row of ``source`` (a folder, JSON Lines or Parquet: ``engine.batch.layout``) under ``book``,
    ``chunk_rows`` rows at a time (by default TYPED_CHUNK_ROWS from typed columns, else ``layout.CHUNK_ROWS``)."""
    if chunk_rows is not None and chunk_rows < 1:
        raise SubmissionError(Location("chunk_rows"), f"{chunk_rows} rows per chunk; expected at least 1")
    source = layout.readable_source(source)
    output = Path(output)
    rejects = Path(rejects) if rejects else output.with_suffix(".rejects.jsonl")
    checksum = layout.checksum(source)
    scan = Scan(source, book, chunk_rows, {})
    identity = {"input": str(Path(source).resolve()), "input_sha256": checksum, "rulebook": book.describe(),
                "chunk_rows": scan.chunk_rows, "typed": scan.typed, "engine": __version__}
    with parts.WorkFolder(output, json.loads(json.dumps(identity, default=str))).opened() as work:
        done = scan.done = work.done()
        for chunk in scan:
            refused = sorted(chunk.rejects, key=lambda r: r["position"])
            work.save(parts.Record(chunk.start, chunk.rows, chunk.results.num_rows, len(refused)), chunk.results, refused)
            if progress:
                progress(scan.rows)
        if scan.rows == 0:
            work.remove()
            raise SubmissionError(Location(str(source)), "no rows to score", "give a folder, JSON Lines or Parquet file")
        metadata = {METADATA_INPUT: str(Path(source).resolve()).encode(), METADATA_YEAR: str(book.year).encode(),
                    METADATA_RULEBOOK: json.dumps(book.describe(), default=str).encode(), METADATA_CHECKSUM: checksum.encode()}
        summary = _merge(work, scan, output, rejects, metadata)
        summary.resumed_chunks = len(done)
        work.remove()
    return summary


def _merge(work: parts.WorkFolder, scan: Scan, output: Path, rejects: Path, metadata: dict[bytes, bytes]) -> Summary:
    """The parts into the outputs, each written whole and then moved into place, rejects first; the summary."""
    records = work.covered(scan.rows)
    summary = Summary(rows=scan.rows)
    with layout.replacing(rejects) as refused, refused.open("w", encoding="utf-8") as bad:
        for record in records:
            bad.write(work.rejects(record).read_text(encoding="utf-8"))
            summary.refused += record.refused
        bad.flush()
        with layout.replacing(output) as results, \
                pq.ParquetWriter(results, scan.schema.with_metadata(metadata), compression="zstd") as writer:
            for record in records:
                table = work.results(record)
                writer.write_table(table.replace_schema_metadata(metadata))
                summary.scored += table.num_rows
                summary.finals.append(table.column("final_score").to_numpy())
                counts = pc.value_counts(table.column("payment.band")).to_pylist()
                summary.bands.update({count["values"]: count["counts"] for count in counts})
    if summary.scored + summary.refused != summary.rows:
        raise RuntimeError(f"rows in {summary.rows} != results {summary.scored} + rejects {summary.refused}")
    return summary


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
    chunk = layout.input_rows(source, position)
    if position in chunk.positions:
        index = chunk.positions.index(position)
        return chunk.documents[index], chunk.profiles[index], position
    raise SubmissionError(Location(str(source)), f"input row {position} is no longer there (was the input changed?)")
