"""The compiled rulebook: immutable, picklable, shared by every run that scores with it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.rules.expressions import Expression
from engine.rules.reference import Reference


@dataclass(frozen=True)
class Param:
    """One policy value: its address (file stem + dotted path), value, citations and place."""

    address: str
    value: Any
    cite: tuple[str, ...]
    file: str
    line: int | None
    unverified: str | None = None
    note: str | None = None
    amended: dt.date | None = None  # the amendment in force at --as-of, when one was taken
    dependents: tuple[str, ...] = ()
    documentary: bool = False  # recorded for readers; no mechanism reads it


@dataclass(frozen=True)
class Rule:
    """A condition or formula of a rule file, compiled once."""

    address: str
    expression: Expression
    cite: tuple[str, ...]
    file: str
    line: int | None
    unverified: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Rulebook:
    """A validated, compiled rulebook for one performance year (with its program variants compiled too)."""

    path: Path
    display_path: str
    year: int
    params: Mapping[str, Param]
    rules: Mapping[str, Rule]
    sources: Mapping[str, Any]
    reference: Reference
    checksum: str
    files: tuple[str, ...]
    mechanisms: Mapping[str, str]
    overrides: Mapping[str, Any] = field(default_factory=dict)
    as_of: dt.date | None = None
    variant: str | None = None
    variants: Mapping[str, Rulebook] = field(default_factory=dict, repr=False, compare=False)
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # what scoring derives from it once

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without what scoring derived from it (it is derived again where it is unpickled)."""
        return {**self.__dict__, "memo": {}}

    def param(self, address: str) -> Param:
        try:
            return self.params[address]
        except KeyError:
            raise KeyError(f"rulebook {self.display_path} has no value {address!r}") from None

    def value(self, address: str) -> Any:
        return self.param(address).value

    def value_or(self, address: str, default: Any) -> Any:
        """A value a year's rules may leave out (e.g. a crosswalk), else ``default``."""
        return self.params[address].value if address in self.params else default

    def rule(self, address: str) -> Rule:
        return self.rules[address]

    def evaluate(self, address: str, inputs: Mapping[str, Any]) -> Any:
        """Evaluate a condition or formula (its file's named values are folded in at load)."""
        return self.rules[address].expression.evaluate(inputs)

    def for_program(self, program: str) -> Rulebook:
        """The rulebook as a program scores: the year's declared values for that program laid over it."""
        return self.variants.get(program, self)

    def unverified(self) -> list[Param | Rule]:
        """Every value or rule still flagged unverified, in file order."""
        items: list[Param | Rule] = [p for p in self.params.values() if p.unverified]
        items += [r for r in self.rules.values() if r.unverified]
        return sorted(items, key=lambda i: (i.file, i.line or 0))

    def describe(self) -> dict[str, Any]:
        """The identity recorded in every result."""
        return {
            "year": self.year,
            "payment_year": self.value("program.payment_year"),
            "path": str(self.path.resolve()),
            "checksum": self.checksum,
            "overrides": dict(self.overrides),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "program_variant": self.variant,
        }
