"""The kernel inputs a profile gives, from its typed columns, for the entities of a batch (``rows``: the batch rows they
are, in order): the eligibility facts (``final.entity_facts``), the quality and improvement activity entity values
(``quality_entity``, ``ia_entity``), the complex patient bonus inputs (``final.bonus_inputs``) and the cost rows
(``cost_rows``), as the one-submission builders give them for the same profiles."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from engine.batch import layout
from engine.batch.typed import decimals
from engine.batch.typed import lookups as lk
from engine.batch.typed.levels import Levels, codes, flags, floats, ints, nulls
from engine.rules.names import PROFILE_FLAGS, Kind
from engine.scoring.fixed import Precision, PrecisionError
from engine.scoring.frame import Batch, grouped_batch
from engine.scoring.kernels import cost_rows
from engine.scoring.kernels.final import FinalParams

LIST_FACT = "eucApproved"  # the profile list the conditions read, one column per member ("eucApproved:pi")


def _column(lv: Levels, rows: np.ndarray, name: str) -> pa.Array:
    return lv.rows[name].take(pa.array(rows))


def _text(array: pa.Array, default: str = "") -> np.ndarray:
    return np.asarray(pc.fill_null(array, default).to_numpy(zero_copy_only=False), dtype=str)


def _fixed(values: np.ndarray, present: np.ndarray, precision: Precision) -> np.ndarray:
    """Profile percents (at most four decimals, checked) at the declared precision, -1 where absent; a value with
    more decimals than the precision is refused as ``Precision.fixed`` refuses it."""
    counts, exact = decimals.counts(values, precision.digits, "floor")
    if np.any(present & ~exact):
        raise PrecisionError(float(values[present & ~exact][0]), precision.digits)
    return np.where(present, counts, -1)


def facts(lv: Levels, rows: np.ndarray, program: str) -> dict[str, np.ndarray]:
    """The facts the conditions read (``final.entity_facts``), one column per member of the list fact."""
    found: dict[str, np.ndarray] = {name: flags(_column(lv, rows, name)) for name in PROFILE_FLAGS}
    found["entity_type"] = _text(_column(lv, rows, "entity_type"))
    found["program"] = np.full(len(rows), program)
    found["clinicianType"] = _text(_column(lv, rows, "clinicianType"))
    found["clinicianCount"] = ints(_column(lv, rows, "clinicianCount"))
    entity_of_row = np.full(lv.size, -1, dtype=np.int64)
    entity_of_row[rows] = np.arange(len(rows))
    owner = entity_of_row[lv.euc.parent]
    mine = owner >= 0
    members = _text(lv.euc.values)[mine]
    for member in sorted(set(members.tolist())):
        column = np.zeros(len(rows), dtype=bool)
        column[owner[mine][members == member]] = True
        found[f"{LIST_FACT}:{member}"] = column
    found["facility_based"] = ~nulls(_column(lv, rows, "facilityBased"))
    return found


def quality_entity(lv: Levels, rows: np.ndarray, precision: Precision) -> dict[str, np.ndarray]:
    """``quality_rows.quality_entity``."""
    facility = pc.struct_field(_column(lv, rows, "facilityBased"), "qualityScore")
    prior = _column(lv, rows, "priorYearQuality")
    achievement = pc.struct_field(prior, "achievementPercent")
    return {"small_practice": flags(_column(lv, rows, "smallGroupPractitioner")),
            "facility_percent": _fixed(floats(facility), ~nulls(facility), precision),
            "prior_percent": _fixed(floats(achievement), ~nulls(achievement), precision),
            "prior_full": flags(pc.struct_field(prior, "fullParticipation"))}


def statuses(lv: Levels, rows: np.ndarray, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """``ia_rows.ia_entity``: each special status (a yes/no fact of the profile)."""
    return {f"status:{name}": flags(_column(lv, rows, name)) for name in names}


def flag_columns(names: tuple[str, ...]) -> bool:
    """Whether each name is a yes/no column of the profile (what ``statuses`` reads)."""
    return all(name in layout.PROFILE.names and layout.PROFILE.field(name).type == pa.bool_() for name in names)


def bonus(lv: Levels, rows: np.ndarray, p: FinalParams) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``final.bonus_inputs``: the formula's inputs from complexPatient (numbers in fixed point, rounded half up), and
    whether all of them are given."""
    given = _column(lv, rows, "complexPatient")
    struct = given.type
    known = ~nulls(given)
    values: dict[str, np.ndarray] = {}
    for name, kind in p.bonus_formula.inputs.items():
        if struct.get_field_index(name) < 0:
            values[name] = np.zeros(len(rows), dtype=np.int64 if kind == Kind.NUMBER else bool)
            known &= False
            continue
        field = pc.struct_field(given, name)
        there = ~nulls(field)
        known &= there
        if kind == Kind.NUMBER:
            counts, _ = decimals.counts(floats(field), p.precision.digits, "half_up")
            values[name] = np.where(there, counts, 0)
        else:
            values[name] = flags(field)
    return values, known


def costs(lv: Levels, rows: np.ndarray, table: lk.Costs) -> Batch:
    """``cost_rows.cost_rows`` and ``cost_batch``: a row per cost measure of the year the profile reports."""
    entity_of_row = np.full(lv.size, -1, dtype=np.int64)
    entity_of_row[rows] = np.arange(len(rows))
    level = lv.costs
    owner = entity_of_row[level.parent]
    measure = codes(level.field("measureId"), table.ids)
    kept = np.flatnonzero((owner >= 0) & (measure >= 0))
    entity, index = owner[kept], measure[kept]
    score_num, score_den = _units(floats(level.field("score"))[kept], table.inverse[index])
    starts = np.searchsorted(entity, np.arange(len(rows)))
    columns: dict[str, Any] = {
        "measure": np.asarray(table.ids.to_numpy(zero_copy_only=False), dtype=str)[index],
        "row": np.arange(len(kept), dtype=np.int64) - starts[entity],
        "cases": np.minimum(ints(level.field("attributedCases"))[kept], cost_rows.MOST_CASES),
        "score_num": score_num, "score_den": score_den, "benchmark": table.benchmark[index],
        "bounds": table.bounds[index], "first": table.first[index], "inverse": table.inverse[index]}
    return grouped_batch(columns, entity, len(rows))


def _units(score: np.ndarray, inverse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``cost_rows._units``: the cost in units of 10**-4 as a reduced fraction: rounded to ``cost_rows.DECIMALS``
    decimals (up for an inverse measure, down otherwise), held within ±``BEYOND``."""
    grid = 10**cost_rows.DECIMALS // cost_rows.UNIT
    beyond = np.abs(score) > cost_rows.BEYOND
    inside = np.where(beyond, 0.0, score)
    down, _ = decimals.counts(inside, cost_rows.DECIMALS, "floor")
    up, _ = decimals.counts(inside, cost_rows.DECIMALS, "ceiling")
    scaled = np.where(inverse, up, down)
    common = np.gcd(scaled, grid)
    limit = cost_rows.BEYOND * cost_rows.UNIT
    return (np.where(beyond, np.where(score > 0, limit, -limit), scaled // common),
            np.where(beyond, 1, grid // common).astype(np.int64))
