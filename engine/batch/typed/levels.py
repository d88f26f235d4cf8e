"""A batch of ``SUBMISSIONS`` rows as its nesting levels: rows, measurement sets, measurements, strata, and the
profile's cost measures and EUC categories, each level a flat Arrow array with, per element, the index of its parent
in the level above and its place in the parent's list (which JSON paths are built from)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]


def ints(array: pa.Array, fill: int = 0) -> np.ndarray:
    """An integer column as int64, nulls as ``fill``."""
    return np.asarray(pc.fill_null(array, fill).to_numpy(zero_copy_only=False), dtype=np.int64)


def floats(array: pa.Array) -> np.ndarray:
    """A float column as float64, nulls as 0."""
    return np.asarray(pc.fill_null(array, 0.0).to_numpy(zero_copy_only=False), dtype=np.float64)


def flags(array: pa.Array) -> np.ndarray:
    """A boolean column as bool, nulls as False."""
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def nulls(array: pa.Array) -> np.ndarray:
    return np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def lengths(array: pa.Array) -> np.ndarray:
    """Each list's length (0 for a null list)."""
    return ints(pc.list_value_length(array))


def numbered(array: pa.Array) -> np.ndarray:
    """Each value's number among the distinct values of ``array`` (in order of first appearance), -1 for null."""
    encoded = pc.dictionary_encode(array)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    return ints(encoded.indices, -1)


def codes(array: pa.Array, vocabulary: pa.Array) -> np.ndarray:
    """Each string's index in ``vocabulary``, -1 for null or not there."""
    return ints(pc.index_in(array, value_set=vocabulary), -1)


@dataclass(frozen=True)
class Level:
    """The elements of one nesting level: their values (a struct array, or the list items), each one's parent (index
    into the level above) and place in its parent's list."""

    values: pa.Array
    parent: np.ndarray
    place: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    def field(self, name: str) -> pa.Array:
        """A field of the elements (null where the element is)."""
        return pc.struct_field(self.values, name)

    @cached_property
    def present(self) -> np.ndarray:
        """Whether each element is there (not null)."""
        return ~nulls(self.values)


def nested(lists: pa.Array) -> Level:
    """The items of a list array, each with its list's index and its place in it."""
    sizes = lengths(lists)
    parent = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    values = pc.list_flatten(lists)
    return Level(values, parent, np.arange(len(parent), dtype=np.int64) - starts[parent])


@dataclass(frozen=True)
class Levels:
    """A conformed batch (``engine.batch.layout.SUBMISSIONS`` columns) by nesting level."""

    rows: dict[str, pa.Array]
    sets: Level
    measurements: Level
    strata: Level
    costs: Level
    euc: Level

    @property
    def size(self) -> int:
        return len(self.rows["kind"])

    @cached_property
    def measure_ids(self) -> np.ndarray:
        """Each measurement's measureId, numbered (-1: none)."""
        return numbered(self.measurements.field("measure_id"))

    def row_of(self, level: str) -> np.ndarray:
        """The row of each element of a level (``sets``, ``measurements``, ``strata``, ``costs``, ``euc``)."""
        if level in ("sets", "costs", "euc"):
            return getattr(self, level).parent
        if level == "measurements":
            return self.sets.parent[self.measurements.parent]
        return self.row_of("measurements")[self.strata.parent]


def levels(columns: dict[str, pa.Array]) -> Levels:
    """The levels of a batch whose columns have ``SUBMISSIONS``' types."""
    sets = nested(columns["measurement_sets"])
    measurements = nested(sets.field("measurements"))
    strata = nested(pc.struct_field(measurements.field("value"), "strata"))
    return Levels(columns, sets, measurements, strata, nested(columns["costMeasures"]), nested(columns["eucApproved"]))
