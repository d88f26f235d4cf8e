"""A national population through the engine against a hand-written numpy pipeline, in one process.

    ../benchvenv/bin/python benchmarks/population.py [--size 1000000] [--seed 1] [--runs 3] [--folder DIR] [--spark]

A synthetic 2020 population of ``--size`` TIN/NPIs (``engine.population.synthetic``) is written as Parquet into
``--folder`` (kept: a later run with the same size and seed reuses it; the write is timed and reported). Then, in
this process, alternately ``--runs`` times after a warm-up run of each:

- the engine: ``mips batch`` (``engine.batch.job.run``: the typed Parquet path, results and rejects written) and
  ``mips adjust`` (``engine.batch.adjust.adjust``: hierarchy, budget neutrality, the Payment Adjustment table written);
- the baseline: ``population_numpy.pipeline``, the same arithmetic hand-written in numpy for 2020.

Both Payment Adjustment tables must be equal, column by column, or the benchmark stops. It prints the machine line
(``machine.py``), the medians of both and their ratio, each one's stages, and the peak memory (maximum resident set
size) of each pipeline run alone in a fresh process. ``--spark`` adds Spark in local mode (``engine.batch.spark``,
``local[2]``) scoring and adjusting the same Parquet input, against the single-process run in the same process.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from machine import describe
from population_numpy import pipeline

from engine import load
from engine.batch import layout
from engine.batch.adjust import adjust
from engine.batch.job import run
from engine.population.synthetic import population

YEAR = 2020


def prepare(folder: Path, size: int, seed: int) -> tuple[dict[str, Path], float | None]:
    """The population's files, written unless already there (then the seconds it took)."""
    paths = {"submissions": folder / layout.FORMS["parquet"], "entities": folder / "entities.parquet"}
    if all(path.exists() for path in paths.values()):
        return paths, None
    start = time.perf_counter()
    layout.write_population(population(YEAR, size, seed), folder)
    return paths, time.perf_counter() - start


def engine_run(paths: dict[str, Path], work: Path) -> dict[str, float]:
    """``mips batch`` then ``mips adjust``, as functions; seconds of each."""
    book = load(YEAR)
    start = time.perf_counter()
    run(paths["submissions"], book, work / "results.parquet")
    middle = time.perf_counter()
    adjust(work / "results.parquet", paths["entities"], book, work / "adjustments.parquet")
    return {"batch": middle - start, "adjust": time.perf_counter() - middle}


def numpy_run(paths: dict[str, Path], work: Path) -> dict[str, float]:
    return pipeline(paths["submissions"], paths["entities"], work / "baseline.parquet")


def timed(calls: dict[str, Callable[[], dict[str, float]]], runs: int) -> dict[str, list[dict[str, float]]]:
    """Each call's stage seconds per run, after one warm-up run each; the calls alternate run by run."""
    for call in calls.values():
        call()
    found: dict[str, list[dict[str, float]]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            start = time.perf_counter()
            stages = call()
            found[name].append({**stages, "total": time.perf_counter() - start})
    return found


def same(work: Path) -> None:
    """Stop unless the engine's and the baseline's Payment Adjustment tables are equal."""
    ours, theirs = pq.read_table(work / "adjustments.parquet"), pq.read_table(work / "baseline.parquet")
    differ = [name for name in ours.column_names if not ours.column(name).equals(theirs.column(name))]
    if differ or ours.column_names != theirs.column_names:
        sys.exit(f"the engine's and the baseline's adjustments differ in {differ or 'their columns'}")


def peak_memory(which: str, paths: dict[str, Path], work: Path) -> float:
    """Maximum resident set size (MB) of one pipeline run alone in a fresh process."""
    child = subprocess.run([sys.executable, __file__, "--child", which, "--folder", str(paths["submissions"].parent),
                            "--work", str(work)], capture_output=True, text=True, check=True)
    return float(json.loads(child.stdout)["peak_mb"])


def child(which: str, folder: Path, work: Path) -> None:
    paths = {"submissions": folder / layout.FORMS["parquet"], "entities": folder / "entities.parquet"}
    (engine_run if which == "engine" else numpy_run)(paths, work)
    print(json.dumps({"peak_mb": peak_resident()}))


def peak_resident() -> float:
    """This process's peak resident set size in MB (``VmHWM``: after exec, getrusage's maximum would still count the
    forked parent's pages)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def spark_run(session: Any, paths: dict[str, Path], work: Path) -> dict[str, float]:
    """The same on Spark in local mode: the Parquet input scored from its typed columns (``spark.score_layout``),
    the Payment Adjustment table written as Parquet (``spark.adjust_frame``)."""
    from engine.batch import spark
    book = load(YEAR)
    start = time.perf_counter()
    results = spark.score_layout(spark.read_layout(session, paths["submissions"]), book).localCheckpoint()
    results.count()
    middle = time.perf_counter()
    adjusted, _ = spark.adjust_frame(results.where("status = 'scored'"), session.read.parquet(str(paths["entities"])), book)
    adjusted.write.mode("overwrite").parquet(str(work / "spark-adjustments"))
    return {"batch": middle - start, "adjust": time.perf_counter() - middle}


def same_on_spark(work: Path) -> None:
    """Stop unless Spark's Payment Adjustment table holds the single-process rows (by TIN/NPI)."""
    keys = ["tin", "npi"]
    ours = pq.read_table(work / "adjustments.parquet").sort_by([(k, "ascending") for k in keys])
    theirs = pq.read_table(work / "spark-adjustments").drop(["row"]).sort_by([(k, "ascending") for k in keys])
    differ = [name for name in ours.column_names if not ours.column(name).cast(theirs.schema.field(name).type)
              .equals(theirs.column(name))]
    if differ:
        sys.exit(f"Spark's adjustments differ in {differ}")


def spark_section(paths: dict[str, Path], work: Path, runs: int) -> None:
    from engine.batch import spark
    session = spark.session("mips-benchmark")
    try:
        found = timed({"spark": lambda: spark_run(session, paths, work), "engine": lambda: engine_run(paths, work)}, runs)
    finally:
        session.stop()
    same_on_spark(work)
    spark_time, single_time = report("spark", found["spark"]), report("engine", found["engine"])
    print(f"spark local[2] / single process = {spark_time / single_time:.2f} (the Spark session started beforehand)")


def report(name: str, runs: list[dict[str, float]]) -> float:
    median = statistics.median(r["total"] for r in runs)
    stages = ", ".join(f"{stage} {statistics.median(r[stage] for r in runs):.2f} s" for stage in runs[0] if stage != "total")
    print(f"{name:9s} {median:7.2f} s  ({stages}; median of {len(runs)})")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="TIN/NPIs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--folder", type=Path, help="where the population is kept (default: in the temporary folder)")
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=("engine", "numpy"), help=argparse.SUPPRESS)
    parser.add_argument("--spark", action="store_true", help="also Spark in local mode")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.folder, args.work)
        return
    folder = args.folder or Path(tempfile.gettempdir()) / f"mips-population-{YEAR}-{args.size}-{args.seed}"
    paths, written = prepare(folder, args.size, args.seed)
    submissions = pq.ParquetFile(paths["submissions"]).metadata.num_rows
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        found = timed({"engine": lambda: engine_run(paths, work), "numpy": lambda: numpy_run(paths, work)}, args.runs)
        same(work)
        print(describe())
        megabytes = paths["submissions"].stat().st_size / 1e6
        print(f"{args.size:,} TIN/NPIs, {submissions:,} submissions ({YEAR}); Parquet {megabytes:.0f} MB"
              + (f", written in {written:.1f} s" if written is not None else ""))
        print("Payment Adjustment tables: equal, column by column")
        engine_time, numpy_time = report("engine", found["engine"]), report("numpy", found["numpy"])
        print(f"engine / numpy = {engine_time / numpy_time:.2f}")
        memory = {which: peak_memory(which, paths, work) for which in ("engine", "numpy")}
        print(f"peak memory (max RSS, each alone in a fresh process): engine {memory['engine']:.0f} MB, "
              f"numpy {memory['numpy']:.0f} MB")
        if args.spark:
            spark_section(paths, work, args.runs)


if __name__ == "__main__":
    main()
