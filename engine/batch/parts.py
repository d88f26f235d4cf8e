"""The work folder of a ``mips batch`` run, beside its output (``.results.parquet.parts``), which lets an interrupted
run resume: never a row twice, never a row lost.

- ``manifest.json`` says what the parts are made from: the input's SHA-256, the rulebook (its identity and its
  checksum), the rows per chunk and the engine's version. A run whose manifest differs (another input, an edited
  rulebook, ...) or is missing starts clean: the folder is emptied first.
- Each chunk of input rows is scored into ``part-<start>.arrow`` (its results, an Arrow IPC file: written and read
  back with no encoding) and ``part-<start>.rejects.jsonl``,
  then ``part-<start>.json`` records it as done (its first input position, rows, scored and refused). Every file is
  written beside its name, flushed to disk and moved onto it, the record last: a chunk is done exactly when its record
  is there, and a rerun scores only the chunks without one.
- When every chunk is done, the parts are merged into the outputs (each written whole, then moved into place) after
  checking that the records cover every input position once, and the folder is removed last: while it exists, the
  outputs are not final, and a rerun merges again.

A lock on the folder keeps two runs from writing the same output at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from engine.base.errors import Location, SubmissionError

MANIFEST, LOCK = "manifest.json", "lock"
FORMAT = 1  # of the work folder's files


@dataclass(frozen=True)
class Record:
    """A chunk done: its first input position, input rows, results and rejects."""

    start: int
    rows: int
    scored: int
    refused: int

    @property
    def stem(self) -> str:
        return f"part-{self.start:012d}"


def _durable(temporary: Path, target: Path) -> None:
    """Flush ``temporary`` to disk and move it onto ``target``."""
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, target)


def _beside(target: Path) -> Path:
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")


def write_json(value: Any, target: Path) -> None:
    temporary = _beside(target)
    temporary.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    _durable(temporary, target)


class WorkFolder:
    """The parts of one output's run (see the module's docstring)."""

    def __init__(self, output: Path, identity: dict[str, Any]):
        self.output = output
        self.path = output.parent / f".{output.name}.parts"
        self.identity = {"format": FORMAT, **identity}

    @contextmanager
    def opened(self) -> Iterator[WorkFolder]:
        """The folder, locked for this run, with its parts kept if its manifest is this run's and emptied otherwise."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SubmissionError(Location(str(self.output)), f"cannot write the results here: {exc.strerror or exc}",
                                  "give -o a file path in a folder you can write") from None
        with open(self.path / LOCK, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SubmissionError(Location(str(self.path)), "another mips batch run is writing this output") from None
            if self._manifest() != self.identity:
                for item in self.path.iterdir():
                    if item.name != LOCK:
                        shutil.rmtree(item) if item.is_dir() else item.unlink()
                write_json(self.identity, self.path / MANIFEST)
            yield self

    def _manifest(self) -> Any:
        try:
            return json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def done(self) -> dict[int, Record]:
        """The chunks done, by first input position."""
        records = {}
        for file in self.path.glob("part-*.json"):
            try:
                record = Record(**json.loads(file.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue  # not a record this run wrote whole: its chunk is scored again
            if file.name == f"{record.stem}.json":
                records[record.start] = record
        return records

    def save(self, record: Record, results: pa.Table, rejects: list[dict[str, Any]]) -> None:
        """A chunk's results and rejects, then its record."""
        target = self.path / f"{record.stem}.arrow"
        temporary = _beside(target)
        with pa.ipc.new_file(temporary, results.schema) as writer:
            writer.write_table(results)
        _durable(temporary, target)
        target = self.path / f"{record.stem}.rejects.jsonl"
        temporary = _beside(target)
        temporary.write_text("".join(json.dumps(row) + "\n" for row in rejects), encoding="utf-8")
        _durable(temporary, target)
        write_json(asdict(record), self.path / f"{record.stem}.json")

    def covered(self, rows: int) -> list[Record]:
        """The records of a complete run over ``rows`` input rows, in order; SubmissionError unless they cover every
        position from 0 once."""
        records = sorted(self.done().values(), key=lambda r: r.start)
        position = 0
        for record in records:
            if record.start != position:
                break
            position += record.rows
        if position != rows or sum(r.rows for r in records) != rows:
            raise SubmissionError(Location(str(self.path)), f"the parts cover input rows 0 to {position} of {rows}",
                                  "run again: the chunks not done are scored")
        return records

    def results(self, record: Record) -> pa.Table:
        with pa.memory_map(str(self.path / f"{record.stem}.arrow")) as source:
            return pa.ipc.open_file(source).read_all()

    def rejects(self, record: Record) -> Path:
        return self.path / f"{record.stem}.rejects.jsonl"

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
