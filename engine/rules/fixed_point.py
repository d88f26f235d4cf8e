"""A rule's expression evaluated in exact fixed point, on one entity or on columns, with identical results.

Numbers are integer counts of 10**-digits (the rulebook's declared precision); a product or a quotient is
rounded to those digits by the declared rule, exactly as the scoring kernels round. ``xp`` is
:class:`engine.base.exact.ScalarOps` (Python values, one entity) or :class:`engine.base.exact.ArrayOps`
(numpy columns; a list input is given as one boolean column per member, ``eucApproved:pi``).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

import numpy as np

from engine.base.exact import ArrayOps, ScalarOps
from engine.rules.expressions import Expression
from engine.rules.names import Kind

Values = Mapping[str, Any]
_INT64_SAFE = 2**62  # a column value below this in magnitude cannot overflow int64 when added to another
Step = Callable[[Any, Values, int, str], Any]
_COMPARISONS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
                ast.Gt: operator.gt, ast.GtE: operator.ge}


def to_fixed(value: Any, digits: int) -> int:
    """An input number as a count of 10**-digits, rounded half up."""
    return int((Decimal(str(value)) * 10**digits).to_integral_value(ROUND_HALF_UP))


def evaluate(expression: Expression, xp: Any, values: Values, digits: int, rounding: str) -> Any:
    """The expression's value with ``values`` (numbers already in fixed point) for its inputs.

    On columns, a value some step could carry past int64 (a huge input, or a product of large values of the rule)
    is computed element by element in Python integers instead, so the columns always equal one entity's values."""
    key = tuple(sorted((name, type(value).__name__, value) for name, value in expression.constants.items()))
    step = _compiled(expression.text, key)
    if xp is ArrayOps and _widest(expression, values, digits) >= _INT64_SAFE:
        return _element_by_element(step, values, digits, rounding)
    return step(xp, values, digits, rounding)


def _scalar(value: Any) -> Any:
    """A numpy element as a Python value (an object column's elements already are)."""
    return value.item() if hasattr(value, "item") else value


def _element_by_element(step: Step, values: Values, digits: int, rounding: str) -> Any:
    arrays = {name: np.asarray(column) for name, column in values.items()}
    size = max((len(a) for a in arrays.values() if a.ndim == 1), default=1)
    results = [step(ScalarOps, {n: _scalar(a[i] if a.ndim == 1 else a) for n, a in arrays.items()}, digits, rounding)
               for i in range(size)]
    wide = any(isinstance(r, int) and not isinstance(r, bool) and abs(r) >= _INT64_SAFE for r in results)
    return np.array(results, dtype=object if wide else None)


@cache
def _compiled(text: str, constants: tuple[tuple[str, str, Any], ...]) -> Step:
    tree = ast.parse(text.strip(), mode="eval").body
    return _step(tree, {name: value for name, _, value in constants})


def _widest(expression: Expression, values: Values, digits: int) -> int:
    """An upper bound of the magnitude any step of ``expression`` reaches on ``values`` (fixed point), products
    before their rounding included."""
    bounds = {}
    for name, kind in expression.inputs.items():
        if kind == Kind.NUMBER and name in values:
            column = np.asarray(values[name])
            bounds[name] = int(np.abs(column.astype(object)).max()) if column.size else 0
    tree = _parsed(expression.text)
    try:
        return _bound(tree, expression.constants, bounds, digits)
    except _TooWide:
        return _INT64_SAFE


def zero_divisors(expression: Expression, digits: int) -> list[str]:
    """The divisors of ``expression`` (constants, by the grammar) that are 0 once rounded to ``digits`` decimals."""
    found = []
    for node in ast.walk(_parsed(expression.text)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            step = _step(node.right, dict(expression.constants))
            if step(ScalarOps, {}, digits, "half_up") == 0:
                found.append(ast.unparse(node.right))
    return found


class _TooWide(Exception):
    """A step's bound passed int64: no need to bound the rest."""


@cache
def _parsed(text: str) -> ast.expr:
    return ast.parse(text.strip(), mode="eval").body


def _bound(node: ast.expr, constants: Mapping[str, Any], bounds: Mapping[str, int], digits: int) -> int:  # noqa: C901
    """The largest magnitude ``node`` (and every step inside it) can take; bools and texts count as 1."""
    def inner(child: ast.expr) -> int:
        found = _bound(child, constants, bounds, digits)
        if found >= _INT64_SAFE:
            raise _TooWide
        return found

    if isinstance(node, ast.Constant):
        return abs(to_fixed(node.value, digits)) if isinstance(node.value, int | float) and \
            not isinstance(node.value, bool) else 1
    if isinstance(node, ast.Name):
        value = constants.get(node.id)
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return abs(to_fixed(value, digits))
        return bounds.get(node.id, 1)
    if isinstance(node, ast.BinOp):
        left, right = inner(node.left), inner(node.right)
        if isinstance(node.op, ast.Mult):  # the product is formed in full, then rounded back to ``digits``
            if left * right >= _INT64_SAFE:
                raise _TooWide
            return left * right // 10**digits + 1
        if isinstance(node.op, ast.Div):  # the dividend is scaled up by ``digits`` first (by a non-zero constant)
            quotient = left * 10 ** (digits + 1) // max(right, 1) + 1  # with the one more digit it is rounded by
            if left * 10**digits >= _INT64_SAFE or quotient >= _INT64_SAFE:
                raise _TooWide
            return quotient // 10 + 1
        return left + right
    if isinstance(node, ast.Call | ast.BoolOp | ast.Compare | ast.IfExp | ast.UnaryOp):
        return max([inner(child) for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)], default=1)
    return 1


def _step(node: ast.expr, constants: dict[str, Any]) -> Step:  # noqa: C901 - one branch per construct of the grammar
    if isinstance(node, ast.Constant):
        return _constant(node.value)
    if isinstance(node, ast.Name):
        if node.id in constants:
            return _constant(constants[node.id])
        name = node.id
        return lambda xp, v, d, r: v[name]
    if isinstance(node, ast.UnaryOp):
        inner = _step(node.operand, constants)
        if isinstance(node.op, ast.Not):
            return lambda xp, v, d, r: xp.not_(inner(xp, v, d, r))
        return lambda xp, v, d, r: -inner(xp, v, d, r)
    if isinstance(node, ast.BinOp):
        return _binary(node, constants)
    if isinstance(node, ast.BoolOp):
        parts = [_step(value, constants) for value in node.values]
        both = isinstance(node.op, ast.And)
        return lambda xp, v, d, r: _fold(parts, xp, v, d, r, both)
    if isinstance(node, ast.IfExp):
        test, body, other = (_step(n, constants) for n in (node.test, node.body, node.orelse))
        return lambda xp, v, d, r: xp.where(test(xp, v, d, r), body(xp, v, d, r), other(xp, v, d, r))
    if isinstance(node, ast.Call):
        return _call(node, constants)
    if isinstance(node, ast.Compare):
        return _compare(node, constants)
    raise ValueError(f"{ast.dump(node)} is outside the rule grammar")  # the compiler refused it at load


def _constant(value: Any) -> Step:
    if isinstance(value, bool) or isinstance(value, str):
        return lambda xp, v, d, r: value
    if isinstance(value, list | tuple):  # a list of the file's values, after `in`
        items = tuple(value)
        return lambda xp, v, d, r: tuple(i if isinstance(i, bool | str) else to_fixed(i, d) for i in items)
    return lambda xp, v, d, r: to_fixed(value, d)


def _binary(node: ast.BinOp, constants: dict[str, Any]) -> Step:
    left, right = _step(node.left, constants), _step(node.right, constants)
    if isinstance(node.op, ast.Add):
        return lambda xp, v, d, r: left(xp, v, d, r) + right(xp, v, d, r)
    if isinstance(node.op, ast.Sub):
        return lambda xp, v, d, r: left(xp, v, d, r) - right(xp, v, d, r)
    if isinstance(node.op, ast.Mult):
        return lambda xp, v, d, r: _divide(xp, left(xp, v, d, r) * right(xp, v, d, r), 10**d, 0, r)
    return lambda xp, v, d, r: _divide(xp, left(xp, v, d, r), right(xp, v, d, r), d, r)  # by a non-zero constant


def _divide(xp: Any, numerator: Any, denominator: int, digits: int, rounding: str) -> Any:
    """``numerator / denominator`` rounded by its magnitude, whatever the constant's sign; a value that is no
    column (the rule's own constants) is divided as one value."""
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    if not isinstance(numerator, np.ndarray):
        return ScalarOps.divide(int(numerator), denominator, digits, rounding)
    return xp.divide(numerator, denominator, digits, rounding)


def _fold(parts: list[Step], xp: Any, v: Values, d: int, r: str, both: bool) -> Any:
    result = parts[0](xp, v, d, r)
    for part in parts[1:]:
        result = (result & part(xp, v, d, r)) if both else (result | part(xp, v, d, r))
    return result


def _call(node: ast.Call, constants: dict[str, Any]) -> Step:
    assert isinstance(node.func, ast.Name)
    args = [_step(a, constants) for a in node.args]
    if node.func.id == "abs":
        return lambda xp, v, d, r: xp.maximum(args[0](xp, v, d, r), -args[0](xp, v, d, r))
    pick = "minimum" if node.func.id == "min" else "maximum"

    def extreme(xp: Any, v: Values, d: int, r: str) -> Any:
        result = args[0](xp, v, d, r)
        for arg in args[1:]:
            result = getattr(xp, pick)(result, arg(xp, v, d, r))
        return result
    return extreme


def _compare(node: ast.Compare, constants: dict[str, Any]) -> Step:
    operands = [node.left, *node.comparators]
    steps = []
    for op, left_node, right_node in zip(node.ops, operands[:-1], operands[1:], strict=True):
        steps.append(_comparison(op, left_node, right_node, constants))

    def chain(xp: Any, v: Values, d: int, r: str) -> Any:
        result = steps[0](xp, v, d, r)
        for step in steps[1:]:
            result = result & step(xp, v, d, r)
        return result
    return chain


def _comparison(op: ast.cmpop, left_node: ast.expr, right_node: ast.expr, constants: dict[str, Any]) -> Step:
    left, right = _step(left_node, constants), None
    if isinstance(op, ast.In | ast.NotIn):
        negate = isinstance(op, ast.NotIn)
        if isinstance(right_node, ast.Name) and right_node.id not in constants:  # 'pi' in eucApproved
            name = right_node.id
            found: Step = lambda xp, v, d, r: _member(v, name, left(xp, v, d, r))  # noqa: E731
        else:
            options = right_node.elts if isinstance(right_node, ast.List | ast.Tuple) else None
            members = [_step(e, constants) for e in options] if options is not None else [_step(right_node, constants)]
            found = lambda xp, v, d, r: _isin(xp, left(xp, v, d, r), _options(members, xp, v, d, r))  # noqa: E731
        return (lambda xp, v, d, r: xp.not_(found(xp, v, d, r))) if negate else found
    right = _step(right_node, constants)
    compare = _COMPARISONS[type(op)]
    return lambda xp, v, d, r: compare(left(xp, v, d, r), right(xp, v, d, r))


def _isin(xp: Any, value: Any, options: tuple[Any, ...]) -> Any:
    return xp.isin(value, options) if isinstance(value, np.ndarray) else value in options


def _options(members: list[Step], xp: Any, v: Values, d: int, r: str) -> tuple[Any, ...]:
    values = [m(xp, v, d, r) for m in members]
    return tuple(values[0]) if len(values) == 1 and isinstance(values[0], tuple) else tuple(values)


def _member(values: Values, name: str, member: str) -> Any:
    column = f"{name}:{member}"
    if column in values:
        return values[column]
    return member in values.get(name, ())
