"""Policy formulas: simpleeval expressions parsed once at load, their names checked up front."""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from simpleeval import EvalWithCompoundTypes

from engine.base.numbers import decimal

FUNCTIONS = {"min": min, "max": max, "abs": abs}


def _names(tree: ast.AST) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension):
            for target in ast.walk(node.target):
                if isinstance(target, ast.Name):
                    bound.add(target.id)
    return {
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id not in bound
    }


class ExpressionError(ValueError):
    """An expression does not parse, or names something that is not declared."""


@dataclass(frozen=True)
class Expression:
    """A parsed formula with the names it reads."""

    text: str
    parsed: Any = field(repr=False, compare=False)
    names: frozenset[str]

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """Evaluate with exactly the declared names bound (numbers as Decimal)."""
        evaluator = EvalWithCompoundTypes(
            names={k: _decimalise(v) for k, v in values.items()}, functions=FUNCTIONS
        )
        return evaluator.eval(self.text, previously_parsed=self.parsed)


def _decimalise(value: Any) -> Any:
    if isinstance(value, float):
        return decimal(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value


def compile_expression(text: str, allowed: Iterable[str]) -> Expression:
    """Parse ``text`` and check every name it uses against ``allowed``."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"formula {text!r} does not parse: {exc.msg}") from None
    allowed_set = set(allowed) | {"True", "False", "None"}
    names = _names(tree) - set(FUNCTIONS)
    unknown = sorted(names - allowed_set)
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, sorted(allowed_set), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ExpressionError(
            f"formula {text!r} uses {name!r}, which is not a declared input{hint} "
            f"(declared: {', '.join(sorted(allowed_set - {'True', 'False', 'None'}))})"
        )
    return Expression(text.strip(), EvalWithCompoundTypes().parse(text.strip()), frozenset(names))
