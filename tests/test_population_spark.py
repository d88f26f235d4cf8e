"""A Parquet population scored on Spark from its typed columns (``spark.score_layout``) gives the rows ``mips batch``
gives: every result of the single-process run, and each refused row refused with the same message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (the spark extra)")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java: no java on PATH", allow_module_level=True)

from engine import load  # noqa: E402
from engine.batch import job, layout, spark  # noqa: E402
from engine.population.synthetic import population  # noqa: E402

FAST_START = "-XX:TieredStopAtLevel=1"


def test_score_layout_equals_the_single_process_batch(tmp_path: Path) -> None:
    rows = layout.submissions_table([layout.submission_row(*row) for row in population(2021, 400, 6)]).to_pylist()
    rows[3]["performance_year"] = 2020  # refused: another year
    rows[7]["extra_json"] = '{"createdAt": "2021-02-01"}'  # read as JSON, scored
    rows[9]["extra_json"] = "{not json"  # read as JSON, refused
    source = tmp_path / "submissions.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=layout.SUBMISSIONS), source, row_group_size=50)
    book = load(2021)
    job.run(source, book, tmp_path / "results.parquet")
    single = pq.read_table(tmp_path / "results.parquet")
    lines = (tmp_path / "results.rejects.jsonl").read_text().splitlines()
    rejects = {r["position"]: r["message"] for r in map(json.loads, lines)}
    session = spark.session("mips-tests", config={"spark.driver.extraJavaOptions": FAST_START})
    try:
        found = spark.score_layout(spark.read_layout(session, source), book).orderBy("position").toArrow()
    finally:
        session.stop()
    assert found.num_rows == len(rows) and found.column("position").to_pylist() == list(range(len(rows)))
    scored = found.filter(pa.compute.equal(found.column("status"), spark.SCORED))
    names = [name for name in single.column_names if name != "source"]
    assert scored.select(names).equals(single.select(names))
    refused = found.filter(pa.compute.equal(found.column("status"), spark.REFUSED))
    assert dict(zip(refused.column("position").to_pylist(), refused.column("message").to_pylist(), strict=True)) == rejects
    assert sorted(rejects) == [3, 9]
