"""Synthetic populations and their layouts on disk: deterministic, read back whole from Parquet, JSON Lines and a
folder, scored without a refusal in every year, and every bad row reported where it is while the rest is read."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine import load, score_many
from engine.base.errors import SubmissionError
from engine.base.locations import available_years
from engine.batch.layout import (
    ENTITIES,
    FORMS,
    SUBMISSIONS,
    WRITERS,
    Refusal,
    read_entities,
    read_population,
    write_entities,
    write_folder,
    write_jsonl,
    write_parquet,
    write_population,
)
from engine.population.synthetic import SMALL_PRACTICE, Entities, Population, population

Row = tuple[dict[str, Any], dict[str, Any]]


def _read(path: Path, chunk_rows: int = 64) -> tuple[list[Row], list[Refusal], int]:
    """Every row of a population on disk; chunks are checked to follow each other, good + refused = rows."""
    rows: list[Row] = []
    refusals: list[Refusal] = []
    count = 0
    for chunk in read_population(path, chunk_rows):
        assert chunk.start == count and chunk.rows == len(chunk.documents) + len(chunk.refusals)
        positions = sorted(chunk.positions + [r.position for r in chunk.refusals])
        assert positions == list(range(chunk.start, chunk.next))
        rows += zip(chunk.documents, chunk.profiles, strict=True)
        refusals += chunk.refusals
        count = chunk.next
    return rows, refusals, count


def _same_entities(a: Entities, b: Entities) -> bool:
    return all(np.array_equal(getattr(a, name), getattr(b, name)) for name in
               ("tin", "npi", "virtual_group", "apm_offsets", "apm_entities", "paid_cents"))


@pytest.fixture(scope="module")
def people() -> Population:
    return population(2021, 600, seed=5)


def test_the_same_seed_gives_the_same_files(tmp_path: Path) -> None:
    first = write_population(population(2022, 800, seed=9), tmp_path / "a")
    second = write_population(population(2022, 800, seed=9), tmp_path / "b")
    other = write_population(population(2022, 800, seed=10), tmp_path / "c")
    for name in ("submissions", "entities"):
        assert first[name].read_bytes() == second[name].read_bytes()
        assert pq.read_table(first[name]).equals(pq.read_table(second[name]))
        assert first[name].read_bytes() != other[name].read_bytes()
    assert pq.read_table(first["submissions"]).schema.equals(SUBMISSIONS)
    assert pq.read_table(first["entities"]).schema.equals(ENTITIES)
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]  # no temporary file left behind


def test_a_submission_does_not_depend_on_the_others_drawn(people: Population) -> None:
    everyone = list(people)
    assert list(people.rows(100, 110)) == everyone[100:110] and people.row(37) == everyone[37]
    assert len(everyone) == len(people) == sum(people.counts().values())


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_form_reads_back_the_same_submissions(tmp_path: Path, people: Population, form: str) -> None:
    paths = write_population(people, tmp_path, form)
    rows, refusals, count = _read(paths["submissions"])
    assert not refusals and count == len(people)
    assert rows == list(people)
    entities, refused = read_entities(paths["entities"])
    assert not refused and _same_entities(entities, people.entities)


def test_parquet_keeps_what_its_typed_columns_cannot_hold(tmp_path: Path) -> None:
    documents: list[Row] = [
        ({"entityType": "individual", "performanceYear": 2021, "taxpayerIdentificationNumber": "123456789",
          "nationalProviderIdentifier": "1234567890", "programName": None, "createdAt": "2022-01-01T00:00:00Z",
          "measurementSets": [{"category": "quality", "submissionMethod": "registry", "submitterId": 7, "measurements": [
              {"measureId": "001", "value": {"performanceMet": 5, "eligiblePopulation": 10, "performanceRate": 50}},
              {"measureId": "236", "value": {"performanceMet": "5", "eligiblePopulation": 10}},
              {"measureId": "047", "value": None}, "not a measurement", {"measureId": "XYZ", "value": [1, 2]},
              {"measureId": "AQI48", "value": {"isEndToEndReported": True, "strata": [
                  {"stratum": "overall", "performanceMet": 3, "performanceNotMet": 1, "eligiblePopulation": 4}]}},
              {"measureId": "ACRAD25", "value": {"numerator": 12.3456, "denominator": 3, "observationInstances": 3}},
          ]}, {"category": "ia", "submissionMethod": "registry", "measurements": [{"measureId": "IA_EPA_1", "value": True}]},
              {"category": "pi", "submissionMethod": 5, "measurements": "none"}]},
         {"smallGroupPractitioner": False, "complexPatient": {"averageHccScore": 1.5, "dualEligibleRatio": 0}}),
        ({"data": {"submission": {"entityType": "group", "performanceYear": 2021, "measurementSets": []}}},
         {"smallGroupPractitioner": "yes"}),
        ({"entityType": "apm", "performanceYear": 10**12, "measurementSets": [7]}, {}),
    ]
    path = tmp_path / "odd.parquet"
    assert write_parquet(documents, path) == 3
    rows, refusals, count = _read(path)
    assert not refusals and count == 3 and rows == documents
    table = pq.read_table(path)
    assert table.column("kind").to_pylist() == ["individual", None, "apm_entity"]
    assert table.column("performance_year").to_pylist() == [2021, None, None]  # 10**12 is kept in extra_json
    assert table.column("profile_json").to_pylist() == [None, '{"smallGroupPractitioner": "yes"}', None]


@pytest.mark.parametrize("year", available_years())
def test_every_generated_submission_is_scored(year: int) -> None:
    people = population(year, 1000, seed=3)
    book = load(year)
    assert set(people.counts()) == set(book.value("program.entity_types")) and all(people.counts().values()), \
        f"every entity type of {year} should submit: {people.counts()}"
    rows = list(people)
    result = score_many([document for document, _ in rows], book, [profile for _, profile in rows])
    assert result.refused == []
    assert len(result.columns["final_score"]) == len(rows) > 250
    finals = result.decimal("final_score")
    assert min(finals) >= 0 and max(finals) <= 100 and len(set(finals)) > len(rows) // 2  # spread, not one value


@pytest.mark.parametrize("year", available_years())
def test_the_population_has_the_structure_it_describes(year: int) -> None:
    people = population(year, 5000, seed=2)
    entities, book = people.entities, load(year)
    assert len(entities) == 5000 and entities.paid_cents.dtype == np.int64 and (entities.paid_cents > 0).all()
    tins, sizes = np.unique(entities.tin, return_counts=True)
    assert sizes.max() <= 200 and np.mean(sizes <= SMALL_PRACTICE) > 0.8  # skewed small
    pairs = np.unique(np.char.add(entities.tin, entities.npi))
    assert len(pairs) == 5000 and len(np.unique(entities.npi)) < 5000  # some clinicians bill under two TINs
    assert np.unique(entities.npi, return_counts=True)[1].max() <= 2
    groups = entities.virtual_group[entities.virtual_group != ""]
    assert bool(len(groups)) == ("virtualGroup" in book.value("program.entity_types"))
    apm_count = np.diff(entities.apm_offsets)
    assert 0.1 < np.mean(apm_count > 0) < 0.5 and apm_count.max() <= 2
    reference = book.reference
    size_of = dict(zip(tins.tolist(), sizes.tolist(), strict=True))
    for document, profile in people.rows(0, 400):
        if document["entityType"] == "individual":
            small = size_of[document["taxpayerIdentificationNumber"]] <= SMALL_PRACTICE
            assert profile.get("smallGroupPractitioner", False) == small
        for measurement_set in document["measurementSets"]:
            known = {"quality": reference.quality, "ia": reference.ia}.get(measurement_set["category"], reference.pi)
            for measurement in measurement_set["measurements"]:
                assert measurement["measureId"] in known
                if measurement_set["category"] == "quality":
                    assert measurement_set["submissionMethod"] in known[measurement["measureId"]]["submissionMethods"]


def test_bad_parquet_rows_are_refused_with_their_row(tmp_path: Path, people: Population) -> None:
    expected = list(people)
    path = tmp_path / "good.parquet"
    write_parquet(expected, path)
    table = pq.read_table(path)
    years = [str(y) for y in table.column("performance_year").to_pylist()]
    years[3] = "twenty twenty-one"  # a string column whose row 3 is not a year
    extra = table.column("extra_json").to_pylist()
    extra[5] = "{not json"
    table = table.set_column(table.schema.get_field_index("performance_year"), "performance_year", pa.array(years))
    table = table.set_column(table.schema.get_field_index("extra_json"), "extra_json", pa.array(extra, pa.string()))
    bad = tmp_path / "bad.parquet"
    pq.write_table(table, bad, row_group_size=50)
    rows, refusals, count = _read(bad)
    assert count == len(expected) and [(r.position, r.where.row) for r in refusals] == [(3, 3), (5, 5)]
    assert "performance_year" in refusals[0].message and "twenty" in refusals[0].message
    assert "extra_json" in refusals[1].message and str(refusals[1]).startswith(f"{bad}[row 5]: ")
    assert rows == [row for index, row in enumerate(expected) if index not in (3, 5)]
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    rows, refusals, count = _read(tmp_path / "broken.parquet")
    assert not rows and count == 1 and "not a readable Parquet file" in refusals[0].message


def test_bad_json_lines_are_refused_with_their_line(tmp_path: Path, people: Population) -> None:
    expected = list(people.rows(0, 20))
    path = tmp_path / "good.jsonl"
    write_jsonl(expected, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2:2] = ['{"entityType": "individual", oops}', "", "[1, 2]", '{"name": "not a submission"}',
                  json.dumps({**expected[0][0], "profile": "small"})]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows, refusals, count = _read(bad, chunk_rows=4)
    assert count == 24 and rows == expected  # the blank line is not a row
    assert [(r.position, r.where.line) for r in refusals] == [(2, 3), (3, 5), (4, 6), (5, 7)]
    assert "not valid JSON" in refusals[0].message and str(refusals[0]).startswith(f"{bad}:3: ")
    assert "found an array" in refusals[1].message and "not a QPP submission" in refusals[2].message
    assert "profile" in refusals[3].message
    with pytest.raises(SubmissionError, match=r"missing\.jsonl: cannot read: no such file or folder \(give a folder"):
        _read(tmp_path / "missing.jsonl")


def test_bad_files_in_a_folder_are_refused_with_their_name(tmp_path: Path, people: Population) -> None:
    expected = list(people.rows(0, 12))
    folder = tmp_path / "folder"
    write_folder(expected, folder)
    (folder / "notes.txt").write_text("a note", encoding="utf-8")
    (folder / "orphan.yaml").write_text("smallGroupPractitioner: true\n", encoding="utf-8")
    (folder / "broken.json").write_text('{"entityType": \n oops', encoding="utf-8")
    (folder / ".hidden.json").write_text("not read", encoding="utf-8")
    profiled = next(i for i, (_, profile) in enumerate(expected) if profile)
    (folder / f"{profiled:08d}.yaml").write_text("smallGroupPractitioner: [unclosed\n", encoding="utf-8")
    rows, refusals, count = _read(folder, chunk_rows=5)
    assert count == 12 + 3 and rows == [row for index, row in enumerate(expected) if index != profiled]
    where = {Path(r.where.file).name: r for r in refusals}
    assert set(where) == {"broken.json", "notes.txt", "orphan.yaml", f"{profiled:08d}.yaml"}
    assert where["broken.json"].where.line == 2 and "not valid JSON" in where["broken.json"].message
    assert "not a submission" in where["notes.txt"].message and "no submission" in where["orphan.yaml"].message
    assert "not valid YAML" in where[f"{profiled:08d}.yaml"].message


def test_bad_entity_rows_are_refused_with_their_row(tmp_path: Path, people: Population) -> None:
    path = tmp_path / "entities.parquet"
    write_entities(people.entities, path)
    table = pq.read_table(path)
    tins = table.column("tin").to_pylist()
    tins[4] = "12345"
    table = table.set_column(0, ENTITIES.field("tin"), pa.array(tins, pa.string()))
    pq.write_table(table, path)
    entities, refusals = read_entities(path)
    assert [(r.position, r.where.row) for r in refusals] == [(4, 4)] and "tin" in refusals[0].message
    assert len(entities) == len(people.entities) - 1
    assert np.array_equal(entities.npi, np.delete(people.entities.npi, 4))


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, people: Population) -> None:
    def failing() -> Iterator[Row]:
        yield from people.rows(0, 5)
        raise RuntimeError("the source broke")

    for form in sorted(FORMS):
        with pytest.raises(RuntimeError):
            WRITERS[form](failing(), tmp_path / FORMS[form])
    assert list(tmp_path.iterdir()) == []


def test_ten_thousand_tin_npis_generate_write_and_read_quickly(tmp_path: Path) -> None:
    started = time.perf_counter()
    people = population(2022, 10_000, seed=1)
    built = time.perf_counter()
    paths = write_population(people, tmp_path)
    written = time.perf_counter()
    rows, refusals, count = _read(paths["submissions"], chunk_rows=4096)
    entities, refused = read_entities(paths["entities"])
    done = time.perf_counter()
    assert count == len(people) and not refusals and not refused and len(entities) == 10_000
    print(f"\n10,000 TIN/NPIs, {len(people)} submissions: generate {built - started:.2f} s, write Parquet "
          f"{written - built:.2f} s, read {done - written:.2f} s, total {done - started:.2f} s")
