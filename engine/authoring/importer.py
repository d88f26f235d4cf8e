"""Import CMS qpp-measures-data files for one performance year into a single reference document.

The source folder holds the upstream files for one year: ``measures-data.json`` (every quality
measure, improvement activity, interoperability measure and cost measure), ``<year>.json``
(benchmarks) and, optionally, ``pi-measures.csv`` (the upstream build input whose ``weight``
column holds the interoperability points that ``measures-data.json`` leaves out).

Nothing here is year-specific: the interoperability category name ("pi", formerly "aci") is read
from the data, and absent fields get documented defaults.

Each source file is read as a bounded regular file (a FIFO, a device or a folder is refused before it is
opened) and parsed as plain JSON or CSV: finite numbers within ±2**53, UTF-8 text, bounded nesting; every
refusal names the file and the line or JSON path.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.base.errors import LocatedError, Location, MipsError
from engine.base.numbers import excerpt, number_problem
from engine.base.reading import decode, read_bytes
from engine.inputs.submission import json_path, load_json, plain_problem

FORMAT = 1
REPOSITORY = "CMSgov/qpp-measures-data"
MEASURES_FILE = "measures-data.json"
PI_CSV_FILE = "pi-measures.csv"
CORE_CATEGORIES = ("quality", "ia", "cost")
META_KEYS = ("format", "performanceYear", "source")
RESERVED_KEYS = (*META_KEYS, *CORE_CATEGORIES, "benchmarks")

_COMMIT_RE = re.compile(r"[0-9a-f]{40}")
_NUMBER_RE = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_NULL_CELLS = ("", "null")
MAX_SOURCE_TEXT = 65_536  # characters of one string or key; CMS's longest measure description has about 7,000


class ReferenceImportError(MipsError):
    """A source file is missing or does not have the shape this importer expects."""


class SourceFileError(ReferenceImportError, LocatedError):
    """A source file that is not a bounded regular file of plain UTF-8 JSON or CSV: its file, line or JSON path."""


# --- field specifications ------------------------------------------------------------------

_REQUIRED = object()


def _shown(text: str) -> str:
    """A measure ID or name as a message shows it: as it is when short, else a short excerpt."""
    return text if len(text) <= 40 and text.isprintable() else excerpt(text)


def _is_number(value: Any) -> bool:
    """A JSON number (bool is an int subclass in Python, so exclude it)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


_KIND_CHECKS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": _is_number,
    "null": lambda v: v is None,
    "strings": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "numbers": lambda v: isinstance(v, list) and all(_is_number(x) for x in v),
    "objects": lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
}


@dataclass(frozen=True)
class Field:
    """An output field copied from a source record: allowed kinds ("str|null") and default."""

    kinds: str
    default: Any = _REQUIRED


QUALITY_FIELDS: dict[str, Field] = {
    "title": Field("str"),
    "measureType": Field("str"),
    "isHighPriority": Field("bool"),
    "isInverse": Field("bool"),
    "metricType": Field("str"),
    "isRegistryMeasure": Field("bool"),
    "submissionMethods": Field("strings"),
    "overallAlgorithm": Field("str|null", None),
    "firstPerformanceYear": Field("int"),
    "allowedPrograms": Field("strings|null", None),
    "clinicalGuidelineChanged": Field("strings", []),
    "icdImpacted": Field("strings", []),
}
IA_FIELDS: dict[str, Field] = {
    "title": Field("str"),
    "weight": Field("str|null"),
    "subcategoryId": Field("str|null"),
    "cehrtEligible": Field("bool|null", None),
}
PI_FIELDS: dict[str, Field] = {
    "title": Field("str"),
    "objective": Field("str|null"),
    "reportingCategory": Field("str|null"),
    "isRequired": Field("bool"),
    "isBonus": Field("bool"),
    "metricType": Field("str"),
    "substitutes": Field("strings"),
    "measureSets": Field("strings"),
}
COST_FIELDS: dict[str, Field] = {
    "title": Field("str"),
    "isInverse": Field("bool"),
    "submissionMethods": Field("strings"),
}
BENCHMARK_FIELDS: dict[str, Field] = {
    "benchmarkYear": Field("int"),
    "deciles": Field("numbers"),
    "isToppedOut": Field("bool|null", None),
    "isToppedOutByProgram": Field("bool|null", None),
}


def _get(record: dict[str, Any], name: str, field: Field, where: str) -> Any:
    """Return ``record[name]`` checked against ``field``, or its default when absent."""
    if name not in record:
        if field.default is _REQUIRED:
            raise ReferenceImportError(f"{where}: missing required field {name!r}")
        return copy.deepcopy(field.default)
    value = record[name]
    if not any(_KIND_CHECKS[kind](value) for kind in field.kinds.split("|")):
        raise ReferenceImportError(
            f"{where}: field {name!r} should be {field.kinds.replace('|', ' or ')}, "
            f"got {json.dumps(value)[:80]}"
        )
    return value


def _pick(record: dict[str, Any], fields: dict[str, Field], where: str) -> dict[str, Any]:
    """Copy the specified fields of one source record."""
    return {name: _get(record, name, field, where) for name, field in fields.items()}


# --- reading source files ------------------------------------------------------------------


@dataclass(frozen=True)
class SourceFile:
    """The raw bytes of one input file."""

    name: str
    content: bytes

    def checksums(self) -> dict[str, Any]:
        """sha256, git blob sha1 (as ``git hash-object`` prints it) and size."""
        header = b"blob %d\0" % len(self.content)
        return {
            "sha256": hashlib.sha256(self.content).hexdigest(),
            "gitBlob": hashlib.sha1(header + self.content).hexdigest(),
            "bytes": len(self.content),
        }

    def text(self, expected: str) -> str:
        """Decode as UTF-8, dropping a byte-order mark if present."""
        return decode(self.content, self.name, SourceFileError, "CMS source file").removeprefix("\ufeff")

    def json_array(self, expected: str) -> list[dict[str, Any]]:
        """Parse the file as a JSON array of objects: plain JSON (finite numbers within ±2**53, Unicode text, no key
        twice), bounded in depth and size."""
        try:
            data = load_json(self.text(expected), self.name, SourceFileError, "CMS source file")
        except json.JSONDecodeError as exc:
            raise ReferenceImportError(
                f"{self.name}: malformed JSON at line {exc.lineno} column {exc.colno} "
                f"({exc.msg}); expected {expected}"
            ) from None
        problem = plain_problem(data, text=MAX_SOURCE_TEXT)
        if problem:
            message, parts = problem
            raise SourceFileError(Location(self.name, pointer=json_path(parts)), f"{message}; expected {expected}")
        if not isinstance(data, list):
            raise ReferenceImportError(
                f"{self.name}: top level is a JSON {type(data).__name__}; expected {expected}"
            )
        for index, item in enumerate(data):
            if not isinstance(item, dict):
                raise ReferenceImportError(
                    f"{self.name}: item {index} is not a JSON object; expected {expected}"
                )
        return data


def _read(source_dir: Path, name: str, expected: str) -> SourceFile:
    """Read one required input file: a regular file of at most 64 MiB (a FIFO, a device or a folder is refused
    before it is opened)."""
    path = source_dir / name
    if not os.path.lexists(path):
        raise ReferenceImportError(f"{name}: file not found in {source_dir}; expected {expected}")
    return SourceFile(name, read_bytes(path, SourceFileError, "CMS source file"))


def _read_optional(source_dir: Path, name: str, expected: str) -> SourceFile | None:
    """Read an input file that may be absent (a link to nothing is not absent: it is refused)."""
    if not os.path.lexists(source_dir / name):
        return None
    return _read(source_dir, name, expected)


# --- measures-data.json --------------------------------------------------------------------


def _by_category(records: list[dict[str, Any]], name: str) -> dict[str, dict[str, dict]]:
    """Group records as ``{category: {measureId: record}}``, rejecting duplicates."""
    grouped: dict[str, dict[str, dict]] = {}
    for index, record in enumerate(records):
        where = f"{name} item {index}"
        measure_id = _get(record, "measureId", Field("str"), where)
        category = _get(record, "category", Field("str"), f"{where} ({_shown(measure_id)})")
        bucket = grouped.setdefault(category, {})
        if measure_id in bucket:
            raise ReferenceImportError(f"{name}: duplicate {_shown(category)} measureId {excerpt(measure_id)}")
        bucket[measure_id] = record
    return grouped


def _pi_category(categories: Iterable[str], name: str) -> str:
    """The one category besides quality/ia/cost: the interoperability category's name."""
    extra = sorted(set(categories) - set(CORE_CATEGORIES))
    if len(extra) != 1 or extra[0] in RESERVED_KEYS:
        raise ReferenceImportError(
            f"{name}: expected exactly one category besides {', '.join(CORE_CATEGORIES)} "
            f"(the interoperability category, e.g. 'pi'); found {excerpt(extra) if extra else 'none'}"
        )
    return extra[0]


def _strata_names(record: dict[str, Any], where: str) -> list[str | None]:
    """Names of the record's strata in source order (``None`` for an unnamed stratum)."""
    strata = _get(record, "strata", Field("objects", []), where)
    names = [stratum.get("name") for stratum in strata]
    if not all(n is None or isinstance(n, str) for n in names):
        raise ReferenceImportError(f"{where}: every stratum 'name' should be a string or null")
    return names


def _exclusion_ids(record: dict[str, Any], where: str) -> list[str]:
    """The ``exclusion`` field as a list: null -> [], "A" -> ["A"], "A,B" -> ["A", "B"]."""
    value = _get(record, "exclusion", Field("strings|str|null", None), where)
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _quality(measures: dict[str, dict], name: str) -> dict[str, dict]:
    """Quality measures keyed by measureId."""
    out = {}
    for measure_id, record in measures.items():
        where = f"{name} quality measure {_shown(measure_id)}"
        entry = _pick(record, QUALITY_FIELDS, where)
        entry["strata"] = _strata_names(record, where)
        out[measure_id] = entry
    return out


def _simple(measures: dict[str, dict], fields: dict[str, Field], where: str) -> dict[str, dict]:
    """Records keyed by measureId with only ``fields`` copied."""
    return {mid: _pick(rec, fields, f"{where} {_shown(mid)}") for mid, rec in measures.items()}


def _pi(
    measures: dict[str, dict], category: str, csv_weights: dict[str, Any] | None, name: str
) -> dict[str, dict]:
    """Interoperability measures; weights from the CSV when given, else from the JSON."""
    if csv_weights is not None:
        _check_same_ids(set(measures), set(csv_weights), category, name)
    out = {}
    for measure_id, record in measures.items():
        where = f"{name} {category} measure {_shown(measure_id)}"
        entry = _pick(record, PI_FIELDS, where)
        entry["exclusion"] = _exclusion_ids(record, where)
        if csv_weights is None:
            entry["weight"] = _get(record, "weight", Field("number|null", None), where)
        else:
            entry["weight"] = csv_weights[measure_id]
        out[measure_id] = entry
    return out


def _check_same_ids(json_ids: set[str], csv_ids: set[str], category: str, name: str) -> None:
    """The CSV must list exactly the JSON's interoperability measures."""
    if json_ids == csv_ids:
        return
    raise ReferenceImportError(
        f"{PI_CSV_FILE}: measureIds differ from the {category!r} entries of {name} "
        f"(only in CSV: {excerpt(sorted(csv_ids - json_ids))}; only in JSON: {excerpt(sorted(json_ids - csv_ids))})"
    )


# --- pi-measures.csv -----------------------------------------------------------------------


def _parse_weight(cell: str, where: str) -> int | float | None:
    """A CSV weight cell: a JSON-style number, or empty/"null" for no value."""
    cell = cell.strip()
    if cell.lower() in _NULL_CELLS:
        return None
    if not _NUMBER_RE.fullmatch(cell):
        raise ReferenceImportError(f"{where}: weight {excerpt(cell)} is not a number or 'null'")
    problem = number_problem(Decimal(cell))
    if problem:
        raise ReferenceImportError(f"{where}: weight {problem}; expected points such as 10")
    return json.loads(cell)


def _csv_weights(source: SourceFile) -> dict[str, int | float | None]:
    """``{measureId: weight}`` from the CSV's measureId and weight columns."""
    expected = "a CSV with header columns 'measureId' and 'weight'"
    try:
        rows = list(csv.DictReader(io.StringIO(source.text(expected), newline="")))
    except csv.Error as exc:
        raise ReferenceImportError(
            f"{source.name}: malformed CSV ({exc}); expected {expected}"
        ) from None
    if not rows or not {"measureId", "weight"} <= set(rows[0]):
        raise ReferenceImportError(f"{source.name}: no data rows or columns; expected {expected}")
    weights: dict[str, int | float | None] = {}
    for line, row in enumerate(rows, start=2):
        measure_id = (row["measureId"] or "").strip()
        where = f"{source.name} row {line} ({_shown(measure_id) if measure_id else 'no measureId'})"
        if not measure_id or measure_id in weights:
            raise ReferenceImportError(f"{where}: measureId is empty or repeated")
        weights[measure_id] = _parse_weight(row["weight"] or "", where)
    return weights


# --- benchmarks ----------------------------------------------------------------------------


def _benchmarks(records: list[dict[str, Any]], year: int, name: str) -> dict[str, dict]:
    """Benchmarks keyed ``"<measureId>|<submissionMethod>"``."""
    out: dict[str, dict] = {}
    for index, record in enumerate(records):
        where = f"{name} item {index}"
        measure_id = _get(record, "measureId", Field("str"), where)
        method = _get(record, "submissionMethod", Field("str"), where)
        where = f"{name} benchmark {_shown(measure_id)}/{_shown(method)}"
        record_year = _get(record, "performanceYear", Field("int"), where)
        if record_year != year:
            raise ReferenceImportError(
                f"{where}: performanceYear is {record_year}; expected {year}"
            )
        key = f"{measure_id}|{method}"
        if key in out:
            raise ReferenceImportError(f"{where}: duplicate benchmark")
        out[key] = _pick(record, BENCHMARK_FIELDS, where)
    return out


# --- public API ----------------------------------------------------------------------------


def _check_arguments(source_dir: Path, year: int, version: str, commit: str | None) -> None:
    """Reject unusable arguments before reading anything."""
    if not source_dir.is_dir():
        raise ReferenceImportError(f"{source_dir}: not a directory of CMS source files")
    if isinstance(year, bool) or not isinstance(year, int) or not 1000 <= year <= 9999:
        raise ReferenceImportError(f"year must be a four-digit integer, got {excerpt(year)}")
    if not isinstance(version, str) or not version.strip() or len(version) > 100 or not version.isprintable():
        raise ReferenceImportError(f"version must be a short line of text such as 'v11.1.0', got {excerpt(version)}")
    if commit is not None and not (isinstance(commit, str) and _COMMIT_RE.fullmatch(commit)):
        raise ReferenceImportError(f"commit must be 40 lowercase hex digits, got {excerpt(commit)}")


def import_year(source_dir: Path, year: int, version: str, commit: str | None) -> dict:
    """Build the reference document for ``year`` from a folder of qpp-measures-data files."""
    source_dir = Path(source_dir)
    _check_arguments(source_dir, year, version, commit)
    bench_name = f"{year}.json"
    measures_file = _read(source_dir, MEASURES_FILE, "a JSON array of measure objects")
    bench_file = _read(source_dir, bench_name, "a JSON array of benchmark objects")
    csv_file = _read_optional(source_dir, PI_CSV_FILE, "a CSV of interoperability measures")

    measures = measures_file.json_array("a JSON array of measure objects")
    grouped = _by_category(measures, MEASURES_FILE)
    pi_name = _pi_category(grouped, MEASURES_FILE)
    weights = _csv_weights(csv_file) if csv_file else None
    files = [f for f in (measures_file, bench_file, csv_file) if f is not None]
    return {
        "format": FORMAT,
        "performanceYear": year,
        "source": {
            "repository": REPOSITORY,
            "version": version,
            "commit": commit,
            "files": {f.name: f.checksums() for f in files},
        },
        "quality": _quality(grouped.get("quality", {}), MEASURES_FILE),
        "ia": _simple(grouped.get("ia", {}), IA_FIELDS, f"{MEASURES_FILE} ia activity"),
        pi_name: _pi(grouped[pi_name], pi_name, weights, MEASURES_FILE),
        "cost": _simple(grouped.get("cost", {}), COST_FIELDS, f"{MEASURES_FILE} cost measure"),
        "benchmarks": _benchmarks(
            bench_file.json_array("a JSON array of benchmark objects"), year, bench_name
        ),
    }


def dumps_reference(doc: dict) -> str:
    """Serialise compactly with sorted keys, so identical input gives identical bytes."""
    text = json.dumps(
        doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text + "\n"


def write_reference(doc: dict, out_path: Path) -> None:
    """Write the document as UTF-8 JSON, replacing any existing file atomically."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = out_path.with_name(out_path.name + ".tmp")
    tmp_path.write_text(dumps_reference(doc), encoding="utf-8")
    os.replace(tmp_path, out_path)


def default_out_path(year: int) -> Path:
    """``rules/<year>/reference/cms-measures.json`` relative to the working directory."""
    return Path("rules") / str(year) / "reference" / "cms-measures.json"


def counts(doc: dict) -> dict[str, int]:
    """Entries per section, e.g. ``{"quality": 652, "ia": 106, "pi": 37, ...}``."""
    return {key: len(value) for key, value in doc.items() if key not in META_KEYS}


@dataclass(frozen=True)
class ImportSummary:
    """What ``run`` wrote."""

    out: Path
    counts: dict[str, int]
    bytes: int

    def __str__(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return f"wrote {self.out} ({self.bytes} bytes): {parts}"


def run(
    source_dir: Path, year: int, version: str, commit: str | None, out: Path | None = None
) -> ImportSummary:
    """Import one year and write it to ``out`` (default: ``default_out_path(year)``)."""
    doc = import_year(Path(source_dir), year, version, commit)
    out_path = Path(out) if out is not None else default_out_path(year)
    write_reference(doc, out_path)
    return ImportSummary(out_path, counts(doc), out_path.stat().st_size)
