"""Consistency checks across a rulebook's files, beyond what a schema can say."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.base.errors import Location, RulebookError

if TYPE_CHECKING:
    from engine.rules.model import Rulebook


def _at(book: Rulebook, address: str, message: str) -> RulebookError:
    param = book.param(address)
    return RulebookError(Location(param.file, param.line, None, address), message)


def consistency_errors(book: Rulebook, reweight_when: Location) -> list[RulebookError]:
    """Reweighting conditions (``reweight_when``, located at that place) not for exactly the categories, reweighting
    rows that do not add up or do not name every category, unknown categories, neutral rows that break the rule,
    payments displayed to more digits than computed, dangling dependents, rulebook measures missing from CMS's
    data."""
    errors = _default_weight_errors(book) + _reweighting_errors(book, reweight_when) + _display_errors(book)
    errors += _ground_errors(book)
    for address in [a for a in book.params if a.startswith("weights.tables.")]:
        for index, row in enumerate(book.value(address)):
            errors += _row_errors(book, address, f"{address} row {index + 1} ({row['label']})", row)
    for param in book.params.values():
        for dependent in param.dependents:
            if dependent not in book.params and dependent not in book.rules:
                errors.append(_at(book, param.address, f"dependents names {dependent}, which this rulebook does not have"))
    for key in book.value_or("pi.measures", {}):
        if key not in book.reference.pi:
            errors.append(_at(book, "pi.measures", f"measure {key} is not in this year's CMS reference data"))
    return errors


def _display_errors(book: Rulebook) -> list[RulebookError]:
    """Payments are displayed to at most the digits they are computed to."""
    digits = book.value("program.precision")["decimals"]
    shown = book.value_or("payment.display", {}).get("decimals", 0)
    if shown <= digits:
        return []
    return [_at(book, "payment.display", f"displays {shown} decimals, more than the {digits} of program.precision")]


def _default_weight_errors(book: Rulebook) -> list[RulebookError]:
    categories = set(book.value("program.categories"))
    default = book.value("weights.default_weights")
    if set(default) != categories:
        return [_at(book, "weights.default_weights", "weights must name exactly the categories "
                    f"{sorted(categories)}, found {sorted(default)}")]
    if sum(default.values()) != 100:
        return [_at(book, "weights.default_weights", f"weights add up to {sum(default.values())}, not 100")]
    return []


def _reweighting_errors(book: Rulebook, place: Location) -> list[RulebookError]:
    """Every category has its reweighting condition (``"False"`` for one never reweighted), and no other has one."""
    categories = set(book.value("program.categories"))
    conditions = {a.removeprefix("weights.reweight_when.") for a in book.rules if a.startswith("weights.reweight_when.")}
    if conditions == categories:
        return []
    return [RulebookError(place, "reweight_when must have a "
                          f"condition for exactly the categories {sorted(categories)}, found {sorted(conditions)}",
                          "write `when: \"False\"` for a category that is never reweighted")]


def _ground_errors(book: Rulebook) -> list[RulebookError]:
    """A reweighting ground is for a category and reads only the facts that category's reweight_when reads (its
    trace node records those facts, so the ground can be checked from it), unless a what-if replaced that
    condition; a category without a condition is reported by the reweighting check."""
    categories = set(book.value("program.categories"))
    errors = []
    for address, rule in book.rules.items():
        if not address.startswith("weights.reweight_grounds."):
            continue
        category = address.split(".")[2]
        condition = book.rules.get(f"weights.reweight_when.{category}")
        place = Location(rule.file, rule.line, None, address)
        if category not in categories:
            errors.append(RulebookError(place, f"a reweighting ground for {category}, which is not one of the "
                                               f"categories {sorted(categories)}"))
        elif condition and condition.address not in book.overrides and (
                extra := sorted(rule.expression.names - condition.expression.names)):
            errors.append(RulebookError(place, f"reads {', '.join(extra)}, which weights.reweight_when.{category} "
                                               "does not read"))
    return errors


def _row_errors(book: Rulebook, address: str, where: str, row: dict) -> list[RulebookError]:
    categories = set(book.value("program.categories"))
    unknown = (set(row["weights"]) | set(row["scored"])) - categories
    if unknown:
        return [_at(book, address, f"{where}: unknown categories {sorted(unknown)}")]
    if set(row["weights"]) != categories:
        return [_at(book, address, f"{where}: weights must name every category; missing "
                    f"{sorted(categories - set(row['weights']))}")]
    errors = []
    total = sum(row["weights"].values())
    if total not in (0, 100):
        errors.append(_at(book, address, f"{where}: weights add up to {total}, not 100"))
    positive = {c for c, w in row["weights"].items() if w > 0}
    if positive != set(row["scored"]):
        errors.append(_at(book, address, f"{where}: scored categories {sorted(row['scored'])} "
                          f"but weights above 0 for {sorted(positive)}"))
    minimum = book.value("weights.minimum_scored_categories")
    neutral = len(positive) < minimum
    if neutral != (row["adjustment"] == "neutral"):
        errors.append(_at(book, address, f"{where}: {len(positive)} categories scored, so the "
                          f"adjustment must be {'neutral' if neutral else 'scored'} "
                          f"(weights.minimum_scored_categories is {minimum})"))
    return errors
