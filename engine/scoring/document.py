"""The explained result of one entity: the kernels' outputs (``engine.scoring.columnar.score_one_with_rows``) turned
into trace nodes and the result document. Every number is the kernel's, at the rulebook's declared precision; the
builders in ``engine.scoring.nodes`` name the rules behind each one and give a reason code with its inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine._version import __version__
from engine.base.errors import MipsError
from engine.base.jsontext import to_json
from engine.inputs.submission import Submission
from engine.rules.model import Rulebook
from engine.scoring import columnar
from engine.scoring.fixed import precision
from engine.scoring.kernels import final as f
from engine.scoring.nodes import Build, CategoryPart, interop, others, quality
from engine.scoring.trace import Trace, plain

RESULT_SCHEMA = "mips-result/2"


class NoReweightingRow(MipsError):
    """The rulebook's table has no row for the categories this submission is scored on."""


# Each mechanism's node builder: (build, category, kernel outputs, its rows, its entity inputs, its params).
BUILDERS: dict[str, Callable[[Build, str, Any, Any, Any, Any], CategoryPart]] = {
    "decile_benchmarks": lambda b, name, out, rows, inputs, p: quality.build(b, name, out, rows),
    "activity_points": lambda b, name, out, rows, inputs, p: others.build_ia(b, name, out, rows, p),
    "cost_benchmarks": lambda b, name, out, rows, inputs, p: others.build_cost(b, name, out, rows, p),
    "measure_points": lambda b, name, out, rows, inputs, p: interop.build_pi(b, name, out, inputs, p),
    "base_performance_bonus": lambda b, name, out, rows, inputs, p: interop.build_aci(b, name, out, inputs, p),
    "not_scored": lambda b, name, out, rows, inputs, p: others.build_not_scored(b, name, out),
}


def _categories(b: Build, kernels: columnar.Compiled, entity: columnar.Entity, outputs: dict[str, Any],
                rows: dict[str, dict[str, list[Any]]]) -> dict[str, CategoryPart]:
    return {name: BUILDERS[b.book.mechanisms[name]](b, name, outputs[name], rows[name], entity.categories[name], p)
            for name, (_, p) in kernels.categories.items()}


def _used(book: Rulebook, address: str, facts: dict[str, Any]) -> dict[str, Any]:
    return {n: facts[n] for n in sorted(book.rule(address).expression.names) if n in facts}


def _credits(b: Build, p: f.FinalParams, parts: dict[str, CategoryPart], eligible: dict[str, Any]) -> dict[str, str]:
    """Each credit its own node, then each category's percent from the value the result carries."""
    facts, applied = eligible["facts"], {}
    for name, part in parts.items():
        rules: list[str] = []
        inputs: dict[str, Any] = {"score": part.percent}
        if eligible["credit"][name] >= 0:
            address = p.credits[eligible["credit_rule"][name]][1]
            credit = b.d(eligible["credit"][name])
            b.trace.add(f"{name}.credit", credit, [address, f"{address}.percent"], _used(b.book, address, facts),
                        "credited")
            inputs["credit"] = credit
            if credit > part.percent:
                rules, applied[name] = [address], address
        b.trace.add(f"{name}.percent", b.d(eligible["percent"][name]), rules, inputs, "credited" if rules else "score")
    return applied


def _weights(b: Build, p: f.FinalParams, submission: Submission, weighting: dict[str, Any],
             facts: dict[str, Any]) -> tuple[f.Table, int]:
    for name in p.categories:
        address = f"weights.reweight_when.{name}"
        known = address in b.book.rules
        value = bool(weighting["reweighted"][name])
        inputs = _used(b.book, address, facts) if known else {}
        grounds = [a for a, ground in p.grounds[name] if ground.evaluate(facts)] if value else []
        if grounds:
            inputs["grounds"] = grounds
        b.trace.add(f"{name}.reweighted", value, [address, *grounds] if known else grounds, inputs,
                    "reweighted" if value else "scored")
    scored = sorted(n for n in p.categories if not weighting["reweighted"][n])
    if weighting["table"] < 0:
        raise NoReweightingRow(f"no reweighting table of {b.book.display_path} applies to entity type "
                               f"{submission.entity_type}")
    table = p.tables[weighting["table"]]
    if weighting["row"] < 0:
        raise NoReweightingRow(f"{b.book.param(table.address).file}: table {table.address} has no row for scored "
                               f"categories {scored} ({submission.entity_type})")
    row = weighting["row"]
    for position, name in enumerate(p.categories):
        b.trace.add(f"{name}.weight", table.weights[row][position], [table.address, f"{table.address}.applies_when"],
                    {"scored": scored, "row": table.labels[row]}, "row")
    return table, row


def _complex_patient(b: Build, p: f.FinalParams, entity: columnar.Entity, facts: dict[str, Any], value: int) -> None:
    given = b.profile.get("complexPatient") or {}
    needed = sorted(p.bonus_formula.names)
    if p.bonus_requires_data and not facts["submitted_any"]:
        b.trace.add("bonuses.complex_patient", b.d(value),
                    ["bonuses.requires_submitted_data", "program.submission_categories"], {}, "no_data_submitted")
    elif not entity.bonus[1]:
        b.trace.add("bonuses.complex_patient", b.d(value), ["bonuses.complex_patient"], {"needed": needed}, "no_inputs")
    else:
        b.trace.add("bonuses.complex_patient", b.d(value), ["bonuses.complex_patient"],
                    {**{n: given[n] for n in needed}, "formula": p.bonus_formula.text}, "formula")


def _final(b: Build, p: f.FinalParams, table: f.Table, parts: dict[str, CategoryPart], eligible: dict[str, Any],
           scored: dict[str, Any], weighting: dict[str, Any]) -> int | float:
    for name in parts:
        b.trace.add(f"{name}.contribution", b.d(scored["contributions"][name]), [table.address],
                    {"percent": b.d(eligible["percent"][name]), "weight": int(scored["weights"][name])},
                    "percent_times_weight")
    value = b.d(scored["final_score"])
    if scored["neutral"]:
        source = f.NEUTRAL_SCORES[b.book.value("final.neutral_final_score")]
        scored_count = sum(1 for reweighted in weighting["reweighted"].values() if not reweighted)
        return b.trace.add("final_score", value, ["final.neutral_final_score", table.address, source, "final.maximum"],
                           {"row": table.labels[weighting["row"]], "scored": scored_count, "source": source,
                            "maximum": b.d(p.maximum)}, "neutral")
    contributions = {name: b.d(v) for name, v in scored["contributions"].items()}
    capped = sum(int(v) for v in scored["contributions"].values()) + int(scored["bonus"]) > int(scored["final_score"])
    return b.trace.add("final_score", value, ["final.maximum", "program.categories", "program.precision"],
                       {**contributions, "complex_patient_bonus": b.d(scored["bonus"]), "maximum": b.d(p.maximum)},
                       "capped" if capped else "sum")


def _payment(b: Build, p: f.FinalParams, out: dict[str, Any], final: int | float) -> dict[str, Any]:
    band = f.BANDS[out["band"]]
    rules = ["payment.performance_threshold", "payment.applicable_percent"]
    if band == "maximum_negative":
        rules.append("payment.full_negative_fraction")
    if band in ("negative", "positive", "positive_exceptional"):  # a quotient at the declared precision
        rules.append("program.precision")
    if band in ("positive", "positive_exceptional"):  # the scale runs from the threshold to the maximum score
        rules.append("final.maximum")
    if band == "positive_exceptional":
        rules += ["payment.additional_performance_threshold", "payment.exceptional"]
    threshold = b.d(p.threshold)
    adjustment, exceptional = b.d(out["adjustment_before_scaling"]), b.d(out["exceptional_before_scaling"])
    b.trace.add("payment.adjustment_before_scaling", adjustment, rules,
                {"final_score": final, "performance_threshold": threshold}, band)
    b.trace.add("payment.exceptional_before_scaling", exceptional, rules, {"final_score": final},
                "exceptional" if out["exceptional_before_scaling"] else "no_exceptional")
    scaling, exceptional_scaling = b.d(p.scaling), b.d(p.exceptional_scaling)
    scaled, extra = b.d(out["adjustment"]), b.d(out["total"] - out["adjustment"])
    b.trace.add("payment.adjustment", scaled,
                ["payment.scaling_factor", *(["program.precision"] if out["adjustment_before_scaling"] > 0 else [])],
                {"before_scaling": adjustment, "scaling_factor": scaling},
                "scaled" if out["adjustment_before_scaling"] > 0 else "not_scaled")
    b.trace.add("payment.exceptional", extra,
                ["payment.exceptional_scaling_factor", *(["program.precision"] if out["exceptional_before_scaling"] else [])],
                {"before_scaling": exceptional, "scaling_factor": exceptional_scaling}, "scaled")
    total = b.d(out["total"])
    b.trace.add("payment.total", total, [], {"adjustment": scaled, "exceptional": extra}, "sum")
    shown = {name: b.trace.add(f"payment.display.{name}", b.d(out["display"][name]), ["payment.display"],
                               {"value": value, "decimals": p.display_digits},
                               "truncated" if p.display_rounding == "down" else "rounded")
             for name, value in (("adjustment", scaled), ("exceptional", extra), ("total", total))}
    return {
        "band": band, "adjustment_before_scaling": adjustment, "exceptional_before_scaling": exceptional,
        "scaling_factor": scaling, "exceptional_scaling_factor": exceptional_scaling,
        "adjustment": scaled, "exceptional": extra, "total": total,
        "display": shown,
        "performance_threshold": threshold,
        "additional_performance_threshold": None if p.additional_threshold is None else b.d(p.additional_threshold),
        "scaling_factor_unverified": bool(b.book.param("payment.scaling_factor").unverified),
    }


class Result:
    """A scored submission: its trace, written as it was scored, and its result document, assembled from the trace
    and the kernels' outputs the first time it is asked for."""

    __slots__ = ("trace", "_assemble", "_document")

    def __init__(self, trace: Trace, assemble: Callable[[], dict[str, Any]]):
        self.trace = trace
        self._assemble = assemble
        self._document: dict[str, Any] | None = None

    @property
    def document(self) -> dict[str, Any]:
        if self._document is None:
            self._document = self._assemble()
        return self._document

    def json(self, indent: bool = False) -> bytes:
        """The result document as JSON, UTF-8 (``engine.base.jsontext``)."""
        return to_json(self.document, indent)

    @property
    def final_score(self) -> int | float:
        return self.trace.nodes["final_score"].value

    def category(self, name: str) -> dict[str, Any]:
        return self.document["categories"][name]


def explained(book: Rulebook, submission: Submission, profile: dict[str, Any], program: str) -> Result:
    """One submission (already checked in scope, ``book`` for its program) scored with its trace."""
    entity = columnar.entity_inputs(book, submission, profile, program)
    outputs, rows = columnar.score_one_with_rows(book, entity)
    return result_of(book, submission, profile, entity, outputs, rows)


def result_of(book: Rulebook, submission: Submission, profile: dict[str, Any], entity: columnar.Entity,
              outputs: dict[str, Any], rows: dict[str, dict[str, list[Any]]]) -> Result:
    """The trace and result of one entity from its kernel outputs and rows (its own run, or its slice of a batch)."""
    kernels = columnar.compiled(book)
    b = Build(book, precision(book), dict(profile), Trace(book))
    parts = _categories(b, kernels, entity, outputs["categories"], rows)
    eligible, weighting, scored = outputs["eligibility"], outputs["weighting"], outputs["final"]
    facts, p = eligible["facts"], kernels.final
    b.trace.add("eligibility.automatic_euc", bool(facts["automatic_euc"]), ["weights.automatic_euc"],
                _used(book, "weights.automatic_euc", facts), "condition")
    credited = _credits(b, p, parts, eligible)
    table, row = _weights(b, p, submission, weighting, facts)
    if not scored["neutral"]:
        _complex_patient(b, p, entity, facts, scored["bonus"])
    final = _final(b, p, table, parts, eligible, scored, weighting)
    payment = _payment(b, p, outputs["payment"], final)

    def assemble() -> dict[str, Any]:
        titles = book.value("program.category_titles")
        rules = b.trace.rules_used()
        header = plain({"rulebook": book.describe(), "reference_data": book.reference.describe(),
                        "entity": submission.entity(), "sources": submission.sources})
        return {
            "schema": RESULT_SCHEMA,
            "engine": {"name": "mips-rules-engine", "version": __version__},
            **header,
            "final_score": final,
            "neutral": bool(scored["neutral"]),
            "reweighting": {"table": table.address, "row": table.labels[row],
                            "automatic_euc": bool(facts["automatic_euc"])},
            "categories": {
                name: {
                    "title": titles.get(name, name),
                    "percent": b.d(eligible["percent"][name]),
                    "weight": int(scored["weights"][name]),
                    "points": b.trace.nodes[f"{name}.contribution"].value,
                    "reweighted": bool(weighting["reweighted"][name]),
                    "submitted": part.submitted or eligible["credit"][name] >= 0,
                    "detail": {**part.detail, "credit": credited[name]} if name in credited else part.detail,
                }
                for name, part in parts.items()
            },
            "complex_patient_bonus": b.d(scored["bonus"]),
            "payment": payment,
            "issues": plain([i.as_dict() for i in entity.issues]),
            "unverified_rules_used": [a for a, r in rules.items() if r["unverified"]],
            "trace": [n.as_dict() for n in b.trace.nodes.values()],
            "rules": rules,
        }

    return Result(b.trace, assemble)
