"""The population commands end to end: generate, batch, explain a row, adjust, compare years."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.interfaces.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_generate_batch_explain_adjust_and_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "population"
    files = json.loads(_run(capsys, "generate-population", "--year", "2021", "--size", "300", "--seed", "5",
                            "-o", str(folder)))
    results = tmp_path / "results.parquet"
    summary = json.loads(_run(capsys, "batch", files["submissions"], "--year", "2021", "-o", str(results)))
    table = pq.read_table(results)
    assert summary["rows"] == summary["scored"] + summary["refused"] == pq.read_table(files["submissions"]).num_rows
    assert table.num_rows == summary["scored"] and round(sum(summary["payment_bands"].values()), 3) == 1
    text = _run(capsys, "explain", str(results), "--row", "2")
    shown = re.search(r"Final score: ([0-9.]+) of 100", text)
    assert shown and float(shown.group(1)) == round(table.column("final_score")[2].as_py(), 4)
    adjusted = json.loads(_run(capsys, "adjust", str(results), "--entities", files["entities"], "-o",
                               str(tmp_path / "adjust.parquet"), "--exceptional-pool", "1000000",
                               "--histogram", str(tmp_path / "scores.png")))
    factors = adjusted["factors"]
    assert adjusted["rows"] == 300 and factors["increase_cents"] == factors["decrease_cents"]
    assert (tmp_path / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    compared = json.loads(_run(capsys, "population-compare", files["submissions"], "--years", "2021", "2022",
                               "-o", str(tmp_path / "compare")))
    assert [y["scored"] + y["refused"] for y in compared["years"]] == [summary["rows"]] * 2


def test_explain_row_of_a_file_that_is_not_a_batch_result_is_refused(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1]}), other)
    assert main(["explain", str(other), "--row", "0"]) == 2
    assert "not a results file of mips batch" in capsys.readouterr().err
