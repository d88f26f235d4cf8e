"""Score many submissions at once: the array kernels over columns, one element per accepted submission.

A submission that cannot be scored at all is refused with its message and the rest are scored; rows in =
scored + refused, always.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from engine.base.errors import MipsError
from engine.inputs.profile import check_profile
from engine.inputs.submission import SubmissionInput, as_submission
from engine.rules.model import Rulebook
from engine.scoring import columnar
from engine.scoring.fixed import precision
from engine.scoring.scope import check_scope, program_of

ENTITY_COLUMNS = {"entity_type": "type", "tin": "tin", "npi": "npi", "entity_id": "entity_id", "program": "program"}
"""The entity columns of a result row, each with the key of ``Submission.entity()`` it holds."""


@dataclass
class BatchResult:
    """Final scores, category scores, weights and payment adjustments as columns (fixed-point integers at
    ``digits`` decimals), one element per scored submission, in input order; and the refused ones."""

    digits: int
    sources: list[str] = field(default_factory=list)
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (input position, message)
    positions: list[int] = field(default_factory=list)  # each scored element's input position
    entities: list[dict[str, Any]] = field(default_factory=list)  # each scored element's entity header

    def decimal(self, name: str) -> list[Decimal]:
        """A column as exact decimals."""
        return [Decimal(int(v)).scaleb(-self.digits) for v in self.columns[name]]


def score_many(book: Rulebook, items: Sequence[SubmissionInput],
               profiles: Sequence[Mapping[str, Any]] | None = None) -> BatchResult:
    """Score every submission under ``book`` with the array kernels, program variant by program variant."""
    result = BatchResult(precision(book).digits)
    groups: dict[str, list[tuple[int, columnar.Entity, str, dict[str, Any]]]] = {}
    for position, item in enumerate(items):
        try:
            submission = as_submission(item)
            check_scope(book, submission)
            program = program_of(submission)
            profile = check_profile(profiles[position]) if profiles else {}
            entity = columnar.entity_inputs(book.for_program(program), submission, profile, program)
        except MipsError as exc:
            result.refused.append((position, str(exc)))
            continue
        groups.setdefault(program, []).append((position, entity, submission.sources[0], submission.entity()))
    order: list[int] = []
    parts: list[dict[str, np.ndarray]] = []
    for program, members in groups.items():
        stacked = columnar.stack_inputs(book.for_program(program), [entity for _, entity, _, _ in members])
        columns, weighed = scored_columns(book, program, stacked)
        for (position, entity, source, _), ok in zip(members, weighed.tolist(), strict=True):
            if not ok:
                result.refused.append((position, no_row(book, source, entity.facts["entity_type"])))
        parts.append({name: column[weighed] for name, column in columns.items()})
        kept = [member for member, ok in zip(members, weighed.tolist(), strict=True) if ok]
        order += [position for position, _, _, _ in kept]
        result.sources += [source for _, _, source, _ in kept]
        result.entities += [header for _, _, _, header in kept]
    result.refused.sort()
    if order:
        arrange = np.argsort(order, kind="stable")
        result.columns = {name: np.concatenate([part[name] for part in parts])[arrange] for name in parts[0]}
        result.sources = [result.sources[i] for i in arrange]
        result.entities = [result.entities[i] for i in arrange]
        result.positions = sorted(order)
    return result


def scored_columns(book: Rulebook, program: str, stacked: columnar.Stacked) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The result columns of entities stacked for ``program`` (fixed point at the rulebook's precision), and for each
    whether a reweighting row of the rulebook fits what it is scored on: one that none fits is refused (``no_row``),
    never guessed."""
    outputs = columnar.score_stacked(book.for_program(program), stacked)
    weighed = (np.asarray(outputs["weighting"]["table"]) >= 0) & (np.asarray(outputs["weighting"]["row"]) >= 0)
    return _columns(outputs, precision(book).one), weighed


def no_row(book: Rulebook, source: str, entity_type: str) -> str:
    """Why an entity no reweighting row fits is refused."""
    return (f"{source}: no reweighting table row of {book.display_path} fits the categories this {entity_type} is "
            "scored on")


def _columns(outputs: Mapping[str, Any], one: int) -> dict[str, np.ndarray]:
    """The outputs a population result carries, each named by the trace node that explains it (numbers fixed
    point, weights too)."""
    final, payment = outputs["final"], outputs["payment"]
    columns = {"final_score": final["final_score"], "neutral": final["neutral"],
               "bonuses.complex_patient": final["bonus"], "payment.band": payment["band"],
               "payment.adjustment_before_scaling": payment["adjustment_before_scaling"],
               "payment.exceptional_before_scaling": payment["exceptional_before_scaling"],
               "payment.adjustment": payment["adjustment"],
               "payment.exceptional": payment["total"] - payment["adjustment"],
               "payment.total": payment["total"]}
    for name, percent in outputs["eligibility"]["percent"].items():
        columns[f"{name}.percent"] = percent
        columns[f"{name}.weight"] = np.asarray(final["weights"][name]) * one
        columns[f"{name}.reweighted"] = outputs["weighting"]["reweighted"][name]
    return {name: np.asarray(value) for name, value in columns.items()}
