"""The improvement activities kernel's inputs for one entity: a row per activity attested true or false, joined
with its weight from CMS's activity data, plus the profile flags the kernel reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from engine.base.numbers import excerpt
from engine.inputs.submission import Issue, Submission
from engine.rules.model import Rulebook
from engine.scoring.frame import Batch
from engine.scoring.kernels.ia import IaParams

# name -> batch dtype
COLUMNS = {"activity": str, "activity_order": np.int64, "row": np.int64, "path": str, "weight": str, "answer": bool}


def ia_rows(book: Rulebook, submission: Submission, issues: list[Issue]) -> dict[str, list[Any]]:
    """Columns of the entity's attested activities; problems become issues, never silent drops."""
    names = book.value("program.submission_categories")
    if "ia_order" not in book.memo:  # each activity's place in ID order: an integer key sorts faster than a string
        book.memo["ia_order"] = {activity: i for i, activity in enumerate(sorted(book.reference.ia))}
    order: dict[str, int] = book.memo["ia_order"]
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for measurement_set in submission.sets:
        if names.get(measurement_set.category) != "ia":
            continue
        for m in measurement_set.measurements:
            meta = book.reference.ia.get(m.measure_id)
            if meta is None:
                issues.append(Issue(m.path, f"{m.measure_id} is not an improvement activity of {book.year}",
                                    measurement_set.source, code="measure_unknown", severity="error"))
                continue
            if not isinstance(m.value, bool):
                issues.append(Issue(m.path, f"an activity is attested with true or false, found {excerpt(m.value)}",
                                    measurement_set.source, code="activity_value_invalid", severity="error"))
                continue
            row = {"activity": m.measure_id, "activity_order": order[m.measure_id], "row": len(columns["row"]), "path": m.path,
                   "weight": meta.get("weight") or "", "answer": m.value}
            for name in COLUMNS:
                columns[name].append(row[name])
    return columns


def ia_entity(profile: Mapping[str, Any], p: IaParams) -> dict[str, Any]:
    """The profile flags the kernel reads: each special status."""
    return {f"status:{s}": bool(profile.get(s, False)) for s in p.statuses}


def ia_batch(parts: Sequence[Mapping[str, Sequence[Any]]]) -> Batch:
    """One Batch from each entity's ``ia_rows`` (the entities in order)."""
    entity = np.repeat(np.arange(len(parts), dtype=np.int64), [len(part["row"]) for part in parts])
    columns: dict[str, np.ndarray] = {name: np.array([v for part in parts for v in part[name]], dtype=kind)
                                      for name, kind in COLUMNS.items()}
    return Batch(columns, entity, len(parts))
