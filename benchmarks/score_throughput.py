"""Scoring throughput, reported as ratios against a baseline measured in the same run.

Baseline: reading and validating the submission JSON alone. Measured: the full explained score
(categories, reweighting, trace) and the feedback text, each with the rulebook loaded once.

    .venv/bin/python benchmarks/score_throughput.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from engine import explain, load, score
from engine.inputs.submission import parse_submission

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "2020-individual-quality-ia-pi.json"


def _per_call(fn: Callable[[], object], repeat: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    document = json.loads(EXAMPLE.read_text())
    book = load(2020)
    baseline = _per_call(lambda: parse_submission(json.loads(json.dumps(document))), args.repeat)
    scored = _per_call(lambda: score(json.loads(json.dumps(document)), book), args.repeat)
    result = score(document, book)
    explained = _per_call(lambda: explain(result), max(args.repeat // 10, 5))
    loading = _per_call(lambda: load(2020), 5)
    print(f"baseline (parse + validate one submission): {baseline * 1e3:.3f} ms")
    for name, value in [("score one submission", scored), ("render its feedback", explained),
                        ("load the 2020 rulebook", loading)]:
        print(f"{name:<34} {value * 1e3:9.3f} ms  = {value / baseline:7.1f} x baseline")


if __name__ == "__main__":
    main()
