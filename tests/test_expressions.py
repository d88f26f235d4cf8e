"""Rule expressions: the restricted grammar and its limits, the type check, constant folding, the compiled scalar
evaluation, and the lowering to numpy columns (which must agree with it on every rule of every rulebook)."""

from __future__ import annotations

import ast
import pickle
import types
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import engine.rules.expressions as expressions
from engine.rules.expressions import Expression, ExpressionError, compile_expression
from engine.rules.names import COMPLEX_PATIENT, ELIGIBILITY, INPUT_SETS, PROFILE_FLAGS, Kind

ROOT = Path(__file__).resolve().parents[1]
YEARS = sorted(p.name for p in (ROOT / "rules").iterdir() if p.is_dir() and p.name.isdigit())

# Inputs of every kind, with short names, for the grammar's own tests.
KINDS = {"flag": Kind.BOOL, "other": Kind.BOOL, "n": Kind.NUMBER, "m": Kind.NUMBER, "s": Kind.STRING,
         "tags": Kind.STRING_LIST}
CONSTANTS = {"cap": 2.5, "zero": 0, "names": ["a", "b"], "nums": [1, 2.5], "on": True, "label": "a",
             "table": {"rows": []}}
ROW = {"flag": True, "other": False, "n": 1.5, "m": 3, "s": "a", "tags": ["a", "pi"]}


def condition(text: str, constants: dict[str, Any] | None = None) -> Expression:
    return compile_expression(text, KINDS, CONSTANTS if constants is None else constants, "condition")


def formula(text: str, constants: dict[str, Any] | None = None) -> Expression:
    return compile_expression(text, KINDS, CONSTANTS if constants is None else constants, "formula")


# -- the grammar refuses everything else, naming the construct ---------------------------------------------------

REFUSED = [
    ("().__class__.__bases__[0].__subclasses__()", "attribute access ('.__subclasses__')"),
    ("s.__class__ == s", "attribute access ('.__class__')"),
    ("__import__('os')", "a call to '__import__' is not allowed"),
    ("abs(n) > open('x')", "a call to 'open' is not allowed"),
    ("(lambda: 1)()", "a lambda is not allowed"),
    ("[x for x in tags]", "a comprehension is not allowed"),
    ("any(x for x in tags)", "a call to 'any'"),
    ("'%s' % s == 'a'", "the % operator (modulo or string formatting)"),
    ("f'{s}' == 'a'", "an f-string is not allowed"),
    ("'{}'.format(s) == 'a'", "attribute access ('.format')"),
    ("'a'.ljust(10**9) == s", "attribute access ('.ljust')"),
    ("4000000**4000000 > 0", "the power operator **"),
    ("9**9**9 > 0", "the power operator **"),
    ("n // 2 > 0", "floor division //"),
    ("n % 2 > 0", "the % operator"),
    ("n & 1 == 1", "the bit operator &"),
    ("n | 1 == 1", "the bit operator |"),
    ("n ^ 1 == 1", "the bit operator ^"),
    ("n << 1 == 1", "the bit operator <<"),
    ("~n == 1", "the bit operator ~"),
    ("(x := 1) == 1", "an assignment expression (:=)"),
    ("min(*tags) > 0", "a starred argument (*)"),
    ("{'a': 1} == {'a': 1}", "a dict literal"),
    ("{1} == {1}", "a set literal"),
    ("b'x' == b'x'", "a bytes literal"),
    ("1j == 1j", "a complex number"),
    ("s == None", "None is not allowed"),
    ("tags[0] == 'a'", "a subscript"),
    ("s is 'a'", "`is` is not allowed"),
    ("s is not 'a'", "`is not` is not allowed"),
    ("+n > 0", "unary + is not allowed"),
    ("[1, 2] == [1, 2]", "a list outside `x in [...]`"),
    ("(1, 2) == (1, 2)", "a tuple outside `x in (...)`"),
    ("min(n, m, key=abs) > 0", "min() takes no keyword arguments"),
    ("max(n) > 0", "max() takes two or more numbers"),
    ("abs(n, m) > 0", "abs() takes one number"),
    ("__v0 > 0", "names starting with '__' are reserved"),
    ("n / m > 0", "division only by a number written in the rule or a value of its file, not by m"),
    ("n / 0 > 0", "division by zero"),
    ("n / zero > 0", "division by zero"),
    ("n / -0.0 > 0", "division by zero"),
    ("s in [label, s]", "the list after `in` may hold only constants, not s"),
    ("s in ['a', 1]", "the list after `in` mixes kinds of values"),
    ("s in s", "`in` needs a literal list of constants"),
    ("s in tags", "only a string written in the rule may be looked up in 'tags'"),
    ("'a' in tags == True", "a comparison may not follow `in`"),
    ("table == s", "'table' is a value of the rule's file that is not a number"),
    ("s in label", "'label' is not a list"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED, ids=[t for t, _ in REFUSED])
def test_the_grammar_refuses_each_construct_by_name(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match="column") as refused:
        condition(text)
    assert message in str(refused.value)


def test_a_refusal_names_the_column_of_the_construct() -> None:
    with pytest.raises(ExpressionError, match=r"attribute access \('.__class__'\) is not allowed in a rule \(column 10\)"):
        condition("flag and s.__class__ == s")
    with pytest.raises(ExpressionError, match=r"division by zero \(column 7\)"):
        formula("  n / 0")  # the column counts in the text as written


def test_nested_parentheses_and_a_huge_string_are_refused_before_parsing() -> None:
    with pytest.raises(ExpressionError, match="of 200,004 characters; at most 2,000 are allowed"):
        condition("(" * 100_000 + "flag" + ")" * 100_000)
    with pytest.raises(ExpressionError, match="of 1,000,002 characters; at most 2,000 are allowed"):
        condition("'" + "a" * 1_000_000 + "'")


LIMITS = [
    (" + ".join(["n"] * 120) + " > 0", "parts (AST nodes); at most 200 are allowed"),
    ("-" * 40 + "n > 0", "nests 42 deep; at most 30 levels are allowed"),
    ("not " * 40 + "flag", "nests 41 deep; at most 30 levels are allowed"),
    ("n < 1000000000001", "the number 1000000000001 is larger than 10**12 in magnitude"),
    ("n < 1e13", "the number 1e13 is larger than 10**12 in magnitude"),
    ("n < 1e400", "the number 1e400 is larger than 10**12 in magnitude"),
    ("n < 0.1234567890123", "the number 0.1234567890123 has 13 decimals; at most 12 are allowed"),
    ("n < 1e-13", "the number 1e-13 has 13 decimals"),
    ("s == '" + "a" * 201 + "'", "a string of 201 characters; at most 200 are allowed"),
    ("(" * 250 + "flag" + ")" * 250, "does not parse: too many nested parentheses"),
    ("flag and", "does not parse: invalid syntax"),
    ("flag\x00", "does not parse"),
    ("'\ud800' == s", "does not parse"),
    ("", "does not parse"),
]


@pytest.mark.parametrize(("text", "message"), LIMITS, ids=[t[:40] for t, _ in LIMITS])
def test_each_limit_is_refused_with_its_own_message(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as refused:
        condition(text)
    assert message in str(refused.value)


def test_the_limits_themselves_are_allowed() -> None:
    assert condition("n < 1000000000000 and n > -1000000000000 and n != 0.123456789012").evaluate(ROW)
    assert condition("s != '" + "a" * 200 + "'").evaluate(ROW)
    assert condition("-" * 28 + "n > 0").evaluate(ROW)


@pytest.mark.parametrize("error", [RecursionError, MemoryError, ValueError, OverflowError, SyntaxWarning])
def test_parsing_raises_nothing_but_expression_error(monkeypatch: pytest.MonkeyPatch,
                                                     error: type[BaseException]) -> None:
    def parse(*_: Any, **__: Any) -> ast.AST:
        raise error("boom")

    monkeypatch.setattr(expressions.ast, "parse", parse)
    with pytest.raises(ExpressionError, match=f"does not parse: {error.__name__}"):
        condition("flag")


def test_text_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ExpressionError, match="must be text"):
        compile_expression(b"flag", KINDS, {}, "condition")  # type: ignore[arg-type]


# -- types ---------------------------------------------------------------------------------------------------------

ILL_TYPED = [
    ("s + 1 > 0", "`+` needs numbers on both sides, but s is a string"),
    ("not n", "`not` needs true/false, but n is a number"),
    ("s == 1", "`==` compares values of one kind, but s is a string and 1 a number"),
    ("flag != n", "`!=` compares values of one kind, but flag is a bool and n a number"),
    ("s < 'b'", "`<` orders numbers, but s is a string"),
    ("flag >= other", "`>=` orders numbers, but flag is a bool"),
    ("n and flag", "`and` needs true/false on every side, but n is a number"),
    ("flag or s", "`or` needs true/false on every side, but s is a string"),
    ("min(s, label) == 'a'", "min() needs numbers, but s is a string"),
    ("max(n, flag) > 0", "max() needs numbers, but flag is a bool"),
    ("-s == 'a'", "unary `-` needs a number, but s is a string"),
    ("(n if s else m) > 0", "the condition of `a if c else b` needs true/false, but s is a string"),
    ("(n if flag else s) == 1", "both sides of `a if c else b` must be the same kind of value"),
    ("(tags if flag else tags) == 1", "`a if c else b` gives a true/false value, a number or a string, not a string list"),
    ("s in [1, 2]", "`in` needs a value of the list's kind, but s is a string and [1, 2] a list of number values"),
    ("n in names", "but n is a number and names a list of string values"),
    ("tags == tags", "`==` compares true/false values, numbers or strings, but tags is a string list"),
    ("n * 2", "a condition must be true or false, but this is a number"),
    ("s", "a condition must be true or false, but this is a string"),
    ("tags", "a condition must be true or false, but this is a string list"),
]


@pytest.mark.parametrize(("text", "message"), ILL_TYPED, ids=[t for t, _ in ILL_TYPED])
def test_ill_typed_expressions_are_refused_at_compile_time(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as refused:
        condition(text)
    assert message in str(refused.value)


def test_a_formula_must_be_a_number_and_a_condition_true_or_false() -> None:
    with pytest.raises(ExpressionError, match="a formula must be a number, but this is a bool"):
        formula("n > 1")
    with pytest.raises(ExpressionError, match="a condition must be true or false, but this is a number"):
        condition("n + 1")
    with pytest.raises(ExpressionError, match="is a 'condition' or a 'formula'"):
        compile_expression("n", KINDS, {}, "rule")  # type: ignore[arg-type]
    assert formula("n + 1").evaluate(ROW) == Decimal("2.5")
    assert condition("n > 1").evaluate(ROW) is True


def test_an_input_declared_with_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ExpressionError, match="'x' is declared as 'integer', which is not a kind of value"):
        compile_expression("x > 1", {"x": "integer"}, {}, "condition")


def test_names_declares_a_kind_for_every_input() -> None:
    assert set(INPUT_SETS) == {"eligibility", "complex_patient", "quality_submission"}
    assert dict(INPUT_SETS["quality_submission"]) == {"smallGroupPractitioner": Kind.BOOL,
                                                      "measures_submitted": Kind.NUMBER}
    assert ELIGIBILITY["eucApproved"] == Kind.STRING_LIST and ELIGIBILITY["clinicianType"] == Kind.STRING
    assert ELIGIBILITY["clinicianCount"] == Kind.NUMBER and ELIGIBILITY["entity_type"] == Kind.STRING
    assert all(ELIGIBILITY[f] == Kind.BOOL for f in PROFILE_FLAGS)
    assert all(ELIGIBILITY[n] == Kind.BOOL for n in ELIGIBILITY if n.startswith("submitted_"))
    assert ELIGIBILITY["automatic_euc"] == ELIGIBILITY["facility_based"] == Kind.BOOL
    assert {n for n, k in COMPLEX_PATIENT.items() if k == Kind.BOOL} == {"hccAtOrAboveMedian", "dualAtOrAboveMedian"}


# -- names ---------------------------------------------------------------------------------------------------------

def test_an_unknown_name_is_refused_with_did_you_mean() -> None:
    with pytest.raises(ExpressionError, match="'flga', which is not a declared input; did you mean 'flag'?"):
        condition("flga and other")
    with pytest.raises(ExpressionError, match="'tagz', which is not a declared input; did you mean 'tags'?"):
        condition("'a' in tagz")
    with pytest.raises(ExpressionError, match="'averageHccScor', which is not a declared input; "
                                              "did you mean 'averageHccScore'?"):
        compile_expression("min(cap, averageHccScor)", COMPLEX_PATIENT, {"cap": 10}, "formula")
    with pytest.raises(ExpressionError, match=r"\(declared: cap, flag, label, m, n, names, nums, on, other, s, tags, zero\)"):
        condition("nothing_close_at_all")


def test_constants_are_folded_in_and_not_inputs() -> None:
    expression = formula("min(cap, n * 2) if on and s == label and s in names and m in nums else -cap")
    assert expression.names == {"n", "s", "m"}
    assert expression.inputs == {"n": Kind.NUMBER, "s": Kind.STRING, "m": Kind.NUMBER}
    assert expression.constants == {"cap": 2.5, "on": True, "label": "a", "names": ["a", "b"], "nums": [1, 2.5]}
    # a constant given again at evaluation is not read: its value was folded in when the rule compiled
    assert expression.evaluate({"n": 1, "s": "a", "m": 1, "cap": 100, "label": "b"}) == Decimal(2)
    assert expression.evaluate({"n": 2, "s": "a", "m": 2.5}) == Decimal("2.5")
    assert expression.evaluate({"n": 2, "s": "c", "m": 1}) == Decimal("-2.5")
    assert formula("n / cap").evaluate({"n": 1}) == Decimal("0.4")


def test_a_constant_named_like_an_input_is_refused() -> None:
    with pytest.raises(ExpressionError, match="a value named 'flag', which is also the name of an input"):
        condition("other", {"flag": True})


def test_a_constant_that_is_not_a_scalar_or_a_list_may_not_be_named() -> None:
    with pytest.raises(ExpressionError, match="'names' is a value of the rule's file that is not a number"):
        condition("names == s")
    assert condition("flag").evaluate(ROW) is True  # unused constants of any kind are fine


# -- evaluation ----------------------------------------------------------------------------------------------------

def test_numbers_are_exact_decimals_converted_as_engine_numbers_does() -> None:
    assert formula("n + m").evaluate({"n": 0.1, "m": 0.2}) == Decimal("0.3")
    assert formula("n * 3").evaluate({"n": Decimal("0.1")}) == Decimal("0.3")
    assert formula("n * 0.1").evaluate({"n": 3}) == Decimal("0.3")
    assert formula("n / 3 * 3").evaluate({"n": 1}) == Decimal(1) / 3 * 3
    assert formula("n").evaluate({"n": np.float64(0.1)}) == Decimal("0.1")
    assert formula("n").evaluate({"n": np.int64(7)}) == 7
    assert isinstance(formula("0").evaluate({}), Decimal)
    assert condition("n == 0.3").evaluate({"n": 0.3}) is True


def test_and_or_not_give_bools_never_operands() -> None:
    for flag in (True, False):
        for other in (True, False):
            for text, expected in (("flag and other", flag and other), ("flag or other", flag or other),
                                   ("not flag", not flag), ("flag and n > 1", flag and True)):
                result = condition(text).evaluate({**ROW, "flag": flag, "other": other})
                assert result is expected
    assert condition("flag").evaluate({"flag": np.bool_(True)}) is True


def test_comparison_chains_membership_and_conditional() -> None:
    assert condition("0 < n <= 1.5 < m").evaluate(ROW) is True
    assert condition("0 < n < 1 < m").evaluate(ROW) is False
    assert condition("s in ('a', 'b') and s not in ['c'] and 'pi' in tags and 'ia' not in tags").evaluate(ROW)
    assert condition("m in [1, 3] and n not in [1, 2]").evaluate(ROW)
    assert condition("s in []").evaluate(ROW) is False
    assert formula("n if flag else m").evaluate(ROW) == Decimal("1.5")
    assert formula("max(n, m, -1) - min(n, abs(-m))").evaluate(ROW) == Decimal("1.5")
    assert condition("'pi' in tags").evaluate({"tags": ("pi",)}) is True
    assert condition("'pi' in tags").evaluate({"tags": frozenset()}) is False


@pytest.mark.parametrize(("values", "message"), [
    ({"flag": None}, "needs 'flag' as a bool, but was given None"),
    ({"flag": 1}, "needs 'flag' as a bool, but was given 1"),
    ({"n": "3"}, "needs 'n' as a number, but was given '3'"),
    ({"n": True}, "needs 'n' as a number, but was given True"),
    ({"n": float("nan")}, "needs 'n' as a number, but was given nan"),
    ({"n": Decimal("Infinity")}, "needs 'n' as a number"),
    ({"s": 1}, "needs 's' as a string, but was given 1"),
    ({"tags": "pi"}, "needs 'tags' as a string list, but was given 'pi'"),
    ({"n": Fraction(1, 3)}, "needs 'n' as a number, but was given Fraction(1, 3)"),
    ({"s": KeyError}, "needs the input 's'"),
])
def test_a_missing_or_ill_typed_input_is_an_expression_error(values: dict[str, Any], message: str) -> None:
    row = {k: v for k, v in {**ROW, **values}.items() if v is not KeyError}
    with pytest.raises(ExpressionError) as refused:
        condition("flag and n > 0 and s == 'a' and 'pi' in tags").evaluate(row)
    assert message in str(refused.value)


def test_compiled_once_to_a_code_object_with_no_builtins() -> None:
    expression = _rulebook_expressions("2022")["weights.reweight_when.pi.when"]
    assert isinstance(expression._code, types.CodeType)
    assert expression._globals["__builtins__"] == {}
    facts = {**dict.fromkeys(ELIGIBILITY, False), "entity_type": "individual", "program": "mips",
             "clinicianType": "physician", "clinicianCount": 30, "eucApproved": ["quality"]}
    pi_types = set(yaml.safe_load((ROOT / "rules" / "2022" / "weights.yaml").read_text())
                   ["pi_reweighting_clinician_types"]["value"])
    rng = np.random.default_rng(7)
    for _ in range(2000):  # the hot path, many times; no timing is asserted
        flags = {n: bool(rng.integers(2)) for n in ELIGIBILITY if ELIGIBILITY[n] == Kind.BOOL}
        row: dict[str, Any] = {**facts, **flags, "clinicianType": str(rng.choice(["physician", "nursePractitioner"])),
               "eucApproved": ["pi"] if rng.integers(2) else []}
        expected = not row["submitted_pi"] and (
            row["automatic_euc"] or "pi" in row["eucApproved"] or row["piHardship"] or row["hospitalBasedClinician"]
            or row["nonPatientFacing"] or row["ambulatorySurgicalCenter"] or row["smallGroupPractitioner"]
            or row["clinicianType"] in pi_types)
        assert expression.evaluate(row) is expected


def test_an_input_cannot_shadow_a_folded_constant_or_a_function() -> None:
    expression = formula("min(n * 2, cap)")
    private = {name: 100 for name in expression._globals if name.startswith("__v")}
    assert private and expression.evaluate({"n": 1, "min": max, **private}) == 2


def test_an_expression_pickles_and_compares() -> None:
    expression = formula("min(cap, n * 2) + 1")
    copy = pickle.loads(pickle.dumps(expression))
    assert copy == expression and hash(copy) == hash(expression)
    assert copy.evaluate({"n": 1}) == expression.evaluate({"n": 1}) == Decimal(3)
    with pytest.raises(AttributeError):
        expression.text = "1"


# -- every rule of every rulebook: compiles, and its lowering agrees with its scalar evaluation --------------------

def _rule_texts(year: str) -> dict[str, tuple[str, str, str, dict[str, Any]]]:
    """address -> (text, input set, condition or formula, the file's scalar values)."""
    found: dict[str, tuple[str, str, str, dict[str, Any]]] = {}
    for path in sorted((ROOT / "rules" / year).glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        if not isinstance(document, dict):
            continue
        constants = {k: v["value"] for k, v in document.items() if isinstance(v, dict) and "value" in v}

        def walk(node: Any, address: str) -> None:
            if isinstance(node, dict):
                for key, child in node.items():
                    if key in ("when", "formula", "applies_when") and isinstance(child, str):
                        inputs = node.get("inputs", "eligibility")
                        kind = "formula" if key == "formula" else "condition"
                        found[f"{address}.{key}"] = (child, inputs, kind, constants)  # noqa: B023
                    else:
                        walk(child, f"{address}.{key}")
            elif isinstance(node, list):
                for index, item in enumerate(node):
                    walk(item, f"{address}.{item.get('id', index) if isinstance(item, dict) else index}")

        walk(document, path.stem)
    return found


def _rulebook_expressions(year: str) -> dict[str, Expression]:
    return {address: compile_expression(text, INPUT_SETS[inputs], constants, kind)  # type: ignore[arg-type]
            for address, (text, inputs, kind, constants) in _rule_texts(year).items()}


def test_every_rulebook_has_conditions_and_formulas_and_all_compile() -> None:
    assert YEARS == ["2017", "2020", "2021", "2022"]
    for year in YEARS:
        compiled = _rulebook_expressions(year)
        assert any(e.kind == "formula" for e in compiled.values()) and any(e.kind == "condition" for e in compiled.values())
    assert _rulebook_expressions("2022")["weights.reweight_when.pi.when"].names >= {"eucApproved", "clinicianType"}


ROWS = 300
LIST_MEMBERS = ["quality", "ia", "pi", "other"]  # never "cost": its column is missing, so all False


def _strings(expression: Expression) -> list[str]:
    found = {"individual", "group", "apm", "virtualGroup", "mips", "app1", "", "physician"}
    for node in ast.walk(ast.parse(expression.text, mode="eval")):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)
    for value in expression.constants.values():
        if isinstance(value, list | tuple):
            found.update(v for v in value if isinstance(v, str))
    return sorted(found)


def _random_inputs(expression: Expression, rng: np.random.Generator, object_strings: bool) -> tuple[
        list[dict[str, Any]], dict[str, np.ndarray]]:
    columns: dict[str, np.ndarray] = {}
    rows: list[dict[str, Any]] = [{} for _ in range(ROWS)]
    for name, kind in sorted(expression.inputs.items()):
        if kind == Kind.STRING_LIST:
            members = {m: rng.random(ROWS) < 0.4 for m in LIST_MEMBERS}
            columns.update({f"{name}:{m}": column for m, column in members.items()})
            for i, row in enumerate(rows):
                row[name] = [m for m in LIST_MEMBERS if members[m][i]]
            continue
        if kind == Kind.BOOL:
            column: np.ndarray = rng.random(ROWS) < 0.5
        elif kind == Kind.STRING:
            column = np.array(rng.choice(_strings(expression), ROWS).tolist(), dtype=object if object_strings else None)
        elif name in ("m", "clinicianCount"):
            column = rng.integers(0, 6, ROWS)  # int64
        else:
            exact = rng.choice([0.0, 1.0, 2.5, -1.0], ROWS)
            column = np.where(rng.random(ROWS) < 0.2, exact, rng.integers(-3000, 3000, ROWS) / 1000)  # float64
        columns[name] = column
        for row, value in zip(rows, column.tolist(), strict=True):
            row[name] = value
    return rows, columns


def _agree(expression: Expression, rng: np.random.Generator, object_strings: bool) -> None:
    rows, columns = _random_inputs(expression, rng, object_strings)
    scalar = [expression.evaluate(row) for row in rows]
    lowered = expression.lower(columns, size=ROWS)
    assert lowered.shape == (ROWS,)
    if expression.kind == "condition":
        assert lowered.dtype == bool and all(isinstance(v, bool) for v in scalar)
        assert lowered.tolist() == scalar, expression.text
    else:
        assert all(isinstance(v, Decimal) for v in scalar)
        assert np.allclose(lowered.astype(float), [float(v) for v in scalar], rtol=1e-12, atol=1e-12), expression.text


@pytest.mark.parametrize("year", ["2017", "2020", "2021", "2022"])
def test_lowering_agrees_with_scalar_evaluation_on_every_rule(year: str) -> None:
    rng = np.random.default_rng(int(year))
    expressions_of_year = _rulebook_expressions(year)
    assert expressions_of_year
    for index, expression in enumerate(expressions_of_year.values()):
        _agree(expression, rng, object_strings=bool(index % 2))


GRAMMAR = [
    ("condition", "not submitted and (flag or 'pi' in tags or 'cost' in tags or s in names)"),
    ("condition", "'ia' not in tags and 'cost' not in tags"),
    ("condition", "0 < n <= m and m != 3 or n > 2.5"),
    ("condition", "s in ('a', 'b') and s not in ['physician'] or s == label or s != ''"),
    ("condition", "(s if flag else 'b') != 'a'"),
    ("condition", "n in [1, 2.5, -1] or m not in nums"),
    ("condition", "flag != other and on == (flag or other)"),
    ("condition", "n / 3 > 0.3331 and -n < m * 2"),
    ("condition", "(n if flag else m) >= max(n, m) - 1"),
    ("formula", "n * 2 - m / 4 + -n + 0.5"),
    ("formula", "min(n, m, cap) + max(n, 0.5) + abs(n) - abs(-m)"),
    ("formula", "n if flag else (m if other else -cap)"),
    ("formula", "min(cap, max(0, (1 + 0.5 * n) + (1 + 0.5 * m))) if (flag or other) else 0"),
    ("formula", "7"),
    ("condition", "True"),
]


@pytest.mark.parametrize(("kind", "text"), GRAMMAR, ids=[t for _, t in GRAMMAR])
def test_lowering_agrees_with_scalar_evaluation_on_every_construct(kind: str, text: str) -> None:
    expression = compile_expression(text, {**KINDS, "submitted": Kind.BOOL}, CONSTANTS, kind)  # type: ignore[arg-type]
    rng = np.random.default_rng(2022)
    _agree(expression, rng, object_strings=False)
    _agree(expression, rng, object_strings=True)


def test_lowering_reads_list_members_as_columns_and_infers_the_size() -> None:
    expression = condition("'pi' in tags and not flag")
    result = expression.lower({"tags:pi": np.array([True, True, False]), "flag": np.array([False, True, False])})
    assert result.tolist() == [True, False, False]
    assert condition("'cost' in tags or flag").lower({"flag": np.zeros(2, dtype=bool)}).tolist() == [False, False]
    assert formula("cap * 2").lower({}, size=2).tolist() == [5.0, 5.0]
    with pytest.raises(ExpressionError, match="no columns, so give the number of entities"):
        formula("cap * 2").lower({})


@pytest.mark.parametrize(("columns", "message"), [
    ({"flag": np.array([1, 0])}, "column 'flag' must be a one-dimensional bool array of 2"),
    ({"flag": np.array([True, False]), "n": np.array(["1", "2"])}, "column 'n' must be a one-dimensional number"),
    ({"flag": np.array([True, False]), "n": np.array([1.0])}, "column 'n' must be a one-dimensional number array of 2"),
    ({"flag": np.array([True, False])}, "no column 'n'"),
])
def test_lowering_checks_its_columns(columns: dict[str, np.ndarray], message: str) -> None:
    with pytest.raises(ExpressionError) as refused:
        condition("flag and n > 1").lower(columns)
    assert message in str(refused.value)
