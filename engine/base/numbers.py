"""Exact decimal arithmetic: every policy number and rate is a Decimal, never a binary float. Also the bounds a
number read from an input keeps, and how an input's value is shown in a message (briefly, never whole)."""

from __future__ import annotations

import math
import reprlib
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
HUNDRED = Decimal(100)
LARGEST_INPUT = 2**53  # JSON numbers travel as IEEE doubles: beyond 2**53 integers are not carried exactly (RFC 8259)



class _Short(reprlib.Repr):
    """``repr`` cut short at every level; an integer too long to print is described, not printed."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxdict, self.maxlist, self.maxtuple, self.maxset = 2, 3, 3, 3, 3
        self.maxstring, self.maxother, self.maxlong = 40, 40, 24

    def repr_int(self, x: int, level: int) -> str:
        if abs(x) > LARGEST_INPUT:
            return f"<a number of about {int(x.bit_length() * math.log10(2)) + 1:,} digits>"
        return super().repr_int(x, level)


_SHORT = _Short()


def decimal(value: Any) -> Decimal:
    """A rule file's or a submission's number as an exact Decimal (0.1 stays 0.1)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def number_problem(value: int | float | Decimal) -> str | None:
    """Why a number read from an input cannot be used (not finite, or beyond ±2**53), or None when it can."""
    if isinstance(value, Decimal) and not value.is_finite() or isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a finite number"
    if not -LARGEST_INPUT <= value <= LARGEST_INPUT:
        return f"{_number_text(value)} is beyond ±2**53 (9,007,199,254,740,992), which JSON does not carry exactly"
    return None


def _number_text(value: int | float | Decimal) -> str:
    if isinstance(value, int) and value.bit_length() > 100:
        return f"a number of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    text = str(value)
    return text if len(text) <= 32 else f"{text[:14]}…{text[-14:]} ({len(text):,} characters)"


def excerpt(value: Any) -> str:
    """A value as a short, escaped excerpt for a message: enough to recognise it, never a whole input."""
    return _SHORT.repr(value)


def brief(message: str, limit: int = 300) -> str:
    """A message cut to ``limit`` characters (a schema or parser message may quote a whole value)."""
    return message if len(message) <= limit else f"{message[:limit]}… ({len(message) - limit:,} more characters)"
