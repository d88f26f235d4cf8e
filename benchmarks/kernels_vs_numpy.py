"""The array kernels against a hand-written numpy function doing the same arithmetic, on MIPS 2020 submissions.

    .venv/bin/python benchmarks/kernels_vs_numpy.py [--entities 100000] [--distinct 3000] [--runs 5] [--seed 2020]

``--distinct`` realistic 2020 submissions with their profiles (tests/generate.py, every entity type; 2020 scores
the MIPS program only) are parsed and turned into kernel inputs once; the list of inputs is repeated up to
``--entities`` and stacked into columns (``columnar.stack_inputs``). None of that is timed. The stacked arrays are
made read-only, so that neither side can change the inputs the other reads.

Then ``columnar.score_stacked`` (the kernels) and ``numpy_baseline.score_2020`` (benchmarks/numpy_baseline.py)
score the same ``Stacked`` columns; their final scores and payment adjustments before scaling must be equal for
every entity, exactly (and so must the category percents, weights and complex patient bonus, which show where a
difference starts). Each is then run once to warm up and ``--runs`` times more, alternately, in this process;
the medians (``time.perf_counter``) and their ratio are printed with the machine line of benchmarks/machine.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from machine import describe
from numpy_baseline import score_2020

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.generate

from engine import load  # noqa: E402
from engine.inputs.profile import check_profile  # noqa: E402
from engine.inputs.submission import parse_submission  # noqa: E402
from engine.rules.model import Rulebook  # noqa: E402
from engine.scoring import columnar  # noqa: E402
from engine.scoring.scope import program_of  # noqa: E402
from tests.generate import submissions  # noqa: E402

YEAR = 2020
PROGRAM = "mips"


def entity_inputs(book: Rulebook, distinct: int, seed: int) -> list[columnar.Entity]:
    """Kernel inputs of ``distinct`` generated submissions (MIPS program only)."""
    entities = []
    for document, profile in submissions(YEAR, distinct, seed):
        submission = parse_submission(document)
        program = program_of(submission)
        if program == PROGRAM:
            entities.append(columnar.entity_inputs(book, submission, check_profile(profile), program))
    return entities


def read_only(value: Any) -> None:
    """Make every numpy array reachable from ``value`` (dicts, tuples, a Batch's attributes) read-only."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, dict):
        for item in value.values():
            read_only(item)
    elif isinstance(value, list | tuple):
        for item in value:
            read_only(item)
    elif hasattr(value, "__dict__"):
        read_only(vars(value))


def compared(kernels: dict[str, Any], baseline: dict[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The columns both sides compute, by name: (kernels, baseline)."""
    pairs = {"final_score": (kernels["final"]["final_score"], baseline["final_score"]),
             "adjustment_before_scaling": (kernels["payment"]["adjustment_before_scaling"],
                                           baseline["adjustment_before_scaling"]),
             "complex_patient_bonus": (kernels["final"]["bonus"], baseline["complex_patient_bonus"]),
             "neutral": (kernels["final"]["neutral"], baseline["neutral"])}
    for name, percent in kernels["eligibility"]["percent"].items():
        pairs[f"{name}.percent"] = (percent, baseline["percent"][name])
        pairs[f"{name}.weight"] = (kernels["final"]["weights"][name], baseline["weights"][name])
    return {name: (np.asarray(a), np.asarray(b)) for name, (a, b) in pairs.items()}


def check(kernels: dict[str, Any], baseline: dict[str, Any], distinct: int) -> None:
    """Stop with the first differing entities of every column that differs anywhere."""
    problems = []
    for name, (ours, theirs) in compared(kernels, baseline).items():
        if ours.shape != theirs.shape or not np.array_equal(ours, theirs):
            where = np.flatnonzero(ours != theirs) if ours.shape == theirs.shape else np.arange(0)
            examples = ", ".join(f"entity {i} (generated #{i % distinct}): kernels {ours[i]}, numpy {theirs[i]}"
                                 for i in where[:3])
            problems.append(f"{name}: {len(where)} differ; {examples}")
    if problems:
        sys.exit("the baseline and the kernels disagree:\n  " + "\n  ".join(problems))


def timings(calls: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median seconds per call of each, after one warm-up call each; the calls alternate run by run."""
    for call in calls.values():
        call()
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000, help="entities scored at once")
    parser.add_argument("--distinct", type=int, default=3000, help="distinct generated submissions, repeated")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each, after a warm-up")
    parser.add_argument("--seed", type=int, default=2020, help="tests/generate.py seed")
    args = parser.parse_args()
    book = load(YEAR).for_program(PROGRAM)
    distinct = entity_inputs(book, args.distinct, args.seed)
    repeats = -(-args.entities // len(distinct))  # rounded up
    entities = (distinct * repeats)[:args.entities]
    stacked = columnar.stack_inputs(book, entities)
    read_only(stacked)
    rows = {name: stacked.categories[name][0].size for name in ("quality", "ia")}
    kinds = dict(zip(*np.unique(stacked.facts["entity_type"], return_counts=True), strict=True))
    check(columnar.score_stacked(book, stacked), score_2020(stacked), len(distinct))
    median = timings({"kernels": lambda: columnar.score_stacked(book, stacked), "numpy": lambda: score_2020(stacked)},
                     args.runs)
    print(describe())
    print(f"{len(entities):,} entities ({len(distinct):,} distinct generated {YEAR} submissions, repeated; "
          + ", ".join(f"{count:,} {kind}" for kind, count in kinds.items())
          + f"; {rows['quality']:,} quality rows, {rows['ia']:,} activity rows)")
    print("final scores and payment adjustments before scaling: equal for every entity")
    print(f"kernels  columnar.score_stacked    {median['kernels'] * 1e3:9.1f} ms  (median of {args.runs})")
    print(f"numpy    numpy_baseline.score_2020 {median['numpy'] * 1e3:9.1f} ms  (median of {args.runs})")
    print(f"kernels / numpy = {median['kernels'] / median['numpy']:.2f}")


if __name__ == "__main__":
    main()
