"""What one scoring run carries: the rulebook, the submission, the profile, the trace and the issues."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.base.numbers import decimal
from engine.inputs.submission import Issue, MeasurementSet, Submission
from engine.rules.model import Rulebook
from engine.scoring.trace import Trace


@dataclass
class CategoryScore:
    """A category's percent score (0-100) and the detail the explanation shows."""

    category: str
    percent: Decimal
    submitted: bool
    detail: dict[str, Any] = field(default_factory=dict)
    from_submission: bool = True  # False for categories CMS computes from claims (cost)


@dataclass
class Context:
    book: Rulebook
    submission: Submission
    profile: dict[str, Any]
    trace: Trace
    issues: list[Issue]
    program: str = "mips"

    def value(self, address: str) -> Any:
        return self.book.value(address)

    def number(self, address: str) -> Decimal:
        return decimal(self.book.value(address))

    def flag(self, name: str) -> bool:
        return bool(self.profile.get(name, False))

    def sets(self, category: str) -> list[MeasurementSet]:
        """Measurement sets of one rulebook category (by the year's submission category names)."""
        names = self.book.value("program.submission_categories")
        return [s for s in self.submission.sets if names.get(s.category) == category]

    def issue(self, path: str, message: str, source: str = "") -> None:
        self.issues.append(Issue(path, message, source))
