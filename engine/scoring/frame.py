"""Measurement rows grouped by entity, with the group steps a kernel needs, for one entity or a whole batch.

A kernel writes its per-row formulas once, over values that are Python scalars (one row at a time, for one
entity) or numpy columns (every row of a batch at once), and uses these group steps to go from rows to entities.
``OneEntity`` and ``Batch`` give the same results; the differential tests hold them to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from engine.base.exact import ArrayOps, ScalarOps
from engine.rules.expressions import Expression

Row = Mapping[str, Any]


class NoData(dict):
    """A category's inputs for an entity that submitted none of its data: the same for every such entity, so built
    once per rulebook, with the kernel's outputs on them kept once computed (a kernel is a pure function)."""

    __slots__ = ("outputs",)

    def once(self, kernel: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """``kernel()``'s outputs, computed the first time; each caller gets its own copy."""
        if not hasattr(self, "outputs"):
            self.outputs = kernel()
        return dict(self.outputs)


def once_per_no_data(inputs: Any, kernel: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``kernel()``, computed once for inputs that are ``NoData``."""
    return inputs.once(kernel) if isinstance(inputs, NoData) else kernel()


class OneEntity:
    """The rows of one entity: lists of Python values; formulas run row by row."""

    ops = ScalarOps

    def __init__(self, columns: Mapping[str, Sequence[Any]]):
        self.columns = {k: list(v) for k, v in columns.items()}
        self.size = len(next(iter(self.columns.values()))) if self.columns else 0
        names = list(self.columns)
        self.rows = [dict(zip(names, values, strict=True)) for values in zip(*self.columns.values(), strict=True)]

    def apply(self, formula: Callable[..., Mapping[str, Any]], *args: Any) -> None:
        """Run ``formula(ops, row, *args)`` on each row and add its outputs as columns."""
        outputs: dict[str, list[Any]] = {}
        for row in self.rows:
            out = formula(ScalarOps, row, *args)
            row.update(out)
            for key, value in out.items():
                outputs.setdefault(key, []).append(value)
        self.columns.update(outputs)

    def put(self, name: str, values: Sequence[Any]) -> None:
        """Add a column computed by a group step."""
        self.columns[name] = list(values)
        for row, value in zip(self.rows, values, strict=True):
            row[name] = value

    def __getitem__(self, name: str) -> list[Any]:
        if self.size == 0:  # an entity without rows: every column, computed or not, is empty
            return self.columns.get(name, [])
        return self.columns[name]

    def nonempty(self) -> bool:
        return self.size > 0

    def rows_per_entity(self) -> int:
        return self.size

    def holds(self, condition: Expression, facts: Mapping[str, Any]) -> bool:
        """A rulebook condition on the entity's facts."""
        return bool(condition.evaluate(facts))

    def sum(self, values: Sequence[int]) -> int:
        return sum(values)

    def count(self, mask: Sequence[bool]) -> int:
        return sum(1 for m in mask if m)

    def any(self, mask: Sequence[bool]) -> bool:
        return any(mask)

    def spread(self, value: Any) -> list[Any]:
        """An entity's value on each of its rows."""
        return [value] * self.size

    def order(self, keys: Sequence[Sequence[Any]]) -> list[int]:
        """Each row's position within its entity when sorted by ``keys`` (each ascending; first key first)."""
        ranked = sorted(range(self.size), key=lambda i: tuple(k[i] for k in keys))
        position = [0] * self.size
        for place, index in enumerate(ranked):
            position[index] = place
        return position

    def best(self, keys: Sequence[Sequence[Any]], mask: Sequence[bool]) -> list[bool]:
        """True on the one row of the entity where ``mask`` holds that sorts first by ``keys``."""
        candidates = [i for i in range(self.size) if mask[i]]
        chosen = min(candidates, key=lambda i: tuple(k[i] for k in keys)) if candidates else None
        return [i == chosen for i in range(self.size)]

    def rank_among(self, keys: Sequence[Sequence[Any]], mask: Sequence[bool]) -> list[int]:
        """Each masked row's place (0-based) among the entity's masked rows sorted by ``keys``; -1 elsewhere."""
        ranked = sorted((i for i in range(self.size) if mask[i]), key=lambda i: tuple(k[i] for k in keys))
        place = [-1] * self.size
        for position, index in enumerate(ranked):
            place[index] = position
        return place

    def within_key(self, key: Sequence[Any], keys: Sequence[Sequence[Any]], mask: Sequence[bool]) -> list[bool]:
        """True on the masked row that sorts first by ``keys`` among the masked rows sharing its ``key`` value."""
        chosen: dict[Any, int] = {}
        for i in range(self.size):
            if mask[i]:
                current = chosen.get(key[i])
                if current is None or tuple(k[i] for k in keys) < tuple(k[current] for k in keys):
                    chosen[key[i]] = i
        winners = set(chosen.values())
        return [i in winners for i in range(self.size)]


class Batch:
    """The rows of many entities as numpy columns, sorted by entity; formulas run once over whole columns."""

    ops = ArrayOps

    def __init__(self, columns: Mapping[str, np.ndarray], entity: np.ndarray, entities: int):
        order = np.argsort(entity, kind="stable")
        self.entity = entity[order]
        self.columns = {k: np.asarray(v)[order] for k, v in columns.items()}
        self.entities = entities
        self.size = len(self.entity)
        bounds = np.searchsorted(self.entity, np.arange(entities + 1))
        self.starts, self.ends = bounds[:-1], bounds[1:]

    def apply(self, formula: Callable[..., Mapping[str, Any]], *args: Any) -> None:
        outputs = formula(ArrayOps, self.columns, *args)
        self.columns.update({k: np.broadcast_to(v, (self.size,)).copy() if np.ndim(v) == 0 else v
                             for k, v in outputs.items()})

    def put(self, name: str, values: np.ndarray) -> None:
        """Add a column computed by a group step."""
        self.columns[name] = values

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def nonempty(self) -> np.ndarray:
        return self.ends > self.starts

    def rows_per_entity(self) -> np.ndarray:
        return self.ends - self.starts

    def holds(self, condition: Expression, facts: Mapping[str, Any]) -> np.ndarray:
        """A rulebook condition on each entity's facts (one element per entity)."""
        return np.asarray(condition.lower(facts, size=self.entities), dtype=bool)

    def sum(self, values: np.ndarray) -> np.ndarray:
        totals = np.concatenate([[0], np.cumsum(values, dtype=np.int64)])
        return totals[self.ends] - totals[self.starts]

    def count(self, mask: np.ndarray) -> np.ndarray:
        return self.sum(np.asarray(mask, dtype=np.int64))

    def any(self, mask: np.ndarray) -> np.ndarray:
        return self.count(mask) > 0

    def spread(self, value: np.ndarray) -> np.ndarray:
        return np.asarray(value)[self.entity]

    def _sorted(self, keys: Sequence[np.ndarray], first: np.ndarray | None = None) -> np.ndarray:
        columns = [*reversed([np.asarray(k) for k in keys])]
        if first is not None:
            columns.append(first)
        columns.append(self.entity)
        return _lexsort(columns)

    def order(self, keys: Sequence[np.ndarray]) -> np.ndarray:
        ranked = self._sorted(keys)
        position = np.empty(self.size, dtype=np.int64)
        position[ranked] = np.arange(self.size) - self.starts[self.entity]
        return position

    def rank_among(self, keys: Sequence[np.ndarray], mask: np.ndarray) -> np.ndarray:
        mask = np.asarray(mask, dtype=bool)
        ranked = self._sorted(keys, first=~mask)  # each entity's masked rows first, then by the keys
        position = np.arange(self.size) - self.starts[self.entity]  # rows stay grouped by entity
        place = np.full(self.size, -1, dtype=np.int64)
        chosen = mask[ranked]
        place[ranked[chosen]] = position[chosen]
        return place

    def best(self, keys: Sequence[np.ndarray], mask: np.ndarray) -> np.ndarray:
        return self.rank_among(keys, mask) == 0

    def within_key(self, key: np.ndarray, keys: Sequence[np.ndarray], mask: np.ndarray) -> np.ndarray:
        mask = np.asarray(mask, dtype=bool)
        ranked = _lexsort([*reversed([np.asarray(k) for k in keys]), ~mask, np.asarray(key), self.entity])
        sorted_key, sorted_entity = np.asarray(key)[ranked], self.entity[ranked]
        head = np.ones(self.size, dtype=bool)
        head[1:] = (sorted_key[1:] != sorted_key[:-1]) | (sorted_entity[1:] != sorted_entity[:-1])
        winners = np.zeros(self.size, dtype=bool)
        winners[ranked[head & mask[ranked]]] = True
        return winners


def _lexsort(columns: list[np.ndarray]) -> np.ndarray:
    """``np.lexsort(columns)`` (the last column sorts first); integer columns whose ranges fit are packed into one
    int64 key and sorted once, which gives the same stable order much faster."""
    size = len(columns[-1])
    packed, span = np.zeros(size, dtype=np.int64), 1
    for column in columns:  # the least significant first
        if column.dtype.kind not in "iub":
            return np.lexsort(columns)
        values = column.astype(np.int64)
        low = int(values.min()) if size else 0
        width = (int(values.max()) - low + 1) if size else 1
        if span * width >= 2**62:
            return np.lexsort(columns)
        packed += (values - low) * span
        span *= width
    return np.argsort(packed, kind="stable")


def grouped_batch(columns: Mapping[str, np.ndarray], entity: np.ndarray, entities: int) -> Batch:
    """The Batch ``Batch(columns, entity, entities)`` gives for rows already grouped by entity (``entity`` in
    non-decreasing order), built without reordering (copying) its columns."""
    if len(entity) > 1 and bool(np.any(entity[1:] < entity[:-1])):
        raise ValueError("rows are not grouped by entity")
    batch = Batch({}, np.zeros(0, dtype=np.int64), entities)
    batch.entity, batch.columns, batch.size = entity, dict(columns), len(entity)
    bounds = np.searchsorted(entity, np.arange(entities + 1))
    batch.starts, batch.ends = bounds[:-1], bounds[1:]
    return batch


def stack_rows(parts: Sequence[Mapping[str, Sequence[Any]]], dtypes: Mapping[str, Any]) -> Batch:
    """One Batch from each entity's row columns (the entities in order); ``dtypes`` gives each column's type, or
    (type, width) for a column of tuples, which becomes two-dimensional."""
    entity = np.repeat(np.arange(len(parts), dtype=np.int64), [len(part["row"]) for part in parts])
    columns = {}
    for name, kind in dtypes.items():
        values = [value for part in parts for value in part[name]]
        if isinstance(kind, tuple):
            columns[name] = np.array(values, dtype=kind[0]).reshape(len(values), kind[1])
        else:
            columns[name] = np.array(values, dtype=kind)
    return Batch(columns, entity, len(parts))


def stack_entities(parts: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Entity values as columns, one element per entity."""
    return {name: np.array([part[name] for part in parts]) for name in parts[0]}


def as_columns(outputs: dict[str, Any], like: Any) -> dict[str, Any]:
    """Entity outputs as they are for one entity; for a batch (``like`` is one of its entity columns), each a
    column, a value the same for every entity spread to all."""
    if not isinstance(like, np.ndarray):
        return outputs
    size = len(like)
    return {k: np.broadcast_to(v, (size,)).copy() if np.ndim(v) == 0 else v for k, v in outputs.items()}
