"""Exact fixed-point arithmetic, the same on one value (Python ints) and on a column (numpy int64).

Policy numbers are integers in units of 10**-digits (the rulebook's declared precision). Products and sums are
exact; every quotient is rounded to the declared digits by the declared rule. The column versions never
overflow for inputs within the bounds the input adapters enforce (counts up to 10**9, at most four decimals):
divisions that would need a wider integer are done digit by digit (long division).
"""

from __future__ import annotations

from typing import Any

import numpy as np

ROUNDINGS = ("half_up", "down")


def _round_tenths(g: Any, rounding: str) -> Any:
    """From floor(10 * x) to x rounded: half up (away from zero for a magnitude) or down."""
    return (g + 5) // 10 if rounding == "half_up" else g // 10


class ScalarOps:
    """One entity's values: Python ints and bools, unbounded and exact."""

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        return a if cond else b

    @staticmethod
    def minimum(a: Any, b: Any) -> Any:
        return a if a <= b else b

    @staticmethod
    def maximum(a: Any, b: Any) -> Any:
        return a if a >= b else b

    @staticmethod
    def not_(a: Any) -> Any:
        return not a

    @staticmethod
    def divide(n: int, d: int, digits: int, rounding: str) -> int:
        """n * 10**digits / d rounded (d > 0; a negative n is rounded by its magnitude)."""
        magnitude = _round_tenths(abs(n) * 10 ** (digits + 1) // d, rounding)
        return magnitude if n >= 0 else -magnitude

    @staticmethod
    def floor_ceil(num: int, den: int) -> tuple[int, int]:
        """floor(num / den) and ceil(num / den) for num >= 0, den > 0."""
        return num // den, -(-num // den)

    @staticmethod
    def fraction(num: int, den: int, low: int, high: int, digits: int, rounding: str, inverse: Any,
                 needed: Any = True) -> int:
        """How far num/den lies from ``low`` towards ``high`` (a fraction in [0, 1) at ``digits``).

        Direct: low <= num/den < high. Inverse (bounds descending): high < num/den <= low. Outside its interval,
        or where it is not ``needed`` (the caller does not use it there), the result is 0.
        """
        if not needed:
            return 0
        if inverse:
            part, width = low * den - num, (low - high) * den
        else:
            part, width = num - low * den, (high - low) * den
        if width <= 0 or part < 0 or part >= width:
            return 0
        return _round_tenths(part * 10 ** (digits + 1) // width, rounding)

    @staticmethod
    def decile(floor: int, ceil: int, bounds: tuple[int, ...], inverse: Any) -> int:
        """The highest decile (1-10) whose lower bound the value reaches, or 0: at or above the bound for a
        direct measure, at or below it for an inverse one."""
        reached = [k for k, bound in enumerate(bounds, 1) if (ceil <= bound if inverse else floor >= bound)]
        return reached[-1] if reached else 0

    @staticmethod
    def take_bound(bounds: tuple[int, ...], index: int) -> int:
        return bounds[index]

    @staticmethod
    def isin(value: Any, options: tuple[Any, ...]) -> bool:
        return value in options


class ArrayOps:
    """Columns: numpy int64 and bool arrays; the same results as ScalarOps, element by element."""

    where = staticmethod(np.where)
    minimum = staticmethod(np.minimum)
    maximum = staticmethod(np.maximum)
    not_ = staticmethod(np.logical_not)

    @staticmethod
    def divide(n: np.ndarray, d: Any, digits: int, rounding: str) -> np.ndarray:
        magnitude = np.abs(n)
        scale = 10 ** (digits + 1)
        if magnitude.size == 0 or int(magnitude.max()) < 2**63 // scale:  # the scaled numerator fits: one division
            quotient = magnitude * scale // d
        else:  # digit by digit, never wider than int64
            quotient, rest = np.divmod(magnitude, d)
            for _ in range(digits + 1):
                digit, rest = np.divmod(rest * 10, d)
                quotient = quotient * 10 + digit
        result = _round_tenths(quotient, rounding)
        return np.where(n >= 0, result, -result)

    @staticmethod
    def floor_ceil(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        floor, rest = np.divmod(num, den)
        return floor, floor + (rest > 0)

    @staticmethod
    def fraction(num: np.ndarray, den: np.ndarray, low: np.ndarray, high: np.ndarray, digits: int, rounding: str,
                 inverse: np.ndarray, needed: Any = True) -> np.ndarray:
        if needed is not True:  # worked out on the rows that need it only
            rows = np.flatnonzero(needed)
            result = np.zeros(len(num), dtype=np.int64)
            result[rows] = ArrayOps.fraction(num[rows], den[rows], low[rows], high[rows], digits, rounding,
                                             inverse[rows])
            return result
        floor, rest = np.divmod(num, den)
        ceil = floor + (rest > 0)
        # Direct: (floor - low) + rest/den over (high - low); inverse: (low - ceil) + (den - rest)/den over (low - high).
        whole = np.where(inverse, low - ceil, floor - low)
        part = np.where(inverse, np.where(rest > 0, den - rest, 0), rest)
        width = np.where(inverse, low - high, high - low)
        outside = (width <= 0) | (whole < 0) | (whole >= width)
        width = np.where(outside, 1, width)
        whole = np.where(outside, 0, whole)
        part = np.where(outside, 0, part)
        scale = 10 ** (digits + 1)
        if whole.size == 0 or float((width.astype(np.float64) * den).max()) < 2**62 / scale:  # one exact division fits
            return _round_tenths((whole * den + part) * scale // (width * den), rounding)
        quotient = np.zeros_like(whole)
        remainder = whole
        for _ in range(digits + 1):
            digit, part = np.divmod(part * 10, den)
            remainder = remainder * 10 + digit
            step, remainder = np.divmod(remainder, width)
            quotient = quotient * 10 + step
        return _round_tenths(quotient, rounding)

    @staticmethod
    def decile(floor: np.ndarray, ceil: np.ndarray, bounds: np.ndarray, inverse: np.ndarray) -> np.ndarray:
        # ceil <= bound is not (ceil - 1 >= bound), on integers: one comparison for both directions
        reached = (np.where(inverse, ceil - 1, floor)[:, None] >= bounds) ^ inverse[:, None]
        last = bounds.shape[1] - np.argmax(reached[:, ::-1], axis=1)  # the highest bound reached, counted from 1
        return np.where(reached.any(axis=1), last, 0)

    @staticmethod
    def take_bound(bounds: np.ndarray, index: np.ndarray) -> np.ndarray:
        return bounds[np.arange(len(bounds)), index]

    @staticmethod
    def isin(value: np.ndarray, options: tuple[Any, ...]) -> np.ndarray:
        if value.dtype.kind in "UO" and len(options) <= 8:  # a few labels: equality tests beat np.isin's sort
            result = np.zeros(len(value), dtype=bool)
            for option in options:
                result |= value == option
            return result
        return np.isin(value, list(options)) if options else np.zeros(len(value), dtype=bool)
