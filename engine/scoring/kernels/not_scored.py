"""A category the year does not score for anyone (``not_scored``): percent 0, not submitted, for one entity or a batch.

The category has no rows; ``not_scored_rows`` gives the empty columns from which a OneEntity or a Batch (of any
number of entities) is built, so that the kernel's outputs have the shape of the other kernels'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.rules.model import Rulebook
from engine.scoring.frame import Batch

COLUMNS = ("row",)


@dataclass(frozen=True)
class NotScoredParams:
    category: str
    reason: str  # why the category is not scored (the explanation says so)


def not_scored_params(book: Rulebook, category: str) -> NotScoredParams:
    return NotScoredParams(category, str(book.value(f"{category}.reason")))


def not_scored_rows() -> dict[str, list[Any]]:
    return {name: [] for name in COLUMNS}


def not_scored_batch(entities: int) -> Batch:
    """A Batch of ``entities`` entities, none with a row."""
    return Batch({name: np.zeros(0, dtype=np.int64) for name in COLUMNS}, np.zeros(0, dtype=np.int64), entities)


def score(rows: Any, p: NotScoredParams) -> dict[str, Any]:
    """Percent 0 and not submitted, for every entity of ``rows`` (a OneEntity or a Batch)."""
    zero = rows.sum(rows["row"]) * 0
    return {"percent": zero, "submitted": zero > 0}
