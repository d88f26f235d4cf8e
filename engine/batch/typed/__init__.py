"""Parquet submissions scored from their typed columns: the layout's columns (``engine.batch.layout.SUBMISSIONS``)
go straight to the kernels' input columns with Arrow and numpy operations over whole columns, never a Python
document per row.

``score(book, batch, file, start)`` gives, for a batch of input rows, the results of those scored, a refusal for
each row the JSON path would refuse (naming its place, the column and JSON path of its first problem and what was
expected), and the rows left to the JSON path (those holding JSON text: ``engine.batch.typed.checks``). The rows it
scores get the result columns the JSON path gives them (``engine.batch.runner``), exactly; tests hold the two paths
to it on generated populations of every year and on rows broken in every way the checks know.

- ``levels``: a batch by nesting level (rows, sets, measurements, strata, cost measures, EUC categories);
- ``checks``, ``profile_checks``: the checks of the submission and profile readers and of the rulebook's scope,
  their outcome per row kept by ``findings``;
- ``quality``, ``inputs``, ``profile_inputs``: the kernel inputs, category by category;
- ``lookups``: what the inputs take from the rulebook and CMS's data, by measure; ``decimals``: float64 columns read
  as the decimals a JSON reader gives them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from engine.batch import layout
from engine.batch.runner import ENTITY_COLUMNS, no_row, scored_columns
from engine.batch.typed import checks, profile_checks
from engine.batch.typed.findings import Findings
from engine.batch.typed.inputs import Group, stacked, supported
from engine.batch.typed.levels import levels
from engine.rules.model import Rulebook

__all__ = ["Scored", "score", "supported"]


@dataclass(frozen=True)
class Scored:
    """A batch's typed rows scored: the entity and result columns of each (``positions`` in order), the refused
    rows, the batch rows (from 0) left to the JSON path, and the batch's columns as the layout types them (with the
    rows whose values could not be read so) for reading those rows."""

    positions: np.ndarray
    entities: dict[str, pa.Array]  # entity_type, tin, npi, entity_id, program (the submission's programName)
    columns: dict[str, np.ndarray]
    refusals: list[layout.Refusal]
    to_json: np.ndarray
    conformed: dict[str, pa.Array]
    problems: dict[int, str]


def score(book: Rulebook, batch: pa.RecordBatch, file: str, start: int) -> Scored:
    """Score the rows of ``batch`` (input positions from ``start``) that the typed path reads, under ``book``."""
    columns, problems = layout.conform(batch, layout.SUBMISSIONS)
    lv = levels(columns)
    findings = Findings(lv.size)
    findings.refuse(np.arange(lv.size), np.isin(np.arange(lv.size), list(problems)), lambda i: problems[i])
    checks.kinds(findings, lv)
    checks.leave_to_json(findings, lv)
    checks.plain(findings, lv)
    checks.header(findings, lv)
    set_ok, measurement_ok = checks.structure(lv)
    program = checks.scope(findings, lv, book, set_ok)
    profile_checks.check(findings, lv)
    refusals = dict(findings.refused)
    positions, entities, results = [], [], []
    typed = findings.typed
    for name in sorted(set(program[typed].tolist())):
        rows = np.flatnonzero(typed & (program == name))
        group = Group(book.for_program(name), lv, set_ok, measurement_ok, rows)
        found, weighed = scored_columns(book, name, stacked(group, name))
        entity_type = columns["entity_type"]
        for row in rows[~weighed].tolist():
            refusals[row] = no_row(book, str(layout.Where(file, row=start + row)), entity_type[row].as_py())
        kept = rows[weighed]
        positions.append(kept)
        entities.append({column: columns[column].take(pa.array(kept)) for column in ENTITY_COLUMNS})
        results.append({key: value[weighed] for key, value in found.items()})
    order = np.argsort(np.concatenate(positions)) if positions else np.zeros(0, dtype=np.int64)
    return Scored(
        start + np.concatenate(positions)[order] if positions else np.zeros(0, dtype=np.int64),
        {column: pa.concat_arrays([e[column] for e in entities]).take(pa.array(order)) for column in ENTITY_COLUMNS}
        if entities else {},
        {key: np.concatenate([r[key] for r in results])[order] for key in results[0]} if results else {},
        [layout.Refusal(start + row, layout.Where(file, row=start + row), message) for row, message in sorted(refusals.items())],
        np.flatnonzero(findings.fallback), columns, problems)
