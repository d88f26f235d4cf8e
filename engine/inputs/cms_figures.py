"""The figures CMS published for one clinician, group or entity, read at the edge for `mips review`.

Two forms are read, as JSON or YAML: the project's CMS-figures form (``schemas/cms-figures.schema.json``,
``docs/review.md``), and CMS's Submissions API score response as it is (``{"data": {"score": …}}`` or the bare score
object). A score response is read into the same figures, each keeping the JSON path it came from. Anything else is
refused with the file, the line and column, the JSON path and what was expected."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.base.errors import LocatedError, Location, RulebookError
from engine.base.numbers import brief, decimal, excerpt
from engine.base.reading import read_text
from engine.base.schemas import schema_errors
from engine.base.yamlsource import parse_yaml, pointer_join
from engine.inputs.submission import path_argument

MAX_BYTES = 4 << 20  # a score response with every measure's metadata is some tens of kilobytes
SCHEMA = "cms-figures.schema.json"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WEIGHT = re.compile(r"weight of (\d+(?:\.\d+)?)\s*%")


class CmsFiguresError(LocatedError):
    """A file of CMS figures that cannot be read: where, and what was expected."""


@dataclass(frozen=True)
class Figure:
    """One published number (or identifier) and the JSON path it sits at in CMS's file."""

    value: Decimal | str
    path: str
    places: int | None = None  # of a figure derived from the one written at ``path``: that one's decimals

    @property
    def decimals(self) -> int:
        """Decimal places as written (trailing zeros aside: 0.50 is read as 0.5)."""
        if self.places is not None or isinstance(self.value, str):
            return self.places or 0
        exponent = self.value.normalize().as_tuple().exponent
        return max(0, -exponent) if isinstance(exponent, int) else 0


@dataclass(frozen=True)
class MeasureFigure:
    points: Figure
    collection_type: str | None = None


@dataclass
class CategoryFigures:
    path: str
    score: Figure | None = None
    weight: Figure | None = None
    points: Figure | None = None
    measures: dict[str, MeasureFigure] = field(default_factory=dict)


@dataclass
class CmsFigures:
    """Everything CMS's file gives, by what it is; ``form`` says which of the two forms it was read from."""

    source: str
    form: str
    performance_year: Figure | None = None
    entity: dict[str, Figure] = field(default_factory=dict)
    final_score: Figure | None = None
    categories: dict[str, CategoryFigures] = field(default_factory=dict)
    complex_patient_bonus: Figure | None = None
    payment: dict[str, Figure] = field(default_factory=dict)


def json_path(doc: Any, pointer: str) -> str:
    """A JSON pointer into ``doc`` as a JSON path (``$.categories.quality.measures['236']``)."""
    path, here = "$", doc
    for token in [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]:
        if isinstance(here, list) and token.isdigit():
            path += f"[{token}]"
            here = here[int(token)] if int(token) < len(here) else None
            continue
        path += f".{token}" if _NAME.match(token) else f"[{excerpt(token)}]"
        here = here.get(token) if isinstance(here, dict) else None
    return path


def read_cms_figures(path: str | Path) -> CmsFigures:
    """Read and check a file of CMS figures (either form); CmsFiguresError where it cannot be used."""
    name = path_argument(path, CmsFiguresError, "CMS figures")
    text = read_text(name, CmsFiguresError, "CMS figures file", MAX_BYTES)
    try:
        doc, positions = parse_yaml(text, name)  # JSON is read by the same strict reader as YAML
    except RulebookError as exc:  # the reader names rule files; here the file is CMS's figures
        message = exc.message.replace("not valid YAML", "not valid JSON or YAML").replace("a rule file", "CMS figures")
        raise CmsFiguresError(exc.location, message.replace("rule values", "figures"), exc.hint) from None
    if isinstance(doc, dict) and (isinstance(doc.get("data"), dict) and "score" in doc["data"] or "parts" in doc):
        return _ScoreResponse(doc, name, positions).read()
    return _from_figures(doc, name, positions)


def _refuse(doc: Any, name: str, positions: dict[str, tuple[int, int]], pointer: str, message: str,
            hint: str | None = None) -> CmsFiguresError:
    key = positions.get(f"{pointer}#key") if message.startswith("unknown key") else None
    place = key or positions.get(pointer) or positions.get(pointer.rsplit("/", 1)[0])
    line, column = place if place else (None, None)
    return CmsFiguresError(Location(name, line, column, json_path(doc, pointer)), brief(message), hint)


def _figure(value: Any, path: str) -> Figure:
    return Figure(value if isinstance(value, str) else decimal(value), path)


def _from_figures(doc: Any, name: str, positions: dict[str, tuple[int, int]]) -> CmsFigures:
    """The project's form, checked against its schema."""
    if not isinstance(doc, dict):
        raise _refuse(doc, name, positions, "", "expected a mapping of CMS's figures (final_score, categories, ...) "
                      "or a Submissions API score response", "see docs/review.md")
    problems = schema_errors(SCHEMA, doc)
    if problems:
        message, hint, pointer = problems[0]
        raise _refuse(doc, name, positions, pointer, message, hint or f"see schemas/{SCHEMA}")
    at = lambda pointer: json_path(doc, pointer)  # noqa: E731 - a figure's JSON path in this document
    figures = CmsFigures(name, "figures", final_score=_figure(doc["final_score"], "$.final_score"))
    if "performance_year" in doc:
        figures.performance_year = _figure(doc["performance_year"], "$.performance_year")
    figures.entity = {k: _figure(v, at(f"/entity/{k}")) for k, v in doc.get("entity", {}).items()}
    for category, given in doc.get("categories", {}).items():
        base = pointer_join("/categories", category)
        part = CategoryFigures(at(base))
        for key in ("score", "weight", "points"):
            if key in given:
                setattr(part, key, _figure(given[key], at(f"{base}/{key}")))
        for measure, value in given.get("measures", {}).items():
            where = pointer_join(f"{base}/measures", measure)
            if isinstance(value, dict):
                part.measures[measure] = MeasureFigure(_figure(value["points"], at(f"{where}/points")),
                                                       value.get("collection_type"))
            else:
                part.measures[measure] = MeasureFigure(_figure(value, at(where)))
        figures.categories[category] = part
    if "complex_patient_bonus" in doc:
        figures.complex_patient_bonus = _figure(doc["complex_patient_bonus"], "$.complex_patient_bonus")
    figures.payment = {k: _figure(v, f"$.payment.{k}") for k, v in doc.get("payment", {}).items()}
    return figures


class _ScoreResponse:
    """CMS's Submissions API score object (total -> category parts -> measurement sets -> measurements), read into
    figures: the total, each category's weighted value, weight (``metadata.maxContribution``) and score (``original.value``
    out of the picked measurement set's ``metadata.maxContribution``, as a percent: improvement activities give
    points of 40), the measures of the picked measurement set (achievement points: ``metadata.decileScore`` when
    given, else the value) and the ``bonuses`` part as the final score's bonus points."""

    def __init__(self, doc: dict[str, Any], name: str, positions: dict[str, tuple[int, int]]):
        self.doc, self.name, self.positions = doc, name, positions

    def refuse(self, pointer: str, message: str) -> CmsFiguresError:
        return _refuse(self.doc, self.name, self.positions, pointer, message,
                       "expected a QPP Submissions API score response (GET /submissions/{id}/score)")

    def node(self, value: Any, pointer: str, what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.refuse(pointer, f"expected {what} (an object), found {excerpt(value)}")
        return value

    def number(self, value: Any, pointer: str, what: str) -> Figure:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise self.refuse(pointer, f"expected {what}, a number from 0 to 100, found {excerpt(value)}")
        return _figure(value, json_path(self.doc, pointer))

    def parts(self, node: dict[str, Any], pointer: str) -> list[tuple[str, dict[str, Any]]]:
        parts = node.get("parts", [])
        if not isinstance(parts, list):
            raise self.refuse(f"{pointer}/parts", f"expected a list of parts, found {excerpt(parts)}")
        return [(f"{pointer}/parts/{i}", self.node(p, f"{pointer}/parts/{i}", "a score part"))
                for i, p in enumerate(parts)]

    def read(self) -> CmsFigures:
        inner = self.doc.get("data")
        root = "/data/score" if isinstance(inner, dict) else ""
        score = self.node(inner["score"], root, "a score object") if isinstance(inner, dict) else self.doc
        figures = CmsFigures(self.name, "score response", final_score=self.number(score.get("value"), f"{root}/value",
                                                                                    "the total score"))
        for pointer, part in self.parts(score, root):
            label = part.get("name")
            if label == "bonuses":
                figures.complex_patient_bonus = self.number(part.get("value"), f"{pointer}/value", "the bonus points")
            elif isinstance(label, str) and "original" in part:
                figures.categories[label] = self.category(part, pointer)
        return figures

    def category(self, part: dict[str, Any], pointer: str) -> CategoryFigures:
        found = CategoryFigures(json_path(self.doc, pointer), points=self.number(part.get("value"), f"{pointer}/value",
                                                                                 "the category's weighted points"))
        weight = (part.get("metadata") or {}).get("maxContribution") if isinstance(part.get("metadata"), dict) else None
        if weight is not None:
            found.weight = self.number(weight, f"{pointer}/metadata/maxContribution", "the category's weight")
        elif isinstance(part.get("detail"), str) and _WEIGHT.search(part["detail"]):
            found.weight = _figure(decimal(_WEIGHT.search(part["detail"]).group(1)),  # type: ignore[union-attr]
                                   json_path(self.doc, f"{pointer}/detail"))
        original = self.node(part["original"], f"{pointer}/original", "the category's original score")
        score = self.number(original.get("value"), f"{pointer}/original/value", "the category score")
        sets = self.parts(original, f"{pointer}/original")
        picked = next((s for s in sets if _picked(s[1])), sets[0] if sets else None)
        found.score = score
        if picked is not None:
            self.measures(found, *picked)
            metadata = picked[1].get("metadata")
            most = metadata.get("maxContribution") if isinstance(metadata, dict) else None
            if most is not None and most != 100:
                most = self.number(most, f"{picked[0]}/metadata/maxContribution", "the set's maximum").value
                if not most:
                    raise self.refuse(f"{picked[0]}/metadata/maxContribution", "a measurement set's maximum of 0")
                found.score = Figure(score.value * 100 / most, score.path, score.decimals)  # type: ignore[operator]
        return found

    def measures(self, found: CategoryFigures, pointer: str, measurement_set: dict[str, Any]) -> None:
        """The set's own measurements with a numeric value (attestations and nested groups, such as 2017's ACI base
        and performance parts, are not measure points)."""
        method = measurement_set.get("detail") if isinstance(measurement_set.get("detail"), str) else None
        for where, part in self.parts(measurement_set, pointer):
            label, value, metadata = part.get("name"), part.get("value"), part.get("metadata")
            if "parts" in part or not isinstance(label, str) or isinstance(value, bool) or value is None:
                continue
            key, given = "value", value
            if isinstance(metadata, dict) and isinstance(metadata.get("decileScore"), int | float):
                key, given = "metadata/decileScore", metadata["decileScore"]
            found.measures[label] = MeasureFigure(self.number(given, f"{where}/{key}", f"measure {label}'s points"),
                                                  method)


def _picked(measurement_set: dict[str, Any]) -> bool:
    metadata = measurement_set.get("metadata")
    return isinstance(metadata, dict) and (metadata.get("measurementSetPicked") is True
                                           or metadata.get("processingStatus") == "PICKED")
