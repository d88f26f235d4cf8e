"""Read QPP Submissions API JSON into measurement sets, reporting every bad measurement by JSON path.

The edge is strict about what it reads: plain JSON only (no NaN or Infinity, numbers within ±2**53, text keys,
strings of at most MAX_TEXT characters, nesting at most MAX_DEPTH deep, no key twice in one object), checked before
anything is built from it, for a file and for a document given to the Python API alike. At most MAX_ISSUES issues
are listed per file, then how many more there were."""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.base.errors import LocatedError, Location, SubmissionError
from engine.base.numbers import brief, excerpt, number_problem
from engine.base.reading import MAX_BYTES, read_text
from engine.base.schemas import schema_errors

MAX_DEPTH = 64  # a QPP submission nests about 10 deep
MAX_TEXT = 4_096  # characters of one string or key; measure IDs, TINs and dates are short
MAX_SETS = 100  # measurement sets in one file: one per category and submission method is the norm
MAX_ISSUES = 100  # issues listed per file; the rest are counted
MAX_VALUES = 1_000_000  # values in one submission: some 100,000 measurements

SERVER_FIELDS = {"id", "createdAt", "updatedAt", "submissionId", "measurementSetId", "submitterId",
                 "submitterType", "suppressed", "practiceDetails"}


ISSUE_CODES: dict[str, str] = {
    "measurement_set_invalid": "a measurement set does not match the submission schema; none of it is scored",
    "measurement_invalid": "a measurement is not an object with a string measureId and a value",
    "measurement_duplicate": "a measure appears twice (in one set, or by one method); the first is scored",
    "measure_unknown": "a measure or activity ID is not in the year's CMS measure data for its category",
    "method_not_allowed": "a quality measure was submitted by a method CMS does not allow for it",
    "value_invalid": "a measure's value has the wrong shape or is out of range",
    "activity_value_invalid": "an improvement activity is attested with something other than true or false",
    "category_not_allowed": "the entity type may not submit this category in this year; the set is not scored",
    "record_unscored": "a PI record is in CMS's measure data but no rule of the rulebook scores it",
    "substitute_conflict": "a PI measure was reported with the substitute that replaces it; the substitute is scored",
    "measure_conflict": "a PI measure was reported twice with different values; the first is scored",
    "cost_measure_unknown": "a profile's cost measure is not a cost measure of the year",
    "cost_value_invalid": "a profile's cost measure score is not a number",
    "carried_over": "a category or measure ID of another year was read as its successor under the year's rules",
    "issues_not_listed": "an input has more problems than are listed; the issue says how many more there are",
}
"""Every issue code, with its meaning: the one place they are listed (a test checks every code used is here)."""

SEVERITIES: dict[str, str] = {
    "error": "that part of the input was not scored",
    "warning": "it was scored, or something else was scored in its place, but the submitter should know",
}


@dataclass(frozen=True)
class Issue:
    """A problem found in the input, by JSON path; the rest of the submission is still scored.

    ``code`` is a stable machine-readable key of ``ISSUE_CODES``; ``severity`` is a key of ``SEVERITIES``:
    "error" when that part of the input was not scored, "warning" when it was (or something else was scored in
    its place) but the submitter should know. Both are keyword-only and required at every creation site.
    """

    path: str
    message: str
    source: str = ""
    code: str = field(kw_only=True)
    severity: str = field(kw_only=True)

    def __post_init__(self) -> None:
        if self.code not in ISSUE_CODES:
            raise ValueError(f"issue code {self.code!r} is not listed in ISSUE_CODES")
        if self.severity not in SEVERITIES:
            raise ValueError(f"issue severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "file": self.source, "code": self.code,
                "severity": self.severity}


@dataclass
class Measurement:
    measure_id: str
    value: Any
    path: str


@dataclass
class MeasurementSet:
    category: str
    method: str
    program: str
    cehrt_id: str | None
    performance_start: str | None
    performance_end: str | None
    measurements: list[Measurement]
    path: str
    source: str


@dataclass
class Submission:
    """One entity's data for one year, possibly merged from several files."""

    entity_type: str
    performance_year: int
    tin: str | None
    npi: str | None
    entity_id: str | None
    program: str | None
    sets: list[MeasurementSet]
    sources: list[str]
    issues: list[Issue] = field(default_factory=list)

    def entity(self) -> dict[str, Any]:
        return {"type": self.entity_type, "tin": self.tin, "npi": self.npi, "entity_id": self.entity_id,
                "performance_year": self.performance_year, "program": self.program}

    def key(self) -> tuple:
        return (self.entity_type, self.performance_year, self.tin, self.npi, self.entity_id)


class _Refused(Exception):
    """A value the plain-JSON check refuses: why, and the keys and indexes leading to it (innermost first)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.parts: list[str | int] = []


def _text(value: str, what: str, longest: int) -> None:
    if len(value) > longest:
        raise _Refused(f"a {what} of {len(value):,} characters; at most {longest:,} are read")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _Refused(f"a {what} holding {excerpt(value[exc.start])}, which is not a Unicode character "
                           "(a lone surrogate)") from None


def _scalar(value: Any, longest: int) -> None:
    if isinstance(value, str):
        _text(value, "string", longest)
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        problem = number_problem(value)
        if problem:
            raise _Refused(problem)
        if isinstance(value, Decimal):
            raise _Refused(f"the Decimal {excerpt(str(value))} is not a JSON value; give an int or a float")
    elif not (value is None or isinstance(value, bool)):
        raise _Refused(f"a value of type {type(value).__name__} is not JSON (expected text, a number, true/false, "
                       "null, a list or an object)")


def _key(key: Any, longest: int) -> None:
    if not isinstance(key, str):
        raise _Refused(f"the key {excerpt(key)} is not text")
    _text(key, "key", longest)


class _Walk:
    """A depth-first check that a document is bounded plain JSON, counting its values against a budget (a document
    given to the Python API may share one list many times over, so its size is measured as it is walked)."""

    def __init__(self, most: int, longest: int, text: int):
        self.left, self.most, self.longest, self.text = most, most, longest, text

    def scan(self, value: Any, depth: int) -> None:
        self.left -= 1
        if self.left < 0:
            raise _Refused(f"more than {self.most:,} values; at most that many are read")
        if not isinstance(value, dict | list):
            _scalar(value, self.text)
            return
        if depth >= MAX_DEPTH:
            raise _Refused(f"values nest more than {MAX_DEPTH} levels deep")
        if len(value) > self.longest:
            raise _Refused(f"{len(value):,} items; at most {self.longest:,} are read here")
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            if isinstance(value, dict):
                _key(key, self.text)
            try:
                self.scan(item, depth + 1)
            except _Refused as refused:
                refused.parts.append(key)
                raise


def plain_problem(doc: Any, most: int = MAX_VALUES, longest: int = MAX_VALUES,
                  text: int = MAX_TEXT) -> tuple[str, list[str | int]] | None:
    """Why ``doc`` is not bounded plain JSON (at most ``most`` values, none a list or object of more than ``longest``
    items, no string or key of more than ``text`` characters), with the keys and indexes leading to the first bad
    value; None when it is plain."""
    try:
        _Walk(most, longest, text).scan(doc, 0)
    except _Refused as refused:
        return refused.message, refused.parts[::-1]
    return None


def json_path(parts: list[str | int]) -> str:
    """Keys and indexes as a JSON path: ``$.measurementSets[0].measurements``."""
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p if len(p) <= 40 else excerpt(p)}" for p in parts)


_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def _check_nesting(text: str, name: str, error: type[LocatedError], what: str) -> None:
    """Refuse JSON text that nests deeper than MAX_DEPTH, at the line and column where it does, before parsing."""
    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        start = token.start()
        bracket = text[start]
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, start) + 1
                raise error(Location(name, line, start - text.rfind("\n", 0, start)),
                            f"not a {what}: values nest more than {MAX_DEPTH} levels deep")
        elif bracket != '"':
            depth -= 1


def _int(text: str) -> int | Decimal:
    """A JSON integer; one too long to be in range stays Decimal (``int`` refuses over 4,300 digits) and is refused
    at its path."""
    return int(text) if len(text) <= 24 else Decimal(text)


def _float(text: str) -> float | Decimal:
    """A JSON fraction or exponent number; one beyond a float (1e309) stays Decimal and is refused at its path."""
    number = float(text)
    return number if math.isfinite(number) else Decimal(text)


def load_json(text: str, name: str, error: type[LocatedError], what: str) -> Any:
    """JSON text as data (a leading byte order mark is ignored; a number beyond a float stays Decimal, for
    ``plain_problem`` to refuse at its path); ``error`` where it nests too deep or gives one key twice in an object,
    ``json.JSONDecodeError`` where it is not JSON."""
    text = text.removeprefix("\ufeff")
    _check_nesting(text, name, error, what)

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in pairs:
            if key in found:
                raise error(Location(name), f"the key {excerpt(key)} appears twice in one object",
                            "JSON readers differ on which one counts: keep one")
            found[key] = value
        return found

    return json.loads(text, parse_int=_int, parse_float=_float, parse_constant=Decimal, object_pairs_hook=unique)


def parse_json(text: str, name: str) -> Any:
    """JSON text as data, as ``load_json`` reads it; SubmissionError where it is not JSON, nests too deep or gives one
    key twice in an object."""
    try:
        return load_json(text, name, SubmissionError, "submission")
    except json.JSONDecodeError as exc:
        raise SubmissionError(Location(name, exc.lineno, exc.colno), f"not valid JSON: {exc.msg}") from None


def _unwrap(doc: Any, name: str) -> tuple[dict, str]:
    """Return the bare submission and the JSON path prefix it sits at in the file."""
    if not isinstance(doc, dict):
        raise SubmissionError(Location(name, pointer="$"), "expected a JSON object (a QPP submission)")
    if isinstance(doc.get("data"), dict):
        inner = doc["data"]
        if isinstance(inner.get("submission"), dict):
            return inner["submission"], "$.data.submission"
        if isinstance(inner.get("measurementSet"), dict):
            measurement_set = inner["measurementSet"]
            if "submission" not in measurement_set:
                raise SubmissionError(
                    Location(name, pointer="$.data.measurementSet"),
                    "a measurement-set response carries no entity header (entityType, performanceYear, "
                    "taxpayerIdentificationNumber)",
                    "score the submission it belongs to, or the measurement-set request with its 'submission' header",
                )
            doc = measurement_set
    if "measurements" in doc and isinstance(doc.get("submission"), dict):
        header = dict(doc["submission"])
        measurement_set = {k: v for k, v in doc.items() if k != "submission"}
        header["measurementSets"] = [measurement_set]
        return header, "$"
    return doc, "$"


def _path_text(prefix: str, pointer: str) -> str:
    parts = [p for p in pointer.split("/") if p]
    text = prefix
    for part in parts:
        text += f"[{part}]" if part.isdigit() else f".{part}"
    return text


def path_argument(path: Any, error: type[LocatedError], what: str) -> str:
    """The text of a file path given to the engine; refused unless it is one (an int would be read as a file
    descriptor) of at most MAX_TEXT characters."""
    text = str(path) if isinstance(path, str | os.PathLike) else ""
    if not text or len(text) > MAX_TEXT or "\0" in text:
        raise error(Location(excerpt(path)), f"expected the path of a {what} file, found {excerpt(path)}")
    return text


def read_submission(path: Path | str, text: str | None = None) -> Submission:
    """Parse one file; raise SubmissionError when it cannot be scored at all."""
    name = path_argument(path, SubmissionError, "submission")
    raw = text if text is not None else read_text(name, SubmissionError, "submission")
    if len(raw) > MAX_BYTES:
        raise SubmissionError(Location(name), f"submission is {len(raw):,} characters; at most {MAX_BYTES:,} are read")
    return parse_submission(parse_json(raw, name), name)


def capped_issues(issues: list[Issue], name: str, prefix: str) -> list[Issue]:
    """At most MAX_ISSUES issues, then one saying how many more there are."""
    if len(issues) <= MAX_ISSUES:
        return issues
    more = len(issues) - MAX_ISSUES
    return [*issues[:MAX_ISSUES], Issue(prefix, f"and {more:,} more problems in this file, not listed (at most "
                                        f"{MAX_ISSUES} are)", name, code="issues_not_listed", severity="error")]


def _header(doc: Any, name: str) -> tuple[dict, str, list[tuple[str, str | None, str]]]:
    """The bare submission, its path prefix and its schema problems; SubmissionError if its header is bad."""
    problem = plain_problem(doc)
    if problem:
        message, parts = problem
        raise SubmissionError(Location(name, pointer=json_path(parts)), f"not a submission: {message}")
    body, prefix = _unwrap(doc, name)
    sets = body.get("measurementSets")
    if isinstance(sets, list) and len(sets) > MAX_SETS:
        raise SubmissionError(Location(name, pointer=f"{prefix}.measurementSets"),
                              f"{len(sets):,} measurement sets; at most {MAX_SETS} are read from one file",
                              "split the submission by category and submission method")
    problems = schema_errors("submission.schema.json", body)
    header_problems = [p for p in problems if not p[2].startswith("/measurementSets/")]
    if header_problems:
        message, hint, pointer = header_problems[0]
        raise SubmissionError(Location(name, pointer=_path_text(prefix, pointer)), brief(message), hint)
    return body, prefix, problems


def _measurements(item: dict, set_path: str, name: str, issues: list[Issue]) -> list[Measurement]:
    measurements = []
    seen: dict[str, str] = {}
    for m_index, m in enumerate(item["measurements"]):
        m_path = f"{set_path}.measurements[{m_index}]"
        if not isinstance(m, dict) or not isinstance(m.get("measureId"), str) or "value" not in m:
            issues.append(Issue(m_path, f"expected an object with a string measureId and a value, found {excerpt(m)}",
                                name, code="measurement_invalid", severity="error"))
            continue
        if m["measureId"] in seen:
            issues.append(Issue(m_path, f"measure {excerpt(m['measureId'])} appears twice in one measurement set "
                                f"(first at {seen[m['measureId']]}); the first is scored", name,
                                code="measurement_duplicate", severity="warning"))
            continue
        seen[m["measureId"]] = m_path
        measurements.append(Measurement(m["measureId"], m["value"], m_path))
    return measurements


def parse_submission(doc: Any, name: str = "<submission>") -> Submission:
    """Turn a submission document (any of the wrapped forms) into a Submission."""
    body, prefix, problems = _header(doc, name)
    issues: list[Issue] = []
    bad_sets = set()
    for message, _, pointer in problems:
        parts = pointer.split("/")
        bad_sets.add(int(parts[2]))
        issues.append(Issue(_path_text(prefix, "/".join(parts[:3])) if len(parts) > 3 and parts[3] != "measurements"
                            else _path_text(prefix, pointer), f"measurement set not scored: {brief(message)}", name,
                            code="measurement_set_invalid", severity="error"))
    sets = []
    for index, item in enumerate(body["measurementSets"]):
        if index in bad_sets:
            continue
        set_path = f"{prefix}.measurementSets[{index}]"
        sets.append(MeasurementSet(
            item["category"], item["submissionMethod"],
            item.get("programName") or body.get("programName") or "mips",
            item.get("cehrtId"), item.get("performanceStart"), item.get("performanceEnd"),
            _measurements(item, set_path, name, issues), set_path, name,
        ))
    return Submission(
        body["entityType"], int(body["performanceYear"]), body.get("taxpayerIdentificationNumber"),
        body.get("nationalProviderIdentifier"), body.get("entityId"), body.get("programName"),
        sets, [name], capped_issues(issues, name, prefix),
    )


def merge_submissions(parts: list[Submission]) -> Submission:
    """Several files for one entity and year are one submission to CMS; refuse files that differ, or none."""
    if not parts:
        raise SubmissionError(Location("<submission>"), "no submission was given", "give a file, or a list of files")
    first = parts[0]
    for other in parts[1:]:
        if other.key() != first.key():
            raise SubmissionError(
                Location(other.sources[0]),
                f"entity or year differs from {first.sources[0]}: {other.key()} vs {first.key()}",
                "only files for the same entity and performance year can be scored together",
            )
    merged = Submission(first.entity_type, first.performance_year, first.tin, first.npi, first.entity_id,
                        first.program, [], [], [])
    for part in parts:
        merged.sets.extend(part.sets)
        merged.sources.extend(part.sources)
        merged.issues.extend(part.issues)
    return merged


SubmissionInput = str | Path | dict | Submission


def as_submission(item: SubmissionInput) -> Submission:
    """A submission given as a file path, a parsed JSON document or an already read Submission."""
    if isinstance(item, Submission):
        return item
    if isinstance(item, dict):
        return parse_submission(item)
    return read_submission(item)
