"""The kernels' inputs for the rows of a batch scored under one program, from their typed columns: the ``Stacked``
columns ``columnar.stack_inputs`` gives for the same submissions, built over whole columns, category by category
through a builder per mechanism (``BUILDERS``, keyed as ``columnar.KERNELS``).

Only what the kernels read is built: the JSON path of each row and of each measurement, which the explained path
prints, is not (a result row is explained again from its input row)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from engine.batch.typed import lookups as lk
from engine.batch.typed import profile_checks, profile_inputs
from engine.batch.typed.checks import first_in
from engine.batch.typed.levels import Levels, codes, flags, floats, nulls
from engine.batch.typed.quality import rows as quality_rows
from engine.inputs.measurements import MAXIMUM_COUNT
from engine.rules.model import Rulebook
from engine.scoring.columnar import Stacked, compiled
from engine.scoring.frame import Batch, grouped_batch
from engine.scoring.kernels.not_scored import not_scored_batch


@dataclass(frozen=True)
class Group:
    """The entities scored together: the batch rows they are (in order), with what the checks found."""

    book: Rulebook
    lv: Levels
    set_ok: np.ndarray
    measurement_ok: np.ndarray
    rows: np.ndarray

    @property
    def entities(self) -> int:
        return len(self.rows)

    @cached_property
    def entity_of_row(self) -> np.ndarray:
        """Each batch row's entity, -1 for rows outside the group."""
        found = np.full(self.lv.size, -1, dtype=np.int64)
        found[self.rows] = np.arange(len(self.rows))
        return found

    def sets_of(self, category: str) -> np.ndarray:
        """The group's valid measurement sets the rulebook reads as ``category`` (``program.submission_categories``)."""
        names = [name for name, rule in self.book.value("program.submission_categories").items() if rule == category]
        sets = self.lv.sets
        return (self.set_ok & (codes(sets.field("category"), pa.array(names, pa.string())) >= 0)
                & (self.entity_of_row[sets.parent] >= 0))


def _within(entity: np.ndarray, entities: int) -> np.ndarray:
    """Each row's place among its entity's rows (rows in entity order)."""
    return np.arange(len(entity), dtype=np.int64) - np.searchsorted(entity, np.arange(entities))[entity]


def _quality(g: Group, p: Any) -> tuple[Batch, dict[str, np.ndarray]]:
    batch = quality_rows(g.lv, g.set_ok, g.measurement_ok, g.sets_of("quality"), g.entity_of_row, g.entities,
                         lk.quality(g.book, p), p)
    return batch, profile_inputs.quality_entity(g.lv, g.rows, p.precision)


def _activities(g: Group, p: Any) -> tuple[Batch, dict[str, np.ndarray]]:
    """``ia_rows``: a row per known activity attested true or false."""
    lv, table = g.lv, lk.activities(g.book)
    ms = lv.measurements
    code = codes(ms.field("measure_id"), table.ids)
    answer = ms.field("boolean_value")
    kept = np.flatnonzero(g.measurement_ok & g.sets_of("ia")[ms.parent] & (code >= 0) & ~nulls(answer))
    entity, index = g.entity_of_row[lv.row_of("measurements")[kept]], code[kept]
    columns = {"activity": table.names[index], "activity_order": index.astype(np.int64),
               "row": _within(entity, g.entities), "weight": table.weight[index], "answer": flags(answer)[kept]}
    return grouped_batch(columns, entity, g.entities), profile_inputs.statuses(lv, g.rows, p.statuses)


def _costs(g: Group, p: Any) -> Batch:
    return profile_inputs.costs(g.lv, g.rows, lk.costs(g.book))


def _interoperability(g: Group, p: Any, answers: tuple[str, ...]) -> dict[str, np.ndarray]:
    """``pi_inputs.gather`` and the wide columns of ``pi_entity`` (``answers`` ``("yes", "no")``) or ``aci_entity``
    (``("yes", "rate")``): the first scorable value of each known measure in the sets the entity type may submit."""
    lv, table = g.lv, lk.interoperability(g.book, p.ids)
    sets, ms = lv.sets, lv.measurements
    allowed = codes(lv.rows["entity_type"], pa.array(p.allowed_entity_types, pa.string())) >= 0
    scored = g.sets_of("pi") & allowed[sets.parent]
    owner = g.entity_of_row[sets.parent]
    columns: dict[str, np.ndarray] = {"sets": np.bincount(owner[scored], minlength=g.entities) > 0}
    if "no" in answers:
        missing = scored & flags(pc.equal(pc.fill_null(sets.field("cehrt_id"), ""), ""))
        columns["cehrt_missing"] = np.bincount(owner[missing], minlength=g.entities) > 0
    code = codes(ms.field("measure_id"), table.ids)
    answer = ms.field("boolean_value")
    value = ms.field("value")
    numerator, denominator = pc.struct_field(value, "numerator"), pc.struct_field(value, "denominator")
    num, den = floats(numerator), floats(denominator)
    counts = (nulls(answer) & ~nulls(value) & ~nulls(numerator) & ~nulls(denominator) & (num >= 0) & (den >= 0)
              & (num == np.floor(num)) & (den == np.floor(den)) & (num <= den) & (den <= MAXIMUM_COUNT))
    boolean = table.boolean[np.maximum(code, 0)]
    fits = np.where(boolean, ~nulls(answer), counts)
    row = lv.row_of("measurements")
    accepted = g.measurement_ok & scored[ms.parent] & (code >= 0) & fits
    kept = np.flatnonzero(accepted & first_in(row, lv.measure_ids, accepted))
    entity, column = g.entity_of_row[row[kept]], table.column[code[kept]]
    given = ~nulls(answer)[kept]  # a yes/no value, else an object of counts
    wide = {"present": np.ones(len(kept), dtype=bool), "yes": given & flags(answer)[kept],
            "no": given & ~flags(answer)[kept], "rate": ~given,
            "num": np.where(given, 0, num[kept]).astype(np.int64), "den": np.where(given, 0, den[kept]).astype(np.int64)}
    for name in ("present", *answers, "num", "den"):
        grid = np.zeros((len(p.ids), g.entities), dtype=wide[name].dtype)  # a measure's column is a row: contiguous
        grid[column, entity] = wide[name]
        for index, measure in enumerate(p.ids):
            columns[f"{measure}:{name}"] = grid[index]
    return columns


BUILDERS: dict[str, Callable[[Group, Any], Any]] = {
    "decile_benchmarks": _quality,
    "activity_points": _activities,
    "cost_benchmarks": _costs,
    "not_scored": lambda g, p: not_scored_batch(g.entities),
    "measure_points": lambda g, p: _interoperability(g, p, ("yes", "no")),
    "base_performance_bonus": lambda g, p: _interoperability(g, p, ("yes", "rate")),
}


def supported(book: Rulebook) -> bool:
    """Whether every category of ``book`` (and of its program variants) has a builder here, its improvement
    activity statuses are yes/no profile facts, and the profile checks implement the profile schema."""
    for variant in (book, *book.variants.values()):
        kernels = compiled(variant)
        for name, (_, p) in kernels.categories.items():
            mechanism = variant.mechanisms[name]
            if mechanism not in BUILDERS or (mechanism == "activity_points" and not profile_inputs.flag_columns(p.statuses)):
                return False
    return profile_checks.supported()


def stacked(g: Group, program: str) -> Stacked:
    """The group's kernel inputs, as ``columnar.stack_inputs`` stacks them."""
    kernels = compiled(g.book)
    categories = {name: BUILDERS[g.book.mechanisms[name]](g, p) for name, (_, p) in kernels.categories.items()}
    bonus_inputs, known = profile_inputs.bonus(g.lv, g.rows, kernels.final)
    return Stacked(categories, profile_inputs.facts(g.lv, g.rows, program), (bonus_inputs, known))
