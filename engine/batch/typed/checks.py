"""The checks a submission read from its typed columns gets before it is scored, over whole columns, with the same
outcome as reading it as JSON (``engine.inputs.submission``, ``engine.scoring.scope``): a row is refused when the JSON
path would refuse it, naming the JSON path and column of its first problem and what was expected; a measurement set
or measurement the JSON path skips (reported as an issue when explained) is marked so here.

Rows holding JSON text (``extra_json``, ``profile_json``, a set's ``extra_json``, a measurement's ``json``), more
list items than ``MOST_ITEMS`` or non-ASCII text where a pattern or case rule applies are left to the JSON path:
their checks are the JSON reader's own."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, cast

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from engine.base.numbers import LARGEST_INPUT, excerpt, number_problem
from engine.base.schemas import validator
from engine.batch import layout
from engine.batch.typed.findings import Findings, json_path
from engine.batch.typed.levels import Levels, codes, flags, floats, ints, lengths, nulls
from engine.inputs.submission import MAX_SETS, MAX_TEXT
from engine.rules.model import Rulebook

MOST_ITEMS = 30_000  # measurements (17 values at most) or strata (8) of a row beyond which it is read as JSON: within
# this, a row holds fewer values than the JSON reader's bound (MAX_VALUES), which it need not count
TEXT_COLUMNS = {"rows": {column: key for key, (column, kind) in layout.HEADER_COLUMNS.items() if kind == pa.string()},
                "sets": {column: key for key, column in layout.SET_COLUMNS.items()},
                "measurements": {"measure_id": "measureId"}, "strata": {"stratum": "stratum"}}


def _fields(struct: pa.StructType, kind: pa.DataType) -> tuple[str, ...]:
    return tuple(field.name for field in struct if field.type == kind)


COUNTS, NUMBERS = _fields(layout.VALUE, pa.int64()), _fields(layout.VALUE, pa.float64())
STRATUM_COUNTS, STRATUM_NUMBERS = _fields(layout.STRATUM, pa.int64()), _fields(layout.STRATUM, pa.float64())


def _schema() -> Mapping[str, Any]:
    return cast(Mapping[str, Any], validator("submission.schema.json").schema)


def _pattern(pattern: str) -> str:
    """A schema pattern (Python ``re.search``, where ``$`` also matches before a final newline) for Arrow's RE2, on
    ASCII text (``\\d`` is Unicode in Python)."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        raise ValueError(f"pattern {pattern!r} is not anchored at both ends")
    return pattern[:-1].replace(r"\d", "[0-9]") + r"\n?$"


def _located(path: str, column: str, problem: str) -> str:
    return f"at {path} (column {column}): {problem}"


def _paths(lv: Levels) -> dict[str, Any]:
    """Builders of each level's JSON path and column name, by element."""
    sets, ms, strata = lv.sets, lv.measurements, lv.strata
    return {
        "rows": lambda i, key: (json_path(key), key),
        "sets": lambda i, key: (json_path("measurementSets", int(sets.place[i]), key), "measurement_sets"),
        "measurements": lambda i, key: (json_path("measurementSets", int(sets.place[ms.parent[i]]), "measurements",
                                                  int(ms.place[i]), key), "measurement_sets"),
        "values": lambda i, key: (json_path("measurementSets", int(sets.place[ms.parent[i]]), "measurements",
                                            int(ms.place[i]), "value", key), "measurement_sets"),
        "strata": lambda i, key: (json_path("measurementSets", int(sets.place[ms.parent[strata.parent[i]]]), "measurements",
                                            int(ms.place[strata.parent[i]]), "value", "strata", int(strata.place[i]), key),
                                  "measurement_sets"),
    }


def _element(paths: dict[str, Any], level: str, key: str, problem: str, index: int) -> str:
    """Where element ``index`` of a level holds ``key``, and its problem."""
    path, column = paths[level](index, key)
    return _located(path, column if level != "rows" else layout.HEADER_COLUMNS.get(key, (key,))[0], problem)


def kinds(findings: Findings, lv: Levels) -> None:
    """A ``kind`` that contradicts ``entity_type`` (``layout._from_row``)."""
    kind, entity_type = lv.rows["kind"], lv.rows["entity_type"]
    of_type = codes(entity_type, pa.array(list(layout.KINDS), pa.string()))
    wrong = ~nulls(kind) & ~nulls(entity_type) & ((of_type < 0) | (codes(kind, pa.array(list(layout.KINDS.values()))) != of_type))
    findings.refuse(np.arange(lv.size), wrong, lambda i: f"kind {kind[i].as_py()!r} does not match entity_type "
                                                         f"{entity_type[i].as_py()!r}")


def leave_to_json(findings: Findings, lv: Levels) -> None:
    """Rows the JSON path reads: JSON text, too many items, non-ASCII text under a pattern or a case rule."""
    rows, sets, ms = lv.rows, lv.sets, lv.measurements
    everyone = np.arange(lv.size)
    findings.to_json(everyone, ~nulls(rows["extra_json"]) | ~nulls(rows["profile_json"]))
    findings.to_json(sets.parent, ~nulls(sets.field("extra_json")))
    findings.to_json(lv.row_of("measurements"), ~nulls(ms.field("json")))
    findings.to_json(everyone, (np.bincount(lv.row_of("measurements"), minlength=lv.size) > MOST_ITEMS)
                     | (np.bincount(lv.row_of("strata"), minlength=lv.size) > MOST_ITEMS))
    for column in ("tin", "npi", "program"):
        findings.to_json(everyone, ~flags(pc.string_is_ascii(rows[column])) & ~nulls(rows[column]))
    for column in ("performance_start", "performance_end", "program"):
        text = sets.field(column)
        findings.to_json(sets.parent, ~flags(pc.string_is_ascii(text)) & ~nulls(text))


def plain(findings: Findings, lv: Levels) -> None:
    """The JSON reader's bounds: strings of at most MAX_TEXT characters, finite numbers within ±2**53."""
    paths = _paths(lv)
    arrays = {"rows": (lv.rows.__getitem__, np.arange(lv.size)), "sets": (lv.sets.field, lv.sets.parent),
              "measurements": (lv.measurements.field, lv.row_of("measurements")),
              "strata": (lv.strata.field, lv.row_of("strata"))}
    for level, columns in TEXT_COLUMNS.items():
        get, owner = arrays[level]
        for column, key in columns.items():
            _text(findings, owner, get(column), functools.partial(_element, paths, level, key))
    values = lv.measurements.field("value")
    for name in (*COUNTS, *NUMBERS):
        _numbers(findings, lv.row_of("measurements"), pc.struct_field(values, name),
                 functools.partial(_element, paths, "values", name))
    for name in (*STRATUM_COUNTS, *STRATUM_NUMBERS):
        _numbers(findings, lv.row_of("strata"), lv.strata.field(name), functools.partial(_element, paths, "strata", name))


def _text(findings: Findings, owner: np.ndarray, text: pa.Array, message: Callable[[str, int], str]) -> None:
    """Strings of more than MAX_TEXT characters (``message(problem, element)`` says where)."""
    if too_long(text):
        size = ints(pc.utf8_length(text))
        findings.refuse(owner, size > MAX_TEXT, lambda i: message(
            f"not a submission: a string of {int(size[i]):,} characters; at most {MAX_TEXT:,} are read", i))


def too_long(text: pa.Array) -> bool:
    """Whether some string may have more than MAX_TEXT characters (it has more bytes: a cheap first look)."""
    longest = pc.max(pc.binary_length(text)).as_py()
    return longest is not None and longest > MAX_TEXT


def out_of_bounds(numbers: pa.Array) -> bool:
    """Whether some number may not be finite or be beyond ±2**53 (a cheap first look, over the Arrow column)."""
    if pa.types.is_floating(numbers.type) and pc.all(pc.is_finite(numbers)).as_py() is False:
        return True
    extremes = pc.min_max(numbers).as_py()
    return extremes["min"] is not None and (extremes["min"] < -LARGEST_INPUT or extremes["max"] > LARGEST_INPUT)


def bad_numbers(array: pa.Array) -> tuple[np.ndarray, Callable[[int], str]]:
    """Which numbers of a column are not finite or beyond ±2**53, and why one is (by element)."""
    if pa.types.is_floating(array.type):
        decimals = floats(array)
        return ~np.isfinite(decimals) | (np.abs(decimals) > LARGEST_INPUT), lambda i: str(number_problem(float(decimals[i])))
    whole = ints(array)
    return np.abs(whole) > LARGEST_INPUT, lambda i: str(number_problem(int(whole[i])))


def _numbers(findings: Findings, owner: np.ndarray, array: pa.Array, message: Callable[[str, int], str]) -> None:
    """Numbers that are not finite or beyond ±2**53 (``message(problem, element)`` says where)."""
    if out_of_bounds(array):
        bad, problem = bad_numbers(array)
        findings.refuse(owner, bad, lambda i: message(f"not a submission: {problem(i)}", i))


def header(findings: Findings, lv: Levels) -> None:
    """At most MAX_SETS measurement sets, and the submission schema's entity header."""
    rows, everyone = lv.rows, np.arange(lv.size)
    properties = _schema()["properties"]
    count = lengths(rows["measurement_sets"])
    findings.refuse(everyone, count > MAX_SETS, lambda i: _located(
        "$.measurementSets", "measurement_sets", f"{int(count[i]):,} measurement sets; at most {MAX_SETS} are read "
        "from one submission (split it by category and submission method)"))
    for key in _schema()["required"]:
        column = layout.HEADER_COLUMNS[key][0] if key in layout.HEADER_COLUMNS else "measurement_sets"
        findings.refuse(everyone, nulls(rows[column]), _fixed(_located(f"$.{key}", column, f"{key} is a required property")))
    types = pa.array(properties["entityType"]["enum"], pa.string())
    entity_type = rows["entity_type"]
    findings.refuse(everyone, codes(entity_type, types) < 0, lambda i: _located(
        "$.entityType", "entity_type", f"{excerpt(entity_type[i].as_py())} is not one of {', '.join(types.to_pylist())}"))
    for key in ("taxpayerIdentificationNumber", "nationalProviderIdentifier"):
        _matches(findings, rows, key, properties[key]["pattern"])


def _fixed(message: str) -> Callable[[int], str]:
    return lambda i: message


def _matches(findings: Findings, rows: dict[str, pa.Array], key: str, pattern: str) -> None:
    """A header string that is there matches its schema pattern."""
    column = layout.HEADER_COLUMNS[key][0]
    text = rows[column]
    findings.refuse(np.arange(len(text)), ~nulls(text) & ~flags(pc.match_substring_regex(text, _pattern(pattern))),
                    lambda i: _located(f"$.{key}", column, f"{excerpt(text[i].as_py())} does not match {pattern!r}"))


def structure(lv: Levels) -> tuple[np.ndarray, np.ndarray]:
    """Which sets match the schema's measurement set, and which measurements are objects with a measureId and a value,
    each the first of its measureId in its set (``engine.inputs.submission``)."""
    sets, ms = lv.sets, lv.measurements
    spec = _schema()["$defs"]["measurementSet"]
    ok = sets.present & ~nulls(sets.field("category")) & ~nulls(sets.field("measurements"))
    ok &= codes(sets.field("submission_method"), pa.array(spec["properties"]["submissionMethod"]["enum"], pa.string())) >= 0
    for key in ("performanceStart", "performanceEnd"):
        text = sets.field(layout.SET_COLUMNS[key])
        ok &= nulls(text) | flags(pc.match_substring_regex(text, _pattern(spec["properties"][key]["pattern"])))
    shaped = ms.present & ~nulls(ms.field("measure_id")) & (~nulls(ms.field("boolean_value")) | ~nulls(ms.field("value")))
    return ok, shaped & first_in(ms.parent, lv.measure_ids, shaped)


def first_in(group: np.ndarray, key: np.ndarray, among: np.ndarray) -> np.ndarray:
    """Where ``among`` holds: whether the element is the first of its (group, key) among those, in element order
    (``key``: integers from 0 where ``among`` holds). Elements come grouped, so a stable sort is nearly free."""
    chosen = np.flatnonzero(among)
    first = np.zeros(len(among), dtype=bool)
    if not len(chosen):
        return first
    coded = key[chosen]
    packed = group[chosen] * (int(coded.max()) + 1) + coded
    order = np.argsort(packed, kind="stable")
    ordered = packed[order]
    head = np.ones(len(order), dtype=bool)
    head[1:] = ordered[1:] != ordered[:-1]
    first[chosen[order[head]]] = True
    return first


def scope(findings: Findings, lv: Levels, book: Rulebook, set_ok: np.ndarray) -> np.ndarray:
    """The rulebook's year, entity types and programs (``engine.scoring.scope``); each row's program, lower case."""
    rows, sets, everyone = lv.rows, lv.sets, np.arange(lv.size)
    year = ints(rows["performance_year"])
    findings.refuse(everyone, year != book.value("program.performance_year"), lambda i: _located(
        "$.performanceYear", "performance_year", f"the submission is for performance year {int(year[i])}, but the "
        f"rulebook is for {book.year} (score it with --year {int(year[i])})"))
    entity_type = rows["entity_type"]
    findings.refuse(everyone, codes(entity_type, pa.array(book.value("program.entity_types"), pa.string())) < 0,
                    lambda i: _located("$.entityType", "entity_type",
                                       f"entity type {entity_type[i].as_py()!r} is not scored in {book.year}"))
    named = _named(rows["program"])  # the submission's programName, where it names one
    own = pc.if_else(pa.array(~nulls(named)), named, pa.scalar("mips"))
    set_named = _named(sets.field("program"))
    set_program = pc.if_else(pa.array(~nulls(set_named)), set_named, own.take(pa.array(sets.parent)))
    lower_rows, lower_sets = pc.utf8_lower(own), pc.utf8_lower(set_program)
    valid = np.flatnonzero(set_ok)
    with_sets, first = np.unique(sets.parent[valid], return_index=True)
    first_set = np.full(lv.size, -1)
    first_set[with_sets] = valid[first]
    has_set = first_set >= 0
    program = pc.if_else(pa.array(has_set), lower_sets.take(pa.array(np.maximum(first_set, 0))), lower_rows)
    reference = pc.if_else(pa.array(~nulls(named)), lower_rows, program)  # the first program the row names
    differs = set_ok & ~flags(pc.equal(lower_sets, reference.take(pa.array(sets.parent))))
    findings.refuse(sets.parent, differs, lambda i: _located(
        "$.measurementSets[*].programName", "program", f"measurement sets name different programs ({_names(lv, set_ok, i)})"
        "; a submission is scored under one program: score each program's sets separately"))
    known = pa.array(book.value("program.programs"), pa.string())
    findings.refuse(everyone, (codes(reference, known) < 0) & (has_set | ~nulls(named)), lambda i: _located(
        "$.programName", "program", f"program {_spelled(lv, set_ok, i)!r} is not scored by this rulebook (it scores "
        f"{', '.join(known.to_pylist())}); its own model rules apply, so no MIPS score is given"))
    return np.asarray(program.to_numpy(zero_copy_only=False), dtype=str)


def _named(text: pa.Array) -> pa.Array:
    """A programName where it names one (null for null or empty text)."""
    return pc.if_else(pc.equal(pc.fill_null(text, ""), ""), pa.scalar(None, pa.string()), text)


def _programs(lv: Levels, set_ok: np.ndarray, row: int) -> list[str]:
    """The programs row ``row`` names, as spelled: its own, then each valid set's (defaulting to its own, or mips)."""
    own = lv.rows["program"][row].as_py()
    sets = [s for s in np.flatnonzero((lv.sets.parent == row) & set_ok).tolist()]
    return ([own] if own else []) + [lv.sets.field("program")[s].as_py() or own or "mips" for s in sets]


def _names(lv: Levels, set_ok: np.ndarray, set_index: int) -> str:
    spelled = {p.lower(): p for p in _programs(lv, set_ok, int(lv.sets.parent[set_index]))}
    return ", ".join(sorted(spelled.values()))


def _spelled(lv: Levels, set_ok: np.ndarray, row: int) -> str:
    return (_programs(lv, set_ok, row) or ["mips"])[-1]
