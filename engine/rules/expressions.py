"""Policy conditions and formulas: a small typed grammar, checked and compiled once when the rulebook loads.

A rule's text is a Python expression restricted to what policy needs, and every construct is checked before
anything runs:

- names (the rule's declared inputs, see engine.rules.names, and the scalar values of the rule's own file,
  e.g. ``cap``); constants: integers, decimals (``0.5``), strings, ``True``/``False``;
- ``and``, ``or``, ``not`` on true/false values (the result is always a bool, never an operand);
- unary ``-``; ``+ - *`` on numbers; ``/`` only by a non-zero number written in the rule or a value of its file;
- comparisons ``== != < <= > >=`` (chains allowed; ordering only between numbers);
- ``x in [c1, c2]`` / ``not in`` with a literal list or tuple of constants (or a list value of the rule's file);
- ``'pi' in eucApproved``: a string constant in a list-valued input;
- ``min(a, b, ...)`` and ``max(a, b, ...)`` of two or more numbers, ``abs(a)`` of one;
- ``a if c else b``.

Everything else (attributes, subscripts, other calls, lambdas, comprehensions, f-strings, ``%``, ``**``, ``//``,
bit operators, ``:=``, ``*``, dicts, sets, bytes, complex numbers, ``None``) is refused with an
:class:`ExpressionError` naming the construct and its column. So are texts over 2,000 characters, over 200 parts
(AST nodes), nested over 30 deep, numbers above 10**12 or with over 12 decimals, strings over 200 characters, and
names Python would read as other names (``ｘ`` is read as ``x``).

Types are checked too: each input has a kind (bool, number, string, string list); a constant's kind is its
value's. A ``condition`` must be true/false and a ``formula`` a number, and an ill-typed expression
(``entity_type + 1``, ``not clinicianCount``, ``min`` of strings) never loads, so evaluating one cannot raise a
TypeError. Numbers are exact Decimals: an int or float input is converted as :func:`engine.base.numbers.decimal`
converts it (a float through ``str``, so 0.1 stays 0.1).

The checked tree is compiled once to a Python code object (the file's values folded in as constants) and run
with no builtins; :meth:`Expression.lower` runs the same expression over numpy columns, one element per entity.
"""

from __future__ import annotations

import ast
import difflib
import operator
import warnings
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from functools import reduce
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from engine.base.errors import MipsError
from engine.base.numbers import decimal
from engine.rules.names import Kind

if TYPE_CHECKING:
    from numpy.typing import NDArray

MAX_CHARACTERS = 2000
MAX_NODES = 200
MAX_DEPTH = 30
MAX_MAGNITUDE = 10**12
MAX_DECIMALS = 12
MAX_STRING = 200

ExpressionKind = Literal["condition", "formula"]
RESULT_KINDS: Mapping[str, Kind] = {"condition": Kind.BOOL, "formula": Kind.NUMBER}
SCALAR_KINDS = (Kind.BOOL, Kind.NUMBER, Kind.STRING)
FUNCTIONS = {"min": min, "max": max, "abs": abs}
_RESERVED = "__"  # compiled code binds its own values and functions under names starting so

_TOKENS = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)  # not counted as parts
_NOT_CONSTANT = object()

_REFUSED = {
    ast.Subscript: "a subscript ([...])",
    ast.Slice: "a slice",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.NamedExpr: "an assignment expression (:=)",
    ast.Starred: "a starred argument (*)",
    ast.Dict: "a dict literal",
    ast.Set: "a set literal",
    ast.List: "a list outside `x in [...]`",
    ast.Tuple: "a tuple outside `x in (...)`",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}
_REFUSED_OPERATORS = {
    ast.Pow: "the power operator **",
    ast.FloorDiv: "floor division //",
    ast.Mod: "the % operator (modulo or string formatting)",
    ast.MatMult: "the @ operator",
    ast.BitAnd: "the bit operator &",
    ast.BitOr: "the bit operator |",
    ast.BitXor: "the bit operator ^",
    ast.LShift: "the bit operator <<",
    ast.RShift: "the bit operator >>",
    ast.Invert: "the bit operator ~",
    ast.UAdd: "unary +",
    ast.Is: "`is`",
    ast.IsNot: "`is not`",
}
_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<",
            ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.In: "in", ast.NotIn: "not in"}
_COMPARISONS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
                ast.Gt: operator.gt, ast.GtE: operator.ge}


class ExpressionError(MipsError, ValueError):
    """An expression does not parse, uses something the grammar refuses, is ill-typed, names something that is
    not declared, or is evaluated without (or with an ill-typed) input."""


Lowered = Callable[["_Columns"], Any]


class _Typed:
    """A checked sub-expression: its kind, the node to compile, how to run it over columns, its constant value."""

    __slots__ = ("kind", "node", "lower", "const")

    def __init__(self, kind: Kind, node: ast.expr, lower: Lowered, const: Any = _NOT_CONSTANT):
        self.kind, self.node, self.lower, self.const = kind, node, lower, const


class _Members:
    """The right-hand side of ``in``: constants known at load (a literal list or a list value of the file)."""

    __slots__ = ("kind", "values")

    def __init__(self, kind: Kind | None, values: tuple[Any, ...]):
        self.kind, self.values = kind, values


def _shown(text: str) -> str:
    """The text as messages quote it: whole if short, else its start."""
    return repr(text) if len(text) <= 80 else repr(text[:77]) + "..."


def _constant_lowering(value: Any) -> Lowered:
    plain = _plain(value)
    return lambda env: plain


def _plain(value: Any) -> Any:
    """A constant as columns use it: an int where integral, else a float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _list_kind(values: tuple[Any, ...] | list[Any]) -> Kind | None:
    kinds = {_value_kind(v) for v in values}
    return kinds.pop() if len(kinds) == 1 and None not in kinds else None


def _value_kind(value: Any) -> Kind | None:
    if isinstance(value, bool):
        return Kind.BOOL
    if isinstance(value, int | float | Decimal):
        return Kind.NUMBER if decimal(value).is_finite() else None
    if isinstance(value, str):
        return Kind.STRING
    return None


def _count_and_depth(tree: ast.AST) -> tuple[int, int]:
    """Parts and nesting depth, without recursion (a hostile text may nest very deep)."""
    count, deepest, stack = 0, 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, _TOKENS):
            continue
        count, deepest = count + 1, max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return count - 1, deepest  # the ast.Expression wrapper is not a part


class _Compiler:
    """Checks a parsed expression node by node and builds the code to compile and the column lowering."""

    def __init__(self, text: str, source: str, lead: int, inputs: Mapping[str, Kind], constants: Mapping[str, Any],
                 what: str):
        self.text, self.source, self.lead, self.what = text, source, lead, what
        self.inputs, self.constants = inputs, constants
        self.bindings: dict[str, Any] = {}  # private name -> a Decimal, a set of Decimals, or min/max/abs
        self.bound = 0
        self.used_inputs: dict[str, Kind] = {}
        self.used_constants: dict[str, Any] = {}

    # -- messages ---------------------------------------------------------------------------------------------

    def fail(self, message: str, node: ast.AST | None = None) -> NoReturn:
        raise ExpressionError(f"{self.what} {_shown(self.text)}: {message}{self.where(node)}")

    def where(self, node: ast.AST | None) -> str:
        line, offset = getattr(node, "lineno", None), getattr(node, "col_offset", None)
        if line is None or offset is None:
            return ""
        lines = self.source.splitlines() or [""]
        column = len(lines[line - 1].encode()[:offset].decode(errors="ignore")) + 1
        return f" (column {column + self.lead})" if len(lines) == 1 else f" (line {line}, column {column})"

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ast.unparse(node)

    # -- the walk ---------------------------------------------------------------------------------------------

    def visit(self, node: ast.AST) -> _Typed:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            construct = _REFUSED.get(type(node), f"{type(node).__name__}")
            self.fail(f"{construct} is not allowed in a rule", node)
        typed: _Typed = method(node)
        return typed

    def bind(self, value: Any) -> ast.expr:
        name = f"{_RESERVED}v{self.bound}"
        self.bindings[name], self.bound = value, self.bound + 1
        return ast.Name(name, ast.Load())

    def number(self, value: Decimal) -> _Typed:
        return _Typed(Kind.NUMBER, self.bind(value), _constant_lowering(value), value)

    def visit_Constant(self, node: ast.Constant) -> _Typed:
        value = node.value
        if isinstance(value, bool):
            return _Typed(Kind.BOOL, ast.Constant(value), _constant_lowering(value), value)
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                self.fail(f"a string of {len(value):,} characters; at most {MAX_STRING} are allowed", node)
            return _Typed(Kind.STRING, ast.Constant(value), _constant_lowering(value), value)
        if isinstance(value, int | float):
            return self.number(self.literal_number(node))
        construct = {complex: "a complex number", bytes: "a bytes literal", type(None): "None"}.get(
            type(value), f"the constant {value!r}")
        self.fail(f"{construct} is not allowed in a rule", node)

    def literal_number(self, node: ast.Constant) -> Decimal:
        """The number as written (``0.1`` is exactly one tenth), within the size and precision limits."""
        text = self.segment(node)
        try:
            value = Decimal(text.replace("_", ""))
        except InvalidOperation:  # 0x1F, 0o17, 0b1
            value = decimal(node.value)
        if not value.is_finite() or abs(value) > MAX_MAGNITUDE:
            self.fail(f"the number {text} is larger than 10**12 in magnitude", node)
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)  # finite
        if -exponent > MAX_DECIMALS:
            self.fail(f"the number {text} has {-exponent} decimals; at most {MAX_DECIMALS} are allowed", node)
        return value.quantize(Decimal(1)) if exponent > 0 else value

    def visit_Name(self, node: ast.Name) -> _Typed:
        name = node.id
        if name.startswith(_RESERVED):
            self.fail(f"names starting with {_RESERVED!r} are reserved ({name!r})", node)
        written = self.segment(node)
        if written != name:  # Python reads some non-ASCII letters as others (NFKC): the text must say the name
            self.fail(f"the name {written!r} is read as {name!r}; write names in plain ASCII", node)
        if name in self.inputs:
            kind = self.used_inputs[name] = self.inputs[name]
            return _Typed(kind, ast.Name(name, ast.Load()), lambda env: env.column(name, kind))
        if name in self.constants:
            value = self.constants[name]
            constant_kind = _value_kind(value)
            if constant_kind is None:
                self.fail(f"{name!r} is a value of the rule's file that is not a number, true/false or string "
                          f"(a list of them may only follow `in`)", node)
            self.used_constants[name] = value
            if constant_kind == Kind.NUMBER:
                return self.number(decimal(value))
            return _Typed(constant_kind, ast.Constant(value), _constant_lowering(value), value)
        self.unknown(name, node)

    def unknown(self, name: str, node: ast.AST) -> NoReturn:
        declared = sorted(set(self.inputs) | {n for n, v in self.constants.items() if _value_kind(v) is not None
                                              or isinstance(v, tuple | list) and _list_kind(v) is not None})
        close = difflib.get_close_matches(name, declared, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ExpressionError(f"{self.what} {_shown(self.text)} uses {name!r}, which is not a declared input{hint} "
                              f"(declared: {', '.join(declared)})")

    def visit_Attribute(self, node: ast.Attribute) -> _Typed:
        self.fail(f"attribute access ('.{node.attr}') is not allowed in a rule", node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> _Typed:
        if type(node.op) in _REFUSED_OPERATORS:
            self.fail(f"{_REFUSED_OPERATORS[type(node.op)]} is not allowed in a rule", node)
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            self.expect(operand, Kind.BOOL, node.operand, "`not` needs true/false")
            inner = operand.lower
            return _Typed(Kind.BOOL, ast.UnaryOp(ast.Not(), operand.node), lambda env: env.np.logical_not(inner(env)))
        self.expect(operand, Kind.NUMBER, node.operand, "unary `-` needs a number")
        if operand.const is not _NOT_CONSTANT:  # a negative number: one constant
            assert isinstance(operand.node, ast.Name)
            del self.bindings[operand.node.id]
            return self.number(-operand.const)
        inner = operand.lower
        return _Typed(Kind.NUMBER, ast.UnaryOp(ast.USub(), operand.node), lambda env: operator.neg(inner(env)))

    def expect(self, typed: _Typed, kind: Kind, node: ast.AST, context: str) -> None:
        if typed.kind != kind:
            self.fail(f"{context}, but {self.segment(node)} is a {typed.kind}", node)

    def visit_BinOp(self, node: ast.BinOp) -> _Typed:
        if type(node.op) in _REFUSED_OPERATORS:
            self.fail(f"{_REFUSED_OPERATORS[type(node.op)]} is not allowed in a rule", node)
        symbol = _SYMBOLS[type(node.op)]
        left, right = self.visit(node.left), self.visit(node.right)
        for typed, side in ((left, node.left), (right, node.right)):
            self.expect(typed, Kind.NUMBER, side, f"`{symbol}` needs numbers on both sides")
        if isinstance(node.op, ast.Div):
            if right.const is _NOT_CONSTANT:
                self.fail(f"division only by a number written in the rule or a value of its file, not by "
                          f"{self.segment(node.right)}", node.right)
            if right.const == 0:
                self.fail("division by zero", node.right)
        apply, lower_left, lower_right = _ARITHMETIC[type(node.op)], left.lower, right.lower
        return _Typed(Kind.NUMBER, ast.BinOp(left.node, type(node.op)(), right.node),
                      lambda env: apply(lower_left(env), lower_right(env)))

    def visit_BoolOp(self, node: ast.BoolOp) -> _Typed:
        word = "and" if isinstance(node.op, ast.And) else "or"
        values = [self.visit(v) for v in node.values]
        for typed, child in zip(values, node.values, strict=True):
            self.expect(typed, Kind.BOOL, child, f"`{word}` needs true/false on every side")
        lowered = [v.lower for v in values]

        def lower(env: _Columns) -> Any:
            combine = env.np.logical_and if word == "and" else env.np.logical_or
            return reduce(combine, (f(env) for f in lowered))

        return _Typed(Kind.BOOL, ast.BoolOp(type(node.op)(), [v.node for v in values]), lower)

    def visit_IfExp(self, node: ast.IfExp) -> _Typed:
        test, body, orelse = self.visit(node.test), self.visit(node.body), self.visit(node.orelse)
        self.expect(test, Kind.BOOL, node.test, "the condition of `a if c else b` needs true/false")
        if body.kind not in SCALAR_KINDS:
            self.fail(f"`a if c else b` gives a true/false value, a number or a string, not a {body.kind}", node)
        if body.kind != orelse.kind:
            self.fail(f"both sides of `a if c else b` must be the same kind of value, but "
                      f"{self.segment(node.body)} is a {body.kind} and {self.segment(node.orelse)} a {orelse.kind}", node)
        lower_test, lower_body, lower_orelse = test.lower, body.lower, orelse.lower
        return _Typed(body.kind, ast.IfExp(test.node, body.node, orelse.node),
                      lambda env: env.np.where(lower_test(env), lower_body(env), lower_orelse(env)))

    def visit_Call(self, node: ast.Call) -> _Typed:
        if not isinstance(node.func, ast.Name):
            self.visit(node.func)  # refuses the attribute, subscript or lambda being called
            self.fail("only min, max and abs may be called", node)
        name = node.func.id
        if name not in FUNCTIONS:
            self.fail(f"a call to {name!r} is not allowed in a rule (only min, max and abs)", node)
        if node.keywords:
            self.fail(f"{name}() takes no keyword arguments", node)
        arguments = [self.visit(a) for a in node.args]
        if name == "abs" and len(arguments) != 1 or name != "abs" and len(arguments) < 2:
            self.fail(f"{name}() takes {'one number' if name == 'abs' else 'two or more numbers'}", node)
        for typed, argument in zip(arguments, node.args, strict=True):
            self.expect(typed, Kind.NUMBER, argument, f"{name}() needs numbers")
        lowered = [a.lower for a in arguments]

        def lower(env: _Columns) -> Any:
            if name == "abs":
                return env.np.abs(lowered[0](env))
            return reduce(env.np.minimum if name == "min" else env.np.maximum, (f(env) for f in lowered))

        call = ast.Call(self.bind(FUNCTIONS[name]), [a.node for a in arguments], [])
        return _Typed(Kind.NUMBER, call, lower)

    # -- comparisons ------------------------------------------------------------------------------------------

    def visit_Compare(self, node: ast.Compare) -> _Typed:
        first = left = self.visit(node.left)
        left_node: ast.expr = node.left
        comparators: list[ast.expr] = []
        steps: list[Lowered] = []
        for index, (op, right_node) in enumerate(zip(node.ops, node.comparators, strict=True)):
            if type(op) in _REFUSED_OPERATORS:
                self.fail(f"{_REFUSED_OPERATORS[type(op)]} is not allowed in a rule", node)
            if isinstance(op, ast.In | ast.NotIn):
                if index < len(node.ops) - 1:
                    self.fail(f"a comparison may not follow `{_SYMBOLS[type(op)]}`", right_node)
                compiled, step = self.membership(left, left_node, op, right_node)
                comparators.append(compiled)
                steps.append(step)
                continue
            right = self.visit(right_node)
            self.compare(left, left_node, op, right, right_node)
            steps.append(self.compare_step(left.lower, op, right.lower))
            comparators.append(right.node)
            left, left_node = right, right_node

        def lower(env: _Columns) -> Any:
            return reduce(env.np.logical_and, (step(env) for step in steps))

        return _Typed(Kind.BOOL, ast.Compare(first.node, [type(op)() for op in node.ops], comparators), lower)

    @staticmethod
    def compare_step(lower_left: Lowered, op: ast.cmpop, lower_right: Lowered) -> Lowered:
        apply = _COMPARISONS[type(op)]
        return lambda env: apply(lower_left(env), lower_right(env))

    def compare(self, left: _Typed, left_node: ast.AST, op: ast.cmpop, right: _Typed, right_node: ast.AST) -> None:
        symbol = _SYMBOLS[type(op)]
        if isinstance(op, ast.Eq | ast.NotEq):
            for typed, side in ((left, left_node), (right, right_node)):
                if typed.kind not in SCALAR_KINDS:
                    self.fail(f"`{symbol}` compares true/false values, numbers or strings, but {self.segment(side)} "
                              f"is a {typed.kind}", side)
            if left.kind != right.kind:
                self.fail(f"`{symbol}` compares values of one kind, but {self.segment(left_node)} is a {left.kind} "
                          f"and {self.segment(right_node)} a {right.kind}", right_node)
            return
        for typed, side in ((left, left_node), (right, right_node)):
            self.expect(typed, Kind.NUMBER, side, f"`{symbol}` orders numbers")

    def membership(self, left: _Typed, left_node: ast.AST, op: ast.cmpop,
                   right_node: ast.expr) -> tuple[ast.expr, Lowered]:
        """``x in [constants]``, ``x in <a list value of the file>`` or ``'member' in <a list input>``."""
        negate = isinstance(op, ast.NotIn)
        if isinstance(right_node, ast.Name) and self.inputs.get(right_node.id) == Kind.STRING_LIST:
            return self.list_input(left, left_node, right_node, negate)
        members = self.members(right_node)
        if left.kind not in SCALAR_KINDS or members.kind not in (None, left.kind):
            self.fail(f"`{_SYMBOLS[type(op)]}` needs a value of the list's kind, but {self.segment(left_node)} is "
                      f"a {left.kind} and {self.segment(right_node)} a list of {members.kind} values", right_node)
        values = frozenset(members.values)
        compiled = self.bind(values) if members.kind == Kind.NUMBER else ast.Constant(values)  # type: ignore[arg-type]
        plain, lower_left = [_plain(v) for v in members.values], left.lower

        def step(env: _Columns) -> Any:
            found = env.np.isin(lower_left(env), plain) if plain else env.np.zeros(env.size, dtype=bool)
            return env.np.logical_not(found) if negate else found

        return compiled, step

    def list_input(self, left: _Typed, left_node: ast.AST, right_node: ast.Name,
                   negate: bool) -> tuple[ast.expr, Lowered]:
        name = right_node.id
        if left.kind != Kind.STRING or left.const is _NOT_CONSTANT:
            self.fail(f"only a string written in the rule may be looked up in {name!r} (e.g. 'pi' in {name}), "
                      f"not {self.segment(left_node)}", left_node)
        self.used_inputs[name] = Kind.STRING_LIST
        member = left.const

        def step(env: _Columns) -> Any:
            found = env.member(name, member)
            return env.np.logical_not(found) if negate else found

        return ast.Name(name, ast.Load()), step

    def members(self, node: ast.expr) -> _Members:
        if isinstance(node, ast.Name) and node.id not in self.inputs and node.id not in self.constants:
            self.unknown(node.id, node)
        if isinstance(node, ast.Name) and node.id in self.constants:
            value = self.constants[node.id]
            if isinstance(value, list | tuple) and (not value or _list_kind(value) is not None):
                self.used_constants[node.id] = value
                kind = _list_kind(value)
                return _Members(kind, tuple(decimal(v) if kind == Kind.NUMBER else v for v in value))
            self.fail(f"{node.id!r} is not a list of numbers, true/false values or strings", node)
        if not isinstance(node, ast.List | ast.Tuple):
            self.fail("`in` needs a literal list of constants (`x in ['a', 'b']`), a list value of the rule's file "
                      "or a list input", node)
        items = [self.visit(element) for element in node.elts]
        for item, element in zip(items, node.elts, strict=True):
            if item.const is _NOT_CONSTANT:
                self.fail(f"the list after `in` may hold only constants, not {self.segment(element)}", element)
            if isinstance(item.node, ast.Name):  # a number: the set of them is bound instead
                del self.bindings[item.node.id]
        kinds = {item.kind for item in items}
        if len(kinds) > 1:
            self.fail("the list after `in` mixes kinds of values", node)
        return _Members(kinds.pop() if kinds else None, tuple(item.const for item in items))


class _Columns:
    """What a lowered expression reads: the columns, their length, and numpy."""

    def __init__(self, np: Any, columns: Mapping[str, Any], size: int):
        self.np, self.columns, self.size = np, columns, size
        self.read: dict[str, Any] = {}

    def column(self, name: str, kind: Kind) -> Any:
        if name in self.read:
            return self.read[name]
        if name not in self.columns:
            raise ExpressionError(f"no column {name!r}")
        array = self.np.asarray(self.columns[name])
        expected = {Kind.BOOL: "b", Kind.NUMBER: "iuf", Kind.STRING: "UO"}[kind]
        if array.shape != (self.size,) or array.dtype.kind not in expected:
            raise ExpressionError(f"column {name!r} must be a one-dimensional {kind} array of {self.size} "
                                  f"(got {array.dtype} {array.shape})")
        self.read[name] = array
        return array

    def member(self, name: str, member: str) -> Any:
        key = f"{name}:{member}"
        if key not in self.columns:
            return self.np.zeros(self.size, dtype=bool)
        return self.column(key, Kind.BOOL)


class _Checked:
    """No input is of this type: a number is always checked (finite) and converted (exact Decimal)."""


_BOOL, _NUMBER, _STRING = Kind.BOOL, Kind.NUMBER, Kind.STRING


def _decimal_of_integral(value: Any) -> Decimal:
    return Decimal(int(value))


def _decimal_of_real(value: Any) -> Decimal | None:
    try:
        return decimal(value)  # a float's (or numpy float's) shortest text, as engine.base.numbers reads it
    except (InvalidOperation, ValueError):  # e.g. a Fraction, which has no decimal text
        return None


_NUMBER_TYPES: dict[type, Callable[[Any], Decimal | None]] = {int: Decimal, float: decimal, Decimal: decimal}
_EXACT_TYPES = {Kind.BOOL: bool, Kind.NUMBER: _Checked, Kind.STRING: str, Kind.STRING_LIST: list}


def _getter(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """Reads the inputs, in order, as a tuple (in C: operator.itemgetter)."""
    if len(names) > 1:
        return operator.itemgetter(*names)
    if names:
        name = names[0]
        return lambda values: (values[name],)
    return lambda values: ()


class Expression:
    """A checked, compiled condition or formula.

    ``text`` is the rule's text; ``kind`` is ``"condition"`` or ``"formula"``; ``names`` the inputs it reads
    (the file's values excluded); ``inputs`` maps them to their kinds; ``constants`` holds the values of the
    rule's file it names, folded in when it was compiled.
    """

    __slots__ = ("text", "kind", "inputs", "constants", "names", "_code", "_globals", "_order", "_kinds", "_types",
                 "_get", "_direct", "_lower")

    text: str
    kind: ExpressionKind
    inputs: Mapping[str, Kind]
    constants: Mapping[str, Any]
    names: frozenset[str]
    _code: Any
    _globals: dict[str, Any]
    _order: tuple[str, ...]
    _kinds: tuple[Kind, ...]
    _types: tuple[type, ...]
    _get: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    _direct: bool
    _lower: Lowered

    def __init__(self, text: str, kind: ExpressionKind, compiler: _Compiler, root: _Typed):
        body = ast.fix_missing_locations(ast.Expression(root.node))
        order = tuple(sorted(compiler.used_inputs))
        fields = {
            "text": text,
            "kind": kind,
            "inputs": dict(compiler.used_inputs),
            "constants": dict(compiler.used_constants),
            "names": frozenset(compiler.used_inputs),
            "_code": compile(body, f"<{kind} {text[:60]!r}>", "eval"),
            "_globals": {"__builtins__": {}, **compiler.bindings},
            "_order": order,
            "_kinds": tuple(compiler.used_inputs[n] for n in order),
            "_types": tuple(_EXACT_TYPES[compiler.used_inputs[n]] for n in order),
            "_get": _getter(order),
            "_direct": not compiler.bindings,  # nothing private to shadow: the caller's mapping can be the scope
            "_lower": root.lower,
        }
        for key, value in fields.items():
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: Any) -> NoReturn:
        raise AttributeError("a compiled expression cannot be changed")

    def __repr__(self) -> str:
        return f"Expression({self.kind} {self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and (self.text, self.kind, self.inputs, self.constants) == (
            other.text, other.kind, other.inputs, other.constants)

    def __hash__(self) -> int:
        return hash((self.text, self.kind))

    def __reduce__(self) -> tuple[Any, ...]:
        return compile_expression, (self.text, self.inputs, self.constants, self.kind)

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """The value with ``values`` for its inputs (extra names are ignored): a bool for a condition, a Decimal for
        a formula. An int or float input is read as an exact Decimal; a missing or ill-typed input is an
        ExpressionError."""
        try:
            got = self._get(values)
        except KeyError as missing:
            raise ExpressionError(f"{self.kind} {_shown(self.text)} needs the input {missing.args[0]!r}") from None
        if tuple(map(type, got)) == self._types:  # every input already of its exact type: bind as given
            scope = values if self._direct else dict(zip(self._order, got, strict=True))
        else:  # numbers (always converted) or an input of another type (checked)
            scope = dict(zip(self._order, got, strict=True))
            for name, value, kind, exact in zip(self._order, got, self._kinds, self._types, strict=True):
                if value.__class__ is not exact:
                    scope[name] = self._input(name, value, kind)
        return eval(self._code, self._globals, scope)  # a checked, compiled tree; no builtins

    def _input(self, name: str, value: Any, kind: Kind) -> Any:
        """An input as the compiled code reads it: a bool, a finite Decimal, a str, or a list."""
        if kind is _NUMBER:
            convert = _NUMBER_TYPES.get(value.__class__)  # int, float, Decimal: without the ABC checks below
            if convert is None and isinstance(value, Real) and not isinstance(value, bool):  # e.g. numpy numbers
                convert = _decimal_of_integral if isinstance(value, Integral) else _decimal_of_real
            number = convert(value) if convert is not None else None
            if number is not None and number.is_finite():
                return number
        elif kind is _BOOL:
            if value.__class__ is bool or type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):
                return bool(value)  # numpy.bool_ is named bool in numpy 2
        elif isinstance(value, str if kind is _STRING else list | tuple | set | frozenset):
            return value
        raise ExpressionError(f"{self.kind} {_shown(self.text)} needs {name!r} as a {kind}, but was given {value!r}")

    def lower(self, columns: Mapping[str, Any], size: int | None = None) -> NDArray[Any]:
        """The value for every entity at once: ``columns`` maps each input to a one-dimensional array (bool;
        int64 or float64 numbers; str or object strings), a list input as one bool column per member under
        ``"name:member"`` (e.g. ``"eucApproved:pi"``; a missing member column is all False). ``size`` is the
        number of entities, needed only when no column is given. Returns a bool or number array."""
        import numpy as np

        if size is None:
            present = [k for k in columns if k in self.names or k.split(":", 1)[0] in self.names] or list(columns)
            if not present:
                raise ExpressionError(f"{self.kind} {_shown(self.text)}: no columns, so give the number of entities (size=)")
            size = len(columns[present[0]])
        result = np.asarray(self._lower(_Columns(np, columns, size)))
        return np.full(size, result.item()) if result.ndim == 0 else result


def compile_expression(text: str, inputs: Mapping[str, Kind | str], constants: Mapping[str, Any],
                       kind: ExpressionKind) -> Expression:
    """Check ``text`` against the grammar and types, and compile it once.

    ``inputs`` maps each name the rule may read to its kind (engine.rules.names.INPUT_SETS); ``constants`` maps the
    values of the rule's own file to their values (each one's kind is its value's; they are folded in; a name
    that is also an input is refused); ``kind`` is ``"condition"`` (true/false) or ``"formula"`` (a number).
    Raises :class:`ExpressionError` for anything the grammar, the limits or the types refuse.
    """
    if kind not in RESULT_KINDS:
        raise ExpressionError(f"an expression is a 'condition' or a 'formula', not {kind!r}")
    if not isinstance(inputs, Mapping) or not isinstance(constants, Mapping):
        raise TypeError("compile_expression takes the inputs as a mapping of name to kind (engine.rules.names.INPUT_SETS) "
                        "and the file's values as a mapping of name to value")
    if not isinstance(text, str):
        raise ExpressionError(f"a {kind} must be text, not {type(text).__name__}")
    if len(text) > MAX_CHARACTERS:
        raise ExpressionError(f"a {kind} of {len(text):,} characters; at most {MAX_CHARACTERS:,} are allowed")
    kinds = _declared(inputs, constants)
    source = text.strip()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # text Python only warns about (``1if x else 2``) is refused, not printed
            tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        column = f" (column {exc.offset + len(text) - len(text.lstrip())})" if exc.offset and "\n" not in source else ""
        raise ExpressionError(f"{kind} {_shown(text)} does not parse: {exc.msg}{column}") from None
    except (RecursionError, MemoryError, ValueError, OverflowError, Warning) as exc:
        raise ExpressionError(f"{kind} {_shown(text)} does not parse: {type(exc).__name__}: {str(exc)[:100]}") from None
    parts, depth = _count_and_depth(tree)
    if parts > MAX_NODES:
        raise ExpressionError(f"{kind} {_shown(text)} has {parts} parts (AST nodes); at most {MAX_NODES} are allowed")
    if depth > MAX_DEPTH:
        raise ExpressionError(f"{kind} {_shown(text)} nests {depth} deep; at most {MAX_DEPTH} levels are allowed")
    compiler = _Compiler(text, source, len(text) - len(text.lstrip()), kinds, constants, kind)
    root = compiler.visit(tree.body)
    if root.kind != RESULT_KINDS[kind]:
        wanted = "true or false" if kind == "condition" else "a number"
        compiler.fail(f"a {kind} must be {wanted}, but this is a {root.kind}")
    return Expression(source, kind, compiler, root)


def _declared(inputs: Mapping[str, Kind | str], constants: Mapping[str, Any]) -> dict[str, Kind]:
    kinds: dict[str, Kind] = {}
    for name, declared in inputs.items():
        try:
            kinds[name] = Kind(declared)
        except ValueError:
            raise ExpressionError(f"input {name!r} is declared as {declared!r}, which is not a kind of value "
                                  f"({', '.join(k.value for k in Kind)})") from None
        if name.startswith(_RESERVED):
            raise ExpressionError(f"input {name!r}: names starting with {_RESERVED!r} are reserved")
    clashes = sorted(set(constants) & set(kinds))
    if clashes:
        raise ExpressionError(f"the rule's file has a value named {clashes[0]!r}, which is also the name of an input; "
                              f"rename the value")
    return kinds
