"""The population commands of ``mips``: ``generate-population``, ``batch``, ``adjust`` and ``population-compare``,
and ``explain --row`` of a batch result."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from engine.authoring.crosswalk import retarget
from engine.batch import job, layout
from engine.batch.adjust import adjust
from engine.batch.population_compare import compare_population
from engine.interfaces.api import load, score
from engine.outputs.charts import distributions_chart, score_histogram
from engine.population.synthetic import population
from engine.scoring.pipeline import Result

MAX_POPULATION = 10_000_000  # TIN/NPIs: well above the national MIPS population, within a machine's memory


def _whole(low: int, high: int | None = None) -> Any:
    """An argparse type: a whole number from ``low`` to ``high``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low:,} to {high:,}" if high is not None else f"of at least {low:,}"
            raise argparse.ArgumentTypeError(f"expected a whole number {bound}, not {value:,}")
        return value
    return parse


def _output_file(text: str) -> str:
    """An argparse type: a file to write, not an existing folder."""
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; give the path of a file to write")
    return text


def _progress() -> Any:
    """A one-line progress count on a terminal, nothing otherwise."""
    if not sys.stderr.isatty():
        return None
    return lambda rows: print(f"\rmips batch: {rows:,} rows", end="", file=sys.stderr, flush=True)


def cmd_generate(args: argparse.Namespace) -> int:
    written = layout.write_population(population(int(args.year), args.size, args.seed), Path(args.output), form=args.form)
    print(json.dumps({name: str(path) for name, path in written.items()}, indent=2))
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    progress = _progress()
    summary = job.run(args.input, load(args.year), args.output, args.rejects, progress, args.chunk_rows)
    if progress:
        print(file=sys.stderr)
    print(json.dumps(summary.describe(), indent=2))
    return 0


def cmd_adjust(args: argparse.Namespace) -> int:
    _, year = job.results_input(args.results)
    book = load(args.year or year)
    done = adjust(args.results, args.entities, book, args.output, args.exceptional_pool)
    if args.histogram:
        scores = pq.read_table(args.output, columns=["final_score"]).column("final_score").to_numpy(zero_copy_only=False)
        score_histogram(scores[~np.isnan(scores)], book, args.histogram, f"MIPS {book.year} final scores")
    print(json.dumps({"rows": done.rows, "with_a_final_score": done.scored, "factors": done.factors,
                      "refused_entities": done.refused}, indent=2))
    return 0


def cmd_population_compare(args: argparse.Namespace) -> int:
    summary = compare_population(args.input, [int(y) for y in args.years], args.output, retarget=retarget,
                                 chart=distributions_chart)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def explained_row(results: str, row: int) -> Result:
    """Row ``row`` of a batch result scored again through the explained path, from its input row."""
    document, profile, _ = job.input_row(results, row)
    _, year = job.results_input(results)
    return score(document, load(year), profile=profile)


def register(sub: Any) -> None:
    """Add the population commands to the ``mips`` parser."""
    g = sub.add_parser("generate-population", help="write a synthetic population (for tests, examples, benchmarks)")
    g.add_argument("--year", required=True)
    g.add_argument("--size", type=_whole(1, MAX_POPULATION), default=10_000, help="TIN/NPIs (default 10000)")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--form", choices=("parquet", "jsonl", "folder"), default="parquet")
    g.add_argument("-o", "--output", required=True, help="folder to write submissions and entities.parquet into")
    g.set_defaults(run=cmd_generate)
    b = sub.add_parser("batch", help="score a population (folder, JSON Lines or Parquet) into a Parquet of results")
    b.add_argument("input")
    b.add_argument("--year", required=True, help="performance year or rulebook folder")
    b.add_argument("-o", "--output", type=_output_file, required=True, help="results Parquet file")
    b.add_argument("--rejects", type=_output_file, help="refused rows, JSON Lines (default: beside the output, .rejects.jsonl)")
    b.add_argument("--chunk-rows", type=_whole(1), help=f"input rows per chunk (default {job.TYPED_CHUNK_ROWS} from Parquet's "
                   f"typed columns, else {layout.CHUNK_ROWS}); a rerun after an interruption resumes only with the same")
    b.set_defaults(run=cmd_batch)
    a = sub.add_parser("adjust", help="final score per TIN/NPI (hierarchy) and budget-neutral payment adjustments")
    a.add_argument("results", help="results Parquet of mips batch")
    a.add_argument("--entities", required=True, help="entities.parquet: TIN/NPIs, their groups and paid amounts")
    a.add_argument("-o", "--output", type=_output_file, required=True, help="Payment Adjustment table, Parquet")
    a.add_argument("--year", help="rulebook (default: the one the results were scored with)")
    a.add_argument("--exceptional-pool", type=_whole(0), metavar="DOLLARS",
                   help="the exceptional-performance pool (default: the rulebook's payment.exceptional_pool_dollars)")
    a.add_argument("--histogram", help="also draw the final scores with the year's thresholds to this PNG")
    a.set_defaults(run=cmd_adjust)
    c = sub.add_parser("population-compare", help="one population scored under several years' rules")
    c.add_argument("input")
    c.add_argument("--years", nargs="+", required=True)
    c.add_argument("-o", "--output", required=True, help="folder for the tables and the chart")
    c.set_defaults(run=cmd_population_compare)
