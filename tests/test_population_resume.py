"""An interrupted ``mips batch`` resumes: killed mid-run (SIGKILL, a real process), the previous outputs are untouched,
and a rerun scores only the chunks not done and writes every row once: results equal to a clean run's, rows in =
results + rejects. A rerun on another input or rulebook starts clean."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engine import load
from engine.batch import job, layout, parts
from engine.population.synthetic import population

CHUNK = 25  # rows per chunk: the run below has a few dozen, so a kill lands between two
MIPS = [sys.executable, "-c", "import sys; from engine.interfaces.cli import main; sys.exit(main())"]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2021 population as JSON Lines (read document by document: slow enough to be killed), two bad lines in it."""
    folder = tmp_path_factory.mktemp("resume")
    lines = layout.write_population(population(2021, 3000, 4), folder, form="jsonl")["submissions"].read_text().splitlines()
    path = folder / "input.jsonl"
    path.write_text("\n".join([*lines[:40], "{not json", *lines[40:90], "[]", *lines[90:]]) + "\n")
    return path


def _records(output: Path) -> int:
    folder = output.parent / f".{output.name}.parts"
    return len(list(folder.glob("part-*.json"))) if folder.is_dir() else 0


def _rows(output: Path) -> tuple[list[int], list[int]]:
    results = pq.read_table(output).column("position").to_pylist()
    rejects = [json.loads(line)["position"] for line in output.with_suffix(".rejects.jsonl").read_text().splitlines()]
    return results, rejects


def test_a_killed_run_resumes_without_losing_or_repeating_a_row(source: Path, tmp_path: Path) -> None:
    clean = tmp_path / "clean.parquet"
    expected = job.run(source, load(2021), clean, chunk_rows=CHUNK)
    output = tmp_path / "results.parquet"
    output.write_bytes(b"previous")
    command = [*MIPS, "batch", str(source), "--year", "2021", "-o", str(output), "--chunk-rows", str(CHUNK)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _records(output) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = _records(output)
    assert 3 <= done < expected.rows // CHUNK
    assert output.read_bytes() == b"previous" and not output.with_suffix(".rejects.jsonl").exists()
    rerun = subprocess.run(command, capture_output=True, text=True, check=True)
    summary = json.loads(rerun.stdout)
    assert summary["resumed_chunks"] >= done and summary["rows"] == expected.rows
    assert summary["scored"] + summary["refused"] == summary["rows"]
    results, rejects = _rows(output)
    assert sorted(results + rejects) == list(range(expected.rows)) and rejects == [40, 91]
    assert pq.read_table(output).equals(pq.read_table(clean))
    assert not (tmp_path / ".results.parquet.parts").exists()


def _stop_after(chunks: int) -> Callable[[int], None]:
    """A progress callback that interrupts the run once ``chunks`` chunks are done."""
    def stop(rows: int) -> None:
        if rows >= chunks * CHUNK:
            raise KeyboardInterrupt
    return stop


def test_parts_of_another_input_or_rulebook_are_not_reused(source: Path, tmp_path: Path) -> None:
    output = tmp_path / "results.parquet"
    stop = _stop_after(3)
    with pytest.raises(KeyboardInterrupt):
        job.run(source, load(2021), output, chunk_rows=CHUNK, progress=stop)
    assert _records(output) == 3 and not output.exists()
    assert job.run(source, load(2021), output, chunk_rows=CHUNK).resumed_chunks == 3
    with pytest.raises(KeyboardInterrupt):
        job.run(source, load(2021), output, chunk_rows=CHUNK, progress=stop)
    what_if = load(2021, overrides={"payment.performance_threshold": 61})
    summary = job.run(source, what_if, output, chunk_rows=CHUNK)
    assert summary.resumed_chunks == 0 and summary.rows == summary.scored + summary.refused
    with pytest.raises(KeyboardInterrupt):
        job.run(source, load(2021), output, chunk_rows=CHUNK, progress=stop)
    changed = tmp_path / "changed.jsonl"
    changed.write_text(source.read_text().replace("{not json", "{still not json"))
    assert job.run(changed, load(2021), output, chunk_rows=CHUNK).resumed_chunks == 0


def test_a_record_without_its_parts_is_scored_again(source: Path, tmp_path: Path) -> None:
    """A chunk is done when its record is there; a part file left without one (killed between the two) is replaced."""
    output = tmp_path / "results.parquet"
    stop = _stop_after(2)
    with pytest.raises(KeyboardInterrupt):
        job.run(source, load(2021), output, chunk_rows=CHUNK, progress=stop)
    folder = tmp_path / ".results.parquet.parts"
    record = folder / "part-000000000025.json"
    record.unlink()
    (folder / "part-000000000050.arrow").write_bytes(b"half written")
    summary = job.run(source, load(2021), output, chunk_rows=CHUNK)
    assert summary.resumed_chunks == 1
    results, rejects = _rows(output)
    assert sorted(results + rejects) == list(range(summary.rows))


def test_two_runs_do_not_write_one_output_at_once(source: Path, tmp_path: Path) -> None:
    work = parts.WorkFolder(tmp_path / "results.parquet", {"input": "x"})
    with work.opened(), pytest.raises(Exception, match="another mips batch run is writing this output"), \
            parts.WorkFolder(tmp_path / "results.parquet", {"input": "x"}).opened():
        pass
    assert os.path.isdir(work.path)
