"""How every report prints a number: one formatter for the feedback, the review worksheet and the comparison, in
text, Markdown and HTML alike.

Values stay exact (ints, Decimals, floats that stand for the decimals they print as) until they are shown here;
nothing here rounds twice or re-derives a figure. A figure that is not a number is shown by its state: ``--`` for a
suppressed or excluded measure (as CMS's feedback shows it), ``N/A`` for a category reweighted to 0 % of the final
score. Payment adjustments are shown as the result document gives them (its ``display`` figures, already truncated to
the rulebook's decimals), at exactly those decimals.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

SUPPRESSED = "--"  # a measure reported but excluded from scoring
REWEIGHTED = "N/A"  # a category reweighted to 0 % of the final score
MISSING = "none"  # no value at all (e.g. no performance rate)
STATES = {"suppressed": SUPPRESSED, "reweighted": REWEIGHTED}
PLACES = 4  # a score, points or a rate: at most four decimals, as CMS's scoring examples print them


def _unwrap(value: Any) -> tuple[Any, str]:
    """A figure's value and state (a figure of the view model, or a bare number)."""
    if hasattr(value, "state") and hasattr(value, "value"):
        return value.value, value.state
    return value, ""


def exact(value: Any) -> Decimal | None:
    """The exact decimal a number stands for (a float prints as its shortest decimal), or None."""
    value, _ = _unwrap(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _shown(value: Any) -> Decimal | str:
    """The decimal to print, or the text printed instead (a state, ``none`` or a value that is not a number)."""
    raw, state = _unwrap(value)
    if state:
        return STATES.get(state, state)
    if raw is None:
        return MISSING
    number = exact(raw)
    return str(raw) if number is None or not number.is_finite() else number


def _digits(number: Decimal, places: int, fixed: bool) -> str:
    """``number`` half up to ``places`` decimals, thousands grouped; trailing zeros dropped unless ``fixed``."""
    try:
        rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except InvalidOperation:  # too many digits to show at this many places
        return f"{number:,}"
    text = f"{rounded:,.{places}f}"
    if not fixed and "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def number(value: Any, places: int = PLACES) -> str:
    """A count, score or points: at most ``places`` decimals, no trailing zeros (``1,123``, ``8.25``, ``5.8733``)."""
    shown = _shown(value)
    return shown if isinstance(shown, str) else _digits(shown, places, False)


def fixed(value: Any, places: int) -> str:
    """Exactly ``places`` decimals (``0.58``, ``0.00``): a figure already cut to that many, as a payment display."""
    shown = _shown(value)
    return shown if isinstance(shown, str) else _digits(shown, places, True)


def percent(value: Any, places: int = PLACES) -> str:
    """A percent: ``85.2187%``, ``N/A`` for a reweighted category."""
    shown = _shown(value)
    return shown if isinstance(shown, str) else _digits(shown, places, False) + "%"


def signed_percent(value: Any, places: int | None = None) -> str:
    """A payment adjustment: ``+1.87%``, ``-9%``, ``0%``; ``places`` fixes the decimals (a display figure)."""
    shown = _shown(value)
    if isinstance(shown, str):
        return shown
    digits = _digits(shown, PLACES, False) if places is None else _digits(shown, places, True)
    return ("+" if shown > 0 else "") + digits + "%"


def dollars(value: Any) -> str:
    """An amount in dollars: at least two decimals, at most four (``$1,293.615``, ``-$12.50``)."""
    shown = _shown(value)
    if isinstance(shown, str):
        return shown
    whole, _, cents = _digits(abs(shown), PLACES, False).partition(".")
    return ("-" if shown < 0 else "") + "$" + whole + "." + cents.ljust(2, "0")


def ratio(numerator: Any, denominator: Any) -> str:
    """A numerator and denominator as submitted: ``1,123 / 1,951``."""
    return f"{number(numerator)} / {number(denominator)}"


def factor(value: Any) -> str:
    """A multiplier as the rulebook gives it, every digit kept (``0.00089``, ``x 2``)."""
    shown = _shown(value)
    return shown if isinstance(shown, str) else f"{shown.normalize():f}"
