"""Read QPP Submissions API JSON into measurement sets, reporting every bad measurement by JSON path."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.base.errors import Location, SubmissionError
from engine.base.schemas import schema_errors

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


def read_submission(path: Path | str, text: str | None = None) -> Submission:
    """Parse one file; raise SubmissionError when it cannot be scored at all."""
    name = str(path)
    try:
        raw = text if text is not None else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SubmissionError(Location(name), f"cannot read file: {exc.strerror}") from None
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SubmissionError(Location(name, exc.lineno, exc.colno), f"not valid JSON: {exc.msg}") from None
    return parse_submission(doc, name)


def parse_submission(doc: Any, name: str = "<submission>") -> Submission:
    """Turn a submission document (any of the wrapped forms) into a Submission."""
    body, prefix = _unwrap(doc, name)
    problems = schema_errors("submission.schema.json", body)
    header_problems = [p for p in problems if not p[2].startswith("/measurementSets/")]
    if header_problems:
        message, hint, pointer = header_problems[0]
        raise SubmissionError(Location(name, pointer=_path_text(prefix, pointer)), message, hint)
    issues: list[Issue] = []
    bad_sets = set()
    for message, _, pointer in problems:
        parts = pointer.split("/")
        bad_sets.add(int(parts[2]))
        issues.append(Issue(_path_text(prefix, "/".join(parts[:3])) if len(parts) > 3 and parts[3] != "measurements"
                            else _path_text(prefix, pointer), f"measurement set not scored: {message}", name,
                            code="measurement_set_invalid", severity="error"))
    sets = []
    for index, item in enumerate(body["measurementSets"]):
        if index in bad_sets:
            continue
        set_path = f"{prefix}.measurementSets[{index}]"
        measurements = []
        seen: dict[str, str] = {}
        for m_index, m in enumerate(item["measurements"]):
            m_path = f"{set_path}.measurements[{m_index}]"
            if not isinstance(m, dict) or not isinstance(m.get("measureId"), str) or "value" not in m:
                issues.append(Issue(m_path, "expected an object with a string measureId and a value", name,
                                    code="measurement_invalid", severity="error"))
                continue
            if m["measureId"] in seen:
                issues.append(Issue(m_path, f"measure {m['measureId']} appears twice in one measurement set "
                                    f"(first at {seen[m['measureId']]}); the first is scored", name,
                                    code="measurement_duplicate", severity="warning"))
                continue
            seen[m["measureId"]] = m_path
            measurements.append(Measurement(m["measureId"], m["value"], m_path))
        sets.append(MeasurementSet(
            item["category"], item["submissionMethod"],
            item.get("programName") or body.get("programName") or "mips",
            item.get("cehrtId"), item.get("performanceStart"), item.get("performanceEnd"),
            measurements, set_path, name,
        ))
    return Submission(
        body["entityType"], body["performanceYear"], body.get("taxpayerIdentificationNumber"),
        body.get("nationalProviderIdentifier"), body.get("entityId"), body.get("programName"),
        sets, [name], issues,
    )


def merge_submissions(parts: list[Submission]) -> Submission:
    """Several files for one entity and year are one submission to CMS; refuse files that differ."""
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
