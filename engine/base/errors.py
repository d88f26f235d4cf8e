"""One exception class per kind of error the engine reports to its users."""

from __future__ import annotations

from dataclasses import dataclass


class MipsError(Exception):
    """Base class: every error the engine raises on purpose is one of these."""


@dataclass
class Location:
    """Where a problem sits: a file, a line and column (1-based) and a JSON pointer or path."""

    file: str
    line: int | None = None
    column: int | None = None
    pointer: str = ""

    def __str__(self) -> str:
        place = self.file
        if self.line is not None:
            place += f":{self.line}"
            if self.column is not None:
                place += f":{self.column}"
        return f"{place}: at {self.pointer or '/'}" if self.pointer else place


class LocatedError(MipsError):
    """An error that names the place it comes from, what was expected and a likely fix."""

    def __init__(self, location: Location, message: str, hint: str | None = None):
        self.location = location
        self.message = message
        self.hint = hint
        text = f"{location}: {message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class RulebookError(LocatedError):
    """A rule file is malformed, fails its schema, or refers to something that does not exist."""


class RulebookErrors(MipsError):
    """Several rulebook errors found in one pass, so policy staff can fix them all at once."""

    def __init__(self, errors: list[RulebookError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class SubmissionError(LocatedError):
    """A submission cannot be scored at all (not JSON, no entity header, unsupported year)."""


class ProfileError(LocatedError):
    """A clinician profile file is malformed or fails its schema."""


class OverrideError(MipsError):
    """A what-if override names no rulebook value, has the wrong type, or leaves dependents stale."""
