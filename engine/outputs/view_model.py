"""The view model of a result: the typed records every feedback format renders (``engine.outputs.view`` builds
them from the result document).

A figure keeps its exact value (``engine.outputs.formatting`` formats it, the same way in every format), the trace
node it is, and the footnotes of the rules that changed it. A reason is a code with the values its words need; the
words are the templates' (``reports/feedback/words.j2``) or the rulebook's own (a reweighting ground, a credit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.rules.model import Rulebook

Number = int | float | Decimal


@dataclass(frozen=True)
class Figure:
    """A number shown: its exact value, the trace node it is, the footnotes of the rules that changed it, and a state
    when it is shown as a mark instead (``suppressed``: ``--``; ``reweighted``: ``N/A``)."""

    value: Any
    node: str = ""
    notes: tuple[int, ...] = ()
    state: str = ""


@dataclass(frozen=True)
class Reason:
    """Why a figure is what it is: a reason code and the values its words need (as the trace records them, with
    names of measures added)."""

    code: str
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Footnote:
    """A rule that changed a number shown, with where it is written and the sources behind it."""

    number: int
    address: str
    place: str
    sources: tuple[str, ...]
    unverified: str


@dataclass(frozen=True)
class Ground:
    """Why a category was weighted at 0 %: the rulebook's words for one ground that held."""

    text: str
    notes: tuple[int, ...]


@dataclass(frozen=True)
class Header:
    year: int
    payment_year: int
    entity_type: str
    tin: str
    npi: str
    entity_id: str
    program: str
    what_ifs: tuple[tuple[str, str], ...]
    as_of: str
    rulebook: str
    checksum: str
    reference: str
    engine: str


@dataclass(frozen=True)
class CategoryLine:
    """One category in the overview: score x weight = points toward the final score."""

    name: str
    title: str
    score: Figure
    weight: Figure
    contribution: Figure
    reweighted: bool


@dataclass(frozen=True)
class Reweighted:
    title: str
    grounds: tuple[Ground, ...]


@dataclass(frozen=True)
class Bar:
    """A chart bar: ``value`` of ``maximum`` (a category's points of its weight)."""

    label: str
    value: Any
    maximum: Any


@dataclass(frozen=True)
class Overview:
    final: Figure
    maximum: Any
    neutral: Reason | None
    capped: bool
    categories: tuple[CategoryLine, ...]
    bonus: Figure | None
    bonus_reason: Reason | None
    bonus_how: str
    row: str
    table: str
    weights: Figure
    reweighted: tuple[Reweighted, ...]
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class CurvePoint:
    score: Decimal
    before_scaling: Decimal
    received: Decimal


@dataclass(frozen=True)
class Curve:
    """The year's payment curve, computed by the payment kernel: adjustment before scaling and as received (scaled,
    with the exceptional adjustment) at each score; the thresholds marked; the entity's own score."""

    points: tuple[CurvePoint, ...]
    marks: tuple[tuple[str, Decimal], ...]
    maximum: Decimal
    score: Decimal


@dataclass(frozen=True)
class Payment:
    payment_year: int
    band: str
    final: Figure
    threshold: Figure
    full_negative: Figure | None  # the score at or below which the maximum negative adjustment applies
    additional: Figure | None
    before_scaling: Figure
    scaling_factor: Any
    adjustment: Figure
    exceptional_before_scaling: Figure
    exceptional_scaling_factor: Any
    exceptional: Figure
    total: Figure
    shown_adjustment: Figure
    shown_exceptional: Figure
    shown_total: Figure
    shown_places: int
    factors_derived: bool
    curve: Curve


@dataclass(frozen=True)
class IssueLine:
    severity: str
    file: str
    path: str
    message: str


@dataclass(frozen=True)
class MeasureLine:
    """A quality measure as scored: its rate between the bounds of its decile, so its points can be checked by hand."""

    id: str
    title: str
    method: str
    points: Figure
    bonus: Any
    rate: Any
    proportion: bool  # the rate is a percent (CMS's non-proportion measures rate in their own units)
    completeness: Any
    cases: Any
    decile: int | None
    lower: Any
    upper: Any
    inverse: bool
    deciles: tuple[Any, ...]
    required: bool
    reason: Reason
    not_counted: Reason | None


@dataclass(frozen=True)
class BonusLine:
    kind: str
    figure: Figure
    reason: Reason


@dataclass(frozen=True)
class QualityDetail:
    score_reason: Reason
    achievement: Figure
    denominator: Figure
    denominator_reason: Reason
    bonuses: tuple[BonusLine, ...]
    improvement: Figure | None
    method: str
    counted: tuple[MeasureLine, ...]
    bonus_only: tuple[MeasureLine, ...]
    not_counted: tuple[MeasureLine, ...]


@dataclass(frozen=True)
class ActivityLine:
    id: str
    title: str
    weight: str
    points: Figure
    reason: Reason | None


@dataclass(frozen=True)
class Credit:
    """A score CMS assigns (e.g. an APM Entity's improvement activities), in the rulebook's words."""

    figure: Figure
    text: str


@dataclass(frozen=True)
class IaDetail:
    points: Figure
    maximum: Any
    own_score: Figure
    activities: tuple[ActivityLine, ...]
    points_reason: Reason
    credit: Credit | None


@dataclass(frozen=True)
class PiLine:
    """A Promoting Interoperability (or ACI) measure by name: numerator and denominator, points available, points."""

    id: str
    title: str
    numerator: Any
    denominator: Any
    available: Any
    points: Figure
    reason: Reason


@dataclass(frozen=True)
class PublicHealth:
    points: Figure
    reported: tuple[str, ...]
    excluded: tuple[str, ...]
    bonus: Figure | None


@dataclass(frozen=True)
class PiDetail:
    points: Figure | None
    maximum: Any
    measures: tuple[PiLine, ...]
    public_health: PublicHealth | None
    zero: Reason | None


@dataclass(frozen=True)
class AciDetail:
    set: str
    base: Figure
    base_reason: Reason
    performance: Any
    bonus: Figure
    bonus_reason: Reason
    maximum: Any
    measures: tuple[PiLine, ...]


@dataclass(frozen=True)
class CostLine:
    id: str
    title: str
    score: Any
    cases: Any
    case_minimum: Any
    decile: int | None
    lower: Any
    upper: Any
    deciles: tuple[Any, ...]
    points: Figure
    reason: Reason


@dataclass(frozen=True)
class CostDetail:
    measures: tuple[CostLine, ...]
    score_reason: Reason


@dataclass(frozen=True)
class NotScoredDetail:
    text: str
    notes: tuple[int, ...]


@dataclass(frozen=True)
class CategoryView:
    """One category's page. ``kind`` names its layout (``quality``, ``ia``, ``pi``, ``aci``, ``cost``,
    ``not_scored``); a reweighted category has its grounds and no detail."""

    name: str
    kind: str
    title: str
    score: Figure
    weight: Figure
    contribution: Figure
    grounds: tuple[Ground, ...]
    detail: Any


@dataclass(frozen=True)
class Report:
    """Everything one feedback report shows."""

    header: Header
    overview: Overview
    categories: tuple[CategoryView, ...]  # in the rulebook's order
    payment: Payment
    issues: tuple[IssueLine, ...]
    footnotes: tuple[Footnote, ...]
    unverified: tuple[str, ...]  # unverified rules relied on that no footnote shows


class Notes:
    """The footnotes of a report, numbered in the order the report first cites them."""

    def __init__(self, rules: Mapping[str, Mapping[str, Any]]):
        self.rules = rules
        self.numbers: dict[str, int] = {}

    def cite(self, *addresses: str) -> tuple[int, ...]:
        """Footnote numbers for these rules (those the document describes), each numbered once."""
        numbers = []
        for address in addresses:
            if address not in self.rules:
                continue
            if address not in self.numbers:
                self.numbers[address] = len(self.numbers) + 1
            numbers.append(self.numbers[address])
        return tuple(dict.fromkeys(numbers))

    def footnotes(self) -> tuple[Footnote, ...]:
        return tuple(Footnote(number, address, f"{self.rules[address]['file']}:{self.rules[address]['line']}",
                              tuple(self.rules[address]["cite"]), self.rules[address]["unverified"] or "")
                     for address, number in self.numbers.items())


@dataclass
class Source:
    """What a view builder reads: the document, its trace by node id, the rulebook and the footnotes."""

    document: Mapping[str, Any]
    book: Rulebook
    notes: Notes
    nodes: dict[str, Mapping[str, Any]]

    def node(self, node_id: str) -> Mapping[str, Any]:
        return self.nodes[node_id]

    def figure(self, node_id: str, notes: tuple[int, ...] = (), state: str = "") -> Figure:
        return Figure(self.nodes[node_id]["value"], node_id, notes, state)

    def grounds(self, name: str) -> tuple[Ground, ...]:
        """The rulebook's words for each ground that reweighted category ``name``."""
        node = self.nodes[f"{name}.reweighted"]
        addresses = node["inputs"].get("grounds") or node["rules"][:1]
        rules = self.document["rules"]
        return tuple(Ground(rules[a]["note"] or "", self.notes.cite(a)) for a in addresses if a in rules)
