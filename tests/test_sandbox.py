"""Known sandbox escapes and resource bombs, put into a rulebook condition by a what-if: each is refused when the
rulebook loads, located at the rule's file, line and address, with what the grammar does not allow."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import load
from engine.base.errors import RulebookErrors

WEIGHTS = Path(__file__).resolve().parents[1] / "rules" / "2020" / "weights.yaml"
LINE = next(i for i, text in enumerate(WEIGHTS.read_text().splitlines(), 1) if text.startswith("automatic_euc:")) + 1

PAYLOADS = [
    ("__import__('os').system('true')", "attribute access ('.system') is not allowed"),
    ("__import__('os')", "a call to '__import__' is not allowed in a rule (only min, max and abs)"),
    ("().__class__.__bases__[0].__subclasses__()", "attribute access ('.__subclasses__') is not allowed"),
    ("(lambda: 0).__globals__", "attribute access ('.__globals__') is not allowed"),
    ("entity_type.__class__", "attribute access ('.__class__') is not allowed"),
    ("__builtins__", "names starting with '__' are reserved ('__builtins__')"),
    ("__v0 == 1", "names starting with '__' are reserved ('__v0')"),
    ("globals()", "a call to 'globals' is not allowed in a rule (only min, max and abs)"),
    ("open('/etc/passwd')", "a call to 'open' is not allowed in a rule (only min, max and abs)"),
    ("eval('True')", "a call to 'eval' is not allowed"),
    ("f'{entity_type}' == ''", "an f-string is not allowed"),
    ("'%s' % entity_type == ''", "the % operator (modulo or string formatting) is not allowed"),
    ("'{}'.format(entity_type) == ''", "attribute access ('.format') is not allowed"),
    ("lambda: True", "a lambda is not allowed"),
    ("[x for x in (1, 2)] == []", "a comprehension is not allowed"),
    ("any(x for x in (1, 2))", "a call to 'any' is not allowed"),
    ("(piHardship := True)", "an assignment expression (:=) is not allowed"),
    ("entity_type[0] == 'i'", "a subscript ([...]) is not allowed"),
    ("'a' * 10**9 == ''", "the power operator ** is not allowed"),
    ("4000000**4000000 > 0", "the power operator ** is not allowed"),
    ("9**9**9 > 0", "the power operator ** is not allowed"),
    ("1 << 100000 > 0", "the bit operator << is not allowed"),
    ("1e309 > 0", "the number 1e309 is larger than 10**12 in magnitude"),
    ("1 / 0 > 0", "division by zero"),
    ("clinicianCount / clinicianCount > 0", "division only by a number written in the rule or a value of its file"),
    ("b'x' == entity_type", "a bytes literal is not allowed"),
    ("1j == 1j", "a complex number is not allowed"),
    ("entity_type is 'x'", "`is` is not allowed"),
    ("not clinicianCount", "`not` needs true/false, but clinicianCount is a number"),
    ("entity_type + 1 > 0", "`+` needs numbers on both sides, but entity_type is a string"),
    ("ｅｎｔｉｔｙ_ｔｙｐｅ == 'individual'", "is read as 'entity_type'; write names in plain ASCII"),
    ("undefined_name", "uses 'undefined_name', which is not a declared input"),
    ("import os", "does not parse"),
    ("(" * 100_000 + "True" + ")" * 100_000, "a condition of 200,004 characters; at most 2,000 are allowed"),
    ("not " * 40 + "True", "nests 41 deep; at most 30 levels are allowed"),
    ("x" * 1_000_000, "a condition of 1,000,000 characters; at most 2,000 are allowed"),
    ("None", "None is not allowed"),
]


@pytest.mark.parametrize(("payload", "message"), PAYLOADS, ids=[p[0][:40] for p in PAYLOADS])
def test_an_escape_or_bomb_in_a_condition_is_refused_at_load(payload: str, message: str) -> None:
    with pytest.raises(RulebookErrors) as info:
        load(2020, {"weights.automatic_euc": payload})
    [error] = info.value.errors
    assert (error.location.file, error.location.line, error.location.pointer) == (
        "rules/2020/weights.yaml", LINE, "/automatic_euc/when")
    assert message in error.message
