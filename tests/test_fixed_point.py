"""Rule expressions in exact fixed point: every condition and formula of the four rulebooks gives the exact
Decimal result (a formula to within the rounding of its products), and one entity equals the column lowering."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP
from typing import Any

import numpy as np
import pytest

from engine.base.exact import ArrayOps, ScalarOps
from engine.rules.fixed_point import evaluate, to_fixed
from engine.rules.loader import load_rulebook
from engine.rules.names import Kind

DIGITS = 6
MEMBERS = ("quality", "cost", "ia", "pi")
STRINGS = ("individual", "group", "apm", "virtualGroup", "mips", "app1", "physician", "nursePractitioner", "")


def _row(rng: random.Random, inputs: dict[str, Kind]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, kind in inputs.items():
        if kind == Kind.BOOL:
            values[name] = rng.random() < 0.5
        elif kind == Kind.NUMBER:
            values[name] = round(rng.uniform(-3, 40), rng.choice([0, 1, 2, 3]))
        elif kind == Kind.STRING:
            values[name] = rng.choice(STRINGS)
        else:
            values[name] = [m for m in MEMBERS if rng.random() < 0.3]
    return values


def _fixed(row: dict[str, Any], inputs: dict[str, Kind]) -> dict[str, Any]:
    return {n: to_fixed(v, DIGITS) if inputs[n] == Kind.NUMBER else v for n, v in row.items()}


def _columns(rows: list[dict[str, Any]], inputs: dict[str, Kind]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for name, kind in inputs.items():
        if kind == Kind.STRING_LIST:
            columns.update({f"{name}:{m}": np.array([m in r[name] for r in rows]) for m in MEMBERS})
        elif kind == Kind.NUMBER:
            columns[name] = np.array([to_fixed(r[name], DIGITS) for r in rows], dtype=np.int64)
        else:
            columns[name] = np.array([r[name] for r in rows])
    return columns


@pytest.mark.parametrize("year", [2017, 2020, 2021, 2022])
def test_every_rule_agrees_with_its_exact_value_and_with_its_columns(year: int) -> None:
    rng = random.Random(year)
    for address, rule in load_rulebook(year).rules.items():
        expression, inputs = rule.expression, dict(rule.expression.inputs)
        rows = [_row(rng, inputs) for _ in range(150)]
        one = [evaluate(expression, ScalarOps, _fixed(r, inputs), DIGITS, "half_up") for r in rows]
        for row, got in zip(rows, one, strict=True):
            exact = expression.evaluate(row)
            if expression.kind == "condition":
                assert bool(got) == exact, (address, row)
            else:  # each product is rounded once to six decimals
                assert abs(got - int((exact * 10**DIGITS).to_integral_value(ROUND_HALF_UP))) <= 2, (address, row)
        if inputs:
            column = evaluate(expression, ArrayOps, _columns(rows, inputs), DIGITS, "half_up")
            assert np.broadcast_to(column, (len(rows),)).tolist() == one, address


def test_a_2020_complex_patient_bonus_by_hand() -> None:
    # rules/2020/bonuses.yaml: min(cap, multiplier * (averageHccScore + dual_weight * dualEligibleRatio))
    # = min(10, 2 * (1.8 + 5 * 0.3)) = 6.6
    rule = load_rulebook(2020).rule("bonuses.complex_patient").expression
    value = evaluate(rule, ScalarOps, {"averageHccScore": to_fixed(1.8, DIGITS), "dualEligibleRatio": to_fixed(0.3, DIGITS)},
                     DIGITS, "half_up")
    assert value == 6_600_000
