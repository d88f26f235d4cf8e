"""``mips batch`` and ``mips adjust`` as functions: rows in = results + rejects, each result row equal to the explained
path's trace nodes, outputs written atomically, and a hand-computed population adjusted."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine import load, score
from engine.batch import job, layout
from engine.batch.adjust import adjust
from engine.population.synthetic import population

T1, T2, N1, N2, N3 = "000000001", "000000002", "1000000001", "1000000002", "1000000003"
SAMPLE_2017 = Path(__file__).resolve().parent / "samples" / "2017-individual-ehr-quality-aci-ia-comprehensive.json"


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, job.Summary, int]:
    """A generated 2020 population as JSON Lines with three bad lines after its 20th, scored in chunks of 25."""
    folder = tmp_path_factory.mktemp("batch")
    files = layout.write_population(population(2020, 200, 11), folder, form="jsonl")
    lines = files["submissions"].read_text().splitlines()
    bad = ["{not json", json.dumps({"hello": "world"}), SAMPLE_2017.read_text().replace("\n", " ")]
    source = folder / "input.jsonl"
    source.write_text("\n".join(lines[:20] + bad + lines[20:]) + "\n")
    summary = job.run(source, load(2020), folder / "results.parquet", chunk_rows=25)
    return source, folder / "results.parquet", summary, len(lines) + len(bad)


def test_rows_in_equal_results_plus_rejects(scored: tuple[Path, Path, job.Summary, int]) -> None:
    source, results, summary, rows = scored
    rejects = [json.loads(line) for line in results.with_suffix(".rejects.jsonl").read_text().splitlines()]
    assert summary.rows == rows and summary.scored + summary.refused == rows
    assert pq.read_table(results).num_rows == summary.scored and len(rejects) == summary.refused == 3
    assert [r["position"] for r in rejects] == [20, 21, 22]
    assert [r["where"] for r in rejects] == [f"{source}:21", f"{source}:22", f"{source}:23"]
    assert "not valid JSON" in rejects[0]["message"] and "2017" in rejects[2]["message"]
    assert sorted(pq.read_table(results).column("position").to_pylist() + [20, 21, 22]) == list(range(rows))


def explained_alike(results: Path, year: int, every: int) -> None:
    """Every ``every``-th result row equals the explained path's trace nodes for its input row."""
    table = pq.read_table(results)
    book = load(year)
    nodes = [n for n in table.column_names if n not in (*job.ENTITY_COLUMNS, "position", "source", "neutral")]
    for row in range(0, table.num_rows, every):
        document, profile, _ = job.input_row(results, row)
        explained = score(document, book, profile=profile).document
        trace = {n["id"]: n["value"] for n in explained["trace"]}
        for name in nodes:
            value = table.column(name)[row].as_py()
            if name == "payment.band":
                assert value == explained["payment"]["band"], (row, name)
            elif name.endswith(".percent"):
                assert value == explained["categories"][name.split(".")[0]]["percent"], (row, name)
            elif name.endswith(".reweighted"):
                assert value == explained["categories"][name.split(".")[0]]["reweighted"], (row, name)
            else:
                assert value == trace[name], (row, name)


def test_each_result_row_equals_the_explained_path_node_by_node(scored: tuple[Path, Path, job.Summary, int]) -> None:
    _, results, _, _ = scored
    explained_alike(results, 2020, 7)


def test_an_interrupted_run_leaves_the_previous_output(tmp_path: Path) -> None:
    source = layout.write_population(population(2020, 120, 3), tmp_path, form="jsonl")["submissions"]
    target = tmp_path / "results.parquet"
    target.write_bytes(b"previous")

    def stop(rows: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        job.run(source, load(2020), target, chunk_rows=10, progress=stop)
    assert target.read_bytes() == b"previous"
    assert not target.with_suffix(".rejects.jsonl").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".results.parquet.parts", "entities.parquet", "results.parquet",
                                                         "submissions.jsonl"]
    assert sorted(p.name for p in (tmp_path / ".results.parquet.parts").iterdir()) == [
        "lock", "manifest.json", "part-000000000000.arrow", "part-000000000000.json", "part-000000000000.rejects.jsonl"]
    assert job.run(source, load(2020), target, chunk_rows=10).resumed_chunks == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entities.parquet", "results.parquet", "results.rejects.jsonl",
                                                         "submissions.jsonl"]


def test_a_hand_computed_population_is_adjusted(tmp_path: Path) -> None:
    """2020 (PT 45, AP 9, EPT 85). TIN T1 has clinicians N1 ($1,000 paid) and N2 ($2,000); N3 ($1,000) is in TIN T2
    and APM Entity E1. Scores: N1 individually 100, group T1 30, E1 45, N3 individually 100.
    Hierarchy: N1 the higher of group 30 and individual 100 -> 100; N2 only group -> 30; N3 APM Entity over any
    other -> 45. Before scaling: 100 -> +9 % and exceptional +10 %; 30 -> -9 x 15/45 = -3 %; 45 -> 0.
    Decreases: $2,000 x 3 % = $60; increases before scaling: $1,000 x 9 % = $90, so SF = 60/90 = 2/3 and N1 gets
    9 x 2/3 = 6 %, $60.00. An exceptional pool of $50 over $1,000 x 10 % = $100 gives SF_x = 1/2: 5 %, $50.00."""
    results = pa.table({"entity_type": ["individual", "group", "apm", "individual"],
                        "tin": [T1, T1, "", T2], "npi": [N1, "", "", N3], "entity_id": ["", "", "E1", ""],
                        "final_score": [100.0, 30.0, 45.0, 100.0]})
    pq.write_table(results, tmp_path / "results.parquet")
    entities = pa.table({"tin": [T1, T1, T2], "npi": [N1, N2, N3], "virtual_group": [None, None, None],
                         "apm_entities": [[], [], ["E1"]], "paid_cents": pa.array([100_000, 200_000, 100_000], pa.int64())},
                        schema=layout.ENTITIES)
    pq.write_table(entities, tmp_path / "entities.parquet")
    done = adjust(tmp_path / "results.parquet", tmp_path / "entities.parquet", load(2020), tmp_path / "adj.parquet",
                  pool_dollars=50)
    assert done.factors["scaling_factor"]["exact"] == "2/3" and done.factors["exceptional_scaling_factor"]["exact"] == "1/2"
    rows = pq.read_table(tmp_path / "adj.parquet").to_pylist()
    assert [(r["final_score"], r["final_score_source"], r["final_score_reason"]) for r in rows] == [
        (100, "individual", "group_or_individual"), (30, "group", "group_or_individual"), (45, "apm_entity", "apm_entity")]
    assert [r["payment.band"] for r in rows] == ["positive_exceptional", "negative", "neutral"]
    assert [(r["payment.adjustment"], r["payment.exceptional"], r["payment.total"]) for r in rows] == [
        (6, 5, 11), (-3, 0, -3), (0, 0, 0)]
    assert [(r["cents.adjustment"], r["cents.exceptional"]) for r in rows] == [(6000, 5000), (-6000, 0), (0, 0)]
    assert [r["payment.display.total"] for r in rows] == [11, -3, 0]
