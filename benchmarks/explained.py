"""The explained score, its result document as JSON and its feedback text, per submission, as ratios to
OpenFisca's traced single situation measured in the same process.

Medians over the real CMS sample submissions in tests/samples that the engine scores (the rulebook loaded once
per year, outside the timing).

    ../benchvenv/bin/python benchmarks/explained.py [--repeat 200]   (see benchmarks/README.md for the setup)
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from machine import describe
from openfisca_baseline import openfisca_traced_single

from engine import explain, load, score
from engine.base.errors import MipsError
from engine.inputs.submission import Submission, read_submission
from engine.rules.model import Rulebook
from engine.scoring import columnar
from engine.scoring.document import Result, result_of
from engine.scoring.scope import program_of

SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "samples"


def _per_call(call: Callable[[], object], repeat: int) -> float:
    call()
    start = time.perf_counter()
    for _ in range(repeat):
        call()
    return (time.perf_counter() - start) / repeat


def _median(measure: Callable[[Path], float], paths: list[Path]) -> float:
    return statistics.median(measure(path) for path in paths)


def _stages(submission: Submission, book: Rulebook, repeat: int) -> tuple[float, float, float]:
    """Seconds per call of the explained path's three stages for one submission: its kernel inputs, the kernels on
    its rows, and the trace nodes written from their outputs."""
    program = program_of(submission)
    book = book.for_program(program)
    entity = columnar.entity_inputs(book, submission, {}, program)
    outputs, rows = columnar.score_one_with_rows(book, entity)
    inputs = _per_call(lambda: columnar.entity_inputs(book, submission, {}, program), repeat)
    both = _per_call(lambda: columnar.score_one_with_rows(book, columnar.entity_inputs(book, submission, {}, program)),
                     repeat)
    nodes = _per_call(lambda: result_of(book, submission, {}, entity, outputs, rows), repeat)
    return inputs, both - inputs, nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    books, scorable = {}, []
    for path in sorted(SAMPLES.glob("*.json")):
        try:
            year = read_submission(path).performance_year
            books.setdefault(year, load(year))
            score(path, books[year])
            scorable.append(path)
        except MipsError:
            continue
    submissions = {path: read_submission(path) for path in scorable}
    results = {path: score(submissions[path], books[submissions[path].performance_year]) for path in scorable}

    def scored_one(p: Path) -> object:
        return score(submissions[p], books[submissions[p].performance_year])

    def as_json_again(result: Result) -> bytes:
        result._document = None  # the document is assembled from the trace when first asked for: assemble it again
        return result.json()

    scored = _median(lambda p: _per_call(lambda: scored_one(p), args.repeat), scorable)
    as_json = _median(lambda p: _per_call(lambda: as_json_again(results[p]), args.repeat), scorable)
    text = _median(lambda p: _per_call(lambda: explain(results[p]), max(args.repeat // 4, 10)), scorable)
    stages = [_stages(submissions[p], books[submissions[p].performance_year], args.repeat) for p in scorable]
    openfisca = openfisca_traced_single(args.repeat)
    print(describe())
    print(f"{len(scorable)} sample submissions; OpenFisca traced single situation {openfisca * 1e3:.3f} ms")
    for name, seconds in [("explained score with its full trace", scored), ("result document as JSON", as_json),
                          ("feedback text", text)]:
        print(f"{name:<38} {seconds * 1e3:8.3f} ms = {seconds / openfisca:5.2f} x OpenFisca")
    print("its stages (medians): " + ", ".join(f"{name} {statistics.median(s[i] for s in stages) * 1e3:.3f} ms"
                                               for i, name in enumerate(["kernel inputs", "kernels", "trace nodes"])))


if __name__ == "__main__":
    main()
