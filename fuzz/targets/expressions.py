"""Rule expressions from hostile to random: each is put in place of a rulebook condition or formula (by a what-if,
or written into the rule file), and must be refused at load with its file, line and column, or load and then
evaluate safely: scored on samples of its year (one at a time and as a batch), evaluated directly with inputs of
every kind and size, and in fixed point on one entity and on columns, which must agree exactly.

Cases: known sandbox-escape payloads, constructs the grammar refuses, resource bombs (``9**9**9``, deep nesting,
long text), division by zero (by a constant, by a value of the file a second what-if sets to 0, by an input),
random well-typed expression trees over the rule's inputs and its file's values, and character-level mutations
of the shipped expressions.
"""

from __future__ import annotations

import random
from decimal import Decimal
from functools import cache
from typing import Any

import numpy as np
import yaml

import engine
from engine.base.exact import ArrayOps, ScalarOps
from engine.rules import fixed_point
from engine.rules.expressions import Expression
from engine.rules.names import INPUT_SETS, Kind
from fuzz.harness import Case
from fuzz.targets.rulebooks import original, restore, score_all, workspace, years

KIND = "expressions"
DIGITS = 6

SANDBOX: list[str] = [
    "__import__('os').system('true')",
    "().__class__.__bases__[0].__subclasses__()",
    "().__class__.__mro__[1].__subclasses__()",
    "(lambda: 0).__globals__",
    "automatic_euc.__globals__",
    "[].__class__",
    "''.join",
    "open('/etc/passwd').read()",
    "eval('1')",
    "exec('x=1')",
    "compile('1', '', 'eval')",
    "globals()",
    "locals()",
    "vars()",
    "dir()",
    "getattr(entity_type, 'upper')",
    "__builtins__",
    "__builtins__['eval']",
    "__v0",
    "__loader__",
    "__spec__",
    "f'{entity_type}'",
    "f'{().__class__}'",
    "'%s' % entity_type",
    "'{}'.format(entity_type)",
    "'{0.__class__}'.format(entity_type)",
    "lambda: 1",
    "(lambda x: x)(1)",
    "[x for x in (1, 2)]",
    "{x for x in (1, 2)}",
    "{x: x for x in (1, 2)}",
    "(x for x in (1, 2))",
    "(piHardship := True) and False or entity_type == 'individual'",
    "(automatic_euc := True)",
    "'a' * 10**9",
    "'a' * 1000000000",
    "4000000**4000000",
    "9**9**9",
    "2**10000",
    "10**12 * 10**12 * 10**12",
    "1e309",
    "-1e309",
    "1e-309",
    "0x7fffffffffffffffffffffffff",
    "1_000_000_000_000_000",
    "1 / 0",
    "1 // 0",
    "1 % 0",
    "1 / (1 - 1)",
    "1 / 0.0",
    "1 / -0",
    "clinicianCount / 0",
    "clinicianCount / clinicianCount",
    "averageHccScore / dualEligibleRatio",
    "averageHccScore / (dualEligibleRatio - dualEligibleRatio)",
    "unknown_name",
    "entityType == 'individual'",
    "entity_tyep == 'individual'",
    "énțity_type == 'individual'",
    "ｅｎｔｉｔｙ_ｔｙｐｅ == 'individual'",
    "entity_type == 'individual' == 'individual' == 'individual'",
    "1 < 2 < 3 < 4 < 5 < 6",
    "clinicianCount < 1 < clinicianCount < 2",
    "entity_type < 'z'",
    "entity_type + 1",
    "not clinicianCount",
    "min()",
    "min(1)",
    "max('a', 'b')",
    "abs(1, 2)",
    "min(*[1, 2])",
    "min(a=1)",
    "True + True",
    "None",
    "...",
    "b'x'",
    "1j",
    "{}",
    "[]",
    "()",
    "entity_type in entity_type",
    "entity_type in eucApproved",
    "'pi' in eucApproved in eucApproved",
    "eucApproved == []",
    "entity_type in [entity_type]",
    "entity_type in ['a', 1]",
    "clinicianCount in [1, 2.5, 1e3]",
    "x if True else 1",
    "1 if 2 else 3",
    "yield 1",
    "await x",
    "import os",
    "x = 1",
    "del x",
    "assert False",
    "raise SystemExit",
    "1; 2",
    "1\n2",
    "(\n1\n)",
    "# comment",
    "",
    " ",
    "\x00",
    "\ud800",
    "entity_type == '\x00'",
    "'\\N{LATIN SMALL LETTER A}' == entity_type",
    "entity_type is 'individual'",
    "entity_type is not None",
    "~1",
    "+1",
    "1 @ 2",
    "1 << 64",
    "1 | 2",
    "1 ^ 2",
    "1 & 2",
    "entity_type[0]",
    "entity_type[::-1]",
    "entity_type.upper()",
    "\\",
    "'" * 3,
    "(" * 100 + "1" + ")" * 100,
    "(" * 100_000 + "1" + ")" * 100_000,
    "-" * 100_000 + "1",
    "not " * 10_000 + "True",
    "1 + " * 300 + "1",
    "1" + " + 1" * 100_000,
    "x" * 1_000_000,
    "[" * 1000 + "]" * 1000,
    "a" * 2001,
    "'" + "a" * 1999 + "'",
    "1.0000000000001",
    "0.1234567890123",
    "999999999999 * 999999999999 * 999999999999",
    "-999999999999 * 999999999999",
    "min(999999999999 * 999999999999, averageHccScore * 999999999999 * 999999999999)",
]

ODD_NUMBERS: list[Any] = [0, -1, 1, 10**12, -(10**12), 10**12 + 1, 1e-12, 0.5, 999999999999.999999, 1e308, float("nan"),
                          float("inf"), -0.0, 3, 1e-30, 1e30, True, "2", None, [], 2**63, 7 / 3]
TOKENS: list[str] = ["(", ")", "**", "//", "%", ".", "[", "]", ",", " lambda ", "__class__", "'", '"', "f'", ":=", " * ",
                     "@", "~", "\\", "\n", "\t", "#", " if ", " else ", " not ", " in ", " is ", "0", "1e309", "１",
                     " and ", " or ", "==", "<", "-", "/", "/0", "min(", "max(", "abs(", " True ", "None", "9" * 20]


@cache
def rules(year: int) -> tuple[tuple[str, str], ...]:
    """Each rule's address and kind."""
    return tuple((address, rule.expression.kind) for address, rule in sorted(engine.load(year).rules.items()))


@cache
def file_values(year: int, stem: str) -> tuple[tuple[str, Any], ...]:
    """The top-level values of a rule file an expression of it may name."""
    book = engine.load(year)
    return tuple((a.split(".", 1)[1], p.value) for a, p in sorted(book.params.items())
                 if a.startswith(f"{stem}.") and a.count(".") == 1)


@cache
def _inputs(year: int, address: str) -> dict[str, Kind]:
    """The inputs the rule at ``address`` declares (its node's ``inputs``: a set of ``engine.rules.names``); a bare
    ``applies_when`` condition reads the eligibility inputs, as the loader compiles it."""
    doc = yaml.load(original(year, f"{address.split('.')[0]}.yaml"), Loader=yaml.CSafeLoader)
    parent, last = _node(doc, address)
    target = next(i for i in parent if i.get("id") == last) if isinstance(parent, list) else parent[last]
    return dict(INPUT_SETS[target["inputs"] if isinstance(target, dict) else "eligibility"])


class _Trees:
    """Random well-typed expressions (with some deliberate type errors) over a rule's inputs and its file's values."""

    def __init__(self, rng: random.Random, inputs: dict[str, Kind], values: tuple[tuple[str, Any], ...]):
        self.rng = rng
        self.names = {kind: [n for n, k in inputs.items() if k == kind] for kind in Kind}
        for name, value in values:
            kind = Kind.BOOL if isinstance(value, bool) else Kind.NUMBER if isinstance(value, int | float) else \
                Kind.STRING if isinstance(value, str) else None
            if kind is not None:
                self.names[kind].append(name)
        self.lists = [n for n, v in values if isinstance(v, list | tuple)]

    def number_literal(self) -> str:
        return self.rng.choice(["0", "1", "2", "10", "100", "0.5", "1.5", "0.000001", "999999999999", "1_000", "0x10",
                                "0.123456789012", "7", "3.25", "-4", str(self.rng.randint(0, 10**6)),
                                f"{self.rng.random():.6f}"])

    def number(self, depth: int) -> str:
        rng = self.rng
        if depth <= 0 or rng.random() < 0.25:
            names = self.names[Kind.NUMBER]
            return rng.choice(names) if names and rng.random() < 0.6 else self.number_literal()
        pick = rng.randrange(7)
        if pick == 0:
            return f"-{self.number(depth - 1)}"
        if pick in (1, 2):
            return f"({self.number(depth - 1)} {rng.choice('+-*')} {self.number(depth - 1)})"
        if pick == 3:
            divisor = rng.choice([self.number_literal(), *self.names[Kind.NUMBER][:3], "0", "0.0"])
            return f"({self.number(depth - 1)} / {divisor})"
        if pick == 4:
            fn = rng.choice(["min", "max"])
            return f"{fn}({', '.join(self.number(depth - 1) for _ in range(rng.randint(2, 4)))})"
        if pick == 5:
            return f"abs({self.number(depth - 1)})"
        return f"({self.number(depth - 1)} if {self.condition(depth - 1)} else {self.number(depth - 1)})"

    def condition(self, depth: int) -> str:
        rng = self.rng
        if depth <= 0 or rng.random() < 0.2:
            names = self.names[Kind.BOOL]
            return rng.choice(names) if names and rng.random() < 0.8 else rng.choice(["True", "False"])
        pick = rng.randrange(8)
        if pick == 0:
            return f"not {self.condition(depth - 1)}"
        if pick in (1, 2):
            return f"({self.condition(depth - 1)} {rng.choice(['and', 'or'])} {self.condition(depth - 1)})"
        if pick == 3:
            ops = [rng.choice(["<", "<=", ">", ">=", "==", "!="]) for _ in range(rng.randint(1, 3))]
            return "(" + " ".join(f"{self.number(depth - 1)} {op}" for op in ops) + f" {self.number(depth - 1)})"
        if pick == 4 and self.names[Kind.STRING]:
            values = ", ".join(repr(v) for v in rng.sample(["individual", "group", "apm", "app1", "mips", "", "x"], 3))
            name = rng.choice(self.names[Kind.STRING])
            return f"({name} {rng.choice(['in', 'not in'])} [{values}])" if rng.random() < 0.5 else \
                f"({name} {rng.choice(['==', '!='])} {values.split(', ')[0]})"
        if pick == 5 and self.names[Kind.STRING_LIST]:
            return f"({rng.choice(['quality', 'pi', 'ia', 'cost', 'x'])!r} in {rng.choice(self.names[Kind.STRING_LIST])})"
        if pick == 6 and self.lists and self.names[Kind.STRING]:
            return f"({rng.choice(self.names[Kind.STRING])} in {rng.choice(self.lists)})"
        return f"({self.condition(depth - 1)} if {self.condition(depth - 1)} else {self.condition(depth - 1)})"


def _pick_rule(rng: random.Random) -> tuple[int, str, str]:
    year = rng.choice(years())
    address, kind = rng.choice(rules(year))
    return year, address, kind


def _case(year: int, address: str, text: str, label: str, rng: random.Random, **extra: Any) -> Case:
    via = "file" if rng.random() < 0.2 else "set"
    return Case(f"{label} as {address} ({year}, {via})", {"year": year, "address": address, "text": text, "via": via,
                                                          **extra})


def _sandbox(rng: random.Random, index: int) -> Case:
    year, address, _ = _pick_rule(rng)
    text = SANDBOX[(index // len(GENERATORS)) % len(SANDBOX)]
    return _case(year, address, text, f"payload {text[:30]!r}", rng)


def _tree(rng: random.Random, index: int) -> Case:
    year, address, kind = _pick_rule(rng)
    trees = _Trees(rng, _inputs(year, address), file_values(year, address.split(".")[0]))
    depth = rng.choice([1, 2, 3, 4, 6])
    wanted = kind if rng.random() < 0.9 else rng.choice(["formula", "condition"])
    text = trees.number(depth) if wanted == "formula" else trees.condition(depth)
    return _case(year, address, text, f"tree depth {depth}", rng)


def _zeroed(rng: random.Random, index: int) -> Case:
    """A formula dividing by a value of its file, with a second what-if setting that value to 0 (or another odd
    number)."""
    year, address, kind = _pick_rule(rng)
    stem = address.split(".")[0]
    numbers = [n for n, v in file_values(year, stem) if isinstance(v, int | float) and not isinstance(v, bool)]
    trees = _Trees(rng, _inputs(year, address), file_values(year, stem))
    if not numbers:
        return _tree(rng, index)
    name = rng.choice(numbers)
    body = f"({trees.number(2)} / {name})"
    text = body if kind == "formula" else f"{body} > {trees.number(1)}"
    value = rng.choice(ODD_NUMBERS)
    return _case(year, address, text, f"divided by {name} = {value}", rng, extra={f"{stem}.{name}": value})


def _mutated(rng: random.Random, index: int) -> Case:
    year, address, _ = _pick_rule(rng)
    text = engine.load(year).rule(address).expression.text
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(text) + 1)
        how = rng.randrange(3)
        if how == 0:
            text = text[:at] + rng.choice(TOKENS) + text[at:]
        elif how == 1:
            text = text[:at] + text[at + rng.randint(1, 5):]
        else:
            text = text[:at] + text[at:at + 10] * rng.randint(2, 5) + text[at + 10:]
    return _case(year, address, text, "mutated", rng)


GENERATORS = [_sandbox, _tree, _tree, _mutated, _zeroed, _tree]


def case(seed: int, index: int) -> Case:
    return GENERATORS[index % len(GENERATORS)](random.Random(f"{seed}:{index}"), index)


# -- running a case ----------------------------------------------------------------------------------------------

def _node(doc: Any, address: str) -> tuple[Any, str]:
    """The mapping or list holding the rule at ``address`` in its file's data, and the rule's key or id there."""
    *parts, last = address.split(".")[1:]
    node = doc
    for part in parts:
        node = next(i for i in node if i.get("id") == part) if isinstance(node, list) else node[part]
    return node, last


def _set_in_file(doc: Any, address: str, text: str) -> None:
    """Write ``text`` as the expression at ``address`` of a rule file's data."""
    node, last = _node(doc, address)
    target = next(i for i in node if i.get("id") == last) if isinstance(node, list) else node[last]
    if isinstance(target, dict):
        target["formula" if "formula" in target else "when"] = text
    else:
        node[last] = text


def _load(payload: dict[str, Any]) -> Any:
    year, address, text = payload["year"], payload["address"], payload["text"]
    overrides = dict(payload.get("extra", {}))
    if payload["via"] == "set":
        return engine.load(year, {address: text, **overrides})
    folder = workspace() / "books" / str(year)
    name = f"{address.split('.')[0]}.yaml"
    doc = yaml.load(original(year, name), Loader=yaml.CSafeLoader)
    _set_in_file(doc, address, text)
    (folder / name).write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000))
    try:
        return engine.load(folder, overrides)
    finally:
        restore(folder, name)


def _values(rng: random.Random, inputs: dict[str, Kind]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, kind in inputs.items():
        if kind == Kind.NUMBER:
            values[name] = rng.choice([0, 1, -1, 0.5, 10**9, -(10**9), 1.8, Decimal("0.000001"), 123456.789, 10**12])
        elif kind == Kind.BOOL:
            values[name] = rng.random() < 0.5
        elif kind == Kind.STRING:
            values[name] = rng.choice(["individual", "group", "apm", "app1", "", "physician"])
        else:
            values[name] = rng.sample(["quality", "pi", "ia", "cost"], rng.randint(0, 2))
    return values


def _check(expression: Expression, rng: random.Random) -> None:
    """Evaluate with odd inputs: exact, in fixed point on one entity and on columns; the three must agree."""
    inputs = dict(expression.inputs)
    rows = [_values(rng, inputs) for _ in range(8)]
    exact = [expression.evaluate(row) for row in rows]
    fixed = [{n: fixed_point.to_fixed(v, DIGITS) if inputs[n] == Kind.NUMBER else v for n, v in row.items()}
             for row in rows]
    one = [fixed_point.evaluate(expression, ScalarOps, row, DIGITS, "half_up") for row in fixed]
    columns: dict[str, Any] = {}
    for name, kind in inputs.items():
        if kind == Kind.STRING_LIST:
            columns.update({f"{name}:{m}": np.array([m in r[name] for r in rows]) for m in ("quality", "pi", "ia", "cost")})
        else:
            columns[name] = np.array([r[name] for r in fixed], dtype=np.int64 if kind == Kind.NUMBER else None)
    many = np.broadcast_to(fixed_point.evaluate(expression, ArrayOps, columns, DIGITS, "half_up"), (len(rows),)).tolist()
    expression.lower({k: v for k, v in columns.items() if inputs.get(k) != Kind.NUMBER}
                     | {n: np.array([r[n] for r in rows], dtype=float) for n, k in inputs.items() if k == Kind.NUMBER},
                     size=len(rows))
    # rounding each product to six decimals may move a comparison from its exact value; one entity and columns
    # compute the same fixed-point arithmetic, so they must agree exactly
    assert len(exact) == len(one) and one == many, (expression.text, one, many)


def run(case: Case) -> None:
    payload = case.payload
    book = _load(payload)
    score_all(book, payload["year"])
    _check(book.rule(payload["address"]).expression, random.Random(case.label))
