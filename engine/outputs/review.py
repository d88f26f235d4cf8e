"""The targeted-review worksheet: CMS's published figures beside the engine's, the first trace node where they part,
the input and the rule behind it, and which of CMS's targeted-review grounds (``review.yaml`` of the year) it points
to.

Figures are walked in dependency order: measure points, category scores, weights, contributions, the complex patient
bonus, the final score, the payment adjustment. A CMS figure agrees when the engine's figure, shown to the decimals
CMS wrote (at most the rulebook's precision), rounded half up or truncated, is CMS's figure: CMS rounds scores and
truncates payment adjustments for display."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from engine.base.errors import Location
from engine.base.numbers import decimal
from engine.inputs.cms_figures import CmsFigures, CmsFiguresError, Figure
from engine.inputs.submission import Submission
from engine.outputs import formatting
from engine.outputs.reporting import render
from engine.outputs.review_explain import explain_difference, grounds
from engine.rules.model import Rulebook
from engine.scoring.trace import plain

WORKSHEET = "mips-review/1"
_ENTITY = {"tin": "TIN", "npi": "NPI", "entity_id": "entity id"}
_NODE_OF = {"score": "percent", "weight": "weight", "points": "contribution"}
_PAYMENT = {"adjustment": "payment adjustment (%)", "exceptional": "exceptional performance adjustment (%)",
            "total": "total payment adjustment (%)"}


@dataclass(frozen=True)
class Row:
    """One figure: CMS's, the engine's, whether they agree, and the trace node (or entity field) it is."""

    id: str
    label: str
    cms: Figure
    engine: Any
    agrees: bool

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "cms": plain(self.cms.value), "cms_path": self.cms.path,
                "engine": self.engine, "agrees": self.agrees}


def agrees(cms: Figure, engine: Any, decimals: int) -> bool:
    """Whether the engine's figure, shown as CMS showed its own (rounded half up or truncated to the decimals CMS
    wrote, at most ``decimals``), is CMS's figure."""
    if isinstance(cms.value, str) or engine is None or isinstance(engine, str):
        return str(cms.value) == str(engine)
    places = Decimal(1).scaleb(-min(cms.decimals, decimals))
    shown = cms.value.quantize(places, ROUND_HALF_UP)
    value = decimal(engine)
    return shown in (value.quantize(places, ROUND_HALF_UP), value.quantize(places, ROUND_DOWN))


class Comparison:
    """The comparison of one result with CMS's figures (built once by ``worksheet``)."""

    def __init__(self, document: dict[str, Any], book: Rulebook, submission: Submission, figures: CmsFigures,
                 profile_source: str | None):
        self.doc, self.book, self.submission, self.figures = document, book, submission, figures
        self.profile_source = profile_source or "(no profile: every fact at its default)"
        self.nodes = {n["id"]: n for n in document["trace"]}
        self.titles = book.value("program.category_titles")
        self.precision = book.value("program.precision")["decimals"]
        self.categories = self._categories()
        self.not_compared: list[dict[str, str]] = []

    def _categories(self) -> dict[str, str]:
        """CMS's category names -> the rulebook's (``aci`` is ``pi`` where the year says so)."""
        known = {**{c: c for c in self.book.value("program.categories")}, **self.book.value("program.submission_categories")}
        found = {}
        for name, part in self.figures.categories.items():
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                raise CmsFiguresError(Location(self.figures.source, pointer=part.path),
                                      f"{name!r} is not a performance category of {self.book.year}",
                                      (f"did you mean {close[0]!r}? " if close else "") +
                                      f"expected one of {', '.join(sorted(known))}")
            found[name] = known[name]
        return found

    def row(self, node_id: str, label: str, cms: Figure, engine: Any) -> Row:
        return Row(node_id, label, cms, engine, agrees(cms, engine, self.precision))

    def node_value(self, node_id: str) -> Any:
        node = self.nodes.get(node_id)
        return node["value"] if node else None

    def rows(self) -> Iterator[Row]:
        """Every figure CMS gives, in dependency order."""
        f = self.figures
        for key, figure in f.entity.items():
            yield self.row(f"entity.{key}", _ENTITY[key], figure, getattr(self.submission, key))
        yield from self.measure_rows()
        for field, label in (("score", "category score (%)"), ("weight", "weight (%)"), ("points", "points")):
            for name, part in f.categories.items():
                figure = getattr(part, field)
                if figure is not None:
                    node = f"{self.categories[name]}.{_NODE_OF[field]}"
                    yield self.row(node, f"{self.title(name)}: {label}", figure, self.node_value(node))
        if f.complex_patient_bonus is not None:
            yield self.row("bonuses.complex_patient", "complex patient bonus", f.complex_patient_bonus,
                           self.doc["complex_patient_bonus"])
        if f.final_score is not None:
            yield self.row("final_score", "final score", f.final_score, self.doc["final_score"])
        for key, figure in f.payment.items():
            yield self.row(f"payment.{key}", _PAYMENT[key], figure, self.node_value(f"payment.{key}"))

    def title(self, cms_name: str) -> str:
        category = self.categories[cms_name]
        return str(self.titles.get(category, category))

    def measure_title(self, cms_name: str, measure: str) -> str:
        """`` (title)`` of a measure or activity in CMS's reference data of the year, when it has one."""
        records = getattr(self.book.reference, self.categories[cms_name], None)
        title = records.get(measure, {}).get("title") if isinstance(records, dict) else None
        return f" ({title})" if title else ""

    def measure_rows(self) -> Iterator[Row]:
        for name, part in self.figures.categories.items():
            for measure, figure in part.measures.items():
                node = self.measure_node(self.categories[name], measure, figure.collection_type)
                if node is None:
                    self.not_compared.append({"cms_path": figure.points.path, "what": f"{self.title(name)} {measure}",
                                              "why": "the engine has no figure for it under these rules (not in the "
                                                     "submission, not scored on its own, or scored within a group "
                                                     "such as the public health registries)"})
                    continue
                method = node.split(".", 3)[3] if node.count(".") == 3 else None
                label = f"{self.title(name)} {measure}{self.measure_title(name, measure)}" + (
                    f", {method}" if method else "") + ": points"
                yield self.row(node, label, figure.points, self.nodes[node]["value"])

    def measure_node(self, category: str, measure: str, method: str | None) -> str | None:
        """The trace node of a measure or activity (``quality.measures.236.registry``, ``ia.activities.IA_EPA_1``);
        of several collection types, the one named, else the highest scoring (the one CMS counts)."""
        found = []
        for node_id, node in self.nodes.items():
            group, _, rest = node_id.removeprefix(f"{category}.").partition(".")
            if not node_id.startswith(f"{category}.") or not group or not isinstance(node["value"], int | float):
                continue
            if rest == measure or rest.startswith(f"{measure}.") and method in (None, rest[len(measure) + 1:]):
                found.append(node_id)
        return max(found, key=lambda n: self.nodes[n]["value"], default=None)


def worksheet(document: dict[str, Any], book: Rulebook, submission: Submission, figures: CmsFigures,
              profile_source: str | None = None) -> dict[str, Any]:
    """The targeted-review worksheet of one scored submission (its result ``document``, scored with ``book``) against
    CMS's ``figures``."""
    year = figures.performance_year
    if year is not None and int(year.value) != book.year:
        raise CmsFiguresError(Location(figures.source, pointer=year.path),
                              f"these figures are for performance year {year.value}; the submission is scored under "
                              f"the {book.year} rules", "give the feedback of the same year, or --year")
    sheet = Comparison(document, book, submission, figures, profile_source)
    rows = list(sheet.rows())
    differing = [r for r in rows if not r.agrees]
    return {
        "worksheet": WORKSHEET,
        "rulebook": document["rulebook"],
        "entity": document["entity"],
        "submission": document["sources"],
        "profile": sheet.profile_source,
        "cms": {"file": figures.source, "form": figures.form},
        "precision": sheet.precision,
        "rows": [r.as_dict() for r in rows],
        "first_difference": explain_difference(sheet, differing[0]) if differing else None,
        "also_differ": [r.id for r in differing[1:]],
        "not_compared": sheet.not_compared,
        "grounds": grounds(book),
    }


def render_worksheet(sheet: dict[str, Any], fmt: str) -> str:
    """The worksheet as text or Markdown (``reports/review.j2``)."""
    figures = [[r["label"], formatting.number(r["cms"]) if not isinstance(r["cms"], str) else r["cms"],
                formatting.number(r["engine"]) if not isinstance(r["engine"], str) else r["engine"], r["agrees"]]
               for r in sheet["rows"]]
    return render("review.j2", fmt, w=sheet, figures=figures)
