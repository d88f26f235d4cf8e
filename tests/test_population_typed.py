"""Parquet scored from its typed columns (``engine.batch.typed``) equals the JSON path (each row read as a document
and scored by ``score_many``): the same rows refused, and every result column of every other row identical, on
generated populations of every year and on rows broken in every way the checks know."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine import load, score
from engine.base.locations import available_years
from engine.batch import job, layout, typed
from engine.batch.runner import score_many
from engine.population.synthetic import population
from tests.test_batch_job import explained_alike

Row = dict[str, Any]


def _table(year: int, size: int, seed: int) -> pa.Table:
    return layout.submissions_table([layout.submission_row(*row) for row in population(year, size, seed)])


def _both(year: int, table: pa.Table) -> tuple[typed.Scored, Any, dict[int, str], np.ndarray]:
    """The typed path and the JSON path on one batch: the typed result, the JSON result, the JSON path's refusals
    by position, and its scored positions."""
    batch = table.combine_chunks().to_batches()[0]
    book = load(year)
    scored = typed.score(book, batch, "in.parquet", 0)
    columns, problems = layout.conform(batch, layout.SUBMISSIONS)
    chunk = layout.json_rows(columns, problems, "in.parquet", 0, np.arange(batch.num_rows))
    result = score_many(book, chunk.documents, chunk.profiles)
    refused = {r.position: r.message for r in chunk.refusals} | {chunk.positions[i]: m for i, m in result.refused}
    return scored, result, refused, np.array([chunk.positions[i] for i in result.positions], dtype=np.int64)


def _assert_same(scored: typed.Scored, result: Any, refused: dict[int, str], positions: np.ndarray) -> None:
    to_json = set(scored.to_json.tolist())
    assert {r.position for r in scored.refusals} == set(refused) - to_json
    kept = ~np.isin(positions, list(to_json))
    assert np.array_equal(positions[kept], scored.positions)
    assert result.columns.keys() == scored.columns.keys()
    for name, column in result.columns.items():
        assert np.array_equal(np.asarray(column)[kept], scored.columns[name]), name


@pytest.mark.parametrize("year", available_years())
def test_generated_populations_score_alike_from_typed_columns(year: int) -> None:
    scored, result, refused, positions = _both(year, _table(year, 1500, 8))
    assert not refused and not len(scored.to_json) and len(scored.positions) > 300
    _assert_same(scored, result, refused, positions)


# ------------------------------------------------------------------------------------------- broken rows


def _sets(row: Row, category: str) -> list[Row]:
    names = ("pi", "aci") if category == "pi" else (category,)
    return [s for s in row["measurement_sets"] or [] if s and s["category"] in names]


def _items(row: Row, category: str) -> list[Row]:
    return [m for s in _sets(row, category) for m in s["measurements"] or [] if m]


def _values(row: Row, shape: Callable[[Row], bool]) -> list[Row]:
    return [m for m in _items(row, "quality") if m["value"] is not None and shape(m["value"])]


def _single(row: Row) -> list[Row]:
    return _values(row, lambda v: v["performanceMet"] is not None and not v["strata"])


def _multi(row: Row) -> list[Row]:
    return _values(row, lambda v: bool(v["strata"]))


def _ratio(row: Row) -> list[Row]:
    return _values(row, lambda v: v["numerator"] is not None)


def _counts(row: Row) -> list[Row]:
    return [m for m in _items(row, "pi") if m["value"]]


def _answers(row: Row) -> list[Row]:
    return [m for m in _items(row, "pi") if m["boolean_value"] is not None]


def _cost(key: str, value: Any) -> Callable[[Row], bool]:
    return lambda r: bool(r["costMeasures"]) and r["costMeasures"][0].__setitem__(key, value) is None


def _first(found: list[Row], change: Callable[[Row], Any]) -> bool:
    if found:
        change(found[0])
    return bool(found)


def _put(key: str, value: Any) -> Callable[[Row], bool]:
    def change(row: Row) -> bool:
        row[key] = value
        return True
    return change


def _value(key: str, value: Any) -> Callable[[Row], Any]:
    return lambda m: m["value"].__setitem__(key, value)


def _set(key: str, value: Any) -> Callable[[Row], bool]:
    return lambda r: _first(r["measurement_sets"] or [], lambda s: s.__setitem__(key, value))


BROKEN: dict[str, Callable[[Row], bool]] = {
    "kind contradicts entity_type": lambda r: _put("kind", "group" if r["entity_type"] != "group" else "individual")(r),
    "no entity type": _put("entity_type", None),
    "unknown entity type": _put("entity_type", "company"),
    "no year": _put("performance_year", None),
    "another year": lambda r: _put("performance_year", r["performance_year"] - 1)(r),
    "TIN of 8 digits": lambda r: r["tin"] is not None and _put("tin", r["tin"][:8])(r),
    "TIN and a newline": lambda r: r["tin"] is not None and _put("tin", r["tin"] + "\n")(r),
    "TIN and two newlines": lambda r: r["tin"] is not None and _put("tin", r["tin"] + "\n\n")(r),
    "NPI of letters": lambda r: r["npi"] is not None and _put("npi", "abcdefghij")(r),
    "no measurement sets": _put("measurement_sets", None),
    "101 measurement sets": lambda r: bool(r["measurement_sets"])
    and _put("measurement_sets", (r["measurement_sets"] * 101)[:101])(r),
    "id of 4,097 characters": _put("id", "x" * 4097),
    "id of 4,096 characters": _put("id", "x" * 4096),
    "unknown program": lambda r: _put("program", "cpcPlus")(r) and all(s.__setitem__("program", None) is None
                                                                       for s in r["measurement_sets"] or [] if s),
    "program in capitals": _put("program", "MIPS"),
    "empty program": _put("program", ""),
    "a set of another program": lambda r: bool(r["measurement_sets"]) and _put("program", None)(r)
    and r["measurement_sets"][-1].__setitem__("program", "other") is None,
    "a set's program in capitals": _set("program", "Mips"),
    "a null set": lambda r: bool(r["measurement_sets"]) and r["measurement_sets"].__setitem__(0, None) is None,
    "a set without category": _set("category", None),
    "a set of an unknown category": _set("category", "cost"),
    "an unknown method": _set("submission_method", "fax"),
    "a bad start date": _set("performance_start", "2020-1-1"),
    "a start date and a newline": _set("performance_start", "2020-01-01\n"),
    "a start date in Arabic-Indic digits": _set("performance_start", "\u0662\u0660\u0662\u0660-01-01"),
    "a set without measurements": _set("measurements", None),
    "a set with JSON text": _set("extra_json", '{"createdAt": "2020-02-01"}'),
    "JSON text": _put("extra_json", '{"createdAt": "2020-02-01"}'),
    "broken JSON text": _put("extra_json", '{"createdAt": '),
    "a profile as JSON text": _put("profile_json", '{"smallGroupPractitioner": true}'),
    "a null measurement": lambda r: _first(_sets(r, "quality") or _sets(r, "ia"),
                                           lambda s: s["measurements"].__setitem__(0, None)),
    "a measurement without measureId": lambda r: _first(_items(r, "ia"), lambda m: m.__setitem__("measure_id", None)),
    "a measurement without value": lambda r: _first(_items(r, "ia"), lambda m: m.__setitem__("boolean_value", None)),
    "a measurement as JSON text": lambda r: _first(_items(r, "ia"), lambda m: m.__setitem__(
        "json", '{"measureId": "X", "value": "yes"}')),
    "a measure twice in a set": lambda r: _first(_sets(r, "quality"), lambda s: s["measurements"].append(
        copy.deepcopy(s["measurements"][0]))),
    "a measure by one method twice": lambda r: _first(_sets(r, "quality"),
                                                      lambda s: r["measurement_sets"].append(copy.deepcopy(s))),
    "an unknown quality measure": lambda r: _first(_single(r), lambda m: m.__setitem__("measure_id", "999999")),
    "a quality measure answered yes": lambda r: _first(_single(r), lambda m: m.__setitem__("boolean_value", True)),
    "no performanceMet": lambda r: _first(_single(r), _value("performanceMet", None)),
    "no performanceNotMet": lambda r: _first(_single(r), _value("performanceNotMet", None)),
    "a negative count": lambda r: _first(_single(r), _value("performanceMet", -1)),
    "a population of 10**9 + 1": lambda r: _first(_single(r), _value("eligiblePopulation", 10**9 + 1)),
    "a count beyond 2**53": lambda r: _first(_single(r), _value("performanceMet", 2**53 + 1)),
    "a count of 2**53": lambda r: _first(_single(r), _value("performanceMet", 2**53)),
    "more cases than the population": lambda r: _first(_single(r), lambda m: m["value"].__setitem__(
        "performanceNotMet", m["value"]["eligiblePopulation"] + 1)),
    "an empty population": lambda r: _first(_single(r), lambda m: m["value"].update(
        performanceMet=0, performanceNotMet=0, eligiblePopulation=0, eligiblePopulationExclusion=0,
        eligiblePopulationException=0)),
    "a NaN rate": lambda r: _first(_single(r), _value("performanceRate", math.nan)),
    "an infinite rate": lambda r: _first(_single(r), _value("reportingRate", math.inf)),
    "a null stratum": lambda r: _first(_multi(r), lambda m: m["value"]["strata"].__setitem__(0, None)),
    "no strata": lambda r: _first(_multi(r), _value("strata", [])),
    "null strata": lambda r: _first(_multi(r), _value("strata", None)),
    "an unknown stratum": lambda r: _first(_multi(r), lambda m: m["value"]["strata"][0].__setitem__("stratum", "nope")),
    "a stratum without a name": lambda r: _first(_multi(r), lambda m: m["value"]["strata"][0].__setitem__("stratum", None)),
    "a stratum twice": lambda r: _first(_multi(r), lambda m: m["value"]["strata"].append(
        copy.deepcopy(m["value"]["strata"][0]))),
    "no overall stratum": lambda r: _first(_multi(r), lambda m: m["value"].__setitem__(
        "strata", [s for s in m["value"]["strata"] if s["stratum"] != "overall"] or m["value"]["strata"])),
    "a stratum over its population": lambda r: _first(_multi(r), lambda m: m["value"]["strata"][0].__setitem__(
        "performanceNotMet", 10**9)),
    "a stratum with a NaN rate": lambda r: _first(_multi(r), lambda m: m["value"]["strata"][0].__setitem__(
        "performanceRate", math.nan)),
    "strata without a case performed": lambda r: _first(_multi(r), lambda m: [s.update(performanceMet=0, performanceNotMet=0)
                                                                               for s in m["value"]["strata"]]),
    "a stratum without a case performed": lambda r: _first(_multi(r), lambda m: m["value"]["strata"][0].update(
        performanceMet=0, performanceNotMet=0)),
    "a ratio of 5 decimals": lambda r: _first(_ratio(r), _value("numerator", 1.23456)),
    "a ratio of 4 decimals": lambda r: _first(_ratio(r), _value("numerator", 1.2345)),
    "a NaN ratio": lambda r: _first(_ratio(r), _value("numerator", math.nan)),
    "a negative ratio": lambda r: _first(_ratio(r), _value("numerator", -0.5)),
    "a denominator of 10**9 + 1": lambda r: _first(_ratio(r), _value("denominator", 1e9 + 1)),
    "no denominator": lambda r: _first(_ratio(r), _value("denominator", None)),
    "1e16 observations": lambda r: _first(_ratio(r), _value("observationInstances", 1e16)),
    "an activity of counts": lambda r: _first(_items(r, "ia"), lambda m: m.update(
        boolean_value=None, value={"performanceMet": 1})),
    "an unknown activity": lambda r: _first(_items(r, "ia"), lambda m: m.__setitem__("measure_id", "IA_NOPE")),
    "an activity answered no": lambda r: _first(_items(r, "ia"), lambda m: m.__setitem__("boolean_value", False)),
    "a PI numerator over its denominator": lambda r: _first(_counts(r), lambda m: m["value"].__setitem__(
        "numerator", m["value"]["denominator"] + 1)),
    "a PI numerator of 0.5": lambda r: _first(_counts(r), _value("numerator", 0.5)),
    "a PI denominator of 10**9 + 1": lambda r: _first(_counts(r), _value("denominator", 1e9 + 1)),
    "a PI attestation of counts": lambda r: _first(_answers(r), lambda m: m.update(
        boolean_value=None, value={"numerator": 1.0, "denominator": 2.0})),
    "PI counts answered yes": lambda r: _first(_counts(r), lambda m: m.__setitem__("boolean_value", True)),
    "a PI measure twice, differently": lambda r: _first([s for s in _sets(r, "pi") if any(m["value"] for m in s["measurements"])],
                                                        lambda s: s["measurements"].append({**copy.deepcopy(next(
                                                            m for m in s["measurements"] if m["value"])),
                                                            "value": {"numerator": 0.0, "denominator": 5.0}})),
    "a PI set twice": lambda r: _first(_sets(r, "pi"), lambda s: r["measurement_sets"].append(copy.deepcopy(s))),
    "an empty CEHRT ID": lambda r: _first(_sets(r, "pi"), lambda s: s.__setitem__("cehrt_id", "")),
    "an unknown PI measure": lambda r: _first(_answers(r), lambda m: m.__setitem__("measure_id", "PI_NOPE")),
    "a clinician count of 0": _put("clinicianCount", 0),
    "a clinician count of 2**60": _put("clinicianCount", 2**60),
    "a facility without a score": _put("facilityBased", {"qualityScore": None}),
    "a facility score of 100.5": _put("facilityBased", {"qualityScore": 100.5}),
    "a facility score of 5 decimals": _put("facilityBased", {"qualityScore": 12.34567}),
    "a facility score of 4 decimals": _put("facilityBased", {"qualityScore": 12.3456}),
    "a prior year without a percent": _put("priorYearQuality", {"achievementPercent": None, "fullParticipation": True}),
    "a prior year": _put("priorYearQuality", {"achievementPercent": 50.5, "fullParticipation": True}),
    "an HCC z-score of 200": _put("complexPatient", {"averageHccScore": 1.0, "dualEligibleRatio": 0.2, "hccZScore": 200.0}),
    "a NaN HCC score": _put("complexPatient", {"averageHccScore": math.nan, "dualEligibleRatio": 0.2}),
    "risk on a rounding tie": _put("complexPatient", {"averageHccScore": 1.0000005, "dualEligibleRatio": 0.1234565,
                                                      "hccZScore": -1.0000005, "dualZScore": 0.5}),
    "empty risk": _put("complexPatient", {}),
    "an EUC category twice": _put("eucApproved", ["pi", "pi"]),
    "a null EUC category": _put("eucApproved", [None]),
    "501 EUC categories": _put("eucApproved", [f"c{i}" for i in range(501)]),
    "EUC categories": _put("eucApproved", ["quality", "pi"]),
    "a null cost measure": _put("costMeasures", [None]),
    "negative attributed cases": _put("costMeasures", [{"measureId": "TPCC", "attributedCases": -1, "score": 1.0}]),
    "a NaN cost": _put("costMeasures", [{"measureId": "TPCC", "attributedCases": 100, "score": math.nan}]),
    "a cost measure without score": _put("costMeasures", [{"measureId": "TPCC", "attributedCases": 100, "score": None}]),
    "an unknown cost measure": _put("costMeasures", [{"measureId": "NOPE", "attributedCases": 100, "score": 1.5}]),
    "a cost of 12 decimals": _cost("score", 1234.123456789123),
    "a cost of 5e9": _cost("score", 5e9),
    "a cost of -2e9": _cost("score", -2e9),
    "a cost of 10**9 + 1": _cost("score", 1e9 + 1),
    "2**53 attributed cases": _cost("attributedCases", 2**53),
    "a clinician type of 4,097 characters": _put("clinicianType", "x" * 4097),
    "a null flag": _put("smallGroupPractitioner", None),
}


def _broken(year: int) -> tuple[pa.Table, dict[str, int]]:
    """A generated population with each break applied to a row of its own (the first it applies to)."""
    rows = _table(year, 2500, 3).to_pylist()
    where: dict[str, int] = {}
    for name, change in BROKEN.items():
        for index, row in enumerate(rows):
            if index in where.values():
                continue
            trial = copy.deepcopy(row)
            try:
                applies = change(trial)
            except (KeyError, IndexError, TypeError, StopIteration):
                applies = False
            if applies:
                rows[index] = trial
                where[name] = index
                break
    return pa.Table.from_pylist(rows, schema=layout.SUBMISSIONS), where


@pytest.mark.parametrize("year", available_years())
def test_broken_rows_are_refused_or_scored_as_the_json_path_does(year: int) -> None:
    table, where = _broken(year)
    assert len(where) >= len(BROKEN) - (10 if year != 2022 else 0)  # cost measures are in 2022's profiles only
    scored, result, refused, positions = _both(year, table)
    _assert_same(scored, result, refused, positions)
    text = {"JSON text", "broken JSON text", "a profile as JSON text", "a set with JSON text", "a measurement as JSON text",
            "a start date in Arabic-Indic digits"}
    assert {name for name, row in where.items() if row in set(scored.to_json.tolist())} == text


def test_refusals_name_the_row_the_json_path_and_column_and_what_was_expected() -> None:
    table, where = _broken(2020)
    scored, _, _, _ = _both(2020, table)
    message = {r.position: (str(r.where), r.message) for r in scored.refusals}
    row = where["a NaN rate"]
    assert message[row][0] == f"in.parquet[row {row}]"
    assert message[row][1] == "at $.measurementSets[0].measurements[0].value.performanceRate (column measurement_sets): " \
                              "not a submission: nan is not a finite number"
    assert message[where["a count beyond 2**53"]][1].endswith(
        "value.performanceMet (column measurement_sets): not a submission: 9007199254740993 is beyond ±2**53 "
        "(9,007,199,254,740,992), which JSON does not carry exactly")
    assert message[where["a facility score of 5 decimals"]][1] == (
        "at profile.facilityBased.qualityScore (column facilityBased): not a profile: 12.34567 has more than 4 decimals; "
        "a percent is read to 4")
    assert message[where["an EUC category twice"]][1] == (
        "at profile.eucApproved[1] (column eucApproved): not a profile: 'pi' is repeated (the items must be unique)")
    assert message[where["another year"]][1] == (
        "at $.performanceYear (column performance_year): the submission is for performance year 2019, but the rulebook "
        "is for 2020 (score it with --year 2019)")
    for name in ("TIN and a newline", "a start date and a newline", "a measure twice in a set", "an unknown quality measure",
                 "a population of 10**9 + 1", "a facility score of 4 decimals", "a stratum twice"):
        assert where[name] not in message, name  # the JSON path scores these rows too (reporting the part it skips)


@pytest.fixture(scope="module", params=[2017, 2021, 2022])
def typed_results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A generated population as Parquet, scored from its typed columns."""
    folder = tmp_path_factory.mktemp(f"typed{request.param}")
    files = layout.write_population(population(request.param, 400, 12), folder)
    job.run(files["submissions"], load(request.param), folder / "results.parquet")
    return folder / "results.parquet", request.param


def test_each_row_scored_from_typed_columns_equals_the_explained_path_node_by_node(typed_results: tuple[Path, int]) -> None:
    explained_alike(*typed_results, 9)


def test_a_parquet_batch_keeps_every_row(tmp_path: Path) -> None:
    """Rows in = results + rejects, the typed rows and the JSON text rows together, in input order."""
    table, where = _broken(2021)
    source = tmp_path / "in.parquet"
    pq.write_table(table, source, row_group_size=700)
    summary = job.run(source, load(2021), tmp_path / "results.parquet", chunk_rows=1000)
    results = pq.read_table(tmp_path / "results.parquet")
    rejects = [line for line in (tmp_path / "results.rejects.jsonl").read_text().splitlines() if line]
    assert summary.rows == table.num_rows == results.num_rows + len(rejects)
    positions = results.column("position").to_pylist()
    assert positions == sorted(positions) and where["JSON text"] in positions
    assert sorted(positions + [int(line.split(",")[0].split(":")[1]) for line in rejects]) == list(range(table.num_rows))


def test_a_completeness_beyond_int64_is_held_and_scores_as_explained() -> None:
    """A non-proportion measure with 10**9 observations of a denominator of 0.0001: its completeness (3 x 10**19 in
    units of 10**-4 %) is held at 2**62, beyond every threshold; the score equals the explained path's."""
    rows = _table(2020, 400, 5).to_pylist()
    index, measurement = next((i, m) for i, row in enumerate(rows) for m in _ratio(row))
    measurement["value"].update(denominator=0.0001, observationInstances=1e9, denominatorException=1e9,
                                numeratorExclusion=1e9)
    batch = pa.Table.from_pylist(rows, schema=layout.SUBMISSIONS).combine_chunks().to_batches()[0]
    book = load(2020)
    scored = typed.score(book, batch, "in.parquet", 0)
    columns, problems = layout.conform(batch, layout.SUBMISSIONS)
    chunk = layout.json_rows(columns, problems, "in.parquet", 0, np.array([index]))
    explained = score(chunk.documents[0], book, profile=chunk.profiles[0])
    at = int(np.flatnonzero(scored.positions == index)[0])
    assert scored.columns["final_score"][at] == int(explained.final_score * 10**6)
