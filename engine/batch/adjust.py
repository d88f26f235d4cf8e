"""``mips adjust``: from the results of ``mips batch`` and the population's relations and paid amounts
(``entities.parquet``), the final score each TIN/NPI receives (the year's hierarchy) and its payment adjustment
after budget-neutral scaling, as CMS's Payment Adjustment file shows it: final score and where it came from,
adjustment, exceptional adjustment, total, their displayed values and dollars.

Identifiers stay Arrow strings throughout: each kind of key (TIN, NPI, virtual group, APM Entity) is numbered once
over the results and the relations together, and the hierarchy works on those integers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
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
RESULT_COLUMNS = ("entity_type", "tin", "npi", "entity_id", "final_score")


@dataclass
class Adjusted:
    """What ``adjust`` wrote: rows, how many TIN/NPIs received a score, and the factors with their provenance."""

    rows: int
    scored: int
    factors: dict[str, Any]
    refused: list[str]


def _numbered(*arrays: pa.Array) -> list[np.ndarray]:
    """The ids of several string arrays numbered together (equal ids, equal numbers; null: -1)."""
    parts = [pc.cast(array, pa.string()) for array in arrays]
    chunks = [chunk for part in parts for chunk in (part.chunks if isinstance(part, pa.ChunkedArray) else [part])]
    encoded = pc.dictionary_encode(pa.chunked_array(chunks, pa.string()).combine_chunks())
    codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    bounds = np.cumsum([0, *(len(part) for part in parts)])
    return [codes[bounds[i]:bounds[i + 1]] for i in range(len(parts))]


def _coded(entities: pa.Table, results: pa.Table, one: int) -> tuple[h.Relations, dict[str, h.Scores]]:
    """The relations and each kind's final scores, keys numbered per kind of id."""
    kinds = pc.index_in(results.column("entity_type"), value_set=pa.array(list(layout.KINDS), pa.string()))
    kind = np.asarray(pc.fill_null(kinds, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    final = np.rint(results.column("final_score").to_numpy(zero_copy_only=False) * one).astype(np.int64)
    apm = entities.column("apm_entities").combine_chunks()
    tin, result_tin = _numbered(entities.column("tin"), results.column("tin"))
    npi, result_npi = _numbered(entities.column("npi"), results.column("npi"))
    group, apm_entity, result_id = _numbered(entities.column("virtual_group"), pc.list_flatten(apm), results.column("entity_id"))
    rows = np.arange(entities.num_rows)
    grouped = np.flatnonzero(group >= 0)
    relations = h.Relations(tin, npi, h.Memberships(grouped, group[grouped]),
                            h.Memberships(rows[np.asarray(pc.list_parent_indices(apm), dtype=np.int64)], apm_entity))
    keys = {"tin": result_tin, "npi": result_npi, "entity_id": result_id}
    scores = {}
    for code, name in enumerate(layout.KINDS.values()):
        chosen = np.flatnonzero(kind == code)
        scores[name] = h.Scores(tuple(keys[key][chosen] for key in KIND_KEYS[name]), final[chosen])
    return relations, scores


def adjust(results_path: str | Path, entities_path: str | Path, book: Rulebook, output: str | Path,
           pool_dollars: int | None = None) -> Adjusted:
    """Write the Payment Adjustment table of every TIN/NPI of ``entities_path`` to ``output`` (Parquet)."""
    p, one = compiled(book).final, precision(book).one
    entities, refused = layout.read_entity_table(entities_path)
    if refused and not entities.num_rows:
        raise SubmissionError(Location(str(entities_path)), str(refused[0].message))
    try:
        results = pq.read_table(results_path, columns=list(RESULT_COLUMNS))
    except (OSError, pa.ArrowException, KeyError) as exc:
        raise SubmissionError(Location(str(results_path)), f"not a results file of mips batch: {exc}") from None
    choice = h.choose(h.hierarchy_params(book), *_coded(entities, results, one))
    pool = n.pool_params(book)
    covered = np.flatnonzero(choice.step >= 0)  # a TIN/NPI no score covers receives no adjustment
    paid = entities.column("paid_cents").to_numpy()
    factors, rows = n.neutralize(p, choice.score[covered], paid[covered],
                                 pool.pool_cents if pool_dollars is None else pool_dollars * 100, pool.maximum)
    table = adjustment_table(entities.column("tin"), entities.column("npi"), paid, choice, covered, rows, one)
    metadata = {b"mips.factors": json.dumps(factors.report()).encode(), b"mips.year": str(book.year).encode()}
    with layout.replacing(Path(output)) as temporary:
        pq.write_table(table.replace_schema_metadata(metadata), temporary, compression="zstd")
    return Adjusted(entities.num_rows, len(covered), {**factors.report(), "maximum": str(pool.maximum)},
                    [str(r) for r in refused])


def _spread(values: np.ndarray, covered: np.ndarray, size: int, one: int) -> pa.Array:
    """A covered rows' fixed-point column as decimals, null where no score covers the TIN/NPI."""
    full = np.full(size, np.nan)
    full[covered] = values / one
    return pa.array(full, pa.float64(), mask=np.isnan(full))


def _names(names: tuple[str, ...], index: np.ndarray) -> pa.Array:
    """Names by index (-1: the last, ``""``)."""
    return pa.array([*names, ""], pa.string()).take(pa.array(np.where(index < 0, len(names), index), pa.int64()))


def adjustment_table(tin: pa.Array, npi: pa.Array, paid: np.ndarray, choice: h.Choice, covered: np.ndarray,
                     rows: dict[str, Any], one: int) -> pa.Table:
    """The Payment Adjustment table: a row per TIN/NPI, adjusted where a final score covers it (``covered``)."""
    size = len(paid)
    band = np.full(size, -1, dtype=np.int64)
    band[covered] = rows["band"]
    columns: dict[str, Any] = {
        "tin": tin, "npi": npi, "final_score": _spread(choice.score[covered], covered, size, one),
        "final_score_source": _names(h.KINDS, choice.kind.astype(np.int64)),
        "final_score_reason": _names((*choice.steps, h.NO_SCORE), np.where(choice.step < 0, len(choice.steps),
                                                                           choice.step)),
        "candidates": choice.considered, "payment.band": _names(BANDS, band),
    }
    for name in ("adjustment_before_scaling", "exceptional_before_scaling", "adjustment", "exceptional", "total"):
        columns[f"payment.{name}"] = _spread(rows[name], covered, size, one)
    for name, values in rows["display"].items():
        columns[f"payment.display.{name}"] = _spread(values, covered, size, one)
    columns["paid_cents"] = paid
    for name, values in rows["cents"].items():
        cents = np.zeros(size, dtype=np.int64)
        cents[covered] = values
        columns[f"cents.{name}"] = cents
    return pa.table({k: v if isinstance(v, pa.Array | pa.ChunkedArray) else pa.array(v) for k, v in columns.items()})
