"""The view model of a result, built once from the result document and the rulebook it was scored with: sections,
key figures, tables and chart series (records of ``engine.outputs.view_model``) that every feedback format renders.

The rulebook is read for what the document does not repeat: which mechanism scored each category, CMS's names of
Promoting Interoperability measures, and the year's payment curve, drawn by the payment kernel itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.base.exact import ScalarOps
from engine.outputs.view_categories import category_view
from engine.outputs.view_model import (
    Bar,
    CategoryLine,
    Curve,
    CurvePoint,
    Figure,
    Header,
    IssueLine,
    Notes,
    Overview,
    Payment,
    Reason,
    Report,
    Reweighted,
    Source,
)
from engine.rules.model import Rulebook
from engine.scoring import columnar
from engine.scoring.kernels import final as kernel

CURVE_STEP = 5  # points of final score between the payment curve's samples (besides its thresholds)


def _header(document: Mapping[str, Any], book: Rulebook) -> Header:
    entity, rulebook = document["entity"], document["rulebook"]
    reference = document["reference_data"]
    return Header(
        year=rulebook["year"], payment_year=rulebook["payment_year"], entity_type=entity["type"],
        tin=entity.get("tin") or "", npi=entity.get("npi") or "", entity_id=entity.get("entity_id") or "",
        program=rulebook.get("program_variant") or "",
        what_ifs=tuple((k, str(v)) for k, v in (rulebook.get("overrides") or {}).items()),
        as_of=rulebook.get("as_of") or "", rulebook=book.display_path, checksum=rulebook["checksum"][:19],
        reference=f"{reference.get('repository')} {reference.get('version')}", engine=document["engine"]["version"])


def _bonus(s: Source) -> tuple[Figure | None, Reason | None, str]:
    """The complex patient bonus, its reason and the rulebook's words for it; none where the final score is neutral or
    the year has no such bonus (a formula of no inputs)."""
    node = s.nodes.get("bonuses.complex_patient")
    inputs = {k: v for k, v in (node or {}).get("inputs", {}).items() if k != "formula"}
    if node is None or not node["value"] and node["reason"] == "formula" and not inputs:
        return None, None, ""
    figure = s.figure(node["id"], s.notes.cite(node["rules"][0]) if node["value"] else ())
    how = ((s.document["rules"].get(node["rules"][0]) or {}).get("note") or "") if node["reason"] == "formula" else ""
    return figure, Reason(node["reason"], inputs), how


def _overview(s: Source) -> Overview:
    """The overview, its rules cited in the order it shows them."""
    d, cite = s.document, s.notes.cite
    final = s.node("final_score")
    neutral = final["reason"] == "neutral"
    notes = cite(final["rules"][0], final["inputs"]["source"]) if neutral else \
        cite(*final["rules"]) if final["reason"] == "capped" else ()
    lines, bars = [], []
    for name, category in d["categories"].items():
        state = "reweighted" if category["reweighted"] else ""
        lines.append(CategoryLine(name, category["title"],
                                  s.figure(f"{name}.percent", cite(*s.node(f"{name}.percent")["rules"]), state),
                                  s.figure(f"{name}.weight"), s.figure(f"{name}.contribution"), category["reweighted"]))
        bars.append(Bar(category["title"], category["points"], category["weight"]))
    bonus, reason, how = _bonus(s)
    if bonus is not None and bonus.value:
        bars.append(Bar("Complex patient bonus", bonus.value, bonus.value))
    weights = Figure(d["reweighting"]["row"], "", cite(d["reweighting"]["table"]))
    reweighted = tuple(Reweighted(c["title"], s.grounds(name)) for name, c in d["categories"].items() if c["reweighted"])
    return Overview(
        final=Figure(final["value"], "final_score", notes), maximum=final["inputs"]["maximum"],
        neutral=Reason("neutral", final["inputs"]) if neutral else None, capped=final["reason"] == "capped",
        categories=tuple(lines), bonus=bonus, bonus_reason=reason, bonus_how=how, row=d["reweighting"]["row"],
        table=d["rules"].get(d["reweighting"]["table"], {}).get("note") or "", weights=weights,
        reweighted=reweighted, bars=tuple(bars))


def _curve(book: Rulebook, score: Any) -> Curve:
    """The payment kernel's adjustment every ``CURVE_STEP`` points of final score, at each threshold and just above it
    (worked out once per rulebook), and at ``score``."""
    p = columnar.compiled(book).final
    digits = p.precision.digits
    known = book.memo.get("view.curve")
    if known is None:
        cliff = p.threshold * p.full_negative_fraction // p.precision.one
        thresholds = [("full_negative", cliff), ("threshold", p.threshold)]
        if p.additional_threshold is not None:
            thresholds.append(("additional", p.additional_threshold))
        samples = {*range(0, p.maximum + 1, CURVE_STEP * p.precision.one), p.maximum}
        for _, at in thresholds:
            samples.update((at, min(at + 1, p.maximum)))
        known = book.memo["view.curve"] = ({at: _curve_point(p, at) for at in samples}, tuple(
            (label, Decimal(at).scaleb(-digits)) for label, at in thresholds if at > 0))
    points, marks = known
    own = int(Decimal(str(score)).scaleb(digits))
    ordered = sorted({**points, own: points.get(own) or _curve_point(p, own)}.items())
    return Curve(tuple(point for _, point in ordered), marks, Decimal(p.maximum).scaleb(-digits),
                 Decimal(own).scaleb(-digits))


def _curve_point(p: kernel.FinalParams, at: int) -> CurvePoint:
    """The payment kernel's adjustments at final score ``at`` (fixed point)."""
    digits = p.precision.digits
    out = kernel.payment(ScalarOps, p, at)
    return CurvePoint(Decimal(at).scaleb(-digits),
                      Decimal(out["adjustment_before_scaling"] + out["exceptional_before_scaling"]).scaleb(-digits),
                      Decimal(out["total"]).scaleb(-digits))


def _payment(s: Source) -> Payment:
    """The payment adjustment, its rules cited in the order it shows them."""
    d, cite = s.document["payment"], s.notes.cite
    exceptional = d["band"] == "positive_exceptional"
    curve = _curve(s.book, s.document["final_score"])
    cliff = next((score for label, score in curve.marks if label == "full_negative"), None)
    return Payment(
        payment_year=s.document["rulebook"]["payment_year"], band=d["band"],
        final=Figure(s.document["final_score"], "final_score"),
        threshold=Figure(d["performance_threshold"], "", cite("payment.performance_threshold")),
        full_negative=None if cliff is None else Figure(cliff, "", cite("payment.full_negative_fraction")
                                                        if d["band"] == "maximum_negative" else ()),
        additional=None if d["additional_performance_threshold"] is None else Figure(
            d["additional_performance_threshold"], "", cite("payment.additional_performance_threshold") if exceptional
            else ()),
        before_scaling=s.figure("payment.adjustment_before_scaling",
                                cite("payment.applicable_percent") if d["adjustment_before_scaling"] else ()),
        scaling_factor=d["scaling_factor"],
        adjustment=s.figure("payment.adjustment", cite("payment.scaling_factor") if d["adjustment"] > 0 else ()),
        exceptional_before_scaling=s.figure("payment.exceptional_before_scaling",
                                            cite("payment.exceptional") if exceptional else ()),
        exceptional_scaling_factor=d["exceptional_scaling_factor"],
        exceptional=s.figure("payment.exceptional", cite("payment.exceptional_scaling_factor") if exceptional else ()),
        total=s.figure("payment.total"),
        shown_adjustment=s.figure("payment.display.adjustment", cite("payment.display")),
        shown_exceptional=s.figure("payment.display.exceptional"), shown_total=s.figure("payment.display.total"),
        shown_places=int(s.nodes["payment.display.total"]["inputs"]["decimals"]),
        factors_derived=bool(d["scaling_factor_unverified"]) and (d["adjustment"] > 0 or d["exceptional"] > 0),
        curve=curve)


def _issues(document: Mapping[str, Any]) -> tuple[IssueLine, ...]:
    return tuple(IssueLine(i["severity"], Path(i["file"]).name, i["path"], i["message"]) for i in document["issues"])


def build(document: Mapping[str, Any], book: Rulebook) -> Report:
    """The view model of one result document, scored with ``book``."""
    s = Source(document, book, Notes(document["rules"]), {n["id"]: n for n in document["trace"]})
    overview = _overview(s)
    categories = tuple(category_view(s, name) for name in document["categories"])
    payment = _payment(s)
    footnotes = s.notes.footnotes()
    shown = {f.address for f in footnotes}
    return Report(_header(document, book), overview, categories, payment, _issues(document), footnotes,
                  tuple(a for a in document["unverified_rules_used"] if a not in shown))
