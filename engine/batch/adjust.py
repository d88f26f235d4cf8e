"""``mips adjust``: from the results of ``mips batch`` and the population's relations and paid amounts
(``entities.parquet``), the final score each TIN/NPI receives (the year's hierarchy) and its payment adjustment
after budget-neutral scaling, as CMS's Payment Adjustment file shows it: final score and where it came from,
adjustment, exceptional adjustment, total, their displayed values and dollars."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from engine.base.errors import Location, SubmissionError
from engine.batch import layout
from engine.population import hierarchy as h
from engine.population import neutrality as n
from engine.rules.model import Rulebook
from engine.scoring.columnar import compiled
from engine.scoring.fixed import precision
from engine.scoring.kernels.final import BANDS

KIND_KEYS = {"individual": ("tin", "npi"), "group": ("tin",), "virtual_group": ("entity_id",),
             "apm_entity": ("entity_id",)}


@dataclass
class Adjusted:
    """What ``adjust`` wrote: rows, how many TIN/NPIs received a score, and the factors with their provenance."""

    rows: int
    scored: int
    factors: dict[str, Any]
    refused: list[str]


def _scores(results: pa.Table, one: int) -> dict[str, h.Scores]:
    """Each kind's final scores by key, from the results' entity columns."""
    kinds = np.asarray([layout.KINDS.get(t, "") for t in results.column("entity_type").to_pylist()], dtype=object)
    final = np.rint(results.column("final_score").to_numpy() * one).astype(np.int64)
    scores = {}
    for kind, keys in KIND_KEYS.items():
        rows = np.flatnonzero(kinds == kind)
        columns = tuple(np.asarray(results.column(k).take(pa.array(rows)).to_pylist(), dtype=str) for k in keys)
        scores[kind] = h.Scores(columns, final[rows])
    return scores


def _relations(entities: layout.Entities) -> h.Relations:
    rows = np.arange(len(entities))
    grouped = np.flatnonzero(entities.virtual_group != "")
    apm_rows = np.repeat(rows, np.diff(entities.apm_offsets))
    return h.Relations(entities.tin, entities.npi, h.Memberships(grouped, entities.virtual_group[grouped]),
                       h.Memberships(apm_rows, entities.apm_entities))


def adjust(results_path: str | Path, entities_path: str | Path, book: Rulebook, output: str | Path,
           pool_dollars: int | None = None) -> Adjusted:
    """Write the Payment Adjustment table of every TIN/NPI of ``entities_path`` to ``output`` (Parquet)."""
    p, digits = compiled(book).final, precision(book).digits
    one = 10**digits
    entities, refused = layout.read_entities(entities_path)
    if refused and not len(entities):
        raise SubmissionError(Location(str(entities_path)), str(refused[0].message))
    choice = h.choose(h.hierarchy_params(book), _relations(entities), _scores(pq.read_table(results_path), one))
    pool = n.pool_params(book)
    covered = np.flatnonzero(choice.step >= 0)  # a TIN/NPI no score covers receives no adjustment
    factors, rows = n.neutralize(p, choice.score[covered], entities.paid_cents[covered],
                                 pool.pool_cents if pool_dollars is None else pool_dollars * 100, pool.maximum)
    table = adjustment_table(entities, choice, covered, rows, one)
    metadata = {b"mips.factors": json.dumps(factors.report()).encode(), b"mips.year": str(book.year).encode()}
    with layout.replacing(Path(output)) as temporary:
        pq.write_table(table.replace_schema_metadata(metadata), temporary, compression="zstd")
    return Adjusted(len(entities), len(covered), {**factors.report(), "maximum": str(pool.maximum)},
                    [str(r) for r in refused])


def _spread(values: np.ndarray, covered: np.ndarray, size: int, one: int) -> pa.Array:
    """A covered rows' fixed-point column as decimals, null where no score covers the TIN/NPI."""
    full = np.full(size, np.nan)
    full[covered] = values / one
    return pa.array(full, pa.float64(), mask=np.isnan(full))


def adjustment_table(entities: layout.Entities, choice: h.Choice, covered: np.ndarray, rows: dict[str, Any],
                     one: int) -> pa.Table:
    """The Payment Adjustment table: a row per TIN/NPI, adjusted where a final score covers it (``covered``)."""
    size = len(entities)
    band = np.full(size, "", dtype=object)
    band[covered] = np.asarray(BANDS, dtype=object)[rows["band"]]
    columns: dict[str, Any] = {
        "tin": entities.tin, "npi": entities.npi,
        "final_score": _spread(choice.score[covered], covered, size, one),
        "final_score_source": choice.source(), "final_score_reason": choice.reason(),
        "candidates": choice.considered, "payment.band": pa.array(band, pa.string()),
    }
    for name in ("adjustment_before_scaling", "exceptional_before_scaling", "adjustment", "exceptional", "total"):
        columns[f"payment.{name}"] = _spread(rows[name], covered, size, one)
    for name, values in rows["display"].items():
        columns[f"payment.display.{name}"] = _spread(values, covered, size, one)
    columns["paid_cents"] = entities.paid_cents
    for name, values in rows["cents"].items():
        cents = np.zeros(size, dtype=np.int64)
        cents[covered] = values
        columns[f"cents.{name}"] = cents
    return pa.table({k: v if isinstance(v, pa.Array) else pa.array(v) for k, v in columns.items()})
