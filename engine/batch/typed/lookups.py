"""What the kernels' inputs take from a rulebook and its CMS data rather than from a submission, as arrays indexed
by measure (and collection type): built once per rulebook (kept in its memo) from the same functions the
one-submission input builders use, so both read the same values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from engine.base.schemas import validator
from engine.rules.model import Rulebook
from engine.scoring.columnar import compiled
from engine.scoring.kernels import cost_rows, quality_rows
from engine.scoring.kernels.quality import QualityParams

SINGLE, MULTI, RATIO, UNSCORED = range(4)  # how a quality measure's value is read (its metric type)
METRICS = {"singlePerformanceRate": SINGLE, "registrySinglePerformanceRate": SINGLE, "multiPerformanceRate": MULTI,
           "registryMultiPerformanceRate": MULTI, "nonProportion": RATIO}  # engine.inputs.measurements
OVERALL, TOTALS, SIMPLE, UNSUPPORTED = range(4)  # a multi-rate measure's overall algorithm
ALGORITHMS = {"overallStratumOnly": OVERALL, "weightedAverage": TOTALS, "sumNumerators": TOTALS, "simpleAverage": SIMPLE}


def methods() -> tuple[str, ...]:
    """The collection types a measurement set may name (the submission schema's)."""
    schema = cast(Mapping[str, Any], validator("submission.schema.json").schema)
    return tuple(schema["$defs"]["measurementSet"]["properties"]["submissionMethod"]["enum"])


@dataclass(frozen=True)
class Quality:
    """Quality measures in ID order; per (measure, method) pair (``measure * len(methods) + method``), the values of a
    measurement row that come from the data (``quality_rows``), and whether the method may submit the measure."""

    ids: pa.Array
    metric: np.ndarray
    algorithm: np.ndarray
    named_strata: np.ndarray  # the measure lists its strata: a stratum must be one of them
    strata: pa.Array  # every stratum name some measure lists
    listed: np.ndarray  # measure * len(strata) + stratum, for each stratum a measure lists (sorted)
    allowed: np.ndarray
    static: dict[str, np.ndarray]


@dataclass(frozen=True)
class Activities:
    ids: pa.Array  # in ID order: a row's activity_order is its index
    names: np.ndarray  # the same, str
    weight: np.ndarray  # str


@dataclass(frozen=True)
class Interoperability:
    ids: pa.Array  # CMS's PI (ACI) measures
    column: np.ndarray  # each one's index into the kernel's ids
    boolean: np.ndarray  # a yes/no measure


@dataclass(frozen=True)
class Costs:
    ids: pa.Array
    inverse: np.ndarray
    benchmark: np.ndarray
    bounds: np.ndarray  # (measures, 10)
    first: np.ndarray


def quality(book: Rulebook, p: QualityParams) -> Quality:
    known = book.memo.get("typed.quality")
    if known is None:
        known = book.memo["typed.quality"] = _quality(book, p)
    return cast(Quality, known)


def _quality(book: Rulebook, p: QualityParams) -> Quality:
    ids = sorted(book.reference.quality)
    kinds = methods()
    metas = [book.reference.quality[m] for m in ids]
    names = sorted({s for meta in metas for s in meta.get("strata") or [] if s})
    listed = sorted(i * len(names) + names.index(s) for i, meta in enumerate(metas) for s in set(meta.get("strata") or []) if s)
    allowed = np.zeros(len(ids) * len(kinds), dtype=bool)
    rows: list[dict[str, Any]] = []
    blank = dict(quality_rows.measure_facts(book, p, ids[0], kinds[0], metas[0])) if ids else {}
    for i, (measure, meta) in enumerate(zip(ids, metas, strict=True)):
        for j, method in enumerate(kinds):
            allowed[i * len(kinds) + j] = method in meta.get("submissionMethods", [])
            rows.append(quality_rows.measure_facts(book, p, measure, method, meta) if allowed[i * len(kinds) + j] else blank)
    static: dict[str, np.ndarray] = {}
    dtypes: dict[str, Any] = quality_rows.COLUMNS
    for name, kind in dtypes.items():
        if name in blank:
            static[name] = np.array([row[name] for row in rows], dtype=kind[0] if isinstance(kind, tuple) else kind)
    return Quality(
        pa.array(ids, pa.string()), np.array([METRICS.get(meta.get("metricType", ""), UNSCORED) for meta in metas], np.int8),
        np.array([ALGORITHMS.get(meta.get("overallAlgorithm") or "", UNSUPPORTED) for meta in metas], np.int8),
        np.array([any(meta.get("strata") or []) for meta in metas], bool), pa.array(names, pa.string()),
        np.array(listed, np.int64), allowed, static)


def activities(book: Rulebook) -> Activities:
    known = book.memo.get("typed.ia")
    if known is None:
        ids = sorted(book.reference.ia)
        known = book.memo["typed.ia"] = Activities(
            pa.array(ids, pa.string()), np.array(ids, dtype=str),
            np.array([book.reference.ia[a].get("weight") or "" for a in ids], dtype=str))
    return cast(Activities, known)


def interoperability(book: Rulebook, kernel_ids: tuple[str, ...]) -> Interoperability:
    known = book.memo.get("typed.pi")
    if known is None:
        ids = sorted(book.reference.pi)
        known = book.memo["typed.pi"] = Interoperability(
            pa.array(ids, pa.string()), np.array([kernel_ids.index(m) for m in ids], np.int64),
            np.array([book.reference.pi[m].get("metricType") == "boolean" for m in ids], bool))
    return cast(Interoperability, known)


def costs(book: Rulebook) -> Costs:
    known = book.memo.get("typed.cost")
    if known is None:
        ids = sorted(book.reference.cost)
        inverse = [bool(book.reference.cost[m].get("isInverse", True)) for m in ids]
        deciles = [(b.deciles if (b := book.reference.benchmark(m, cost_rows.METHOD)) else None) for m in ids]
        known = book.memo["typed.cost"] = Costs(
            pa.array(ids, pa.string()), np.array(inverse, bool), np.array([d is not None for d in deciles], bool),
            np.array([cost_rows.decile_bounds(d or (), inv) for d, inv in zip(deciles, inverse, strict=True)],
                     np.int64).reshape(len(ids), 10),
            np.array([10 - len(d or ()) + 1 for d in deciles], np.int64))
    return cast(Costs, known)


def kernel_params(book: Rulebook, category: str) -> Any:
    """A category's kernel parameters, as the rulebook compiled them."""
    return compiled(book).categories[category][1]
