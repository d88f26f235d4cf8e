"""Hostile and broken rulebooks, what-ifs, as-of dates and folder arguments: each is refused at load with one of the
engine's own errors naming the file and line (or the what-if) and what was expected; one reproducer per finding."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from engine import load, score
from engine.base.errors import OverrideError, RulebookError, RulebookErrors
from engine.base.exact import ArrayOps, ScalarOps
from engine.rules import fixed_point
from engine.rules.overrides import parse_override
from fuzz.harness import fuzz

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "2020"
GROUP = ROOT / "tests" / "samples" / "2020-group-ehr-quality.json"


@pytest.fixture
def book(tmp_path: Path) -> Path:
    target = tmp_path / "2020"
    shutil.copytree(RULES, target)
    return target


def _edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


def _line_of(folder: Path, name: str, text: str) -> int:
    return next(i for i, line in enumerate((folder / name).read_text().splitlines(), 1) if text in line)


def _only_error(folder: Path | str, **kwargs: object) -> RulebookError:
    with pytest.raises(RulebookErrors) as info:
        load(folder, **kwargs)  # type: ignore[arg-type]
    assert len(info.value.errors) == 1, info.value.errors
    return info.value.errors[0]


def test_a_deleted_required_value_is_refused_with_file_line_and_address(book: Path) -> None:
    _edit(book, "payment.yaml", "performance_threshold:\n  value: 45\n", "performance_threshold:\n")
    error = _only_error(book)
    assert (error.location.file, error.location.line, error.location.pointer) == (
        f"{book}/payment.yaml", _line_of(book, "payment.yaml", "cite: [cfr-1405, faq-2020-payment]"),
        "/performance_threshold")
    assert error.message == "missing required key 'value'"


def test_a_deleted_reweighting_condition_is_refused_at_load(book: Path) -> None:
    _edit(book, "weights.yaml", '  cost:\n    when: "True"\n', "  cost_:\n    when: \"True\"\n")
    error = _only_error(book)
    assert (error.location.file, error.location.line) == (f"{book}/weights.yaml", _line_of(book, "weights.yaml",
                                                                                            "reweight_when:"))
    assert "reweight_when must have a condition for exactly the categories ['cost', 'ia', 'pi', 'quality']" in \
        error.message


def test_an_infinite_maximum_is_refused_with_its_line_and_column(book: Path) -> None:
    _edit(book, "final.yaml", "maximum:\n  value: 100", "maximum:\n  value: .inf")
    error = _only_error(book)
    assert str(error) == f"{book}/final.yaml:{_line_of(book, 'final.yaml', '.inf')}:10: the number .inf is not " \
                         "finite (.inf and .nan are not rule values)"


@pytest.mark.parametrize("value", [".nan", "-.Inf", "1.0e+400", "10000000000000"])
def test_no_rule_value_is_non_finite_or_beyond_ten_to_the_twelve(book: Path, value: str) -> None:
    _edit(book, "ia.yaml", "maximum_points:\n  value: 40", f"maximum_points:\n  value: {value}")
    error = _only_error(book)
    assert error.location.line == _line_of(book, "ia.yaml", value) and f"the number {value} is" in error.message


def test_non_finite_what_ifs_are_refused() -> None:
    with pytest.raises(OverrideError, match="the number .inf is not finite"):
        parse_override("final.maximum=.inf")
    with pytest.raises(OverrideError, match=r"--set final.maximum: the number nan is not finite"):
        load(2020, {"final.maximum": float("nan")})


def test_a_reweighting_row_missing_a_category_is_refused_at_load(book: Path) -> None:
    _edit(book, "weights.yaml", "weights: {quality: 70, cost: 0, ia: 0, pi: 30}, adjustment: scored, label: \"Quality "
          "and", "weights: {quality: 70, ia: 0, pi: 30}, adjustment: scored, label: \"Quality and")
    error = _only_error(book)
    assert (error.location.file, error.location.line, error.location.pointer) == (
        f"{book}/weights.yaml", _line_of(book, "weights.yaml", "- id: appendix_a"), "weights.tables.appendix_a")
    assert error.message == ("weights.tables.appendix_a row 5 (Quality and Promoting Interoperability): weights must "
                             "name every category; missing ['cost']")


def test_an_alias_bomb_is_refused_quickly(book: Path) -> None:
    rows = ["  a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    rows += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]  # 9**12 values expanded
    (book / "ia.yaml").write_text((book / "ia.yaml").read_text() + "bomb:\n" + "\n".join(rows) + "\n")
    start = time.perf_counter()
    error = _only_error(book)
    assert time.perf_counter() - start < 2
    assert error.location.file == f"{book}/ia.yaml" and error.location.line is not None
    assert error.message == "more than 20,000 values once aliases are expanded"


def test_a_recursive_alias_is_refused(book: Path) -> None:
    _edit(book, "ia.yaml", "maximum_points:\n  value: 40", "maximum_points:\n  value: &loop [*loop]")
    assert _only_error(book).message == "an alias of a value that contains it (a recursive alias)"


def test_the_shipped_alias_of_a_whole_table_still_loads() -> None:
    book = load(2021)
    assert book.value("weights.tables.table_6") == book.value("weights.tables.table_6_apm_entity")


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['true']", "!!python/name:builtins.eval",
                                 "!!binary aGk=", "!!set {a, b}", "!custom 1"])
def test_a_python_or_other_tag_is_refused_with_its_place(book: Path, tag: str) -> None:
    _edit(book, "ia.yaml", "maximum_points:\n  value: 40", f"maximum_points:\n  value: {tag}")
    error = _only_error(book)
    assert (error.location.line, error.location.column) == (_line_of(book, "ia.yaml", tag), 10)
    assert f"the tag {tag.split()[0]} is not allowed in a rule file" in error.message


@pytest.mark.parametrize("nested", ["[" * 500 + "]" * 500, "{a: " * 30 + "1" + "}" * 30])
def test_deep_nesting_is_refused(book: Path, nested: str) -> None:
    _edit(book, "ia.yaml", "maximum_points:\n  value: 40", f"maximum_points:\n  value: {nested}")
    error = _only_error(book)
    assert error.location.line == _line_of(book, "ia.yaml", nested[:10])
    assert error.message == "values nest more than 20 levels deep"


@pytest.mark.parametrize(("key", "message"), [("? [a, b]\n: 1", "a key must be text, not a list"),
                                              ("1: x", "a key must be text, not '1' read as !!int"),
                                              ("<<: {a: 1}", "a merge key (<<) is not allowed")])
def test_odd_keys_are_refused(book: Path, key: str, message: str) -> None:
    (book / "ia.yaml").write_text((book / "ia.yaml").read_text() + key + "\n")
    assert message in _only_error(book).message


def test_a_date_key_is_text_and_refused_as_an_unknown_key(book: Path) -> None:
    (book / "ia.yaml").write_text((book / "ia.yaml").read_text() + "2020-01-01: x\n")
    assert _only_error(book).message.startswith("unknown key '2020-01-01'")


def test_non_utf8_is_refused_with_its_line(book: Path) -> None:
    data = (book / "pi.yaml").read_bytes()
    (book / "pi.yaml").write_bytes(data.replace(b"PI_PEA_1: {points", b"PI_PEA_1\xff: {points", 1))
    error = _only_error(book)
    line = next(i for i, text in enumerate(data.splitlines(), 1) if b"PI_PEA_1: {points" in text)
    assert (error.location.file, error.location.line) == (f"{book}/pi.yaml", line)
    assert "rule file is not UTF-8 text (byte 0xff" in error.message


def test_a_control_character_is_refused_with_its_line_and_column(book: Path) -> None:
    _edit(book, "ia.yaml", "maximum_points:\n  value: 40", "maximum_points:\n  value: 4\x000")
    error = _only_error(book)
    assert (error.location.line, error.location.column) == (_line_of(book, "ia.yaml", "4\x000"), 11)
    assert error.message == "the character U+0000 is not allowed in YAML"


def test_a_huge_rule_file_is_refused_without_reading_it(book: Path) -> None:
    (book / "ia.yaml").write_bytes(b"#" * (2 << 20))
    assert _only_error(book).message == "rule file is 2,097,152 bytes; at most 1,048,576 are read"


def test_a_power_in_a_what_if_formula_is_refused_at_load() -> None:
    address, value = parse_override("bonuses.complex_patient=4000000**4000000")
    start = time.perf_counter()
    error = _only_error("2020", overrides={address: value})
    assert time.perf_counter() - start < 2
    assert (error.location.file, error.location.line, error.location.pointer) == (
        "rules/2020/bonuses.yaml", _line_of(RULES, "bonuses.yaml", "formula:"), "/complex_patient/formula")
    assert error.message == "formula '4000000**4000000': the power operator ** is not allowed in a rule (column 1)"


def test_a_divisor_that_is_zero_at_the_rulebook_precision_is_refused_at_load() -> None:
    error = _only_error("2020", overrides={"bonuses.complex_patient": "averageHccScore / cap", "bonuses.cap": 1e-9})
    assert error.location.pointer == "/complex_patient/formula"
    assert error.message == ("formula 'averageHccScore / cap': the divisor cap is 0 at the rulebook's precision of 6 "
                             "decimals (program.precision)")


@pytest.mark.parametrize("text", ["averageHccScore / 0.000001", "999999999999 * averageHccScore * 999999999999",
                                  "averageHccScore / -3"])
def test_fixed_point_columns_equal_one_entity_where_int64_would_overflow(text: str) -> None:
    expression = load(2020, {"bonuses.complex_patient": text}).rule("bonuses.complex_patient").expression
    values = [0, 1, -(10**12), 10**18, 123_456_789]  # fixed point, six decimals
    one = [fixed_point.evaluate(expression, ScalarOps, {"averageHccScore": v}, 6, "half_up") for v in values]
    columns = fixed_point.evaluate(expression, ArrayOps, {"averageHccScore": np.array(values, dtype=np.int64)}, 6,
                                   "half_up")
    assert list(columns) == one


def test_the_automatic_euc_what_if_that_changed_a_group_score() -> None:
    """The finding: a what-if that left ``weights.automatic_euc`` true for exactly the same entities moved a group from
    17.50 to 27.05 (its PI reweighted: 85 % quality), with no recorded override or diff saying why. The text assigned
    ``piHardship`` inside the condition with ``:=``; conditions were evaluated with the entity's facts as their
    namespace, so the assignment reached every later condition (PI's reweighting). Assignments are now refused at
    load, and a condition cannot change the facts it reads."""
    hidden = "(piHardship := True) and False or entity_type == 'individual'"
    error = _only_error("2020", overrides={"weights.automatic_euc": hidden})
    assert error.message.endswith("an assignment expression (:=) is not allowed in a rule (column 2)")
    base = score(GROUP, load(2020)).document["final_score"]
    same = load(2020, {"weights.automatic_euc": "not (entity_type != 'individual')"})
    assert base == score(GROUP, same).document["final_score"] == pytest.approx(17.502854)
    facts = {"entity_type": "group"}
    assert same.evaluate("weights.automatic_euc", facts) is False and facts == {"entity_type": "group"}


@pytest.mark.parametrize(("text", "message"), [
    ("quality.decile_points={...}", "at /decile_points/value/...: --set value: unknown key '...'"),
    ("payment.performance_threshold=[1, 2", "the value is not valid YAML data (line 2, column 1): did not find "
                                            "expected ',' or ']'"),
    ("payment.performance_threshold=" + "9" * 5000, "a number written with 5,000 characters"),
    ("payment.performance_threshold=&a [*a]", "a recursive alias"),
    ("payment.performance_threshold=!!python/name:os.system", "the tag !!python/name:os.system is not allowed"),
    ("../../etc/passwd=1", "not a rulebook address"),
    ("payment/performance_threshold=1", "not a rulebook address"),
    ("=1", "expected ADDRESS=VALUE"),
])
def test_odd_what_if_strings_are_refused(text: str, message: str) -> None:
    with pytest.raises((OverrideError, RulebookErrors)) as info:
        load(2020, dict([parse_override(text)]))
    assert message in str(info.value)


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("value", [{"a": {1, 2}}, b"x", {1: 2}, _nested(25), float("-inf"), 10**13])
def test_what_if_values_given_to_the_api_must_be_plain_bounded_data(value: object) -> None:
    with pytest.raises(OverrideError, match="--set payment.performance_threshold: "):
        load(2020, {"payment.performance_threshold": value})


@pytest.mark.parametrize("date", ["２０２０-０１-０１", "2020-01-01\n", "+2020-01-01", "2020-02-30", "x" * 100_000])
def test_as_of_accepts_only_an_iso_calendar_date(date: str) -> None:
    with pytest.raises(OverrideError, match="expected a date as YYYY-MM-DD"):
        load(2020, as_of=date)


@pytest.mark.parametrize(("argument", "message"), [
    ("2020/../2017", "a rulebook path may not step up with '..'"),
    ("../../etc", "a rulebook path may not step up with '..'"),
    ("/etc", "not a rulebook folder: it holds none of the rule files"),
    ("rules/2020/program.yaml", "no rulebook folder here"),
    ("２０２０", "no rulebook folder here"),
    ("a\x00b", "not a performance year or a folder path"),
    (None, "expected a performance year or a rulebook folder path, not a NoneType"),
])
def test_a_folder_argument_that_is_no_rulebook_folder_is_refused(argument: object, message: str) -> None:
    assert message in _only_error(argument).message  # type: ignore[arg-type]


def test_a_folder_with_no_rule_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.yaml").write_text("a: 1\n")
    assert _only_error(tmp_path).message == "not a rulebook folder: it holds none of the rule files"


def test_a_rule_file_linked_from_outside_the_folder_is_refused(book: Path, tmp_path: Path) -> None:
    outside = tmp_path / "pi.yaml"
    shutil.copy(book / "pi.yaml", outside)
    (book / "pi.yaml").unlink()
    (book / "pi.yaml").symlink_to(outside)
    error = _only_error(book)
    assert (error.location.file, error.message) == (f"{book}/pi.yaml", "this rule file is a link to a file outside "
                                                    "the rulebook folder")


def test_a_rule_file_that_is_a_fifo_is_refused_without_blocking(book: Path) -> None:
    (book / "cost.yaml").unlink()
    os.mkfifo(book / "cost.yaml")
    assert _only_error(book).message == "cannot read rule file: not a regular file"


@pytest.mark.parametrize("kind", ["rulebooks", "expressions"])
def test_a_fuzz_slice_ends_in_no_traceback_and_no_hang(kind: str) -> None:
    report = fuzz(f"fuzz.targets.{kind}", seed=2026, count=30)
    assert report.counts["traceback"] == report.counts["hang"] == 0, report.failures[:3]
    assert report.counts["result"] > 0 and report.counts["refusal"] > 0
