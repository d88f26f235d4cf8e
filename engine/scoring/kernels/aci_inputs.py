"""The ACI kernel's inputs for one entity: its scorable ACI answers and counts as wide columns (a few per measure ID
the rulebook or CMS's data knows), every problem in them reported as an issue, never silently dropped."""

from __future__ import annotations

from typing import Any

from engine.inputs.submission import Issue, Submission
from engine.rules.model import Rulebook
from engine.scoring.kernels.aci import AciParams
from engine.scoring.kernels.pi_inputs import gather, no_data


def aci_entity(book: Rulebook, p: AciParams, submission: Submission, issues: list[Issue]) -> dict[str, Any]:
    """The entity's ACI columns (see ``engine.scoring.kernels.aci``)."""
    found = gather(book, p.allowed_entity_types, submission, issues)
    if not found["scored"]:
        return no_data(book, "aci_inputs.no_data", lambda: _columns(p, found))
    return _columns(p, found)


def _columns(p: AciParams, found: dict[str, Any]) -> dict[str, Any]:
    values = found["values"]
    entity: dict[str, Any] = {"sets": found["scored"]}
    for name in p.ids:
        value = values.get(name)
        counts = value if isinstance(value, dict) else {"numerator": 0, "denominator": 0}
        entity.update({f"{name}:present": name in values, f"{name}:yes": value is True,
                       f"{name}:rate": isinstance(value, dict), f"{name}:num": int(counts["numerator"]),
                       f"{name}:den": int(counts["denominator"])})
    return entity
