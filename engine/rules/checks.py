"""Consistency checks across a rulebook's files, beyond what a schema can say."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.base.errors import Location, RulebookError

if TYPE_CHECKING:
    from engine.rules.rulebook import Rulebook


def _at(book: Rulebook, address: str, message: str) -> RulebookError:
    param = book.param(address)
    return RulebookError(Location(param.file, param.line, None, address), message)


def consistency_errors(book: Rulebook) -> list[RulebookError]:
    """Reweighting rows that do not add up, unknown categories, neutral rows that break the rule."""
    errors: list[RulebookError] = []
    categories = set(book.value("program.categories"))
    minimum = book.value("weights.minimum_scored_categories")
    default = book.value("weights.default_weights")
    if set(default) != categories:
        errors.append(_at(book, "weights.default_weights", "weights must name exactly the categories "
                          f"{sorted(categories)}, found {sorted(default)}"))
    elif sum(default.values()) != 100:
        errors.append(_at(book, "weights.default_weights", f"weights add up to {sum(default.values())}, not 100"))
    for address in [a for a in book.params if a.startswith("weights.tables.")]:
        for index, row in enumerate(book.value(address)):
            where = f"{address} row {index + 1} ({row['label']})"
            unknown = (set(row["weights"]) | set(row["scored"])) - categories
            if unknown:
                errors.append(_at(book, address, f"{where}: unknown categories {sorted(unknown)}"))
                continue
            total = sum(row["weights"].values())
            if total not in (0, 100):
                errors.append(_at(book, address, f"{where}: weights add up to {total}, not 100"))
            positive = {c for c, w in row["weights"].items() if w > 0}
            if positive != set(row["scored"]):
                errors.append(_at(book, address, f"{where}: scored categories {sorted(row['scored'])} "
                                  f"but weights above 0 for {sorted(positive)}"))
            neutral = len(positive) < minimum
            if neutral != (row["adjustment"] == "neutral"):
                errors.append(_at(book, address, f"{where}: {len(positive)} categories scored, so the "
                                  f"adjustment must be {'neutral' if neutral else 'scored'} "
                                  f"(weights.minimum_scored_categories is {minimum})"))
    for param in book.params.values():
        for dependent in param.dependents:
            if dependent not in book.params and dependent not in book.rules:
                errors.append(_at(book, param.address, f"dependents names {dependent}, which this rulebook does not have"))
    for key in book.value_or("pi.measures", {}):
        if key not in book.reference.pi:
            errors.append(_at(book, "pi.measures", f"measure {key} is not in this year's CMS reference data"))
    return errors
