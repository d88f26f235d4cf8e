"""Determinism: the same submission and rulebook give byte-identical result documents and feedback in every format
the engine renders, in one process run twice and across processes with different string hash seeds; a submission
the engine refuses is refused with the same message everywhere."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import engine
from engine.base.errors import MipsError
from engine.outputs.feedback import FORMATS
from tests.generate import YEARS, refused_submissions, submissions

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "tests" / "samples").glob("*.json"))
HASH_SEEDS = ("0", "1", "12345")
GENERATED = 4  # generated submissions (with their profiles) per year, besides the samples
SCRIPT = (
    "import sys\n"
    "from tests.test_determinism import outputs\n"
    "sys.stderr.write(str(hash('determinism')))\n"
    "sys.stdout.write(outputs(sys.stdin.read()))\n"
)


@functools.cache
def _cases() -> str:
    """Every sample file (by path, as a user would give it, scored under its own year), a few generated submissions
    with their profiles and the generator's refused submissions (each under its generated year), as one JSON text."""
    cases: list[dict[str, Any]] = [{"name": path.name, "submission": str(path), "year": None, "profile": None}
                                   for path in SAMPLES]
    for year in YEARS:
        cases += [{"name": f"generated {year} #{i}", "submission": document, "year": year, "profile": profile}
                  for i, (document, profile) in enumerate(submissions(year, GENERATED, seed=5))]
        cases += [{"name": f"refused {year}: {why}", "submission": document, "year": year, "profile": profile}
                  for document, profile, why in refused_submissions(year)]
    return json.dumps(cases)


@functools.cache
def _reference() -> str:
    return outputs(_cases())


def outputs(cases_json: str) -> str:
    """Each case's result document and feedback in every format, or the engine's refusal, as one JSON text."""
    entries: list[dict[str, str]] = []
    for case in json.loads(cases_json):
        try:
            result = engine.score(case["submission"], case["year"], profile=case["profile"])
        except MipsError as exc:
            entries.append({"name": case["name"], "refused": f"{type(exc).__name__}: {exc}"})
            continue
        entry = {"name": case["name"], "document": json.dumps(result.document, sort_keys=False)}
        entries.append(entry | {fmt: engine.explain(result, fmt) for fmt in FORMATS})
    return json.dumps(entries, sort_keys=False)


def _difference(expected: str, found: str, where: str) -> str:
    """The first case and field where two outputs differ, with a little context."""
    for one, other in zip(json.loads(expected), json.loads(found), strict=False):
        for key in sorted(set(one) | set(other)):
            a, b = one.get(key), other.get(key)
            if a != b:
                at = next((i for i, (x, y) in enumerate(zip(a or "", b or "", strict=False)) if x != y),
                          min(len(a or ""), len(b or "")))
                return f"{where}: {one['name']} differs in {key!r} at {at}: {(a or '')[at - 40:at + 40]!r} vs " \
                       f"{(b or '')[at - 40:at + 40]!r}"
    return f"{where}: {len(json.loads(expected))} cases vs {len(json.loads(found))}"


def test_every_format_and_sample_is_covered() -> None:
    reference = json.loads(_reference())
    assert len(reference) == len(SAMPLES) + sum(GENERATED + len(refused_submissions(year)) for year in YEARS)
    scored = [entry for entry in reference if "document" in entry]
    assert all(set(entry) == {"name", "document", *FORMATS} for entry in scored)
    refused = [entry["name"] for entry in reference if "refused" in entry]
    assert all(name.startswith("refused ") or name.endswith(".json") for name in refused)
    assert sum(1 for name in refused if name.startswith("refused ")) == sum(len(refused_submissions(y)) for y in YEARS)


def test_same_output_in_one_process_twice() -> None:
    first, second = _reference(), outputs(_cases())
    assert second == first, _difference(first, second, "second run in the same process")


def test_same_output_across_processes_and_hash_seeds() -> None:
    cases, reference = _cases(), _reference().encode("utf-8")
    runs = {}
    for seed in HASH_SEEDS:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        runs[seed] = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    results = {seed: process.communicate(cases.encode("utf-8"), timeout=120) for seed, process in runs.items()}
    for seed, process in runs.items():
        assert process.returncode == 0, (seed, results[seed][1][-2000:].decode("utf-8", "replace"))
    hashes = {results[seed][1] for seed in HASH_SEEDS}
    assert len(hashes) == len(HASH_SEEDS), f"the hash seeds did not take effect: {hashes}"
    for seed in HASH_SEEDS:
        out = results[seed][0]  # bytes, compared byte for byte
        assert out == reference, _difference(reference.decode("utf-8"), out.decode("utf-8", "replace"),
                                             f"PYTHONHASHSEED={seed}")
