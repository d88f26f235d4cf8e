"""Exact decimal arithmetic: every policy number and rate is a Decimal, never a binary float."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def decimal(value: Any) -> Decimal:
    """A rule file's or a submission's number as an exact Decimal (0.1 stays 0.1)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))
