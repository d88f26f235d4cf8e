"""A population of submissions on disk, in one of three forms, and its relations (docs/population-layout.md).

- Parquet: one row per submission (``SUBMISSIONS``): entity columns, the measurement sets as a list of structs, the
  profile's facts as columns. Any JSON submission is kept whole: what its typed columns cannot hold is kept as JSON
  text beside them.
- JSON Lines: one QPP submission document per line, its profile (if any) under a ``profile`` key beside it.
- A folder of QPP JSON files, each with its profile in a YAML file of the same stem beside it (if any).
- ``entities.parquet`` (``ENTITIES``): one row per TIN/NPI: its TIN, NPI, virtual group, APM Entities and Medicare
  paid amount in cents.

``read_population`` streams any of the three forms as chunks of documents and refusals: every input row is either
a document (with its profile) or a refusal naming its file, line or row and what was wrong, never dropped, never a
crash. The writers write to a temporary file (or folder) beside the target and move it into place.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import math
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import yaml

from engine.base.errors import LocatedError, Location, ProfileError, SubmissionError
from engine.base.reading import read_text
from engine.base.schemas import validator
from engine.population.synthetic import Entities, Population, Row

CHUNK_ROWS = 8192  # rows per chunk read, and per Parquet row group written
PROFILE_KEY = "profile"  # a JSON Lines document's profile
PROFILE_SUFFIXES = (".yaml", ".yml")  # a folder's profile files
SUBMISSION_KEYS = ("entityType", "measurementSets", "measurements", "data")  # a QPP submission has one at its top
KINDS = {"individual": "individual", "group": "group", "virtualGroup": "virtual_group", "apm": "apm_entity"}
MAX_SAFE_INTEGER = 2**53  # a whole number a float64 column holds exactly

# --------------------------------------------------------------------------------------------- the schemas

_COUNT, _NUMBER, _TEXT, _FLAG = pa.int64(), pa.float64(), pa.string(), pa.bool_()
_COUNTS = [(name, _COUNT) for name in ("performanceMet", "performanceNotMet", "eligiblePopulationExclusion",
                                       "eligiblePopulationException", "eligiblePopulation")]
STRATUM = pa.struct([("stratum", _TEXT), *_COUNTS, ("performanceRate", _NUMBER)])
VALUE = pa.struct([  # a measurement's object value, its fields named as in QPP
    ("isEndToEndReported", _FLAG), *_COUNTS,
    *[(name, _NUMBER) for name in ("numerator", "denominator", "observationInstances", "denominatorException",
                                   "numeratorExclusion", "performanceRate", "reportingRate")],
    ("strata", pa.list_(STRATUM)),
])
MEASUREMENT = pa.struct([("measure_id", _TEXT), ("boolean_value", _FLAG), ("value", VALUE), ("json", _TEXT)])
SET_COLUMNS = {"category": "category", "submissionMethod": "submission_method", "programName": "program",
               "performanceStart": "performance_start", "performanceEnd": "performance_end", "cehrtId": "cehrt_id"}
MEASUREMENT_SET = pa.struct([*[(column, _TEXT) for column in SET_COLUMNS.values()],
                             ("measurements", pa.list_(MEASUREMENT)), ("extra_json", _TEXT)])
HEADER_COLUMNS = {"id": ("id", _TEXT), "entityType": ("entity_type", _TEXT), "performanceYear": ("performance_year", pa.int32()),
                  "taxpayerIdentificationNumber": ("tin", _TEXT), "nationalProviderIdentifier": ("npi", _TEXT),
                  "entityId": ("entity_id", _TEXT), "programName": ("program", _TEXT)}


def _arrow_type(schema: Mapping[str, Any]) -> pa.DataType:
    """The Arrow type of a profile schema property."""
    scalars = {"boolean": _FLAG, "string": _TEXT, "integer": _COUNT, "number": _NUMBER}
    if schema["type"] == "object":
        return pa.struct([(name, _arrow_type(sub)) for name, sub in schema["properties"].items()])
    if schema["type"] == "array":
        return pa.list_(_arrow_type(schema["items"]))
    return scalars[schema["type"]]


PROFILE = pa.schema([(name, _arrow_type(sub)) for name, sub in
                     cast(Mapping[str, Any], validator("profile.schema.json").schema)["properties"].items()])
PROFILE_STRUCT = pa.struct(list(PROFILE))
SUBMISSIONS = pa.schema([
    ("kind", _TEXT), *HEADER_COLUMNS.values(), ("measurement_sets", pa.list_(MEASUREMENT_SET)), ("extra_json", _TEXT),
    *PROFILE, ("profile_json", _TEXT),
])
ENTITIES = pa.schema([pa.field("tin", _TEXT, nullable=False), pa.field("npi", _TEXT, nullable=False),
                      ("virtual_group", _TEXT), pa.field("apm_entities", pa.list_(_TEXT), nullable=False),
                      pa.field("paid_cents", _COUNT, nullable=False)])


# ------------------------------------------------------------------------------------- rows and refusals


@dataclass(frozen=True)
class Where:
    """Where an input row comes from: its file, and its line (JSON Lines, from 1) or row (Parquet, from 0)."""

    file: str
    line: int | None = None
    row: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}"
        return f"{self.file}[row {self.row}]" if self.row is not None else self.file


@dataclass(frozen=True)
class Refusal:
    """An input row that is not a submission: its position in the input, where it is, and what was wrong."""

    position: int
    where: Where
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Chunk:
    """Consecutive input rows from position ``start``: the good ones as documents (with their positions, sources and
    profiles, in order) and the bad ones as refusals. ``rows`` = good + refused."""

    start: int
    positions: list[int] = field(default_factory=list)
    sources: list[Where] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    profiles: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.documents) + len(self.refusals)

    @property
    def next(self) -> int:
        """The position of the row after this chunk's last."""
        return self.start + self.rows

    def add(self, where: Where, document: Any, profile: Any) -> None:
        """The next row: a document with its profile, or a refusal when it is not one."""
        problem = _not_a_submission(document) or _not_a_profile(profile)
        if problem:
            self.refuse(where, problem)
            return
        self.positions.append(self.next)
        self.sources.append(where)
        self.documents.append(document)
        self.profiles.append(profile)

    def refuse(self, where: Where, message: str) -> None:
        self.refusals.append(Refusal(self.next, where, message))


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "true or false", type(None): "null"}
    return names.get(type(value), "a number")


def _not_a_submission(document: Any) -> str | None:
    if not isinstance(document, dict):
        return f"expected a JSON object (a QPP submission), found {_json_type(document)}"
    if not any(key in document for key in SUBMISSION_KEYS):
        return f"not a QPP submission: it has none of the keys {', '.join(SUBMISSION_KEYS)}"
    return None


def _not_a_profile(profile: Any) -> str | None:
    return None if isinstance(profile, dict) else f"the profile must be an object of facts, found {_json_type(profile)}"


# ------------------------------------------------------------------------------------------------ reading


def read_population(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """Stream a population: a folder of QPP JSON files, a Parquet file (by its magic bytes) or JSON Lines."""
    path = readable_source(path)
    if path.is_dir():
        return _read_folder(path, chunk_rows)
    if is_parquet(path):
        return _read_parquet(path, chunk_rows)
    return _read_lines(path, chunk_rows)


def readable_source(path: str | Path) -> Path:
    """``path`` if it is a folder or a regular file; refused otherwise (a FIFO or device is never opened: a read
    could block)."""
    path = Path(path)
    if not (path.is_dir() or path.is_file()):
        problem = "not a regular file or folder" if path.exists() else "no such file or folder"
        raise SubmissionError(Location(str(path)), f"cannot read: {problem}",
                              "give a folder of QPP JSON files, a JSON Lines file or a Parquet file")
    return path


def is_parquet(path: Path) -> bool:
    """Whether ``path`` is a regular file starting with Parquet's magic bytes."""
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"PAR1"
    except OSError:
        return False  # read as JSON Lines, whose reader reports why it cannot be read


def _unreadable(where: Where, message: str, start: int = 0, rows: int = 1) -> Chunk:
    chunk = Chunk(start)
    for offset in range(rows):
        chunk.refuse(Where(where.file, row=where.row + offset) if where.row is not None else where, message)
    return chunk


def _read_lines(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    """JSON Lines: a document per line, its profile under ``profile``; blank lines are not rows."""
    name = str(path)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        yield _unreadable(Where(name), f"cannot read: {exc.strerror or exc}")
        return
    chunk = Chunk(0)
    with handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                parse_line(chunk, Where(name, line=number), raw)
            if chunk.rows >= chunk_rows:
                yield chunk
                chunk = Chunk(chunk.next)
    if chunk.rows:
        yield chunk


def parse_line(chunk: Chunk, where: Where, raw: bytes) -> None:
    try:
        document = json.loads(raw)
    except UnicodeDecodeError as exc:
        chunk.refuse(where, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})")
        return
    except json.JSONDecodeError as exc:
        chunk.refuse(where, f"not valid JSON: {exc.msg} (column {exc.colno})")
        return
    except RecursionError:
        chunk.refuse(where, "JSON nested too deeply to read")
        return
    profile = document.pop(PROFILE_KEY, {}) if isinstance(document, dict) else {}
    chunk.add(where, document, profile)


def _folder_files(root: Path) -> list[Path]:
    """A population folder's files, in the order they are read (names starting with "." skipped)."""
    return sorted((p for p in root.rglob("*") if not any(part.startswith(".") for part in p.relative_to(root).parts)
                   and not p.is_dir()), key=lambda p: p.relative_to(root).parts)


def checksum(path: str | Path) -> str:
    """The SHA-256 of what ``read_population`` reads from ``path``: a file's bytes; a folder's files, each by its name
    and bytes, in order (a file that is not a regular file by its name alone, never opened)."""
    path, digest = Path(path), hashlib.sha256()

    def add(file: Path) -> None:
        if not file.is_file():
            digest.update(b"\0not a regular file\0")
            return
        with open(file, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)

    if path.is_dir():
        for file in _folder_files(path):
            digest.update(str(file.relative_to(path)).encode("utf-8", "surrogateescape") + b"\0")
            add(file)
            digest.update(b"\0")
    else:
        add(path)
    return digest.hexdigest()


def _read_folder(root: Path, chunk_rows: int) -> Iterator[Chunk]:
    """A folder (and its subfolders, names starting with "." skipped): each .json file a submission, its profile in
    the .yaml (or .yml) file of the same stem beside it; any other file is refused."""
    files = _folder_files(root)
    submissions = {p.with_suffix("") for p in files if p.suffix.lower() == ".json"}
    profiles: dict[Path, Path] = {}
    for p in files:
        if p.suffix.lower() in PROFILE_SUFFIXES:
            profiles.setdefault(p.with_suffix(""), p)
    chunk = Chunk(0)
    for p in files:
        stem, suffix = p.with_suffix(""), p.suffix.lower()
        if suffix == ".json":
            _file(chunk, p, profiles.get(stem))
        elif suffix not in PROFILE_SUFFIXES:
            chunk.refuse(Where(str(p)), "not a submission: a population folder holds QPP submissions (.json) and "
                                        "their profiles (.yaml beside them)")
        elif stem not in submissions:
            chunk.refuse(Where(str(p)), f"a profile with no submission beside it (expected {stem.name}.json)")
        elif profiles[stem] != p:
            chunk.refuse(Where(str(p)), f"a second profile for {stem.name}.json ({profiles[stem].name} is read)")
        if chunk.rows >= chunk_rows:
            yield chunk
            chunk = Chunk(chunk.next)
    if chunk.rows:
        yield chunk


def _file(chunk: Chunk, path: Path, profile_path: Path | None) -> None:
    where = Where(str(path))
    try:
        text = read_text(path, SubmissionError, "submission")
        document = json.loads(text)
        profile = _profile_file(profile_path) if profile_path else {}
    except LocatedError as exc:
        chunk.refuse(Where(exc.location.file, exc.location.line), exc.message)
        return
    except json.JSONDecodeError as exc:
        chunk.refuse(Where(str(path), exc.lineno), f"not valid JSON: {exc.msg} (column {exc.colno})")
        return
    except RecursionError:
        chunk.refuse(where, "JSON nested too deeply to read")
        return
    chunk.add(where, document, profile)


def _profile_file(path: Path) -> Any:
    text = read_text(path, ProfileError, "profile")
    try:
        profile = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ProfileError(Location(str(path), mark.line + 1 if mark else None),
                           f"not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    return {} if profile is None else profile


def _read_parquet(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    """Parquet: a row per submission (``SUBMISSIONS``); a column of another type is cast, row by row where needed."""
    for start, batch in parquet_batches(path, chunk_rows):
        if isinstance(batch, Chunk):
            yield batch
            continue
        columns, problems = conform(batch, SUBMISSIONS)
        yield json_rows(columns, problems, str(path), start, np.arange(batch.num_rows))


def input_rows(path: str | Path, position: int) -> Chunk:
    """A chunk holding input row ``position`` (refused or not): of a Parquet file, that row alone (its row group is
    read); of another form, the chunk it is in."""
    path = Path(path)
    if is_parquet(path):
        for start, batch in parquet_batches(path, CHUNK_ROWS, lambda first, rows: not first <= position < first + rows):
            if isinstance(batch, Chunk):
                if batch.start <= position < batch.next:
                    return batch
            elif start <= position < start + batch.num_rows:
                columns, problems = conform(batch.slice(position - start, 1), SUBMISSIONS)
                return json_rows(columns, problems, str(path), position, np.arange(1))
    for chunk in read_population(path):
        if chunk.start <= position < chunk.next:
            return chunk
    return Chunk(position)


def parquet_batches(path: Path, chunk_rows: int, skip: Callable[[int, int], bool] | None = None,
                    ) -> Iterator[tuple[int, pa.RecordBatch | Chunk]]:
    """A Parquet file of submissions as (start, batch of the layout's columns) in order: consecutive row groups read
    together up to ``chunk_rows`` rows, a larger row group in batches of ``chunk_rows``; rows that cannot be read as
    a ``Chunk`` refusing each of them (a file that is not Parquet: one row). ``skip(start, rows)``: rows it skips
    (a span of row groups, or a larger row group) are not read, nor yielded."""
    name = str(path)
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        yield 0, _unreadable(Where(name), f"not a readable Parquet file: {exc}")
        return
    with parquet:
        present = [column for column in SUBMISSIONS.names if column in parquet.schema_arrow.names]
        sizes = [parquet.metadata.row_group(group).num_rows for group in range(parquet.num_row_groups)]
        start = 0
        for span in _spans(sizes, chunk_rows):
            rows = sum(sizes[group] for group in span)
            if skip is None or not skip(start, rows):
                yield from _span_batches(parquet, name, present, span, sizes, start, chunk_rows)
            start += rows


def _spans(sizes: list[int], chunk_rows: int) -> Iterator[list[int]]:
    """Consecutive row groups adding up to at most ``chunk_rows`` rows (a larger group alone)."""
    span: list[int] = []
    rows = 0
    for group, size in enumerate(sizes):
        if span and rows + size > chunk_rows:
            yield span
            span, rows = [], 0
        span.append(group)
        rows += size
        if size >= chunk_rows:
            yield span
            span, rows = [], 0
    if span:
        yield span


def _span_batches(parquet: pq.ParquetFile, name: str, present: list[str], span: list[int], sizes: list[int],
                  start: int, chunk_rows: int) -> Iterator[tuple[int, pa.RecordBatch | Chunk]]:
    """The batches of a span of row groups; a span that cannot be read is read group by group, and the rows of a
    group that cannot be read are refused."""
    if len(span) > 1:
        try:
            batches = list(parquet.iter_batches(sum(sizes[g] for g in span), row_groups=span, columns=present))
        except (OSError, pa.ArrowException):
            batches = None
        if batches is not None:
            for batch in batches:
                yield start, batch
                start += batch.num_rows
            return
    for group in span:
        position = start
        try:
            for batch in parquet.iter_batches(chunk_rows, row_groups=[group], columns=present):
                yield position, batch
                position += batch.num_rows
        except (OSError, pa.ArrowException) as exc:
            yield position, _unreadable(Where(name, row=position), f"row group {group} cannot be read: {exc}", position,
                                        start + sizes[group] - position)
        start += sizes[group]


def json_rows(columns: Mapping[str, pa.Array], problems: Mapping[int, str], name: str, start: int,
              rows: np.ndarray) -> Chunk:
    """Rows ``rows`` of a conformed batch (its first row at input position ``start``) read as JSON documents, in order:
    each a document with its profile, or a refusal. The chunk's positions need not follow each other."""
    chunk = Chunk(start)
    if not len(rows):
        return chunk
    taken = pa.array(rows)
    values = {column: array.take(taken).to_pylist() for column, array in columns.items()}
    for index, row in enumerate(rows.tolist()):
        where, position = Where(name, row=start + row), start + row
        try:
            if row in problems:
                raise ValueError(problems[row])
            document, profile = _from_row({column: items[index] for column, items in values.items()})
            problem = _not_a_submission(document) or _not_a_profile(profile)
        except ValueError as exc:
            problem = str(exc)
        if problem:
            chunk.refusals.append(Refusal(position, where, problem))
            continue
        chunk.positions.append(position)
        chunk.sources.append(where)
        chunk.documents.append(document)
        chunk.profiles.append(profile)
    return chunk


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> tuple[dict[str, pa.Array], dict[int, str]]:
    """The batch's columns as the schema's types (a missing column all null), and the rows that could not be read
    as those types, with why (those rows are null in the columns returned)."""
    columns: dict[str, pa.Array] = {}
    problems: dict[int, str] = {}
    for target in schema:
        index = batch.schema.get_field_index(target.name)
        columns[target.name] = pa.nulls(batch.num_rows, target.type) if index < 0 else \
            _cast(batch.column(index), target, problems)
    return columns, problems


def _cast(array: pa.Array, target: pa.Field, problems: dict[int, str]) -> pa.Array:
    """``array`` as ``target``'s type: cast whole, else row by row, the rows that cannot be cast null."""
    if array.type.equals(target.type):
        return array
    with contextlib.suppress(pa.ArrowException):
        return array.cast(target.type)
    values = []
    for index in range(len(array)):
        try:
            values.append(array.slice(index, 1).cast(target.type).to_pylist()[0])
        except pa.ArrowException:
            shown = repr(array[index].as_py())
            problems.setdefault(index, f"column {target.name}: {shown[:80]} cannot be read as {target.type}")
            values.append(None)
    return pa.array(values, target.type)


def _object(text: str | None, column: str) -> dict[str, Any]:
    """A JSON text column that holds an object (an empty one when null)."""
    value = {} if text is None else parse_json(text, column)
    if not isinstance(value, dict):
        raise ValueError(f"column {column}: expected a JSON object, found {_json_type(value)}")
    return value


def parse_json(text: str, column: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"column {column}: not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise ValueError(f"column {column}: JSON nested too deeply to read") from None


def _compact(value: Any) -> Any:
    """A typed value as JSON: null fields left out, whole numbers as integers."""
    if isinstance(value, dict):
        return {key: _compact(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_compact(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        return int(value)
    return value


def _from_row(row: Mapping[str, Any]) -> Row:
    """A submission document and its profile from a Parquet row."""
    kind, entity_type = row["kind"], row["entity_type"]
    if kind is not None and entity_type is not None and KINDS.get(entity_type) != kind:
        raise ValueError(f"kind {kind!r} does not match entity_type {entity_type!r}")
    document = {key: row[column] for key, (column, _) in HEADER_COLUMNS.items() if row[column] is not None}
    if row["measurement_sets"] is not None:
        document["measurementSets"] = [_set_from(s) for s in row["measurement_sets"]]
    document.update(_object(row["extra_json"], "extra_json"))
    if row["profile_json"] is not None:
        return document, _object(row["profile_json"], "profile_json")
    return document, _compact({name: row[name] for name in PROFILE.names})


def _set_from(typed: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if typed is None:
        return None
    measurement_set = {key: typed[column] for key, column in SET_COLUMNS.items() if typed[column] is not None}
    if typed["measurements"] is not None:
        measurement_set["measurements"] = [_measurement_from(m) for m in typed["measurements"]]
    measurement_set.update(_object(typed["extra_json"], "measurement_sets.extra_json"))
    return measurement_set


def _measurement_from(typed: Mapping[str, Any] | None) -> Any:
    if typed is None:
        return None
    if typed["json"] is not None:
        return parse_json(typed["json"], "measurement_sets.measurements.json")
    measurement: dict[str, Any] = {} if typed["measure_id"] is None else {"measureId": typed["measure_id"]}
    if typed["boolean_value"] is not None:
        measurement["value"] = typed["boolean_value"]
    elif typed["value"] is not None:
        measurement["value"] = _compact(typed["value"])
    return measurement


# ------------------------------------------------------------------------------------------------ writing


@functools.cache
def _fits(kind: pa.DataType) -> Callable[[Any], bool]:
    """Whether a JSON value is held exactly by a column of type ``kind`` (objects key by key, lists item by item)."""
    if pa.types.is_struct(kind):
        return _struct_fits({kind.field(i).name: kind.field(i).type for i in range(kind.num_fields)})
    if pa.types.is_list(kind):
        item_fits = _fits(kind.value_type)
        return lambda value: isinstance(value, list) and all(item_fits(item) for item in value)
    if pa.types.is_boolean(kind):
        return lambda value: isinstance(value, bool)
    if pa.types.is_string(kind):
        return lambda value: isinstance(value, str)
    if pa.types.is_integer(kind):
        low, high = -(2 ** (kind.bit_width - 1)), 2 ** (kind.bit_width - 1)
        return lambda value: type(value) is int and low <= value < high
    return lambda value: (type(value) is int and abs(value) <= MAX_SAFE_INTEGER) or (
        type(value) is float and math.isfinite(value))


def _struct_fits(fields: Mapping[str, pa.DataType]) -> Callable[[Any], bool]:
    """``_fits`` of a struct, its int64, float64, bool and string fields checked in line (a value holds dozens)."""
    tags = {_COUNT: "count", _NUMBER: "number", _FLAG: "flag", _TEXT: "text"}
    inline = {name: tags[kind] for name, kind in fields.items() if kind in tags}
    nested = {name: _fits(kind) for name, kind in fields.items() if name not in inline}
    low, high, isfinite = -(2**63), 2**63, math.isfinite

    def fits(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        for key, item in value.items():
            tag, kind_of = inline.get(key), type(item)
            if tag is None:
                fine = key in nested and nested[key](item)
            elif tag == "count":
                fine = kind_of is int and low <= item < high
            elif tag == "number":
                fine = (kind_of is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER) or (kind_of is float and isfinite(item))
            else:
                fine = kind_of is bool if tag == "flag" else isinstance(item, str)
            if not fine:
                return False
        return True
    return fits


_HEADER_FITS = {key: (column, _fits(kind)) for key, (column, kind) in HEADER_COLUMNS.items()}
_PROFILE_FITS = _fits(PROFILE_STRUCT)
_VALUE_FITS = _fits(VALUE)


def _text(value: dict[str, Any]) -> str | None:
    return json.dumps(value, ensure_ascii=False) if value else None


def submission_row(document: Mapping[str, Any], profile: Mapping[str, Any]) -> dict[str, Any]:
    """A submission and its profile as a row of ``SUBMISSIONS``: typed columns where the values fit them exactly,
    the rest kept as JSON text (``extra_json``, a measurement's ``json``, ``profile_json``)."""
    row: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in document.items():
        column, fits = _HEADER_FITS.get(key, ("", None))
        if key == "measurementSets" and isinstance(value, list) and all(isinstance(s, dict) for s in value):
            row["measurement_sets"] = [_set_row(s) for s in value]
        elif fits is not None and fits(value):
            row[column] = value
        else:
            extra[key] = value
    row["kind"] = KINDS.get(row.get("entity_type", ""))
    row["extra_json"] = _text(extra)
    if _PROFILE_FITS(dict(profile)):
        row.update(profile)
    else:
        row["profile_json"] = _text(dict(profile))
    return row


def _set_row(measurement_set: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in measurement_set.items():
        column = SET_COLUMNS.get(key)
        if key == "measurements" and isinstance(value, list):
            row["measurements"] = [_measurement_row(m) for m in value]
        elif column and isinstance(value, str):
            row[column] = value
        else:
            extra[key] = value
    row["extra_json"] = _text(extra)
    return row


def _measurement_row(measurement: Any) -> dict[str, Any]:
    if isinstance(measurement, dict) and measurement.keys() == {"measureId", "value"} \
            and isinstance(measurement["measureId"], str):
        value = measurement["value"]
        if isinstance(value, bool):
            return {"measure_id": measurement["measureId"], "boolean_value": value}
        if _VALUE_FITS(value):
            return {"measure_id": measurement["measureId"], "value": value}
    return {"json": json.dumps(measurement, ensure_ascii=False)}


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


@contextlib.contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A fresh path beside ``target`` to write to, moved onto ``target`` when the block completes; removed if it fails."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        if temporary.is_dir():
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)


def write_parquet(rows: Iterable[Row], path: str | Path, row_group_rows: int = CHUNK_ROWS) -> int:
    """Write submissions (a ``Population`` or any (document, profile) pairs) as Parquet, a row group per
    ``row_group_rows``; return how many were written."""
    count = 0
    with replacing(Path(path)) as temporary, pq.ParquetWriter(temporary, SUBMISSIONS, compression="zstd") as writer:
        for batch in _batches(rows, row_group_rows):
            writer.write_table(submissions_table([submission_row(*row) for row in batch]), row_group_size=row_group_rows)
            count += len(batch)
    return count


def submissions_table(rows: list[dict[str, Any]]) -> pa.Table:
    """``SUBMISSIONS`` rows (``submission_row``) as a table; the nested measurement sets are assembled from flat
    arrays, which is much faster than converting them whole."""
    sets_of_rows = [row.get("measurement_sets") for row in rows]
    table = pa.Table.from_pylist([{k: v for k, v in row.items() if k != "measurement_sets"} for row in rows],
                                 schema=SUBMISSIONS)
    sets = [s for row_sets in sets_of_rows if row_sets is not None for s in row_sets]
    measurements = pa.array([m for s in sets for m in s.get("measurements") or ()], MEASUREMENT)
    columns = [pa.array([s.get(column) for s in sets], _TEXT) for column in SET_COLUMNS.values()]
    columns += [_lists([s.get("measurements") for s in sets], measurements), pa.array([s.get("extra_json") for s in sets], _TEXT)]
    sets_array = pa.StructArray.from_arrays(columns, fields=list(MEASUREMENT_SET))
    index = SUBMISSIONS.get_field_index("measurement_sets")
    return table.set_column(index, SUBMISSIONS.field(index), _lists(sets_of_rows, sets_array))


def _lists(lists: list[list[Any] | None], values: pa.Array) -> pa.Array:
    """A list array of consecutive ``values``, ``lists`` giving each element's length (None: a null element)."""
    offsets = np.concatenate([[0], np.cumsum([0 if items is None else len(items) for items in lists])]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=pa.array([items is None for items in lists], pa.bool_()))


def write_jsonl(rows: Iterable[Row], path: str | Path) -> int:
    """Write submissions as JSON Lines, each profile that is not empty under ``profile``; return how many."""
    count = 0
    with replacing(Path(path)) as temporary, open(temporary, "x", encoding="utf-8") as handle:
        for count, (document, profile) in enumerate(rows, start=1):
            if PROFILE_KEY in document:
                raise ValueError(f"submission {count - 1} has a {PROFILE_KEY!r} key, where JSON Lines keeps its profile")
            line = {**document, PROFILE_KEY: profile} if profile else document
            handle.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    return count


def write_folder(rows: Iterable[Row], path: str | Path) -> int:
    """Write submissions as a folder of QPP JSON files named by position (00000000.json, ...), each profile that
    is not empty in the YAML file of the same stem; the folder must not exist or be empty. Return how many."""
    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} exists and is not an empty folder")
    count = 0
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    with replacing(target) as temporary:
        temporary.mkdir()
        for count, (document, profile) in enumerate(rows, start=1):
            stem = temporary / f"{count - 1:08d}"
            stem.with_suffix(".json").write_text(json.dumps(document, ensure_ascii=False) + "\n", encoding="utf-8")
            if profile:
                stem.with_suffix(".yaml").write_text(yaml.dump(profile, Dumper=dumper, sort_keys=False, allow_unicode=True),
                                                     encoding="utf-8")
    return count


def entities_table(entities: Entities) -> pa.Table:
    """The relations as an ``ENTITIES`` table."""
    return pa.table({
        "tin": pa.array(entities.tin, _TEXT), "npi": pa.array(entities.npi, _TEXT),
        "virtual_group": pa.array(entities.virtual_group, _TEXT, mask=entities.virtual_group == ""),
        "apm_entities": pa.ListArray.from_arrays(pa.array(entities.apm_offsets, pa.int32()),
                                                 pa.array(entities.apm_entities, _TEXT)),
        "paid_cents": pa.array(entities.paid_cents, _COUNT),
    }, schema=ENTITIES)


def write_entities(entities: Entities, path: str | Path, row_group_rows: int = 16 * CHUNK_ROWS) -> int:
    """Write the relations as ``entities.parquet``; return how many TIN/NPIs."""
    table = entities_table(entities)
    with replacing(Path(path)) as temporary:
        pq.write_table(table, temporary, row_group_size=row_group_rows, compression="zstd")
    return table.num_rows


FORMS = {"parquet": "submissions.parquet", "jsonl": "submissions.jsonl", "folder": "submissions"}
WRITERS = {"parquet": write_parquet, "jsonl": write_jsonl, "folder": write_folder}


def write_population(people: Population, folder: str | Path, form: str = "parquet") -> dict[str, Path]:
    """Write a population into ``folder``: its submissions in ``form`` (FORMS names the file) and entities.parquet."""
    paths = {"submissions": Path(folder) / FORMS[form], "entities": Path(folder) / "entities.parquet"}
    WRITERS[form](people, paths["submissions"])
    write_entities(people.entities, paths["entities"])
    return paths


# -------------------------------------------------------------------------------------- reading relations


def _entity_problems(columns: Mapping[str, pa.Array]) -> list[tuple[np.ndarray, str]]:
    """(rows failing a check, what the check wants) for each check of an entities.parquet batch."""
    def failing(valid: pa.Array) -> np.ndarray:
        return ~np.asarray(pc.fill_null(valid, False), dtype=bool)

    apm = columns["apm_entities"]
    items = pc.list_flatten(apm)
    bad_items = failing(pc.greater(pc.utf8_length(items), 0))
    apm_bad = np.zeros(len(apm), dtype=bool)
    apm_bad[np.asarray(pc.list_parent_indices(apm))[bad_items]] = True
    group = columns["virtual_group"]
    group_ok = pc.or_kleene(pc.is_null(group), pc.greater(pc.utf8_length(group), 0))
    def digits(text: pa.Array, count: int) -> pa.Array:
        return pc.and_kleene(pc.equal(pc.binary_length(text), count), pc.ascii_is_decimal(text))

    return [(failing(digits(columns["tin"], 9)), "tin must be 9 digits"),
            (failing(digits(columns["npi"], 10)), "npi must be 10 digits"),
            (failing(group_ok), "virtual_group must be an id or null"),
            (apm_bad, "apm_entities must list ids"),
            (failing(pc.greater_equal(columns["paid_cents"], 0)), "paid_cents must be a whole number of cents, at least 0")]


def read_entities(path: str | Path) -> tuple[Entities, list[Refusal]]:
    """The relations of ``entities.parquet`` (``ENTITIES``), and the rows refused with why (rows = good + refused).
    A missing apm_entities or virtual_group column means none."""
    table, refusals = read_entity_table(path)
    return _entities_of(table), refusals


def read_entity_table(path: str | Path) -> tuple[pa.Table, list[Refusal]]:
    """``read_entities``'s good rows as an ``ENTITIES`` table, and the refusals."""
    name, parts, refusals = str(path), [], []
    try:
        if not Path(path).is_file():  # a FIFO or device is never opened: a read could block
            raise OSError("not a regular file" if Path(path).exists() else "no such file")
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        return ENTITIES.empty_table(), [Refusal(0, Where(name), f"not a readable Parquet file: {exc}")]
    with parquet:
        start = 0
        for group in range(parquet.num_row_groups):
            rows, position = parquet.metadata.row_group(group).num_rows, start
            try:
                for batch in parquet.iter_batches(16 * CHUNK_ROWS, row_groups=[group]):
                    table, problems = _entity_batch(batch)
                    parts.append(table)
                    refusals += [Refusal(position + i, Where(name, row=position + i), problems[i]) for i in sorted(problems)]
                    position += batch.num_rows
            except (OSError, pa.ArrowException) as exc:
                refusals += _unreadable(Where(name, row=position), f"row group {group} cannot be read: {exc}", position,
                                        start + rows - position).refusals
            start += rows
    return (pa.concat_tables(parts).combine_chunks() if parts else ENTITIES.empty_table()), refusals


def _entity_batch(batch: pa.RecordBatch) -> tuple[pa.Table, dict[int, str]]:
    """A batch's good rows as an ``ENTITIES`` table, and why each other row is refused (by row in the batch)."""
    columns, problems = conform(batch, ENTITIES)
    bad = np.zeros(batch.num_rows, dtype=bool)
    bad[list(problems)] = True
    for failed, message in _entity_problems(columns):
        for index in np.flatnonzero(failed & ~bad).tolist():
            problems[index] = message
        bad |= failed
    return pa.Table.from_pydict(columns, schema=ENTITIES).filter(pa.array(~bad)), problems


def _strings(array: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.str_) if len(array) else np.zeros(0, dtype=np.str_)


def _entities_of(table: pa.Table) -> Entities:
    apm = table.column("apm_entities").combine_chunks()
    lengths = np.asarray(pc.fill_null(pc.list_value_length(apm), 0), dtype=np.int64)
    return Entities(_strings(table.column("tin")), _strings(table.column("npi")),
                    _strings(pc.fill_null(table.column("virtual_group"), "")),
                    np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), _strings(pc.list_flatten(apm)),
                    np.asarray(table.column("paid_cents").to_numpy(), dtype=np.int64))
