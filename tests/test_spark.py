"""The batch on Spark equals the single-process batch: every row of ``score_frame`` equals ``job.run``'s row for the
same input position (refused rows with the same message), and ``adjust_frame`` over at least three partitions equals
``adjust`` row by row with the same exact factors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (the spark extra)")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java: no java on PATH", allow_module_level=True)

from pyspark.sql import DataFrame, SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from engine import load  # noqa: E402
from engine.batch import adjust, job, layout, spark  # noqa: E402
from engine.population.synthetic import population  # noqa: E402

YEAR, SIZE, SEED = 2020, 300, 5
SAMPLE_2017 = Path(__file__).resolve().parent / "samples" / "2017-individual-ehr-quality-aci-ia-comprehensive.json"
FAST_START = "-XX:TieredStopAtLevel=1"  # the JVM compiles less: it starts in about half the time, and these jobs are tiny
BAD_AT = 30  # two bad lines go here: not JSON, and a 2017 submission (refused by scope)


@pytest.fixture(scope="module")
def session() -> Iterator[SparkSession]:
    active = spark.session("mips-tests", config={"spark.driver.extraJavaOptions": FAST_START})
    yield active
    active.stop()


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The population as JSON Lines with two bad lines, scored and adjusted by the single-process job."""
    folder = tmp_path_factory.mktemp("spark")
    files = layout.write_population(population(YEAR, SIZE, SEED), folder, form="jsonl")
    lines = files["submissions"].read_text().splitlines()
    lines = lines[:BAD_AT] + ["{not json", SAMPLE_2017.read_text().replace("\n", " ")] + lines[BAD_AT:]
    source = folder / "input.jsonl"
    source.write_text("\n".join(lines) + "\n")
    book = load(YEAR)
    job.run(source, book, folder / "results.parquet")
    done = adjust.adjust(folder / "results.parquet", files["entities"], book, folder / "adjusted.parquet")
    rejects = [json.loads(line) for line in (folder / "results.rejects.jsonl").read_text().splitlines()]
    return {"lines": lines, "book": book, "entities": files["entities"], "results": pq.read_table(folder / "results.parquet"),
            "rejects": rejects, "adjusted": pq.read_table(folder / "adjusted.parquet"), "factors": done.factors}


def _rows(lines: list[str]) -> list[tuple[int, str, str | None]]:
    """(position, document, profile) per line: the profile as its own column, except every fifth line (and the bad
    ones), which keep it inside the document as JSON Lines does."""
    rows = []
    for position, line in enumerate(lines):
        try:
            document = json.loads(line)
        except json.JSONDecodeError:
            document = None
        if document is None or position % 5 == 0 or "profile" not in document:
            rows.append((position, line, None))
        else:
            profile = document.pop("profile")
            rows.append((position, json.dumps(document), json.dumps(profile)))
    return rows


@pytest.fixture(scope="module")
def scored(session: SparkSession, single: dict[str, Any]) -> DataFrame:
    frame = session.createDataFrame(_rows(single["lines"]), "position long, document string, profile string").repartition(3)
    return spark.score_frame(frame, single["book"]).cache()


def test_every_row_equals_the_single_process_row(scored: DataFrame, single: dict[str, Any]) -> None:
    rows = {row["position"]: row.asDict() for row in scored.collect()}
    assert sorted(rows) == list(range(len(single["lines"])))
    expected = {row["position"]: row for row in single["results"].to_pylist()}
    columns = [name for name in single["results"].column_names if name != "source"]
    assert scored.columns == ["position", "status", "message", *columns[1:]]
    for position, row in expected.items():
        assert row.pop("source") and rows[position] == {**row, "status": "scored", "message": None}, position
    for reject in single["rejects"]:
        row = rows[reject["position"]]
        assert (row["status"], row["message"]) == ("refused", reject["message"])
        assert all(row[name] is None for name in columns[1:]), reject
    assert [r["position"] for r in single["rejects"]] == [BAD_AT, BAD_AT + 1]
    assert len(expected) + len(single["rejects"]) == len(rows)


def test_adjust_frame_equals_the_single_process_adjustment(session: SparkSession, scored: DataFrame,
                                                           single: dict[str, Any]) -> None:
    entities = session.read.parquet(str(single["entities"])).withColumn("row", F.monotonically_increasing_id())
    adjusted, factors = spark.adjust_frame(scored, entities.repartition(3), single["book"], partitions=3)
    rows = sorted((row.asDict() for row in adjusted.withColumn("part", F.spark_partition_id()).collect()),
                  key=lambda row: row["row"])
    assert len({row.pop("part") for row in rows}) == 3
    expected = single["adjusted"].to_pylist()
    assert adjusted.columns == ["row", *single["adjusted"].column_names]
    assert [row.pop("row") for row in rows] == list(range(len(expected)))
    for got, want in zip(rows, expected, strict=True):
        assert got == want
    assert {**factors.report(), "maximum": single["factors"]["maximum"]} == single["factors"]


def test_ties_and_unnamed_kinds_are_chosen_as_the_single_process_chooses(session: SparkSession, tmp_path: Path) -> None:
    """2017 names no virtual group step. N1: group and individual both 80, the group listed first wins; N2: the group;
    N3: a virtual group 95 (never used) and individually 50; N4: APM Entities A2 and A1 (both 60) and A3 (no
    score); N5: nothing; N6: APM Entity A1 60 over individually 100."""
    results = pa.table({"entity_type": ["individual", "group", "virtualGroup", "individual", "apm", "apm", "individual"],
                        "tin": ["000000001", "000000001", "", "000000002", "", "", "000000005"],
                        "npi": ["1000000001", "", "", "1000000003", "", "", "1000000006"],
                        "entity_id": ["", "", "VG1", "", "A1", "A2", ""],
                        "final_score": [80.0, 80.0, 95.0, 50.0, 60.0, 60.0, 100.0]})
    entities = pa.table({"tin": [f"00000000{t}" for t in (1, 1, 2, 3, 4, 5)], "npi": [f"100000000{i}" for i in range(1, 7)],
                         "virtual_group": [None, None, "VG1", None, None, None],
                         "apm_entities": [[], [], [], ["A2", "A3", "A1"], [], ["A1"]],
                         "paid_cents": pa.array([100_000, 200_000, 300_000, 400_000, 500_000, 600_000], pa.int64())},
                        schema=layout.ENTITIES)
    pq.write_table(results, tmp_path / "results.parquet")
    pq.write_table(entities, tmp_path / "entities.parquet")
    book = load(2017)
    done = adjust.adjust(tmp_path / "results.parquet", tmp_path / "entities.parquet", book, tmp_path / "adjusted.parquet",
                         pool_dollars=50)
    frame = session.read.parquet(str(tmp_path / "results.parquet"))
    adjusted, factors = spark.adjust_frame(frame, session.read.parquet(str(tmp_path / "entities.parquet")), book,
                                           pool_cents=5000, partitions=3)
    rows = [row.asDict() for row in adjusted.orderBy("row").collect()]
    assert [row.pop("row") for row in rows] == list(range(6))
    assert rows == pq.read_table(tmp_path / "adjusted.parquet").to_pylist()
    assert [(r["final_score_source"], r["candidates"]) for r in rows] == [
        ("group", 2), ("group", 1), ("individual", 2), ("apm_entity", 2), ("", 0), ("apm_entity", 2)]
    assert {**factors.report(), "maximum": done.factors["maximum"]} == done.factors
    twice = frame.unionByName(frame.limit(1))
    with pytest.raises(ValueError, match="an? individual has more than one final score"):
        spark.adjust_frame(twice, session.read.parquet(str(tmp_path / "entities.parquet")), book)


def test_rows_without_position_or_profile_columns(session: SparkSession, single: dict[str, Any]) -> None:
    """Positions from a monotonically increasing id (one partition: 0, 1, ...); a batch of refused rows only."""
    documents = ["{not json", "[1]", None, json.dumps({"entityType": "group", "profile": []})]
    frame = session.createDataFrame([(d,) for d in documents], "document string").coalesce(1)
    rows = [row.asDict() for row in spark.score_frame(frame, single["book"]).orderBy("position").collect()]
    assert [(r["position"], r["status"]) for r in rows] == [(0, "refused"), (1, "refused"), (2, "refused"), (3, "refused")]
    assert [r["message"] for r in rows] == [
        "not valid JSON: Expecting property name enclosed in double quotes (column 2)",
        "expected a JSON object (a QPP submission), found an array", "no document (null)",
        "the profile must be an object of facts, found an array"]
    assert all(value is None for r in rows for name, value in r.items() if name not in ("position", "status", "message"))
