"""The declared precision: every computed score is an integer count of 10**-digits, rounded by a named rule."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.base.errors import Location, RulebookError, RulebookErrors
from engine.base.exact import ROUNDINGS
from engine.rules.model import Rulebook


class PrecisionError(ValueError):
    """A rule value has more decimals than the rulebook's declared precision carries."""

    def __init__(self, value: Any, digits: int):
        self.value = value
        super().__init__(f"{value} has more than {digits} decimals")


def fixed(value: Any, digits: int) -> int:
    """A rule value as an integer count of 10**-digits; a value with more decimals than that is refused."""
    number = Decimal(str(value)) * 10**digits
    if number != number.to_integral_value():
        raise PrecisionError(value, digits)
    return int(number)


@dataclass(frozen=True)
class Precision:
    digits: int
    rounding: str

    @property
    def one(self) -> int:
        return 10**self.digits

    def fixed(self, value: Any) -> int:
        return fixed(value, self.digits)

    def decimal(self, value: int) -> Decimal:
        """A computed value as the exact decimal it stands for."""
        return Decimal(int(value)).scaleb(-self.digits)



def number(value: int, one: int) -> int | float:
    """``value / one`` as a JSON number: an int when whole, else the nearest float (which prints as the decimal it
    stands for: no computed value carries more than 15 significant digits)."""
    whole, rest = divmod(value, one)
    return whole if not rest else value / one


def precision(book: Rulebook) -> Precision:
    param = book.param("program.precision")
    spec = param.value
    if spec["rounding"] not in ROUNDINGS:
        raise RulebookErrors([RulebookError(Location(param.file, param.line, None, param.address),
                                            f"rounding {spec['rounding']!r} is not one of {', '.join(ROUNDINGS)}")])
    return Precision(spec["decimals"], spec["rounding"])
