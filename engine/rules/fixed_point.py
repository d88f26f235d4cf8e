"""A rule's expression evaluated in exact fixed point, on one entity or on columns, with identical results.

Numbers are integer counts of 10**-digits (the rulebook's declared precision); a product or a quotient is
rounded to those digits by the declared rule, exactly as the scoring kernels round. ``xp`` is
:class:`engine.base.exact.ScalarOps` (Python values, one entity) or :class:`engine.base.exact.ArrayOps`
(numpy columns; a list input is given as one boolean column per member, ``eucApproved:pi``).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from engine.rules.expressions import Expression

Values = Mapping[str, Any]
Step = Callable[[Any, Values, int, str], Any]


def to_fixed(value: Any, digits: int) -> int:
    """An input number as a count of 10**-digits, rounded half up."""
    return int((Decimal(str(value)) * 10**digits).to_integral_value(ROUND_HALF_UP))


def evaluate(expression: Expression, xp: Any, values: Values, digits: int, rounding: str) -> Any:
    """The expression's value with ``values`` (numbers already in fixed point) for its inputs."""
    return _compiled(expression.text, tuple(sorted(expression.constants.items(), key=lambda i: i[0])))(
        xp, values, digits, rounding)


@cache
def _compiled(text: str, constants: tuple[tuple[str, Any], ...]) -> Step:
    tree = ast.parse(text.strip(), mode="eval").body
    return _step(tree, dict(constants))


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
    if isinstance(value, list | tuple):
        items = tuple(value)
        return lambda xp, v, d, r: items
    return lambda xp, v, d, r: to_fixed(value, d)


def _binary(node: ast.BinOp, constants: dict[str, Any]) -> Step:
    left, right = _step(node.left, constants), _step(node.right, constants)
    if isinstance(node.op, ast.Add):
        return lambda xp, v, d, r: left(xp, v, d, r) + right(xp, v, d, r)
    if isinstance(node.op, ast.Sub):
        return lambda xp, v, d, r: left(xp, v, d, r) - right(xp, v, d, r)
    if isinstance(node.op, ast.Mult):
        return lambda xp, v, d, r: xp.divide(left(xp, v, d, r) * right(xp, v, d, r), 10**d, 0, r)
    return lambda xp, v, d, r: xp.divide(left(xp, v, d, r), right(xp, v, d, r), d, r)  # by a non-zero constant


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
            found = lambda xp, v, d, r: xp.isin(left(xp, v, d, r), _options(members, xp, v, d, r))  # noqa: E731
        return (lambda xp, v, d, r: xp.not_(found(xp, v, d, r))) if negate else found
    right = _step(right_node, constants)
    compare = {ast.Eq: "__eq__", ast.NotEq: "__ne__", ast.Lt: "__lt__", ast.LtE: "__le__", ast.Gt: "__gt__",
               ast.GtE: "__ge__"}[type(op)]
    return lambda xp, v, d, r: getattr(left(xp, v, d, r), compare)(right(xp, v, d, r))


def _options(members: list[Step], xp: Any, v: Values, d: int, r: str) -> tuple[Any, ...]:
    values = [m(xp, v, d, r) for m in members]
    return tuple(values[0]) if len(values) == 1 and isinstance(values[0], tuple) else tuple(values)


def _member(values: Values, name: str, member: str) -> Any:
    column = f"{name}:{member}"
    if column in values:
        return values[column]
    return member in values.get(name, ())
