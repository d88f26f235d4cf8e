"""Float64 columns read as the decimals a JSON reader gives them, exactly, over whole columns.

A Parquet float64 and a JSON number are read alike: as the shortest decimal that prints back to the same double
(``repr``, which ``Decimal(str(x))`` reads). ``counts`` gives each value of a column as an integer count of
``10**-digits`` of that decimal, rounded by a named rule, with whether it needed rounding. Float arithmetic settles
almost every element exactly (see ``counts``); the few it cannot (a value within rounding error of a tie, or too
large for a double to hold its count) are read from their decimal text one by one.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import numpy as np

ROUNDINGS = {"half_up": ROUND_HALF_UP, "floor": ROUND_FLOOR, "ceiling": ROUND_CEILING}
_SAFE = 2.0**51  # |value x 10**digits| below this: the count and its neighbours are exact doubles, 10**-digits > ulp
_MARGIN = 4  # ulps of the scaled value: the float error of the scaled shortest decimal is below 1.5 ulp


def counts(values: np.ndarray, digits: int, rounding: str) -> tuple[np.ndarray, np.ndarray]:
    """Each finite value's shortest decimal times ``10**digits``, rounded by ``rounding`` (``half_up``: ties away from
    zero, as ``Decimal`` rounds; ``floor``; ``ceiling``) to an integer, and whether it already was one (the decimal has
    at most ``digits`` decimals). Counts beyond int64 are not supported: callers bound their values first.

    With ``y = value x 10**digits`` in floats and ``c`` the nearest integer to ``y``: when ``c / 10**digits`` is
    ``value`` again, that decimal is the shortest one (below ``_SAFE`` no other decimal of ``digits`` decimals rounds
    to the same double), so the count is ``c``, exact. Otherwise the decimal has more decimals and its scaled value
    lies within 1.5 ulp of ``y``: rounding ``y`` gives the right count unless ``y`` is that close to where the
    rounding rule changes its answer."""
    values = np.asarray(values, dtype=np.float64)
    scale = 10.0**digits
    y = values * scale
    nearest = np.rint(y)
    safe = np.abs(y) < _SAFE
    exact = safe & (nearest / scale == values)
    low = np.floor(y)
    fraction = y - low
    tolerance = _MARGIN * np.spacing(np.abs(y))
    if rounding == "half_up":
        magnitude = np.floor(np.abs(y) + 0.5)
        rounded = np.where(y < 0, -magnitude, magnitude)
        unsure = np.abs(np.abs(y) - np.floor(np.abs(y)) - 0.5) <= tolerance
    elif rounding == "floor":
        rounded = low
        unsure = (fraction <= tolerance) | (fraction >= 1 - tolerance)
    elif rounding == "ceiling":
        rounded = np.ceil(y)
        unsure = (fraction <= tolerance) | (fraction >= 1 - tolerance)
    else:
        raise ValueError(f"rounding {rounding!r} is not one of {', '.join(ROUNDINGS)}")
    result = np.where(exact, nearest, rounded)
    slow = np.flatnonzero(~safe | (~exact & unsure))
    out = np.zeros(len(values), dtype=np.int64)
    fine = np.ones(len(values), dtype=bool)
    fine[slow] = False
    out[fine] = result[fine].astype(np.int64)
    for index in slow.tolist():  # rare: settled from the decimal text
        count, whole = _from_text(float(values[index]), digits, rounding)
        out[index], exact[index] = count, whole
    return out, exact


def _from_text(value: float, digits: int, rounding: str) -> tuple[int, bool]:
    scaled = Decimal(repr(value)).scaleb(digits)
    return int(scaled.to_integral_value(ROUNDINGS[rounding])), scaled == scaled.to_integral_value()
